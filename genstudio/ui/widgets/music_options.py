"""The Music canvas's composing controls: how much new music (bars or seconds), temperature, top-p and
the seed. Top-p applies to the Music Transformer's event sampling only, so it hides for a MusicVAE.
"""

from __future__ import annotations

import random
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)

from genstudio.ui.settings import Settings

MAX_SEED = 2**31 - 1
UNITS = ("bars", "seconds")
DEFAULTS = {"length": 8.0, "unit": "bars", "temperature": 1.0, "top_p": 0.95, "seed": 0}
LIMITS = {"bars": (1.0, 256.0, 1.0, 0), "seconds": (1.0, 600.0, 5.0, 1)}  # minimum, maximum, step, decimals


class MusicOptions(QWidget):
    """The form; ``values()`` gives the ComposeRequest fields it sets."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.length_box = QDoubleSpinBox()
        self.length_box.setToolTip("How much new music to write")
        self.unit_box = QComboBox()
        for unit in UNITS:
            self.unit_box.addItem(unit, unit)
        self.unit_box.currentIndexChanged.connect(self._unit_changed)
        length_row = QHBoxLayout()
        length_row.addWidget(self.length_box, 1)
        length_row.addWidget(self.unit_box)
        self.temperature_box = QDoubleSpinBox(minimum=0.0, maximum=2.0, singleStep=0.05, decimals=2)
        self.temperature_box.setToolTip("Lower: safer, more predictable music (0: always the likeliest note); "
                                        "higher: more surprising")
        self.top_p_box = QDoubleSpinBox(minimum=0.05, maximum=1.0, singleStep=0.05, decimals=2)
        self.top_p_box.setToolTip("Choose each event among the likeliest ones that together make up this much of "
                                  "the probability (nucleus sampling; 1: off)")
        self.top_p_label = QLabel("Top-p")
        self.seed_box = QSpinBox(minimum=0, maximum=MAX_SEED)
        self.seed_box.setToolTip("The same seed, settings and notes compose the same music again")
        self.dice = QPushButton("Random", toolTip="A new random seed")
        self.dice.clicked.connect(self.new_seed)
        self.random_seed = QCheckBox("New seed each time")
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed_box, 1)
        seed_row.addWidget(self.dice)
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 0, 0)
        form.addRow("Length", length_row)
        form.addRow("Temperature", self.temperature_box)
        form.addRow(self.top_p_label, self.top_p_box)
        form.addRow("Seed", seed_row)
        form.addRow("", self.random_seed)
        self._unit_changed()
        self.apply(DEFAULTS)

    @property
    def unit(self) -> str:
        return self.unit_box.currentData() or "bars"

    def _unit_changed(self) -> None:
        low, high, step, decimals = LIMITS[self.unit]
        self.length_box.setDecimals(decimals)
        self.length_box.setRange(low, high)
        self.length_box.setSingleStep(step)
        self.length_box.setSuffix(" bars" if self.unit == "bars" else " s")

    def show_top_p(self, shown: bool) -> None:
        """Top-p is for models that sample events one by one (a Music Transformer)."""
        self.top_p_label.setVisible(shown)
        self.top_p_box.setVisible(shown)

    def new_seed(self) -> int:
        seed = random.randint(0, MAX_SEED)
        self.seed_box.setValue(seed)
        return seed

    def next_seed(self) -> int:
        """The seed for a run: a fresh one when "New seed each time" is on."""
        return self.new_seed() if self.random_seed.isChecked() else self.seed_box.value()

    def values(self) -> dict[str, Any]:
        """ComposeRequest's fields: ``bars`` or ``seconds`` (the other 0), temperature, top_p, seed."""
        length = round(self.length_box.value(), 3)
        return {"bars": length if self.unit == "bars" else 0.0, "seconds": length if self.unit == "seconds" else 0.0,
                "temperature": round(self.temperature_box.value(), 3), "top_p": round(self.top_p_box.value(), 3),
                "seed": self.seed_box.value()}

    def apply(self, values: dict[str, Any]) -> None:
        if values.get("unit") in UNITS:
            self.unit_box.setCurrentIndex(UNITS.index(values["unit"]))
        boxes = {"length": self.length_box, "temperature": self.temperature_box, "top_p": self.top_p_box,
                 "seed": self.seed_box}
        for key, box in boxes.items():
            if key in values:
                try:
                    box.setValue(type(box.value())(float(values[key])))
                except (TypeError, ValueError):
                    box.setValue(type(box.value())(DEFAULTS[key]))

    def restore(self, settings: Settings, prefix: str) -> None:
        self.apply({key: settings.get(f"{prefix}/{key}", default) for key, default in DEFAULTS.items()})
        self.random_seed.setChecked(str(settings.get(f"{prefix}/random_seed", "false")).lower() == "true")

    def save(self, settings: Settings, prefix: str) -> None:
        settings.set(f"{prefix}/length", self.length_box.value())
        settings.set(f"{prefix}/unit", self.unit)
        for key in ("temperature", "top_p", "seed"):
            settings.set(f"{prefix}/{key}", self.values()[key])
        settings.set(f"{prefix}/random_seed", self.random_seed.isChecked())

    def set_enabled(self, enabled: bool) -> None:
        for widget in (self.length_box, self.unit_box, self.temperature_box, self.top_p_box, self.seed_box,
                       self.dice, self.random_seed):
            widget.setEnabled(enabled)
