"""Small helpers shared by tests: generated image folders, tiny trained models, trainer subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def make_image_folder(folder: Path, n: int = 12, size: int = 40, seed: int = 0) -> Path:
    """``n`` PNGs of soft coloured blobs: structured enough that a model can start to learn them."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    yy, xx = np.mgrid[0:size, 0:size]
    for i in range(n):
        cy, cx, r = rng.uniform(10, size - 10, 2).tolist() + [rng.uniform(5, 12)]
        mask = ((yy - cy) ** 2 + (xx - cx) ** 2 < r**2)[..., None]
        img = np.where(mask, rng.integers(0, 256, 3), 255).astype(np.uint8)
        Image.fromarray(img).save(folder / f"blob_{i:03d}.png")
    return folder


def trainer_env(home: Path) -> dict[str, str]:
    return {**os.environ, "GENSTUDIO_HOME": str(home), "PYTHONUNBUFFERED": "1"}


def run_trainer(args: list[str], home: Path, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "trainers", *args], env=trainer_env(home), cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def start_trainer(args: list[str], home: Path) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "trainers", *args], env=trainer_env(home), cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.PIPE, text=True)


def save_tiny_model(arch: str, name: str, store=None, steps: int = 0, **overrides) -> str:
    """A ``tiny``-preset model in the library, weights perturbed from their initialisation (zero-initialised
    output layers would otherwise hide the effect of seeds and latents). Returns its name."""
    import torch

    from genstudio.core import config as configlib
    from genstudio.core.registry import get
    from genstudio.core.store import ModelStore, new_card

    spec = get(arch)
    cfg = spec.model_config("tiny", overrides)
    torch.manual_seed(0)
    model = spec.build(cfg)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    (store or ModelStore()).save(new_card(name, arch, configlib.to_dict(cfg), steps=steps), model.state_dict())
    return name
