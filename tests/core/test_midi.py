"""MIDI files: tempo maps, tracks and drums, awkward note streams, bad files, atomic writes, folders."""

from __future__ import annotations

import io
import os

import mido
import pytest

from genstudio.core.data import midi
from genstudio.core.data.midi import (
    MidiDatasetReport,
    MidiFileError,
    MidiWriteError,
    format_duration,
    load_midi_folder,
    midi_bytes,
    midi_tracks,
    read_midi,
    write_midi,
)
from genstudio.core.errors import DatasetError, GenStudioError
from genstudio.core.notes import Note, NoteSequence


@pytest.fixture
def work(tmp_path):
    """A folder of our own: the shared conftest puts a GenStudio home in ``tmp_path``."""
    folder = tmp_path / "music"
    folder.mkdir()
    return folder


def save(path, tracks, file_type=1, ticks_per_beat=480):
    """Write raw mido tracks, given as lists of messages with delta times."""
    mid = mido.MidiFile(type=file_type, ticks_per_beat=ticks_per_beat)
    for messages in tracks:
        mid.tracks.append(mido.MidiTrack(messages))
    mid.save(path)
    return path


def on(pitch, time=0, velocity=64, channel=0):
    return mido.Message("note_on", note=pitch, velocity=velocity, time=time, channel=channel)


def off(pitch, time=0, channel=0):
    return mido.Message("note_off", note=pitch, velocity=0, time=time, channel=channel)


def tempo(bpm, time=0):
    return mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=time)


def simple(work, name="song.mid"):
    return save(work / name, [[on(60), off(60, 480)]])


def band() -> NoteSequence:
    return NoteSequence([
        Note(60, 0.0, 0.5, 100, program=0), Note(64, 0.5, 1.0, 70, program=0),
        Note(40, 0.0, 1.0, 90, program=33), Note(36, 0.0, 0.1, 110, is_drum=True),
        Note(42, 0.5, 0.6, 60, is_drum=True),
    ], tempo=100.0, time_signature=(3, 4))


def close(a: float, b: float) -> bool:
    return abs(a - b) < 2e-3  # a tick at 100–120 bpm is about 1 ms


# --- reading ---------------------------------------------------------------------------------------


def test_write_then_read_keeps_notes_tempo_and_time_signature(work):
    seq = band()
    back = read_midi(write_midi(seq, work / "band.mid"))
    assert back.tempo == pytest.approx(100.0) and back.time_signature == (3, 4)
    key = lambda n: (n.start, n.pitch)  # noqa: E731
    for a, b in zip(sorted(seq.notes, key=key), sorted(back.notes, key=key), strict=True):
        assert (a.pitch, a.velocity, a.program, a.is_drum) == (b.pitch, b.velocity, b.program, b.is_drum)
        assert close(a.start, b.start) and close(a.end, b.end)


def test_written_file_is_type_1_with_one_track_per_instrument_and_drums_on_channel_10(work):
    mid = mido.MidiFile(file=io.BytesIO(midi_bytes(band())))
    assert mid.type == 1 and mid.ticks_per_beat == 480
    assert len(mid.tracks) == 4  # conductor + piano + bass + drums
    channels = [{m.channel for m in t if m.type == "note_on"} for t in mid.tracks[1:]]
    assert channels[2] == {9} and 9 not in channels[0] | channels[1] and channels[0] != channels[1]
    assert any(m.type == "set_tempo" for m in mid.tracks[0])


def test_a_sequence_from_a_file_with_a_unicode_name_can_be_written(work):
    seq = NoteSequence([Note(60, 0.0, 1.0)], source=str(work / "ünïcødé 猫.mid"))
    path = write_midi(seq, work / "ünïcødé 猫 (copy).mid")
    assert read_midi(path).notes == seq.notes and midi_tracks(path)[0].startswith("0: ünïcødé ?")


