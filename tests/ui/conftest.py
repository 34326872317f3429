"""A real main window over a throwaway GenStudio home, with the registry loaded (torch imported)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")


@pytest.fixture(autouse=True, scope="session")
def main_thread_gc(qapp):
    """As in the app: cyclic garbage (Qt objects of earlier tests among it) is collected on the UI thread,
    never in a worker thread, which would crash Qt."""
    from genstudio.ui.workers import MainThreadGarbageCollector

    collector = MainThreadGarbageCollector(parent=qapp)
    yield collector
    collector.stop()


@pytest.fixture
def answers(monkeypatch):
    """Records every modal question the app asks and answers it from ``answers.replies``."""
    from genstudio.ui.widgets import dialogs

    class Answers:
        warnings: list[tuple[str, str]] = []
        replies: dict[str, object] = {}

    got = Answers()
    got.warnings, got.replies = [], {}
    monkeypatch.setattr(dialogs, "warn", lambda parent, title, text: got.warnings.append((title, text)))
    monkeypatch.setattr(dialogs, "inform", lambda parent, title, text: None)
    for name in ("confirm", "choose", "ask_text", "open_file", "open_files", "save_file", "open_folder"):
        monkeypatch.setattr(dialogs, name, lambda *a, _n=name, **k: got.replies.get(_n))
    return got


@pytest.fixture
def window(qtbot, answers):
    from genstudio.ui.main_window import MainWindow
    from genstudio.ui.settings import Settings

    win = MainWindow(Settings())
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: bool(win.specs), timeout=60_000)
    yield win
    if win.train.run is not None:  # never leave a trainer behind
        win.train.run.kill()
        if hasattr(win.train.run, "process"):
            win.train.run.process.waitForFinished(10_000)
