"""Following a trainer through its run folder: events, the end, and a trainer that died."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest.importorskip("PySide6")

from genstudio.core.events import Done, Log, Progress, to_json  # noqa: E402
from genstudio.core.paths import runs_dir  # noqa: E402
from genstudio.ui.training_process import FollowedRun, pid_alive, running_trainers  # noqa: E402


def write_events(folder, *events):
    with open(folder / "events.jsonl", "a", encoding="utf-8") as fh:
        for event in events:
            fh.write(to_json(event) + "\n")


def test_a_followed_run_reads_only_this_session_and_ends_with_its_done(qtbot):
    folder = runs_dir() / "r"
    folder.mkdir(parents=True)
    write_events(folder, Done(model="r", steps=10, stopped=True))  # an earlier session
    offset = (folder / "events.jsonl").stat().st_size
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        (folder / "trainer.pid").write_text(json.dumps({"pid": sleeper.pid, "events_offset": offset}))
        assert running_trainers()[0][0] == "r"
        run = FollowedRun("r", {"pid": sleeper.pid, "events_offset": offset})
        got = []
        run.event.connect(got.append)
        run.start()
        write_events(folder, Log("Resumed"), Progress(12, 20, 1.0, {"loss": 0.1}))
        qtbot.waitUntil(lambda: len(got) == 2, timeout=5000)
        run.stop()
        assert (folder / "stop.request").exists()  # how the trainer is asked to stop
        with qtbot.waitSignal(run.ended, timeout=5000) as ended:
            write_events(folder, Done(model="r", steps=12, stopped=True))
        assert ended.args[0].kind == "stopped" and ended.args[0].steps == 12
    finally:
        sleeper.kill()


def test_a_followed_trainer_that_dies_is_reported_as_crashed(qtbot):
    folder = runs_dir() / "dead"
    folder.mkdir(parents=True)
    sleeper = subprocess.Popen([sys.executable, "-c", "pass"])
    sleeper.wait()
    assert not pid_alive(sleeper.pid)
    run = FollowedRun("dead", {"pid": sleeper.pid})
    with qtbot.waitSignal(run.ended, timeout=5000) as ended:
        run.start()
    assert ended.args[0].kind == "crashed" and "Resume" in ended.args[0].message
