"""Quality checks in a training run: the log line and metrics.jsonl at each preview, the cached encoder on
resume, an unchanged training trajectory, and nothing at all when they are off."""

from __future__ import annotations

import json

import pytest
from safetensors.torch import load_file

from tests.trainers.test_loop import tensors_equal, train_in_process
from tests.util import make_image_folder


def quality_table(samples: int) -> str:
    return f"[train]\nquality_samples = {samples}\nquality_encoder_steps = 3\n"


@pytest.fixture
def data(tmp_path):
    return make_image_folder(tmp_path / "data", n=10)


def tiny_vae(data, name: str, config=None) -> list[str]:
    args = ["vae", "--preset", "tiny", "--device", "cpu", "--data", str(data), "--name", name, "--steps", "4",
            "--preview-every", "2"]
    return [*args, "--config", str(config)] if config else args


def metrics_of(home, name: str) -> list[dict]:
    return [json.loads(line) for line in (home / "runs" / name / "metrics.jsonl").read_text().splitlines()]


def quality_logs(events) -> list[str]:
    return [e.message for e in events if e.type == "log" and e.message.startswith("Quality at step")]


def test_each_preview_logs_quality_and_writes_its_numbers(tmp_path, data):
    config = tmp_path / "quality.toml"
    config.write_text(quality_table(6))
    code, events = train_in_process(tmp_path, tiny_vae(data, "q", config))
    assert code == 0, [e for e in events if e.type == "failed"]
    lines = quality_logs(events)
    assert len(lines) == 2 and lines[0].startswith("Quality at step 2 (6 samples vs 10 training images")
    assert "FD " in lines[0] and "KID " in lines[0] and "near-copies" in lines[0]
    assert "variety " in lines[0] and "coverage " in lines[0]
    assert sum("trained a feature encoder on 10 training images" in e.message for e in events if e.type == "log") == 1
    assert sum("The quality check took" in e.message for e in events if e.type == "log") == 1
    rows = metrics_of(tmp_path, "q")
    scored = [r for r in rows if "fd" in r]
    assert [r["step"] for r in scored] == [2, 4] and all("loss" not in r for r in scored)
    assert all({"fd", "kid", "kid_std", "nn_ratio", "near_copies", "variety", "coverage"} <= r.keys() for r in scored)
    assert all(0 <= r["coverage"] <= 1 and r["variety"] >= 0 for r in scored)
    assert [r["step"] for r in rows if "loss" in r] == [1, 2, 3, 4]  # the loss curve is untouched
    assert (tmp_path / "runs" / "q" / "previews" / "nearest_step_0000004.png").is_file()
    assert [e.type for e in events if e.type == "preview"] == ["preview", "preview"]  # the pairs are no preview


def test_resume_reuses_the_encoder_and_the_trajectory_is_unchanged(tmp_path, data):
    # dropout draws from torch's global generator: a check that touched it would change the weights
    plain, scored = tmp_path / "plain.toml", tmp_path / "scored.toml"
    plain.write_text("[model]\ndropout = 0.1\n")
    scored.write_text("[model]\ndropout = 0.1\n" + quality_table(4))
    args = ["ddpm", "--preset", "tiny", "--device", "cpu", "--data", str(data), "--name", "run", "--steps", "4",
            "--preview-every", "2"]
    assert train_in_process(tmp_path / "plain", [*args, "--config", str(plain), "--preview-every", "0"])[0] == 0
    code, _ = train_in_process(tmp_path / "scored", [*args, "--config", str(scored)], stop_at=2)
    assert code == 0
    encoders = sorted((tmp_path / "scored" / "runs" / "run" / "quality").glob("*.safetensors"))
    assert len(encoders) == 1
    code, events = train_in_process(tmp_path / "scored", ["ddpm", "--preset", "tiny", "--device", "cpu",
                                                          "--name", "run", "--resume"])
    assert code == 0
    messages = [e.message for e in events if e.type == "log"]
    assert any("using the feature encoder trained on these 10 images" in m for m in messages)
    assert not any("trained a feature encoder" in m for m in messages)
    assert sorted((tmp_path / "scored" / "runs" / "run" / "quality").glob("*.safetensors")) == encoders
    assert [r["step"] for r in metrics_of(tmp_path / "scored", "run") if "fd" in r] == [2, 4]
    a = load_file(tmp_path / "plain" / "models" / "run" / "weights.safetensors")
    b = load_file(tmp_path / "scored" / "models" / "run" / "weights.safetensors")
    assert tensors_equal(a, b), "quality checks changed the training trajectory"


def test_no_quality_samples_no_quality_check(tmp_path, data):
    code, events = train_in_process(tmp_path, tiny_vae(data, "off"))
    assert code == 0
    assert not quality_logs(events) and not any("feature encoder" in e.message for e in events if e.type == "log")
    assert all("fd" not in r for r in metrics_of(tmp_path, "off"))
    assert not (tmp_path / "runs" / "off" / "quality").exists()
    assert not list((tmp_path / "runs" / "off" / "previews").glob("nearest_*.png"))
