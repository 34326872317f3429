"""The Music canvas: models by capability, MIDI primers dropped or opened, continuing them (one undo
step, Stop), blending with a MusicVAE, playing with a fake sound device (or none), exporting MIDI and
WAV, dragging the notes out; and once with a real tiny model from the library."""

from __future__ import annotations

import time
import wave
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402

from genstudio.core import synth  # noqa: E402
from genstudio.core.data.midi import read_midi, write_midi  # noqa: E402
from genstudio.core.events import Progress  # noqa: E402
from genstudio.core.notes import Note, NoteSequence  # noqa: E402
from genstudio.core.playback import Player  # noqa: E402
from genstudio.core.registry import ArchSpec, Capability  # noqa: E402
from genstudio.core.store import ModelInfo  # noqa: E402

NO_DEVICE = "No sound output device was found; export a WAV file instead."
# On the 1/16 grid at 120 BPM (0.125 s), so a MIDI round trip (480 ticks a beat) keeps the times exactly.
PRIMER = NoteSequence([Note(60, 0.0, 0.5, 90), Note(64, 0.5, 1.0, 80), Note(67, 1.0, 2.0, 70)], tempo=120.0)


def spec(name: str, *capabilities: Capability, modality: str = "music") -> ArchSpec:
    return ArchSpec(name=name, family=name, modality=modality, config_cls=object, builder=lambda c: None,
                    capabilities=frozenset(capabilities), trainer="trainers.music")


TRANSFORMER = spec("music-transformer", Capability.MUSIC)
VAE = spec("music-vae", Capability.MUSIC, Capability.INTERPOLATE)
IMAGES = spec("ddpm", Capability.GENERATE, modality="image")


def entry(name: str, arch: ArchSpec, **config):
    card = {"arch": arch.name, "steps": 1500, "config": config}
    return ModelInfo(name, Path("/nowhere") / name, card, False), arch


ENTRIES = [entry("my-mt", TRANSFORMER, encoding="performance", block_size=256),
           entry("my-vae", VAE, bars=2, steps=32), entry("my-ddpm", IMAGES)]


class FakeCompose:
    """Stands in for ``tasks.compose.compose``: a few Progress events, then the primer and new notes."""

    def __init__(self, events: int = 4, delay: float = 0.0):
        self.events, self.delay = events, delay
        self.requests = []

    def __call__(self, request, device):
        self.requests.append(request)
        for i in range(self.events):
            time.sleep(self.delay)
            yield Progress(i, self.events, stage="compose")
        primer = request.primer or NoteSequence(tempo=request.tempo)
        end = primer.duration
        new = [Note(72 + i, end + i * 0.25, end + (i + 1) * 0.25, 100, generated=True) for i in range(4)]
        return primer.with_notes([n for n in primer.notes if not n.is_drum] + new)


class FakeInterpolate:
    """Stands in for ``tasks.compose.interpolate``: ``steps`` one-note phrases rising from A's pitch."""

    def __init__(self):
        self.requests = []

    def __call__(self, request, device):
        from genstudio.tasks.compose import Blend

        self.requests.append(request)
        yield Progress(0, request.steps, stage="interpolate")
        first = request.a.notes[0].pitch
        phrases = [NoteSequence([Note(first + i, 0.0, 1.0)], tempo=request.a.tempo) for i in range(request.steps)]
        return Blend(phrases, bars=1)


class FakeStream:
    """A sound device stream the test pulls blocks from, as the audio thread would."""

    def __init__(self, sample_rate, channels, fill, finished):
        self.channels, self.fill, self.finished = channels, fill, finished
        self.done = False

    def start(self):
        pass

    def abort(self):
        self.end()

    def close(self):
        pass

    def end(self):
        if not self.done:
            self.done = True
            self.finished()

    def pull(self, frames: int) -> None:
        if self.fill(np.zeros((frames, self.channels), np.float32)):
            self.end()


