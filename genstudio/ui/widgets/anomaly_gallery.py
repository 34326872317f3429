"""The ranked gallery of the Anomaly canvas: each scanned image as a card, its heatmap over it, its
rank and score, a Flagged / Pass badge, and the user's mark (anomalous or normal).

The cards are painted by a delegate from the scan's items (no widget per image), their thumbnails made
when first shown and kept until the opacity or the scan changes, so a scan of thousands scrolls freely.
A filter (All / Flagged / Pass, with counts) and a sort order sit above the cards. Marks (A, N, U or
the context menu; several cards at once) are what "Best F1 from marked" learns the threshold from.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QComboBox,
    QHBoxLayout,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QVBoxLayout,
    QWidget,
)

from genstudio.ui.widgets.heatmaps import overlay
from genstudio.ui.widgets.images import to_pixmap

THUMB = 112  # the thumbnail's side, px
CARD = QSize(THUMB + 14, THUMB + 46)
ANOMALOUS, NORMAL = "anomalous", "normal"
FLAG_COLOR, PASS_COLOR = QColor("#d64545"), QColor("#2e9d57")  # readable on light and dark alike
FILTERS = (("all", "All"), ("flagged", "Flagged"), ("pass", "Pass"))
SORTS = (("score", "Most unusual first"), ("score_up", "Least unusual first"), ("name", "File name"))
ROW = Qt.ItemDataRole.UserRole


def heat01(heatmap: np.ndarray, heat_range: tuple[float, float]) -> np.ndarray:
    """The map scaled to [0, 1] over the scan's range (as ``InspectResult.heatmap01``)."""
    lo, hi = heat_range
    return np.clip((heatmap - lo) / max(hi - lo, 1e-12), 0, 1).astype(np.float32)


def sort_items(items: list, order: str) -> list:
    if order == "score_up":
        return sorted(items, key=lambda item: item.score)
    if order == "name":
        return sorted(items, key=lambda item: Path(item.path).name.lower())
    return sorted(items, key=lambda item: -item.score)  # the ranked order of the reports (ties: scan order)


class CardDelegate(QStyledItemDelegate):
    def __init__(self, gallery: AnomalyGallery):
        super().__init__(gallery.list)
        self.gallery = gallery

    def sizeHint(self, option, index) -> QSize:
        return CARD

    def paint(self, painter: QPainter, option, index) -> None:
        gallery = self.gallery
        row = index.data(ROW)
        if row is None or row >= len(gallery.items):
            return
        item = gallery.items[row]
        palette = option.palette
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        card = option.rect.adjusted(3, 3, -3, -3)
        selected = bool(option.state & QStyle.StateFlag.State_Selected)
        painter.setPen(QPen(palette.highlight().color(), 2) if selected else QPen(palette.mid().color(), 1))
        painter.setBrush(palette.base())
        painter.drawRoundedRect(card, 6, 6)
        pixmap = gallery.thumbnail(row)
        thumb = QRect(card.left() + (card.width() - pixmap.width()) // 2, card.top() + 4, pixmap.width(),
                      pixmap.height())
        painter.drawPixmap(thumb, pixmap)
        if item.flagged is not None:
            self._pill(painter, thumb.topLeft().x() + 3, thumb.top() + 3, "FLAGGED" if item.flagged else "PASS",
                       FLAG_COLOR if item.flagged else PASS_COLOR)
        mark = gallery.marks.get(item.path)
        if mark:
            self._mark(painter, QRect(thumb.right() - 19, thumb.top() + 3, 17, 17), mark)
        text = QRect(card.left() + 6, card.top() + THUMB + 6, card.width() - 12, 16)
        font = QFont(option.font)
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(palette.text().color())
        painter.drawText(text, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, f"{item.score:.4g}")
        painter.setFont(option.font)
        painter.setPen(palette.placeholderText().color())
        painter.drawText(text, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                         f"#{gallery.ranks.get(id(item), 0)}")
        name = painter.fontMetrics().elidedText(Path(item.path).name, Qt.TextElideMode.ElideMiddle, text.width())
        painter.drawText(text.translated(0, 17), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, name)
        painter.restore()

    @staticmethod
    def _pill(painter: QPainter, x: int, y: int, label: str, color: QColor) -> None:
        font = QFont(painter.font())
        font.setPointSizeF(max(6.5, font.pointSizeF() * 0.72))
        font.setBold(True)
        painter.setFont(font)
        width = painter.fontMetrics().horizontalAdvance(label) + 10
        rect = QRect(x, y, width, painter.fontMetrics().height() + 2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(color)
        painter.drawRoundedRect(rect, rect.height() / 2, rect.height() / 2)
        painter.setPen(QColor("white"))
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, label)

    @staticmethod
    def _mark(painter: QPainter, rect: QRect, mark: str) -> None:
        painter.setPen(QPen(QColor("white"), 1.5))
        painter.setBrush(FLAG_COLOR if mark == ANOMALOUS else PASS_COLOR)
        painter.drawEllipse(rect)
        font = QFont(painter.font())
        font.setBold(True)
        painter.setFont(font)
        painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, "!" if mark == ANOMALOUS else "✓")


