"""MIDI files in and out: ``NoteSequence`` from any type 0/1 file, one tidy type-1 file back, and folders.

Reading follows what a player hears: ticks become seconds through the file's whole tempo map (set
in any track), a program change applies to its channel from that moment, a note-on of a pitch that
is already sounding on the same channel re-strikes it (the earlier note ends there), a note-on with
velocity 0 is a note-off, a note never switched off ends where its track ends, and a note of zero
length is dropped (it would be silent). Anything ``mido`` cannot parse is a ``MidiFileError`` with a
sentence saying why; ``load_midi_folder`` skips and lists such files, as the image folders do.
Files are written atomically (temporary file + ``os.replace``), so a full disk leaves the old file,
never half a new one. Format: Standard MIDI File 1.0 (midi.org).
"""

from __future__ import annotations

import io
import os
from bisect import bisect_right
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import mido

from genstudio.core.data.images import SkippedFile
from genstudio.core.errors import DatasetError, GenStudioError
from genstudio.core.files import write_atomic
from genstudio.core.notes import DRUM_CHANNEL, Note, NoteSequence

MIDI_EXTENSIONS = (".mid", ".midi")
MAX_MIDI_BYTES = 20 * 1024 * 1024  # a long orchestral file is ~1 MB; far bigger is damage or not MIDI
TICKS_PER_BEAT = 480  # what we write: fine enough for 10 ms at 120 bpm, and what most DAWs use
DRUM_MODES = ("include", "exclude", "only")
DEFAULT_TEMPO_US = 500_000  # MIDI's default: 120 bpm until a set_tempo says otherwise
MELODIC_CHANNELS = [c for c in range(16) if c != DRUM_CHANNEL]

GM_PROGRAM_NAMES = (
    "Acoustic Grand Piano", "Bright Acoustic Piano", "Electric Grand Piano", "Honky-tonk Piano", "Electric Piano 1",
    "Electric Piano 2", "Harpsichord", "Clavinet", "Celesta", "Glockenspiel", "Music Box", "Vibraphone", "Marimba",
    "Xylophone", "Tubular Bells", "Dulcimer", "Drawbar Organ", "Percussive Organ", "Rock Organ", "Church Organ",
    "Reed Organ", "Accordion", "Harmonica", "Tango Accordion", "Acoustic Guitar (nylon)", "Acoustic Guitar (steel)",
    "Electric Guitar (jazz)", "Electric Guitar (clean)", "Electric Guitar (muted)", "Overdriven Guitar",
    "Distortion Guitar", "Guitar Harmonics", "Acoustic Bass", "Electric Bass (finger)", "Electric Bass (pick)",
    "Fretless Bass", "Slap Bass 1", "Slap Bass 2", "Synth Bass 1", "Synth Bass 2", "Violin", "Viola", "Cello",
    "Contrabass", "Tremolo Strings", "Pizzicato Strings", "Orchestral Harp", "Timpani", "String Ensemble 1",
    "String Ensemble 2", "Synth Strings 1", "Synth Strings 2", "Choir Aahs", "Voice Oohs", "Synth Voice",
    "Orchestra Hit", "Trumpet", "Trombone", "Tuba", "Muted Trumpet", "French Horn", "Brass Section", "Synth Brass 1",
    "Synth Brass 2", "Soprano Sax", "Alto Sax", "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon",
    "Clarinet", "Piccolo", "Flute", "Recorder", "Pan Flute", "Blown Bottle", "Shakuhachi", "Whistle", "Ocarina",
    "Lead 1 (square)", "Lead 2 (sawtooth)", "Lead 3 (calliope)", "Lead 4 (chiff)", "Lead 5 (charang)",
    "Lead 6 (voice)", "Lead 7 (fifths)", "Lead 8 (bass + lead)", "Pad 1 (new age)", "Pad 2 (warm)",
    "Pad 3 (polysynth)", "Pad 4 (choir)", "Pad 5 (bowed)", "Pad 6 (metallic)", "Pad 7 (halo)", "Pad 8 (sweep)",
    "FX 1 (rain)", "FX 2 (soundtrack)", "FX 3 (crystal)", "FX 4 (atmosphere)", "FX 5 (brightness)", "FX 6 (goblins)",
    "FX 7 (echoes)", "FX 8 (sci-fi)", "Sitar", "Banjo", "Shamisen", "Koto", "Kalimba", "Bagpipe", "Fiddle", "Shanai",
    "Tinkle Bell", "Agogo", "Steel Drums", "Woodblock", "Taiko Drum", "Melodic Tom", "Synth Drum", "Reverse Cymbal",
    "Guitar Fret Noise", "Breath Noise", "Seashore", "Bird Tweet", "Telephone Ring", "Helicopter", "Applause",
    "Gunshot",
)


