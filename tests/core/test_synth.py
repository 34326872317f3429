"""The built-in synthesizer: lengths, loudness, pitch of every voice, the limiter, and WAV files."""

from __future__ import annotations

import math
import sys
import time
import wave

import numpy as np
import pytest

from genstudio.core import synth
from genstudio.core.notes import Note, NoteSequence

SR = synth.SAMPLE_RATE
PITCHED = [name for name in synth.VOICES if name != "drums"]


def a4(voice_program: int = 0, velocity: int = 100, seconds: float = 1.0) -> NoteSequence:
    return NoteSequence([Note(69, 0.0, seconds, velocity, program=voice_program)])


def dominant_hz(audio: np.ndarray, sample_rate: int = SR) -> float:
    """The strongest frequency, to 1/8 Hz (zero-padded FFT of the Hann-windowed first second)."""
    x = audio[:sample_rate].astype(np.float64) * np.hanning(min(len(audio), sample_rate))
    spectrum = np.abs(np.fft.rfft(x, 8 * sample_rate))
    return float(np.argmax(spectrum)) / 8


def read_wav(path) -> tuple[wave._wave_params, np.ndarray]:
    with wave.open(str(path), "rb") as w:
        params = w.getparams()
        frames = np.frombuffer(w.readframes(params.nframes), dtype="<i2")
    return params, frames


def test_frame_count_is_duration_plus_tail():
    assert synth.frame_count(1.5, 44100) == math.ceil((1.5 + synth.TAIL_S) * 44100) == 110250
    assert synth.frame_count(0.1, 44100) == 48510  # 1.1 * 44100 is 48510.000000000004 in floats
    assert synth.frame_count(0.0, 22050) == 22050


def test_wav_export_has_the_documented_length_and_parses_back(tmp_path):
    seq = NoteSequence([Note(60, 0.0, 0.5), Note(64, 0.5, 1.25, program=40), Note(36, 1.0, 1.1, is_drum=True)])
    audio = synth.render(seq)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) == synth.frame_count(1.25, SR) == 99225
    out = tmp_path / "out"
    out.mkdir()
    path = synth.write_wav(audio, out / "piece.wav")
    params, frames = read_wav(path)
    assert (params.nchannels, params.sampwidth, params.framerate, params.nframes) == (1, 2, SR, len(audio))
    np.testing.assert_allclose(frames / 32767, audio, atol=1 / 32767)
    assert path.read_bytes() == synth.wav_bytes(audio)
    assert [p.name for p in out.iterdir()] == ["piece.wav"]  # no temp file left behind


def test_stereo_audio_writes_two_channels(tmp_path):
    stereo = np.stack([np.linspace(-1, 1, 100), np.zeros(100)], axis=1)
    params, frames = read_wav(synth.write_wav(stereo, tmp_path / "s.wav", sample_rate=8000))
    assert (params.nchannels, params.nframes, params.framerate) == (2, 100, 8000)
    assert frames[0] == -32767 and frames[-2] == 32767 and not frames[1::2].any()


def test_empty_sequence_is_a_valid_short_silence(tmp_path):
    audio = synth.render(NoteSequence())
    assert len(audio) == synth.frame_count(0.0, SR) and not audio.any()
    params, frames = read_wav(synth.write_wav(audio, tmp_path / "empty.wav"))
    assert params.nframes == len(audio) and not frames.any()
    assert synth.wav_bytes(np.zeros(0, np.float32)).startswith(b"RIFF")