class FakeDevice:
    def __init__(self):
        self.streams: list[FakeStream] = []

    def __call__(self, *args):
        self.streams.append(FakeStream(*args))
        return self.streams[-1]


def make_canvas(qtbot):
    from genstudio.ui.canvases.music import MusicCanvas
    from genstudio.ui.settings import Settings

    widget = MusicCanvas(Settings())
    qtbot.addWidget(widget)
    widget.resize(1280, 760)
    widget.show()
    qtbot.waitExposed(widget)
    qtbot.waitUntil(lambda: widget.transport.play_button.toolTip() != "Checking for a sound device…", timeout=5000)
    widget.set_models(list(ENTRIES))
    widget.run_compose, widget.run_interpolate = FakeCompose(), FakeInterpolate()
    return widget


@pytest.fixture
def no_audio(monkeypatch):
    from genstudio.ui.widgets import transport

    monkeypatch.setattr(transport, "audio_available", lambda: (False, NO_DEVICE))


@pytest.fixture
def canvas(qtbot, answers, no_audio):
    return make_canvas(qtbot)


def drop(widget, path) -> None:
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    widget.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier))


def finish(qtbot, canvas) -> None:
    qtbot.waitUntil(lambda: canvas.worker is None and canvas.loading is None and canvas.exporting is None,
                    timeout=20_000)


def facts(seq: NoteSequence) -> list[tuple]:
    return [(n.pitch, round(n.start, 4), round(n.end, 4), n.velocity, n.generated) for n in seq.sorted_notes()]


def test_empty_state_until_there_is_a_music_model(canvas, qtbot):
    canvas.set_models([entry("my-ddpm", IMAGES)])
    assert canvas.view.currentWidget() is canvas.empty and canvas.controls.isHidden()
    assert "Train" in canvas.empty_label.text() and "MIDI" in canvas.empty_label.text()
    with qtbot.waitSignal(canvas.go_train, timeout=1000):
        qtbot.mouseClick(canvas.empty_button, Qt.MouseButton.LeftButton)
    canvas.set_models(list(ENTRIES))
    assert canvas.view.currentWidget() is canvas.work and not canvas.controls.isHidden()


def test_music_models_are_listed_and_the_controls_follow_their_capabilities(canvas):
    names = [canvas.model_box.itemData(i) for i in range(canvas.model_box.count())]
    assert names == ["my-mt", "my-vae"]
    assert not canvas.select_model("my-ddpm")
    assert canvas.select_model("my-mt")
    assert canvas.blend_panel.isHidden() and not canvas.options.top_p_box.isHidden()
    assert "performance events" in canvas.model_note.text()
    assert canvas.compose_button.text() == "Compose"  # nothing to continue yet
    canvas.roll.set_sequence(PRIMER)
    assert canvas.compose_button.text() == "Continue"
    assert canvas.select_model("my-vae")
    assert not canvas.blend_panel.isHidden() and canvas.options.top_p_box.isHidden()
    assert canvas.compose_button.text() == "Compose" and "phrases" in canvas.compose_button.toolTip()
    assert "can blend" in canvas.model_box.currentText()


def test_dropping_a_midi_file_makes_it_the_primer(canvas, qtbot, tmp_path):
    path = write_midi(PRIMER, tmp_path / "theme.mid")
    drop(canvas, path)
    finish(qtbot, canvas)
    assert facts(canvas.roll.sequence()) == facts(PRIMER)
    assert canvas.path == path and "theme.mid" in canvas.file_label.text()
    assert "3 notes" in canvas.progress_label.text()
    assert not canvas.roll.undo_stack.canUndo()  # a new document
    assert canvas.export_midi_button.isEnabled() and canvas.drag_handle.isEnabled()


