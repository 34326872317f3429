"""Blending two melodies with a MusicVAE: the panel that picks phrase A and phrase B, and the strip above
the piano roll that names each step of the result ("A", 2, 3, …, "B") where it lies in time.

A is the roll's notes or a MIDI file, B a MIDI file; either can be dropped on its row. The files are
read when the blend runs, in its worker. Clicking a step in the strip loops it.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from genstudio.ui.widgets import dialogs
from genstudio.ui.widgets.image_input import local_file
from genstudio.ui.widgets.music_files import MIDI_FILTER, is_midi
from genstudio.ui.widgets.piano_roll import PianoRoll


class PhraseSlot(QFrame):
    """One end of the blend: a MIDI file (chosen or dropped), or, for A, the roll's notes."""

    changed = Signal()

    def __init__(self, letter: str, can_use_roll: bool, parent=None):
        super().__init__(parent)
        self.letter, self.can_use_roll = letter, can_use_roll
        self.path: Path | None = None
        self.setAcceptDrops(True)
        self.label = QLabel(wordWrap=False)
        self.label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.choose_button = QPushButton("Open…", toolTip=f"Choose a MIDI file for melody {letter}; or drop one here")
        self.choose_button.clicked.connect(self.choose)
        self.roll_button = QPushButton("Roll", toolTip="Use the notes in the roll as melody A", visible=can_use_roll)
        self.roll_button.clicked.connect(lambda: self.set_path(None))
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(QLabel(f"<b>{letter}</b>"))
        layout.addWidget(self.label, 1)
        layout.addWidget(self.choose_button)
        layout.addWidget(self.roll_button)
        self.set_path(None)

    def uses_roll(self) -> bool:
        return self.path is None and self.can_use_roll

    def is_set(self) -> bool:
        return self.path is not None or self.can_use_roll

    def set_path(self, path: str | Path | None) -> None:
        self.path = Path(path) if path else None
        if self.path is not None:
            self.label.setText(self.path.name)
            self.label.setToolTip(str(self.path))
        else:
            self.label.setText("the roll" if self.can_use_roll else "drop a .mid here")
            self.label.setToolTip("")
        self.roll_button.setEnabled(self.path is not None)
        self.changed.emit()

    def choose(self) -> None:
        path = dialogs.open_file(self, f"Melody {self.letter}", MIDI_FILTER)
        if path:
            self.set_path(path)

    def dragEnterEvent(self, event) -> None:
        path = local_file(event.mimeData())
        if path and is_midi(path) and event.source() is None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:
        path = local_file(event.mimeData())
        event.acceptProposedAction()
        if path and is_midi(path):
            self.set_path(path)

    def set_enabled(self, enabled: bool) -> None:
        self.choose_button.setEnabled(enabled)
        self.roll_button.setEnabled(enabled and self.path is not None)
        self.setAcceptDrops(enabled)


class BlendPanel(QGroupBox):
    """Melody A, melody B, the number of steps, and the button that blends them."""

    blend_requested = Signal()

    def __init__(self, parent=None):
        super().__init__("Blend two melodies", parent)
        self.a, self.b = PhraseSlot("A", can_use_roll=True), PhraseSlot("B", can_use_roll=False)
        self.steps_box = QSpinBox(minimum=2, maximum=32, value=5)
        self.steps_box.setToolTip("Phrases from A to B, both ends included")
        self.blend_button = QPushButton("Blend A → B")
        self.blend_button.setToolTip("Walk from A's first phrase to B's in steps; the phrases go into the roll, "
                                     "one after another (Ctrl+Z takes them back)")
        self.blend_button.clicked.connect(self.blend_requested)
        self.b.changed.connect(self._update)
        steps_row = QHBoxLayout()
        steps_row.addWidget(QLabel("Steps"))
        steps_row.addWidget(self.steps_box)
        steps_row.addWidget(self.blend_button, 1)
        layout = QVBoxLayout(self)
        layout.addWidget(self.a)
        layout.addWidget(self.b)
        layout.addLayout(steps_row)
        self.enabled = True
        self._update()

    def _update(self) -> None:
        self.blend_button.setEnabled(self.enabled and self.b.path is not None)

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        self.a.set_enabled(enabled)
        self.b.set_enabled(enabled)
        self.steps_box.setEnabled(enabled)
        self._update()


class PhraseStrip(QWidget):
    """A row above the piano roll naming the blend's steps under their time spans; a click loops one."""

    phrase_clicked = Signal(int)

    def __init__(self, roll: PianoRoll, parent=None):
        super().__init__(parent)
        self.roll = roll
        self.spans: list[tuple[float, float]] = []
        self.setFixedHeight(22)
        self.setToolTip("The steps of the blend, from A to B: click one to loop it")
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        bar = roll.horizontalScrollBar()
        bar.valueChanged.connect(self.update)
        bar.rangeChanged.connect(self.update)

    def set_spans(self, spans: list[tuple[float, float]]) -> None:
        self.spans = list(spans)
        self.setVisible(bool(spans))
        self.update()

    def label(self, index: int) -> str:
        return "A" if index == 0 else "B" if index == len(self.spans) - 1 else str(index + 1)

    def _offset(self) -> float:
        """Where the roll's time axis starts, in this widget's x."""
        viewport = self.roll.viewport()
        return viewport.mapTo(self.window(), QPoint(0, 0)).x() - self.mapTo(self.window(), QPoint(0, 0)).x()

    def span_rect(self, index: int) -> QRectF:
        start, end = self.spans[index]
        x0, x1 = self.roll.time_to_x(start) + self._offset(), self.roll.time_to_x(end) + self._offset()
        return QRectF(x0, 1, max(1.0, x1 - x0), self.height() - 2)

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        left = self._offset()
        painter.setClipRect(QRectF(left, 0, self.roll.viewport().width(), self.height()))
        palette = self.palette()
        colors = self.roll.note_colors()
        for index in range(len(self.spans)):
            rect = self.span_rect(index)
            fill = QColor(colors["generated"] if index % 2 else colors["primer"])
            fill.setAlpha(70)
            painter.fillRect(rect.adjusted(1, 0, -1, 0), fill)
            painter.setPen(palette.windowText().color())
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.label(index))

    def mousePressEvent(self, event) -> None:
        for index in range(len(self.spans)):
            if self.span_rect(index).contains(event.position()):
                self.phrase_clicked.emit(index)
                return