class MidiFileError(DatasetError):
    """A MIDI file is missing, damaged, not MIDI, too big, or holds no notes; ``reason`` is the short why."""

    def __init__(self, path: Path | str, reason: str):
        self.path, self.reason = str(path), reason
        super().__init__(f"Cannot use the MIDI file '{Path(path).name}': {reason}.")


class MidiWriteError(GenStudioError):
    """A MIDI file could not be saved (disk full, no permission); the old file, if any, is untouched."""


# --- reading -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _TempoMap:
    """Piecewise-linear ticks -> seconds: one segment per tempo change."""

    ticks: list[int]  # tick where each segment starts; the first is 0
    seconds: list[float]  # seconds elapsed at that tick
    per_tick: list[float]  # seconds per tick inside the segment

    def seconds_at(self, tick: int) -> float:
        i = bisect_right(self.ticks, tick) - 1
        return self.seconds[i] + (tick - self.ticks[i]) * self.per_tick[i]


def _absolute(track: mido.MidiTrack):
    """(absolute tick, message) for each message of a track."""
    tick = 0
    for msg in track:
        tick += msg.time
        yield tick, msg


def _tempo_map(tracks: list[mido.MidiTrack], ticks_per_beat: int) -> _TempoMap:
    if ticks_per_beat & 0x8000:  # SMPTE timing: frames per second × ticks per frame, tempo plays no part
        fps = 256 - (ticks_per_beat >> 8)
        fps = 29.97 if fps == 29 else fps  # 29 means 30 drop-frame
        return _TempoMap([0], [0.0], [1.0 / (fps * (ticks_per_beat & 0xFF))])
    changes = sorted((tick, msg.tempo) for track in tracks for tick, msg in _absolute(track)
                     if msg.type == "set_tempo" and msg.tempo > 0)
    ticks, seconds, per_tick = [0], [0.0], [DEFAULT_TEMPO_US / 1e6 / ticks_per_beat]
    for tick, tempo in changes:
        if tick == ticks[-1]:  # several at one tick: the last one wins
            per_tick[-1] = tempo / 1e6 / ticks_per_beat
            continue
        seconds.append(seconds[-1] + (tick - ticks[-1]) * per_tick[-1])
        ticks.append(tick)
        per_tick.append(tempo / 1e6 / ticks_per_beat)
    return _TempoMap(ticks, seconds, per_tick)


def _program_map(tracks: list[mido.MidiTrack]) -> dict[int, tuple[list[int], list[int]]]:
    """channel -> (ticks, programs) of its program changes; a channel is shared by every track."""
    changes = sorted((msg.channel, tick, msg.program) for track in tracks for tick, msg in _absolute(track)
                     if msg.type == "program_change")
    by_channel: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for channel, tick, program in changes:
        by_channel[channel][0].append(tick)
        by_channel[channel][1].append(program)
    return by_channel


def _program_at(programs: dict, channel: int, tick: int) -> int:
    ticks, values = programs.get(channel, ((), ()))
    i = bisect_right(ticks, tick) - 1
    return values[i] if i >= 0 else 0


def _track_notes(track: mido.MidiTrack, tempo: _TempoMap, programs: dict) -> list[Note]:
    sounding: dict[tuple[int, int], tuple[int, int]] = {}  # (channel, pitch) -> (start tick, velocity)
    spans: list[tuple[int, int, int, int, int]] = []  # channel, pitch, start tick, end tick, velocity
    tick = 0
    for tick, msg in _absolute(track):
        if msg.type not in ("note_on", "note_off"):
            continue
        key = (msg.channel, msg.note)
        started = sounding.pop(key, None)
        if started is not None:  # a note-off, or a re-strike of a sounding key: either way the old note ends
            spans.append((*key, started[0], tick, started[1]))
        if msg.type == "note_on" and msg.velocity > 0:
            sounding[key] = (tick, msg.velocity)
    spans += [(*key, start, tick, velocity) for key, (start, velocity) in sounding.items()]  # never switched off
    notes = []
    for channel, pitch, start_tick, end_tick, velocity in spans:
        start, end = tempo.seconds_at(start_tick), tempo.seconds_at(end_tick)
        if end > start:  # zero-length notes are dropped: they would not sound
            notes.append(Note(pitch, start, end, velocity, _program_at(programs, channel, start_tick),
                              is_drum=channel == DRUM_CHANNEL))
    return notes