class AnomalyGallery(QWidget):
    current_changed = Signal(object)  # the InspectedImage now shown large (None when none)
    marks_changed = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.items: list = []  # the scan's images, in the order shown
        self.ranks: dict[int, int] = {}  # id(item) -> its rank by score (1 = most unusual)
        self.heat_range = (0.0, 1.0)
        self.opacity = 0.5
        self.marks: dict[str, str] = {}  # path -> ANOMALOUS or NORMAL; kept across scans of the same files
        self.filter = "all"
        self._thumbs: dict[int, object] = {}
        self.filter_buttons: dict[str, QPushButton] = {}
        group = QButtonGroup(self, exclusive=True)
        bar = QHBoxLayout()
        bar.setSpacing(4)
        for key, label in FILTERS:
            button = QPushButton(label, checkable=True, checked=key == "all")
            button.clicked.connect(lambda checked=False, k=key: self.set_filter(k))
            group.addButton(button)
            bar.addWidget(button)
            self.filter_buttons[key] = button
        bar.addStretch(1)
        self.sort_box = QComboBox(toolTip="The order of the gallery (the reports list the most unusual first)")
        for key, label in SORTS:
            self.sort_box.addItem(label, key)
        self.sort_box.currentIndexChanged.connect(self._resort)
        bar.addWidget(self.sort_box)
        self.list = QListWidget(objectName="anomaly_gallery")
        self.list.setViewMode(QListView.ViewMode.IconMode)
        self.list.setResizeMode(QListView.ResizeMode.Adjust)
        self.list.setMovement(QListView.Movement.Static)
        self.list.setUniformItemSizes(True)
        self.list.setGridSize(CARD)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.list.setItemDelegate(CardDelegate(self))
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.currentRowChanged.connect(self._current_changed)
        self.list.setToolTip("Click an image to see it large. Mark images with A (anomalous), N (normal), "
                             "U (no mark), or the right-click menu.")
        self.list.installEventFilter(self)
        self.refilter_timer = QTimer(self, singleShot=True, interval=60)  # a dragged threshold refilters once
        self.refilter_timer.timeout.connect(self._apply_filter)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(bar)
        layout.addWidget(self.list, 1)

    # -- what it shows -------------------------------------------------------------------------------
    def show_items(self, items: list, heat_range: tuple[float, float]) -> None:
        """A new scan: its images in the chosen order, the first selected."""
        self.ranks = {id(item): rank for rank, item in enumerate(sort_items(items, "score"), 1)}
        self.heat_range = heat_range
        self.items = sort_items(items, self.sort_box.currentData())
        self._fill()

    def _fill(self) -> None:
        self._thumbs.clear()
        self.list.blockSignals(True)
        self.list.clear()
        for row in range(len(self.items)):
            cell = QListWidgetItem()
            cell.setData(ROW, row)
            cell.setSizeHint(CARD)
            cell.setToolTip(self._tooltip(self.items[row]))
            self.list.addItem(cell)
        self.list.blockSignals(False)
        self._apply_filter()
        first = self.first_visible()
        self.list.setCurrentRow(first)
        self._current_changed(self.list.currentRow())

    def _resort(self) -> None:
        current = self.current_item()
        self.items = sort_items(self.items, self.sort_box.currentData())
        self._fill()
        row = self.row_of(current)
        if row >= 0 and not self.list.item(row).isHidden():
            self.list.setCurrentRow(row)

    def row_of(self, item) -> int:
        """Where ``item`` is listed (by identity: the items hold arrays), -1 if not."""
        return next((row for row, other in enumerate(self.items) if other is item), -1)

    def _tooltip(self, item) -> str:
        return f"{item.path}\nscore {item.score:.6g} · {item.verdict}"

    def thumbnail(self, row: int):
        pixmap = self._thumbs.get(row)
        if pixmap is None:
            item = self.items[row]
            pixmap = to_pixmap(overlay(item.image, heat01(item.heatmap, self.heat_range), self.opacity), THUMB)
            self._thumbs[row] = pixmap
        return pixmap

    def set_opacity(self, opacity: float) -> None:
        self.opacity = opacity
        self._thumbs.clear()
        self.list.viewport().update()

    def refresh_verdicts(self) -> None:
        """The threshold moved: badges, counts and the filter follow (the filter a moment later, once)."""
        self.list.viewport().update()
        self._update_counts()
        if self.filter != "all":
            self.refilter_timer.start()

    # -- filter --------------------------------------------------------------------------------------
    def set_filter(self, key: str) -> None:
        self.filter = key
        self.filter_buttons[key].setChecked(True)
        self._apply_filter()
        current = self.list.currentItem()
        if current is None or current.isHidden():
            self.list.setCurrentRow(self.first_visible())

    def shows(self, item) -> bool:
        return self.filter == "all" or (item.flagged is True if self.filter == "flagged" else item.flagged is False)

    def _apply_filter(self) -> None:
        for row, item in enumerate(self.items):
            self.list.item(row).setHidden(not self.shows(item))
        self._update_counts()

    def _update_counts(self) -> None:
        flagged = sum(item.flagged is True for item in self.items)
        passed = sum(item.flagged is False for item in self.items)
        for key, label in FILTERS:
            count = {"all": len(self.items), "flagged": flagged, "pass": passed}[key]
            self.filter_buttons[key].setText(f"{label} {count}")

    def first_visible(self) -> int:
        return next((row for row, item in enumerate(self.items) if self.shows(item)), -1)

    def visible_items(self) -> list:
        """The images the gallery lists now, in its order."""
        return [item for item in self.items if self.shows(item)]

    # -- selection -----------------------------------------------------------------------------------
    def current_item(self):
        row = self.list.currentRow()
        return self.items[row] if 0 <= row < len(self.items) else None

    def select(self, row: int) -> None:
        self.list.setCurrentRow(row)

    def selected_items(self) -> list:
        rows = sorted(self.list.row(cell) for cell in self.list.selectedItems())
        if not rows and self.current_item() is not None:
            return [self.current_item()]
        return [self.items[row] for row in rows]

    def _current_changed(self, row: int) -> None:
        self.current_changed.emit(self.items[row] if 0 <= row < len(self.items) else None)

    # -- marks ---------------------------------------------------------------------------------------
    def mark(self, kind: str, items: list | None = None) -> None:
        """Mark ``items`` (default: the selected ones) ANOMALOUS or NORMAL; "" takes the mark away."""
        for item in self.selected_items() if items is None else items:
            if kind:
                self.marks[item.path] = kind
            else:
                self.marks.pop(item.path, None)
        self.list.viewport().update()
        self.marks_changed.emit()

    def marked(self) -> tuple[list, list]:
        """(anomalous, normal) images of this scan the user marked."""
        return ([item for item in self.items if self.marks.get(item.path) == ANOMALOUS],
                [item for item in self.items if self.marks.get(item.path) == NORMAL])

    def _menu(self, pos) -> None:
        if self.list.itemAt(pos) is None:
            return
        menu = QMenu(self)
        for label, kind in (("Mark as anomalous\tA", ANOMALOUS), ("Mark as normal\tN", NORMAL), ("Clear mark\tU", "")):
            action = QAction(label, menu)
            action.triggered.connect(lambda checked=False, k=kind: self.mark(k))
            menu.addAction(action)
        menu.exec(self.list.viewport().mapToGlobal(pos))

    def eventFilter(self, watched, event) -> bool:
        if watched is self.list and event.type() == event.Type.KeyPress and not event.modifiers():
            kind = {Qt.Key.Key_A: ANOMALOUS, Qt.Key.Key_N: NORMAL, Qt.Key.Key_U: ""}.get(event.key())
            if kind is not None:
                self.mark(kind)
                return True
        return super().eventFilter(watched, event)