def test_a_file_with_several_tracks_asks_which_to_load(canvas, qtbot, tmp_path, monkeypatch):
    from genstudio.ui.canvases import music

    piano = [Note(60, 0.0, 0.5, program=0), Note(62, 0.5, 1.0, program=0)]
    flute = [Note(79, 0.0, 1.0, program=73)]
    path = write_midi(PRIMER.with_notes(piano + flute), tmp_path / "duet.mid")
    offered = []

    def pick(parent, name, tracks):
        offered.append(tracks)
        return next(t for t in tracks if "Flute" in t)

    monkeypatch.setattr(music, "choose_track", pick)
    drop(canvas, path)
    qtbot.waitUntil(lambda: bool(canvas.roll.sequence().notes) and canvas.loading is None, timeout=10_000)
    assert len(offered[0]) == 2  # the conductor track has no notes: not offered
    assert [(n.pitch, n.program) for n in canvas.roll.sequence().notes] == [(79, 73)]
    monkeypatch.setattr(music, "choose_track", lambda parent, name, tracks: music.ALL_TRACKS)
    canvas.open_path(path)
    finish(qtbot, canvas)
    assert len(canvas.roll.sequence().notes) == 3


def test_a_corrupt_file_warns_and_leaves_the_roll_as_it_was(canvas, qtbot, tmp_path, answers):
    canvas.roll.set_sequence(PRIMER)
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02\x01\xe0MTrk\x00\x00\x10\x00\x90<")
    drop(canvas, bad)
    finish(qtbot, canvas)
    assert answers.warnings and "broken.mid" in answers.warnings[-1][1]
    assert facts(canvas.roll.sequence()) == facts(PRIMER)
    canvas.open_path(tmp_path / "notes.txt")  # not MIDI at all: refused before reading
    assert "not a MIDI file" in answers.warnings[-1][1] and canvas.loading is None


def test_compose_continues_the_roll_as_one_undo_step(canvas, qtbot):
    canvas.select_model("my-mt")
    drums = Note(36, 0.0, 0.1, is_drum=True)
    canvas.roll.set_sequence(PRIMER.with_notes(PRIMER.notes + [drums]))
    canvas.roll.edit_notes([], [Note(48, 0.0, 2.0)], "Add note")  # drawn by hand: part of the primer
    before = facts(canvas.roll.sequence())
    canvas.options.length_box.setValue(4)
    with qtbot.waitSignals([canvas.busy, canvas.busy], timeout=10_000):
        canvas.compose_button.click()
        assert canvas.roll.read_only and not canvas.compose_button.isEnabled() and canvas.stop_button.isEnabled()
    finish(qtbot, canvas)
    request = canvas.run_compose.requests[0]
    assert request.model == "my-mt" and request.bars == 4 and request.seconds == 0
    assert len(request.primer.notes) == 5 and request.tempo == 120
    result = canvas.roll.sequence()
    assert sum(n.generated for n in result.notes) == 4 and drums in result.notes  # the drums stayed
    assert [f for f in facts(result) if not f[4]] == before
    assert "4 new notes" in canvas.progress_label.text() and not canvas.roll.read_only
    assert "Generated (4)" in canvas.tools.legend.text() and canvas.tools.keep_button.isVisible()
    assert canvas.tools.undo_button.toolTip().startswith("Undo Compose")
    canvas.roll.undo()
    assert facts(canvas.roll.sequence()) == before
    canvas.roll.redo()
    assert facts(canvas.roll.sequence()) == facts(result)
    assert canvas.tools.keep_generated()
    assert not any(n.generated for n in canvas.roll.sequence().notes) and canvas.tools.keep_button.isHidden()


def test_compose_from_an_empty_roll_uses_the_tempo_and_the_seconds(canvas, qtbot):
    canvas.select_model("my-mt")
    canvas.options.unit_box.setCurrentIndex(1)
    canvas.options.length_box.setValue(12.5)
    canvas.options.random_seed.setChecked(True)
    canvas.compose()
    finish(qtbot, canvas)
    request = canvas.run_compose.requests[0]
    assert request.primer is None and request.seconds == 12.5 and request.bars == 0
    assert request.seed == canvas.options.seed_box.value()
    assert len(canvas.roll.sequence().notes) == 4


