"""How to start a trainer as a child process, from source or from the frozen (PyInstaller) app.

A frozen app has no ``python`` to call: it re-launches its own executable with the ``train``
subcommand, which ``genstudio.app.main`` routes to the trainer. From source, ``python -m trainers``.
"""

from __future__ import annotations

import sys


def is_frozen() -> bool:
    return bool(getattr(sys, "frozen", False))


def trainer_command(train_args: list[str]) -> list[str]:
    """argv that runs ``python -m trainers *train_args`` in a fresh process."""
    if is_frozen():
        return [sys.executable, "train", *train_args]
    return [sys.executable, "-m", "trainers", *train_args]
