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


def show_work_or_empty(canvas, has_models: bool, loading: bool, empty_text: str) -> None:
    """Show a canvas's work page (and its controls) when it has models to run, else its empty page,
    which says "Loading models…" without the button while the library is still loading. The canvas
    keeps the page from ``empty_page`` as ``empty``/``empty_label``/``empty_button`` beside ``work``,
    the stack ``view`` and the side panel ``controls``."""
    canvas.empty_label.setText("Loading models…" if loading else empty_text)
    canvas.empty_button.setVisible(not loading)
    canvas.view.setCurrentWidget(canvas.work if has_models else canvas.empty)
    canvas.controls.setVisible(has_models)
