"""The live loss curve of a training run (pyqtgraph): raw loss faint, a smoothed line on top.

pyqtgraph is imported when the first plot is built, not at start-up: it costs ~0.7 s to import.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtWidgets import QVBoxLayout, QWidget

from genstudio.ui.theme import current_colors

SMOOTHING = 0.95  # EMA weight of the smoothed line (per logged point)


def smooth(values: np.ndarray, weight: float = SMOOTHING) -> np.ndarray:
    """Exponential moving average with bias correction, so the line starts at the data."""
    out = np.empty_like(values, dtype=float)
    avg = 0.0
    for i, v in enumerate(values):
        avg = weight * avg + (1 - weight) * v
        out[i] = avg / (1 - weight ** (i + 1))
    return out


class LossPlot(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        import pyqtgraph as pg

        colors = current_colors()
        self.plot = pg.PlotWidget(background=colors["base"])
        self.plot.setObjectName("loss_plot")
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # "0.08", not "80 (x0.001)"
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).setTextPen(colors["text"])
            self.plot.getAxis(axis).setPen(colors["muted"])
        raw = pg.mkColor(colors["plot_line"])
        raw.setAlpha(90)
        self.raw_curve = self.plot.plot(pen=pg.mkPen(raw, width=1))
        self.smooth_curve = self.plot.plot(pen=pg.mkPen(colors["plot_smooth"], width=2))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        for curve in (self.raw_curve, self.smooth_curve):  # long runs: draw what the pixels can show
            curve.setDownsampling(auto=True, method="mean")
            curve.setClipToView(True)
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []

    def clear(self) -> None:
        self.steps, self.losses, self.smoothed = [], [], []
        self._redraw()

    def set_history(self, steps: list[int], losses: list[float]) -> None:
        pairs = [(s, v) for s, v in zip(steps, losses) if _plottable(v)]
        self.steps = [s for s, _ in pairs]
        self.losses = [v for _, v in pairs]
        self.smoothed = smooth(np.asarray(self.losses, float)).tolist() if pairs else []
        self._redraw()

    def add(self, step: int, loss: float) -> None:
        if not _plottable(loss):
            return
        if self.steps and step <= self.steps[-1]:  # a resumed run re-reports from its checkpoint
            keep = int(np.searchsorted(self.steps, step))
            self.steps, self.losses, self.smoothed = self.steps[:keep], self.losses[:keep], self.smoothed[:keep]
        self.steps.append(step)
        self.losses.append(loss)
        n = len(self.losses)  # the bias-corrected EMA, one step on (O(1) per point)
        previous = self.smoothed[-1] * (1 - SMOOTHING ** (n - 1)) if n > 1 else 0.0
        self.smoothed.append((SMOOTHING * previous + (1 - SMOOTHING) * loss) / (1 - SMOOTHING**n))
        self._redraw()

    def _redraw(self) -> None:
        self.raw_curve.setData(self.steps, self.losses)
        self.smooth_curve.setData(self.steps, self.smoothed)


def _plottable(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