def _open_midi(path: Path | str) -> mido.MidiFile:
    path = Path(path)
    if not path.exists():
        raise MidiFileError(path, "the file does not exist")
    if path.is_dir():
        raise MidiFileError(path, "it is a folder, not a file")
    try:
        size = path.stat().st_size
        if size == 0:
            raise MidiFileError(path, "the file is empty (0 bytes)")
        if size > MAX_MIDI_BYTES:
            raise MidiFileError(path, f"the file is {size / 2**20:.0f} MB; MIDI files over "
                                      f"{MAX_MIDI_BYTES // 2**20} MB are refused (real songs are rarely over 1 MB)")
        data = path.read_bytes()
    except OSError as err:
        raise MidiFileError(path, f"it cannot be read ({err.strerror or err})") from None
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":  # a RIFF-wrapped MIDI file (.rmi): unwrap it
        data = data[max(data.find(b"MThd"), 0):]
    if data[:4] != b"MThd":
        raise MidiFileError(path, "it is not a MIDI file (it does not start with a MIDI header)")
    try:
        mid = mido.MidiFile(file=io.BytesIO(data))
    except EOFError:
        raise MidiFileError(path, "the file is truncated (it ends in the middle of a track)") from None
    except Exception as err:  # mido raises many kinds on damaged bytes; all of them mean "corrupt" to a user
        raise MidiFileError(path, f"the file is corrupt ({str(err) or type(err).__name__})") from None
    if mid.ticks_per_beat == 0 or not mid.tracks:
        raise MidiFileError(path, "the file is corrupt (its header has no timing or no tracks)")
    return mid


def _notes_by_track(mid: mido.MidiFile) -> list[list[Note]]:
    """Every track's notes in seconds. Type 2 tracks are independent songs: each keeps its own tempos."""
    if mid.type == 2:
        return [_track_notes(t, _tempo_map([t], mid.ticks_per_beat), _program_map([t])) for t in mid.tracks]
    tempo, programs = _tempo_map(mid.tracks, mid.ticks_per_beat), _program_map(mid.tracks)
    return [_track_notes(t, tempo, programs) for t in mid.tracks]


def _first_meta(mid: mido.MidiFile, kind: str) -> mido.MetaMessage | None:
    found = [(tick, msg) for track in mid.tracks for tick, msg in _absolute(track) if msg.type == kind]
    return min(found, key=lambda item: item[0])[1] if found else None


def _file_tempo(mid: mido.MidiFile) -> float:
    msg = _first_meta(mid, "set_tempo")
    bpm = mido.tempo2bpm(msg.tempo) if msg is not None and msg.tempo > 0 else 120.0
    return min(max(bpm, 10.0), 400.0)  # the range a NoteSequence allows; beyond it a file is damaged anyway


def _file_time_signature(mid: mido.MidiFile) -> tuple[int, int]:
    msg = _first_meta(mid, "time_signature")
    if msg is None or msg.numerator < 1 or msg.denominator not in (1, 2, 4, 8, 16, 32):
        return (4, 4)
    return (msg.numerator, msg.denominator)


def _keep_drums(notes: list[Note], drums: str) -> list[Note]:
    if drums == "exclude":
        return [n for n in notes if not n.is_drum]
    if drums == "only":
        return [n for n in notes if n.is_drum]
    return notes


def read_midi(path: Path | str, track: int | None = None, drums: str = "include") -> NoteSequence:
    """All tracks merged (or only track index ``track``) as one sequence; ``drums``: include, exclude, only."""
    if drums not in DRUM_MODES:
        raise ValueError(f"drums must be one of {DRUM_MODES}, not {drums!r}")
    mid = _open_midi(path)
    by_track = _notes_by_track(mid)
    if track is not None and not 0 <= track < len(by_track):
        count = len(by_track)
        raise MidiFileError(path, f"it has {count} track(s) (0–{count - 1}); there is no track {track}")
    notes = _keep_drums([n for i, ns in enumerate(by_track) if track is None or i == track for n in ns], drums)
    if not notes:
        where = "" if track is None else f" in track {track}"
        what = {"include": "notes", "exclude": "notes outside the drum channel", "only": "drum notes (channel 10)"}
        raise MidiFileError(path, f"it has no {what[drums]}{where}")
    return NoteSequence(sorted(notes, key=lambda n: (n.start, n.pitch, n.end)), _file_tempo(mid),
                        _file_time_signature(mid), source=str(path))


