"""The main window: for now the model library (thumbnails, details) over ModelStore.

The canvases (Generate, Train, ...) arrive as panels in this window; the library is what the core
already offers and what every canvas will pick models from.
"""

from __future__ import annotations

import json

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QIcon, QKeySequence, QPixmap
from PySide6.QtWidgets import (
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QMessageBox,
    QPlainTextEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from genstudio import __version__
from genstudio.core.store import ModelStore


class MainWindow(QMainWindow):
    def __init__(self, store: ModelStore | None = None):
        super().__init__()
        self.store = store or ModelStore()
        self.setWindowTitle("GenStudio")
        self.resize(980, 640)

        self.models = QListWidget()
        self.models.setIconSize(QSize(96, 96))
        self.models.currentItemChanged.connect(self._show_details)
        self.details = QPlainTextEdit(readOnly=True)
        self.preview = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        right = QWidget()
        layout = QVBoxLayout(right)
        layout.addWidget(self.preview)
        layout.addWidget(self.details, 1)
        splitter = QSplitter()
        splitter.addWidget(self.models)
        splitter.addWidget(right)
        splitter.setSizes([360, 620])
        self.setCentralWidget(splitter)

        file_menu = self.menuBar().addMenu("&File")
        refresh = QAction("&Refresh library", self, shortcut=QKeySequence.StandardKey.Refresh)
        refresh.triggered.connect(self.refresh)
        quit_action = QAction("&Quit", self, shortcut=QKeySequence.StandardKey.Quit)
        quit_action.triggered.connect(self.close)
        file_menu.addActions([refresh, quit_action])
        about = QAction("&About GenStudio", self)
        about.triggered.connect(self._about)
        self.menuBar().addMenu("&Help").addAction(about)
        self.refresh()

    def refresh(self) -> None:
        self.models.clear()
        models, problems = self.store.list()
        for info in models:
            item = QListWidgetItem(f"{info.name}\n{info.arch} · {info.card['steps']} steps"
                                   + (" · bundled" if info.bundled else ""))
            if info.samples_path:
                item.setIcon(QIcon(str(info.samples_path)))
            item.setData(Qt.ItemDataRole.UserRole, info)
            self.models.addItem(item)
        bundled = sum(m.bundled for m in models)
        note = f"{len(models) - bundled} of your models in {self.store.root}, {bundled} bundled"
        if problems:
            note += f" · {len(problems)} unreadable folder(s): {problems[0]}"
        if not models:
            self.details.setPlainText("No models yet. Train one from a terminal:\n\n"
                                      "  genstudio train ddpm --data YOUR_FOLDER --name my-model")
        self.statusBar().showMessage(note)
        if models:
            self.models.setCurrentRow(0)

    def _show_details(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        info = item.data(Qt.ItemDataRole.UserRole)
        self.details.setPlainText(json.dumps(info.card, indent=2))
        pixmap = QPixmap(str(info.samples_path)) if info.samples_path else QPixmap()
        self.preview.setPixmap(pixmap.scaled(256, 256, Qt.AspectRatioMode.KeepAspectRatio,
                                             Qt.TransformationMode.FastTransformation) if not pixmap.isNull() else pixmap)

    def _about(self) -> None:
        QMessageBox.about(self, "About GenStudio", f"GenStudio {__version__}\nLocal generative art studio.")
