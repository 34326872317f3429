"""Generate-canvas controls for the conditioned models: the class picker of a class-conditional model,
the prompt of a text-to-image model (with unknown words flagged), guidance, truncation ψ and the
style-mixing tab of a StyleGAN; and the Train canvas's report of classes and caption sources."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")

from genstudio.tasks.images import read_png_params  # noqa: E402
from tests.util import make_image_folder, save_tiny_model  # noqa: E402


def shown_options(gen) -> set[str]:
    return {key for key, widget in gen.options.widgets().items() if not widget.isHidden()}


def visible_tools(gen) -> set[str]:
    return {gen.tabs.tabText(i) for i in range(1, gen.tabs.count()) if gen.tabs.isTabVisible(i)}


@pytest.fixture
def models(window):
    save_tiny_model("ddpm", "pets", classes=("cats", "dogs"))
    save_tiny_model("latent-diffusion", "shapes", vocab=("red", "blue", "circle", "square"))
    save_tiny_model("stylegan", "faces")
    save_tiny_model("dcgan", "plain-gan")
    window.refresh_library()
    return window.generate


def test_controls_follow_the_models_conditioning(models):
    gen = models
    gen.select_model("starter-emoji")  # an unconditional DDPM: no class picker, no guidance
    assert shown_options(gen) == {"steps", "sampler", "eta"}
    gen.select_model("pets")
    assert shown_options(gen) == {"steps", "sampler", "eta", "label", "guidance"}
    labels = [gen.options.label_box.itemText(i) for i in range(gen.options.label_box.count())]
    assert labels[1:] == ["cats", "dogs"] and labels[0].startswith("Any class")
    gen.select_model("shapes")
    assert {"prompt", "negative_prompt", "guidance", "steps"} <= shown_options(gen)
    assert "label" not in shown_options(gen)
    gen.select_model("faces")
    assert {"truncation", "noise"} <= shown_options(gen) and "Style mixing" in visible_tools(gen)
    gen.select_model("plain-gan")
    assert "Style mixing" not in visible_tools(gen) and "Latent explorer" in visible_tools(gen)
    assert not gen.explorer.a.picture.acceptDrops()  # a GAN cannot encode a dropped image


def test_unknown_prompt_words_are_flagged(models):
    gen = models
    gen.select_model("shapes")
    gen.options.prompt_edit.setPlainText("a red triangle")
    assert not gen.options.words_note.isHidden()
    listed = gen.options.words_note.text().split(": ", 1)[1]
    assert listed == "a, triangle"
    gen.options.prompt_edit.setPlainText("red circle")
    assert gen.options.words_note.isHidden()


def test_a_chosen_class_is_generated_captioned_and_saved(models, qtbot, tmp_path):
    gen = models
    gen.select_model("pets")
    gen.count_box.setValue(2)
    gen.steps_box.setValue(2)
    gen.options.label_box.setCurrentIndex(gen.options.label_box.findData(1))
    gen.options.guidance_box.setValue(2.0)
    gen.generate()
    qtbot.waitUntil(lambda: gen.worker is None, timeout=60_000)
    assert [gen.grid.item(i).text() for i in range(2)] == ["dogs", "dogs"]
    assert "class dogs" in gen.result_info.text() and "guidance 2" in gen.result_info.text()
    params = gen.grid.params[0]
    assert params["label"] == 1 and params["class"] == "dogs" and params["guidance"] == 2.0
    gen.options.label_box.setCurrentIndex(0)
    gen.apply_params(params)  # a PNG's settings bring the class back
    assert gen.options.label_box.currentData() == 1


def test_prompt_generation_records_the_prompt(models, qtbot):
    gen = models
    gen.select_model("shapes")
    gen.count_box.setValue(1)
    gen.steps_box.setValue(2)
    gen.options.prompt_edit.setPlainText("a blue square")
    gen.options.negative_edit.setText("red")
    gen.generate()
    qtbot.waitUntil(lambda: gen.worker is None, timeout=120_000)
    params = gen.grid.params[0]
    assert params["prompt"] == "a blue square" and params["negative_prompt"] == "red"
    assert "“a blue square”" in gen.result_info.text()


def test_truncation_and_style_mixing_grid(models, qtbot, answers, tmp_path):
    gen = models
    gen.select_model("faces")
    gen.options.truncation.setValue(0.5)
    gen.count_box.setValue(2)
    gen.generate()
    qtbot.waitUntil(lambda: gen.worker is None, timeout=60_000)
    assert gen.grid.params[0]["truncation"] == 0.5 and "ψ 0.5" in gen.result_info.text()
    gen.show_tool("Style mixing")
    panel = gen.style_mix
    panel.row_seeds.setText("1, 2")
    panel.column_seeds.setText("5, 6, 7")
    panel.refresh()
    qtbot.waitUntil(lambda: panel.picture_array is not None and not panel.jobs.running, timeout=60_000)
    size = 32  # tiny preset
    rows, cols = 3, 4  # a header row and column around 2 × 3 mixes
    assert panel.picture_array.shape[0] == rows * size + (rows - 1) * 4  # 4-pixel gutters between cells
    assert panel.picture_array.shape[1] == cols * size + (cols - 1) * 4
    assert panel.params["truncation"] == 0.5
    answers.replies["save_file"] = str(tmp_path / "mix.png")
    panel.save()
    assert read_png_params(tmp_path / "mix.png")["tool"] == "style-mix"
    panel.row_seeds.setText("1, x")
    panel.refresh()
    assert "whole numbers" in panel.summary.text()


def test_train_canvas_reports_classes_and_caption_sources(window, qtbot, tmp_path):
    train = window.train
    folder = tmp_path / "pets"
    make_image_folder(folder / "cats", n=3)
    make_image_folder(folder / "dogs", n=2, seed=1)
    train.arch_box.setCurrentIndex(train.arch_box.findData("dcgan"))
    train.set_folder(str(folder))
    qtbot.waitUntil(lambda: "classes" in train.report_label.text(), timeout=30_000)
    assert "cats (3)" in train.report_label.text() and "dogs (2)" in train.report_label.text()
    (folder / "cats" / "blob_000.txt").write_text("a small cat", encoding="utf-8")
    train.arch_box.setCurrentIndex(train.arch_box.findData("latent-diffusion"))
    train.set_folder(str(folder))
    qtbot.waitUntil(lambda: "Captions" in train.report_label.text(), timeout=30_000)
    assert "1 from sidecar" in train.report_label.text() and "4 from filename" in train.report_label.text()
