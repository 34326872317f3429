"""The training process: a full tiny run, exact stop/resume, SIGTERM and SIGKILL, bad invocations."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from genstudio.core.events import from_json
from genstudio.core.store import ModelStore
from tests.util import make_image_folder, run_trainer, start_trainer
from trainers import checkpoint
from trainers.__main__ import Emitter, build_parser, run
from trainers.loop import DataStream, StopFlag, TrainConfig, lr_at

TINY = ["ddpm", "--preset", "tiny", "--device", "cpu"]


def events_of(stdout: str) -> list:
    return [from_json(line) for line in stdout.splitlines() if line.strip()]


def train_in_process(home: Path, args: list[str], stop_at: int | None = None) -> tuple[int, list]:
    os.environ["GENSTUDIO_HOME"] = str(home)
    got, stop = [], StopFlag()
    stop.stop_at_step = stop_at
    emitter = Emitter(json_lines=True)
    emitter._print = lambda line: got.append(from_json(line))
    return run(build_parser().parse_args(args), emitter, stop), got


def tensors_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.fixture
def data(tmp_path):
    return make_image_folder(tmp_path / "data", n=10)


def test_thirty_steps_on_a_generated_folder(tmp_path, data):
    proc = run_trainer([*TINY, "--data", str(data), "--name", "blobs", "--events"], tmp_path / "home")
    assert proc.returncode == 0, proc.stderr
    events = events_of(proc.stdout)  # --events: stdout holds nothing but JSON lines
    progress = [e for e in events if e.type == "progress"]
    assert progress[-1].step == 30 and progress[-1].total == 30 and "loss" in progress[-1].metrics
    done = events[-1]
    assert done.type == "done" and done.model == "blobs" and done.steps == 30 and not done.stopped
    metrics = (tmp_path / "home" / "runs" / "blobs" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(m)["step"] for m in metrics] == list(range(1, 31))
    os.environ["GENSTUDIO_HOME"] = str(tmp_path / "home")
    card, _ = ModelStore().load("blobs")
    assert card["steps"] == 30 and card["data"]["images"] == 10 and card["arch"] == "ddpm"
    assert (tmp_path / "home" / "models" / "blobs" / "samples.png").is_file()


def test_stop_and_resume_equals_uninterrupted_run(tmp_path, data):
    args = [*TINY, "--data", str(data), "--steps", "24"]
    code, _ = train_in_process(tmp_path / "a", [*args, "--name", "run"])
    assert code == 0
    code, events = train_in_process(tmp_path / "b", [*args, "--name", "run"], stop_at=13)
    assert code == 0 and events[-1].stopped and events[-1].steps == 13
    code, events = train_in_process(tmp_path / "b", [*TINY, "--name", "run", "--resume"])
    assert code == 0 and events[-1].steps == 24 and not events[-1].stopped
    for part in ("checkpoint/tensors.safetensors",):
        a = load_file(tmp_path / "a" / "runs" / "run" / part)
        b = load_file(tmp_path / "b" / "runs" / "run" / part)
        assert tensors_equal(a, b), "resumed run diverged from the uninterrupted one"
    a = load_file(tmp_path / "a" / "models" / "run" / "weights.safetensors")
    b = load_file(tmp_path / "b" / "models" / "run" / "weights.safetensors")
    assert tensors_equal(a, b)


def _wait_for_step(proc, step: int, timeout: float = 120) -> list:
    seen, deadline = [], time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        event = from_json(line)
        seen.append(event)
        if event.type == "progress" and event.step >= step:
            return seen
    raise AssertionError(f"trainer never reached step {step}: {seen[-3:]} {proc.stderr.read()[-500:]}")


def test_sigterm_saves_and_exits_zero_then_resume_matches(tmp_path, data):
    args = [*TINY, "--data", str(data), "--steps", "120", "--name", "run", "--events"]
    proc = start_trainer(args, tmp_path / "b")
    _wait_for_step(proc, 15)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    done = events_of(out)[-1]
    assert done.type == "done" and done.stopped and 15 <= done.steps < 120
    assert ModelStore(tmp_path / "b" / "models").exists("run")  # what was trained so far is usable

    resumed = run_trainer([*TINY, "--name", "run", "--resume", "--events"], tmp_path / "b")
    assert resumed.returncode == 0, resumed.stderr
    assert events_of(resumed.stdout)[-1].steps == 120
    straight = run_trainer(args, tmp_path / "a")
    assert straight.returncode == 0, straight.stderr
    a = load_file(tmp_path / "a" / "models" / "run" / "weights.safetensors")
    b = load_file(tmp_path / "b" / "models" / "run" / "weights.safetensors")
    assert tensors_equal(a, b)


def test_stop_line_on_stdin_stops_like_the_app_does(tmp_path, data):
    proc = start_trainer([*TINY, "--data", str(data), "--steps", "2000", "--name", "ui", "--events"], tmp_path)
    _wait_for_step(proc, 5)
    proc.stdin.write("stop\n")
    proc.stdin.flush()
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert events_of(out)[-1].stopped


def test_sigkill_leaves_library_intact_and_resume_continues(tmp_path, data):
    home = tmp_path / "home"
    proc = start_trainer([*TINY, "--data", str(data), "--steps", "200", "--name", "k", "--events"], home)
    _wait_for_step(proc, 35)  # checkpoints every 10 steps in the tiny preset
    proc.kill()
    proc.communicate(timeout=60)
    store = ModelStore(home / "models", bundled=tmp_path / "none")
    models, problems = store.list()
    assert problems == [] and all(m.name != "k" for m in models)  # no half model, nothing unreadable
    found = checkpoint.find(home / "runs" / "k" / "checkpoint")
    assert found is not None and checkpoint.load_meta(found)["step"] >= 30

    resumed = run_trainer([*TINY, "--name", "k", "--resume", "--events"], home)
    assert resumed.returncode == 0, resumed.stderr
    events = events_of(resumed.stdout)
    assert any(e.type == "log" and "Resumed 'k' at step" in e.message for e in events)
    assert events[-1].steps == 200
    store.load("k")
    logged = [json.loads(line)["step"] for line in (home / "runs" / "k" / "metrics.jsonl").read_text().splitlines()]
    assert logged == list(range(1, 201))  # steps logged after the last checkpoint were not kept twice


def test_fine_tune_from_library_model(tmp_path, data):
    code, _ = train_in_process(tmp_path, [*TINY, "--data", str(data), "--name", "base", "--steps", "3"])
    assert code == 0
    code, events = train_in_process(tmp_path, [*TINY, "--data", str(data), "--name", "ft", "--from", "base",
                                               "--steps", "3"])
    assert code == 0, events
    assert any(e.type == "log" and "Fine-tuning from 'base'" in e.message for e in events)
    assert ModelStore().get("ft").card["parent"] == "base"


@pytest.mark.parametrize("case", ["empty folder", "resume without checkpoint", "name taken", "unknown preset",
                                  "missing --data"])
def test_bad_invocations_fail_with_a_message(tmp_path, data, case):
    empty = tmp_path / "empty"
    empty.mkdir()
    if case == "name taken":
        assert train_in_process(tmp_path, [*TINY, "--data", str(data), "--name", "x", "--steps", "2"])[0] == 0
    args = {"empty folder": [*TINY, "--data", str(empty), "--name", "x"],
            "resume without checkpoint": [*TINY, "--name", "nothing", "--resume"],
            "name taken": [*TINY, "--data", str(data), "--name", "x"],
            "unknown preset": ["ddpm", "--preset", "huge", "--data", str(data), "--name", "y"],
            "missing --data": [*TINY, "--name", "z"]}[case]
    code, events = train_in_process(tmp_path, args)
    assert code == 1 and events[-1].type == "failed"
    assert events[-1].detail == "" and len(events[-1].message) > 20  # a sentence, not a traceback
    expected = {"empty folder": "no image files", "resume without checkpoint": "no checkpoint",
                "name taken": "already exists", "unknown preset": "no preset 'huge'",
                "missing --data": "--data"}[case]
    assert expected in events[-1].message


def test_data_stream_is_a_pure_function_of_position():
    whole = DataStream(7, seed=3)
    first = torch.cat([whole.next_indices(4) for _ in range(5)])
    part = DataStream(7, seed=3)
    head = torch.cat([part.next_indices(4) for _ in range(2)])
    tail = DataStream(7, seed=3, consumed=part.consumed)
    rest = torch.cat([tail.next_indices(4) for _ in range(3)])
    assert torch.equal(first, torch.cat([head, rest]))
    assert sorted(first[:7].tolist()) == list(range(7))  # each epoch is a permutation


def test_lr_schedule_warms_up_then_decays_to_the_floor():
    cfg = TrainConfig(steps=100, lr=1.0, warmup_steps=10, min_lr_ratio=0.1)
    lrs = [lr_at(s, cfg) for s in range(100)]
    assert lrs[0] == pytest.approx(0.1) and lrs[9] == pytest.approx(1.0)
    assert all(a >= b for a, b in zip(lrs[10:], lrs[11:])) and lrs[-1] == pytest.approx(0.1, abs=1e-3)


def test_full_disk_during_checkpoint_is_a_message_and_the_last_checkpoint_survives(tmp_path, data, monkeypatch):
    import errno

    import trainers.checkpoint as ckpt

    real_save, calls = ckpt.save_file, []

    def save_then_fill_disk(tensors, path, *a, **k):
        calls.append(path)
        if len(calls) > 1:  # the first checkpoint (step 10) fits, the next finds the disk full
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(tensors, path, *a, **k)

    monkeypatch.setattr(ckpt, "save_file", save_then_fill_disk)
    code, events = train_in_process(tmp_path, [*TINY, "--data", str(data), "--name", "full", "--steps", "30"])
    assert code == 1 and events[-1].type == "failed" and "No space left" in events[-1].message
    assert "--resume" in events[-1].message
    found = ckpt.find(tmp_path / "runs" / "full" / "checkpoint")
    assert ckpt.load_meta(found)["step"] == 10
    assert not list((tmp_path / "runs" / "full").glob(".checkpoint-*.tmp"))  # no half checkpoint left
    monkeypatch.setattr(ckpt, "save_file", real_save)
    code, events = train_in_process(tmp_path, [*TINY, "--name", "full", "--resume"])
    assert code == 0 and events[-1].steps == 30


def test_overwrite_with_a_bad_setting_keeps_the_old_run(tmp_path, data):
    assert train_in_process(tmp_path, [*TINY, "--data", str(data), "--name", "keep", "--steps", "10"])[0] == 0
    code, events = train_in_process(tmp_path, ["ddpm", "--preset", "hueg", "--data", str(data), "--name", "keep",
                                               "--overwrite"])
    assert code == 1 and "no preset 'hueg'" in events[-1].message
    assert checkpoint.find(tmp_path / "runs" / "keep" / "checkpoint") is not None
    assert ModelStore().exists("keep")


def test_fine_tune_refuses_a_different_network(tmp_path, data):
    assert train_in_process(tmp_path, [*TINY, "--data", str(data), "--name", "base", "--steps", "2"])[0] == 0
    custom = tmp_path / "wider.toml"
    custom.write_text("[model]\nbase_width = 32\n")
    code, events = train_in_process(tmp_path, [*TINY, "--data", str(data), "--name", "ft", "--from", "base",
                                               "--config", str(custom)])
    assert code == 1 and "--from keeps the network" in events[-1].message
