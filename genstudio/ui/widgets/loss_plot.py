"""The live loss curve of a training run (pyqtgraph): raw loss faint, a smoothed line on top, and, for
models that measure one (text), the validation loss as a second series of marked points with a legend.

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
VALIDATION_COLOR = "#2e9d57"  # green: apart from the themes' blue and red lines on light and dark alike


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
        self.val_curve = self.plot.plot(symbol="o", symbolSize=7)
        self.legend = self.plot.addLegend(offset=(-10, 10))  # shown once there is a validation series
        self.legend.addItem(self.smooth_curve, "training (smoothed)")
        self.legend.addItem(self.val_curve, "validation")
        self.legend.setVisible(False)
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
        self.val_steps: list[int] = []
        self.val_losses: list[float] = []
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
        validation = colors.get("plot_validation", VALIDATION_COLOR)
        self.val_curve.setPen(pg.mkPen(validation, width=2))
        self.val_curve.setSymbolBrush(validation)
        self.val_curve.setSymbolPen(pg.mkPen(colors["base"], width=1))
        self.legend.setLabelTextColor(colors["text"])
        for _, label in self.legend.items:  # the labels already there keep their colour otherwise
            label.setText(label.text, color=colors["text"])

    def clear(self) -> None:
        self.steps, self.losses, self.smoothed = [], [], []
        self.val_steps, self.val_losses = [], []
        self._redraw()

    def set_history(self, steps: list[int], losses: list[float], val_steps: list[int] = (),
                    val_losses: list[float] = ()) -> None:
        """A run's curves so far (from its metrics.jsonl); validation points where it measured them."""
        pairs = [(s, v) for s, v in zip(steps, losses) if _plottable(v)]
        self.steps = [s for s, _ in pairs]
        self.losses = [v for _, v in pairs]
        self.smoothed = smooth(self.losses)
        pairs = [(s, v) for s, v in zip(val_steps, val_losses) if _plottable(v)]
        self.val_steps, self.val_losses = [s for s, _ in pairs], [v for _, v in pairs]
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

    def add_validation(self, step: int, loss: float) -> None:
        """A validation loss measured at ``step`` (a point of the second series)."""
        if not _plottable(loss):
            return
        keep = bisect.bisect_left(self.val_steps, step)  # a resumed run measures again from its checkpoint
        self.val_steps, self.val_losses = self.val_steps[:keep] + [step], self.val_losses[:keep] + [loss]
        if not self.redraw_timer.isActive():
            self.redraw_timer.start()

    def _redraw(self) -> None:
        self.raw_curve.setData(self.steps, self.losses)
        self.smooth_curve.setData(self.steps, self.smoothed)
        self.val_curve.setData(self.val_steps, self.val_losses)
        self.legend.setVisible(bool(self.val_steps))


def _plottable(value) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)
