"""Files in and out of the Music canvas: which tracks of a MIDI file to load, reading it off the UI
thread, the file names offered on export, and rendering a WAV file (in a worker) with a sentence for a
full disk.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QInputDialog

from genstudio.core import synth
from genstudio.core.data.midi import MIDI_EXTENSIONS, midi_tracks, read_midi
from genstudio.core.errors import GenStudioError
from genstudio.core.notes import NoteSequence

MIDI_FILTER = "MIDI files (*.mid *.midi)"
WAV_FILTER = "WAV audio (*.wav)"
ALL_TRACKS = "All tracks"


def is_midi(path: str | Path) -> bool:
    return Path(path).suffix.lower() in MIDI_EXTENSIONS


def choose_track(parent, name: str, tracks: list[str]) -> str | None:
    """Which tracks of a file to load: ALL_TRACKS or one line of ``tracks``; None for Cancel."""
    item, ok = QInputDialog.getItem(parent, "Choose a track", f"{name} has several tracks with notes. Load:",
                                    [ALL_TRACKS, *tracks], 0, False)
    return item if ok else None


def track_index(line: str) -> int:
    """The track number a ``midi_tracks`` line starts with ("2: Melody — …" -> 2)."""
    return int(line.split(":", 1)[0])


def read_for_roll(path: Path, track: int | None) -> tuple[list[str], NoteSequence]:
    """Off the UI thread: the file's tracks that have notes (when none was chosen yet) and its notes."""
    tracks = [line for line in midi_tracks(path) if not line.endswith("no notes")] if track is None else []
    return tracks, read_midi(path, track)


def with_suffix(chosen: str, suffix: str, accepted: tuple[str, ...]) -> Path:
    """The path a save dialog gave, with ``suffix`` added when it has none of ``accepted``."""
    path = Path(chosen)
    return path if path.suffix.lower() in accepted else path.with_name(path.name + suffix)


def suggested_name(path: Path | None, source: str, suffix: str) -> str:
    """What the export dialog offers: the file the notes came from or went to, with ``suffix``."""
    if path is not None:
        return str(path.with_suffix(suffix))
    return (Path(source).stem if source else "Untitled") + suffix


def render_wav(seq: NoteSequence, path: Path, render=synth.render) -> float:
    """Render ``seq`` and write it as a WAV file (atomically); returns its length in seconds."""
    audio = render(seq)
    try:
        synth.write_wav(audio, path, synth.SAMPLE_RATE)
    except OSError as err:
        raise GenStudioError(f"Could not write '{path}': {err.strerror or err}. Nothing was written; free some "
                             "disk space or choose another folder.") from err
    return len(audio) / synth.SAMPLE_RATE


def retimed(seq: NoteSequence, tempo: float) -> NoteSequence:
    """The sequence at ``tempo``: every note keeps its beat, so its times scale."""
    scale = seq.tempo / tempo
    notes = [n.moved(start=n.start * scale, end=n.end * scale) for n in seq.notes]
    return NoteSequence(notes, tempo, seq.time_signature, seq.source)
