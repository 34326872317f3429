"""Image data for every image-modality trainer: one decoded uint8 array, batches cut from it.

This module is also the whole training recipe of the image families whose loss lives in the model
(``training_loss``): autoencoders, flows, autoregressive and energy-based models.
"""

from __future__ import annotations

import json

import torch

from genstudio.core.data.images import load_image_folder, to_grayscale
from genstudio.models.common import from_uint8


def load_data(job) -> tuple[torch.Tensor, object]:
    """Decode the folder once (N×H×W×C uint8, shared by all epochs) and write the dataset report."""
    images, report = load_image_folder(job.data_dir, job.model_config.image_size)
    if getattr(job.model_config, "channels", 3) == 1:
        images = to_grayscale(images)
    (job.run_dir / "dataset_report.json").write_text(json.dumps(
        {**report.summary(), "skipped_files": [vars(s) for s in report.skipped]}, indent=1), encoding="utf-8")
    return torch.from_numpy(images), report


def make_batch(data: torch.Tensor, idx: torch.Tensor, generator: torch.Generator, cfg, device) -> torch.Tensor:
    """Float batch in [-1, 1], (B, C, H, W) on ``device``; random flips drawn from the run's generator."""
    batch = from_uint8(data[idx].to(device))
    if cfg.hflip:
        flip = torch.rand(len(idx), generator=generator, device=generator.device).to(device) < 0.5
        batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
    return batch


def preview_samples(model, n: int, seed: int):
    """What the loop shows every ``preview_every`` steps: samples with the model's fast preview options."""
    return model.sample(n=n, seed=seed, **getattr(model, "preview_options", {}))
