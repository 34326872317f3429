"""The mask editor driven by real mouse events on its viewport: brush, eraser, shapes, zoom, pan, undo."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QPoint, QPointF, Qt  # noqa: E402
from PySide6.QtGui import QWheelEvent  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from genstudio.core.errors import GenStudioError  # noqa: E402
from genstudio.ui.widgets import mask_ops  # noqa: E402

LEFT, MIDDLE, NONE = Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton, Qt.KeyboardModifier.NoModifier
ALT, CTRL, SHIFT = Qt.KeyboardModifier.AltModifier, Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def editor(qtbot):
    from genstudio.ui.widgets.mask_editor import MaskEditor

    ed = MaskEditor()
    qtbot.addWidget(ed)
    ed.resize(420, 320)
    ed.show()
    qtbot.waitExposed(ed)
    ed.set_image(np.random.default_rng(0).integers(0, 256, (120, 160, 3), dtype=np.uint8))
    return ed


def at(editor, x: float, y: float) -> QPoint:
    """The viewport pixel that shows picture point (x, y)."""
    point = editor.viewportTransform().map(QPointF(x, y))
    return QPoint(math.floor(point.x()), math.floor(point.y()))


def drag(qtbot, editor, points, modifier=NONE, button=LEFT) -> None:
    """Press at the first picture point, move through the rest, release at the last."""
    viewport = editor.viewport()
    qtbot.mousePress(viewport, button, modifier, at(editor, *points[0]))
    for point in points[1:]:
        qtbot.mouseMove(viewport, at(editor, *point))
    qtbot.mouseRelease(viewport, button, modifier, at(editor, *points[-1]))


def test_one_fast_brush_move_paints_a_gapless_line(qtbot, editor):
    editor.set_brush(size=5, hardness=1.0)
    drag(qtbot, editor, [(10.5, 20.5), (150.5, 90.5)])  # one long jump: stamps must fill it in
    mask = editor.mask()
    for t in np.linspace(0, 1, 300):
        x, y = 10.5 + 140 * t, 20.5 + 70 * t
        assert mask[int(y), int(x)] == 255, (x, y)
    assert mask[100, 20] == 0 and mask[5, 150] == 0  # far from the line
    rows, cols = np.nonzero(mask)
    assert rows.min() >= 20 - 4 and rows.max() <= 90 + 4 and cols.min() >= 10 - 4 and cols.max() <= 150 + 4
    assert editor.undo_stack.count() == 1 and editor.undo_stack.undoText() == "Brush stroke"


def test_a_soft_brush_fades_towards_its_edge(qtbot, editor):
    editor.set_brush(size=30, hardness=0.0)
    drag(qtbot, editor, [(80.5, 60.5)])
    profile = editor.mask()[60, 80:97].astype(int)
    assert profile[0] == 255 and profile[-1] == 0
    assert np.all(np.diff(profile) <= 0) and 0 < profile[10] < 255


def test_eraser_clears_only_along_its_path(qtbot, editor):
    editor.set_mask(np.full((120, 160), 255, np.uint8))
    editor.set_tool("eraser")
    editor.set_brush(size=9, hardness=1.0)
    drag(qtbot, editor, [(20.5, 60.5), (80.5, 60.5), (140.5, 60.5)])
    mask = editor.mask()
    assert np.all(mask[60, 20:141] == 0) and np.all(mask[56:65, 30:130] == 0)
    assert np.all(mask[:50] == 255) and np.all(mask[70:] == 255)


def test_rectangle_masks_exactly_its_pixels_and_alt_removes(qtbot, editor):
    editor.set_tool("rect")
    drag(qtbot, editor, [(20, 30), (50, 40), (60, 70)])
    expected = np.zeros((120, 160), np.uint8)
    expected[30:70, 20:60] = 255
    assert np.array_equal(editor.mask(), expected)
    drag(qtbot, editor, [(30, 40), (40, 50)], modifier=ALT)
    expected[40:50, 30:40] = 0
    assert np.array_equal(editor.mask(), expected)
    assert [editor.undo_stack.text(i) for i in range(2)] == ["Rectangle", "Rectangle"]


def test_lasso_fills_the_polygon_it_draws(qtbot, editor):
    editor.set_tool("lasso")
    corners = [(20, 20), (120, 20), (120, 100), (20, 100)]
    drag(qtbot, editor, corners[:1] + [(70, 20)] + corners[1:])
    mask = editor.mask()
    inside = mask[20:100, 20:120]
    assert inside.min() == 255 and int(np.count_nonzero(mask)) == 100 * 80
    assert mask[10, 10] == 0 and mask[110, 130] == 0
    editor.clear_mask()
    drag(qtbot, editor, [(10, 10), (110, 10), (10, 110)])  # a triangle: the far corner stays clear
    mask = editor.mask()
    assert mask[30, 30] == 255 and mask[100, 100] == 0


def test_invert_and_clear(qtbot, editor):
    editor.set_tool("rect")
    drag(qtbot, editor, [(0, 0), (80, 120)])
    editor.invert_mask()
    assert np.all(editor.mask()[:, :80] == 0) and np.all(editor.mask()[:, 80:] == 255)
    qtbot.keyClick(editor, Qt.Key.Key_Delete)
    assert not editor.mask().any()
    assert [editor.undo_stack.text(i) for i in range(3)] == ["Rectangle", "Invert mask", "Clear mask"]


def test_undo_and_redo_restore_the_exact_pixels_over_many_edits(qtbot, editor):
    rng = np.random.default_rng(1)
    states = [(editor.image(), editor.mask())]

    def record():
        states.append((editor.image(), editor.mask()))

    editor.set_brush(size=17, hardness=0.3)
    drag(qtbot, editor, [(10, 10), (60, 40), (90, 15)])
    record()
    editor.set_tool("eraser")
    drag(qtbot, editor, [(40, 10), (40, 60)])
    record()
    editor.set_tool("lasso")
    drag(qtbot, editor, [(100, 60), (150, 70), (120, 110)])
    record()
    editor.invert_mask()
    record()
    result = editor.image()
    result[30:90, 40:120] = rng.integers(0, 256, (60, 80, 3), dtype=np.uint8)
    assert editor.apply_result(result, {"model": "fake", "seed": 3})
    record()
    editor.extend(left=24, bottom=16)  # outpainting: a bigger canvas, its new strip masked
    assert editor.image().shape == (136, 184, 3) and np.all(editor.mask()[:, :24] == 255)
    record()
    editor.set_tool("eraser")
    drag(qtbot, editor, [(5, 130), (170, 130)])
    record()
    assert editor.undo_stack.count() == len(states) - 1
    for index in range(len(states) - 2, -1, -1):
        qtbot.keyClick(editor, Qt.Key.Key_Z, CTRL)
        image, mask = states[index]
        assert np.array_equal(editor.image(), image) and np.array_equal(editor.mask(), mask), index
    for index in range(1, len(states)):
        qtbot.keyClick(editor, Qt.Key.Key_Z, CTRL | SHIFT) if index % 2 else qtbot.keyClick(editor, Qt.Key.Key_Y, CTRL)
        image, mask = states[index]
        assert np.array_equal(editor.image(), image) and np.array_equal(editor.mask(), mask), index


def test_each_undo_step_keeps_only_the_region_it_changed(qtbot, editor):
    editor.set_image(np.zeros((2000, 3000, 3), np.uint8))
    editor.set_brush(size=10, hardness=1.0)
    editor.set_zoom(4.0)
    centre = editor.to_image(QPointF(editor.viewport().rect().center()))
    drag(qtbot, editor, [(centre.x(), centre.y()), (centre.x() + 20, centre.y())])
    command = editor.undo_stack.command(0)
    assert command.before.shape == command.after.shape and command.before.size <= 12 * 32
    editor.invert_mask()
    assert not hasattr(editor.undo_stack.command(1), "before")  # an inversion is undone by inverting


def test_accepted_result_params_follow_undo(editor):
    assert editor.applied_params() is None
    editor.apply_result(255 - editor.image(), {"model": "a"})
    editor.apply_result(editor.image() // 2, {"model": "b"})
    assert editor.applied_params() == {"model": "b"}
    editor.undo()
    assert editor.applied_params() == {"model": "a"}
    editor.undo()
    assert editor.applied_params() is None


@pytest.mark.parametrize("zoom", [2.0, 3.7, 7.3])
def test_zoom_does_not_move_the_pixels_a_click_hits(qtbot, editor, zoom):
    editor.set_brush(size=1, hardness=1.0)
    editor.set_zoom(zoom)
    centre = editor.to_image(QPointF(editor.viewport().rect().center()))
    x, y = int(centre.x()) + 3, int(centre.y()) - 2
    drag(qtbot, editor, [(x + 0.5, y + 0.5)])
    mask = editor.mask()
    assert mask[y, x] == 255 and list(zip(*np.nonzero(mask > 127))) == [(y, x)]
    assert editor.zoom() == pytest.approx(zoom)


def test_wheel_zooms_about_the_pointer_and_keys_zoom_and_fit(qtbot, editor):
    viewport = editor.viewport()
    pointer = QPoint(100, 80)
    before = editor.to_image(QPointF(pointer))
    start = editor.zoom()
    wheel = QWheelEvent(QPointF(pointer), QPointF(viewport.mapToGlobal(pointer)), QPoint(), QPoint(0, 120),
                        Qt.MouseButton.NoButton, NONE, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(viewport, wheel)
    assert editor.zoom() == pytest.approx(start * 1.25)
    after = editor.to_image(QPointF(pointer))
    assert abs(after.x() - before.x()) < 1 and abs(after.y() - before.y()) < 1
    qtbot.keyClick(editor, Qt.Key.Key_Equal, CTRL)
    assert editor.zoom() == pytest.approx(start * 1.25**2)
    qtbot.keyClick(editor, Qt.Key.Key_Minus, CTRL)
    qtbot.keyClick(editor, Qt.Key.Key_Minus, CTRL)
    assert editor.zoom() == pytest.approx(start)
    editor.set_zoom(5)
    qtbot.keyClick(editor, Qt.Key.Key_0, CTRL)
    assert editor.zoom() == pytest.approx(start)


def test_middle_drag_and_space_drag_pan_without_painting(qtbot, editor):
    editor.set_zoom(4.0)
    viewport = editor.viewport()
    before = editor.to_image(QPointF(200, 150))
    qtbot.mousePress(viewport, MIDDLE, NONE, QPoint(200, 150))
    qtbot.mouseMove(viewport, QPoint(240, 130))
    qtbot.mouseRelease(viewport, MIDDLE, NONE, QPoint(240, 130))
    moved = editor.to_image(QPointF(240, 130))
    assert moved.x() == pytest.approx(before.x(), abs=0.3) and moved.y() == pytest.approx(before.y(), abs=0.3)
    qtbot.keyPress(editor, Qt.Key.Key_Space)
    qtbot.mousePress(viewport, LEFT, NONE, QPoint(240, 130))
    qtbot.mouseMove(viewport, QPoint(200, 150))
    qtbot.mouseRelease(viewport, LEFT, NONE, QPoint(200, 150))
    qtbot.keyRelease(editor, Qt.Key.Key_Space)
    back = editor.to_image(QPointF(200, 150))
    assert back.x() == pytest.approx(before.x(), abs=0.3) and back.y() == pytest.approx(before.y(), abs=0.3)
    assert not editor.mask().any() and editor.undo_stack.count() == 0


def test_tool_and_brush_shortcuts(qtbot, editor):
    qtbot.keyClick(editor, Qt.Key.Key_E)
    assert editor.tool == "eraser"
    qtbot.keyClick(editor, Qt.Key.Key_L)
    assert editor.tool == "lasso"
    size = editor.brush_size
    qtbot.keyClick(editor, Qt.Key.Key_BracketRight)
    assert editor.brush_size > size


def test_a_locked_editor_ignores_painting(qtbot, editor):
    editor.set_locked(True)
    drag(qtbot, editor, [(50, 50), (90, 60)])
    editor.invert_mask()
    assert not editor.mask().any() and editor.undo_stack.count() == 0


def test_locking_mid_stroke_keeps_the_stroke_so_far_as_one_undo_step(qtbot, editor):
    editor.set_brush(size=6, hardness=1.0)
    qtbot.mousePress(editor.viewport(), LEFT, NONE, at(editor, 20.5, 20.5))
    qtbot.mouseMove(editor.viewport(), at(editor, 60.5, 20.5))
    editor.set_locked(True)  # a run starts while the button is still down
    qtbot.mouseMove(editor.viewport(), at(editor, 60.5, 80.5))
    qtbot.mouseRelease(editor.viewport(), LEFT, NONE, at(editor, 60.5, 80.5))
    mask = editor.mask()
    assert mask[20, 20:61].min() == 255 and mask[50, 60] == 0 and editor.undo_stack.count() == 1
    editor.set_locked(False)
    editor.undo()
    assert not editor.mask().any()


def test_bad_sizes_are_refused_with_a_message(editor):
    from genstudio.ui.widgets.mask_editor import MaskEditor

    with pytest.raises(GenStudioError, match="picture is now 160×120"):
        editor.apply_result(np.zeros((10, 10, 3), np.uint8))
    with pytest.raises(GenStudioError, match="megapixels"):
        editor.extend(right=1_000_000)
    with pytest.raises(GenStudioError, match="Open an image first"):
        MaskEditor().extend(left=8)
    assert editor.undo_stack.count() == 0


def test_stamps_are_evenly_spaced_across_many_small_moves():
    path = [(0.0, 0.0), (0.7, 0.0), (2.1, 0.0), (2.2, 0.0), (9.0, 0.0)]
    carry, stamps = 0.0, []
    for start, end in zip(path, path[1:]):
        points, carry = mask_ops.stroke_points(start, end, 1.5, carry)
        stamps += points
    assert [round(x, 6) for x, _ in stamps] == [1.5, 3.0, 4.5, 6.0, 7.5, 9.0]



def test_the_toolbar_drives_the_editor_and_follows_its_shortcuts(qtbot, editor):
    from genstudio.ui.widgets.mask_toolbar import MaskToolbar

    bar = MaskToolbar(editor)
    qtbot.addWidget(bar)
    qtbot.mouseClick(bar.tool_buttons["rect"], LEFT)
    assert editor.tool == "rect" and not bar.size_box.isEnabled()  # no brush size for shapes
    qtbot.keyClick(editor, Qt.Key.Key_B)
    assert bar.tool_buttons["brush"].isChecked() and bar.size_box.isEnabled()
    bar.size_box.setValue(12)
    bar.hardness.setValue(100)
    assert (editor.brush_size, editor.hardness) == (12, 1.0)
    assert not bar.undo_button.isEnabled()
    drag(qtbot, editor, [(50.5, 50.5)])
    assert editor.mask()[44:57, 44:57].max() == 255 and editor.mask()[50, 57] == 0  # a 12 px hard dab
    assert bar.undo_button.isEnabled() and "Brush stroke" in bar.undo_button.toolTip()
    qtbot.mouseClick(bar.undo_button, LEFT)
    assert not editor.mask().any() and bar.redo_button.isEnabled()
