"""Generate-canvas controls and tools that follow the model's capabilities: temperature, per-sample
likelihood, latent explorer, traversal, Denoise; and the Train canvas's size and colour choice."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PIL import Image  # noqa: E402

from genstudio.tasks.images import read_png_params  # noqa: E402
from tests.util import make_image_folder, save_tiny_model  # noqa: E402

TOOLS = ("Latent explorer", "Latent traversal", "Denoise")


def visible_tools(gen) -> set[str]:
    return {gen.tabs.tabText(i) for i in range(1, gen.tabs.count()) if gen.tabs.isTabVisible(i)}


@pytest.fixture
def models(window):
    for arch, name in (("vae", "my-vae"), ("dae", "my-dae"), ("glow", "my-glow"), ("rbm", "my-rbm")):
        save_tiny_model(arch, name)
    window.refresh_library()
    return window.generate


def test_controls_and_tools_follow_the_models_capabilities(models):
    gen = models
    expected = {"starter-emoji": (set(), {"steps", "sampler", "eta"}),  # η: DDIM is the default
                "my-vae": (set(TOOLS), {"temperature"}),
                "my-dae": ({"Denoise"}, {"temperature"}),
                "my-glow": ({"Latent explorer"}, {"temperature"}),
                "my-rbm": (set(), {"steps", "temperature"})}
    for name, (tools, options) in expected.items():
        assert gen.select_model(name)
        assert visible_tools(gen) == tools, name
        shown = {key for key, widget in gen.options.widgets().items() if not widget.isHidden()}
        assert shown == options, name
    gen.select_model("my-rbm")  # another kind of model: its own defaults, not DDPM's 25 steps
    assert gen.steps_box.value() == 1000


def test_a_likelihood_model_shows_each_samples_bits_per_dim(models, qtbot):
    gen = models
    gen.select_model("my-glow")
    gen.count_box.setValue(3)
    gen.temperature_box.setValue(0.7)
    gen.generate()
    qtbot.waitUntil(lambda: gen.worker is None, timeout=60_000)
    captions = [gen.grid.item(i).text() for i in range(gen.grid.count())]
    assert len(captions) == 3 and all(c.endswith("bits/dim") for c in captions)
    assert "temperature 0.7" in gen.result_info.text() and "exact" in gen.result_info.text()
    assert gen.grid.params[0]["temperature"] == 0.7 and "bits_per_dim" in gen.grid.params[0]


def test_latent_explorer_strip_slider_and_dropped_image(models, qtbot, tmp_path):
    gen = models
    gen.select_model("my-vae")
    gen.show_tool("Latent explorer")
    explorer = gen.explorer
    qtbot.waitUntil(lambda: explorer.strip.count() == 8 and not explorer.jobs.running, timeout=30_000)
    from_seeds = explorer.strip.images.copy()
    assert explorer.strip.item(0).text() == "0.00" and explorer.strip.item(7).text() == "1.00"
    assert not explorer.a.picture.source.isNull()  # each seed endpoint shows what it decodes to
    explorer.slider.setValue(0)
    qtbot.waitUntil(lambda: not explorer.frame_jobs.running and not explorer.frame.source.isNull(), timeout=30_000)
    path = tmp_path / "photo.png"
    Image.fromarray(np.random.default_rng(1).integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(path)
    assert explorer.a.load(str(path))
    qtbot.waitUntil(lambda: not explorer.jobs.running and explorer.strip.params[0]["a"] == "image", timeout=30_000)
    assert not np.array_equal(explorer.strip.images[0], from_seeds[0])
    assert np.array_equal(explorer.strip.images[-1], from_seeds[-1])  # B is still seed 2


def test_a_bad_file_dropped_on_an_endpoint_is_reported_and_changes_nothing(models, tmp_path, answers):
    gen = models
    gen.select_model("my-vae")
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"not a png")
    assert not gen.explorer.a.load(str(bad))
    assert gen.explorer.a.image is None and "bad.png" in answers.warnings[-1][1]


def test_traversal_rows_sorted_by_change(models, qtbot):
    gen = models
    gen.select_model("my-vae")
    gen.show_tool("Latent traversal")
    panel = gen.traversal
    qtbot.waitUntil(lambda: panel.result is not None and not panel.jobs.running, timeout=30_000)
    panel.only_active.setChecked(False)
    assert panel.rows_layout.rowCount() >= len(panel.result.dims)
    assert "latent dimensions change the image" in panel.summary.text()


def test_denoise_shows_before_and_after_and_saves(models, qtbot, tmp_path, answers):
    gen = models
    gen.select_model("my-dae")
    gen.show_tool("Denoise")
    panel = gen.denoise
    source = tmp_path / "noisy.png"
    Image.fromarray(np.full((50, 80, 3), 180, np.uint8)).save(source)
    assert panel.load(str(source))
    qtbot.waitUntil(lambda: panel.save_button.isEnabled(), timeout=30_000)
    assert not panel.after_view.source.isNull() and "noisy.png" in panel.note.text()
    answers.replies["save_file"] = str(tmp_path / "clean")
    saved = panel.save()
    assert saved.name == "clean.png" and read_png_params(saved)["tool"] == "denoise"


def test_train_canvas_offers_size_and_colour_and_auto_follows_the_folder(window, qtbot, tmp_path):
    train = window.train
    window.show_canvas("Train")
    train.arch_box.setCurrentIndex(train.arch_box.findData("glow"))
    train.preset_box.setCurrentIndex(train.preset_box.findData("small"))
    sizes = [train.size_box.itemData(i) for i in range(train.size_box.count())]
    assert sizes[0] is None and 32 in sizes and all(s is None or s % 4 == 0 for s in sizes)  # 2 squeezes
    gray = tmp_path / "gray"
    gray.mkdir()
    for i in range(4):
        Image.fromarray(np.full((30, 30), 40 * i, np.uint8)).save(gray / f"{i}.png")
    train.set_folder(str(gray))
    qtbot.waitUntil(lambda: train.scan is not None, timeout=30_000)
    assert "grayscale" in train.report_label.text() and train.color() == "gray"
    train.size_box.setCurrentIndex(train.size_box.findData(32))
    qtbot.waitUntil(lambda: train.scan is not None and train.scan.report.image_size == 32, timeout=30_000)
    train.name_edit.setText("g")
    args = train.request().args()
    assert args[args.index("--color") + 1] == "gray" and args[args.index("--image-size") + 1] == "32"
    train.set_folder(str(make_image_folder(tmp_path / "colour", n=4)))
    qtbot.waitUntil(lambda: train.scan is not None, timeout=30_000)
    assert train.color() == "rgb"


def test_fine_tuning_keeps_the_models_size_and_colour(window):
    train = window.train
    train.arch_box.setCurrentIndex(train.arch_box.findData("ddpm"))
    assert train.size_box.isEnabled() and train.color_box.isEnabled()
    train.from_box.setCurrentIndex(train.from_box.findData("starter-emoji"))
    assert not train.size_box.isEnabled() and not train.color_box.isEnabled()
    assert "Fine-tuning keeps" in train.size_box.toolTip()
    train.from_box.setCurrentIndex(0)
    assert train.size_box.isEnabled() and "centre-cropped" in train.size_box.toolTip()
