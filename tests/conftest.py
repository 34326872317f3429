"""Shared fixtures: every test runs against a throwaway GenStudio home, and Qt never needs a display."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def genstudio_home(tmp_path, monkeypatch):
    """A fresh ``GENSTUDIO_HOME`` per test, so no test reads or writes the real user folders."""
    home = tmp_path / "genstudio-home"
    home.mkdir()
    monkeypatch.setenv("GENSTUDIO_HOME", str(home))
    monkeypatch.delenv("GENSTUDIO_MODELS", raising=False)
    return home


import genstudio.ui  # noqa: E402,F401 - the PySide6 refcount guard, before any test drives Qt
