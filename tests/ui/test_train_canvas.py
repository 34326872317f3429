"""The Train canvas with the real trainer child process: train, stop, resume, crash, bad folders."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

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