def test_stop_cancels_and_the_roll_stays(canvas, qtbot):
    canvas.select_model("my-mt")
    canvas.roll.set_sequence(PRIMER)
    canvas.run_compose = FakeCompose(events=400, delay=0.01)
    canvas.compose()
    qtbot.waitUntil(lambda: canvas.progress.maximum() == 400, timeout=10_000)
    qtbot.keyClick(canvas.roll, Qt.Key.Key_Escape)  # Esc stops, even in the roll (where it clears the selection)
    assert canvas.progress_label.text() == "Stopping…" and not canvas.stop_button.isEnabled()
    finish(qtbot, canvas)
    assert facts(canvas.roll.sequence()) == facts(PRIMER) and not canvas.roll.undo_stack.canUndo()
    assert canvas.progress_label.text().startswith("Stopped") and canvas.compose_button.isEnabled()


def test_blend_puts_the_phrases_in_the_roll_and_names_them(canvas, qtbot, tmp_path):
    canvas.select_model("my-vae")
    canvas.roll.set_sequence(PRIMER)
    panel = canvas.blend_panel
    assert panel.a.uses_roll() and not panel.blend_button.isEnabled()  # B is still missing
    b = write_midi(PRIMER.with_notes([Note(70, 0.0, 1.0)]), tmp_path / "b.mid")
    drop(panel.b, b)
    assert panel.b.path == b and panel.blend_button.isEnabled()
    panel.steps_box.setValue(4)
    panel.blend_button.click()
    finish(qtbot, canvas)
    request = canvas.run_interpolate.requests[0]
    assert request.steps == 4 and facts(request.a) == facts(PRIMER) and request.b.notes[0].pitch == 70
    bar = PRIMER.seconds_per_bar
    assert [(n.pitch, n.start) for n in canvas.roll.sequence().sorted_notes()] == \
        [(60 + i, i * bar) for i in range(4)]
    assert not canvas.phrases.isHidden() and [canvas.phrases.label(i) for i in range(4)] == ["A", "2", "3", "B"]
    assert canvas.phrases.spans[1] == (bar, 2 * bar)
    canvas.loop_phrase(2)
    assert canvas.roll.loop_range() == (2 * bar, 3 * bar) and canvas.transport.loop_button.isChecked()
    canvas.roll.undo()  # the blend goes, and its names with it
    assert canvas.phrases.isHidden() and facts(canvas.roll.sequence()) == facts(PRIMER)
    canvas.roll.redo()
    assert not canvas.phrases.isHidden()


def test_export_midi_writes_what_the_roll_holds(canvas, qtbot, tmp_path, answers):
    canvas.roll.set_sequence(PRIMER)
    canvas.roll.edit_notes([], [Note(65, 2.0, 2.5, 100, generated=True)], "Add note")
    assert canvas.has_unsaved_changes() and "edited" in canvas.file_label.text()
    answers.replies["save_file"] = str(tmp_path / "song")  # no suffix typed: .mid is added
    assert canvas.export_midi()
    back = read_midi(tmp_path / "song.mid")
    assert [f[:4] for f in facts(back)] == [f[:4] for f in facts(canvas.roll.sequence())]
    assert back.tempo == 120 and not canvas.has_unsaved_changes() and "song.mid" in canvas.file_label.text()


def test_export_wav_renders_in_the_background(canvas, qtbot, tmp_path, answers):
    canvas.roll.set_sequence(PRIMER)
    answers.replies["save_file"] = str(tmp_path / "song.wav")
    assert canvas.export_wav()
    assert not canvas.export_wav_button.isEnabled()  # one at a time
    finish(qtbot, canvas)
    with wave.open(str(tmp_path / "song.wav"), "rb") as wav:
        assert wav.getnframes() == synth.frame_count(PRIMER.duration) and wav.getframerate() == synth.SAMPLE_RATE
    assert "Exported song.wav" in canvas.progress_label.text() and canvas.export_wav_button.isEnabled()


