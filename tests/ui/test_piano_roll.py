"""The piano roll driven by real mouse, wheel and key events at the places its own mapping gives:
select, rubber band, move (snapped and free), resize, add, delete, velocity, nudge, paste, undo, zoom,
playhead, loop, themes, and a 5,000-note piece."""

from __future__ import annotations

import math
import time

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QColor, QMouseEvent, QPalette, QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from genstudio.core.notes import Note, NoteSequence  # noqa: E402

LEFT, NONE = Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier
ALT, CTRL, SHIFT = Qt.KeyboardModifier.AltModifier, Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier

# At 120 beats a minute a beat is 0.5 s and the default grid (1/16 notes) 0.125 s.
A = Note(60, 0.0, 0.5, 80)
B = Note(64, 0.5, 1.0, 90, generated=True)
C = Note(67, 1.0, 2.0, 100)
D = Note(72, 2.0, 2.25, 60, generated=True)
STEP = 0.125


@pytest.fixture
def roll(qtbot):
    from genstudio.ui.widgets.piano_roll import PianoRoll

    widget = PianoRoll()
    qtbot.addWidget(widget)
    widget.resize(900, 600)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_sequence(NoteSequence([C, A, D, B], tempo=120))
    widget.set_zoom(pixels_per_beat=80, row_height=14)  # 160 px a second
    widget.horizontalScrollBar().setValue(0)
    widget._centre_on_pitch(66)
    return widget


def at(roll, seconds: float, pitch: float) -> QPoint:
    """The viewport pixel at ``seconds``, in the middle of ``pitch``'s row."""
    return QPoint(math.floor(roll.time_to_x(seconds)), math.floor(roll.pitch_to_y(pitch) + roll.row_height / 2))


def send(widget, kind: QEvent.Type, point: QPoint, buttons, modifiers=NONE, button=LEFT) -> None:
    pos = QPointF(point)
    event = QMouseEvent(kind, pos, QPointF(widget.mapToGlobal(point)), button, buttons, modifiers)
    QApplication.sendEvent(widget, event)


def drag(widget, points: list[QPoint], modifiers=NONE) -> None:
    """Press at the first point, move through the rest (modifiers held throughout), release at the last."""
    send(widget, QEvent.Type.MouseButtonPress, points[0], LEFT, modifiers)
    for point in points[1:]:
        send(widget, QEvent.Type.MouseMove, point, LEFT, modifiers, Qt.MouseButton.NoButton)
    send(widget, QEvent.Type.MouseButtonRelease, points[-1], Qt.MouseButton.NoButton, modifiers)


def click(widget, point: QPoint, modifiers=NONE) -> None:
    drag(widget, [point], modifiers)


