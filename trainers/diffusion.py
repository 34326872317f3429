"""Training recipe for the diffusion family (``ddpm``): image folders, DDIM previews."""

from __future__ import annotations

from trainers.images import load_data, make_batch

__all__ = ["load_data", "make_batch", "preview_samples"]


def preview_samples(model, n: int, seed: int):
    """What the loop shows every ``preview_every`` steps: fast DDIM samples from the EMA weights."""
    return model.sample(n=n, seed=seed, steps=25, sampler="ddim")
