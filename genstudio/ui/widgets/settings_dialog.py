"""Preferences: compute device, CPU threads, model folder and theme, written to Settings on OK.

The dialog only records choices; the window applies them (``changed`` names what differs), since
a new device or library folder means reloading models and restarting nothing mid-run.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from genstudio.core.paths import home_dir
from genstudio.ui.settings import THEMES, Settings
from genstudio.ui.widgets import dialogs

DEVICE_LABELS = {"auto": "Automatic (best available)", "cpu": "CPU", "cuda": "NVIDIA GPU (CUDA)",
                 "mps": "Apple GPU (MPS)"}
THEME_LABELS = {"light": "Light", "dark": "Dark"}
PREFERENCES = ("device", "threads", "model_folder", "theme")


def default_model_folder() -> Path:
    return home_dir() / "models"


def folder_problem(folder: Path) -> str | None:
    """Why GenStudio cannot keep models in ``folder`` (created if missing), or None if it can."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".genstudio-write-test-{uuid.uuid4().hex[:8]}"
        probe.write_bytes(b"ok")
        probe.unlink()
    except OSError as err:
        reason = err.strerror or str(err)
        return f"GenStudio cannot keep models in '{folder}' ({reason}). Choose a folder you can write to."
    return None


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, devices: list[str], parent: QWidget | None = None):
        super().__init__(parent)
        self.settings = settings
        self.changed: set[str] = set()
        self.setWindowTitle("Settings")
        self.setMinimumWidth(520)

        self.device_box = self._device_combo(devices, settings.device)
        self.threads_box = QSpinBox(minimum=0, maximum=os.cpu_count() or 1, specialValueText="Automatic")
        self.threads_box.setValue(settings.threads)
        self.folder_edit = QLineEdit(settings.model_folder, placeholderText=str(default_model_folder()),
                                     clearButtonEnabled=True)
        self.theme_box = QComboBox()
        for value in THEMES:
            self.theme_box.addItem(THEME_LABELS.get(value, value.title()), value)
        self.theme_box.setCurrentIndex(max(0, self.theme_box.findData(settings.theme)))
        self.error_label = QLabel(objectName="error", wordWrap=True)
        self.error_label.hide()

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)

        form = QFormLayout()
        form.addRow("Compute device", self._with_hint(self.device_box, "Used by new generation and training runs."))
        form.addRow("CPU threads", self.threads_box)
        form.addRow("Model folder", self._with_hint(
            self._folder_row(), f"Empty means the default: {default_model_folder()}\n"
                                "Models already in the old folder are not moved."))
        form.addRow("Theme", self.theme_box)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addStretch(1)
        layout.addWidget(buttons)

    def _device_combo(self, devices: list[str], saved: str) -> QComboBox:
        box = QComboBox()
        offered = ["auto", *(d for d in DEVICE_LABELS if d != "auto" and d in devices)]
        for value in offered:
            box.addItem(DEVICE_LABELS[value], value)
        if saved not in offered:  # chosen on another machine (or GPU gone): keep it visible, not silently lost
            box.addItem(f"{DEVICE_LABELS.get(saved, saved)} (not available here)", saved)
        box.setCurrentIndex(max(0, box.findData(saved)))
        return box

    def _folder_row(self) -> QWidget:
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_folder)
        reset = QPushButton("Default", toolTip="Use the default model folder")
        reset.clicked.connect(self.folder_edit.clear)
        row = QWidget()
        layout = QHBoxLayout(row)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.folder_edit, 1)
        layout.addWidget(browse)
        layout.addWidget(reset)
        return row

    @staticmethod
    def _with_hint(field: QWidget, text: str) -> QWidget:
        """A field with a muted line under it, kept close (a form row of its own leaves a gap)."""
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(field)
        layout.addWidget(QLabel(text, objectName="hint"))
        return box

    def _browse_folder(self) -> None:
        start = self.folder_edit.text().strip() or str(default_model_folder())
        if chosen := dialogs.open_folder(self, "Choose the model folder", start):
            self.folder_edit.setText(chosen)

    def chosen_folder(self) -> str:
        """The folder as stored: absolute, or '' for the default (also when typed out in full)."""
        text = self.folder_edit.text().strip()
        if not text:
            return ""
        folder = Path(text).expanduser().absolute()
        return "" if folder == default_model_folder().absolute() else str(folder)

    def values(self) -> dict[str, object]:
        return {"device": self.device_box.currentData(), "threads": self.threads_box.value(),
                "model_folder": self.chosen_folder(), "theme": self.theme_box.currentData()}

    def accept(self) -> None:
        values = self.values()
        if values["model_folder"] and (problem := folder_problem(Path(values["model_folder"]))):
            self.error_label.setText(problem)
            self.error_label.show()
            self.folder_edit.setFocus()
            return  # keep the dialog open so the user can fix it
        self.changed = {key for key in PREFERENCES if getattr(self.settings, key) != values[key]}
        for key in self.changed:
            setattr(self.settings, key, values[key])
        self.settings.sync()
        super().accept()
