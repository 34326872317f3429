"""Token encodings of a ``NoteSequence`` for the music models: performance events, the JSB grid, melody phrases.

Three vocabularies, each with an encoder and a decoder that accepts any token list a model may emit:

* **Performance events** for the Music Transformer: 128 NOTE_ON, 128 NOTE_OFF, 100 TIME_SHIFT (10 ms
  to 1 s) and 32 VELOCITY bins, after Oore et al. 2018, "This Time with Feeling" (and Huang et al.
  2018, "Music Transformer"). Times are quantised to 10 ms and velocities to bins of 4. Drums are left
  out: the encoding describes a piano-like performance with no instrument, so it has no way to say
  "this pitch is a drum". Ids from ``PERFORMANCE_EVENTS`` on are special tokens (PAD, START, END).
* **A 4-voice 16th-note grid** for Bach chorales (JSB Chorales, Boulanger-Lewandowski et al. 2012, in
  the 16th-note form of Coconet, Huang et al. 2017): per step the pitches of S, A, T, B, one token each,
  ``GRID_REST`` for a silent voice.
* **Melody phrases** for MusicVAE (Roberts et al. 2018): a fixed number of bars of one monophonic
  line, one token per 16th step: NOTE_ON(pitch), ``MELODY_HOLD`` (keep sounding) or ``MELODY_REST``.

Notes shorter than a step after quantising are given one step, so quantising never drops a note. In
performance events a note that starts on a pitch already sounding re-strikes it (the earlier note
ends there), as a MIDI file reader does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genstudio.core.errors import DatasetError
from genstudio.core.notes import Note, NoteSequence

# --- performance events --------------------------------------------------------------------------------

NOTE_ON_OFFSET = 0  # 0–127: NOTE_ON pitch
NOTE_OFF_OFFSET = 128  # 128–255: NOTE_OFF pitch
TIME_SHIFT_OFFSET = 256  # 256–355: move time forward by (id - 255) × 10 ms, 10 ms to 1 s
VELOCITY_OFFSET = 356  # 356–387: later NOTE_ONs play at the velocity of bin (id - 356)
TIME_SHIFT_STEPS = 100
STEPS_PER_SECOND = 100  # 10 ms steps
VELOCITY_BINS = 32
VELOCITY_BIN_SIZE = 4  # bins of 4 MIDI velocities: 1–4, 5–8, ..., 125–127
PERFORMANCE_EVENTS = 388  # the musical ids; the special tokens follow
PERFORMANCE_PAD = 388  # fills a batch after the end; a decoder ignores it
PERFORMANCE_START = 389  # begins every training sequence and every generation
PERFORMANCE_END = 390  # ends a piece; a decoder ignores it (a sampler stops there)
PERFORMANCE_VOCAB = 391
DEFAULT_VELOCITY = 80  # for notes decoded before any VELOCITY token


def velocity_bin(velocity: int) -> int:
    return (min(max(velocity, 1), 127) - 1) // VELOCITY_BIN_SIZE


def bin_velocity(index: int) -> int:
    """The middle of a velocity bin, so a velocity survives encode/decode within its bin."""
    return min(127, index * VELOCITY_BIN_SIZE + 3)


def _quantised_spans(notes: list[Note], step_seconds: float, restrike: bool) -> list[tuple[int, int, int, int]]:
    """(start step, end step, pitch, velocity), each at least one step long. With ``restrike`` a same-pitch
    overlap is cut where the later note starts (NOTE_ON/NOTE_OFF cannot say which of two is released),
    and a note cut to nothing is dropped; grids, which only ask what sounds, keep overlaps whole."""
    spans: list[list[int]] = []
    last_of_pitch: dict[int, int] = {}
    for note in sorted(notes, key=lambda n: (n.start, n.pitch)):
        start = round(note.start / step_seconds)
        end = max(round(note.end / step_seconds), start + 1)
        prev = last_of_pitch.get(note.pitch)
        if restrike and prev is not None and spans[prev][1] > start:
            spans[prev][1] = start
        last_of_pitch[note.pitch] = len(spans)
        spans.append([start, end, note.pitch, note.velocity])
    return [(s, e, p, v) for s, e, p, v in spans if e > s]


def _time_shifts(steps: int) -> list[int]:
    """A gap of ``steps`` 10 ms steps as TIME_SHIFT tokens: whole seconds first, then the rest."""
    full, rest = divmod(steps, TIME_SHIFT_STEPS)
    return [TIME_SHIFT_OFFSET + TIME_SHIFT_STEPS - 1] * full + ([TIME_SHIFT_OFFSET + rest - 1] if rest else [])


def encode_performance(seq: NoteSequence) -> list[int]:
    """Performance event ids (no START/END: the model adds those). Drum notes are left out."""
    spans = _quantised_spans([n for n in seq.notes if not n.is_drum], 1 / STEPS_PER_SECOND, restrike=True)
    # at one instant note-offs come first, so a re-struck pitch is released before it sounds again
    events = sorted([(end, 0, pitch, 0) for _, end, pitch, _ in spans] +
                    [(start, 1, pitch, velocity) for start, _, pitch, velocity in spans])
    tokens: list[int] = []
    now, current_bin = 0, None
    for step, is_on, pitch, velocity in events:
        tokens += _time_shifts(step - now)
        now = step
        if not is_on:
            tokens.append(NOTE_OFF_OFFSET + pitch)
            continue
        if velocity_bin(velocity) != current_bin:
            current_bin = velocity_bin(velocity)
            tokens.append(VELOCITY_OFFSET + current_bin)
        tokens.append(NOTE_ON_OFFSET + pitch)
    return tokens


def decode_performance(tokens, tempo: float = 120.0, time_signature: tuple[int, int] = (4, 4),
                       program: int = 0) -> NoteSequence:
    """Any token list -> notes. A NOTE_OFF with no NOTE_ON is ignored, notes still sounding at the end
    end there, special and out-of-range ids are ignored, and notes of zero length are dropped."""
    notes: list[Note] = []
    sounding: dict[int, tuple[int, int]] = {}  # pitch -> (start step, velocity)
    now, velocity = 0, DEFAULT_VELOCITY

    def release(pitch: int) -> None:
        start, vel = sounding.pop(pitch)
        if now > start:
            notes.append(Note(pitch, start / STEPS_PER_SECOND, now / STEPS_PER_SECOND, vel, program))

    for token in tokens:
        token = int(token)
        if NOTE_ON_OFFSET <= token < NOTE_OFF_OFFSET:
            pitch = token - NOTE_ON_OFFSET
            if pitch in sounding:
                release(pitch)
            sounding[pitch] = (now, velocity)
        elif NOTE_OFF_OFFSET <= token < TIME_SHIFT_OFFSET:
            if token - NOTE_OFF_OFFSET in sounding:
                release(token - NOTE_OFF_OFFSET)
        elif TIME_SHIFT_OFFSET <= token < VELOCITY_OFFSET:
            now += token - TIME_SHIFT_OFFSET + 1
        elif VELOCITY_OFFSET <= token < PERFORMANCE_EVENTS:
            velocity = bin_velocity(token - VELOCITY_OFFSET)
    for pitch in list(sounding):
        release(pitch)
    return NoteSequence(sorted(notes, key=lambda n: (n.start, n.pitch)), tempo, time_signature)


# --- JSB chorales: a 4-voice 16th-note grid ------------------------------------------------------------

GRID_REST = 128  # a silent voice at this step; tokens 0–127 are pitches
GRID_VOCAB = 129
JSB_VOICES = 4  # soprano, alto, tenor, bass, in that order in every step
JSB_FILE = "Jsb16thSeparated.json"


def load_jsb(path: Path | str) -> dict[str, list[np.ndarray]]:
    """The JSB chorales ("train", "valid", "test"), each a steps×4 int array (S A T B, -1 = silence).
    ``path`` is the JSON file or the folder that holds it."""
    path = Path(path)
    if path.is_dir():
        path = path / JSB_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DatasetError(f"The JSB chorales file '{path}' does not exist.") from None
    except (OSError, ValueError) as err:
        raise DatasetError(f"The JSB chorales file '{path}' cannot be read ({err}).") from None
    splits = {}
    for split in ("train", "valid", "test"):
        try:
            chorales = [np.asarray(chorale, dtype=np.int64) for chorale in raw[split]]
        except (KeyError, TypeError, ValueError):
            raise DatasetError(f"'{path}' is not the JSB chorales file: its '{split}' part is missing "
                               "or not lists of 4 pitches per step.") from None
        for chorale in chorales:
            if chorale.ndim != 2 or chorale.shape[1] != JSB_VOICES or chorale.min() < -1 or chorale.max() > 127:
                raise DatasetError(f"'{path}' is not the JSB chorales file: a '{split}' chorale is not "
                                   "steps of 4 pitches in -1..127.")
        splits[split] = chorales
    return splits


def jsb_tokens(chorale) -> list[int]:
    """A steps×4 grid as one stream: S A T B of step 0, S A T B of step 1, ...; silence is GRID_REST."""
    grid = np.asarray(chorale, dtype=np.int64)
    return np.where((grid >= 0) & (grid <= 127), grid, GRID_REST).reshape(-1).tolist()


def _as_grid(tokens_or_grid, voices: int) -> np.ndarray:
    grid = np.asarray(tokens_or_grid, dtype=np.int64)
    if grid.ndim == 1:  # a token stream; a model may stop mid-step, so a partial last step is dropped
        grid = grid[:len(grid) - len(grid) % voices].reshape(-1, voices)
    return np.where((grid >= 0) & (grid <= 127), grid, -1)


def grid_to_sequence(tokens_or_grid, tempo: float = 120.0, step_seconds: float | None = None, voices: int = 4,
                     velocity: int = DEFAULT_VELOCITY, program: int = 0) -> NoteSequence:
    """A token stream or steps×voices grid -> notes; a voice holding one pitch over several steps is one
    note (the grid cannot tell a held note from a repeated one). Steps are 16ths at ``tempo`` by default."""
    grid = _as_grid(tokens_or_grid, voices)
    step = step_seconds or 60.0 / tempo / 4
    notes = []
    for voice in grid.T:
        start = 0
        for t in range(1, len(voice) + 1):
            if t == len(voice) or voice[t] != voice[start]:
                if voice[start] >= 0:
                    notes.append(Note(int(voice[start]), start * step, t * step, velocity, program))
                start = t
    return NoteSequence(sorted(notes, key=lambda n: (n.start, -n.pitch)), tempo)


def sequence_to_grid(seq: NoteSequence, voices: int = 4) -> np.ndarray:
    """steps×voices grid of 16ths at the sequence's tempo: the ``voices`` highest pitches sounding at each
    step, high to low, -1 where fewer sound (drums left out). For a dropped MIDI primer."""
    spans = _quantised_spans([n for n in seq.notes if not n.is_drum], seq.seconds_per_beat / 4, restrike=False)
    steps = max((end for _, end, _, _ in spans), default=0)
    sounding: list[set[int]] = [set() for _ in range(steps)]
    for start, end, pitch, _ in spans:
        for t in range(start, end):
            sounding[t].add(pitch)
    grid = np.full((steps, voices), -1, dtype=np.int64)
    for t, pitches in enumerate(sounding):
        top = sorted(pitches, reverse=True)[:voices]
        grid[t, :len(top)] = top
    return grid


# --- melody phrases for MusicVAE -----------------------------------------------------------------------

MELODY_HOLD = 128  # the note of the previous step keeps sounding; tokens 0–127 start a note of that pitch
MELODY_REST = 129  # silence
MELODY_VOCAB = 130


def _top_line(seq: NoteSequence, step_seconds: float) -> tuple[np.ndarray, np.ndarray]:
    """Per step: the highest sounding pitch (-1 for none) and which note it belongs to (-1 for none)."""
    spans = _quantised_spans([n for n in seq.notes if not n.is_drum], step_seconds, restrike=False)
    steps = max((end for _, end, _, _ in spans), default=0)
    pitch, owner = np.full(steps, -1, np.int64), np.full(steps, -1, np.int64)
    # painted low to high, so the highest note wins a step; of one pitch, the later note wins (a re-strike)
    for index, (start, end, note_pitch, _) in sorted(enumerate(spans), key=lambda item: (item[1][2], item[1][0])):
        pitch[start:end], owner[start:end] = note_pitch, index
    return pitch, owner


def melody_phrases(seq: NoteSequence, bars: int = 2, steps_per_bar: int = 16, max_rest_fraction: float = 0.5,
                   hop_bars: int | None = None) -> list[np.ndarray]:
    """The top line of the non-drum notes cut into ``bars``-bar phrases of MELODY tokens (int64 arrays of
    bars × steps_per_bar), every ``hop_bars`` bars (default: back to back). A step is 1/steps_per_bar of a
    bar at the sequence's tempo and time signature; phrases more than ``max_rest_fraction`` silent are
    left out, and a phrase that starts inside a held note starts with that note."""
    pitch, owner = _top_line(seq, seq.seconds_per_bar / steps_per_bar)
    tokens = np.where(owner < 0, MELODY_REST, pitch)
    held = (owner >= 0) & (owner == np.concatenate([[-1], owner[:-1]]))
    tokens[held] = MELODY_HOLD
    length, hop = bars * steps_per_bar, (hop_bars or bars) * steps_per_bar
    phrases = []
    for begin in range(0, len(tokens), hop):
        phrase = np.full(length, MELODY_REST, np.int64)
        chunk = tokens[begin:begin + length]
        phrase[:len(chunk)] = chunk
        if phrase[0] == MELODY_HOLD:
            phrase[0] = pitch[begin]
        if np.mean(phrase == MELODY_REST) <= max_rest_fraction:
            phrases.append(phrase)
    return phrases


def phrase_to_sequence(tokens, tempo: float = 120.0, time_signature: tuple[int, int] = (4, 4),
                       steps_per_bar: int = 16, velocity: int = DEFAULT_VELOCITY, program: int = 0) -> NoteSequence:
    """MELODY tokens -> notes. A HOLD with nothing sounding and any id outside the vocabulary are rests."""
    empty = NoteSequence(tempo=tempo, time_signature=time_signature)
    step = empty.seconds_per_bar / steps_per_bar
    notes = []
    current: tuple[int, int] | None = None  # (pitch, start step) of the note sounding
    tokens = [int(t) for t in tokens]
    for t, token in enumerate([*tokens, MELODY_REST]):  # a final rest ends the last note
        if token == MELODY_HOLD and current is not None:
            continue
        if current is not None:
            notes.append(Note(current[0], current[1] * step, t * step, velocity, program))
        current = (token, t) if 0 <= token <= 127 else None
    return empty.with_notes(notes)


# -- the Music Transformer's vocabularies, as its config and the compose task need them ----------------
@dataclass(frozen=True)
class Encoding:
    """A token vocabulary for the Music Transformer, as its config needs it."""

    name: str
    vocab_size: int
    start: int
    end: int
    pitch_ranges: tuple[tuple[int, int], ...]  # (first id, 128): ids that are pitches, for transposition
    encode: Callable[[NoteSequence], list[int]]
    decode: Callable[[list[int], float], NoteSequence]  # tokens (no START/END), tempo -> notes
    unit: str  # what a token is, for the report


GRID_START, GRID_END = GRID_VOCAB, GRID_VOCAB + 1  # the grid has no specials of its own: two more ids

ENCODINGS = {
    "performance": Encoding("performance", PERFORMANCE_VOCAB, PERFORMANCE_START, PERFORMANCE_END,
                            ((NOTE_ON_OFFSET, 128), (NOTE_OFF_OFFSET, 128)), encode_performance,
                            lambda tokens, tempo: decode_performance(tokens, tempo=tempo), "performance events"),
    "grid": Encoding("grid", GRID_VOCAB + 2, GRID_START, GRID_END, ((0, 128),),
                     lambda seq: jsb_tokens(sequence_to_grid(seq)),
                     lambda tokens, tempo: grid_to_sequence([t for t in tokens if t < GRID_VOCAB], tempo=tempo),
                     "grid tokens (4 voices per 16th)"),
}
