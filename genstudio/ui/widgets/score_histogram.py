"""The scores of a scan as a histogram (pyqtgraph), split at the threshold: the bars above it (flagged)
red, below it (pass) green, and the threshold a line to drag (or click where it should go). The images
the user marked sit under the bars, anomalous as red triangles, normal as green dots, so a good split is
easy to see.

pyqtgraph is imported when the first histogram is built (the window warms the import in the
background), as the Train canvas's loss plot does.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QVBoxLayout, QWidget

from genstudio.ui.theme import current_colors
from genstudio.ui.widgets.anomaly_gallery import FLAG_COLOR, PASS_COLOR


def bin_edges(scores: np.ndarray) -> np.ndarray:
    """About 2·√n bins (8–60) over the scores' range."""
    lo, hi = (float(scores.min()), float(scores.max())) if len(scores) else (0.0, 1.0)
    if hi - lo < 1e-12:
        pad = max(abs(lo) * 0.05, 1e-3)
        lo, hi = lo - pad, hi + pad
    bins = int(np.clip(round(2 * np.sqrt(len(scores))), 8, 60))
    return np.linspace(lo, hi, bins + 1)


def split_counts(scores: np.ndarray, edges: np.ndarray, threshold: float | None) -> tuple[np.ndarray, np.ndarray]:
    """(pass, flagged) counts per bin; without a threshold every image counts as pass."""
    if threshold is None:
        return np.histogram(scores, edges)[0], np.zeros(len(edges) - 1, np.int64)
    flagged = scores > threshold
    return np.histogram(scores[~flagged], edges)[0], np.histogram(scores[flagged], edges)[0]


class ScoreHistogram(QWidget):
    moved = Signal(float)  # the threshold while the line is dragged
    released = Signal(float)  # where the drag (or a click) left it

    def __init__(self, parent=None):
        super().__init__(parent)
        import pyqtgraph as pg

        self.pg = pg
        self.scores = np.zeros(0)
        self.edges = bin_edges(self.scores)
        self.threshold: float | None = None
        self._quiet = False  # set_threshold moves the line without telling anyone
        self.plot = pg.PlotWidget()
        self.plot.setObjectName("score_histogram")
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.hideButtons()
        self.plot.setMenuEnabled(False)
        self.plot.setLabel("bottom", "score (higher = less like the normal images)")
        self.plot.setLabel("left", "images")
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).enableAutoSIPrefix(False)
        self.pass_bars = pg.BarGraphItem(x0=[], x1=[], y0=[], height=[], brush=PASS_COLOR, pen=None)
        self.flag_bars = pg.BarGraphItem(x0=[], x1=[], y0=[], height=[], brush=FLAG_COLOR, pen=None)
        self.marks = pg.ScatterPlotItem(size=9)
        for item in (self.pass_bars, self.flag_bars, self.marks):
            self.plot.addItem(item)
        self.line = pg.InfiniteLine(angle=90, movable=True, label="",
                                    labelOpts={"position": 0.92, "anchors": [(0, 0), (0, 0)], "fill": None})
        self.line.setZValue(10)
        self.line.sigPositionChanged.connect(self._line_moved)
        self.line.sigPositionChangeFinished.connect(self._line_released)
        self.plot.addItem(self.line)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.setToolTip("Drag the line (or click) to set the threshold: images scoring above it are flagged")
        self.apply_colors(current_colors())
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.plot)

    def apply_colors(self, colors: dict[str, str]) -> None:
        pg = self.pg
        self.colors = colors
        self.plot.setBackground(colors["base"])
        for axis in ("bottom", "left"):
            self.plot.getAxis(axis).setTextPen(colors["text"])
            self.plot.getAxis(axis).setPen(colors["muted"])
        self.line.setPen(pg.mkPen(colors["accent"], width=2))
        self.line.setHoverPen(pg.mkPen(colors["accent"], width=4))
        self.line.label.setColor(colors["text"])
        self._draw()

    # -- what it shows -------------------------------------------------------------------------------
    def set_scores(self, scores, threshold: float | None) -> None:
        """A new scan's scores and its threshold (None: the line waits at the top score, to be dragged)."""
        self.scores = np.asarray(scores, np.float64)
        self.edges = bin_edges(self.scores)
        lo, hi = float(self.edges[0]), float(self.edges[-1])
        if threshold is not None:
            lo, hi = min(lo, threshold), max(hi, threshold)
        span = hi - lo
        self.line.setBounds((lo - span, hi + span))
        self.plot.setXRange(lo - 0.04 * span, hi + 0.04 * span, padding=0)
        self.set_threshold(threshold)

    def set_threshold(self, value: float | None) -> None:
        """Move the line (and recolour the bars) without emitting ``moved``/``released``."""
        self.threshold = value
        self._quiet = True
        try:
            self.line.setValue(value if value is not None else float(self.edges[-1]))
        finally:
            self._quiet = False
        self._draw()

    def set_marks(self, anomalous: list[float], normal: list[float]) -> None:
        """Scores of the images the user marked, drawn under the bars."""
        pg = self.pg
        y = -0.06 * self._top()
        spots = [{"pos": (s, y), "symbol": "t1", "brush": FLAG_COLOR, "pen": pg.mkPen("white")} for s in anomalous]
        spots += [{"pos": (s, y), "symbol": "o", "brush": PASS_COLOR, "pen": pg.mkPen("white")} for s in normal]
        self.marks.setData(spots)
        self.marks.setVisible(bool(spots))

    def counts(self) -> tuple[int, int]:
        """(pass, flagged) at the line."""
        if self.threshold is None:
            return len(self.scores), 0
        flagged = int((self.scores > self.threshold).sum())
        return len(self.scores) - flagged, flagged

    # -- drawing -------------------------------------------------------------------------------------
    def _top(self) -> float:
        if not len(self.scores):
            return 1.0
        return float(max(np.histogram(self.scores, self.edges)[0].max(), 1))

    def _draw(self) -> None:
        passed, flagged = split_counts(self.scores, self.edges, self.threshold)
        x0, x1 = self.edges[:-1], self.edges[1:]
        gap = (x1 - x0) * 0.08
        neutral = self.colors["plot_line"] if self.threshold is None else PASS_COLOR
        self.pass_bars.setOpts(x0=x0 + gap, x1=x1 - gap, y0=np.zeros(len(x0)), height=passed, brush=neutral)
        self.flag_bars.setOpts(x0=x0 + gap, x1=x1 - gap, y0=passed, height=flagged)
        top = self._top()
        self.plot.setYRange(-0.12 * top, top * 1.18, padding=0)
        if self.threshold is None:
            self.line.label.setFormat("drag to set a threshold")
        else:
            n_pass, n_flagged = self.counts()
            self.line.label.setFormat(f"{self.threshold:.4g}  ·  {n_flagged} flagged, {n_pass} pass")

    # -- the user moves the line ---------------------------------------------------------------------
    def _line_moved(self) -> None:
        if self._quiet:
            return
        self.threshold = float(self.line.value())
        self._draw()
        self.moved.emit(self.threshold)

    def _line_released(self) -> None:
        if not self._quiet:
            self.released.emit(float(self.line.value()))

    def _clicked(self, event) -> None:
        if not len(self.scores) or event.isAccepted():
            return
        point = self.plot.getPlotItem().vb.mapSceneToView(event.scenePos())
        self.line.setValue(point.x())  # emits moved
        self.released.emit(float(self.line.value()))
