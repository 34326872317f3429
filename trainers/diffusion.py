"""Training recipe for the diffusion family (``ddpm``): image folders, DDIM previews."""

from __future__ import annotations

from trainers.images import load_data, make_batch, preview_samples

__all__ = ["load_data", "make_batch", "preview_samples"]
