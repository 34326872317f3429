"""Training CycleGAN on two folders: the CLI trainer, the data report, exact resume, the LR schedule."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image
from safetensors.torch import load_file

from genstudio.core.store import ModelStore
from tests.trainers.test_loop import tensors_equal, train_in_process
from tests.util import make_image_folder
from trainers.loop import TrainConfig, lr_at

TINY = ["cyclegan", "--preset", "tiny", "--device", "cpu"]


@pytest.fixture
def folders(tmp_path):
    a = make_image_folder(tmp_path / "horses", n=6)
    b = make_image_folder(tmp_path / "zebras", n=5, seed=1)
    (b / "notes.png").write_text("not a picture")
    return a, b


def test_two_steps_on_two_folders_publish_a_translator(tmp_path, folders):
    a, b = folders
    code, events = train_in_process(tmp_path / "home", [*TINY, "--data-a", str(a), "--data-b", str(b), "--name", "h2z",
                                                        "--steps", "2", "--preview-every", "2"])
    assert code == 0, [e for e in events if e.type == "failed"]
    done = events[-1]
    assert done.type == "done" and done.steps == 2
    assert all(np.isfinite(v) for v in done.metrics.values()) and {"d_loss", "g_loss", "cycle"} <= set(done.metrics)
    report = next(e.message for e in events if e.type == "log" and "Domain A" in e.message)
    assert "Domain A (horses)" in report and "Domain B (zebras)" in report and "6 usable" in report
    assert "1 skipped" in report and "notes.png: not an image" in report
    card, tensors = ModelStore().load("h2z")
    assert card["config"]["domains"] == ["horses", "zebras"]
    assert card["data"]["folder"] == str(a) and card["data"]["folder_b"] == str(b)
    assert (card["data"]["images_a"], card["data"]["images_b"], card["data"]["skipped"]) == (6, 5, 1)
    assert int(tensors["pool_a.count"]) == 4  # the tiny pools (4) filled from 2 steps of batch 2
    run = tmp_path / "home" / "runs" / "h2z"
    saved = json.loads((run / "dataset_report.json").read_text())
    assert saved["domains"]["B"]["skipped_files"][0]["path"].endswith("notes.png")
    preview = Image.open(next((run / "previews").iterdir()))
    assert preview.size == (2 * 32 + 2, 4 * 32 + 3 * 2)  # rows: A, A→B, B, B→A; 8 previews -> 2 columns


def test_stop_and_resume_equals_uninterrupted_run(tmp_path, folders):
    a, b = folders
    args = [*TINY, "--data-a", str(a), "--data-b", str(b), "--steps", "6", "--name", "run"]
    assert train_in_process(tmp_path / "a", args)[0] == 0
    code, events = train_in_process(tmp_path / "b", args, stop_at=3)
    assert code == 0 and events[-1].stopped and events[-1].steps == 3
    code, events = train_in_process(tmp_path / "b", [*TINY, "--name", "run", "--resume"])  # folders from the run
    assert code == 0 and events[-1].steps == 6 and not events[-1].stopped
    first = load_file(tmp_path / "a" / "runs" / "run" / "checkpoint" / "tensors.safetensors")
    second = load_file(tmp_path / "b" / "runs" / "run" / "checkpoint" / "tensors.safetensors")
    assert tensors_equal(first, second), "the resumed run diverged (weights, optimizer, pools or RNG)"
    meta = json.loads((tmp_path / "b" / "runs" / "run" / "checkpoint" / "state.json").read_text())
    assert meta["data_dir"] == str(a) and meta["data_dir_b"] == str(b)


@pytest.mark.parametrize("arch,data,message", [
    ("cyclegan", ["--data", "X"], "learns from two folders: give --data-a DIR"),
    ("cyclegan", ["--data-a", "X"], "Give both training folders with --data-a DIR and --data-b DIR"),
    ("ddpm", ["--data-a", "X", "--data-b", "Y"], "learns from one folder: give --data DIR"),
])
def test_the_wrong_kind_of_folder_argument_is_explained(tmp_path, arch, data, message):
    code, events = train_in_process(tmp_path / "home", [arch, "--preset", "tiny", "--device", "cpu", *data,
                                                        "--name", "m"])
    assert code == 1 and message in events[-1].message


def test_bad_domain_folders_are_explained(tmp_path, folders):
    a, _ = folders
    empty = tmp_path / "empty"
    empty.mkdir()
    code, events = train_in_process(tmp_path / "home", [*TINY, "--data-a", str(a), "--data-b", str(empty),
                                                        "--name", "m"])
    assert code == 1 and events[-1].message.startswith("Domain B: The folder") and "no image files" in events[-1].message
    code, events = train_in_process(tmp_path / "home", [*TINY, "--data-a", str(a), "--data-b", str(a),
                                                        "--name", "m2"])
    assert code == 1 and "the same folder" in events[-1].message


def test_two_grey_folders_train_a_grayscale_model(tmp_path):
    folders = []
    for side in ("day", "night"):
        folder = tmp_path / side
        folder.mkdir()
        for i in range(3):
            Image.fromarray(np.full((36, 36), 40 * i + (100 if side == "night" else 0), np.uint8)).save(folder / f"{i}.png")
        folders.append(str(folder))
    code, _ = train_in_process(tmp_path / "home", [*TINY, "--data-a", folders[0], "--data-b", folders[1],
                                                   "--name", "grey", "--steps", "1"])
    assert code == 0 and ModelStore().get("grey").card["config"]["channels"] == 1


def test_linear_decay_holds_then_falls_to_zero():
    cfg = TrainConfig(steps=100, lr=2e-4, warmup_steps=0, schedule="linear-decay")
    assert lr_at(0, cfg) == lr_at(50, cfg) == 2e-4
    assert lr_at(75, cfg) == pytest.approx(1e-4) and lr_at(99, cfg) == pytest.approx(4e-6)
    assert all(lr_at(s, cfg) > lr_at(s + 1, cfg) for s in range(50, 99))
    with pytest.raises(ValueError, match="schedule"):
        TrainConfig(schedule="step")
