"""The selected image of a scan, large: its heatmap over it at the chosen opacity, or side by side,
image | reconstruction | difference for models that reconstruct (image | overlay | heatmap for the
others), with its score and verdict, the colour scale, and buttons to mark it anomalous or normal.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSlider,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from genstudio.ui.widgets.anomaly_gallery import ANOMALOUS, FLAG_COLOR, NORMAL, PASS_COLOR, heat01
from genstudio.ui.widgets.heatmaps import difference, heat_colors, overlay, rgb, scale_strip
from genstudio.ui.widgets.images import PixmapLabel, to_pixmap

MODES = (("overlay", "Overlay"), ("side", "Side by side"))


class SquarePicture(PixmapLabel):
    """A panel of the side-by-side view: as tall as it is wide, so its caption sits right under it."""

    def __init__(self):
        super().__init__()
        policy = QSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        policy.setHeightForWidth(True)
        self.setSizePolicy(policy)
        self.setMinimumSize(96, 96)

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return width

    def sizeHint(self) -> QSize:
        return QSize(160, 160)


class AnomalyView(QWidget):
    opacity_changed = Signal(float)  # 0–1
    mark_requested = Signal(str)  # ANOMALOUS, NORMAL or "" (no mark)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.item = None
        self.heat_range = (0.0, 1.0)
        self.mode = "overlay"
        self.title = QLabel(objectName="heading")
        self.title.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts = QLabel(textFormat=Qt.TextFormat.RichText)
        self.facts.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.mode_buttons: dict[str, QPushButton] = {}
        modes = QButtonGroup(self, exclusive=True)
        top = QHBoxLayout()
        top.addWidget(self.title, 1)
        for key, label in MODES:
            button = QPushButton(label, checkable=True, checked=key == self.mode)
            button.clicked.connect(lambda checked=False, k=key: self.set_mode(k))
            modes.addButton(button)
            top.addWidget(button)
            self.mode_buttons[key] = button
        self.pages = QStackedWidget()
        self.large = PixmapLabel()
        self.large.setMinimumSize(200, 200)
        self.pages.addWidget(self.large)
        side = QWidget()
        grid = QGridLayout(side)
        grid.setContentsMargins(0, 0, 0, 0)
        self.panels, self.panel_captions = [], []
        for column in range(3):
            picture, caption = SquarePicture(), QLabel(objectName="muted", alignment=Qt.AlignmentFlag.AlignCenter)
            grid.addWidget(picture, 1, column)
            grid.addWidget(caption, 2, column)
            self.panels.append(picture)
            self.panel_captions.append(caption)
        grid.setRowStretch(0, 1)
        grid.setRowStretch(3, 1)
        self.pages.addWidget(side)
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=50)
        self.opacity_slider.setMinimumWidth(80)
        self.opacity_slider.setToolTip("How strongly the heatmap covers the image (thumbnails too)")
        self.opacity_slider.valueChanged.connect(self._opacity_moved)
        self.opacity_value = QLabel("50 %", objectName="muted")
        self.opacity_value.setMinimumWidth(36)
        strip = QLabel()
        strip.setPixmap(to_pixmap(scale_strip(90, 10)))
        strip.setToolTip("Heat colours: dark = like the normal images, bright = unusual (one scale for the whole scan)")
        self.mark_buttons: dict[str, QPushButton] = {}
        for kind, label, tip in ((ANOMALOUS, "Anomalous", "Mark this image as anomalous (A)"),
                                 (NORMAL, "Normal", "Mark this image as normal (N)")):
            button = QPushButton(label, checkable=True, toolTip=tip + "; for Best F1 from marked")
            button.clicked.connect(lambda checked, k=kind: self.mark_requested.emit(k if checked else ""))
            self.mark_buttons[kind] = button
        bottom = QHBoxLayout()
        bottom.addWidget(QLabel("Heat"))
        bottom.addWidget(self.opacity_slider, 2)
        bottom.addWidget(self.opacity_value)
        bottom.addSpacing(8)
        bottom.addWidget(QLabel("normal", objectName="muted"))
        bottom.addWidget(strip)
        bottom.addWidget(QLabel("unusual", objectName="muted"))
        bottom.addStretch(1)
        marks = QHBoxLayout()
        marks.addWidget(QLabel("Mark this image", objectName="muted"))
        marks.addWidget(self.mark_buttons[ANOMALOUS])
        marks.addWidget(self.mark_buttons[NORMAL])
        marks.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(top)
        layout.addWidget(self.facts)
        layout.addWidget(self.pages, 1)
        layout.addLayout(bottom)
        layout.addLayout(marks)
        self.show_item(None)

    @property
    def opacity(self) -> float:
        return self.opacity_slider.value() / 100

    def set_opacity(self, opacity: float) -> None:
        self.opacity_slider.setValue(round(opacity * 100))

    def set_mode(self, mode: str) -> None:
        self.mode = mode if mode in dict(MODES) else "overlay"
        self.mode_buttons[self.mode].setChecked(True)
        self.pages.setCurrentIndex(0 if self.mode == "overlay" else 1)
        self._draw()

    def show_item(self, item, heat_range: tuple[float, float] = (0.0, 1.0), rank: int = 0, total: int = 0,
                  mark: str = "") -> None:
        self.item, self.heat_range = item, heat_range
        for button in (*self.mode_buttons.values(), *self.mark_buttons.values(), self.opacity_slider):
            button.setEnabled(item is not None)
        if item is None:
            self.title.setText("")
            self.facts.setText("")
            self.large.clear()
            for panel in self.panels:
                panel.clear()
            self.set_mark("")
            return
        self.title.setText(Path(item.path).name)
        self.title.setToolTip(item.path)
        self.set_mark(mark)
        self.update_facts(rank, total)
        self._draw()

    def update_facts(self, rank: int, total: int) -> None:
        """The line under the name; the verdict follows the threshold as it moves."""
        item = self.item
        if item is None:
            return
        verdict = item.verdict.capitalize()
        if item.flagged is not None:
            color = (FLAG_COLOR if item.flagged else PASS_COLOR).name()
            verdict = f"<b style='color:{color}'>{verdict}</b>"
        rank_text = f"rank {rank} of {total} · " if rank else ""
        self.facts.setText(f"{rank_text}score <b>{item.score:.6g}</b> · {verdict}")

    def set_mark(self, mark: str) -> None:
        for kind, button in self.mark_buttons.items():
            button.setChecked(kind == mark)

    def _opacity_moved(self, value: int) -> None:
        self.opacity_value.setText(f"{value} %")
        self._draw()
        self.opacity_changed.emit(value / 100)

    def _draw(self) -> None:
        item = self.item
        if item is None:
            return
        heat = heat01(item.heatmap, self.heat_range)
        if self.mode == "overlay":
            self.large.set_source(to_pixmap(overlay(item.image, heat, self.opacity)))
            return
        if item.reconstruction is not None:
            pictures = [rgb(item.image), rgb(item.reconstruction), difference(item.image, item.reconstruction)]
            captions = ["Image", "Reconstruction", "Difference |x − x̂|"]
        else:
            pictures = [rgb(item.image), overlay(item.image, heat, self.opacity), heat_colors(heat)]
            captions = ["Image", "Heatmap over it", "Heatmap"]
        for panel, caption, picture, text in zip(self.panels, self.panel_captions, pictures, captions):
            panel.set_source(to_pixmap(picture))
            caption.setText(text)
