"""The page a canvas shows while the library has no model it can run: a sentence and a "Go to Train" button."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPushButton, QVBoxLayout, QWidget


def empty_page(on_go_train) -> tuple[QWidget, QLabel, QPushButton]:
    """(page, label, button): the canvas sets the label's sentence and hides the button while loading."""
    page = QWidget()
    label = QLabel(objectName="empty", alignment=Qt.AlignmentFlag.AlignCenter, wordWrap=True)
    button = QPushButton("Go to Train", objectName="primary")
    button.clicked.connect(on_go_train)
    layout = QVBoxLayout(page)
    layout.addStretch(1)
    layout.addWidget(label)
    layout.addWidget(button, 0, Qt.AlignmentFlag.AlignHCenter)
    layout.addStretch(1)
    return page, label, button
