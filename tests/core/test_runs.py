"""Reading training runs without torch: resumable state and loss history, damaged files tolerated."""

from __future__ import annotations

import json

from genstudio.core.paths import runs_dir
from genstudio.core.runs import list_runs, read_metrics, read_run


def make_run(name: str, step: int = 5, total: int = 30, *, old: bool = False):
    folder = runs_dir() / name / (".checkpoint-old" if old else "checkpoint")
    folder.mkdir(parents=True)
    (folder / "tensors.safetensors").write_bytes(b"x")
    (folder / "state.json").write_text(json.dumps({"arch": "ddpm", "step": step, "preset": "tiny",
                                                   "data_dir": "/d", "train_config": {"steps": total}}))
    return folder


def test_a_run_is_read_from_its_checkpoint_or_the_previous_one():
    make_run("a", step=5)
    make_run("b", step=30, old=True)  # killed between the renames of a checkpoint swap
    runs = {r.name: r for r in list_runs()}
    assert runs["a"].step == 5 and not runs["a"].finished
    assert runs["b"].finished and runs["b"].arch == "ddpm"


def test_damaged_or_missing_state_is_no_run():
    folder = make_run("c")
    (folder / "state.json").write_text("{broken")
    assert read_run("c") is None and read_run("nothing") is None


def test_metrics_skip_damaged_lines():
    (runs_dir() / "m").mkdir(parents=True)
    (runs_dir() / "m" / "metrics.jsonl").write_text(
        '{"step": 1, "loss": 0.5}\n{"step": 2, "lo\n{"step": 3, "loss": 0.25}\n{"step": 4}\n')
    assert read_metrics("m") == {"step": [1, 3], "loss": [0.5, 0.25]}
    assert read_metrics("absent") == {"step": [], "loss": []}
