"""The Train canvas with the real trainer child process: train, stop, resume, crash, bad folders; and the two
folder pickers of architectures that translate between two domains."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

import warnings  # noqa: E402
from dataclasses import dataclass  # noqa: E402

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDragEnterEvent, QDropEvent  # noqa: E402

from genstudio.core.registry import ArchSpec, Capability  # noqa: E402
from genstudio.core.runs import read_run  # noqa: E402
from genstudio.core.store import ModelStore  # noqa: E402
from tests.util import make_image_folder  # noqa: E402

TRAIN_TIMEOUT = 180_000


def prepare(qtbot, window, folder, name="blobs", preset="tiny", steps=None):
    train = window.train
    window.show_canvas("Train")
    train.preset_box.setCurrentIndex(train.preset_box.findData(preset))
    train.set_folder(str(folder))
    qtbot.waitUntil(lambda: train.scan is not None, timeout=30_000)
    train.name_edit.setText(name)
    if steps:
        train.steps_box.setValue(steps)
    return train


def wait_for_step(qtbot, train, step):
    qtbot.waitUntil(lambda: train.progress.maximum() > 1 and train.progress.value() >= step, timeout=TRAIN_TIMEOUT)


def start_endless_run(qtbot, window, tmp_path, name, until_step=3):
    """A run far too long to finish during the test, already past ``until_step``."""
    train = prepare(qtbot, window, make_image_folder(tmp_path / "data", n=8), name=name, steps=100_000)
    train.start()
    if until_step:
        wait_for_step(qtbot, train, until_step)
    return train


def test_train_tiny_to_completion_and_generate_from_it(window, qtbot, tmp_path, answers):
    train = prepare(qtbot, window, make_image_folder(tmp_path / "data", n=10), name="blobs")
    assert "10 images ready" in train.report_label.text()
    assert train.start_button.isEnabled()
    train.preview_box.setValue(10)
    shown = []
    train.show_preview = lambda path, caption, _orig=train.show_preview: (shown.append(caption), _orig(path, caption))
    with qtbot.waitSignal(train.model_published, timeout=TRAIN_TIMEOUT) as published:
        train.start()
        assert train.stop_button.isEnabled() and not train.start_button.isEnabled()
    assert published.args == ["blobs"]
    qtbot.waitUntil(lambda: train.run is None, timeout=10_000)
    assert "Finished: 'blobs' after 30 steps" in train.progress_label.text()
    assert len(train.plot.steps) > 0 and train.plot.losses[-1] > 0  # the live loss plot got the run
    assert shown[:3] == ["EMA samples at step 10", "EMA samples at step 20", "EMA samples at step 30"]
    assert shown[-1] == "'blobs' in the library" and not train.preview.pixmap().isNull()
    assert ModelStore().get("blobs").card["steps"] == 30
    assert window.library.select("blobs")
    assert window.generate.select_model("blobs")
    assert not answers.warnings


def test_stop_saves_the_model_so_far_and_resume_finishes_it(window, qtbot, tmp_path, answers):
    train = prepare(qtbot, window, make_image_folder(tmp_path / "data", n=8), name="long", steps=400)
    train.start()
    wait_for_step(qtbot, train, 12)
    with qtbot.waitSignal(train.model_published, timeout=TRAIN_TIMEOUT):
        train.stop()
    qtbot.waitUntil(lambda: train.run is None, timeout=10_000)
    stopped_at = ModelStore().get("long").card["steps"]
    assert 12 <= stopped_at < 400 and "Stopped and saved" in train.progress_label.text()
    assert read_run("long").step == stopped_at
    assert train.resume_button.isEnabled() and "stopped at step" in train.name_note.text()

    with qtbot.waitSignal(train.model_published, timeout=TRAIN_TIMEOUT):
        train.resume()
        assert len(train.plot.steps) >= 1  # the curve so far is redrawn from metrics.jsonl
    qtbot.waitUntil(lambda: train.run is None, timeout=10_000)
    assert ModelStore().get("long").card["steps"] == 400
    assert not train.resume_button.isEnabled() and not answers.warnings


def test_a_killed_trainer_is_reported_with_its_log_and_can_be_resumed(window, qtbot, tmp_path, answers):
    train = start_endless_run(qtbot, window, tmp_path, "crashy", until_step=0)
    qtbot.waitUntil(lambda: read_run("crashy") is not None, timeout=TRAIN_TIMEOUT)  # a checkpoint exists
    train.run.kill()
    qtbot.waitUntil(lambda: train.run is None, timeout=20_000)
    title, text = answers.warnings[-1]
    assert title == "Training stopped" and "killed or crashed" in text and "Last lines of its log" in text
    assert "Training 'crashy'" in text  # the trainer's own log lines are shown
    assert train.resume_button.isEnabled()


def test_a_trainer_that_fails_says_why(window, qtbot, tmp_path, answers):
    train = prepare(qtbot, window, make_image_folder(tmp_path / "data", n=4), name="bad")
    train.settings.device = "cuda"  # not on this machine: the trainer refuses with a sentence
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    train.start()
    qtbot.waitUntil(lambda: train.run is None, timeout=TRAIN_TIMEOUT)
    assert answers.warnings[-1][0] == "Training failed"
    assert "not available on this machine" in answers.warnings[-1][1]


def test_dropping_a_bad_folder_shows_the_report_and_blocks_start(window, qtbot, tmp_path):
    train = window.train
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    train.set_folder(str(empty))
    qtbot.waitUntil(lambda: "no image files" in train.report_label.text(), timeout=30_000)
    assert train.scan is None and not train.start_button.isEnabled()

    mixed = make_image_folder(tmp_path / "mixed", n=3)
    (mixed / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    train.set_folder(str(mixed))
    qtbot.waitUntil(lambda: train.scan is not None, timeout=30_000)
    assert "3 images ready" in train.report_label.text() and "1 skipped" in train.report_label.text()
    assert "broken.png" in train.report_text.toPlainText() and train.report_text.isVisibleTo(train)


def test_closing_while_training_can_keep_it_running_and_a_new_window_follows_it(window, qtbot, tmp_path, answers):
    from genstudio.ui.main_window import MainWindow
    from genstudio.ui.training_process import running_trainers

    train = start_endless_run(qtbot, window, tmp_path, "bg")
    process = train.run
    answers.replies["choose"] = "Keep training"
    assert window.close()
    assert process.is_running()  # the trainer outlives the window
    try:
        assert [name for name, _ in running_trainers()] == ["bg"]
        again = MainWindow(window.settings)
        qtbot.addWidget(again)
        again.show()
        qtbot.waitUntil(lambda: again.train.run is not None, timeout=60_000)  # it re-attached
        assert again.stack.currentWidget() is again.train
        qtbot.waitUntil(lambda: again.train.progress.value() > 3, timeout=60_000)
        with qtbot.waitSignal(again.train.model_published, timeout=TRAIN_TIMEOUT):
            again.train.stop()  # through the run folder's stop.request
        assert process.process.waitForFinished(30_000)
        assert ModelStore().get("bg").card["steps"] > 3
    finally:
        process.kill()
        process.process.waitForFinished(10_000)


def test_closing_while_training_with_stop_saves_first(window, qtbot, tmp_path, answers):
    train = start_endless_run(qtbot, window, tmp_path, "closing")
    process = train.run
    answers.replies["choose"] = "Stop and save"
    assert window.close()
    assert not process.is_running()
    assert ModelStore().get("closing").card["steps"] >= 3


def test_closing_while_training_can_be_cancelled(window, qtbot, tmp_path, answers):
    train = start_endless_run(qtbot, window, tmp_path, "stay", until_step=0)
    answers.replies["choose"] = None
    assert not window.close()
    assert train.run is not None and window.isVisible()


# -- architectures that translate between two folders ---------------------------------------------------------


@dataclass
class PictureConfig:
    image_size: int = 32
    channels: int = 3


def picture_spec(name: str, capability: Capability) -> ArchSpec:
    """A stand-in architecture: the canvas asks only its capabilities, presets and config fields."""
    return ArchSpec(name=name, family="test", modality="image", config_cls=PictureConfig, builder=lambda cfg: None,
                    capabilities=frozenset({capability}), trainer="trainers.images",
                    _presets={"tiny": {"model": {"image_size": 32}, "train": {"steps": 20, "preview_every": 0}}})


def drop_on(widget, path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    with warnings.catch_warnings():  # PySide6 flags this constructor, the only one QDragEnterEvent has
        warnings.simplefilter("ignore", DeprecationWarning)
        enter = QDragEnterEvent(QPoint(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier)
    widget.dragEnterEvent(enter)
    assert enter.isAccepted(), "the picker refused the folder"
    widget.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier))


@pytest.fixture
def two_folder_canvas(qtbot, answers, monkeypatch):
    """A Train canvas offering a one-folder and a two-folder architecture; Start records the trainer
    command instead of running it."""
    from genstudio.ui import training_process
    from genstudio.ui.canvases.train import TrainCanvas
    from genstudio.ui.settings import Settings

    started = []
    monkeypatch.setattr(training_process.TrainingProcess, "start",
                        lambda self, args: started.append(training_process.trainer_command([*args, "--events"])))
    canvas = TrainCanvas(Settings(), ModelStore())
    qtbot.addWidget(canvas)
    canvas.resize(1100, 760)
    canvas.show()
    canvas.set_specs([picture_spec("painter", Capability.GENERATE), picture_spec("swapper", Capability.TRANSLATE)])
    canvas.preset_box.setCurrentIndex(canvas.preset_box.findData("tiny"))
    canvas.started = started
    yield canvas
    canvas.run = None


def choose_arch(canvas, name):
    canvas.arch_box.setCurrentIndex(canvas.arch_box.findData(name))
    canvas.preset_box.setCurrentIndex(canvas.preset_box.findData("tiny"))


def shown_pickers(canvas):
    return [label for picker, label in ((canvas.images, "Images"), (canvas.domain_a, "Domain A folder"),
                                        (canvas.domain_b, "Domain B folder"))
            if picker.isVisibleTo(canvas) and canvas.form.labelForField(picker).isVisibleTo(canvas)]


def test_an_architecture_that_translates_gets_two_folder_pickers(two_folder_canvas):
    canvas = two_folder_canvas
    choose_arch(canvas, "painter")
    assert shown_pickers(canvas) == ["Images"]
    choose_arch(canvas, "swapper")
    assert shown_pickers(canvas) == ["Domain A folder", "Domain B folder"]
    assert canvas.form.labelForField(canvas.domain_a).text() == "Domain A folder"
    choose_arch(canvas, "painter")
    assert shown_pickers(canvas) == ["Images"]


def test_dropping_a_folder_on_each_picker_checks_it_and_start_passes_both(two_folder_canvas, qtbot, tmp_path):
    canvas = two_folder_canvas
    choose_arch(canvas, "painter")
    canvas.set_folder(str(make_image_folder(tmp_path / "sketches", n=2)))
    assert canvas.name_edit.text() == "sketches"
    choose_arch(canvas, "swapper")
    assert canvas.name_edit.text() == "sketches"  # no domain folder yet: nothing better to call it
    horses = make_image_folder(tmp_path / "horses", n=6, seed=1)
    zebras = make_image_folder(tmp_path / "zebras", n=4, seed=2)
    (zebras / "broken.png").write_bytes(b"not a png")
    drop_on(canvas.domain_a, horses)
    assert canvas.domain_a.folder() == str(horses) and not canvas.start_button.isEnabled()
    drop_on(canvas.domain_b, zebras)
    qtbot.waitUntil(lambda: canvas.scans() is not None, timeout=30_000)
    assert canvas.domain_a.report_label.text().startswith("6 images ready (32×32 px")
    assert canvas.domain_b.report_label.text().startswith("4 images ready") and "1 skipped" in \
        canvas.domain_b.report_label.text()
    assert "broken.png" in canvas.domain_b.report_text.toPlainText()
    assert not canvas.domain_a.thumbs.pixmap().isNull() and not canvas.domain_b.thumbs.pixmap().isNull()
    assert canvas.name_edit.text() == "horses2zebras"  # suggested from both folders
    choose_arch(canvas, "painter")
    assert canvas.name_edit.text() == "sketches" and canvas.images.folder().endswith("sketches")
    choose_arch(canvas, "swapper")
    qtbot.waitUntil(lambda: canvas.scans() is not None, timeout=30_000)
    assert canvas.name_edit.text() == "horses2zebras" and canvas.start_button.isEnabled()
    canvas.start()
    (command,) = canvas.started
    args = command[command.index("swapper"):]
    assert args[args.index("--data-a") + 1] == str(horses) and args[args.index("--data-b") + 1] == str(zebras)
    assert "--data" not in args and args[args.index("--preset") + 1] == "tiny"
    assert canvas.settings.get("train/folder_a") == str(horses)
    assert canvas.settings.get("train/folder_b") == str(zebras)


def test_a_missing_domain_b_is_explained_and_nothing_starts(two_folder_canvas, qtbot, tmp_path, answers):
    canvas = two_folder_canvas
    choose_arch(canvas, "swapper")
    canvas.set_domain_folder("a", str(make_image_folder(tmp_path / "photos", n=4)))
    qtbot.waitUntil(lambda: canvas.domain_a.scan is not None, timeout=30_000)
    assert canvas.domain_b.report_label.text() == "No folder yet: the images of domain B."
    assert canvas.name_edit.text() == "photos" and not canvas.start_button.isEnabled()
    canvas.start()  # as if the button had been pressed
    assert answers.warnings == [("Cannot start", answers.warnings[0][1])]
    assert answers.warnings[0][1].startswith("Choose the domain B folder first")
    assert canvas.run is None and canvas.started == []


def test_the_two_folders_are_remembered_and_checked_again_next_time(two_folder_canvas, qtbot, tmp_path):
    from genstudio.ui.canvases.train import TrainCanvas

    canvas = two_folder_canvas
    choose_arch(canvas, "swapper")
    a, b = make_image_folder(tmp_path / "summer", n=3), make_image_folder(tmp_path / "winter", n=3, seed=5)
    canvas.set_domain_folder("a", str(a))
    canvas.set_domain_folder("b", str(b))
    qtbot.waitUntil(lambda: canvas.scans() is not None, timeout=30_000)
    canvas.start()
    again = TrainCanvas(canvas.settings, ModelStore())
    qtbot.addWidget(again)
    again.set_specs(list(canvas.specs.values()))
    assert again.arch_box.currentData() == "swapper"
    assert (again.domain_a.folder(), again.domain_b.folder()) == (str(a), str(b))
    qtbot.waitUntil(lambda: again.scans() is not None, timeout=30_000)  # checked without being asked
    assert again.name_edit.text() == ""  # a remembered folder does not name a new model by itself


def test_a_cyclegan_trains_on_two_dropped_folders(window, qtbot, tmp_path, answers):
    train = window.train
    window.show_canvas("Train")
    train.arch_box.setCurrentIndex(train.arch_box.findData("cyclegan"))
    assert shown_pickers(train) == ["Domain A folder", "Domain B folder"]
    train.preset_box.setCurrentIndex(train.preset_box.findData("tiny"))
    drop_on(train.domain_a, make_image_folder(tmp_path / "apples", n=4))
    drop_on(train.domain_b, make_image_folder(tmp_path / "pears", n=4, seed=3))
    qtbot.waitUntil(lambda: train.scans() is not None, timeout=30_000)
    assert train.name_edit.text() == "apples2pears"
    train.steps_box.setValue(2)
    with qtbot.waitSignal(train.model_published, timeout=TRAIN_TIMEOUT):
        train.start()
    card = ModelStore().get("apples2pears").card
    assert (card["arch"], card["steps"], list(card["config"]["domains"])) == ("cyclegan", 2, ["apples", "pears"])
    assert not answers.warnings


# -- text architectures ---------------------------------------------------------------------------------------


def make_writer_folder(root):
    """A writer's folder: chapters, an old Latin-1 letter, a picture saved as .txt and an empty note."""
    from tests.trainers.test_text import make_text_folder

    folder = make_text_folder(root, files=2)
    (folder / "letter.txt").write_bytes("Chère amie, à bientôt.\n".encode("latin-1") * 5)
    (folder / "scan.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    (folder / "todo.md").write_bytes(b"")
    return folder


def canvas_with(qtbot, specs):
    from genstudio.ui.canvases.train import TrainCanvas
    from genstudio.ui.settings import Settings

    canvas = TrainCanvas(Settings(), ModelStore())
    qtbot.addWidget(canvas)
    canvas.resize(1100, 760)
    canvas.show()
    canvas.set_specs(specs)
    return canvas


@pytest.fixture
def text_canvas(qtbot, answers, monkeypatch):
    """A Train canvas offering the real `gpt` and `ddpm`; Start records the trainer command."""
    from genstudio.core.registry import get
    from genstudio.ui import training_process

    started = []
    monkeypatch.setattr(training_process.TrainingProcess, "start",
                        lambda self, args: started.append(training_process.trainer_command([*args, "--events"])))
    canvas = canvas_with(qtbot, [get("ddpm"), get("gpt")])
    choose_arch(canvas, "gpt")
    canvas.started = started
    yield canvas
    canvas.run = None


def test_a_text_architecture_checks_a_text_folder_and_shows_its_split(text_canvas, qtbot, tmp_path):
    canvas = text_canvas
    assert canvas.form.labelForField(canvas.images).text() == "Texts"
    assert canvas.tokenizer_box.isVisibleTo(canvas) and not canvas.size_box.isVisibleTo(canvas)
    assert not canvas.color_box.isVisibleTo(canvas)
    canvas.set_folder(str(make_writer_folder(tmp_path / "novel")))
    qtbot.waitUntil(lambda: canvas.scan is not None, timeout=30_000)
    report = canvas.report_label.text()
    chars = canvas.scan.report.total_chars
    assert report.startswith(f"3 text files ready: {chars:,} characters (Latin-1: 1, UTF-8: 2); 2 skipped")
    assert "read as Latin-1 (Windows-1252): letter.txt" in report
    train_chars, val_chars = canvas.scan.train_chars, canvas.scan.val_chars
    assert f"Training / validation: {train_chars:,} / {val_chars:,} characters (last 10% for validation)." in report
    joined = chars + 2 * len("\n\n")  # the three files are joined with a blank line
    assert (train_chars, val_chars) == (int(joined * 0.9), joined - int(joined * 0.9))
    details = canvas.report_text.toPlainText()
    assert "scan.txt: binary file: a PNG image, not text" in details and "todo.md: empty file" in details
    assert canvas.thumbs.pixmap().isNull() and canvas.start_button.isEnabled()
    choose_arch(canvas, "ddpm")  # back to images: the same folder holds none
    qtbot.waitUntil(lambda: "no image files" in canvas.report_label.text(), timeout=30_000)
    assert canvas.form.labelForField(canvas.images).text() == "Images" and not canvas.tokenizer_box.isVisibleTo(canvas)


def test_the_tokenizer_choice_goes_into_the_trainer_command(text_canvas, qtbot, tmp_path):
    canvas = text_canvas
    assert canvas.tokenizer() == "char"  # the tiny preset's
    canvas.tokenizer_box.setCurrentIndex(canvas.tokenizer_box.findData("bpe"))
    canvas.set_folder(str(make_writer_folder(tmp_path / "novel")))
    qtbot.waitUntil(lambda: canvas.scan is not None, timeout=30_000)
    canvas.start()
    (command,) = canvas.started
    args = command[command.index("gpt"):]
    assert args[args.index("--tokenizer") + 1] == "bpe" and args[args.index("--data") + 1].endswith("novel")
    assert "--image-size" not in args and "--color" not in args


def test_validation_loss_is_a_second_series_and_text_previews_show_as_text(text_canvas, qtbot):
    from genstudio.core.events import Preview, Progress

    canvas = text_canvas
    plot = canvas.ensure_plot()
    assert not plot.legend.isVisible()
    for step in range(1, 21):
        metrics = {"loss": 3.0 - step * 0.05, **({"val_loss": 3.2 - step * 0.04} if step % 10 == 0 else {})}
        canvas._on_event(Progress(step, 20, None, metrics, stage="train"))
    assert plot.steps == list(range(1, 21)) and plot.val_steps == [10, 20]
    assert plot.val_losses == pytest.approx([2.8, 2.4])
    qtbot.waitUntil(lambda: plot.legend.isVisible(), timeout=5_000)
    assert [label.text for _, label in plot.legend.items] == ["training (smoothed)", "validation"]
    assert plot.val_curve.opts["symbol"] == "o" and plot.val_curve.opts["pen"].color() != \
        plot.smooth_curve.opts["pen"].color()
    canvas._on_event(Preview(10, path="/nowhere/step_0000010.txt", text="First Citizen:\nBefore we proceed",
                             caption="Sample at step 10"))
    assert canvas.preview_text.isVisibleTo(canvas) and not canvas.preview.isVisibleTo(canvas)
    assert canvas.preview_text.toPlainText() == "First Citizen:\nBefore we proceed" and canvas.preview_text.isReadOnly()
    assert canvas.preview_caption.text() == "Sample at step 10"
    plot.clear()
    plot._redraw()
    assert plot.val_steps == [] and not plot.legend.isVisible()


def test_a_gpt_trains_from_the_canvas_with_validation_and_text_previews(qtbot, tmp_path, answers):
    from genstudio.core.registry import get
    from tests.trainers.test_text import make_text_folder

    train = canvas_with(qtbot, [get("gpt")])
    train.preset_box.setCurrentIndex(train.preset_box.findData("tiny"))
    train.set_folder(str(make_text_folder(tmp_path / "texts")))
    qtbot.waitUntil(lambda: train.scan is not None, timeout=30_000)
    train.name_edit.setText("writer")
    train.preview_box.setValue(10)
    try:
        with qtbot.waitSignal(train.model_published, timeout=TRAIN_TIMEOUT):
            train.start()
        qtbot.waitUntil(lambda: train.run is None, timeout=10_000)
    finally:
        if train.run is not None:
            train.run.kill()
    assert train.plot.val_steps == [10, 20, 30] and len(train.plot.steps) > 0  # the tiny preset: every 10 steps
    card = ModelStore().get("writer").card
    assert card["metrics"]["val_loss"] == pytest.approx(train.plot.val_losses[-1], abs=1e-5)
    assert train.preview_text.isVisibleTo(train) and train.preview_text.toPlainText() == card["sample_text"]
    assert train.preview_caption.text() == "'writer' in the library" and not answers.warnings


def test_a_music_transformer_checks_a_midi_folder_and_trains_from_the_canvas(qtbot, tmp_path, answers):
    """A folder of MIDI files (one corrupt): the check reports files, notes, length, split and the skip;
    Start trains the tiny preset through the child process and publishes a music model."""
    from genstudio.core.registry import get
    from tests.trainers.test_music import make_midi_folder

    folder = make_midi_folder(tmp_path / "tunes")
    (folder / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00")
    train = canvas_with(qtbot, [get("ddpm"), get("music-transformer")])
    choose_arch(train, "music-transformer")
    assert train.form.labelForField(train.images).text() == "MIDI files"
    assert not train.size_box.isVisibleTo(train) and not train.tokenizer_box.isVisibleTo(train)
    train.preset_box.setCurrentIndex(train.preset_box.findData("tiny"))
    train.set_folder(str(folder))
    qtbot.waitUntil(lambda: train.scan is not None, timeout=30_000)
    report = train.report_label.text()
    assert report.startswith("4 MIDI file(s) ready; ") and " notes, " in report and "of music" in report
    assert "1 skipped (see below)" in report and "3 file(s) for training, 1 held out for validation." in report
    assert "broken.mid: the file is truncated" in train.report_text.toPlainText()
    train.name_edit.setText("tunes")
    try:
        with qtbot.waitSignal(train.model_published, timeout=TRAIN_TIMEOUT):
            train.start()
        qtbot.waitUntil(lambda: train.run is None, timeout=10_000)
    finally:
        if train.run is not None:
            train.run.kill()
    card = ModelStore().get("tunes").card
    assert card["arch"] == "music-transformer" and card["data"]["midi_files"] == 4 and not answers.warnings
