"""Feature detector: learns what "normal" looks like from a folder, then finds and locates what does not fit.

A small convolutional encoder is trained on the normal images alone, self-supervised: it must tell by
how much (0, 90, 180 or 270 degrees) each image was rotated, which forces it to learn the shapes and
their usual orientation (RotNet; the rotation task is a strong one-class signal on its own, Golan &
El-Yaniv 2018, Hendrycks et al. 2019). Nothing is downloaded. Its feature maps at 1/2 and 1/4 of the
image are averaged over 3×3 neighbourhoods and joined into one vector per 4×4-pixel patch, with the
patch's place appended (``position_weight``: aligned objects such as digits or product shots must
match patches from near the same place; 0 = anywhere, for textures). ``fit`` keeps a greedy coreset of
the training patches as a memory bank; a patch's anomaly is the distance to its nearest bank entry,
the map is that grid upsampled and blurred, the image score the mean of its ``top_k`` worst patches.
Roth et al., "Towards Total Recall in Industrial Anomaly Detection" (PatchCore, 2022); Gidaris et al.,
"Unsupervised Representation Learning by Predicting Image Rotations" (2018).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genstudio.core.registry import ArchSpec, Capability, register
from genstudio.models.common import check_image_config

PRETEXTS = ("rotation", "none")
PATCH = 4  # pixels per patch side: the deepest feature map is at 1/4 of the image
CORESET_CANDIDATES = 40_000  # training patches drawn at random before the coreset is chosen among them
PROJECTION_DIM = 128  # the coreset's distances are measured in a random projection this wide (Johnson-Lindenstrauss)
QUERY_CHUNK = 4096  # patches per distance matrix when scoring (memory stays flat for large batches)
FIT_SEED = 0  # the bank is a pure function of the weights and the images


@dataclass
class FeatureDetectorConfig:
    image_size: int = 28  # pixels, square; 28–64: images are scaled and centre-cropped to this
    channels: int = 1  # 1 = grayscale, 3 = RGB
    width: int = 32  # conv channels at full resolution; 2× at 1/2, 4× at 1/4 (patch vectors have 6× + 2)
    pretext: str = "rotation"  # what trains the encoder: "rotation" (which way is up) or "none" (random features:
    # for textures and other images that look the same any way up)
    bank_size: int = 4096  # patch vectors kept in the memory bank (a greedy coreset of all training patches)
    position_weight: float = 4.0  # how much a patch's place counts when matching (0 = anywhere, as PatchCore)
    top_k: int = 5  # image score = mean distance of its k most unusual patches (1 = the worst one)
    blur: float = 0.5  # Gaussian blur of the heatmap, σ in patches (one patch = 4 px)
    held_out: float = 0.1  # share of the training folder kept aside to choose the threshold (0 = none)
    threshold_percentile: float = 99.0  # trained threshold: this percentile of the held-out normals' scores

    def __post_init__(self):
        check_image_config(self.image_size, self.channels)
        if self.width < 8 or self.width % 8:
            raise ValueError(f"width must be a positive multiple of 8, got {self.width}")
        if self.pretext not in PRETEXTS:
            raise ValueError(f"pretext must be one of {PRETEXTS}, got {self.pretext!r}")
        if self.bank_size < 1 or self.top_k < 1:
            raise ValueError("bank_size and top_k must be at least 1")
        if self.position_weight < 0 or self.blur < 0:
            raise ValueError("position_weight and blur cannot be negative")
        if not 0 <= self.held_out < 1 or not 0 < self.threshold_percentile <= 100:
            raise ValueError("held_out must be in [0, 1) and threshold_percentile in (0, 100]")


def conv_block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1), nn.GroupNorm(8, c_out), nn.ReLU())


class PatchEncoder(nn.Module):
    """(B, C, S, S) -> feature maps at 1/2 (2w channels) and 1/4 (4w channels); GroupNorm, so an
    image's features never depend on the rest of its batch."""

    def __init__(self, cfg: FeatureDetectorConfig):
        super().__init__()
        w = cfg.width
        self.down2 = nn.Sequential(conv_block(cfg.channels, w, 1), conv_block(w, 2 * w, 2), conv_block(2 * w, 2 * w, 1))
        self.down4 = nn.Sequential(conv_block(2 * w, 4 * w, 2), conv_block(4 * w, 4 * w, 1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        half = self.down2(x)
        return half, self.down4(half)


class FeatureDetector(nn.Module):
    """The encoder, its rotation head (training only) and the memory bank with its statistics. The
    bank and the trained threshold are persistent buffers, so they travel with the weights."""

    def __init__(self, config: FeatureDetectorConfig):
        super().__init__()
        self.config = config
        self.encoder = PatchEncoder(config)
        self.rotation_head = nn.Linear(4 * config.width, 4)
        self.register_buffer("bank", torch.zeros(config.bank_size, self.patch_dim))
        self.register_buffer("bank_count", torch.zeros((), dtype=torch.long))  # rows of ``bank`` in use
        self.register_buffer("feature_scale", torch.ones(()))  # features are divided by their RMS on the training images
        self.register_buffer("trained_threshold", torch.full((), -1.0))  # < 0: none (no held-out images)
        self.register_buffer("trained_percentile", torch.zeros(()))
        self.register_buffer("held_out_count", torch.zeros((), dtype=torch.long))

    @property
    def patch_dim(self) -> int:
        return 6 * self.config.width + 2

    @property
    def is_fitted(self) -> bool:
        return int(self.bank_count) > 0

    # -- training: the pretext task ----------------------------------------------------------------
    def training_loss(self, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
        """Rotation prediction: each image turned by a random multiple of 90°, the head names which."""
        B = x.shape[0]
        if self.config.pretext == "none":  # random features: nothing to learn, the loss is a constant
            return 0.0 * self.encoder(x)[1].mean(), {"loss": 0.0}
        turns = torch.randint(4, (B,), generator=generator, device=generator.device).to(x.device)  # (B,)
        rotated = torch.stack([x.rot90(k, (2, 3)) for k in range(4)])[turns, torch.arange(B, device=x.device)]
        logits = self.rotation_head(self.encoder(rotated)[1].mean((2, 3)))  # (B, 4)
        loss = F.cross_entropy(logits, turns)
        accuracy = (logits.argmax(1) == turns).float().mean().item()
        return loss, {"loss": loss.item(), "rotation_accuracy": accuracy}

    # -- patches -------------------------------------------------------------------------------------
    def raw_patches(self, x: torch.Tensor) -> torch.Tensor:
        """(B, C, S, S) -> (B, h, w, 6·width): the 1/2 map pooled to 1/4, beside the 1/4 map, both
        averaged over 3×3 neighbourhoods (PatchCore's local aggregation)."""
        half, quarter = self.encoder(x)
        f = torch.cat([F.avg_pool2d(half, 3, 2, 1), F.avg_pool2d(quarter, 3, 1, 1, count_include_pad=False)], 1)
        return f.permute(0, 2, 3, 1)

    def place(self, h: int, w: int, device) -> torch.Tensor:
        """(h, w, 2): each patch's (row, column) in [-1, 1], times ``position_weight``."""
        rows = torch.linspace(-1, 1, h, device=device)[:, None].expand(h, w)
        cols = torch.linspace(-1, 1, w, device=device)[None, :].expand(h, w)
        return torch.stack([rows, cols], -1) * self.config.position_weight

    def with_place(self, f: torch.Tensor) -> torch.Tensor:
        """(B, h, w, C) features -> (B, h, w, D): scaled, with the patch's place appended."""
        B, h, w, _ = f.shape
        return torch.cat([f / self.feature_scale, self.place(h, w, f.device).expand(B, h, w, 2)], -1)

    def patches(self, x: torch.Tensor) -> torch.Tensor:
        return self.with_place(self.raw_patches(x))

    # -- fitting the bank ----------------------------------------------------------------------------
    @torch.no_grad()
    def fit(self, images: torch.Tensor, batch: int = 64) -> None:
        """Fill the bank from normal images ((N, C, S, S) in [-1, 1]): features scaled by their std,
        up to ``CORESET_CANDIDATES`` patches drawn at random, then a greedy coreset of ``bank_size``."""
        was_training = self.training
        self.eval()
        device = self.bank.device
        gen = torch.Generator().manual_seed(FIT_SEED)
        first = self.raw_patches(images[:1].to(device))
        per_image = first.shape[1] * first.shape[2]
        total = len(images) * per_image
        keep = torch.randperm(total, generator=gen)[:CORESET_CANDIDATES].sort().values
        chosen, sq_sum, count = [], 0.0, 0
        for start in range(0, len(images), batch):
            f = self.raw_patches(images[start:start + batch].to(device))  # (b, h, w, C)
            sq_sum += f.double().square().sum().item()
            count += f.numel()
            lo, hi = start * per_image, (start + len(f)) * per_image
            rows = keep[(keep >= lo) & (keep < hi)] - lo
            chosen.append(f.reshape(-1, f.shape[-1])[rows.to(device)])
        self.feature_scale.fill_(max(math.sqrt(sq_sum / max(count, 1)), 1e-6))
        h, w = first.shape[1:3]
        index = (keep % per_image).to(device)
        places = self.place(h, w, device)[index // w, index % w]  # (M, 2)
        candidates = torch.cat([torch.cat(chosen) / self.feature_scale, places], 1)  # (M, D)
        picked = greedy_coreset(candidates, self.config.bank_size, gen)
        self.bank.zero_()
        self.bank[:len(picked)] = candidates[picked]
        self.bank_count.fill_(len(picked))
        self.train(was_training)

    @torch.no_grad()
    def set_trained_threshold(self, held_out: torch.Tensor, batch: int = 64) -> float | None:
        """The ``threshold_percentile`` of held-out normal images' scores, kept in the weights."""
        if not len(held_out):
            self.trained_threshold.fill_(-1.0)
            self.held_out_count.zero_()
            return None
        scores = torch.cat([self.anomaly_map(held_out[i:i + batch].to(self.bank.device))[0].cpu()
                            for i in range(0, len(held_out), batch)])
        value = float(np.percentile(scores.double().numpy(), self.config.threshold_percentile))
        self.trained_threshold.fill_(value)
        self.trained_percentile.fill_(self.config.threshold_percentile)
        self.held_out_count.fill_(len(held_out))
        return value

    @property
    def trained_threshold_value(self) -> float | None:
        value = float(self.trained_threshold)
        return value if value >= 0 else None

    # -- scoring -------------------------------------------------------------------------------------
    @torch.no_grad()
    def patch_distances(self, x: torch.Tensor) -> torch.Tensor:
        """(B, h, w): each patch's distance to its nearest bank entry (to the origin while unfitted)."""
        q = self.patches(x)  # (B, h, w, D)
        B, h, w, D = q.shape
        bank = self.bank[:max(int(self.bank_count), 1)]
        flat = q.reshape(-1, D)
        mins = [nearest_distance(flat[i:i + QUERY_CHUNK], bank) for i in range(0, len(flat), QUERY_CHUNK)]
        return torch.cat(mins).view(B, h, w)

    @torch.no_grad()
    def anomaly_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores (B,): mean of the ``top_k`` largest patch distances. Maps (B, H, W): the patch
        distances upsampled to the image and blurred by ``blur`` patches."""
        d = self.patch_distances(x)  # (B, h, w)
        B, h, w = d.shape
        k = min(self.config.top_k, h * w)
        scores = d.flatten(1).topk(k, dim=1).values.mean(1)
        maps = F.interpolate(d[:, None], size=x.shape[-2:], mode="bilinear", align_corners=False)
        return scores, gaussian_blur(maps, self.config.blur * PATCH)[:, 0]


def nearest_distance(queries: torch.Tensor, bank: torch.Tensor) -> torch.Tensor:
    """Euclidean distance from each query row to its nearest bank row, (Q,)."""
    sq = queries.square().sum(1, keepdim=True) + bank.square().sum(1)[None] - 2 * queries @ bank.T  # (Q, M)
    return sq.min(1).values.clamp(min=0).sqrt()


def greedy_coreset(points: torch.Tensor, size: int, generator: torch.Generator) -> torch.Tensor:
    """Indices of ``size`` points chosen greedily so every point is near a chosen one (k-centre):
    each pick is the point farthest from those already picked, distances in a random projection."""
    if len(points) <= size:
        return torch.arange(len(points))
    if points.shape[1] > PROJECTION_DIM:
        proj = torch.randn(points.shape[1], PROJECTION_DIM, generator=generator).to(points.device)
        points = points @ proj / math.sqrt(PROJECTION_DIM)
    picked = torch.empty(size, dtype=torch.long)
    picked[0] = int(torch.randint(len(points), (1,), generator=generator))
    nearest = (points - points[picked[0]]).square().sum(1)
    for i in range(1, size):
        picked[i] = int(nearest.argmax())
        nearest = torch.minimum(nearest, (points - points[picked[i]]).square().sum(1))
    return picked


def gaussian_blur(maps: torch.Tensor, sigma: float) -> torch.Tensor:
    """(B, 1, H, W) blurred by a separable Gaussian of ``sigma`` pixels (reflect padding)."""
    if sigma <= 0:
        return maps
    radius = max(1, int(math.ceil(2 * sigma)))
    radius = min(radius, maps.shape[-1] - 1, maps.shape[-2] - 1)
    t = torch.arange(-radius, radius + 1, dtype=maps.dtype, device=maps.device)
    kernel = torch.exp(-0.5 * (t / sigma) ** 2)
    kernel = kernel / kernel.sum()
    out = F.conv2d(F.pad(maps, (radius, radius, 0, 0), mode="reflect"), kernel.view(1, 1, 1, -1))
    return F.conv2d(F.pad(out, (0, 0, radius, radius), mode="reflect"), kernel.view(1, 1, -1, 1))


# -- pictures of the maps (shared with the inspect task) ---------------------------------------------
HEAT_STOPS = np.array([[0, 0, 0], [40, 0, 120], [200, 30, 60], [250, 150, 0], [255, 255, 200]], np.float32)


def heat_colors(maps01: np.ndarray) -> np.ndarray:
    """(..., H, W) values in [0, 1] -> (..., H, W, 3) uint8 on a black-purple-red-orange-white scale."""
    pos = np.clip(np.nan_to_num(maps01), 0, 1) * (len(HEAT_STOPS) - 1)
    lo = np.minimum(pos.astype(np.int64), len(HEAT_STOPS) - 2)
    frac = (pos - lo)[..., None]
    return np.round(HEAT_STOPS[lo] * (1 - frac) + HEAT_STOPS[lo + 1] * frac).astype(np.uint8)


def overlay(images: np.ndarray, maps01: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """(..., H, W, C) uint8 images under their heatmaps ((..., H, W) in [0, 1]) at ``opacity``; RGB out.
    The heat is weighted by its own value too, so normal regions keep the picture visible."""
    rgb = np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images
    alpha = (opacity * np.clip(maps01, 0, 1) ** 0.5)[..., None]
    return np.round(rgb * (1 - alpha) + heat_colors(maps01) * alpha).astype(np.uint8)


register(ArchSpec(
    name="feature-detector",
    family="detector",
    modality="image",
    config_cls=FeatureDetectorConfig,
    builder=FeatureDetector,
    capabilities=frozenset({Capability.ANOMALY}),
    trainer="trainers.detector",
    description="Anomaly detector: patch-feature memory bank (PatchCore) over an encoder it trains itself "
                "(rotation prediction); heatmaps of where an image departs from normal",
))
