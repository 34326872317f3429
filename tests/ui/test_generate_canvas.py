"""The Generate canvas over the real starter model: generate, cancel, results, PNG settings."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402

from genstudio.tasks.images import read_png_params  # noqa: E402


def run_generation(qtbot, canvas, **settings):
    canvas.select_model("starter-emoji")
    canvas.count_box.setValue(settings.get("n", 4))
    canvas.seed_box.setValue(settings.get("seed", 7))
    canvas.steps_box.setValue(settings.get("steps", 5))
    with qtbot.waitSignal(canvas.grid.model().rowsInserted, timeout=60_000, raising=False):
        canvas.generate()
        qtbot.waitUntil(lambda: canvas.worker is None, timeout=60_000)


def test_first_launch_is_ready_to_generate_with_the_starter(window):
    gen = window.generate
    assert window.stack.currentWidget() is gen
    assert gen.model_box.findData("starter-emoji") >= 0
    assert gen.generate_button.isEnabled() and not gen.cancel_button.isEnabled()


def test_generate_shows_a_grid_and_saves_pngs_that_carry_their_settings(window, qtbot, tmp_path, answers):
    gen = window.generate
    run_generation(qtbot, gen, n=4, seed=7, steps=5)
    assert gen.grid.count() == 4 and gen.view.currentWidget() is gen.results_page
    assert "Done in" in gen.progress_label.text()
    answers.replies["save_file"] = str(tmp_path / "third")
    saved = gen.grid.save(2)
    params = read_png_params(saved)
    assert saved.name == "third.png" and params["seed"] == 9 and params["n"] == 1 and params["steps"] == 5
    mime = gen.grid.mimeData([gen.grid.item(1)])  # dragging a cell out gives a PNG file and the image
    assert mime.hasImage() and read_png_params(mime.urls()[0].toLocalFile())["seed"] == 8


def test_cancel_mid_way_keeps_the_window_usable(window, qtbot):
    gen = window.generate
    gen.select_model("starter-emoji")
    gen.count_box.setValue(8)
    gen.steps_box.setValue(400)
    gen.generate()
    qtbot.waitUntil(lambda: gen.progress.maximum() == 400 and gen.progress.value() >= 2, timeout=60_000)
    assert not gen.generate_button.isEnabled() and gen.cancel_button.isEnabled()
    gen.cancel()
    qtbot.waitUntil(lambda: gen.worker is None, timeout=20_000)
    assert gen.progress_label.text() == "Cancelled."
    assert gen.grid.count() == 0 and gen.generate_button.isEnabled()


def test_use_these_settings_again_and_dropping_a_png_restore_the_controls(window, qtbot, tmp_path, answers):
    gen = window.generate
    run_generation(qtbot, gen, n=2, seed=40, steps=6)
    answers.replies["save_file"] = str(tmp_path / "x.png")
    path = gen.grid.save(1)
    gen.seed_box.setValue(1)
    gen.steps_box.setValue(50)
    gen.grid.use_settings.emit(gen.grid.params[1])
    assert (gen.seed_box.value(), gen.steps_box.value(), gen.count_box.value()) == (41, 6, 1)

    gen.seed_box.setValue(3)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    drop = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                      Qt.KeyboardModifier.NoModifier)
    gen.dropEvent(drop)
    assert gen.seed_box.value() == 41 and not answers.warnings


def test_a_png_without_settings_is_refused_with_a_message(window, tmp_path, answers):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "plain.png")
    assert not window.generate.restore_from_png(tmp_path / "plain.png")
    assert "carries no GenStudio parameters" in answers.warnings[-1][1]


def test_controls_the_model_does_not_support_are_hidden(window):
    gen = window.generate
    gen.sampler_box.setCurrentIndex(gen.sampler_box.findData("ddpm"))
    assert gen.eta_box.isHidden() and not gen.steps_box.isHidden()
    gen.sampler_box.setCurrentIndex(gen.sampler_box.findData("ddim"))
    assert not gen.eta_box.isHidden()


def test_last_choices_are_remembered(window, qtbot):
    from genstudio.ui.main_window import MainWindow

    window.generate.steps_box.setValue(17)
    window.generate.seed_box.setValue(1234)
    window.show_canvas("Library")
    window.close()
    again = MainWindow(window.settings)
    qtbot.addWidget(again)
    assert again.generate.steps_box.value() == 17 and again.generate.seed_box.value() == 1234
    assert again.stack.currentWidget() is again.library
