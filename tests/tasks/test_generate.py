"""Generation from a library model: determinism, PNG parameters, --from, --separate, cancel."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from genstudio.cli import main
from genstudio.core.errors import GenStudioError
from genstudio.core.events import Preview, Progress, drive
from genstudio.core.store import ModelStore
from genstudio.tasks.generate import GenerateRequest, generate
from genstudio.tasks.images import PARAMS_KEY, read_png_params
from tests.util import save_tiny_model

CPU = torch.device("cpu")


@pytest.fixture
def model_name(tmp_path):
    return save_tiny_model("ddpm", "tiny-gen")


def run(request: GenerateRequest):
    events = []
    return drive(generate(request, CPU), events.append), events


def test_same_seed_same_images_and_seed_changes_them(model_name):
    a, events = run(GenerateRequest(model_name, n=3, seed=5, steps=6))
    b, _ = run(GenerateRequest(model_name, n=3, seed=5, steps=6))
    c, _ = run(GenerateRequest(model_name, n=3, seed=6, steps=6))
    assert a.images.shape == (3, 32, 32, 3) and a.images.dtype == np.uint8
    assert np.array_equal(a.images, b.images) and not np.array_equal(a.images, c.images)
    assert np.array_equal(a.images[1], c.images[0])  # image i uses seed + i
    assert [e.step for e in events if isinstance(e, Progress)] == list(range(1, 7))
    previews = [e for e in events if isinstance(e, Preview)]
    assert previews and previews[0].image.shape == (3, 32, 32, 3)


@pytest.mark.parametrize("sampler,eta", [("ddim", 0.0), ("ddim", 1.0), ("ddpm", 0.0)])
def test_every_sampler_is_reproducible(model_name, sampler, eta):
    req = GenerateRequest(model_name, n=2, seed=1, steps=5, sampler=sampler, eta=eta)
    assert np.array_equal(run(req)[0].images, run(req)[0].images)


def test_samplers_differ(model_name):
    ddim = run(GenerateRequest(model_name, n=2, steps=5, sampler="ddim"))[0].images
    ddpm = run(GenerateRequest(model_name, n=2, steps=5, sampler="ddpm"))[0].images
    assert not np.array_equal(ddim, ddpm)


def test_cancel_between_steps(model_name):
    gen = generate(GenerateRequest(model_name, n=2, steps=50), CPU)
    events = [next(gen) for _ in range(5)]  # progress and previews of the first steps
    gen.close()  # what the UI worker does on Cancel: the sampler stops at the next yield
    steps = [e.step for e in events if isinstance(e, Progress)]
    assert steps == list(range(1, len(steps) + 1)) and 2 <= len(steps) <= 5


def test_cli_grid_png_carries_parameters_and_from_reproduces(model_name, tmp_path):
    out, again = tmp_path / "out.png", tmp_path / "again.png"
    assert main(["generate", "--model", model_name, "-n", "4", "--steps", "5", "--seed", "7", "-o", str(out)]) == 0
    params = read_png_params(out)
    card = ModelStore().get(model_name).card
    assert params["model"] == model_name and params["model_sha256"] == card["weights_sha256"]
    assert (params["seed"], params["steps"], params["sampler"], params["n"]) == (7, 5, "ddim", 4)
    assert params["app"] == "GenStudio" and params["app_version"]
    with Image.open(out) as img:
        assert img.size == (2 * 32 + 2, 2 * 32 + 2)  # 2×2 grid with a 2-pixel gutter
        assert "seed: 7" in img.text["parameters"]
    assert main(["generate", "--from", str(out), "-o", str(again)]) == 0
    assert np.array_equal(np.asarray(Image.open(out)), np.asarray(Image.open(again)))
    assert json.loads(Image.open(again).text[PARAMS_KEY])["seed"] == 7


def test_cli_separate_files_each_reproduce_alone(model_name, tmp_path):
    stem = tmp_path / "img.png"
    assert main(["generate", "--model", model_name, "-n", "3", "--steps", "4", "--seed", "2", "-o", str(stem),
                 "--separate"]) == 0
    files = sorted(tmp_path.glob("img_*.png"))
    assert [f.name for f in files] == ["img_000.png", "img_001.png", "img_002.png"]
    assert [read_png_params(f)["seed"] for f in files] == [2, 3, 4]
    again = tmp_path / "again.png"
    assert main(["generate", "--from", str(files[1]), "-o", str(again)]) == 0
    diff = np.abs(np.asarray(Image.open(files[1]), int) - np.asarray(Image.open(again), int))
    assert diff.max() <= 2  # batch of 1 vs 3 may round differently in the last bit, never more


def test_from_a_foreign_png_is_a_clear_error(tmp_path, capsys):
    foreign = tmp_path / "photo.png"
    Image.new("RGB", (8, 8)).save(foreign)
    with pytest.raises(GenStudioError, match="no GenStudio parameters"):
        read_png_params(foreign)
    assert main(["generate", "--from", str(foreign)]) == 1
    assert "no GenStudio parameters" in capsys.readouterr().err
