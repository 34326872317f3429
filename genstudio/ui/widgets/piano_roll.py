"""The Music canvas's piano roll: a ``NoteSequence`` to look at and edit, as in a DAW.

Time runs to the right and pitch upwards; a keyboard strip, a bar ruler and a velocity lane sit
around the note grid (``piano_roll_view``). It is a custom-painted QAbstractScrollArea rather than a
QGraphicsScene: notes are frozen values that change wholesale with every edit and undo, and a scene
would need an item per note kept in step with them (5,000 items rebuilt on a "select all, move");
painting straight from one sorted list, culled by a bisect on start times and drawn in a few batched
calls, needs no second copy and scrolls a 5,000-note piece smoothly. The strips need to scroll along
one axis only, which viewport margins give for free.

Every edit is one ``EditNotes`` step on the undo stack (``piano_roll_commands``): a drag shows its
notes where they would go while the button is down and pushes one step when it is released.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Iterator

from PySide6.QtCore import QEvent, QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QUndoStack
from PySide6.QtWidgets import QAbstractScrollArea, QWidget

from genstudio.core.notes import Note, NoteSequence
from genstudio.ui.widgets.piano_roll_commands import (
    NUDGES,
    EditNotes,
    ReplaceSequence,
    key_action,
    moved,
    note_order,
    resized,
    snap,
    snap_down,
    snap_up,
)
from genstudio.ui.widgets.piano_roll_view import (
    KEYBOARD_WIDTH,
    LANE_HEIGHT,
    RULER_HEIGHT,
    Corner,
    Keyboard,
    RollColors,
    Ruler,
    VelocityLane,
    has_dragged,
    paint_grid,
    place_strips,
    update_playhead,
)

UNDO_LIMIT = 200  # steps; each keeps only the notes it touched
DEFAULT_GRID = 0.25  # quarter notes per grid step: 1/16 notes
BEAT_PIXELS = (2.0, 2000.0)  # horizontal zoom range, in pixels per quarter note
ROW_PIXELS = (4, 40)  # vertical zoom range, in pixels per semitone
ZOOM_STEP = 1.25
EDGE_PIXELS = 6  # how near a note's right end a press resizes instead of moving
MIN_BARS = 8  # the roll is at least this long, so there is room to write into an empty one

GESTURE_NAMES = {"move": "Move notes", "resize": "Resize notes", "draw": "Add note"}  # their undo steps
_clipboard: list[Note] = []  # copied notes, shifted to start at 0; shared so notes can go from roll to roll


class PianoRoll(QAbstractScrollArea):
    """Edit a NoteSequence. ``sequence()`` gives a copy with the notes in time order; every edit is undoable."""

    sequence_changed = Signal()  # after every edit, undo and redo, and a new sequence
    selection_changed = Signal()
    loop_range_changed = Signal()
    seek_requested = Signal(float)  # a click on the ruler: the player may jump there (the playhead already did)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.meta = NoteSequence()  # tempo, time signature and source; the notes live in self._notes
        self._notes: list[Note] = []  # sorted by note_order, so bisect finds the notes in view
        self._longest = 0.0  # the longest note: how far back of the view a note in view may start
        self._end = 0.0  # when the last note ends
        self._selected: set[Note] = set()
        self._preview: tuple[set[Note], list[Note], list[Note]] | None = None  # mid-drag: hidden, shown, removed
        # The drag under way, wherever it began (the grid, the ruler or the lane: piano_roll_view's strips set
        # it too). Undo, keys and a new sequence wait for it to end, so no step lands under a drag.
        self.gesture: dict | None = None
        self._loop: tuple[float, float] | None = None
        self._playhead: float | None = None
        self.insert_at: float | None = None  # where Ctrl+V pastes: after the copied notes, or a ruler click
        self._voice = (0, False)  # program and drum flag for new notes: the sequence's most common
        self.band: QRectF | None = None  # the rubber band being drawn, in viewport coordinates
        self.grid = DEFAULT_GRID
        self.pencil = False  # a click on empty space draws a note (a drag sets its length)
        self.read_only = False  # look, select and loop; no edits (while a model writes into the roll)
        self.follow_playhead = True
        self.new_velocity = 100
        self.placeholder = "Double-click to add a note, or generate some music"
        self.pixels_per_beat = 64.0
        self.row_height = 14
        self._undo_stack = QUndoStack(self)
        self._undo_stack.setUndoLimit(UNDO_LIMIT)
        self.colors = RollColors.from_palette(self.palette())
        self.keyboard, self.ruler, self.lane = Keyboard(self), Ruler(self), VelocityLane(self)
        self.corners = (Corner(self), Corner(self, "Velocity"))
        self.setViewportMargins(KEYBOARD_WIDTH, RULER_HEIGHT, 0, LANE_HEIGHT)
        # Always shown: a bar that comes and goes with the zoom would resize the viewport under the pointer.
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.viewport().setMouseTracking(True)
        self.setMinimumSize(320, 240)
        self._update_ranges()
        self._centre_on_pitch(60)

    # -- the document -------------------------------------------------------------------------------------
    @property
    def undo_stack(self) -> QUndoStack:
        return self._undo_stack

    def set_sequence(self, seq: NoteSequence, reset_undo: bool = True) -> None:
        """Show ``seq``. With ``reset_undo`` the history starts over and the view moves to the notes;
        without, the replacement is itself one undoable step and the view stays where it is."""
        self._end_gesture()
        if reset_undo:
            self._undo_stack.clear()
            self.load(seq)
            self.horizontalScrollBar().setValue(0)
            self._show_pitches()
        else:
            self._undo_stack.push(ReplaceSequence(self, self.sequence(), seq.with_notes(seq.notes)))

    def sequence(self) -> NoteSequence:
        return self.meta.with_notes(self._notes)

    def is_empty(self) -> bool:
        return not self._notes

    def is_selected(self, note: Note) -> bool:
        return note in self._selected

    def selected_notes(self) -> list[Note]:
        return [n for n in self._notes if n in self._selected]

    def select_notes(self, notes: Iterable[Note]) -> None:
        self._set_selection(set(notes) & set(self._notes))

    def select_all(self) -> None:
        self._set_selection(set(self._notes))

    def clear_selection(self) -> None:
        self._set_selection(set())

    def edit_notes(self, removed: list[Note], added: list[Note], text: str) -> bool:
        """One undoable step: take ``removed`` out, put ``added`` in (both may be empty). False if nothing changes."""
        if self.read_only or Counter(removed) == Counter(added):
            return False
        self._undo_stack.push(EditNotes(self, removed, added, text))
        return True

    def set_grid(self, fraction_of_beat: float) -> None:
        """Snap to steps of this many beats (quarter notes): 0.25 = 1/16 notes, 1/3 = eighth-note triplets."""
        if not fraction_of_beat > 0:
            raise ValueError(f"The grid step must be more than 0 beats, not {fraction_of_beat}.")
        self.grid = float(fraction_of_beat)
        self._repaint()

    @property
    def grid_seconds(self) -> float:
        return self.grid * self.meta.seconds_per_beat

    def set_read_only(self, read_only: bool) -> None:
        if read_only:
            self._end_gesture()
        self.read_only = read_only

    def undo(self) -> None:
        if not self.read_only and self.gesture is None:
            self._undo_stack.undo()

    def redo(self) -> None:
        if not self.read_only and self.gesture is None:
            self._undo_stack.redo()

    # -- what the undo steps call (piano_roll_commands) ------------------------------------------------------
    def swap_notes(self, removed: list[Note], added: list[Note]) -> None:
        """Take ``removed`` out (one of each listed) and put ``added`` in; the added notes become the selection."""
        left = Counter(removed)
        kept = []
        for note in self._notes:
            if left[note] > 0:
                left[note] -= 1
            else:
                kept.append(note)
        kept.extend(added)
        kept.sort(key=note_order)
        self._notes = kept
        self._selected = set(added)
        self._document_changed()

    def load(self, seq: NoteSequence) -> None:
        """Make ``seq`` the document, as it is (no undo step: ``set_sequence`` and ReplaceSequence call it)."""
        self.meta = seq.with_notes([])
        self._notes = sorted(seq.notes, key=note_order)
        self._selected = set()
        voices = Counter((n.program, n.is_drum) for n in self._notes if not n.generated) or \
            Counter((n.program, n.is_drum) for n in self._notes)
        self._voice = voices.most_common(1)[0][0] if voices else (0, False)
        self._document_changed()

    def _document_changed(self) -> None:
        self._longest = max((n.duration for n in self._notes), default=0.0)
        self._end = max((n.end for n in self._notes), default=0.0)
        self._update_ranges()
        self._repaint()
        self.sequence_changed.emit()
        self.selection_changed.emit()

    def _set_selection(self, selected: set[Note]) -> None:
        if selected != self._selected:
            self._selected = selected
            self._repaint()
            self.selection_changed.emit()

    # -- mapping: viewport pixels <-> seconds and pitches ---------------------------------------------------
    @property
    def pixels_per_second(self) -> float:
        return self.pixels_per_beat / self.meta.seconds_per_beat

    def time_to_x(self, seconds: float) -> float:
        return seconds * self.pixels_per_second - self.horizontalScrollBar().value()

    def x_to_time(self, x: float) -> float:
        return (x + self.horizontalScrollBar().value()) / self.pixels_per_second

    def pitch_to_y(self, pitch: int) -> float:
        """The top of the pitch's row; the row is ``row_height`` pixels tall."""
        return (127 - pitch) * self.row_height - self.verticalScrollBar().value()

    def y_to_pitch(self, y: float) -> int:
        return min(127, max(0, self._row_at(y)))

    def _row_at(self, y: float) -> int:
        """The pitch of the row at ``y``, past 0–127 where ``y`` is off the keyboard (drags measure from it)."""
        return 127 - math.floor((y + self.verticalScrollBar().value()) / self.row_height)

    def note_rect(self, note: Note) -> QRectF:
        x0, x1 = self.time_to_x(note.start), self.time_to_x(note.end)
        return QRectF(x0, self.pitch_to_y(note.pitch), x1 - x0, self.row_height)

    def visible_notes(self, t0: float, t1: float, low: int, high: int) -> Iterator[tuple[Note, bool]]:
        """(note, selected) for the notes sounding in [t0, t1] with pitches in [low, high], as shown
        now (mid-drag, the dragged notes where they would land), in drawing order."""
        hidden, shown, _ = self._preview or (set(), [], [])
        notes, selected = self._notes, self._selected
        first = bisect_left(notes, t0 - self._longest, key=lambda n: n.start)
        last = bisect_right(notes, t1, key=lambda n: n.start)
        for index in range(first, last):
            note = notes[index]
            if note.end >= t0 and low <= note.pitch <= high and not (hidden and note in hidden):
                yield note, note in selected
        for note in shown:
            if note.start <= t1 and note.end >= t0 and low <= note.pitch <= high:
                yield note, True

    def note_at(self, pos: QPointF) -> tuple[Note | None, bool]:
        """The note drawn under ``pos`` (the topmost) and whether ``pos`` is on its right end (a resize)."""
        pitch = self._row_at(pos.y())
        slack = 3 / self.pixels_per_second  # very short notes are drawn 2 px wide: hit them there too
        t = self.x_to_time(pos.x())
        hit = None
        for note, _ in self.visible_notes(t - slack, t + slack, pitch, pitch):
            rect = self.note_rect(note)
            if rect.left() <= pos.x() <= max(rect.right(), rect.left() + 2):
                hit = note, rect
        if hit is None:
            return None, False
        note, rect = hit
        return note, pos.x() >= rect.right() - min(EDGE_PIXELS, rect.width() / 3)

    # -- zoom and scroll ------------------------------------------------------------------------------------
    def set_zoom(self, pixels_per_beat: float | None = None, row_height: float | None = None,
                 anchor: QPointF | None = None) -> None:
        """Zoom keeping the time and pitch under ``anchor`` (default: the middle of the view) in place."""
        anchor = anchor if anchor is not None else QPointF(self.viewport().rect().center())
        content_x = anchor.x() + self.horizontalScrollBar().value()
        content_y = anchor.y() + self.verticalScrollBar().value()
        old_beat, old_row = self.pixels_per_beat, self.row_height
        if pixels_per_beat is not None:
            self.pixels_per_beat = min(max(float(pixels_per_beat), BEAT_PIXELS[0]), BEAT_PIXELS[1])
        if row_height is not None:
            self.row_height = int(min(max(round(row_height), ROW_PIXELS[0]), ROW_PIXELS[1]))
        self._update_ranges()
        self.horizontalScrollBar().setValue(round(content_x * self.pixels_per_beat / old_beat - anchor.x()))
        self.verticalScrollBar().setValue(round(content_y * self.row_height / old_row - anchor.y()))
        self._repaint()

    def zoom_in(self) -> None:
        self.set_zoom(pixels_per_beat=self.pixels_per_beat * ZOOM_STEP)

    def zoom_out(self) -> None:
        self.set_zoom(pixels_per_beat=self.pixels_per_beat / ZOOM_STEP)

    def zoom_to_fit(self) -> None:
        """The whole piece from 0 in view, and its pitches as tall as the view allows."""
        bar = self.meta.seconds_per_bar
        seconds = max(self._end, bar) if self._notes else MIN_BARS * bar
        width = max(self.viewport().width() - 12, 10)
        self.set_zoom(pixels_per_beat=width / (seconds / self.meta.seconds_per_beat))
        if self._notes:
            low, high = min(n.pitch for n in self._notes) - 2, max(n.pitch for n in self._notes) + 2
            self.set_zoom(row_height=self.viewport().height() // (high - low + 1))
        self.horizontalScrollBar().setValue(0)
        self._show_pitches()

    def wheel(self, event, position: QPointF) -> None:
        """Wheel over the grid or a strip: scroll; Shift across; Ctrl zooms time, Ctrl+Shift or Alt zooms pitch."""
        modifiers = event.modifiers()
        delta = event.angleDelta()
        steps = (delta.y() or delta.x()) / 120  # Alt and Shift turn the wheel sideways on some systems
        ctrl = bool(modifiers & Qt.KeyboardModifier.ControlModifier)
        shift = bool(modifiers & Qt.KeyboardModifier.ShiftModifier)
        if (ctrl and shift) or modifiers & Qt.KeyboardModifier.AltModifier:
            self.set_zoom(row_height=self.row_height * ZOOM_STEP ** steps, anchor=position)
        elif ctrl:
            self.set_zoom(pixels_per_beat=self.pixels_per_beat * ZOOM_STEP ** steps, anchor=position)
        else:
            sideways = shift or (delta.x() != 0 and delta.y() == 0)
            bar = self.horizontalScrollBar() if sideways else self.verticalScrollBar()
            bar.setValue(bar.value() - round(steps * 3 * bar.singleStep()))
        event.accept()

    def wheelEvent(self, event) -> None:
        self.wheel(event, event.position())

    def scrollContentsBy(self, dx: int, dy: int) -> None:
        self._repaint()

    def _update_ranges(self) -> None:
        """Scroll ranges for the zoom and the piece: room for its notes, its loop and its playhead, and more."""
        bar = self.meta.seconds_per_bar
        ends = [self._end + 2 * bar, MIN_BARS * bar, (self._loop or (0, 0))[1], self._playhead or 0]
        view = self.viewport().size()
        horizontal, vertical = self.horizontalScrollBar(), self.verticalScrollBar()
        horizontal.setRange(0, max(0, math.ceil(max(ends) * self.pixels_per_second) - view.width()))
        horizontal.setPageStep(view.width())
        horizontal.setSingleStep(max(1, round(self.pixels_per_beat / 2)))
        vertical.setRange(0, max(0, 128 * self.row_height - view.height()))
        vertical.setPageStep(view.height())
        vertical.setSingleStep(self.row_height)

    def _show_pitches(self) -> None:
        pitches = [n.pitch for n in self._notes] or [60]
        self._centre_on_pitch((min(pitches) + max(pitches)) / 2)

    def _centre_on_pitch(self, pitch: float) -> None:
        centre = (127 - pitch + 0.5) * self.row_height
        self.verticalScrollBar().setValue(round(centre - self.viewport().height() / 2))

    def viewportEvent(self, event) -> bool:
        if event.type() == QEvent.Type.Resize:
            place_strips(self)
            self._update_ranges()
        return super().viewportEvent(event)

    # -- playhead and loop ------------------------------------------------------------------------------------
    def set_playhead(self, seconds: float | None) -> None:
        """Draw the playhead at ``seconds`` (None hides it); while following, scroll a page when it leaves the view."""
        old, self._playhead = self._playhead, seconds
        if seconds is not None:
            self._update_ranges()
            x = self.time_to_x(seconds)
            if self.follow_playhead and self.gesture is None and not 0 <= x <= self.viewport().width() - 8:
                self.horizontalScrollBar().setValue(round(x + self.horizontalScrollBar().value()
                                                          - 0.05 * self.viewport().width()))
        for value in (old, seconds):
            if value is not None:
                update_playhead(self, value)

    def playhead(self) -> float | None:
        return self._playhead

    def loop_range(self) -> tuple[float, float] | None:
        return self._loop

    def set_loop_range(self, start: float, end: float) -> None:
        start, end = sorted((max(0.0, float(start)), max(0.0, float(end))))
        if end <= start:
            raise ValueError(f"A loop must end after it starts: {start:g}–{end:g} s.")
        if self._loop != (start, end):
            self._loop = (start, end)
            self._update_ranges()
            self._repaint()
            self.loop_range_changed.emit()

    def clear_loop_range(self) -> None:
        if self._loop is not None:
            self._loop = None
            self._repaint()
            self.loop_range_changed.emit()

    def seek(self, seconds: float) -> None:
        """A click on the ruler: the playhead and the insert point (where Ctrl+V pastes) go there."""
        self.insert_at = snap(seconds, self.grid_seconds)
        self.set_playhead(seconds)
        self.seek_requested.emit(seconds)

    # -- the pointer on the grid ------------------------------------------------------------------------------
    def mousePressEvent(self, event) -> None:
        self.setFocus(Qt.FocusReason.MouseFocusReason)
        pos = event.position()
        if self.gesture is not None:  # a second button during a drag: the drag goes on
            return
        if event.button() == Qt.MouseButton.MiddleButton:
            self.gesture = {"kind": "pan", "last": pos}
            return
        if event.button() != Qt.MouseButton.LeftButton:
            return
        note, on_edge = self.note_at(pos)
        additive = bool(event.modifiers() & (Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.ControlModifier))
        if note is None:
            if self.pencil and not self.read_only:
                self._start_drawing(pos, event)
            else:
                self.gesture = {"kind": "band", "press": pos, "base": set(self._selected) if additive else set()}
                if not additive:
                    self.clear_selection()
            return
        was_selected = note in self._selected
        if additive and not was_selected:
            self._set_selection(self._selected | {note})
        elif not additive and not was_selected:
            self._set_selection({note})
        self.gesture = {"kind": "resize" if on_edge else "move", "press": pos, "anchor": note, "dragged": False,
                         "notes": self.selected_notes(), "toggle_off": additive and was_selected,
                         "solo": not additive}

    def mouseMoveEvent(self, event) -> None:
        gesture, pos = self.gesture, event.position()
        if gesture is None:
            self._hover(pos)
        elif gesture["kind"] == "pan":
            delta, gesture["last"] = pos - gesture["last"], pos
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - round(delta.x()))
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - round(delta.y()))
        elif gesture["kind"] == "band":
            self._drag_band(gesture, pos)
        elif gesture["kind"] == "draw":
            note = gesture["note"]
            end = max(snap(self.x_to_time(pos.x()), self.snap_step(event)), note.start + self.grid_seconds)
            self.show_preview([], [note.moved(end=end)])
        elif gesture["kind"] in ("move", "resize") and has_dragged(gesture, pos) and not self.read_only:
            dt = (pos.x() - gesture["press"].x()) / self.pixels_per_second
            step, notes, anchor = self.snap_step(event), gesture["notes"], gesture["anchor"]
            if gesture["kind"] == "move":
                dp = self._row_at(pos.y()) - self._row_at(gesture["press"].y())
                self.show_preview(notes, moved(notes, anchor, dt, dp, step))
            else:
                self.show_preview(notes, resized(notes, anchor, dt, step))

    def mouseReleaseEvent(self, event) -> None:
        gesture = self.gesture
        if gesture is None or event.button() not in (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton):
            return
        self.gesture = None
        if gesture["kind"] == "band":
            self.band = None
            self.viewport().update()
        elif gesture["kind"] in ("move", "resize", "draw"):
            self._finish_edit(gesture)
        self._hover(event.position())

    def mouseDoubleClickEvent(self, event) -> None:
        """Double-click on empty space: a note one grid step long in the cell clicked (Alt: exactly there)."""
        if event.button() != Qt.MouseButton.LeftButton or self.read_only:
            return
        self.gesture, self.band = None, None
        if self.note_at(event.position())[0] is None:
            note = self._new_note(event.position(), event)
            self.edit_notes([], [note], "Add note")

    def _start_drawing(self, pos: QPointF, event) -> None:
        note = self._new_note(pos, event)
        self.gesture = {"kind": "draw", "note": note, "notes": [], "dragged": True}
        self.show_preview([], [note])

    def _new_note(self, pos: QPointF, event) -> Note:
        start = max(0.0, snap_down(self.x_to_time(pos.x()), self.snap_step(event)))
        program, is_drum = self._voice
        return Note(self.y_to_pitch(pos.y()), start, start + self.grid_seconds, self.new_velocity, program, is_drum)

    def _finish_edit(self, gesture: dict) -> None:
        """Release: a drag becomes one undo step; a click without one picks the note alone (or drops it)."""
        if gesture["dragged"] and self._preview is not None:
            self.commit_preview(GESTURE_NAMES[gesture["kind"]])
        elif gesture.get("toggle_off"):
            self._set_selection(self._selected - {gesture["anchor"]})
        elif gesture.get("solo"):
            self._set_selection({gesture["anchor"]})

    def _drag_band(self, gesture: dict, pos: QPointF) -> None:
        self.band = QRectF(gesture["press"], pos).normalized()
        t0, t1 = self.x_to_time(self.band.left()), self.x_to_time(self.band.right())
        low, high = self.y_to_pitch(self.band.bottom()), self.y_to_pitch(self.band.top())
        inside = {note for note, _ in self.visible_notes(t0, t1, low, high)}
        self._set_selection(gesture["base"] | inside)
        self.viewport().update()

    def snap_step(self, event) -> float:
        """The grid step in seconds, or 0 while Alt is held (no snapping)."""
        return 0.0 if event.modifiers() & Qt.KeyboardModifier.AltModifier else self.grid_seconds

    def show_preview(self, removed: list[Note], added: list[Note]) -> None:
        """Mid-drag: draw ``added`` in place of ``removed`` without touching the document."""
        self._preview = (set(removed), list(added), list(removed))
        self._repaint()

    def commit_preview(self, text: str) -> bool:
        """The drag's end: what it showed becomes one undo step (False if it changed nothing)."""
        preview, self._preview = self._preview, None
        if preview is not None and self.edit_notes(preview[2], preview[1], text):
            return True
        self._repaint()
        return False

    def _end_gesture(self) -> None:
        self.gesture, self._preview, self.band = None, None, None
        self._repaint()

    def _hover(self, pos: QPointF) -> None:
        note, on_edge = self.note_at(pos)
        shape = (Qt.CursorShape.SizeHorCursor if on_edge else Qt.CursorShape.SizeAllCursor) if note is not None \
            else Qt.CursorShape.CrossCursor if self.pencil else Qt.CursorShape.ArrowCursor
        self.viewport().setCursor(shape)

    # -- keys ------------------------------------------------------------------------------------------------
    def event(self, event) -> bool:
        # Take our keys before any shortcut of the window sees them (as a text field takes its Ctrl+Z).
        if event.type() == QEvent.Type.ShortcutOverride and key_action(event) is not None:
            event.accept()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        action = key_action(event)
        if action is None:
            super().keyPressEvent(event)
            return
        if action in NUDGES:
            self._nudge(*NUDGES[action])
        else:
            getattr(self, action)()

    def delete_selected(self) -> None:
        if self.gesture is None:
            self.edit_notes(self.selected_notes(), [], "Delete notes")

    def copy_selected(self) -> None:
        notes = self.selected_notes()
        if notes:
            origin = min(n.start for n in notes)
            _clipboard[:] = [n.moved(start=n.start - origin, end=n.end - origin) for n in notes]
            self.insert_at = origin + snap_up(max(n.end for n in _clipboard), self.grid_seconds)  # just after them

    def cut_selected(self) -> None:
        self.copy_selected()
        if self.gesture is None:
            self.edit_notes(self.selected_notes(), [], "Cut notes")

    def paste(self) -> None:
        """The copied notes at the insert point: after what was copied, or where the ruler was last clicked.
        Pasting again puts the next copy after this one, so Ctrl+V repeats a phrase."""
        if not _clipboard or self.gesture is not None:
            return
        at = self.insert_at if self.insert_at is not None else (self._playhead or 0.0)
        added = [n.moved(start=n.start + at, end=n.end + at) for n in _clipboard]
        if self.edit_notes([], added, "Paste notes"):
            self.insert_at = at + snap_up(max(n.end for n in _clipboard), self.grid_seconds)

    def _nudge(self, steps: int, semitones: int) -> None:
        """Arrows move the selection a grid step or a semitone (Shift: an octave); with none, they scroll."""
        notes = self.selected_notes()
        if not notes:
            bar = self.horizontalScrollBar() if steps else self.verticalScrollBar()
            bar.setValue(bar.value() + bar.singleStep() * (steps or -semitones))
            return
        if self.gesture is None:
            self.edit_notes(notes, moved(notes, notes[0], steps * self.grid_seconds, semitones, 0.0), "Nudge notes")

    # -- painting and theme ------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self.viewport())
        paint_grid(self, painter, QRectF(event.rect()))

    def note_colors(self) -> dict[str, QColor]:
        """The colours of the two kinds of notes, for a legend: {"primer": QColor, "generated": QColor}."""
        return {"primer": self.colors.user_note, "generated": self.colors.generated_note}

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.StyleChange):
            self.colors = RollColors.from_palette(self.palette())
            self._repaint()

    def _repaint(self) -> None:
        for widget in (self.viewport(), self.keyboard, self.ruler, self.lane, *self.corners):
            widget.update()
