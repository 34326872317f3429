"""The UI thread stays free while jobs run: a QTimer heartbeat on it must never stall for long.

A loose, quick version of benchmarks/ui_responsiveness.py (whose target is 50 ms): here any gap over
LIMIT_MS fails, so only a real block of the UI thread (work done in a slot, a synchronous wait, an
import on the UI thread) trips it, not a busy shared machine.
"""

from __future__ import annotations

import time

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import Qt, QTimer  # noqa: E402

from tests.util import make_image_folder  # noqa: E402

LIMIT_MS = 250
INTERVAL_MS = 10


class Heartbeat:
    """Ticks every INTERVAL_MS on the UI thread and keeps each tick's time; gaps are the measure."""

    def __init__(self):
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(INTERVAL_MS)
        self.timer.timeout.connect(self._tick)
        self.ticks: list[float] = []
        self.marks: list[tuple[float, str]] = []

    def __enter__(self):
        self.ticks = [time.perf_counter()]
        self.timer.start()
        return self

    def __exit__(self, *exc):
        self._tick()
        self.timer.stop()

    def _tick(self):
        self.ticks.append(time.perf_counter())

    def mark(self, label: str) -> None:
        self.marks.append((time.perf_counter(), label))

    def gaps_ms(self) -> list[float]:
        return [(b - a) * 1000 for a, b in zip(self.ticks, self.ticks[1:])]

    def stalls(self, limit_ms: float = LIMIT_MS) -> list[str]:
        """Each gap over ``limit_ms``, with when it began and the last thing marked before it ended."""
        out = []
        for i, gap in enumerate(self.gaps_ms()):
            if gap > limit_ms:
                during = [label for when, label in self.marks if when <= self.ticks[i + 1]]
                out.append(f"{gap:.0f} ms at {self.ticks[i] - self.ticks[0]:.2f} s "
                           f"(after: {during[-1] if during else 'start'})")
        return out


def assert_responsive(beat: Heartbeat, what: str) -> None:
    assert len(beat.ticks) > 10, f"the heartbeat hardly ticked while {what}"
    stalls = beat.stalls()
    assert not stalls, f"the UI thread stalled over {LIMIT_MS} ms while {what}: {stalls}"


@pytest.fixture
def shown_window(qtbot, monkeypatch):
    """The real main window, shown, with its registry loaded; modal warnings recorded, not shown.

    The app's CPU-threads setting is 1: on a busy 2-core machine a 2-thread torch job crawls (every
    OpenMP region waits for a core), which would make this quick test slow, not more telling."""
    import torch

    from genstudio.ui.main_window import MainWindow
    from genstudio.ui.settings import Settings
    from genstudio.ui.widgets import dialogs

    warnings: list[str] = []
    monkeypatch.setattr(dialogs, "warn", lambda parent, title, text: warnings.append(f"{title}: {text}"))
    settings = Settings()
    settings.threads = 1  # the generate worker and the trainer child both take it
    win = MainWindow(settings)
    win.warnings = warnings
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: bool(win.specs) and win.generate.model_box.count() > 0, timeout=60_000)
    threads = torch.get_num_threads()
    yield win
    torch.set_num_threads(threads)  # the generate worker set it for the whole process
    if win.train.run is not None:  # never leave a trainer behind
        win.train.run.kill()
        if hasattr(win.train.run, "process"):
            win.train.run.process.waitForFinished(10_000)


def test_the_heartbeat_catches_a_blocked_ui_thread(qtbot):
    with Heartbeat() as beat:
        qtbot.wait(100)
        beat.mark("sleep on the UI thread")
        QTimer.singleShot(0, lambda: time.sleep(0.4))
        qtbot.wait(200)
    stalls = beat.stalls()
    assert len(stalls) == 1 and "after: sleep on the UI thread" in stalls[0]
    assert max(beat.gaps_ms()) >= 390
    with pytest.raises(AssertionError, match="stalled over 250 ms while sleeping"):
        assert_responsive(beat, "sleeping")


def test_the_ui_stays_responsive_while_generating(qtbot, shown_window):
    gen = shown_window.generate
    assert gen.select_model("starter-emoji")
    gen.count_box.setValue(8)
    gen.steps_box.setValue(10)
    qtbot.wait(100)
    with Heartbeat() as beat:
        gen.generate_button.click()  # the first generation also loads the model, in the worker
        assert gen.worker is not None
        gen.worker.signals.event.connect(lambda event: beat.mark(type(event).__name__))
        gen.worker.signals.finished.connect(lambda _result: beat.mark("results shown"))
        qtbot.waitUntil(lambda: gen.worker is None, timeout=60_000)
        qtbot.wait(200)  # the results grid's first paint
    assert gen.grid.count() == 8 and not shown_window.warnings
    assert_responsive(beat, "generating")


def test_the_ui_stays_responsive_while_training(qtbot, shown_window, tmp_path):
    train = shown_window.train
    shown_window.show_canvas("Train")  # builds the loss plot (imports pyqtgraph): before measuring
    train.arch_box.setCurrentIndex(train.arch_box.findData("ddpm"))
    train.preset_box.setCurrentIndex(train.preset_box.findData("tiny"))  # 30 steps
    if hasattr(train, "preview_box"):
        train.preview_box.setValue(10)  # previews too
    train.name_edit.setText("heartbeat")
    train.set_folder(str(make_image_folder(tmp_path / "data", n=8, size=32)))
    qtbot.waitUntil(train.start_button.isEnabled, timeout=30_000)
    qtbot.wait(100)
    ended = []
    with Heartbeat() as beat:
        train.start_button.click()  # the trainer child process starts
        assert train.run is not None
        train.run.event.connect(lambda event: beat.mark(type(event).__name__))
        train.run.ended.connect(lambda outcome: (ended.append(outcome), beat.mark(f"ended: {outcome.kind}")))
        qtbot.waitUntil(lambda: train.run is None, timeout=120_000)
        qtbot.wait(200)
    assert [o.kind for o in ended] == ["finished"], ended and ended[0].message
    assert len(train.plot.steps) > 0 and not shown_window.warnings
    assert_responsive(beat, "training")
