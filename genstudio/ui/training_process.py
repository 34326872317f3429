"""A training run seen from the window: a trainer child process, or one already running elsewhere.

``TrainingProcess`` starts ``python -m trainers ... --events`` (the frozen app re-launches its own
executable, see core/launch.py) with QProcess and turns its JSON-Lines stdout into core events.
``FollowedRun`` re-attaches to a trainer this window did not start (it kept training after the app
was closed, or the app crashed): it tails the run's ``events.jsonl`` and asks it to stop through a
``stop.request`` file. Both end with one ``TrainOutcome``: finished, stopped, failed or crashed.
"""

from __future__ import annotations

import collections
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer, Signal

from genstudio.core.events import Done, Failed, Log, from_json
from genstudio.core.launch import trainer_command
from genstudio.core.paths import runs_dir

PID_FILE, STOP_FILE, EVENTS_FILE = "trainer.pid", "stop.request", "events.jsonl"
LAST_LINES = 40


@dataclass
class TrainOutcome:
    kind: str  # "finished", "stopped", "failed" (the trainer said why) or "crashed" (it did not)
    message: str
    model: str | None = None
    steps: int | None = None
    last_lines: list[str] = field(default_factory=list)


class TrainingRun(QObject):
    """What both kinds of run share: parsing lines into events, remembering the end, the outcome."""

    event = Signal(object)  # Progress, Preview, Log, Done, Failed
    line = Signal(str)  # output that is not an event (warnings on stderr, stray prints)
    ended = Signal(object)  # TrainOutcome, exactly once

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(parent)
        self.name = name
        self.last_lines: collections.deque[str] = collections.deque(maxlen=LAST_LINES)
        self.final: Done | Failed | None = None
        self._ended = False

    def _take_line(self, text: str) -> None:
        text = text.rstrip("\r\n")
        if not text.strip():
            return
        try:
            event = from_json(text)
        except ValueError:
            self.last_lines.append(text)
            self.line.emit(text)
            return
        if isinstance(event, Log | Failed):
            self.last_lines.append(event.message)
        if isinstance(event, Done | Failed):
            self.final = event
        self.event.emit(event)

    def _end(self, crash_reason: str) -> None:
        if self._ended:
            return
        self._ended = True
        final, lines = self.final, list(self.last_lines)
        if isinstance(final, Done):
            kind = "stopped" if final.stopped else "finished"
            verb = "Stopped and saved" if final.stopped else "Finished"
            outcome = TrainOutcome(kind, f"{verb}: '{final.model}' after {final.steps} steps is in the library.",
                                   final.model, final.steps, lines)
        elif isinstance(final, Failed):
            outcome = TrainOutcome("failed", final.message, last_lines=lines)
        else:
            outcome = TrainOutcome("crashed", crash_reason, last_lines=lines)
        self.ended.emit(outcome)


