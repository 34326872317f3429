"""The row of tools over the Music canvas's piano roll: Draw, the grid, Fit, Undo/Redo, and the legend of
the two note colours (yours and the model's) with "Keep", which makes generated notes ordinary ones.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QTimer
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QWidget

from genstudio.ui.widgets.piano_roll import PianoRoll

GRIDS = (("1/4", 1.0), ("1/8", 0.5), ("1/16", 0.25), ("1/32", 0.125), ("1/8 triplet", 1 / 3), ("1/16 triplet", 1 / 6))


class RollTools(QWidget):
    def __init__(self, roll: PianoRoll, parent=None):
        super().__init__(parent)
        self.roll = roll
        self.busy = False
        self.draw_button = QPushButton("✎ Draw", checkable=True, toolTip="Click and drag on empty space to draw "
                                       "notes (a double-click always adds one)")
        self.draw_button.toggled.connect(lambda on: setattr(roll, "pencil", on))
        self.grid_box = QComboBox(toolTip="Notes snap to this grid (hold Alt to place them freely)")
        for label, beats in GRIDS:
            self.grid_box.addItem(label, beats)
        self.grid_box.setCurrentIndex(2)
        self.grid_box.currentIndexChanged.connect(lambda: roll.set_grid(self.grid_box.currentData()))
        self.fit_button = QPushButton("Fit", toolTip="Show the whole piece (Ctrl+0 in the roll)")
        self.fit_button.clicked.connect(roll.zoom_to_fit)
        self.undo_button = QPushButton("↶ Undo")
        self.undo_button.clicked.connect(roll.undo)
        self.redo_button = QPushButton("↷ Redo")
        self.redo_button.clicked.connect(roll.redo)
        self.legend = QLabel()
        self.keep_button = QPushButton("Keep", toolTip="Make the generated notes ordinary notes, drawn like yours")
        self.keep_button.clicked.connect(self.keep_generated)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.draw_button, QLabel("Grid"), self.grid_box, self.fit_button, self.undo_button,
                       self.redo_button):
            layout.addWidget(widget)
        layout.addStretch(1)
        layout.addWidget(self.legend)
        layout.addWidget(self.keep_button)
        roll.sequence_changed.connect(self.refresh)
        self.refresh()

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        self.draw_button.setEnabled(not busy)
        self.refresh()

    def generated_count(self) -> int:
        return sum(n.generated for n in self.roll.sequence().notes)

    def refresh(self) -> None:
        generated = self.generated_count()
        colors = self.roll.note_colors()
        self.legend.setText(f"<span style='color:{colors['primer'].name()}'>■</span> Your notes &nbsp; "
                            f"<span style='color:{colors['generated'].name()}'>■</span> Generated ({generated:,})")
        self.keep_button.setVisible(generated > 0)
        self.keep_button.setEnabled(not self.busy)
        stack = self.roll.undo_stack
        self.undo_button.setEnabled(stack.canUndo() and not self.busy)
        self.redo_button.setEnabled(stack.canRedo() and not self.busy)
        self.undo_button.setToolTip(f"Undo {stack.undoText()} (Ctrl+Z in the roll)" if stack.canUndo() else "")
        self.redo_button.setToolTip(f"Redo {stack.redoText()} (Ctrl+Shift+Z in the roll)" if stack.canRedo() else "")

    def keep_generated(self) -> bool:
        """One undo step: the generated notes become ordinary ones."""
        generated = [n for n in self.roll.sequence().notes if n.generated]
        return self.roll.edit_notes(generated, [n.moved(generated=False) for n in generated], "Keep generated notes")

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == QEvent.Type.PaletteChange:
            QTimer.singleShot(0, self.refresh)  # after the roll has taken the theme's colours
