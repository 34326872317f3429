"""Start the Qt application: theme, main window, event loop."""

from __future__ import annotations

import sys


def run_app(argv: list[str] | None = None) -> int:
    from PySide6.QtWidgets import QApplication

    from genstudio.core.paths import resources_dir
    from genstudio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(argv or sys.argv[:1])
    app.setApplicationName("GenStudio")
    app.setOrganizationName("GenStudio")
    theme = resources_dir() / "theme" / "light.qss"
    if theme.is_file():
        app.setStyleSheet(theme.read_text(encoding="utf-8"))
    window = MainWindow()
    window.show()
    return app.exec()
