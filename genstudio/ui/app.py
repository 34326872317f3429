"""Start the Qt application: settings, theme, main window, event loop."""

from __future__ import annotations

import os
import sys


def run_app(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from genstudio.ui.main_window import MainWindow
    from genstudio.ui.settings import Settings
    from genstudio.ui.theme import apply_theme
    from genstudio.ui.training_process import has_detached_trainers
    from genstudio.ui.workers import MainThreadGarbageCollector

    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("GenStudio")
    app.setOrganizationName("GenStudio")
    MainThreadGarbageCollector(parent=app)  # cyclic GC only on this thread: never in a worker
    settings = Settings()
    settings.apply_environment()
    apply_theme(app, settings.theme)
    window = MainWindow(settings)
    window.show()
    code = app.exec()
    if has_detached_trainers():
        # The user chose "keep training": leave without running QProcess's destructor, which would
        # kill the trainer. Everything worth saving (settings) was saved in closeEvent.
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
