"""The model picker every canvas has: a combo box of library models, refilled when the library changes."""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox


def fill_model_box(box: QComboBox, names_and_labels: list[tuple[str, str]], current: str) -> None:
    """Refill ``box`` with (model name, label) items, keeping ``current`` selected while it is still listed
    (else the first), without emitting change signals: the caller updates once, after."""
    box.blockSignals(True)
    box.clear()
    for name, label in names_and_labels:
        box.addItem(label, name)
    box.setCurrentIndex(max(box.findData(current), 0))
    box.blockSignals(False)


def select_model(box: QComboBox, name: str) -> bool:
    """Select the model ``name`` if the box lists it; whether it does."""
    index = box.findData(name)
    if index >= 0:
        box.setCurrentIndex(index)
    return index >= 0


