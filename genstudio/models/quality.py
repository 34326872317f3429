"""Sample-quality numbers without downloads: Fréchet distance, KID and a memorisation check, all in
the feature space of a small encoder trained on the run's own training images.

The encoder is a four-layer convnet (GroupNorm, global average pooling) trained self-supervised with
SimCLR's NT-Xent loss: two augmented views of each image (random resized crop and translation,
horizontal flip, mild brightness/contrast/saturation jitter) must find each other among the batch.
The jitter is kept mild on purpose: a metric must still notice a colour cast or washed-out samples,
which strong colour augmentation would teach the features to ignore; for the same reason the
features are the pooled outputs of all four layers, not only the last. Images are resized to 32 px, so
the cost does not depend on the training size (28–64 px). Its features give the Fréchet distance
between Gaussians fitted to real and generated features (Heusel et al. 2017), the kernel inception
distance, an unbiased MMD² with the cubic polynomial kernel (Bińkowski et al. 2018), and nearest
neighbour distances from each sample to the training set, compared with the spacing of the training
images themselves (as in Meehan et al. 2020, "A Non-Parametric Test to Detect Data-Copying"), and
two numbers for variety: the samples' mean pairwise distance as a fraction of the training images'
(``variety``, which falls when a generator collapses onto a few images) and the share of training
images with a sample among their five nearest neighbours (``coverage``, Naeem et al. 2020).
These are NOT the Inception-based FID/KID of papers: the numbers are comparable only between
samples scored by the same encoder, i.e. within one run. Chen et al., "A Simple Framework for
Contrastive Learning of Visual Representations" (2020) for the encoder.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

ENCODER_SIZE = 32  # every image is resized to this before encoding
LUMA = (0.299, 0.587, 0.114)  # ITU-R 601, as genstudio.core.data.images.to_grayscale


@dataclass
class EncoderConfig:
    channels: int = 3  # 1 or 3: what it was trained on; other images are converted to match
    width: int = 32  # conv channels of the first layer; doubled by the next two
    feature_dim: int = 128  # channels of the last layer; the metrics' D = width * 7 + feature_dim
    projection_dim: int = 64  # SimCLR's projection head (training only)
    temperature: float = 0.2  # NT-Xent softmax temperature
    steps: int = 200  # optimizer steps of self-supervised training
    batch: int = 128  # images per step (two views each)
    lr: float = 2e-3
    seed: int = 0
    trained_on: int = 0  # number of training images (recorded, not a setting)
    train_seconds: float = 0.0  # recorded, not a setting


class ConvEncoder(nn.Module):
    """Four 3×3 conv layers (32 -> 16 -> 8 -> 4 -> 4 px) with GroupNorm and ReLU. SimCLR trains the
    last layer's pooled output (through ``head``); the metrics use every layer's pooled output."""

    def __init__(self, cfg: EncoderConfig):
        super().__init__()
        w = cfg.width
        widths = [cfg.channels, w, 2 * w, 4 * w, cfg.feature_dim]
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=2 if i < 3 else 1, padding=1),
                          nn.GroupNorm(min(8, c_out), c_out), nn.ReLU())
            for i, (c_in, c_out) in enumerate(zip(widths, widths[1:])))
        self.head = nn.Sequential(nn.Linear(cfg.feature_dim, cfg.feature_dim), nn.ReLU(),
                                  nn.Linear(cfg.feature_dim, cfg.projection_dim))

    def pooled(self, x: torch.Tensor) -> list[torch.Tensor]:
        out = []
        for block in self.blocks:
            x = block(x)
            out.append(x.mean(dim=(2, 3)))  # (B, C_layer)
        return out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) features: the deepest layer holds what contrastive training taught (content); the
        shallow ones keep local texture (noise, blur, colour) that it would learn to ignore."""
        return torch.cat(self.pooled(x), dim=1)