def test_forty_loud_notes_at_once_never_clip():
    notes = [Note(30 + i, 0.0, 1.0, 127, program=(i * 8) % 128) for i in range(40)]
    notes += [Note(36 + i % 12, 0.0, 0.2, 127, is_drum=True) for i in range(10)]
    audio = synth.render(NoteSequence(notes), gain=1.0)
    assert np.isfinite(audio).all()
    assert np.abs(audio).max() <= synth.CEILING + 1e-6
    assert np.sqrt(np.mean(audio[: SR // 2] ** 2)) > 0.1  # turned down, not silenced
    assert np.abs(np.frombuffer(synth.wav_bytes(audio)[44:], "<i2")).max() < 32767


def test_limiter_leaves_quiet_audio_alone_and_only_touches_the_loud_part():
    t = np.arange(SR * 2) / SR
    quiet = 0.2 * np.sin(2 * np.pi * 220 * t)
    np.testing.assert_array_equal(synth.limit(quiet, SR), quiet)
    loud = quiet.copy()
    loud[SR:] *= 20  # the second second is far too loud
    limited = synth.limit(loud, SR)
    assert np.abs(limited).max() <= synth.CEILING
    np.testing.assert_allclose(limited[: SR - SR // 10], quiet[: SR - SR // 10])  # well before it: untouched
    assert np.abs(limited[SR + SR // 10:]).max() > 0.8 * synth.CEILING


@pytest.mark.parametrize("name", PITCHED)
def test_each_voice_sounds_at_the_right_pitch(name):
    audio = synth.render(a4(), voice=name)
    assert np.isfinite(audio).all()
    assert np.sqrt(np.mean(audio**2)) > 0.01
    assert dominant_hz(audio) == pytest.approx(440.0, abs=2.0)


@pytest.mark.parametrize("name", PITCHED)
def test_each_voice_is_in_tune_an_octave_and_a_fifth_away(name):
    seq = NoteSequence([Note(69 - 12 + 7, 0.0, 1.0, 100)])  # E4
    assert dominant_hz(synth.render(seq, voice=name)) == pytest.approx(synth.midi_to_hz(64), abs=2.0)


@pytest.mark.parametrize("pitch", [35, 36, 37, 38, 39, 40, 42, 45, 46, 49, 51, 56, 81])
def test_drum_kit_pieces_are_finite_short_and_audible(pitch):
    note = Note(pitch, 0.0, 0.05, 110, is_drum=True)
    sound = synth.VOICES["drums"].render(note, SR)
    assert np.isfinite(sound).all() and np.abs(sound).max() > 0.1
    assert len(sound) <= synth.TAIL_S * SR  # fits in the tail after the last note


def test_kick_snare_and_hat_differ():
    def sound(pitch):
        return synth.VOICES["drums"].render(Note(pitch, 0.0, 0.1, 100, is_drum=True), SR)[: SR // 10]

    kick, snare, hat = sound(36), sound(38), sound(42)
    assert dominant_hz(kick) < 200 < dominant_hz(hat)  # the kick booms, the hat hisses
    assert not np.allclose(kick, snare) and not np.allclose(snare, hat)


def test_voice_for_follows_the_general_midi_families():
    assert [synth.voice_for(p) for p in (0, 9, 16, 25, 33, 41, 48, 56, 66, 73, 81, 89, 105)] == [
        "piano", "mallet", "organ", "pluck", "bass", "strings", "strings", "lead", "lead", "organ", "lead",
        "strings", "pluck"]
    assert synth.voice_for(0, is_drum=True) == "drums"
    assert {synth.voice_for(p) for p in range(128)} <= set(synth.VOICES)
    assert all(v.release <= synth.TAIL_S for v in synth.VOICES.values())


def test_voice_override_keeps_drums_and_rejects_unknown_names():
    seq = NoteSequence([Note(69, 0.0, 0.5, program=0), Note(38, 0.0, 0.1, is_drum=True)])
    organ = synth.render(seq, voice="organ")
    only_drum = synth.render(seq.with_notes([seq.notes[1]]), voice="organ")
    only_organ = synth.render(seq.with_notes([seq.notes[0]]), voice="organ")
    only_drum = np.pad(only_drum, (0, len(organ) - len(only_drum)))  # it ends sooner, so its render is shorter
    np.testing.assert_allclose(organ, only_drum + only_organ, atol=1e-6)  # well under the limiter: it adds
    with pytest.raises(ValueError, match="voices are"):
        synth.render(seq, voice="theremin")


def test_velocity_sets_loudness_and_render_is_deterministic():
    loud, soft = synth.render(a4(velocity=120)), synth.render(a4(velocity=40))
    assert np.sqrt(np.mean(loud**2)) > 4 * np.sqrt(np.mean(soft**2))
    seq = NoteSequence([Note(50, 0.1, 0.6, program=25), Note(42, 0.2, 0.3, is_drum=True)])
    np.testing.assert_array_equal(synth.render(seq), synth.render(seq))


def test_notes_start_where_they_should():
    audio = synth.render(NoteSequence([Note(69, 0.5, 1.0, program=16)]))  # organ: no noise, quick attack
    first = np.flatnonzero(np.abs(audio) > 1e-4)[0]
    assert abs(first - 0.5 * SR) < 0.002 * SR


def test_write_is_atomic(tmp_path, monkeypatch):
    (tmp_path / "out").mkdir()
    path = tmp_path / "out" / "take.wav"
    synth.write_wav(np.zeros(10), path)
    before = path.read_bytes()

    def crash(target, audio, sample_rate):
        target.write(b"RIFF half a file")
        raise OSError("disk full")

    monkeypatch.setattr(synth, "_write_wave", crash)
    with pytest.raises(OSError, match="disk full"):
        synth.write_wav(np.ones(1000), path)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["take.wav"]


def test_soundfont_without_pyfluidsynth_falls_back_to_the_built_in_voices(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "fluidsynth", None)  # makes `import fluidsynth` raise ImportError
    seq = a4(seconds=0.3)
    np.testing.assert_array_equal(synth.render(seq, soundfont=tmp_path / "missing.sf2"), synth.render(seq))


def test_rendering_is_faster_than_real_time():
    notes = [Note(48 + (i * 7) % 24, i * 0.25, i * 0.25 + 0.5, 90, program=(i % 4) * 8) for i in range(40)]
    seq = NoteSequence(notes)
    started = time.process_time()
    audio = synth.render(seq)
    spent = time.process_time() - started
    assert spent < 0.5 * len(audio) / SR  # in practice ~100× real time; loose for a busy test machine
