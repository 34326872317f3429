"""The Qt-free layers stay Qt-free, and imports point one way (DESIGN.md)."""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.util import REPO

QT_FREE = ["genstudio/core", "genstudio/models", "genstudio/tasks", "trainers"]


@pytest.mark.parametrize("folder", QT_FREE)
def test_no_pyside_import(folder):
    offenders = []
    for path in (REPO / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] == "PySide6"]
    assert offenders == []


def test_import_contracts():
    exe = shutil.which("lint-imports") or str(Path(__import__("sys").executable).parent / "lint-imports")
    proc = subprocess.run([exe], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