def _instrument_names(notes: list[Note]) -> str:
    programs = sorted({n.program for n in notes if not n.is_drum})
    names = [GM_PROGRAM_NAMES[p] for p in programs] + (["Drums"] if any(n.is_drum for n in notes) else [])
    return ", ".join(names)


def midi_tracks(path: Path | str) -> list[str]:
    """One line per track, in track order (list index = track index): "2: Melody — 120 notes, Flute"."""
    mid = _open_midi(path)
    lines = []
    for index, (track, notes) in enumerate(zip(mid.tracks, _notes_by_track(mid))):
        name = (track.name or "").strip() or f"Track {index + 1}"
        count = f"{len(notes):,} note{'s' if len(notes) != 1 else ''}" if notes else "no notes"
        lines.append(f"{index}: {name} — {count}" + (f", {_instrument_names(notes)}" if notes else ""))
    return lines


# --- writing -------------------------------------------------------------------------------------------


def _group_notes(seq: NoteSequence) -> list[tuple[tuple[bool, int], list[Note]]]:
    """(is_drum, program) -> notes, melodic groups by program first, drums last."""
    groups: dict[tuple[bool, int], list[Note]] = defaultdict(list)
    for note in seq.notes:
        groups[(note.is_drum, note.program)].append(note)
    return sorted(groups.items())


def _tick_spans(notes: list[Note], seconds_per_tick: float) -> list[tuple[int, int, int, int]]:
    """(start tick, end tick, pitch, velocity); a same-pitch overlap is cut where the next note starts,
    as a reader re-strikes the key there anyway, and every note lasts at least one tick."""
    spans = []
    last_of_pitch: dict[int, int] = {}
    for note in sorted(notes, key=lambda n: (n.start, n.pitch)):
        start = round(note.start / seconds_per_tick)
        end = max(round(note.end / seconds_per_tick), start + 1)
        prev = last_of_pitch.get(note.pitch)
        if prev is not None and spans[prev][1] > start:
            spans[prev][1] = start
        last_of_pitch[note.pitch] = len(spans)
        spans.append([start, end, note.pitch, note.velocity])
    return [tuple(s) for s in spans if s[1] > s[0]]


def _note_track(name: str, notes: list[Note], channel: int, program: int, seconds_per_tick: float) -> mido.MidiTrack:
    events = []  # (tick, 0 = off before 1 = on at the same tick, message)
    for start, end, pitch, velocity in _tick_spans(notes, seconds_per_tick):
        events.append((start, 1, mido.Message("note_on", channel=channel, note=pitch, velocity=velocity)))
        events.append((end, 0, mido.Message("note_off", channel=channel, note=pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1]))
    track = mido.MidiTrack([mido.MetaMessage("track_name", name=name)])
    if channel != DRUM_CHANNEL or program:  # on channel 10 a program picks a drum kit; 0 is the standard kit
        track.append(mido.Message("program_change", channel=channel, program=program))
    previous = 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - previous))
        previous = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def _latin1(text: str) -> str:
    """MIDI text events are bytes that mido writes as Latin-1; other characters become '?'."""
    return text.encode("latin-1", "replace").decode("latin-1")


def midi_bytes(seq: NoteSequence) -> bytes:
    """A type-1 file: a tempo/time-signature track, then one track per (program, drums) group."""
    num, den = seq.time_signature
    conductor = mido.MidiTrack([
        mido.MetaMessage("track_name", name=_latin1(Path(seq.source).stem if seq.source else "GenStudio")),
        mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(seq.tempo)),
        mido.MetaMessage("time_signature", numerator=num, denominator=den),
        mido.MetaMessage("end_of_track", time=0),
    ])
    mid = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_BEAT, tracks=[conductor])
    seconds_per_tick = seq.seconds_per_beat / TICKS_PER_BEAT
    melodic = 0
    for (is_drum, program), notes in _group_notes(seq):
        if is_drum:
            channel, name = DRUM_CHANNEL, "Drums"
        else:  # more than 15 instruments share channels (MIDI has 16); the later program change then wins
            channel, name = MELODIC_CHANNELS[melodic % len(MELODIC_CHANNELS)], GM_PROGRAM_NAMES[program]
            melodic += 1
        mid.tracks.append(_note_track(name, notes, channel, program, seconds_per_tick))
    buffer = io.BytesIO()
    mid.save(file=buffer)
    return buffer.getvalue()


