"""The Text canvas's sampling controls: temperature, top-k, top-p, repetition penalty, length, stop
sequences, seed and the number of alternatives a fill offers.

Stop sequences are typed comma-separated or one per line; ``\\n`` stands for a line break (so a blank
line is ``\\n\\n``), ``\\,`` for a comma and ``\\\\`` for a backslash.
"""

from __future__ import annotations

import random
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from genstudio.ui.settings import Settings

MAX_SEED = 2**31 - 1
ESCAPES = {"n": "\n", "t": "\t", ",": ",", "\\": "\\"}
DEFAULTS = {"temperature": 0.8, "top_k": 0, "top_p": 0.95, "repetition_penalty": 1.1, "max_tokens": 200,
            "stop": "", "seed": 0, "n": 3}


def parse_stop_sequences(text: str) -> list[str]:
    """The stop sequences in the field: split at commas and line breaks, typed spaces around each trimmed,
    escapes decoded, empty ones and repeats dropped."""
    pieces, piece, chars = [], [], iter(text)
    for char in chars:
        if char == "\\":
            piece.append(char + next(chars, "\\"))  # kept whole: an escaped comma does not split
        elif char in ",\n":
            pieces.append(piece)
            piece = []
        else:
            piece.append(char)
    pieces.append(piece)
    stops = []
    for parts in pieces:
        while parts and parts[0] in (" ", "\t"):
            parts = parts[1:]
        while parts and parts[-1] in (" ", "\t"):
            parts = parts[:-1]
        item = "".join(ESCAPES.get(p[1], p) if len(p) == 2 else p for p in parts)
        if item and item not in stops:
            stops.append(item)
    return stops


class StopEdit(QPlainTextEdit):
    """A couple of lines for stop sequences; Tab moves on and Ctrl+Enter reaches the canvas."""

    def __init__(self, parent=None):
        super().__init__(parent, placeholderText="Comma or one per line; \\n is a line break")
        self.setTabChangesFocus(True)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * 2 + 14)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and event.modifiers() & Qt.KeyboardModifier.ControlModifier:
            event.ignore()
            return
        super().keyPressEvent(event)


class WritingOptions(QWidget):
    """The form; ``values()`` gives the request fields shared by continuing and filling."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.temperature_box = QDoubleSpinBox(minimum=0.05, maximum=2.0, singleStep=0.05, decimals=2)
        self.temperature_box.setToolTip("Lower: safer, more repetitive words; higher: more surprising ones")
        self.top_k_box = QSpinBox(minimum=0, maximum=1000, specialValueText="off")
        self.top_k_box.setToolTip("Choose each token among the k most likely only (0: off)")
        self.top_p_box = QDoubleSpinBox(minimum=0.05, maximum=1.0, singleStep=0.05, decimals=2)
        self.top_p_box.setToolTip("Choose among the most likely tokens that together make up this much of the "
                                  "probability (nucleus sampling; 1: off)")
        self.penalty_box = QDoubleSpinBox(minimum=1.0, maximum=2.0, singleStep=0.05, decimals=2)
        self.penalty_box.setToolTip("Makes tokens already in the text less likely, against loops (1: off)")
        self.max_tokens_box = QSpinBox(minimum=1, maximum=4096, singleStep=50)
        self.max_tokens_box.setToolTip("The longest continuation or fill, in tokens")
        self.stop_edit = StopEdit()
        self.stop_edit.setToolTip("Writing stops before any of these (not included). Comma-separated or one per "
                                  "line; \\n is a line break, so \\n\\n stops at a blank line; \\, is a comma.")
        self.seed_box = QSpinBox(minimum=0, maximum=MAX_SEED)
        self.seed_box.setToolTip("The same seed and settings write the same text again")
        self.dice = QPushButton("Random", toolTip="A new random seed")
        self.dice.clicked.connect(self.new_seed)
        self.random_seed = QCheckBox("New seed each time")
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_box, 1)
        seed_row.addWidget(self.dice)
        self.count_box = QSpinBox(minimum=1, maximum=8)
        self.count_box.setToolTip("How many versions a fill offers; version i uses seed + i")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Temperature", self.temperature_box)
        form.addRow("Top-k", self.top_k_box)
        form.addRow("Top-p", self.top_p_box)
        form.addRow("Repetition\npenalty", self.penalty_box)
        form.addRow("Max tokens", self.max_tokens_box)
        form.addRow("Stop at", self.stop_edit)
        form.addRow("Seed", seed_row)
        form.addRow("", self.random_seed)
        form.addRow("Alternatives", self.count_box)
        self.apply(DEFAULTS)

    def new_seed(self) -> int:
        seed = random.randint(0, MAX_SEED)
        self.seed_box.setValue(seed)
        return seed

    def next_seed(self) -> int:
        """The seed for a run: a fresh one when "New seed each time" is on."""
        return self.new_seed() if self.random_seed.isChecked() else self.seed_box.value()

    def stop_sequences(self) -> list[str]:
        return parse_stop_sequences(self.stop_edit.toPlainText())

    def values(self) -> dict[str, Any]:
        """Sampling settings (WriteRequest's names); the seed is read as it is now."""
        return {"temperature": round(self.temperature_box.value(), 3), "top_k": self.top_k_box.value(),
                "top_p": round(self.top_p_box.value(), 3), "repetition_penalty": round(self.penalty_box.value(), 3),
                "max_tokens": self.max_tokens_box.value(), "seed": self.seed_box.value()}

    def apply(self, values: dict[str, Any]) -> None:
        boxes = {"temperature": self.temperature_box, "top_k": self.top_k_box, "top_p": self.top_p_box,
                 "repetition_penalty": self.penalty_box, "max_tokens": self.max_tokens_box, "seed": self.seed_box,
                 "n": self.count_box}
        for key, box in boxes.items():
            if key in values:
                try:
                    box.setValue(type(box.value())(values[key]))
                except (TypeError, ValueError):
                    box.setValue(DEFAULTS[key])
        if "stop" in values:
            self.stop_edit.setPlainText(str(values["stop"] or ""))

    def restore(self, settings: Settings, prefix: str) -> None:
        self.apply({key: settings.get(f"{prefix}/{key}", default) for key, default in DEFAULTS.items()})
        self.random_seed.setChecked(str(settings.get(f"{prefix}/random_seed", "false")).lower() == "true")

    def save(self, settings: Settings, prefix: str) -> None:
        for key, value in self.values().items():
            settings.set(f"{prefix}/{key}", value)
        settings.set(f"{prefix}/n", self.count_box.value())
        settings.set(f"{prefix}/stop", self.stop_edit.toPlainText())
        settings.set(f"{prefix}/random_seed", self.random_seed.isChecked())

    def set_enabled(self, enabled: bool) -> None:
        for widget in (self.temperature_box, self.top_k_box, self.top_p_box, self.penalty_box, self.max_tokens_box,
                       self.stop_edit, self.seed_box, self.dice, self.random_seed, self.count_box):
            widget.setEnabled(enabled)
