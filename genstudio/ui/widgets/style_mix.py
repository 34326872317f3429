"""StyleGAN's style-mixing grid in the Generate canvas (models that declare STYLE_MIX).

Rows are seeds that give most of the styles, columns are seeds whose styles replace one group of
layers: coarse (pose, shape), middle (features) or fine (colour, texture). The row and column seeds'
own images frame the grid, as in Karras et al. (2019), Fig. 3.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from PIL import Image
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout

from genstudio.ui.widgets import dialogs
from genstudio.ui.widgets.images import PixmapLabel, grid_array, to_pixmap
from genstudio.ui.widgets.latent_tools import MAX_SEED, ToolPanel

LAYER_GROUPS = {"coarse": "Coarse: pose and shape", "middle": "Middle: features",
                "fine": "Fine: colour and texture"}
MAX_SEEDS = 8  # per side: a 9×9 picture is as much as a screen shows well


def parse_seeds(text: str) -> list[int]:
    """"1, 2, 7" or "1 2 7" -> [1, 2, 7]; ValueError with a sentence otherwise."""
    parts = [p for p in re.split(r"[,\s;]+", text.strip()) if p]
    if not parts:
        raise ValueError("Type one or more seeds, separated by commas.")
    try:
        seeds = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"Seeds are whole numbers, separated by commas: '{text}'.") from None
    if any(not 0 <= s <= MAX_SEED for s in seeds):
        raise ValueError(f"Seeds go from 0 to {MAX_SEED}.")
    if len(seeds) > MAX_SEEDS:
        raise ValueError(f"At most {MAX_SEEDS} seeds on a side.")
    return seeds


def framed_grid(rows: np.ndarray, columns: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """One picture: an empty corner, the column seeds along the top, the row seeds down the left."""
    blank = np.full_like(rows[0], 255)
    tiles = [blank, *columns]
    for r in range(len(rows)):
        tiles += [rows[r], *cells[r]]
    return grid_array(np.stack(tiles), cols=len(columns) + 1, gutter=4)


class StyleMixPanel(ToolPanel):
    def __init__(self, settings, parent=None):
        super().__init__(settings, parent)
        self.options: dict[str, Any] = {}
        self.picture_array: np.ndarray | None = None
        self.params: dict[str, Any] = {}
        self.row_seeds = QLineEdit("1, 2, 3, 4")
        self.column_seeds = QLineEdit("11, 12, 13, 14")
        for box in (self.row_seeds, self.column_seeds):
            box.setToolTip("Seeds separated by commas (up to 8)")
            box.editingFinished.connect(self.refresh)
        self.layers = QComboBox()
        for key, label in LAYER_GROUPS.items():
            self.layers.addItem(label, key)
        self.layers.currentIndexChanged.connect(self.refresh)
        shuffle = QPushButton("Random seeds")
        shuffle.clicked.connect(self.shuffle)
        save = QPushButton("Save grid…")
        save.clicked.connect(self.save)
        self.summary = QLabel(objectName="muted", wordWrap=True)
        self.picture = PixmapLabel()
        self.picture.setMinimumSize(240, 240)
        bar = QHBoxLayout()
        for widget in (QLabel("Rows"), self.row_seeds, QLabel("Columns"), self.column_seeds,
                       QLabel("Columns give"), self.layers, shuffle, save):
            bar.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.addLayout(bar)
        layout.addWidget(self.summary)
        layout.addWidget(self.picture, 1)

    def set_options(self, options: dict[str, Any]) -> None:
        """The Samples tab's truncation and class apply here too."""
        if options != self.options:
            self.options = dict(options)
            if self.model_name and self.isVisible():
                self.refresh()

    def shuffle(self) -> None:
        rng = np.random.default_rng()
        for box in (self.row_seeds, self.column_seeds):
            box.setText(", ".join(str(int(s)) for s in rng.integers(0, 100_000, 4)))
        self.refresh()

    def refresh(self) -> None:
        if not self.model_name:
            return
        try:
            rows, columns = parse_seeds(self.row_seeds.text()), parse_seeds(self.column_seeds.text())
        except ValueError as err:
            self.summary.setText(str(err))
            return
        name, layers, device = self.model_name, self.layers.currentData(), self.device()
        truncation, label = float(self.options.get("truncation", 1.0)), int(self.options.get("label", -1))
        self.params = {"model": name, "tool": "style-mix", "rows": rows, "columns": columns, "layers": layers,
                       "truncation": truncation, "label": label}

        def job():
            from genstudio.tasks.latent import style_mix

            return style_mix(name, rows, columns, layers, device(), truncation, label)

        self.summary.setText("Mixing…")
        self.jobs.submit(job, self._show)

    def _show(self, mix) -> None:
        self.picture_array = framed_grid(mix.rows, mix.columns, mix.cells)
        self.picture.set_source(to_pixmap(self.picture_array))
        self.summary.setText(f"Each row keeps its seed's styles except the {mix.layers} layers, which come from "
                             f"the column's seed (ψ = {self.params['truncation']:g}). Top row and left column: "
                             "the seeds' own images.")

    def save(self) -> None:
        from genstudio.tasks.images import save_png

        if self.picture_array is None:
            return
        path = dialogs.save_file(self, "Save the style-mixing grid", "style-mix.png", "PNG image (*.png)")
        if path:
            try:
                save_png(Image.fromarray(self.picture_array), path, self.params)
            except OSError as err:
                dialogs.warn(self, "Could not save", f"{path}: {err.strerror or err}")