def test_tempo_changes_in_a_conductor_track_are_honoured(work):
    # 120 bpm for 2 beats (1 s), then 60 bpm: a beat takes 1 s
    path = save(work / "t.mid", [[tempo(120), tempo(60, 960)], [on(60), off(60, 480), on(62, 480), off(62, 480)]])
    seq = read_midi(path)
    assert seq.tempo == pytest.approx(120.0)
    first, second = seq.notes
    assert (first.start, first.end) == pytest.approx((0.0, 0.5))
    assert (second.start, second.end) == pytest.approx((1.0, 2.0))


def test_tempo_changes_in_a_type_0_file_are_honoured(work):
    path = save(work / "t0.mid", [[tempo(60), on(60), off(60, 480), tempo(240), on(62), off(62, 480)]],
                file_type=0)
    seq = read_midi(path)
    assert seq.tempo == pytest.approx(60.0)
    assert [t for n in seq.notes for t in (n.start, n.end)] == pytest.approx([0.0, 1.0, 1.0, 1.25])


def test_awkward_note_streams(work):
    path = save(work / "awkward.mid", [[
        on(60), on(60, 240, velocity=90),  # re-struck while sounding: the first note ends at 240
        on(60, 240, velocity=0),  # velocity 0 is a note-off
        on(62), off(62),  # zero length: dropped
        off(70, 10),  # note-off with no note-on: ignored
        on(64, 470),  # never switched off: ends at the end of the track
        mido.MetaMessage("end_of_track", time=480),
    ]])
    notes = read_midi(path).notes
    assert [(n.pitch, n.velocity) for n in notes] == [(60, 64), (60, 90), (64, 64)]
    assert [t for n in notes for t in (n.start, n.end)] == pytest.approx([0.0, 0.25, 0.25, 0.5, 1.0, 1.5])


def test_program_changes_set_each_notes_instrument(work):
    path = save(work / "p.mid", [[mido.Message("program_change", program=40), on(60), off(60, 480),
                                      mido.Message("program_change", program=73), on(62), off(62, 480)]])
    assert [n.program for n in read_midi(path).notes] == [40, 73]


def drum_and_piano(work):
    return save(work / "dp.mid", [
        [mido.MetaMessage("track_name", name="Conductor"), tempo(120)],
        [mido.MetaMessage("track_name", name="Piano"), on(60), off(60, 480), on(64), off(64, 480)],
        [mido.MetaMessage("track_name", name="Kit"), on(36, channel=9), off(36, 120, channel=9)],
    ])


def test_a_chosen_track_and_drum_filters(work):
    path = drum_and_piano(work)
    assert len(read_midi(path).notes) == 3
    assert [n.pitch for n in read_midi(path, track=1).notes] == [60, 64]
    assert [n.pitch for n in read_midi(path, drums="only").notes] == [36]
    assert read_midi(path, drums="only").notes[0].is_drum
    assert all(not n.is_drum for n in read_midi(path, drums="exclude").notes)
    with pytest.raises(MidiFileError, match="no drum notes"):
        read_midi(path, track=1, drums="only")
    with pytest.raises(MidiFileError, match="no track 7"):
        read_midi(path, track=7)
    with pytest.raises(ValueError):
        read_midi(path, drums="maybe")


def test_midi_tracks_describes_each_track(work):
    lines = midi_tracks(drum_and_piano(work))
    assert lines == ["0: Conductor — no notes", "1: Piano — 2 notes, Acoustic Grand Piano",
                     "2: Kit — 1 note, Drums"]


# --- bad files -------------------------------------------------------------------------------------


