"""Before and after, two ways: side by side, or one picture with a divider the user drags over it,
the original left of the divider and the result right of it (the "swipe" compare of photo editors).

Pictures are fitted into the widget keeping their aspect: small ones are enlarged by whole factors
without smoothing, so their pixels stay visible, large ones are smoothed down. The scaled copies are
kept until the widget or the pictures change, so dragging the divider over a large photo stays fluid.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import QSizePolicy, QWidget

from genstudio.ui.widgets.images import to_pixmap

MODES = ("side", "swipe")
CAPTION_H = 22  # room under each picture for its caption, side by side
GAP = 12  # between the two pictures, side by side
KEY_STEP = 0.05  # of the width, per arrow key


def fit(size: QSize, box: QRect) -> QRect:
    """``size`` scaled into ``box`` keeping its aspect and centred; enlargement by whole factors."""
    if size.isEmpty() or box.width() <= 0 or box.height() <= 0:
        return QRect(box.topLeft(), QSize(0, 0))
    factor = min(box.width() / size.width(), box.height() / size.height())
    if factor >= 1:
        factor = int(factor)
    w, h = max(1, round(size.width() * factor)), max(1, round(size.height() * factor))
    return QRect(box.left() + (box.width() - w) // 2, box.top() + (box.height() - h) // 2, w, h)


class CompareView(QWidget):
    divider_moved = Signal(float)  # the new position, as a fraction of the picture's width

    def __init__(self, hint: str = "", parent=None):
        super().__init__(parent)
        self.hint = hint
        self.before: QPixmap | None = None
        self.after: QPixmap | None = None
        self.captions = ("Original", "Result")
        self.mode = "swipe"
        self.divider = 0.5  # where the result starts, as a fraction of the picture's width
        self.dragging = False
        self._scaled: dict[tuple[str, int, int], QPixmap] = {}
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the arrow keys move the divider
        self.setMinimumSize(240, 180)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.set_mode("swipe")

    # -- what it shows -----------------------------------------------------------------------------------
    def set_images(self, before: np.ndarray | None, after: np.ndarray | None,
                   captions: tuple[str, str] = ("Original", "Result")) -> None:
        """H×W×3 uint8 pictures (``after`` may be None while it is being made)."""
        self.before = to_pixmap(before) if before is not None else None
        self.after = to_pixmap(after) if after is not None else None
        self.captions = captions
        self._scaled.clear()
        self.update()

    def clear(self) -> None:
        self.set_images(None, None)

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode
        self.setCursor(Qt.CursorShape.SplitHCursor if mode == "swipe" else Qt.CursorShape.ArrowCursor)
        self.update()

    def set_divider(self, fraction: float) -> None:
        fraction = min(max(float(fraction), 0.0), 1.0)
        if fraction != self.divider:
            self.divider = fraction
            self.divider_moved.emit(fraction)
            self.update()

    # -- geometry -----------------------------------------------------------------------------------------
    def picture_rects(self) -> list[QRect]:
        """Where the pictures are drawn: one rectangle in swipe mode, two side by side."""
        if self.before is None:
            return []
        area = self.rect().adjusted(8, 8, -8, -8)
        if self.mode == "swipe":
            return [fit(self.before.size(), area)]
        half = (area.width() - GAP) // 2
        boxes = [QRect(area.left(), area.top(), half, area.height() - CAPTION_H),
                 QRect(area.left() + half + GAP, area.top(), half, area.height() - CAPTION_H)]
        return [fit(self.before.size(), box) for box in boxes]

    def divider_x(self) -> int | None:
        """The divider's x in widget pixels (swipe mode), or None."""
        rects = self.picture_rects()
        if self.mode != "swipe" or not rects:
            return None
        rect = rects[0]
        return rect.left() + round(self.divider * rect.width())

    def _pixmap(self, which: str, rect: QRect) -> QPixmap:
        key = (which, rect.width(), rect.height())
        if key not in self._scaled:
            source = self.before if which == "before" else self.after
            smooth = rect.width() < source.width()
            mode = Qt.TransformationMode.SmoothTransformation if smooth else Qt.TransformationMode.FastTransformation
            self._scaled[key] = source.scaled(rect.size(), Qt.AspectRatioMode.IgnoreAspectRatio, mode)
        return self._scaled[key]

    # -- painting -----------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), self.palette().window())
        if self.before is None:
            painter.setPen(self.palette().placeholderText().color())
            painter.drawText(self.rect().adjusted(24, 24, -24, -24),
                             Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap, self.hint)
        elif self.mode == "swipe":
            self._paint_swipe(painter, self.picture_rects()[0])
        else:
            self._paint_side_by_side(painter, self.picture_rects())
        painter.end()

    def _paint_swipe(self, painter: QPainter, rect: QRect) -> None:
        painter.drawPixmap(rect.topLeft(), self._pixmap("before", rect))
        if self.after is None:
            self._badge(painter, rect, self.captions[0], left=True)
            return
        x = self.divider_x()
        right = QRect(x, rect.top(), rect.right() + 1 - x, rect.height())
        painter.drawPixmap(right.topLeft(), self._pixmap("after", rect), right.translated(-rect.left(), -rect.top()))
        self._badge(painter, rect, self.captions[0], left=True)
        self._badge(painter, rect, self.captions[1], left=False)
        self._paint_divider(painter, x, rect)

    def _paint_divider(self, painter: QPainter, x: int, rect: QRect) -> None:
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(QPen(QColor(0, 0, 0, 90), 4))
        painter.drawLine(x, rect.top(), x, rect.bottom())
        painter.setPen(QPen(QColor("white"), 2))
        painter.drawLine(x, rect.top(), x, rect.bottom())
        centre = QPoint(x, rect.center().y())
        painter.setBrush(QColor("white"))
        painter.setPen(QPen(QColor(0, 0, 0, 110), 1))
        painter.drawEllipse(centre, 14, 14)
        arrows = QPainterPath()
        for direction in (-1, 1):  # a small triangle pointing each way: "drag me sideways"
            tip = centre + QPoint(direction * 10, 0)
            arrows.moveTo(tip)
            arrows.lineTo(tip + QPoint(-direction * 5, -5))
            arrows.lineTo(tip + QPoint(-direction * 5, 5))
            arrows.closeSubpath()
        painter.fillPath(arrows, QColor(60, 60, 70))

    def _paint_side_by_side(self, painter: QPainter, rects: list[QRect]) -> None:
        for rect, which, caption in zip(rects, ("before", "after"), self.captions, strict=True):
            if which == "after" and self.after is None:
                painter.setPen(self.palette().placeholderText().color())
                painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "…")
            else:
                painter.drawPixmap(rect.topLeft(), self._pixmap(which, rect))
            painter.setPen(self.palette().text().color())
            below = QRect(rect.left(), rect.bottom() + 4, rect.width(), CAPTION_H - 4)
            painter.drawText(below, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop, caption)

    def _badge(self, painter: QPainter, rect: QRect, text: str, left: bool) -> None:
        """A caption in a dark rounded box, in the top corner of its side of the picture."""
        metrics = painter.fontMetrics()
        box = QRect(0, 0, metrics.horizontalAdvance(text) + 12, metrics.height() + 6)
        box.moveTop(rect.top() + 8)
        if left:
            box.moveLeft(rect.left() + 8)
        else:
            box.moveRight(rect.right() - 8)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 140))
        painter.drawRoundedRect(box, 4, 4)
        painter.setPen(QColor("white"))
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def resizeEvent(self, event) -> None:
        self._scaled.clear()
        super().resizeEvent(event)

    # -- the mouse drags the divider ------------------------------------------------------------------------
    def _follow(self, x: float) -> None:
        rects = self.picture_rects()
        if rects and rects[0].width() > 0:
            self.set_divider((x - rects[0].left()) / rects[0].width())

    def mousePressEvent(self, event) -> None:
        if self.mode == "swipe" and event.button() == Qt.MouseButton.LeftButton and self.before is not None:
            self.dragging = True
            self._follow(event.position().x())

    def mouseMoveEvent(self, event) -> None:
        if self.dragging:
            self._follow(event.position().x())

    def mouseReleaseEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.dragging = False

    def keyPressEvent(self, event) -> None:
        step = {Qt.Key.Key_Left: -KEY_STEP, Qt.Key.Key_Right: KEY_STEP}.get(event.key())
        if self.mode == "swipe" and step is not None:
            self.set_divider(self.divider + step)
        else:
            super().keyPressEvent(event)
