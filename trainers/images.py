"""Image data for every image-modality trainer: one decoded uint8 array, batches cut from it."""

from __future__ import annotations

import json

import torch

from genstudio.core.data.images import load_image_folder


def load_data(job) -> tuple[torch.Tensor, object]:
    """Decode the folder once (N×H×W×3 uint8, shared by all epochs) and write the dataset report."""
    images, report = load_image_folder(job.data_dir, job.model_config.image_size)
    (job.run_dir / "dataset_report.json").write_text(json.dumps(
        {**report.summary(), "skipped_files": [vars(s) for s in report.skipped]}, indent=1), encoding="utf-8")
    return torch.from_numpy(images), report


def make_batch(data: torch.Tensor, idx: torch.Tensor, generator: torch.Generator, cfg, device) -> torch.Tensor:
    """Float batch in [-1, 1], (B, C, H, W) on ``device``; random flips drawn from the run's generator."""
    batch = data[idx].to(device).permute(0, 3, 1, 2).float() / 127.5 - 1
    if cfg.hflip:
        flip = torch.rand(len(idx), generator=generator, device=generator.device).to(device) < 0.5
        batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
    return batch
