"""PySide6 6.12 on Python 3.11 leaks references to None until the interpreter aborts; our guard holds."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest.importorskip("PySide6")

SCRIPT = """
import os
os.environ["QT_QPA_PLATFORM"] = "offscreen"
import genstudio.ui
from PySide6.QtWidgets import QApplication, QLabel
app = QApplication([])
label = QLabel()
for _ in range(200_000):
    label.setText("x")
print("survived")
"""


def test_many_qt_calls_do_not_abort_the_interpreter():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and "survived" in proc.stdout, proc.stderr[-500:]
