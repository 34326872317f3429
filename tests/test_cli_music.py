"""The music commands: generate continues a MIDI primer into a .mid (and a .wav), interpolate writes the
steps between two melodies; wrong flags are refused with a sentence."""

from __future__ import annotations

import wave

import pytest

from genstudio.cli import main
from genstudio.core.data.midi import read_midi, write_midi
from genstudio.core.notes import Note, NoteSequence
from genstudio.core.store import ModelStore
from genstudio.core.synth import frame_count
from tests.tasks.test_compose import primer_piece, save_music_model


@pytest.fixture
def primer_file(tmp_path):
    return write_midi(primer_piece(), tmp_path / "primer.mid")


def test_generate_continues_a_primer_into_midi_and_wav(tmp_path, primer_file, capsys):
    save_music_model(ModelStore(), "music-transformer", "mt")
    out, wav = tmp_path / "out.mid", tmp_path / "out.wav"
    assert main(["generate", "--model", "mt", "--primer", str(primer_file), "--bars", "2", "--seed", "1",
                 "-o", str(out), "--wav", str(wav)]) == 0
    result = read_midi(out)
    primer = primer_piece()
    assert [(n.pitch, round(n.start, 2)) for n in result.notes[:4]] == [(n.pitch, round(n.start, 2)) for n in primer.notes]
    assert len(result.notes) > len(primer.notes) and result.duration <= primer.duration + 4.0 + 0.01
    with wave.open(str(wav)) as w:
        assert w.getnframes() == frame_count(result.duration, w.getframerate())
    assert "new notes" in capsys.readouterr().err


def test_interpolate_writes_each_step_and_the_whole(tmp_path):
    save_music_model(ModelStore(), "music-vae", "vae")
    a = write_midi(NoteSequence([Note(60 + i % 5, i * 0.25, i * 0.25 + 0.25) for i in range(16)]), tmp_path / "a.mid")
    b = write_midi(NoteSequence([Note(70 - i % 3, i * 0.25, i * 0.25 + 0.25) for i in range(16)]), tmp_path / "b.mid")
    out = tmp_path / "blend"
    assert main(["interpolate", "--model", "vae", str(a), str(b), "--steps", "3", "-o", str(out), "--wav"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["all.mid", "all.wav", "step_00.mid", "step_00.wav", "step_01.mid", "step_01.wav",
                     "step_02.mid", "step_02.wav"]


def test_wrong_flags_are_refused_with_a_sentence(tmp_path, primer_file, capsys):
    save_music_model(ModelStore(), "music-transformer", "mt")
    assert main(["generate", "--model", "mt", "--guidance", "3", "-o", str(tmp_path / "x.mid")]) == 1
    assert "not for music models" in capsys.readouterr().err
    assert main(["generate", "--model", "mt", "--bars", "2", "--seconds", "3"]) == 1
    assert "not both" in capsys.readouterr().err
    assert main(["generate", "--model", "mt", "--track", "1"]) == 1
    assert "primer" in capsys.readouterr().err
    broken = tmp_path / "broken.mid"
    broken.write_bytes(b"MThd\x00\x00")
    assert main(["generate", "--model", "mt", "--primer", str(broken)]) == 1
    assert "broken.mid" in capsys.readouterr().err
    assert not (tmp_path / "x.mid").exists()
