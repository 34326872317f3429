"""The Inpaint canvas's candidates: thumbnails side by side, one picked for the preview, Accept/Discard.

Each candidate is the whole picture; the strip keeps its parameters (candidate i used seed + i), so a
candidate dragged out or saved from its menu carries what made it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QListView, QPushButton, QVBoxLayout

from genstudio.ui.widgets.result_grid import ResultGrid

CELL = 112


class CandidateStrip(QFrame):
    picked = Signal(int)  # a candidate to preview
    accept = Signal()
    discard = Signal()

    def __init__(self, parent=None):
        super().__init__(parent, objectName="panel")
        self.grid = ResultGrid(reusable=False, cell=CELL)
        self.grid.setFlow(QListView.Flow.LeftToRight)
        self.grid.setWrapping(False)
        self.grid.setFixedHeight(CELL + 48)
        self.grid.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.grid.enlarge.connect(self.pick)
        self.info = QLabel(objectName="muted", wordWrap=True)
        self.accept_button = QPushButton("Accept", objectName="primary")
        self.accept_button.setToolTip("Put the candidate shown into the picture (undo with Ctrl+Z)")
        self.accept_button.clicked.connect(self.accept)
        self.discard_button = QPushButton("Discard")
        self.discard_button.setToolTip("Forget these candidates and show the picture again")
        self.discard_button.clicked.connect(self.discard)
        buttons = QVBoxLayout()
        buttons.addWidget(self.accept_button)
        buttons.addWidget(self.discard_button)
        buttons.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.grid, 1)
        row.addLayout(buttons)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        layout.addWidget(self.info)
        layout.addLayout(row)
        self.current = -1

    def show_candidates(self, images: list[np.ndarray], params: list[dict[str, Any]], info: str) -> None:
        captions = [f"{i + 1} · seed {p.get('seed', '?')}" for i, p in enumerate(params)]
        height, width = images[0].shape[:2]
        # Room for one row of thumbnails (as tall as the picture's shape makes them), captions, a scroll bar.
        self.grid.setFixedHeight(max(32, round(CELL * min(1.0, height / width))) + 48)
        self.grid.show_result(np.stack(images), params, captions)
        for i in range(self.grid.count()):
            self.grid.item(i).setToolTip(f"Candidate {i + 1} (seed {params[i].get('seed')}): click to preview "
                                         "it in the picture; right-click to save or copy it")
        self.info.setText(info)
        self.pick(0)

    def pick(self, index: int) -> None:
        if not 0 <= index < self.grid.count():
            return
        self.current = index
        self.grid.setCurrentRow(index)
        self.picked.emit(index)

    def count(self) -> int:
        return self.grid.count()

    def clear(self) -> None:
        self.grid.clear()
        self.grid.images, self.grid.params = None, []
        self.current = -1
