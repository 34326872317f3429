"""The live loss curve of a training run (pyqtgraph): raw loss faint, a smoothed line on top.

pyqtgraph is imported when the first plot is built (the window warms the import in the background),
not at start-up: it costs ~0.7 s. Redraws are coalesced to a few per second: a training reports
progress four times a second, and a repaint costs the UI thread 15–30 ms on a small CPU.
"""

from __future__ import annotations

import bisect
import math

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QVBoxLayout, QWidget

from genstudio.ui.theme import current_colors

SMOOTHING = 0.95  # EMA weight of the smoothed line (per logged point)
REDRAW_MS = 400  # points that arrive within this are drawn together


def smooth_next(previous: float, n: int, value: float) -> float:
    """The bias-corrected EMA after its ``n``-th value, from the one before (so it starts at the data)."""
    raw = previous * (1 - SMOOTHING ** (n - 1)) if n > 1 else 0.0
    return (SMOOTHING * raw + (1 - SMOOTHING) * value) / (1 - SMOOTHING**n)


def smooth(values) -> list[float]:
    out: list[float] = []
    for n, value in enumerate(values, start=1):
        out.append(smooth_next(out[-1] if out else 0.0, n, value))
    return out


class LossPlot(QWidget):
    def __init__(self, parent=None):
        super().__init__(parent)
        import pyqtgraph as pg

        self.pg = pg
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("loss_plot")
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.setLabel("bottom", "step")
        self.plot.setLabel("left", "loss")
        self.plot.getAxis("left").enableAutoSIPrefix(False)  # "0.08", not "80 (x0.001)"
        self.raw_curve = self.plot.plot()
        self.smooth_curve = self.plot.plot()
        self.apply_colors(current_colors())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)
        for curve in (self.raw_curve, self.smooth_curve):  # long runs: draw what the pixels can show
            curve.setDownsampling(auto=True, method="mean")
            curve.setClipToView(True)
        self.steps: list[int] = []
        self.losses: list[float] = []
        self.smoothed: list[float] = []
        self.redraw_timer = QTimer(self, singleShot=True, interval=REDRAW_MS)
        self.redraw_timer.timeout.connect(self._redraw)

    def apply_colors(self, colors: dict[str, str]) -> None:
        """Follow the theme: pyqtgraph draws with its own pens, not the Qt palette."""
        pg = self.pg
        self.plot.setBackground(colors["base"])
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).setTextPen(colors["text"])
            self.plot.getAxis(axis).setPen(colors["muted"])
        raw = pg.mkColor(colors["plot_line"])
        raw.setAlpha(90)
        self.raw_curve.setPen(pg.mkPen(raw, width=1))
        self.smooth_curve.setPen(pg.mkPen(colors["plot_smooth"], width=2))

    def clear(self) -> None:
        self.steps, self.losses, self.smoothed = [], [], []
        self._redraw()

    def set_history(self, steps: list[int], losses: list[float]) -> None:
        pairs = [(s, v) for s, v in zip(steps, losses) if _plottable(v)]
        self.steps = [s for s, _ in pairs]
        self.losses = [v for _, v in pairs]
        self.smoothed = smooth(self.losses)
        self._redraw()

    def add(self, step: int, loss: float) -> None:
        if not _plottable(loss):
            return
        if self.steps and step <= self.steps[-1]:  # a resumed run re-reports from its checkpoint
            keep = bisect.bisect_left(self.steps, step)
            self.steps, self.losses, self.smoothed = self.steps[:keep], self.losses[:keep], self.smoothed[:keep]
        self.steps.append(step)
        self.losses.append(loss)
        self.smoothed.append(smooth_next(self.smoothed[-1] if self.smoothed else 0.0, len(self.losses), loss))
        if not self.redraw_timer.isActive():
            self.redraw_timer.start()

    def _redraw(self) -> None:
        self.raw_curve.setData(self.steps, self.losses)
        self.smooth_curve.setData(self.steps, self.smoothed)


def _plottable(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
