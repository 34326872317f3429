"""The app's remembered state: preferences (device, threads, model folder, theme) and last choices.

One INI file in the platformdirs config dir (``GENSTUDIO_HOME/config`` in tests), read through
QSettings so window geometry round-trips as Qt expects. Values are validated on read: a hand-edited
or stale file falls back to defaults instead of breaking the window.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from genstudio.core.devices import DEVICE_CHOICES
from genstudio.core.paths import config_dir

THEMES = ("light", "dark")


class Settings:
    def __init__(self, path: Path | None = None):
        self.path = path or config_dir() / "settings.ini"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    # -- preferences -----------------------------------------------------------------------------
    @property
    def device(self) -> str:
        value = str(self.qs.value("prefs/device", "auto"))
        return value if value in DEVICE_CHOICES else "auto"

    @device.setter
    def device(self, value: str) -> None:
        self.qs.setValue("prefs/device", value if value in DEVICE_CHOICES else "auto")

    @property
    def threads(self) -> int:
        """CPU threads for inference and training; 0 means the library default."""
        return max(0, min(self._int("prefs/threads", 0), os.cpu_count() or 1))

    @threads.setter
    def threads(self, value: int) -> None:
        self.qs.setValue("prefs/threads", int(value))

    @property
    def model_folder(self) -> str:
        """The user's library folder; '' means the default one."""
        return str(self.qs.value("prefs/model_folder", "") or "")

    @model_folder.setter
    def model_folder(self, value: str) -> None:
        self.qs.setValue("prefs/model_folder", value or "")

    @property
    def theme(self) -> str:
        value = str(self.qs.value("prefs/theme", "light"))
        return value if value in THEMES else "light"

    @theme.setter
    def theme(self, value: str) -> None:
        self.qs.setValue("prefs/theme", value if value in THEMES else "light")

    # -- last choices and window state -------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        return self.qs.value(f"state/{key}", default)

    def get_int(self, key: str, default: int) -> int:
        return self._int(f"state/{key}", default)

    def get_float(self, key: str, default: float) -> float:
        try:
            return float(self.qs.value(f"state/{key}", default))
        except (TypeError, ValueError):
            return default

    def set(self, key: str, value: Any) -> None:
        self.qs.setValue(f"state/{key}", value)

    def sync(self) -> None:
        self.qs.sync()

    def apply_environment(self) -> None:
        """Point this process and the trainers it starts at the chosen library and thread count."""
        if self.model_folder:
            os.environ["GENSTUDIO_MODELS"] = self.model_folder
        else:
            os.environ.pop("GENSTUDIO_MODELS", None)

    def _int(self, key: str, default: int) -> int:
        try:
            return int(self.qs.value(key, default))
        except (TypeError, ValueError):
            return default