def test_a_full_disk_shows_a_warning_and_nothing_is_lost(canvas, qtbot, tmp_path, answers, monkeypatch):
    canvas.roll.set_sequence(PRIMER)
    old = tmp_path / "song.wav"
    old.write_bytes(b"an earlier export")

    def full(audio, path, sample_rate):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(synth, "write_wav", full)
    answers.replies["save_file"] = str(old)
    canvas.export_wav()
    finish(qtbot, canvas)
    assert answers.warnings[-1][0] == "Could not export WAV" and "disk space" in answers.warnings[-1][1]
    assert old.read_bytes() == b"an earlier export" and facts(canvas.roll.sequence()) == facts(PRIMER)
    answers.replies["save_file"] = str(tmp_path / "missing-folder" / "x.mid")
    assert not canvas.export_midi()
    assert answers.warnings[-1][0] == "Could not export MIDI"


def test_replacing_edited_notes_asks_first(canvas, qtbot, tmp_path, answers):
    canvas.roll.edit_notes([], [Note(50, 0.0, 1.0)], "Add note")
    path = write_midi(PRIMER, tmp_path / "theme.mid")
    answers.replies["choose"] = None  # Cancel: the drawing stays
    drop(canvas, path)
    finish(qtbot, canvas)
    assert [n.pitch for n in canvas.roll.sequence().notes] == [50]
    answers.replies["choose"] = "Don't export"
    drop(canvas, path)
    finish(qtbot, canvas)
    assert facts(canvas.roll.sequence()) == facts(PRIMER)


def test_the_drag_handle_carries_a_midi_file(canvas):
    assert canvas.drag_handle.mime_data() is None  # nothing to drag
    canvas.roll.set_sequence(PRIMER)
    mime = canvas.drag_handle.mime_data()
    path = mime.urls()[0].toLocalFile()
    assert path.endswith(".mid") and facts(read_midi(path)) == facts(PRIMER)


def test_a_new_tempo_keeps_the_notes_on_their_beats(canvas, qtbot):
    canvas.roll.set_sequence(PRIMER)
    canvas.roll.set_loop_range(1.0, 2.0)
    canvas.transport.tempo_box.setValue(60.0)
    canvas.transport.tempo_box.editingFinished.emit()
    seq = canvas.roll.sequence()
    assert seq.tempo == 60 and [(n.start, n.end) for n in seq.notes] == [(0.0, 1.0), (1.0, 2.0), (2.0, 4.0)]
    assert canvas.roll.loop_range() == (2.0, 4.0)
    canvas.roll.undo()
    assert facts(canvas.roll.sequence()) == facts(PRIMER) and canvas.transport.tempo_box.value() == 120


def test_without_a_sound_device_play_is_off_and_says_why(canvas, qtbot):
    canvas.roll.set_sequence(PRIMER)
    transport = canvas.transport
    assert not transport.play_button.isEnabled() and transport.play_button.toolTip() == NO_DEVICE
    assert transport.audio_label.isVisible()
    assert "unavailable" in transport.audio_label.text() and "WAV" in transport.audio_label.text()
    qtbot.keyClick(canvas.roll, Qt.Key.Key_Space)
    assert not transport.playing and transport.pending is None


