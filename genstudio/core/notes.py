"""Notes: the one Qt-free, torch-free vocabulary of music that every music part speaks.

MIDI files are read into a ``NoteSequence`` (``core/data/midi.py``), models turn sequences into
tokens and back, the synthesizer renders a sequence to audio (``core/synth.py``), and the piano roll
edits one. Times are in seconds, as in a performance (the Music Transformer's events are timed in
seconds too); ``tempo`` and ``time_signature`` say where bars fall, for the grid and for bar counts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

DRUM_CHANNEL = 9  # General MIDI: channel 10 (9 from zero) is the drum kit


@dataclass(frozen=True)
class Note:
    pitch: int  # MIDI pitch 0–127 (60 = middle C)
    start: float  # seconds from the start of the sequence
    end: float  # seconds; > start
    velocity: int = 80  # 1–127
    program: int = 0  # General MIDI instrument 0–127 (0 = acoustic grand piano)
    is_drum: bool = False  # on the drum channel: pitch picks a drum, not a note
    generated: bool = False  # made by a model (the piano roll shows these apart from the primer)

    def __post_init__(self):
        if not 0 <= self.pitch <= 127 or not 1 <= self.velocity <= 127 or not 0 <= self.program <= 127:
            raise ValueError(f"A note needs pitch and program in 0–127 and velocity in 1–127: {self}")
        if not self.end > self.start >= 0:
            raise ValueError(f"A note must end after it starts, at a time ≥ 0: {self}")

    @property
    def duration(self) -> float:
        return self.end - self.start

    def moved(self, **changes) -> Note:
        return dataclasses.replace(self, **changes)


@dataclass
class NoteSequence:
    notes: list[Note] = field(default_factory=list)
    tempo: float = 120.0  # beats (quarter notes) per minute: the first tempo of the file
    time_signature: tuple[int, int] = (4, 4)  # numerator, denominator: the first of the file
    source: str = ""  # the file it came from, if any

    def __post_init__(self):
        if not 10 <= self.tempo <= 400:
            raise ValueError(f"Tempo must be between 10 and 400 beats per minute, not {self.tempo:g}.")
        num, den = self.time_signature
        if num < 1 or den not in (1, 2, 4, 8, 16, 32):
            raise ValueError(f"Not a time signature: {num}/{den}.")

    @property
    def duration(self) -> float:
        """Seconds until the last note ends (0 for no notes)."""
        return max((n.end for n in self.notes), default=0.0)

    @property
    def seconds_per_beat(self) -> float:
        return 60.0 / self.tempo

    @property
    def seconds_per_bar(self) -> float:
        """A bar is ``num`` beats of 1/``den`` notes; the tempo counts quarter notes."""
        num, den = self.time_signature
        return num * (4 / den) * self.seconds_per_beat

    def sorted_notes(self) -> list[Note]:
        return sorted(self.notes, key=lambda n: (n.start, n.pitch, n.end))

    def with_notes(self, notes: list[Note]) -> NoteSequence:
        return dataclasses.replace(self, notes=list(notes))

    def window(self, start: float, end: float) -> NoteSequence:
        """The notes sounding in [start, end), cut to it and shifted to start at 0."""
        kept = [n.moved(start=max(n.start, start) - start, end=min(n.end, end) - start)
                for n in self.notes if n.start < end and n.end > start]
        return self.with_notes(kept)
