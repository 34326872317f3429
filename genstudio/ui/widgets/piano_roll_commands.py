"""The piano roll's edits: the arithmetic of moving, resizing and re-voicing notes, the keys that ask
for edits, and their undo steps.

Notes are frozen values, so an edit is "take these notes out, put those in": an ``EditNotes`` step
holds only the notes it touched (a one-note nudge in a 5,000-note piece keeps two notes, not the
piece), and undo swaps them back. The roll keeps its notes in one canonical order (``note_order``),
so taking out and putting back gives the very same list, not merely the same notes. Replacing the
whole sequence (a new generation the user may want to undo) keeps both sequences.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QUndoCommand

from genstudio.core.notes import Note, NoteSequence

if TYPE_CHECKING:
    from genstudio.ui.widgets.piano_roll import PianoRoll

MIN_FREE_LENGTH = 0.01  # seconds: the shortest note a resize without snapping (Alt) leaves


def note_order(note: Note) -> tuple:
    """A total order on notes (every field), so a list sorted by it is the same list for the same notes."""
    return (note.start, note.end, note.pitch, note.velocity, note.program, note.is_drum, note.generated)


def snap(seconds: float, step: float) -> float:
    """The grid line nearest ``seconds`` (a step of 0 leaves it as it is)."""
    return round(seconds / step) * step if step > 0 else seconds


def snap_down(seconds: float, step: float) -> float:
    """The grid line at or before ``seconds``: the cell a click falls in."""
    return (seconds // step) * step if step > 0 else seconds


def snap_up(seconds: float, step: float) -> float:
    """The grid line at or after ``seconds`` (a hair past a line counts as on it: float sums drift)."""
    return math.ceil(seconds / step - 1e-9) * step


def moved(notes: list[Note], anchor: Note, dt: float, dp: int, step: float) -> list[Note]:
    """``notes`` shifted by about ``dt`` seconds and ``dp`` semitones, together.

    With a grid ``step`` the note under the pointer (``anchor``) lands on a grid line and the others keep
    their distance to it. The shift is cut short where a note would start before 0 or leave 0–127."""
    if step > 0:
        dt = snap(anchor.start + dt, step) - anchor.start
    dt = max(dt, -min(n.start for n in notes))
    dp = min(max(dp, -min(n.pitch for n in notes)), 127 - max(n.pitch for n in notes))
    return [n.moved(start=n.start + dt, end=n.end + dt, pitch=n.pitch + dp) for n in notes]


def resized(notes: list[Note], anchor: Note, d_end: float, step: float) -> list[Note]:
    """``notes`` with their ends moved by about ``d_end``; the anchor's end lands on the grid.

    No note gets shorter than a grid step (or ``MIN_FREE_LENGTH`` without a grid), nor longer than the
    shift allows it to: each keeps its own start."""
    if step > 0:
        d_end = snap(anchor.end + d_end, step) - anchor.end
    shortest = step if step > 0 else MIN_FREE_LENGTH
    return [n.moved(end=max(n.end + d_end, n.start + shortest)) for n in notes]


def revoiced(notes: list[Note], d_velocity: int) -> list[Note]:
    """Velocities shifted together (so the phrase keeps its dynamics), kept within 1–127."""
    return [n.moved(velocity=min(127, max(1, n.velocity + d_velocity))) for n in notes]


# Method -> keys. Handled only while the roll has focus: text fields elsewhere keep their own Ctrl+Z.
KEYS = {
    "undo": ("Ctrl+Z",), "redo": ("Ctrl+Shift+Z", "Ctrl+Y"), "delete_selected": ("Delete", "Backspace"),
    "select_all": ("Ctrl+A",), "clear_selection": ("Escape",), "copy_selected": ("Ctrl+C",),
    "cut_selected": ("Ctrl+X",), "paste": ("Ctrl+V",), "up": ("Up",), "down": ("Down",), "octave_up": ("Shift+Up",),
    "octave_down": ("Shift+Down",), "left": ("Left",), "right": ("Right",), "zoom_in": ("Ctrl++", "Ctrl+="),
    "zoom_out": ("Ctrl+-",), "zoom_to_fit": ("Ctrl+0",),
}
KEY_ACTIONS = {QKeySequence(key)[0].toCombined(): action for action, keys in KEYS.items() for key in keys}
NUDGES = {"up": (0, 1), "down": (0, -1), "octave_up": (0, 12), "octave_down": (0, -12), "left": (-1, 0), "right": (1, 0)}


def key_action(event) -> str | None:
    """The PianoRoll method a key press (or its ShortcutOverride) asks for, or None for keys it leaves alone."""
    modifiers = event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier  # arrows come with it on macOS
    if event.key() == Qt.Key.Key_Plus:  # "+" is Shift+"=" on most keyboards
        modifiers &= ~Qt.KeyboardModifier.ShiftModifier
    return KEY_ACTIONS.get(modifiers.value | event.key())


class EditNotes(QUndoCommand):
    """Take ``removed`` out of the roll and put ``added`` in; undo does the reverse.

    The notes put in become the selection, so an undone move leaves the notes selected where they were."""

    def __init__(self, roll: PianoRoll, removed: list[Note], added: list[Note], text: str):
        super().__init__(text)
        self.roll, self.removed, self.added = roll, list(removed), list(added)

    def redo(self) -> None:
        self.roll.swap_notes(self.removed, self.added)

    def undo(self) -> None:
        self.roll.swap_notes(self.added, self.removed)


class ReplaceSequence(QUndoCommand):
    """A whole new sequence (a generation, a loaded file) in place of the old one, tempo and all."""

    def __init__(self, roll: PianoRoll, before: NoteSequence, after: NoteSequence, text: str = "Replace notes"):
        super().__init__(text)
        self.roll, self.before, self.after = roll, before, after

    def redo(self) -> None:
        self.roll.load(self.after)

    def undo(self) -> None:
        self.roll.load(self.before)
