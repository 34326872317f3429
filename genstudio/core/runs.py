"""Training runs on disk, read without torch: what can be resumed, how far it got, its loss history.

A run lives in ``runs_dir()/<name>/``: ``checkpoint/`` (state.json + tensors, written by
trainers/checkpoint.py), ``metrics.jsonl`` (one line per step), ``events.jsonl``, ``previews/``.
The window reads these to offer Resume and to redraw a run's loss curve.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from genstudio.core.paths import runs_dir

STATE_JSON = "state.json"
TENSORS = "tensors.safetensors"


def checkpoint_candidates(folder: Path) -> tuple[Path, Path]:
    """The checkpoint folder, then the previous one kept while a new one is swapped in."""
    return folder, folder.parent / f".{folder.name}-old"


def find_checkpoint(folder: Path) -> Path | None:
    for candidate in checkpoint_candidates(Path(folder)):
        if (candidate / STATE_JSON).is_file() and (candidate / TENSORS).is_file():
            return candidate
    return None


@dataclass
class RunInfo:
    name: str
    path: Path
    arch: str
    step: int
    total: int
    preset: str
    data_dir: str
    from_model: str | None

    @property
    def finished(self) -> bool:
        return self.step >= self.total


def read_run(name: str) -> RunInfo | None:
    """The resumable state of run ``name``, or None if it has no readable checkpoint."""
    path = runs_dir() / name
    found = find_checkpoint(path / "checkpoint")
    if found is None:
        return None
    try:
        meta = json.loads((found / STATE_JSON).read_text(encoding="utf-8"))
        return RunInfo(name=name, path=path, arch=str(meta["arch"]), step=int(meta["step"]),
                       total=int(meta["train_config"]["steps"]), preset=str(meta.get("preset", "")),
                       data_dir=str(meta.get("data_dir", "")), from_model=meta.get("from_model"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def list_runs() -> list[RunInfo]:
    root = runs_dir()
    if not root.is_dir():
        return []
    runs = (read_run(p.name) for p in sorted(root.iterdir()) if p.is_dir())
    return [r for r in runs if r is not None]


def read_metrics(name: str, keys: tuple[str, ...] = ("loss",), limit: int = 200_000) -> dict[str, list[Any]]:
    """``{"step": [...], "loss": [...]}`` from a run's metrics.jsonl; damaged lines are skipped."""
    out: dict[str, list[Any]] = {"step": [], **{k: [] for k in keys}}
    try:
        with open(runs_dir() / name / "metrics.jsonl", encoding="utf-8") as fh:
            for line in fh:
                try:
                    row = json.loads(line)
                    values = [row[k] for k in keys]
                    step = int(row["step"])
                except (ValueError, KeyError, TypeError):
                    continue
                out["step"].append(step)
                for k, v in zip(keys, values):
                    out[k].append(v)
                if len(out["step"]) >= limit:
                    break
    except OSError:
        pass
    return out