def bad_files(work) -> dict[str, tuple[str, ...]]:
    """Write one file of each kind of damage; name -> words one of which its reason must contain."""
    data = simple(work, "ok.mid").read_bytes()
    (work / "zero.mid").write_bytes(b"")
    (work / "text.mid").write_text("these are not the notes you are looking for")
    (work / "truncated.mid").write_bytes(data[:-6])
    corrupt = bytearray(data)
    corrupt[22] = 0xF4  # an undefined status byte where the first note-on should be
    (work / "corrupt.mid").write_bytes(bytes(corrupt))
    save(work / "silent.mid", [[tempo(90), mido.MetaMessage("track_name", name="nothing")]])
    return {"zero.mid": ("empty", "0 bytes"), "text.mid": ("not a MIDI file",), "truncated.mid": ("truncated",),
            "corrupt.mid": ("corrupt",), "silent.mid": ("no notes",)}


def test_bad_files_raise_a_clear_error(work):
    for name, words in bad_files(work).items():
        with pytest.raises(MidiFileError) as caught:
            read_midi(work / name)
        message = str(caught.value)
        assert isinstance(caught.value, GenStudioError) and name in message
        assert any(word in message for word in words), message
    with pytest.raises(MidiFileError, match="does not exist"):
        read_midi(work / "nowhere.mid")


def test_files_over_the_size_limit_are_refused(work, monkeypatch):
    path = simple(work)
    monkeypatch.setattr(midi, "MAX_MIDI_BYTES", 10)
    with pytest.raises(MidiFileError, match="over"):
        read_midi(path)


# --- writing ---------------------------------------------------------------------------------------


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(work, monkeypatch):
    target = work / "keep.mid"
    target.write_bytes(b"old contents")

    def disk_full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(midi.os, "fsync", disk_full)
    with pytest.raises(MidiWriteError, match="No space left"):
        write_midi(band(), target)
    assert target.read_bytes() == b"old contents"
    assert os.listdir(work) == ["keep.mid"]
    with pytest.raises(MidiWriteError):
        write_midi(band(), work / "new.mid")
    assert os.listdir(work) == ["keep.mid"]


# --- folders ---------------------------------------------------------------------------------------


def test_folder_loads_good_files_and_lists_bad_ones(work):
    bad = bad_files(work)
    (work / "sub" / "deeper").mkdir(parents=True)
    write_midi(band(), work / "sub" / "deeper" / "BAND.MID")
    simple(work, "sub/other.midi")
    (work / "readme.txt").write_text("not scanned")
    sequences, report = load_midi_folder(work)
    assert isinstance(report, MidiDatasetReport)
    assert len(sequences) == 3 and len(report.used) == 3  # ok.mid, BAND.MID, other.midi
    assert {os.path.basename(s.path) for s in report.skipped} == set(bad)
    for item in report.skipped:
        assert any(word in item.reason for word in bad[os.path.basename(item.path)]), item
    assert report.note_count == 1 + 5 + 1
    assert report.seconds == pytest.approx(0.5 + 1.0 + 0.5, abs=0.01)
    text = report.to_text()
    assert "7 notes" in text and "2 s of music" in text and "skipped" in text and "truncated" in text
    assert report.summary()["midi_files"] == 3 and report.summary()["notes"] == 7


def test_folder_with_a_chosen_track_skips_files_without_it(work):
    drum_and_piano(work)
    simple(work, "one_track.mid")
    sequences, report = load_midi_folder(work, track=2, drums="only")
    assert len(sequences) == 1 and "no track 2" in report.skipped[0].reason


def test_missing_or_unusable_folder_is_a_dataset_error(work):
    with pytest.raises(DatasetError, match="does not exist"):
        load_midi_folder(work / "nowhere")
    with pytest.raises(DatasetError, match="no MIDI files"):
        load_midi_folder(work)
    (work / "zero.mid").write_bytes(b"")
    with pytest.raises(DatasetError, match="no usable MIDI files") as caught:
        load_midi_folder(work)
    assert "zero.mid" in str(caught.value)
    with pytest.raises(DatasetError, match="is a file"):
        load_midi_folder(work / "zero.mid")


def test_format_duration():
    assert [format_duration(s) for s in (0.4, 45, 750, 7500)] == ["0 s", "45 s", "12 min 30 s", "2 h 5 min"]