class TrainingProcess(TrainingRun):
    """The trainer as a QProcess child of this window."""

    def __init__(self, name: str, parent: QObject | None = None):
        super().__init__(name, parent)
        self.process = QProcess(self)
        self.process.readyReadStandardOutput.connect(self._read_stdout)
        self.process.readyReadStandardError.connect(self._read_stderr)
        self.process.finished.connect(self._on_finished)
        self.process.errorOccurred.connect(self._on_error)
        self._buffers = {"out": b"", "err": b""}
        self.stop_requested = False
        self.detached = False

    def start(self, train_args: list[str]) -> None:
        command = trainer_command([*train_args, "--events"])
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        env.insert("PYTHONIOENCODING", "utf-8")
        self.process.setProcessEnvironment(env)
        self.process.setProgram(command[0])
        self.process.setArguments(command[1:])
        self.process.start()

    def is_running(self) -> bool:
        return self.process.state() != QProcess.ProcessState.NotRunning

    def stop(self) -> None:
        """Ask the trainer to save a checkpoint, publish the model so far, and exit."""
        self.stop_requested = True
        if self.is_running():
            self.process.write(b"stop\n")

    def kill(self) -> None:
        self.process.kill()

    def detach(self) -> None:
        """Let the trainer outlive this window (the app exits without killing it; see ui/app.py)."""
        self.detached = True
        _detached.append(self)
        self.process.closeWriteChannel()  # the trainer's stop listener sees EOF and keeps training

    def _read_stdout(self) -> None:
        self._read("out", bytes(self.process.readAllStandardOutput().data()))

    def _read_stderr(self) -> None:
        self._read("err", bytes(self.process.readAllStandardError().data()))

    def _read(self, stream: str, data: bytes) -> None:
        lines = (self._buffers[stream] + data).split(b"\n")
        self._buffers[stream] = lines.pop()
        for raw in lines:
            text = raw.decode("utf-8", errors="replace")
            if stream == "out":
                self._take_line(text)
            elif text.strip():
                self.last_lines.append(text)
                self.line.emit(text)

    def _on_finished(self, exit_code: int, exit_status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        self._read_stderr()
        for stream in ("out", "err"):
            if self._buffers[stream]:
                self._read(stream, b"\n")
        if exit_status == QProcess.ExitStatus.CrashExit:
            reason = "The trainer was killed or crashed"
        else:
            reason = f"The trainer exited with code {exit_code} without finishing"
        self._end(f"{reason}. Its last checkpoint is kept: press Resume to continue.")

    def _on_error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart:
            self._end(f"The trainer could not be started ({self.process.errorString()}).")


_detached: list[TrainingProcess] = []


def has_detached_trainers() -> bool:
    return any(p.is_running() for p in _detached)


# -- runs started elsewhere ------------------------------------------------------------------------
def pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if sys.platform == "win32":
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def read_pid_file(run_dir: Path) -> dict | None:
    try:
        data = json.loads((run_dir / PID_FILE).read_text(encoding="utf-8"))
        return data if isinstance(data, dict) and isinstance(data.get("pid"), int) else None
    except (OSError, ValueError):
        return None


def running_trainers() -> list[tuple[str, dict]]:
    """(run name, pid file) of trainers alive now, started by this window or any other."""
    found = []
    root = runs_dir()
    if not root.is_dir():
        return found
    for run_dir in sorted(root.iterdir()):
        info = read_pid_file(run_dir) if run_dir.is_dir() else None
        if info and pid_alive(info["pid"]):
            found.append((run_dir.name, info))
    return found


class FollowedRun(TrainingRun):
    """A trainer started elsewhere, followed through its run folder."""

    POLL_MS = 400

    def __init__(self, name: str, info: dict, parent: QObject | None = None):
        super().__init__(name, parent)
        self.run_dir = runs_dir() / name
        self.pid = info["pid"]
        self.offset = int(info.get("events_offset", 0))
        self._partial = b""
        self.timer = QTimer(self, interval=self.POLL_MS)
        self.timer.timeout.connect(self.poll)

    def start(self) -> None:
        self.poll()
        self.timer.start()

    def is_running(self) -> bool:
        return not self._ended

    def stop(self) -> None:
        (self.run_dir / STOP_FILE).write_text("stop\n")

    def kill(self) -> None:
        import signal

        try:
            os.kill(self.pid, signal.SIGKILL if hasattr(signal, "SIGKILL") else signal.SIGTERM)
        except OSError:
            pass

    def detach(self) -> None:
        self.timer.stop()

    def poll(self) -> None:
        self._read_new_lines()
        if self.final is not None or not pid_alive(self.pid):
            self._read_new_lines()
            self.timer.stop()
            self._end("The trainer stopped without finishing (killed or crashed). Its last checkpoint "
                      "is kept: press Resume to continue.")

    def _read_new_lines(self) -> None:
        try:
            with open(self.run_dir / EVENTS_FILE, "rb") as fh:
                fh.seek(self.offset)
                data = fh.read()
        except OSError:
            return
        self.offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        for raw in lines:
            self._take_line(raw.decode("utf-8", errors="replace"))
