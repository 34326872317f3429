"""The feature detector's training recipe: the generic loop trains its encoder, and the memory bank and
threshold are built from the weights the loop publishes.

``load_data`` decodes the folder as every image trainer does (the same checks and bad-file report),
then keeps an evenly spread ``held_out`` share of the images aside: the loop's batches come from the
rest. The loop's optimizer steps train the encoder's pretext task (``training_loss``). A bank is no
gradient-descent work: it is a function of the encoder and the images. So ``preview_samples``, which
the loop calls on the EMA weights at each preview and once more just before it publishes them, first
rebuilds the bank from the training images and sets the trained threshold (a percentile of the held-out
images' scores), then returns the held-out images under their heatmaps as the preview grid. The
published weights therefore always carry the bank and threshold of their own encoder.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from genstudio.core.errors import ConfigError
from genstudio.models.common import from_uint8
from genstudio.models.detector import overlay
from trainers import images as image_data


@dataclass
class DetectorData:
    images: torch.Tensor  # N×H×W×C uint8: trains the encoder and fills the bank
    held_out: torch.Tensor  # M×H×W×C uint8 normal images kept aside: their scores set the threshold
    labels: None = None  # (the loop's image batches carry no conditioning)
    tokens: None = None
    captions: None = None

    def __len__(self) -> int:
        return len(self.images)


def held_out_indices(n: int, share: float) -> np.ndarray:
    """Evenly spread indices of ``round(n · share)`` images (at least one when share > 0 and n ≥ 3;
    none from smaller folders, which need every image for the bank)."""
    if share <= 0 or n < 3:
        return np.zeros(0, dtype=np.int64)
    count = min(n - 2, max(1, round(n * share)))
    return np.unique(np.linspace(0, n - 1, count + 2)[1:-1].round().astype(np.int64))


def load_data(job) -> tuple[DetectorData, object]:
    if job.train.quality_samples:
        raise ConfigError("The quality check scores generated samples, and a detector generates none: "
                          "set quality_samples = 0.")
    data, report = image_data.load_data(job)
    held = held_out_indices(len(data.images), job.model_config.held_out)
    keep = np.setdiff1d(np.arange(len(data.images)), held)
    if len(held):
        report.notes.append(f"{len(held)} of the {len(data.images)} images are held out to choose the threshold "
                            f"({job.model_config.threshold_percentile:g}th percentile of their scores).")
    else:
        report.notes.append("Too few images to hold any out: the detector gets no threshold until you choose one.")
    return DetectorData(data.images[torch.from_numpy(keep)], data.images[torch.from_numpy(held)]), report


def make_batch(data: DetectorData, idx: torch.Tensor, generator: torch.Generator, cfg, device) -> torch.Tensor:
    return image_data.make_batch(data, idx, generator, cfg, device)


def fit(model, data: DetectorData) -> float | None:
    """Build the bank from the training images and the threshold from the held-out ones (in place)."""
    model.fit(from_uint8(data.images))
    return model.set_trained_threshold(from_uint8(data.held_out))


def preview_samples(model, n: int, seed: int, data: DetectorData | None = None):
    """Generator (no events): fits ``model`` (see the module docstring) and returns up to ``n``
    held-out images (training images when none are held out) under their heatmaps, N×H×W×3 uint8,
    the heat scaled so the threshold (or the largest score) is full strength."""
    if data is None:
        raise ConfigError("The feature detector builds its memory bank from the training images.")
    yield from ()  # a generator, as every family's preview is; fitting sends no events
    threshold = fit(model, data)
    shown = (data.held_out if len(data.held_out) else data.images)[:n]
    device = model.bank.device
    _, maps = model.anomaly_map(from_uint8(shown).to(device))
    top = threshold if threshold else float(maps.max().clamp(min=1e-6))
    return overlay(shown.numpy(), (maps / top).cpu().numpy(), opacity=0.6)
