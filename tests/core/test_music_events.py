"""Token encodings: performance events, the JSB grid and melody phrases survive a round trip, and any
token soup a model emits decodes to valid notes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from genstudio.core.data.midi import read_midi, write_midi
from genstudio.core.data.music_events import (
    GRID_REST,
    GRID_VOCAB,
    MELODY_HOLD,
    MELODY_REST,
    MELODY_VOCAB,
    NOTE_OFF_OFFSET,
    PERFORMANCE_END,
    PERFORMANCE_EVENTS,
    PERFORMANCE_PAD,
    PERFORMANCE_START,
    PERFORMANCE_VOCAB,
    TIME_SHIFT_OFFSET,
    VELOCITY_OFFSET,
    decode_performance,
    encode_performance,
    grid_to_sequence,
    jsb_tokens,
    load_jsb,
    melody_phrases,
    phrase_to_sequence,
    sequence_to_grid,
    velocity_bin,
)
from genstudio.core.errors import DatasetError
from genstudio.core.notes import Note, NoteSequence

JSB_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "jsb"
STEP = 0.01  # one TIME_SHIFT step


def random_performance(rng: np.random.Generator, count: int = 60) -> NoteSequence:
    """Piano notes at arbitrary (unquantised) times, with no two of one pitch overlapping."""
    notes: list[Note] = []
    for _ in range(count):
        pitch, start = int(rng.integers(21, 109)), float(rng.uniform(0, 20))
        end = start + float(rng.uniform(0.02, 3.0))
        if not any(n.pitch == pitch and n.start < end + 0.05 and start < n.end + 0.05 for n in notes):
            notes.append(Note(pitch, start, end, int(rng.integers(1, 128))))
    return NoteSequence(notes, tempo=110.0)


# --- performance events --------------------------------------------------------------------------


def test_vocabulary_layout():
    assert (NOTE_OFF_OFFSET, TIME_SHIFT_OFFSET, VELOCITY_OFFSET, PERFORMANCE_EVENTS) == (128, 256, 356, 388)
    assert (PERFORMANCE_PAD, PERFORMANCE_START, PERFORMANCE_END, PERFORMANCE_VOCAB) == (388, 389, 390, 391)


def test_midi_to_events_to_midi_keeps_every_note(tmp_path):
    seq = random_performance(np.random.default_rng(0))
    from_file = read_midi(write_midi(seq, tmp_path / "in.mid"))
    tokens = encode_performance(from_file)
    assert all(0 <= t < PERFORMANCE_EVENTS for t in tokens)
    back = read_midi(write_midi(decode_performance(tokens, tempo=from_file.tempo), tmp_path / "out.mid"))
    assert back.tempo == pytest.approx(110.0)
    key = lambda n: (n.pitch, n.start)  # noqa: E731
    originals, decoded = sorted(seq.notes, key=key), sorted(back.notes, key=key)
    assert len(originals) == len(decoded) > 30
    for a, b in zip(originals, decoded):
        assert a.pitch == b.pitch
        assert abs(a.start - b.start) <= STEP and abs(a.end - b.end) <= STEP, (a, b)
        assert velocity_bin(a.velocity) == velocity_bin(b.velocity)


def test_long_gaps_become_several_time_shifts_and_velocity_is_sent_only_when_it_changes():
    seq = NoteSequence([Note(60, 0.0, 0.5, 64), Note(62, 2.75, 3.0, 63), Note(64, 3.0, 3.5, 100)])
    tokens = encode_performance(seq)
    bin_64, bin_100 = VELOCITY_OFFSET + velocity_bin(64), VELOCITY_OFFSET + velocity_bin(100)
    assert velocity_bin(64) == velocity_bin(63)
    assert tokens == [bin_64, 60, TIME_SHIFT_OFFSET + 49, NOTE_OFF_OFFSET + 60,
                      TIME_SHIFT_OFFSET + 99, TIME_SHIFT_OFFSET + 99, TIME_SHIFT_OFFSET + 24, 62,
                      TIME_SHIFT_OFFSET + 24, NOTE_OFF_OFFSET + 62, bin_100, 64,
                      TIME_SHIFT_OFFSET + 49, NOTE_OFF_OFFSET + 64]


def test_drums_are_left_out_and_tiny_notes_keep_one_step():
    seq = NoteSequence([Note(36, 0.0, 0.1, is_drum=True), Note(60, 0.0, 0.001)])
    decoded = decode_performance(encode_performance(seq)).notes
    assert [(n.pitch, n.start, n.end, n.is_drum) for n in decoded] == [(60, 0.0, 0.01, False)]


def test_decoding_forgives_what_a_model_may_emit():
    tokens = [PERFORMANCE_START, NOTE_OFF_OFFSET + 50,  # off with no on: ignored
              60, TIME_SHIFT_OFFSET + 9, 60,  # re-struck: two notes
              PERFORMANCE_PAD, 72, 72,  # same instant twice: one note
              TIME_SHIFT_OFFSET + 9, PERFORMANCE_END, 999, -3]  # unclosed notes end here; junk ignored
    notes = decode_performance(tokens, program=5).notes
    assert [(n.pitch, n.start, n.end, n.program) for n in notes] == [
        (60, 0.0, 0.1, 5), (60, 0.1, 0.2, 5), (72, 0.1, 0.2, 5)]


def test_random_token_soup_never_crashes():
    rng = np.random.default_rng(1)
    for length in (0, 1, 7, 500, 3000):
        tokens = rng.integers(-5, PERFORMANCE_VOCAB + 10, size=length)
        seq = decode_performance(tokens)
        assert all(n.end > n.start >= 0 and 1 <= n.velocity <= 127 for n in seq.notes)
        encode_performance(seq)  # and whatever came out encodes again
        assert all(n.end > n.start for n in phrase_to_sequence(rng.integers(-3, MELODY_VOCAB + 3, 64)).notes)
        assert all(n.end > n.start for n in grid_to_sequence(rng.integers(-3, GRID_VOCAB + 3, length)).notes)


# --- JSB grid ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def jsb():
    if not (JSB_DIR / "Jsb16thSeparated.json").exists():
        pytest.skip(f"the shared JSB chorales are not at {JSB_DIR} (CI keeps ../shared beside the repo)")
    return load_jsb(JSB_DIR / "Jsb16thSeparated.json")


def test_jsb_has_its_three_splits(jsb):
    assert {k: len(v) for k, v in jsb.items()} == {"train": 229, "valid": 76, "test": 77}
    assert all(c.ndim == 2 and c.shape[1] == 4 for split in jsb.values() for c in split)


def test_jsb_tokens_serialise_satb_per_step(jsb):
    chorale = jsb["train"][0]
    tokens = jsb_tokens(chorale)
    assert len(tokens) == chorale.size and tokens[:4] == chorale[0].tolist()
    assert all(0 <= t < GRID_VOCAB for t in tokens)
    assert jsb_tokens([[60, -1, 55, 40]]) == [60, GRID_REST, 55, 40]


def test_every_chorale_survives_grid_to_sequence_to_grid(jsb):
    for chorale in jsb["valid"] + jsb["test"]:
        seq = grid_to_sequence(jsb_tokens(chorale), tempo=90.0)
        assert seq == grid_to_sequence(chorale, tempo=90.0)
        grid = sequence_to_grid(seq)
        assert len(grid) <= len(chorale)
        for step, row in enumerate(chorale):  # as sets: a unison is one pitch, a voice crossing re-sorts
            got = set(grid[step].tolist()) if step < len(grid) else set()
            assert got - {-1} == set(row.tolist()) - {-1}, step


def test_grid_round_trip_is_exact_without_crossings_or_unisons():
    grid = np.array([[72, 67, 64, 48]] * 4 + [[74, 67, 55, -1]] * 2 + [[72, 64, 60, 48]] * 2)
    seq = grid_to_sequence(grid, tempo=120.0)
    assert len(seq.notes) == 4 + 3 + 3  # held pitches merged: 67 spans 6 steps
    assert max(n.end for n in seq.notes) == pytest.approx(8 * 0.125)
    assert np.array_equal(sequence_to_grid(seq), grid)


def test_sequence_to_grid_keeps_the_four_highest_pitches_and_leaves_drums_out():
    seq = NoteSequence([Note(p, 0.0, 0.25) for p in (40, 50, 60, 70, 80)] + [Note(36, 0.0, 0.5, is_drum=True)],
                       tempo=60.0)
    assert sequence_to_grid(seq).tolist() == [[80, 70, 60, 50]]
    assert sequence_to_grid(NoteSequence()).shape == (0, 4)


def test_load_jsb_explains_a_wrong_file(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_jsb(tmp_path / "nothing.json")
    (tmp_path / "bad.json").write_text('{"train": [[[60, 55]]], "valid": [], "test": []}')
    with pytest.raises(DatasetError, match="not the JSB"):
        load_jsb(tmp_path / "bad.json")


# --- melody phrases ------------------------------------------------------------------------------


def test_melody_phrase_round_trip():
    rng = np.random.default_rng(2)
    for time_signature, tempo in (((4, 4), 120.0), ((3, 4), 96.0), ((6, 8), 150.0)):
        phrase = np.full(32, MELODY_HOLD)
        onsets = np.sort(rng.choice(np.arange(1, 32), size=9, replace=False))
        phrase[0] = 60
        phrase[onsets] = rng.integers(48, 84, size=9)
        phrase[onsets[[2, 6]]] = MELODY_REST  # two rests, lasting until the next onset
        for i in range(1, 32):
            if phrase[i] == MELODY_HOLD and phrase[i - 1] == MELODY_REST:
                phrase[i] = MELODY_REST
        seq = phrase_to_sequence(phrase, tempo=tempo, time_signature=time_signature)
        assert seq.duration <= 2 * seq.seconds_per_bar + 1e-9
        found = melody_phrases(seq, bars=2, max_rest_fraction=1.0)
        assert len(found) == 1 and np.array_equal(found[0], phrase), (time_signature, found, phrase)


def test_melody_takes_the_top_line_and_cuts_bar_aligned_phrases():
    step = 0.125  # a 16th at 120 bpm
    chords = [Note(p, i * 4 * step, (i + 1) * 4 * step) for i in range(16) for p in (48, 55, 64 + i % 5)]
    drums = [Note(80, 0.0, 8.0, is_drum=True)]  # higher than everything but a drum: not melody
    phrases = melody_phrases(NoteSequence(chords + drums), bars=2)
    assert len(phrases) == 2 and all(p.shape == (32,) and p.dtype == np.int64 for p in phrases)
    assert phrases[0][:8].tolist() == [64, MELODY_HOLD, MELODY_HOLD, MELODY_HOLD, 65] + [MELODY_HOLD] * 3
    assert phrases[1][0] == 64 + 8 % 5


def test_phrase_starting_inside_a_held_note_starts_with_that_note_and_silent_phrases_are_left_out():
    seq = NoteSequence([Note(67, 3.0, 5.0), Note(69, 5.0, 8.0)])  # bars of 2 s at 120 bpm
    phrases = melody_phrases(seq, bars=1, max_rest_fraction=0.5)
    assert len(phrases) == 3  # bar 0 is silent, bar 1 half silent (kept), bars 2, 3 full
    assert phrases[0][0] == MELODY_REST and phrases[0][8] == 67
    assert phrases[1][0] == 67 and phrases[1][8] == 69 and phrases[2][0] == 69
    assert len(melody_phrases(seq, bars=1, hop_bars=1, max_rest_fraction=0.4)) == 2
    assert melody_phrases(NoteSequence()) == []
