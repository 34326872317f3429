"""The music trainer: folders of MIDI files become a Music Transformer or a MusicVAE through the one loop,
with validation loss, MIDI previews, an exact resume and a published model."""

from __future__ import annotations

import json
import random
from pathlib import Path

import mido
import pytest
import torch
from safetensors.torch import load_file

from genstudio.core.data import music_events as ev
from genstudio.core.data.midi import held_out_files
from genstudio.core.store import ModelStore
from tests.trainers.test_loop import tensors_equal, train_in_process
from trainers import music as musiclib

SCALE = (0, 2, 4, 5, 7, 9, 11, 12)


def make_midi_folder(folder: Path, files: int = 4, bars: int = 8, seed: int = 0) -> Path:
    """``files`` type-1 MIDI files at 120 bpm: a melody of eighth notes on a C major scale over a held
    bass note per bar (learnable, not random); plus one file that is not MIDI, to be skipped."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    beat = 480
    for i in range(files):
        mid = mido.MidiFile(type=1, ticks_per_beat=beat)
        tempo = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(120)),
                                mido.MetaMessage("time_signature", numerator=4, denominator=4)])
        melody, bass = mido.MidiTrack(), mido.MidiTrack()
        root = 60 + rng.choice((0, 2, 5, 7))
        for _ in range(bars * 8):
            pitch = root + rng.choice(SCALE)
            melody.append(mido.Message("note_on", note=pitch, velocity=rng.randint(60, 100), time=0))
            melody.append(mido.Message("note_off", note=pitch, velocity=0, time=beat // 2))
        for _ in range(bars):
            pitch = root - 24 + rng.choice((0, 5, 7))
            bass.append(mido.Message("note_on", channel=1, note=pitch, velocity=70, time=0))
            bass.append(mido.Message("note_off", channel=1, note=pitch, velocity=0, time=4 * beat))
        mid.tracks += [tempo, melody, bass]
        mid.save(folder / f"piece_{i:02d}.mid")
    (folder / "broken.mid").write_bytes(b"not a midi file")
    return folder


def tiny(arch, *extra):
    return [arch, "--preset", "tiny", "--device", "cpu", *extra]


def metrics_of(home: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (home / "runs" / name / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("arch", ["music-transformer", "music-vae"])
def test_a_few_steps_train_validate_preview_midi_and_publish(tmp_path, arch):
    data = make_midi_folder(tmp_path / "midi", files=5)
    home = tmp_path / "home"
    code, events = train_in_process(home, tiny(arch, "--data", str(data), "--name", "m", "--steps", "6",
                                               "--preview-every", "3"))
    assert code == 0, [e for e in events if e.type == "failed"]
    report = next(e.message for e in events if e.type == "log" and e.message.startswith("MIDI folder"))
    assert "5 usable, 1 skipped" in report and "notes" in report and "broken.mid" in report
    assert "4 file(s) for training, 1 held out for validation" in report
    assert [m["step"] for m in metrics_of(home, "m") if "val_loss" in m] == [6]
    previews = [e for e in events if e.type == "preview"]
    assert [p.step for p in previews] == [3, 6] and all(".mid" in p.text for p in previews)
    mids = sorted((home / "runs" / "m" / "previews").glob("*.mid"))
    assert [p.name for p in mids] == ["step_0000003.mid", "step_0000006.mid"]
    mido.MidiFile(mids[0])  # a readable MIDI file
    card, tensors = ModelStore().load("m")
    assert card["arch"] == arch and card["modality"] == "music" and card["steps"] == 6
    assert card["data"]["midi_files"] == 5 and card["data"]["skipped"] == 1 and card["data"]["notes"] > 0
    assert card["metrics"]["val_loss"] > 0 and ".mid" in card["sample_text"]
    vocab = ev.PERFORMANCE_VOCAB if arch == "music-transformer" else ev.MELODY_VOCAB
    assert card["config"]["vocab_size"] == vocab


@pytest.mark.parametrize("arch", ["music-transformer", "music-vae"])
def test_stop_and_resume_equals_uninterrupted_run(tmp_path, arch):
    data = make_midi_folder(tmp_path / "midi", files=3)
    args = tiny(arch, "--data", str(data), "--steps", "8", "--name", "run")
    code, _ = train_in_process(tmp_path / "a", args)
    assert code == 0
    code, events = train_in_process(tmp_path / "b", args, stop_at=5)
    assert code == 0 and events[-1].stopped and events[-1].steps == 5
    code, events = train_in_process(tmp_path / "b", tiny(arch, "--name", "run", "--resume"))
    assert code == 0 and events[-1].steps == 8 and not events[-1].stopped
    a = load_file(tmp_path / "a" / "models" / "run" / "weights.safetensors")
    b = load_file(tmp_path / "b" / "models" / "run" / "weights.safetensors")
    assert tensors_equal(a, b), "the resumed run diverged from the uninterrupted one"


def test_grid_encoding_trains_too(tmp_path):
    data = make_midi_folder(tmp_path / "midi", files=2)
    config = tmp_path / "grid.toml"
    config.write_text('[model]\nencoding = "grid"\n')
    code, events = train_in_process(tmp_path / "home", tiny("music-transformer", "--data", str(data), "--name", "g",
                                                            "--steps", "2", "--config", str(config)))
    assert code == 0, [e for e in events if e.type == "failed"]
    card = ModelStore().get("g").card
    assert card["config"]["vocab_size"] == ev.GRID_VOCAB + 2 and card["data"]["encoding"] == "grid"


def test_a_folder_without_usable_midi_fails_with_a_sentence(tmp_path):
    folder = tmp_path / "empty"
    folder.mkdir()
    (folder / "a.mid").write_bytes(b"junk")
    code, events = train_in_process(tmp_path / "home", tiny("music-vae", "--data", str(folder), "--name", "x"))
    assert code == 1 and "no usable MIDI files" in events[-1].message


def test_transposition_moves_pitch_tokens_only_and_stays_in_range():
    gen = torch.Generator().manual_seed(0)
    ranges = ev.ENCODINGS["performance"].pitch_ranges
    x = torch.tensor([[60, 128 + 60, 300, 370, 389]] * 64 + [[0, 128 + 127, 300, 370, 390]] * 64)
    out = musiclib.transpose(x, 3, ranges, gen)
    shift = out[:, 0] - x[:, 0]
    assert torch.equal(out[:, 1] - x[:, 1], shift) and torch.equal(out[:, 2:], x[:, 2:])
    assert shift[:64].abs().max() == 3 and len(shift[:64].unique()) == 7  # every shift in ±3 is drawn
    assert torch.all(shift[64:] == 0)  # 0 and 127 together leave no room to move
    assert torch.equal(musiclib.transpose(x, 0, ranges, gen), x)


def test_validation_split_is_by_file():
    assert [held_out_files(n) for n in (1, 2, 9, 10, 25)] == [0, 1, 1, 1, 2]
