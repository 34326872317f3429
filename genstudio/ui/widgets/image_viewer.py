"""A large view of one generated image, with its parameters and the actions the grid offers."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout

from genstudio.tasks.images import describe_params
from genstudio.ui.widgets.images import to_pixmap

VIEW_SIZE = 512


class ImageViewer(QDialog):
    def __init__(self, grid, index: int, parent=None):
        super().__init__(parent)
        self.grid, self.index = grid, index
        self.setWindowTitle("Image")
        self.picture = QLabel(alignment=Qt.AlignmentFlag.AlignCenter)
        self.caption = QLabel(alignment=Qt.AlignmentFlag.AlignCenter, objectName="muted")
        self.caption.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QHBoxLayout()
        self.prev_button = QPushButton("◀ Previous")
        self.next_button = QPushButton("Next ▶")
        save = QPushButton("Save…")
        copy = QPushButton("Copy")
        reuse = QPushButton("Use these settings")
        close = QPushButton("Close")
        self.prev_button.clicked.connect(lambda: self.show_index(self.index - 1))
        self.next_button.clicked.connect(lambda: self.show_index(self.index + 1))
        save.clicked.connect(lambda: self.grid.save(self.index))
        copy.clicked.connect(lambda: self.grid.copy(self.index))
        reuse.clicked.connect(self._reuse)
        reuse.setVisible(getattr(grid, "reusable", True))
        close.clicked.connect(self.accept)
        for button in (self.prev_button, self.next_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        for button in (save, copy, reuse, close):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.picture, 1)
        layout.addWidget(self.caption)
        layout.addLayout(buttons)
        QShortcut(QKeySequence(Qt.Key.Key_Left), self, lambda: self.show_index(self.index - 1))
        QShortcut(QKeySequence(Qt.Key.Key_Right), self, lambda: self.show_index(self.index + 1))
        QShortcut(QKeySequence.StandardKey.Copy, self, lambda: self.grid.copy(self.index))
        QShortcut(QKeySequence.StandardKey.Save, self, lambda: self.grid.save(self.index))
        self.show_index(index)

    def show_index(self, index: int) -> None:
        count = len(self.grid.params)
        if not 0 <= index < count:
            return
        self.index = index
        self.picture.setPixmap(to_pixmap(self.grid.images[index], VIEW_SIZE))
        self.caption.setText(f"Image {index + 1} of {count} — {describe_params(self.grid.params[index])}")
        self.prev_button.setEnabled(index > 0)
        self.next_button.setEnabled(index < count - 1)

    def _reuse(self) -> None:
        self.grid.use_settings.emit(self.grid.params[self.index])
        self.accept()