def write_midi(seq: NoteSequence, path: Path | str) -> Path:
    """Save ``seq`` as a type-1 MIDI file, atomically: on any failure the old file (if any) is untouched."""
    path = Path(path)
    try:
        return write_atomic(path, midi_bytes(seq))
    except OSError as err:
        raise MidiWriteError(f"Could not save '{path}': {err.strerror or err}. Nothing was written; "
                             "free some disk space or choose another folder.") from err


# --- folders -------------------------------------------------------------------------------------------


def format_duration(seconds: float) -> str:
    """'45 s', '12 min 30 s', '2 h 5 min'."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


@dataclass
class MidiDatasetReport:
    root: str
    used: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    note_count: int = 0
    seconds: float = 0.0  # total duration of the usable files, each from 0 to its last note's end
    notes: list[str] = field(default_factory=list)  # remarks for the reader (not musical notes)
    extra: dict = field(default_factory=dict)  # the same for the model card

    @property
    def found(self) -> int:
        return len(self.used) + len(self.skipped)

    def summary(self) -> dict:
        """What a model card records about its data."""
        return {"folder": self.root, "midi_files": len(self.used), "skipped": len(self.skipped),
                "notes": self.note_count, "seconds": round(self.seconds, 1), **self.extra}

    def to_text(self, max_listed: int = 50) -> str:
        lines = [f"MIDI folder {self.root}: {self.found} MIDI file(s) found, {len(self.used)} usable, "
                 f"{len(self.skipped)} skipped; {self.note_count:,} notes, {format_duration(self.seconds)} of music."]
        lines += self.notes
        lines += [f"  skipped {item.path}: {item.reason}" for item in self.skipped[:max_listed]]
        if len(self.skipped) > max_listed:
            lines.append(f"  ... and {len(self.skipped) - max_listed} more skipped")
        return "\n".join(lines)


def scan_midi_files(root: Path) -> tuple[list[Path], list[SkippedFile]]:
    """Files ending .mid/.midi (any case) under ``root``, sorted and recursive; macOS '._' files left out."""
    candidates: list[Path] = []
    skipped: list[SkippedFile] = []

    def on_error(err: OSError) -> None:
        skipped.append(SkippedFile(str(err.filename), f"cannot read folder: {err.strerror}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error):
        dirnames.sort()
        candidates += [Path(dirpath, name) for name in sorted(filenames)
                       if name.lower().endswith(MIDI_EXTENSIONS) and not name.startswith("._")]
    return candidates, skipped


def load_midi_folder(root: Path | str, track: int | None = None,
                     drums: str = "include") -> tuple[list[NoteSequence], MidiDatasetReport]:
    """Every usable MIDI file under ``root`` (see ``read_midi``), plus a report of what was skipped and why."""
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"The folder '{root}' does not exist.")
    if not root.is_dir():
        raise DatasetError(f"'{root}' is a file, not a folder. Choose the folder that holds your MIDI files.")
    report = MidiDatasetReport(root=str(root))
    candidates, report.skipped = scan_midi_files(root)
    sequences = []
    for path in candidates:
        try:
            seq = read_midi(path, track=track, drums=drums)
        except MidiFileError as err:
            report.skipped.append(SkippedFile(str(path), err.reason))
            continue
        sequences.append(seq)
        report.used.append(str(path))
        report.note_count += len(seq.notes)
        report.seconds += seq.duration
    if not sequences:
        what = "no MIDI files (.mid, .midi)" if not candidates else "no usable MIDI files"
        raise DatasetError(f"The folder '{root}' has {what}.\n{report.to_text()}")
    return sequences, report


def held_out_files(count: int, fraction: float = 0.1) -> int:
    """How many of ``count`` files (the last ones) a music trainer holds out for validation: ~10%, at
    least one from two files on, so a piece never sits on both sides of the split."""
    return 0 if count < 2 else max(1, round(count * fraction))
