"""Training checkpoints without pickle: tensors in safetensors, everything else in JSON.

A checkpoint holds what an exact resume needs: model and EMA weights, the optimizer's moments and
step counts, the noise generator and torch's global RNG, and the position in the data stream.
It is written to a hidden folder and swapped in with renames, so a kill at any moment leaves either
the old or the new checkpoint whole; ``load`` also finds the old one if a kill fell between renames.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from genstudio.core.errors import CheckpointError
from genstudio.core.runs import STATE_JSON, TENSORS, checkpoint_candidates, find_checkpoint


def _split_optimizer(state_dict: dict) -> tuple[dict[str, torch.Tensor], dict]:
    tensors, scalars = {}, {}
    for idx, entries in state_dict["state"].items():
        for key, value in entries.items():
            if torch.is_tensor(value):
                tensors[f"optim.{idx}.{key}"] = value
            else:
                scalars.setdefault(str(idx), {})[key] = value
    return tensors, {"param_groups": state_dict["param_groups"], "scalars": scalars}


def _join_optimizer(tensors: dict[str, torch.Tensor], meta: dict) -> dict:
    state: dict[int, dict[str, Any]] = {}
    for name, value in tensors.items():
        if name.startswith("optim."):
            _, idx, key = name.split(".", 2)
            state.setdefault(int(idx), {})[key] = value
    for idx, entries in meta["scalars"].items():
        state.setdefault(int(idx), {}).update(entries)
    return {"state": state, "param_groups": meta["param_groups"]}


def save(folder: Path, *, model: torch.nn.Module, ema: torch.nn.Module, optimizer: torch.optim.Optimizer,
         noise_generator: torch.Generator, meta: dict[str, Any]) -> None:
    """Write a complete checkpoint to ``folder`` atomically (``meta`` must be JSON-serialisable)."""
    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    optim_tensors, optim_meta = _split_optimizer(optimizer.state_dict())
    tensors = {f"model.{k}": v for k, v in model.state_dict().items()}
    tensors.update({f"ema.{k}": v for k, v in ema.state_dict().items()})
    tensors.update(optim_tensors)
    tensors["rng.torch"] = torch.get_rng_state()
    tensors["rng.noise"] = noise_generator.get_state()
    if torch.cuda.is_available():
        tensors["rng.cuda"] = torch.cuda.get_rng_state()
    staging = folder.parent / f".{folder.name}-{uuid.uuid4().hex[:8]}.tmp"
    staging.mkdir()
    try:
        save_file({k: v.detach().contiguous().cpu() for k, v in tensors.items()}, str(staging / TENSORS))
        with open(staging / STATE_JSON, "w", encoding="utf-8") as fh:
            json.dump({**meta, "optimizer": optim_meta}, fh, indent=1)
            fh.flush()
            os.fsync(fh.fileno())
        old = checkpoint_candidates(folder)[1]
        if folder.exists():
            shutil.rmtree(old, ignore_errors=True)
            os.replace(folder, old)
        os.replace(staging, folder)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def find(folder: Path) -> Path | None:
    """The checkpoint folder to resume from, or the previous one if a kill fell between renames."""
    return find_checkpoint(folder)


def load_meta(folder: Path) -> dict[str, Any]:
    try:
        return json.loads((Path(folder) / STATE_JSON).read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise CheckpointError(f"The checkpoint in {folder} is unreadable ({err}).") from None


def restore(folder: Path, *, model: torch.nn.Module, ema: torch.nn.Module,
            optimizer: torch.optim.Optimizer, noise_generator: torch.Generator) -> dict[str, Any]:
    """Load everything ``save`` wrote back into live objects; returns the JSON meta."""
    meta = load_meta(folder)
    try:
        tensors = load_file(str(Path(folder) / TENSORS))
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"The checkpoint in {folder} is damaged ({err}).") from None

    def prefixed(prefix: str) -> dict[str, torch.Tensor]:
        return {k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)}

    try:
        model.load_state_dict(prefixed("model."))
        ema.load_state_dict(prefixed("ema."))
        optimizer.load_state_dict(_join_optimizer(tensors, meta["optimizer"]))
    except (RuntimeError, KeyError, ValueError) as err:
        raise CheckpointError(f"The checkpoint in {folder} does not fit this model ({err}).") from None
    torch.set_rng_state(tensors["rng.torch"])
    noise_generator.set_state(tensors["rng.noise"])
    if "rng.cuda" in tensors and torch.cuda.is_available():
        torch.cuda.set_rng_state(tensors["rng.cuda"])
    return meta