def prepare_images(images, channels: int) -> torch.Tensor:
    """N×H×W×C uint8 (numpy or tensor) -> (N, channels, 32, 32) float in [-1, 1]."""
    x = torch.as_tensor(np.asarray(images)).permute(0, 3, 1, 2).float() / 127.5 - 1
    if x.shape[1] == 3 and channels == 1:
        x = (x * torch.tensor(LUMA).view(1, 3, 1, 1)).sum(1, keepdim=True)
    elif x.shape[1] == 1 and channels == 3:
        x = x.expand(-1, 3, -1, -1)
    if x.shape[-1] != ENCODER_SIZE or x.shape[-2] != ENCODER_SIZE:
        x = F.interpolate(x, size=(ENCODER_SIZE, ENCODER_SIZE), mode="bilinear", antialias=True,
                          align_corners=False)
    return x.contiguous()


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """One random view per image: resized crop (50–100 % of the area, aspect 3:4–4:3) at a random
    place, horizontal flip, mild brightness/contrast (and, for RGB, saturation) jitter."""
    b = len(x)

    def uniform(lo: float, hi: float) -> torch.Tensor:
        return lo + (hi - lo) * torch.rand(b, generator=generator)

    area, log_aspect = uniform(0.5, 1.0), uniform(math.log(3 / 4), math.log(4 / 3))
    sx = (area * log_aspect.exp()).sqrt().clamp(max=1.0)
    sy = (area / log_aspect.exp()).sqrt().clamp(max=1.0)
    tx, ty = (1 - sx) * uniform(-1, 1), (1 - sy) * uniform(-1, 1)
    flip = torch.where(torch.rand(b, generator=generator) < 0.5, -1.0, 1.0)
    theta = torch.zeros(b, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2], theta[:, 1, 1], theta[:, 1, 2] = sx * flip, tx, sy, ty
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    brightness, contrast, saturation = (v.to(x.device).view(b, 1, 1, 1) for v in
                                        (uniform(-0.2, 0.2), uniform(0.8, 1.2), uniform(0.8, 1.2)))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * contrast + mean + brightness
    if x.shape[1] == 3:
        grey = (x * torch.tensor(LUMA, device=x.device).view(1, 3, 1, 1)).sum(1, keepdim=True)
        x = grey + (x - grey) * saturation
    return x.clamp(-1, 1)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float) -> torch.Tensor:
    """SimCLR's loss: each view must pick its partner out of the 2B - 1 other views."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))
    b = len(z1)
    partner = torch.cat([torch.arange(b, 2 * b), torch.arange(b)]).to(z.device)
    return F.cross_entropy(logits, partner)


class FeatureEncoder:
    """A trained ``ConvEncoder`` and its config; ``features`` maps uint8 images to (N, D) float64."""

    def __init__(self, cfg: EncoderConfig, network: ConvEncoder, device="cpu"):
        self.cfg, self.network, self.device = cfg, network.to(device).eval(), torch.device(device)

    @torch.inference_mode()
    def features(self, images, batch: int = 256) -> np.ndarray:
        chunks = [self.network(prepare_images(images[i:i + batch], self.cfg.channels).to(self.device))
                  for i in range(0, len(images), batch)]
        return torch.cat(chunks).double().cpu().numpy()

    def save(self, path: Path | str) -> None:
        """Weights to ``path`` (.safetensors), the config beside it (.json); never pickle."""
        path = Path(path)
        state = {k: v.detach().cpu().contiguous() for k, v in self.network.state_dict().items()}
        save_file(state, str(path.with_suffix(".safetensors")))
        path.with_suffix(".json").write_text(json.dumps(asdict(self.cfg), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, path: Path | str, device="cpu") -> FeatureEncoder:
        path = Path(path)
        cfg = EncoderConfig(**json.loads(path.with_suffix(".json").read_text(encoding="utf-8")))
        network = ConvEncoder(cfg)
        network.load_state_dict(load_file(str(path.with_suffix(".safetensors"))))
        return cls(cfg, network, device)


def train_feature_encoder(images: np.ndarray, seed: int = 0, steps: int = 200, batch: int = 128,
                          device="cpu", log: Callable[[str], None] | None = None) -> FeatureEncoder:
    """Train the encoder on ``images`` (N×H×W×C uint8) only. Deterministic for (images, seed) on the
    CPU with the same thread count (float sums split differently across threads); leaves torch's
    global random state as it found it."""
    if len(images) < 2:
        raise ValueError("The feature encoder needs at least 2 training images.")
    cfg = EncoderConfig(channels=images.shape[-1], steps=steps, batch=min(batch, len(images)), seed=seed,
                        trained_on=len(images))
    start, device = time.perf_counter(), torch.device(device)
    data = prepare_images(images, cfg.channels)
    generator = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        network = ConvEncoder(cfg).to(device).train()
    optimizer = torch.optim.Adam(network.parameters(), lr=cfg.lr)
    order, pos = torch.randperm(len(data), generator=generator), 0
    for step in range(cfg.steps):
        if pos + cfg.batch > len(data):
            order, pos = torch.randperm(len(data), generator=generator), 0
        x = data[order[pos:pos + cfg.batch]].to(device)
        pos += cfg.batch
        lr = cfg.lr * 0.5 * (1 + math.cos(math.pi * step / cfg.steps))  # cosine to zero
        for group in optimizer.param_groups:
            group["lr"] = lr
        views = [augment(x, generator) for _ in range(2)]
        loss = nt_xent(*(network.head(network.pooled(v)[-1]) for v in views), cfg.temperature)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if log is not None and (step + 1) % 100 == 0:
            log(f"feature encoder step {step + 1}/{cfg.steps}: NT-Xent {loss.item():.3f}")
    cfg.train_seconds = round(time.perf_counter() - start, 2)
    return FeatureEncoder(cfg, network.cpu(), device)


# -- the metrics --------------------------------------------------------------------------------------
def psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix (tiny negative eigenvalues from
    rounding are clipped to zero)."""
    values, vectors = np.linalg.eigh((matrix + matrix.T) / 2)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_from_moments(mu_a: np.ndarray, cov_a: np.ndarray, mu_b: np.ndarray,
                         cov_b: np.ndarray) -> float:
    """‖μa − μb‖² + tr(Σa + Σb − 2 (Σa Σb)^½). tr((Σa Σb)^½) is taken as tr((Σa^½ Σb Σa^½)^½): the
    same eigenvalues, but of a symmetric PSD matrix, so no complex parts or unstable sqrtm."""
    root_a = psd_sqrt(cov_a)
    middle = root_a @ cov_b @ root_a
    trace_root = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    value = np.sum((mu_a - mu_b) ** 2) + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_root
    return max(0.0, float(value))


