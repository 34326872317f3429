"""The Text canvas's fill alternatives: one row per version of the gap, filling in as the model writes.

Clicking a row asks the canvas to preview that version in the text; "Use" keeps the one shown and
"Discard" puts the original back. Rows show line breaks as ⏎ so a version stays a compact paragraph.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout

SHOWN_CHARS = 600  # a row shows the start of a long version; the preview shows all of it


def row_text(index: int, text: str) -> str:
    shown = text if len(text) <= SHOWN_CHARS else text[:SHOWN_CHARS] + "…"
    return f"{index + 1}.  " + (shown.replace("\n", " ⏎ ") if shown else "…")


class AlternativesList(QFrame):
    picked = Signal(int)  # a version to preview in the text
    use = Signal()
    discard = Signal()

    def __init__(self, parent=None):
        super().__init__(parent, objectName="panel")
        self.texts: list[str] = []
        self.current = -1
        self.heading = QLabel("Alternatives", objectName="heading")
        self.info = QLabel(objectName="muted", wordWrap=True)
        self.rows = QListWidget()
        self.rows.setWordWrap(True)
        self.rows.setSpacing(3)
        self.rows.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.rows.setVerticalScrollMode(QListWidget.ScrollMode.ScrollPerPixel)
        self.rows.currentRowChanged.connect(self._current_changed)  # a click, or the arrow keys
        self.use_button = QPushButton("Use", objectName="primary", toolTip="Keep the version shown in the text "
                                                                           "(Ctrl+Z undoes it)")
        self.use_button.clicked.connect(self.use)
        self.discard_button = QPushButton("Discard", toolTip="Put the original text back and close the list")
        self.discard_button.clicked.connect(self.discard)
        buttons = QHBoxLayout()
        buttons.addWidget(self.use_button, 1)
        buttons.addWidget(self.discard_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(10, 8, 10, 10)
        layout.addWidget(self.heading)
        layout.addWidget(self.info)
        layout.addWidget(self.rows, 1)
        layout.addLayout(buttons)
        self.set_choosable(False)

    def start(self, count: int, info: str) -> None:
        """``count`` empty rows, to be filled by ``append``."""
        self.clear()
        self.texts = [""] * count
        for index in range(count):
            self.rows.addItem(QListWidgetItem(row_text(index, "")))
        self.info.setText(info)

    def append(self, index: int, text: str) -> None:
        if 0 <= index < len(self.texts):
            self.texts[index] += text
            self._refresh(index)

    def set_texts(self, texts: list[str]) -> None:
        """The finished versions (the task's word over what streamed in)."""
        for index, text in enumerate(texts[:len(self.texts)]):
            self.texts[index] = text
            self._refresh(index)

    def _refresh(self, index: int) -> None:
        self.rows.item(index).setText(row_text(index, self.texts[index]))
        self.rows.item(index).setToolTip(f"Version {index + 1}: {len(self.texts[index]):,} characters. "
                                         "Click to see it in the text.")

    def set_info(self, info: str) -> None:
        self.info.setText(info)

    def set_choosable(self, choosable: bool) -> None:
        """Rows can be picked and used once the run is over."""
        self.rows.setEnabled(choosable)
        self.use_button.setEnabled(choosable and self.current >= 0)
        self.discard_button.setEnabled(choosable)

    def pick(self, index: int) -> None:
        if not 0 <= index < len(self.texts) or not self.rows.isEnabled():
            return
        self.current = index
        self.rows.blockSignals(True)
        self.rows.setCurrentRow(index)
        self.rows.blockSignals(False)
        self.use_button.setEnabled(True)
        self.picked.emit(index)

    def _current_changed(self, row: int) -> None:
        if row != self.current:
            self.pick(row)

    def text(self, index: int) -> str:
        return self.texts[index]

    def count(self) -> int:
        return len(self.texts)

    def clear(self) -> None:
        self.rows.clear()
        self.texts, self.current = [], -1
        self.info.setText("")