def wheel(widget, point: QPoint, steps: float, modifiers=NONE) -> None:
    event = QWheelEvent(QPointF(point), QPointF(widget.mapToGlobal(point)), QPoint(), QPoint(0, round(120 * steps)),
                        Qt.MouseButton.NoButton, modifiers, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def notes(roll) -> list[Note]:
    return roll.sequence().notes


def test_click_selects_shift_and_ctrl_click_add_and_empty_click_clears(qtbot, roll):
    viewport = roll.viewport()
    with qtbot.waitSignal(roll.selection_changed):
        click(viewport, at(roll, 0.25, 60))
    assert roll.selected_notes() == [A]
    click(viewport, at(roll, 0.75, 64), SHIFT)
    click(viewport, at(roll, 1.5, 67), CTRL)
    assert roll.selected_notes() == [A, B, C]
    click(viewport, at(roll, 0.75, 64), CTRL)  # a second modified click drops it again
    assert roll.selected_notes() == [A, C]
    click(viewport, at(roll, 1.5, 67))  # a plain click on a selected note picks it alone
    assert roll.selected_notes() == [C]
    click(viewport, at(roll, 3.0, 70))
    assert roll.selected_notes() == []
    assert roll.undo_stack.count() == 0  # selecting is not an edit


def test_rubber_band_selects_the_notes_it_touches(roll):
    drag(roll.viewport(), [at(roll, 0.3, 70), at(roll, 0.8, 66), at(roll, 1.2, 63)])
    assert roll.selected_notes() == [B, C]
    assert roll.band is None
    drag(roll.viewport(), [at(roll, 1.9, 74), at(roll, 2.1, 71)], SHIFT)  # Shift keeps what was selected
    assert roll.selected_notes() == [B, C, D]


def test_drag_moves_the_selection_snapped_to_the_grid_as_one_step(roll):
    viewport = roll.viewport()
    click(viewport, at(roll, 0.25, 60))
    click(viewport, at(roll, 0.75, 64), SHIFT)
    drag(viewport, [at(roll, 0.25, 60), at(roll, 0.3, 61), at(roll, 0.39, 62)])  # 0.1375 s right, 2 up
    moved_a, moved_b = Note(62, STEP, 0.5 + STEP, 80), Note(66, 0.5 + STEP, 1.0 + STEP, 90, generated=True)
    assert notes(roll) == [moved_a, moved_b, C, D]
    assert roll.selected_notes() == [moved_a, moved_b]
    assert roll.undo_stack.count() == 1 and roll.undo_stack.undoText() == "Move notes"
    roll.undo()
    assert notes(roll) == [A, B, C, D] and roll.selected_notes() == [A, B]


def test_alt_drag_moves_without_snapping_and_notes_stop_at_zero(roll):
    viewport = roll.viewport()
    start, end = at(roll, 1.5, 67), at(roll, 1.59, 67)
    drag(viewport, [start, end], ALT)
    dt = (end.x() - start.x()) / roll.pixels_per_second
    (moved_c,) = [n for n in notes(roll) if n.pitch == 67]
    assert moved_c.start == pytest.approx(1.0 + dt) and moved_c.duration == pytest.approx(1.0)
    assert dt % STEP > 1e-3  # really off the grid
    drag(viewport, [at(roll, 0.25, 60), at(roll, 0.25, 60) - QPoint(300, 0)])  # far left: held at 0
    assert notes(roll)[0] == A


def test_dragging_a_right_end_resizes_to_the_grid(roll):
    edge = QPoint(math.floor(roll.time_to_x(0.5)) - 2, at(roll, 0, 60).y())
    assert roll.note_at(QPointF(edge)) == (A, True)
    drag(roll.viewport(), [edge, QPoint(math.floor(roll.time_to_x(0.78)), edge.y())])
    assert notes(roll)[0] == Note(60, 0.0, 0.75, 80)
    assert roll.undo_stack.undoText() == "Resize notes"
    drag(roll.viewport(), [QPoint(math.floor(roll.time_to_x(0.75)) - 2, edge.y()), QPoint(0, edge.y())])
    assert notes(roll)[0] == Note(60, 0.0, STEP, 80)  # never shorter than a grid step


def test_double_click_adds_a_note_of_the_grid_length_in_the_cell(qtbot, roll):
    qtbot.mouseDClick(roll.viewport(), LEFT, NONE, at(roll, 3.1, 65))
    added = Note(65, 3.0, 3.0 + STEP, roll.new_velocity)
    assert added in notes(roll) and roll.selected_notes() == [added]
    roll.set_grid(0.5)
    qtbot.mouseDClick(roll.viewport(), LEFT, NONE, at(roll, 3.6, 70))
    assert Note(70, 3.5, 3.75, roll.new_velocity) in notes(roll)
    assert [roll.undo_stack.text(i) for i in range(roll.undo_stack.count())] == ["Add note", "Add note"]
    with pytest.raises(ValueError):
        roll.set_grid(0)


def test_pencil_draws_a_note_as_long_as_the_drag(roll):
    roll.pencil = True
    drag(roll.viewport(), [at(roll, 2.6, 58), at(roll, 2.9, 58), at(roll, 3.27, 58)])
    assert Note(58, 2.5, 3.25, roll.new_velocity) in notes(roll)
    assert roll.undo_stack.count() == 1


def test_delete_and_backspace_remove_the_selection(qtbot, roll):
    click(roll.viewport(), at(roll, 0.25, 60))
    qtbot.keyClick(roll, Qt.Key.Key_Delete)
    assert notes(roll) == [B, C, D]
    qtbot.keyClick(roll, Qt.Key.Key_A, CTRL)
    qtbot.keyClick(roll, Qt.Key.Key_Backspace)
    assert notes(roll) == [] and roll.undo_stack.count() == 2


def test_velocity_drag_changes_the_selected_notes_together(roll):
    click(roll.viewport(), at(roll, 0.75, 64))
    click(roll.viewport(), at(roll, 1.5, 67), SHIFT)
    lane = roll.lane
    x = math.floor(lane.stem_x(B.start))
    start = QPoint(x, round(lane.velocity_to_y(90)))
    drag(lane, [start, QPoint(x, round(lane.velocity_to_y(100))), QPoint(x, round(lane.velocity_to_y(110)))])
    new_b, new_c = (n for n in notes(roll) if n.pitch in (64, 67))
    assert abs(new_b.velocity - 110) <= 2 and new_c.velocity - new_b.velocity == 10  # the dynamics kept
    assert new_b.generated and not new_c.generated
    assert roll.undo_stack.count() == 1 and roll.undo_stack.undoText() == "Change velocity"
    drag(lane, [QPoint(math.floor(lane.stem_x(A.start)), round(lane.velocity_to_y(80))), QPoint(0, 0)])
    assert notes(roll)[0].velocity == 127 and roll.selected_notes() == [notes(roll)[0]]  # an unselected stem


def test_arrow_keys_nudge_by_semitones_octaves_and_grid_steps(qtbot, roll):
    click(roll.viewport(), at(roll, 1.5, 67))
    qtbot.keyClick(roll, Qt.Key.Key_Up)
    qtbot.keyClick(roll, Qt.Key.Key_Right)
    qtbot.keyClick(roll, Qt.Key.Key_Down, SHIFT)
    assert roll.selected_notes() == [Note(56, 1.0 + STEP, 2.0 + STEP, 100)]
    assert roll.undo_stack.count() == 3
    click(roll.viewport(), at(roll, 0.25, 60))
    qtbot.keyClick(roll, Qt.Key.Key_Left)  # already at 0: nothing to do, no step
    assert roll.undo_stack.count() == 3


def test_copy_and_paste_repeat_a_phrase_after_itself(qtbot, roll):
    drag(roll.viewport(), [at(roll, 0.1, 66), at(roll, 0.9, 59)])  # A and B
    qtbot.keyClick(roll, Qt.Key.Key_C, CTRL)
    qtbot.keyClick(roll, Qt.Key.Key_V, CTRL)
    qtbot.keyClick(roll, Qt.Key.Key_V, CTRL)
    pasted = [n.moved(start=n.start + shift, end=n.end + shift) for shift in (1.0, 2.0) for n in (A, B)]
    assert set(pasted) <= set(notes(roll)) and len(notes(roll)) == 8
    assert roll.selected_notes() == pasted[2:]
    assert all(n.generated == (n.pitch == 64) for n in notes(roll) if n.pitch in (60, 64))


def test_undo_and_redo_restore_the_exact_notes_after_every_kind_of_edit(qtbot, roll):
    viewport, states = roll.viewport(), [roll.sequence()]
    changes = []
    roll.sequence_changed.connect(lambda: changes.append(1))

    def record():
        states.append(roll.sequence())

    drag(viewport, [at(roll, 0.75, 64), at(roll, 1.1, 62)])  # move (and select) B
    record()
    drag(viewport, [QPoint(math.floor(roll.time_to_x(2.0)) - 2, at(roll, 0, 67).y()), at(roll, 2.5, 67)])  # resize
    record()
    qtbot.mouseDClick(viewport, LEFT, NONE, at(roll, 3.3, 75))  # add
    record()
    click(viewport, at(roll, 0.25, 60))
    qtbot.keyClick(roll, Qt.Key.Key_Delete)  # delete
    record()
    lane = roll.lane
    x = math.floor(lane.stem_x(D.start))
    drag(lane, [QPoint(x, round(lane.velocity_to_y(60))), QPoint(x, round(lane.velocity_to_y(30)))])  # velocity
    record()
    qtbot.keyClick(roll, Qt.Key.Key_Up)  # nudge
    record()
    qtbot.keyClick(roll, Qt.Key.Key_C, CTRL)
    qtbot.keyClick(roll, Qt.Key.Key_V, CTRL)  # paste
    record()
    roll.set_sequence(NoteSequence([Note(40, 0, 4, generated=True)], tempo=90), reset_undo=False)  # a new take
    record()
    assert roll.undo_stack.count() == len(states) - 1 == len(changes)
    assert any(n.generated for n in states[-2].notes)  # the generated notes kept their flag through it all
    for index in range(len(states) - 2, -1, -1):
        qtbot.keyClick(roll, Qt.Key.Key_Z, CTRL)
        assert roll.sequence() == states[index], index
    for index in range(1, len(states)):
        qtbot.keyClick(roll, Qt.Key.Key_Z, CTRL | SHIFT) if index % 2 else qtbot.keyClick(roll, Qt.Key.Key_Y, CTRL)
        assert roll.sequence() == states[index], index
    assert len(changes) == 3 * (len(states) - 1)


def test_a_new_sequence_starts_a_new_history_and_keeps_its_metre(roll):
    click(roll.viewport(), at(roll, 0.25, 60))
    roll.delete_selected()
    waltz = NoteSequence([Note(50, 0.0, 1.0)], tempo=90, time_signature=(3, 4), source="waltz.mid")
    roll.set_sequence(waltz)
    assert roll.undo_stack.count() == 0 and roll.sequence() == waltz
    assert roll.grid_seconds == pytest.approx(0.25 * 60 / 90)


def test_read_only_allows_looking_and_selecting_but_no_edits(qtbot, roll):
    roll.set_read_only(True)
    click(roll.viewport(), at(roll, 0.25, 60))
    drag(roll.viewport(), [at(roll, 0.25, 60), at(roll, 1.0, 70)])
    qtbot.keyClick(roll, Qt.Key.Key_Delete)
    qtbot.mouseDClick(roll.viewport(), LEFT, NONE, at(roll, 3.3, 75))
    assert notes(roll) == [A, B, C, D] and roll.selected_notes() == [A] and roll.undo_stack.count() == 0


def test_playhead_draws_where_it_is_told_and_follows_off_screen(qtbot, roll):
    assert roll.playhead() is None
    roll.set_playhead(1.0)
    assert roll.playhead() == 1.0 and roll.horizontalScrollBar().value() == 0
    roll.set_playhead(30.0)
    assert 0 <= roll.time_to_x(30.0) <= roll.viewport().width()
    roll.set_playhead(0.5)
    assert 0 <= roll.time_to_x(0.5) <= roll.viewport().width()
    roll.follow_playhead = False
    roll.set_playhead(40.0)
    assert roll.time_to_x(40.0) > roll.viewport().width()
    roll.set_playhead(None)
    assert roll.playhead() is None
    roll.grab()


def test_loop_range_from_a_ruler_drag_and_the_setter(qtbot, roll):
    ruler = roll.ruler
    y = ruler.height() // 2
    with qtbot.waitSignal(roll.loop_range_changed):
        drag(ruler, [QPoint(math.floor(roll.time_to_x(1.02)), y), QPoint(math.floor(roll.time_to_x(2.4)), y),
                     QPoint(math.floor(roll.time_to_x(3.04)), y)])
    assert roll.loop_range() == pytest.approx((1.0, 3.0))
    drag(ruler, [QPoint(math.floor(roll.time_to_x(2.0)), y), QPoint(math.floor(roll.time_to_x(0.5)), y)])
    assert roll.loop_range() == pytest.approx((0.5, 2.0))  # dragged leftwards
    with qtbot.waitSignal(roll.seek_requested) as seek:
        click(ruler, QPoint(math.floor(roll.time_to_x(2.5)), y))  # a click moves the playhead, not the loop
    assert seek.args[0] == pytest.approx(2.5, abs=0.01) and roll.playhead() == seek.args[0]
    assert roll.loop_range() == pytest.approx((0.5, 2.0))
    roll.set_loop_range(4, 2)
    assert roll.loop_range() == (2.0, 4.0)
    with pytest.raises(ValueError):
        roll.set_loop_range(1, 1)
    roll.clear_loop_range()
    assert roll.loop_range() is None
    assert notes(roll) == [A, B, C, D]


def test_zoom_changes_the_mapping_about_the_pointer_but_never_the_notes(qtbot, roll):
    viewport, pointer = roll.viewport(), QPoint(300, 200)
    time_before, pitch_before = roll.x_to_time(300), roll.y_to_pitch(200)
    rect_before = roll.note_rect(C)
    wheel(viewport, pointer, 1, CTRL)
    assert roll.pixels_per_beat == pytest.approx(80 * 1.25)
    assert roll.x_to_time(300) == pytest.approx(time_before, abs=1 / roll.pixels_per_second)
    wheel(viewport, pointer, 2, CTRL | SHIFT)
    assert roll.row_height > 14 and roll.y_to_pitch(200) == pitch_before
    wheel(viewport, pointer, -1, ALT)
    assert roll.note_rect(C) != rect_before
    roll.zoom_out()
    roll.zoom_in()
    roll.zoom_to_fit()
    assert 0 <= roll.time_to_x(0) and roll.time_to_x(D.end) <= roll.viewport().width()
    assert roll.pitch_to_y(72) >= 0 and roll.pitch_to_y(60) + roll.row_height <= roll.viewport().height()
    value = roll.verticalScrollBar().value()
    wheel(viewport, pointer, -1)  # plain wheel scrolls pitches, Shift+wheel time
    assert roll.verticalScrollBar().value() > value
    roll.set_zoom(pixels_per_beat=400)
    wheel(viewport, pointer, -1, SHIFT)
    assert roll.horizontalScrollBar().value() > 0
    assert notes(roll) == [A, B, C, D] and roll.undo_stack.count() == 0


def test_generated_notes_have_their_own_colour_in_both_themes(roll):
    from genstudio.ui.theme import theme_colors
    from genstudio.ui.widgets.piano_roll_view import RollColors

    for name in ("light", "dark"):
        colors = theme_colors(name)
        palette = QPalette()
        for role, key in ((QPalette.ColorRole.Base, "base"), (QPalette.ColorRole.WindowText, "text"),
                          (QPalette.ColorRole.Highlight, "accent"), (QPalette.ColorRole.Window, "window")):
            palette.setColor(role, QColor(colors[key]))
        roll.setPalette(palette)  # the roll follows a theme switch by itself
        assert roll.colors.dark == (name == "dark")
        look = RollColors.from_palette(palette)
        primer, generated = roll.note_colors()["primer"], roll.note_colors()["generated"]
        assert abs(primer.hslHue() - generated.hslHue()) > 90
        for kind in (primer, generated):
            assert abs(kind.lightness() - look.background.lightness()) > 50
        roll.grab()


def test_five_thousand_notes_paint_and_scroll_in_reasonable_time(roll):
    import random

    rng = random.Random(0)
    many = []
    for _ in range(5000):
        start = rng.randrange(0, 2400) * STEP  # 300 s
        many.append(Note(rng.randrange(36, 96), start, start + rng.choice((1, 2, 4, 8)) * STEP,
                         rng.randrange(1, 128), generated=rng.random() < 0.5))
    roll.set_sequence(NoteSequence(many))
    roll.select_all()
    began = time.perf_counter()
    roll.zoom_to_fit()
    roll.grab()  # everything in view at once
    assert time.perf_counter() - began < 1.0
    roll.set_zoom(pixels_per_beat=60, row_height=12)
    began = time.perf_counter()
    for value in range(0, 20):
        roll.horizontalScrollBar().setValue(value * 400)
        roll.viewport().repaint()
    assert (time.perf_counter() - began) / 20 < 0.2
    assert len(notes(roll)) == 5000
