"""Where things live: bundled resources, the user's library, training runs and logs.

``GENSTUDIO_HOME`` overrides the platformdirs user data dir (tests and portable installs use it).
Resources are found beside the source tree, or inside a PyInstaller bundle (``sys._MEIPASS``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "GenStudio"


def resources_dir() -> Path:
    if override := os.environ.get("GENSTUDIO_RESOURCES"):
        return Path(override)
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def home_dir() -> Path:
    if override := os.environ.get("GENSTUDIO_HOME"):
        return Path(override).expanduser()
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def models_dir() -> Path:
    """The user's library; ``GENSTUDIO_MODELS`` overrides it (the app sets it from its settings, so
    trainer child processes save where the window looks)."""
    if override := os.environ.get("GENSTUDIO_MODELS"):
        return Path(override).expanduser()
    return home_dir() / "models"


def runs_dir() -> Path:
    """Training runs: checkpoints, previews and metrics, one folder per model name."""
    return home_dir() / "runs"


def config_dir() -> Path:
    """Where the app keeps its settings file (window geometry, last choices, device, theme)."""
    if os.environ.get("GENSTUDIO_HOME"):
        return home_dir() / "config"
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    if os.environ.get("GENSTUDIO_HOME"):
        return home_dir() / "logs"
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def bundled_models_dir() -> Path:
    return resources_dir() / "models"
