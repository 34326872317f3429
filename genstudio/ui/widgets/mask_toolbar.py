"""The controls above the mask editor: tools, brush size and hardness, mask colour and opacity, undo.

A row of plain widgets bound to a ``MaskEditor``; it follows the editor too, so a shortcut that
changes the tool or the brush size shows here.
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QColorDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from genstudio.ui.widgets.mask_editor import SHORTCUTS, TOOLS, MaskEditor

TOOL_LABELS = {"brush": ("Brush", "Paint the area to repaint"),
               "eraser": ("Eraser", "Remove paint from the mask"),
               "rect": ("Rectangle", "Drag a rectangle to mask; hold Alt to remove it from the mask"),
               "lasso": ("Lasso", "Draw around an area to mask it; hold Alt to remove it from the mask")}


def tip(text: str, action: str) -> str:
    return f"{text} ({' or '.join(SHORTCUTS[action])})"


def separator() -> QFrame:
    """A thin upright rule between groups, as quiet in the dark theme as in the light one."""
    line = QFrame()
    line.setFixedSize(1, 18)
    line.setStyleSheet("background: palette(mid);")
    return line


def tool_button(text: str, tooltip: str, slot=None, checkable: bool = False) -> QToolButton:
    button = QToolButton(text=text, toolTip=tooltip, checkable=checkable)
    button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    if slot is not None:
        button.clicked.connect(slot)
    return button


class MaskToolbar(QWidget):
    """Two rows: ``leading`` widgets (the canvas's Open/Save), undo, the mask's look and the zoom above;
    the tools, the brush and ``trailing`` widgets below."""

    def __init__(self, editor: MaskEditor, leading: tuple[QWidget, ...] = (), trailing: tuple[QWidget, ...] = (),
                 parent=None):
        super().__init__(parent)
        self.editor = editor
        self.tools = QButtonGroup(self)
        self.tool_buttons: dict[str, QToolButton] = {}
        for tool in TOOLS:
            label, text = TOOL_LABELS[tool]
            button = tool_button(label, tip(text, tool), lambda _=False, t=tool: editor.set_tool(t), checkable=True)
            self.tools.addButton(button)
            self.tool_buttons[tool] = button
        self.size_box = QSpinBox(minimum=1, maximum=1000, suffix=" px", value=editor.brush_size)
        self.size_box.setToolTip("Brush diameter in picture pixels ([ smaller, ] larger)")
        self.size_box.valueChanged.connect(lambda v: editor.set_brush(size=v))
        self.hardness = QSlider(Qt.Orientation.Horizontal, minimum=0, maximum=100, value=round(editor.hardness * 100))
        self.hardness.setFixedWidth(70)
        self.hardness.setToolTip("Hardness: 100% = a crisp edge, 0% = a soft edge that fades out")
        self.hardness.valueChanged.connect(lambda v: editor.set_brush(hardness=v / 100))
        self.size_label, self.hardness_label = QLabel("Size"), QLabel("Hardness")
        self.invert_button = tool_button("Invert", tip("Mask everything not masked, and unmask the rest", "invert"),
                                         editor.invert_mask)
        self.clear_button = tool_button("Clear", tip("Remove the whole mask", "clear"), editor.clear_mask)
        self.undo_button = tool_button("Undo", tip("Undo", "undo"), editor.undo)
        self.redo_button = tool_button("Redo", tip("Redo", "redo"), editor.redo)
        self.color_button = tool_button("", "The colour the mask is shown in", self.choose_color)
        self.color_button.setFixedWidth(26)
        self.opacity = QSlider(Qt.Orientation.Horizontal, minimum=10, maximum=100,
                               value=round(editor.overlay.opacity * 100))
        self.opacity.setFixedWidth(70)
        self.opacity.setToolTip("Mask opacity: how strongly the mask covers the picture on screen")
        self.opacity.valueChanged.connect(lambda v: editor.set_overlay(opacity=v / 100))
        self.fit_button = tool_button("Fit", tip("Show the whole picture", "fit"), editor.fit)
        self.actual_button = tool_button("100%", "One screen pixel per picture pixel", lambda: editor.set_zoom(1.0))
        self.zoom_label = QLabel(objectName="muted", toolTip="Zoom: mouse wheel, Ctrl+plus / Ctrl+minus; "
                                 "pan: middle button or Space + drag")
        self.zoom_label.setMinimumWidth(44)
        top = (*leading, None, self.undo_button, self.redo_button, separator(), QLabel("Mask"), self.color_button,
               self.opacity, separator(), self.zoom_label, self.fit_button, self.actual_button)
        tools = (*self.tool_buttons.values(), separator(), self.size_label, self.size_box, self.hardness_label,
                 self.hardness, separator(), self.invert_button, self.clear_button, None, *trailing)
        # The theme styles no checked tool button; the current tool must stand out.
        self.setStyleSheet("QToolButton:checked { background: palette(highlight); color: palette(highlighted-text); "
                           "border-radius: 4px; }")
        rows = QVBoxLayout(self)
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(4)
        for widgets in (top, tools):
            row = QHBoxLayout()
            row.setSpacing(4)
            for widget in widgets:
                if widget is None:
                    row.addStretch(1)
                else:
                    row.addWidget(widget)
            rows.addLayout(row)
        editor.tool_changed.connect(self.follow_editor)
        editor.zoom_changed.connect(self._show_zoom)
        editor.undo_stack.canUndoChanged.connect(self.undo_button.setEnabled)
        editor.undo_stack.canRedoChanged.connect(self.redo_button.setEnabled)
        editor.undo_stack.undoTextChanged.connect(self._show_undo_text)
        editor.undo_stack.redoTextChanged.connect(self._show_redo_text)
        self.undo_button.setEnabled(False)
        self.redo_button.setEnabled(False)
        self._show_color(QColor(*editor.overlay.color))
        self.follow_editor()

    def follow_editor(self) -> None:
        editor = self.editor
        self.tool_buttons[editor.tool].setChecked(True)
        for widget, value in ((self.size_box, editor.brush_size), (self.hardness, round(editor.hardness * 100))):
            widget.blockSignals(True)
            widget.setValue(value)
            widget.blockSignals(False)
        brush = editor.tool in ("brush", "eraser")
        for widget in (self.size_label, self.size_box, self.hardness_label, self.hardness):
            widget.setEnabled(brush)

    # Slots are methods, not lambdas, so Qt drops them with the toolbar (the stack outlives it at exit).
    def _show_zoom(self, zoom: float) -> None:
        self.zoom_label.setText(f"{zoom * 100:.0f}%")

    def _show_undo_text(self, text: str) -> None:
        self.undo_button.setToolTip(tip(f"Undo {text}".strip(), "undo"))

    def _show_redo_text(self, text: str) -> None:
        self.redo_button.setToolTip(tip(f"Redo {text}".strip(), "redo"))

    def choose_color(self) -> None:
        color = QColorDialog.getColor(QColor(*self.editor.overlay.color), self, "Mask colour")
        if color.isValid():
            self.editor.set_overlay(color=color)
            self._show_color(color)

    def _show_color(self, color: QColor) -> None:
        self.color_button.setStyleSheet(f"QToolButton {{ background: {color.name()}; border: 1px solid #888; }}")

    def set_enabled(self, enabled: bool) -> None:
        """Off while a run uses the picture; zoom stays on."""
        for widget in (*self.tool_buttons.values(), self.size_box, self.hardness, self.invert_button,
                       self.clear_button):
            widget.setEnabled(enabled)
        self.undo_button.setEnabled(enabled and self.editor.undo_stack.canUndo())
        self.redo_button.setEnabled(enabled and self.editor.undo_stack.canRedo())
        if enabled:
            self.follow_editor()