def frechet_distance(fa: np.ndarray, fb: np.ndarray) -> float:
    """Fréchet distance between Gaussians fitted to two (N, D) feature sets (N ≥ 2 each)."""
    if len(fa) < 2 or len(fb) < 2:
        raise ValueError("The Fréchet distance needs at least 2 samples on each side.")
    moments = [(f.mean(0), np.atleast_2d(np.cov(f, rowvar=False))) for f in (fa, fb)]
    return frechet_from_moments(*moments[0], *moments[1])


def kid(fa: np.ndarray, fb: np.ndarray, subsets: int = 100, subset_size: int = 1000,
        seed: int = 0) -> tuple[float, float]:
    """Kernel inception distance in these features: the unbiased MMD² under k(x, y) = (xᵀy/d + 1)³,
    averaged over ``subsets`` random subsets of ``subset_size`` from each side (fewer when a side
    is smaller). Returns (mean, std over subsets); the draws are fixed by ``seed``."""
    m = min(subset_size, len(fa), len(fb))
    if m < 2:
        raise ValueError("KID needs at least 2 samples on each side.")
    rng, d = np.random.default_rng(seed), fa.shape[1]
    values = []
    for _ in range(subsets):
        x = fa[rng.choice(len(fa), m, replace=False)]
        y = fb[rng.choice(len(fb), m, replace=False)]
        k_xx, k_yy, k_xy = ((p @ q.T / d + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        within = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        values.append(within - 2 * k_xy.mean())
    return float(np.mean(values)), float(np.std(values))


def unit_rows(a: np.ndarray) -> np.ndarray:
    return a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)


def nearest(queries: np.ndarray, refs: np.ndarray, metric: str = "cosine", exclude_self: bool = False,
            chunk: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """Distance from each query to its nearest reference, and that reference's index. ``cosine`` is
    1 − cos (features), ``l2`` Euclidean (pixels). ``exclude_self``: queries are the references, and
    each skips itself (leave-one-out)."""
    if metric not in ("cosine", "l2"):
        raise ValueError(f"metric must be 'cosine' or 'l2', got {metric!r}")
    # float64: |q|² + |r|² − 2 q·r cancels badly in float32 for the near-zero distances of copies
    queries, refs = np.asarray(queries, np.float64), np.asarray(refs, np.float64)
    if metric == "cosine":
        queries, refs = unit_rows(queries), unit_rows(refs)
    ref_sq = (refs ** 2).sum(1)
    dist, index = np.empty(len(queries)), np.empty(len(queries), dtype=np.int64)
    for lo in range(0, len(queries), chunk):
        q = queries[lo:lo + chunk]
        if metric == "cosine":
            d = 1 - q @ refs.T
        else:
            d = np.sqrt(np.maximum((q ** 2).sum(1)[:, None] + ref_sq[None] - 2 * q @ refs.T, 0))
        if exclude_self:
            d[np.arange(len(q)), np.arange(lo, lo + len(q))] = np.inf
        index[lo:lo + len(q)] = d.argmin(1)
        dist[lo:lo + len(q)] = d[np.arange(len(q)), index[lo:lo + len(q)]]
    return np.maximum(dist, 0), index


def mean_pairwise_distance(features: np.ndarray, limit: int = 1000) -> float:
    """Mean cosine distance between distinct rows (at most the first ``limit`` rows)."""
    unit = unit_rows(np.asarray(features[:limit], np.float64))
    n = len(unit)
    if n < 2:
        return 0.0
    d = 1 - unit @ unit.T
    return float((d.sum() - np.trace(d)) / (n * (n - 1)))


def variety(gen: np.ndarray, train: np.ndarray, limit: int = 1000) -> float:
    """How different the samples are from each other, as a fraction of how different the training
    images are: mean pairwise feature distance of samples / of training images. ≈ 1 for a model
    with the data's variety; ≪ 1 when the generator collapses onto a few images (mode collapse),
    which FD rises for too but does not name."""
    spread = mean_pairwise_distance(train, limit)
    return mean_pairwise_distance(gen, limit) / spread if spread > 1e-12 else 0.0


def knn_radius(features: np.ndarray, k: int = 5, chunk: int = 512) -> np.ndarray:
    """Each row's cosine distance to its k-th nearest other row (the radius of its k-NN ball)."""
    unit = unit_rows(np.asarray(features, np.float64))
    k = min(k, len(unit) - 1)
    if k < 1:
        return np.zeros(len(unit))
    radius = np.empty(len(unit))
    for lo in range(0, len(unit), chunk):
        d = 1 - unit[lo:lo + chunk] @ unit.T
        d[np.arange(len(d)), np.arange(lo, lo + len(d))] = np.inf  # not its own neighbour
        radius[lo:lo + len(d)] = np.partition(d, k - 1, axis=1)[:, k - 1]
    return radius


def coverage(gen: np.ndarray, train: np.ndarray, k: int = 5, radius: np.ndarray | None = None) -> float:
    """Naeem et al., "Reliable Fidelity and Diversity Metrics for Generative Models" (2020): the
    fraction of training images whose k-nearest-neighbour ball (among training images, cosine
    distance in features) holds at least one sample. A collapsed generator covers few of them.
    ``radius`` (``knn_radius(train, k)``) can be passed in to skip recomputing it."""
    if len(train) < 2 or not len(gen):
        return 0.0
    radius = knn_radius(train, k) if radius is None else radius
    nearest_sample, _ = nearest(train, gen, "cosine")
    return float((nearest_sample <= radius).mean())


def memorization(gen: np.ndarray, train: np.ndarray, metric: str = "cosine", train_nn: np.ndarray | None = None,
                 percentile: float = 1.0, pairs: int = 8) -> dict:
    """How close the samples come to training images, measured against how close training images
    are to each other. ``near_copies``: samples nearer to a training image than ``percentile`` % of
    training images are to their own nearest neighbour (about ``percentile`` % of samples by chance
    for a model that does not copy: ``near_copies_expected``); ``nn_ratio``: median sample→train
    distance / median train→train distance (≈ 1 for fresh samples, ≪ 1 for copies, > 1 for samples
    unlike the data); ``closest``: (sample, training image, distance) of the nearest pairs.
    ``train_nn`` (leave-one-out train→train distances) can be passed in to skip recomputing it."""
    if train_nn is None:
        train_nn, _ = nearest(train, train, metric, exclude_self=True)
    spacing = train_nn[train_nn > 1e-9]  # exact duplicates in the folder say nothing about spacing
    spacing = spacing if len(spacing) else np.array([1e-9])
    dist, index = nearest(gen, train, metric)
    threshold = float(np.percentile(spacing, percentile))
    order = np.argsort(dist, kind="stable")[:pairs]
    return {"near_copies": int((dist < threshold).sum()),
            "near_copies_expected": round(len(gen) * percentile / 100, 2),
            "nn_ratio": float(np.median(dist) / np.median(spacing)),
            "threshold": threshold,
            "closest": [(int(g), int(index[g]), float(dist[g])) for g in order]}


def pixel_vectors(images, channels: int) -> np.ndarray:
    """Images as flat float32 vectors in [0, 1], as the encoder sees them (32 px), for the pixel view."""
    return ((prepare_images(images, channels) + 1) / 2).flatten(1).numpy()


@dataclass
class TrainReference:
    """What a quality check compares against, computed once per run: training features, training
    pixels (32 px), their leave-one-out nearest-neighbour distances and the features' 5-NN radii
    (for coverage)."""

    features: np.ndarray
    pixels: np.ndarray
    feature_nn: np.ndarray
    pixel_nn: np.ndarray
    feature_knn: np.ndarray

    @classmethod
    def build(cls, encoder: FeatureEncoder, images) -> TrainReference:
        features, pixels = encoder.features(images), pixel_vectors(images, encoder.cfg.channels)
        return cls(features, pixels, nearest(features, features, "cosine", exclude_self=True)[0],
                   nearest(pixels, pixels, "l2", exclude_self=True)[0], knn_radius(features))


@dataclass
class SampleQuality:
    fd: float
    kid: float
    kid_std: float
    nn_ratio: float  # feature space (cosine)
    near_copies: int
    near_copies_expected: float
    pixel_nn_ratio: float  # pixel space (L2 at 32 px)
    pixel_near_copies: int
    variety: float  # samples' spread / the training images' (features); falls when G collapses
    coverage: float  # share of training images with a sample among their 5 nearest neighbours
    n_samples: int
    n_train: int
    closest: list[tuple[int, int, float]] = field(default_factory=list)  # (sample, training image, distance)

    def metrics(self) -> dict[str, float]:
        """The numbers that go into metrics.jsonl."""
        return {k: round(v, 6) if isinstance(v, float) else v for k, v in asdict(self).items() if k != "closest"}

    def describe(self) -> str:
        return (f"FD {self.fd:.4g} · KID {self.kid:.3g} ± {self.kid_std:.2g} · nearest neighbour "
                f"{self.nn_ratio:.2f}× the train spacing ({self.pixel_nn_ratio:.2f}× in pixels), "
                f"{self.near_copies} near-copies (≈{self.near_copies_expected:g} by chance) · variety "
                f"{self.variety:.2f}× the training images' · coverage {self.coverage:.0%}")


def evaluate(encoder: FeatureEncoder, samples, reference: TrainReference, kid_subsets: int = 100,
             kid_subset_size: int = 1000, percentile: float = 1.0, pairs: int = 8) -> SampleQuality:
    """FD, KID and the memorisation check of ``samples`` (N×H×W×C uint8) against the training set."""
    features = encoder.features(samples)
    kid_mean, kid_std = kid(features, reference.features, kid_subsets, kid_subset_size)
    copies = memorization(features, reference.features, "cosine", reference.feature_nn, percentile, pairs)
    pixels = pixel_vectors(samples, encoder.cfg.channels)
    pixel = memorization(pixels, reference.pixels, "l2", reference.pixel_nn, percentile, pairs=0)
    return SampleQuality(fd=frechet_distance(features, reference.features), kid=kid_mean, kid_std=kid_std,
                         nn_ratio=copies["nn_ratio"], near_copies=copies["near_copies"],
                         near_copies_expected=copies["near_copies_expected"],
                         pixel_nn_ratio=pixel["nn_ratio"], pixel_near_copies=pixel["near_copies"],
                         variety=variety(features, reference.features),
                         coverage=coverage(features, reference.features, radius=reference.feature_knn), n_samples=len(samples), n_train=len(reference.features), closest=copies["closest"])
