"""Sample quality in the training log: at each preview, FD, KID and a memorisation check of samples
from the EMA model against the run's training images (``genstudio.models.quality`` has the metrics).

The first check trains the feature encoder on the training images (at most ``quality_train_limit``
of them, a fixed subset) and saves it in the run folder under a hash of those images, the seed and
the encoder settings, so ``--resume`` loads it instead of training again, and changed data trains a
new one. Every check samples the same seeds (apart from the preview grid's), so successive numbers
differ by the model alone. All of it runs inside ``torch.random.fork_rng``: the training run draws
the same random numbers with or without quality checks, so its trajectory (and exact resume) is the
same either way. Each check writes one line of numbers to metrics.jsonl (``fd``, ``kid``,
``kid_std``, ``nn_ratio``, ``near_copies``, ``variety``, ``coverage``, ...: a line without ``loss``, at the preview's step) and
a PNG of the closest sample/training pairs to the previews folder.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from genstudio.core.data.images import make_grid
from genstudio.core.events import Log, drive
from genstudio.models.quality import (
    EncoderConfig,
    FeatureEncoder,
    SampleQuality,
    TrainReference,
    evaluate,
    train_feature_encoder,
)

QUALITY_SEED = 5_000_000  # the quality samples use seeds QUALITY_SEED + i: never the preview grid's
ENCODER_FORMAT = 1  # bump when the encoder or its training changes: old cached encoders are then retrained
PAIRS = 8  # closest sample/training pairs drawn in the PNG


def training_subset(count: int, limit: int, seed: int) -> np.ndarray:
    """Indices of the training images the check uses: all, or a fixed random ``limit`` of them."""
    if not limit or count <= limit:
        return np.arange(count)
    return np.sort(np.random.default_rng(seed).choice(count, limit, replace=False))


def encoder_key(images: np.ndarray, seed: int, steps: int) -> str:
    """What the cached encoder depends on: the exact images, the seed and the encoder settings."""
    digest = hashlib.sha256()
    settings = {"format": ENCODER_FORMAT, "shape": list(images.shape), "seed": seed, "steps": steps,
                "encoder": asdict(EncoderConfig())}
    digest.update(json.dumps(settings, sort_keys=True).encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    return digest.hexdigest()[:16]


def pairs_png(samples: np.ndarray, train: np.ndarray, closest: list[tuple[int, int, float]]) -> bytes:
    """One row per pair: the sample, then its nearest training image."""
    tiles = np.stack([img for g, t, _ in closest for img in (samples[g], train[t])])
    if tiles.shape[-1] == 1:
        tiles = np.repeat(tiles, 3, axis=-1)
    buf = io.BytesIO()
    make_grid(tiles, cols=2).save(buf, format="PNG")
    return buf.getvalue()


class QualityCheck:
    """Made by the trainer at its first preview with ``quality_samples`` > 0; ``measure`` at each."""

    def __init__(self, run_dir: Path, data, family, cfg, device: torch.device, emit):
        self.run_dir, self.data, self.family, self.cfg, self.device, self.emit = \
            run_dir, data, family, cfg, device, emit
        self.encoder: FeatureEncoder | None = None
        self.reference: TrainReference | None = None
        self.train_index = np.arange(0)
        self.timed = False  # the time a check takes is logged once
        self.off = False  # set when the data cannot be measured (said once in the log)

    def measure(self, ema, step: int) -> SampleQuality | None:
        if self.off:
            return None
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):  # the training run's random numbers stay untouched
            if self.encoder is None and not self._prepare():
                return None
            start = time.perf_counter()
            samples = self._samples(ema)
            sampled = time.perf_counter()
            quality = evaluate(self.encoder, samples, self.reference, pairs=PAIRS)
            done = time.perf_counter()
        self._record(step, quality, samples, done - start)
        if not self.timed:
            self.timed = True
            options = ", ".join(f"{k} {v}" for k, v in getattr(ema, "preview_options", {}).items())
            self.emit(Log(f"The quality check took {done - start:.1f} s ({sampled - start:.1f} s to sample "
                          f"{len(samples):,} images with the preview settings{f' ({options})' if options else ''}, "
                          f"{done - sampled:.1f} s for the metrics); it runs at every preview. Closest "
                          "sample/training pairs: previews/nearest_step_*.png."))
        return quality

    def _prepare(self) -> bool:
        """Train or load the encoder, and compute the training set's features and spacing once."""
        images = getattr(self.data, "images", None)
        if images is None or len(images) < 2:
            self.emit(Log("Quality checks are off: they need at least 2 training images.", level="warning"))
            self.off = True
            return False
        self.train_index = training_subset(len(images), self.cfg.quality_train_limit, self.cfg.seed)
        train = np.asarray(images[torch.from_numpy(self.train_index)])
        self.encoder = self._encoder(train)
        self.reference = TrainReference.build(self.encoder, train)
        return True

    def _encoder(self, train: np.ndarray) -> FeatureEncoder:
        steps = self.cfg.quality_encoder_steps
        name = f"encoder-{encoder_key(train, self.cfg.seed, steps)}"
        path = self.run_dir / "quality" / f"{name}.safetensors"
        if path.is_file() and path.with_suffix(".json").is_file():
            self.emit(Log(f"Quality checks: using the feature encoder trained on these {len(train):,} images "
                          f"earlier in this run (quality/{name})."))
            return FeatureEncoder.load(path, self.device)
        encoder = train_feature_encoder(train, seed=self.cfg.seed, steps=steps, device=self.device)
        path.parent.mkdir(parents=True, exist_ok=True)
        encoder.save(path)
        self.emit(Log(f"Quality checks: trained a feature encoder on {len(train):,} training images in "
                      f"{encoder.cfg.train_seconds:.1f} s (self-supervised, {steps} steps; saved as quality/{name}). "
                      "FD and KID are measured in its features, not Inception's: compare them within this run."))
        return encoder

    def _samples(self, ema) -> np.ndarray:
        """``quality_samples`` images in batches; image i has seed QUALITY_SEED + i whatever the batch."""
        total = max(2, self.cfg.quality_samples)
        batch = max(1, min(total, max(self.cfg.batch_size, self.cfg.preview_count)))
        parts = [drive(self.family.preview_samples(ema, min(batch, total - lo), QUALITY_SEED + lo, self.data))
                 for lo in range(0, total, batch)]
        return np.concatenate(parts)

    def _record(self, step: int, quality: SampleQuality, samples: np.ndarray, seconds: float) -> None:
        with open(self.run_dir / "metrics.jsonl", "a", encoding="utf-8") as fh:  # beside the loop's open log
            fh.write(json.dumps({"step": step, **quality.metrics(), "quality_s": round(seconds, 2)}) + "\n")
        folder = self.run_dir / "previews"
        folder.mkdir(parents=True, exist_ok=True)
        train = np.asarray(self.data.images[torch.from_numpy(self.train_index)])
        (folder / f"nearest_step_{step:07d}.png").write_bytes(pairs_png(samples, train, quality.closest))
        self.emit(Log(f"Quality at step {step} ({quality.n_samples:,} samples vs {quality.n_train:,} training "
                      f"images, self-trained encoder): {quality.describe()}"))