def test_play_renders_off_the_ui_thread_and_the_playhead_follows(qtbot, answers, monkeypatch):
    from genstudio.ui.widgets import transport as transport_module

    monkeypatch.setattr(transport_module, "audio_available", lambda: (True, "Test output"))
    canvas = make_canvas(qtbot)
    device = FakeDevice()
    transport = canvas.transport
    transport.make_player = lambda on_finished: Player(device, on_finished=on_finished)
    assert not transport.play_button.isEnabled()  # nothing to play yet
    canvas.roll.set_sequence(PRIMER)
    assert transport.play_button.isEnabled() and "Test output" in transport.play_button.toolTip()
    assert transport.audio_label.isHidden()
    qtbot.keyClick(canvas.roll, Qt.Key.Key_Space)
    assert transport.pending == 0.0 and "Rendering" in transport.play_button.text()
    qtbot.waitUntil(lambda: transport.playing, timeout=10_000)
    assert "Stop" in transport.play_button.text()
    device.streams[-1].pull(synth.SAMPLE_RATE // 2)  # the device takes half a second of sound
    qtbot.waitUntil(lambda: abs((canvas.roll.playhead() or 0) - 0.5) < 1e-6, timeout=2000)
    assert transport.time_label.text().startswith("0:00.5 / 0:02.0")
    canvas.roll.seek(1.5)  # a click on the ruler
    assert transport.player.position == pytest.approx(1.5)
    device.streams[-1].pull(synth.SAMPLE_RATE * 10)  # to the end: finished comes from the "audio thread"
    qtbot.waitUntil(lambda: not transport.playing and "Play" in transport.play_button.text(), timeout=2000)
    assert canvas.roll.playhead() == pytest.approx(1.5)  # back where Play started
    canvas.roll.set_loop_range(0.5, 1.0)
    transport.loop_button.setChecked(True)
    transport.toggle_play()  # audio is rendered already: plays at once, looping
    assert transport.playing and transport.player._loop == (synth.SAMPLE_RATE // 2, synth.SAMPLE_RATE)
    qtbot.keyClick(canvas.roll, Qt.Key.Key_Space)
    assert not transport.playing and "Play" in transport.play_button.text()


def test_the_choices_are_remembered(canvas, qtbot):
    from genstudio.ui.canvases.music import MusicCanvas

    canvas.select_model("my-vae")
    canvas.options.unit_box.setCurrentIndex(1)
    canvas.options.length_box.setValue(20)
    canvas.options.temperature_box.setValue(0.7)
    canvas.options.seed_box.setValue(1234)
    canvas.transport.loop_button.setChecked(True)
    canvas.save_choices()
    again = MusicCanvas(canvas.settings)
    qtbot.addWidget(again)
    again.set_models(list(ENTRIES))
    assert again.model_box.currentData() == "my-vae"
    assert again.options.values() == {"bars": 0.0, "seconds": 20.0, "temperature": 0.7, "top_p": 0.95, "seed": 1234}
    assert again.transport.loop_button.isChecked()


def test_a_real_tiny_music_transformer_continues_a_primer(canvas, qtbot):
    """The real task and model (a tiny, untrained Music Transformer in the library), through the worker."""
    pytest.importorskip("torch")
    from genstudio.core.data.music_events import ENCODINGS
    from genstudio.core.registry import get
    from genstudio.core.store import ModelStore
    from genstudio.ui.canvases import music
    from tests.util import save_tiny_model

    enc = ENCODINGS["performance"]
    store = ModelStore()
    save_tiny_model("music-transformer", "tiny-mt", store, steps=5, vocab_size=enc.vocab_size,
                    start_token=enc.start, end_token=enc.end)
    info = next(m for m in store.list()[0] if m.name == "tiny-mt")
    canvas.set_models([(info, get(info.arch))])
    canvas.run_compose = music.compose
    canvas.roll.set_sequence(PRIMER)
    canvas.options.length_box.setValue(1)
    canvas.options.temperature_box.setValue(1.0)
    canvas.compose()
    finish(qtbot, canvas)
    result = canvas.roll.sequence()
    assert [f for f in facts(result) if not f[4]] == facts(PRIMER)  # the primer is kept as it was
    new = [n for n in result.notes if n.generated]
    assert all(PRIMER.duration - 1e-6 <= n.start < PRIMER.duration + PRIMER.seconds_per_bar for n in new)
    assert canvas.progress_label.text() != "Failed."
