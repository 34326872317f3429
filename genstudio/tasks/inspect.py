"""Inspect images for anomalies with a detector: a score and a heatmap per image, a threshold, reports.

Any model with the anomaly capability scans (the feature detector, autoencoders, flows, PixelCNNs,
energy models): ``inspect`` reads a folder, a list of files, or images just generated, one file at a
time (a file that cannot be read is listed with its reason, never fatal), scores them in small
batches and yields a Progress per image, so a worker can cancel between images. The threshold that
splits pass from flagged is chosen from normal images (a percentile of their scores) or from images
the user marked as anomalous (best F1), and is kept in the model's card; a feature detector also
carries the one its training chose from held-out images. Reports go out as CSV, JSON and heatmap PNGs,
each written to a temporary file first and renamed into place.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from PIL import Image

from genstudio.core.data.images import SkippedFile, center_crop_resize, load_image, scan_image_files, to_grayscale
from genstudio.core.errors import GenStudioError, ModelFileError
from genstudio.core.events import EtaClock, Progress
from genstudio.core.files import write_atomic
from genstudio.core.registry import Capability, get
from genstudio.core.store import WEIGHTS, ModelStore
from genstudio.tasks.generate import load_model

PASS, FLAGGED, UNJUDGED = "pass", "flagged", "no threshold"
REPORT_COLUMNS = ("rank", "file", "score", "verdict", "threshold", "model")


@dataclass
class InspectRequest:
    model: str
    folder: str = ""  # scan every image under this folder (recursively) ...
    files: list[str] = field(default_factory=list)  # ... and/or these files ...
    images: list[np.ndarray] = field(default_factory=list)  # ... and/or pictures in memory (H×W×3 uint8)
    names: list[str] = field(default_factory=list)  # what ``images`` are called in the results ("generated_000" …)
    threshold: float | None = None  # None: the model's saved threshold, else its trained one, else none
    batch: int = 8  # images per network call
    reconstructions: bool = True  # keep x̂ (models that reconstruct) for the image / reconstruction / difference view


@dataclass
class Threshold:
    value: float
    how: str  # in words: "99th percentile of 52 held-out normal images", "best F1 (0.92) on 40 images", ...
    saved: str = ""  # when it was saved to the card (ISO time); "" for one that was not


@dataclass
class InspectedImage:
    path: str  # the file, or the name of an image given in memory
    score: float  # higher = less like the normal images (the model's own units)
    heatmap: np.ndarray  # H×W float32, the model's map in its own units (``InspectResult.heatmap01`` scales it)
    image: np.ndarray  # H×W×C uint8 as the model saw it (scaled and centre-cropped to its size)
    reconstruction: np.ndarray | None = None  # H×W×C uint8, models that reconstruct
    flagged: bool | None = None  # score > threshold; None without a threshold

    @property
    def verdict(self) -> str:
        return UNJUDGED if self.flagged is None else FLAGGED if self.flagged else PASS


@dataclass
class InspectResult:
    model: str
    arch: str
    items: list[InspectedImage]  # in the order scanned
    skipped: list[SkippedFile] = field(default_factory=list)  # files that could not be read, and why
    threshold: Threshold | None = None
    cancelled: bool = False

    def apply_threshold(self, threshold: Threshold | float | None) -> None:
        """Judge every image again (the canvas's threshold handle moved): flagged when score > value."""
        if threshold is not None and not isinstance(threshold, Threshold):
            threshold = Threshold(float(threshold), "set by hand")
        self.threshold = threshold
        for item in self.items:
            item.flagged = None if threshold is None else bool(item.score > threshold.value)

    def ranked(self) -> list[InspectedImage]:
        """Most anomalous first (ties keep the scan order)."""
        return sorted(self.items, key=lambda item: -item.score)

    @property
    def flagged(self) -> list[InspectedImage]:
        return [item for item in self.ranked() if item.flagged]

    @property
    def passed(self) -> list[InspectedImage]:
        return [item for item in self.ranked() if item.flagged is False]

    def scores(self) -> np.ndarray:
        return np.array([item.score for item in self.items], np.float64)

    def heat_range(self) -> tuple[float, float]:
        """(low, high) over every map of the scan, so heatmaps compare across images."""
        if not self.items:
            return 0.0, 1.0
        lo = min(float(item.heatmap.min()) for item in self.items)
        hi = max(float(item.heatmap.max()) for item in self.items)
        return lo, max(hi, lo + 1e-12)

    def heatmap01(self, item: InspectedImage, heat_range: tuple[float, float] | None = None) -> np.ndarray:
        lo, hi = heat_range or self.heat_range()
        return np.clip((item.heatmap - lo) / (hi - lo), 0, 1).astype(np.float32)

    def rows(self) -> list[dict]:
        """The ranked list as plain values: what the reports hold and the canvas lists."""
        value = None if self.threshold is None else self.threshold.value
        return [{"rank": rank, "file": item.path, "score": item.score, "verdict": item.verdict, "threshold": value,
                 "model": self.model} for rank, item in enumerate(self.ranked(), 1)]


# -- thresholds --------------------------------------------------------------------------------------
def threshold_from_normals(scores, percentile: float = 99.0) -> float:
    """The ``percentile`` of normal images' scores: about (100 − percentile) % of normals get flagged."""
    scores = np.asarray(scores, np.float64)
    if not len(scores):
        raise GenStudioError("Choosing a threshold from normal images needs at least one scored image.")
    if not 0 < percentile <= 100:
        raise GenStudioError(f"The percentile must be between 0 and 100, not {percentile}.")
    return float(np.percentile(scores, percentile))


def f1_at(scores, labels, threshold: float) -> float:
    """F1 of flagging score > threshold, labels 1 = anomalous."""
    flagged, labels = np.asarray(scores) > threshold, np.asarray(labels).astype(bool)
    tp = int((flagged & labels).sum())
    return 2 * tp / max(int(flagged.sum()) + int(labels.sum()), 1)


def threshold_best_f1(scores, labels) -> float:
    """The threshold with the best F1 at telling the images marked anomalous (label 1) from the rest:
    halfway between the two scores it separates; among equal F1s, the one that flags fewest."""
    scores, labels = np.asarray(scores, np.float64), np.asarray(labels).astype(bool)
    if len(scores) != len(labels) or not labels.any():
        raise GenStudioError("Mark at least one image as anomalous to choose a threshold from examples.")
    order = np.argsort(-scores, kind="stable")
    s, tp = scores[order], np.cumsum(labels[order])  # flagging the top j images catches tp[j-1]
    cuts = np.append(np.flatnonzero(s[:-1] > s[1:]), len(s) - 1)  # last index before each drop in score
    f1 = 2 * tp[cuts] / (cuts + 1 + labels.sum())
    j = cuts[int(np.argmax(f1))]
    if j == len(s) - 1:
        return float(s[-1] - max(1e-6, 1e-6 * abs(s[-1])))  # flag everything
    return float((s[j] + s[j + 1]) / 2)


def save_threshold(model_name: str, value: float, how: str, store: ModelStore | None = None) -> Threshold:
    """Keep the threshold in the model's card (rewritten atomically; the weights are untouched)."""
    store = store or ModelStore()
    if store.get(model_name).bundled:
        raise ModelFileError(f"'{model_name}' is a bundled model and cannot be changed; train or import a copy "
                             "to keep a threshold with it.")
    if not np.isfinite(value):
        raise GenStudioError(f"A threshold must be a number, not {value}.")
    saved = Threshold(float(value), how, datetime.now(UTC).isoformat(timespec="seconds"))
    store.update_card(model_name, {"threshold": {"value": saved.value, "how": how, "saved": saved.saved}})
    return saved


def load_threshold(model_name: str, store: ModelStore | None = None) -> Threshold | None:
    """The threshold saved in the card, else the one training chose (a ``trained_threshold`` kept in
    the weights, as the feature detector does), else None."""
    info = (store or ModelStore()).get(model_name)
    saved = info.card.get("threshold")
    if isinstance(saved, dict) and isinstance(saved.get("value"), int | float):
        return Threshold(float(saved["value"]), str(saved.get("how", "")), str(saved.get("saved", "")))
    return trained_threshold(info.path / WEIGHTS)


def trained_threshold(weights: Path) -> Threshold | None:
    from safetensors import safe_open

    try:
        with safe_open(str(weights), framework="pt") as fh:
            names = set(fh.keys())
            if "trained_threshold" not in names:
                return None
            value = float(fh.get_tensor("trained_threshold"))
            percentile = float(fh.get_tensor("trained_percentile")) if "trained_percentile" in names else 0.0
            count = int(fh.get_tensor("held_out_count")) if "held_out_count" in names else 0
    except (OSError, ValueError):
        return None
    if value < 0:
        return None
    return Threshold(value, f"{percentile:g}th percentile of {count} held-out normal images (chosen in training)")


# -- scanning ----------------------------------------------------------------------------------------
def detector_model(name: str, device, store: ModelStore | None = None):
    """(card, spec, model) for a library model that can score anomalies in images."""
    card, model = load_model(name, device, store)
    spec = get(card["arch"])
    if not spec.can(Capability.ANOMALY) or spec.modality != "image":
        raise GenStudioError(f"'{name}' ({card['arch']}) cannot inspect images for anomalies; choose a model "
                             "with the anomaly capability (feature-detector, ae, vae, flows, PixelCNN, ebm).")
    return card, spec, model


def scan_inputs(request: InspectRequest) -> tuple[list[tuple[str, Path | np.ndarray]], list[SkippedFile]]:
    """(name, file or array) to score, and the files skipped before reading any."""
    inputs: list[tuple[str, Path | np.ndarray]] = []
    skipped: list[SkippedFile] = []
    if request.folder:
        root = Path(request.folder)
        if not root.is_dir():
            raise GenStudioError(f"'{root}' is not a folder." if root.exists() else f"The folder '{root}' does not exist.")
        found, skipped = scan_image_files(root)
        inputs += [(str(p), p) for p in found]
    inputs += [(str(p), Path(p)) for p in request.files]
    names = list(request.names) + [f"generated_{i:03d}" for i in range(len(request.names), len(request.images))]
    inputs += list(zip(names, request.images))
    if not inputs and not skipped:
        raise GenStudioError("There is nothing to inspect: choose a folder of images, image files, or images.")
    return inputs, skipped


def read_one(source: Path | np.ndarray, size: int, channels: int) -> np.ndarray:
    """H×W×channels uint8 at the model's size; ValueError with the reason a person reads."""
    if isinstance(source, Path):
        if not source.exists():
            raise ValueError("file not found")
        if source.is_dir():
            raise ValueError("is a folder, not an image file")
        image = load_image(source, size)
    else:
        image = np.asarray(source, np.uint8)
        if image.ndim == 2:
            image = image[..., None]
        if image.ndim != 3 or image.shape[-1] not in (1, 3):
            raise ValueError(f"not an H×W×3 image (shape {image.shape})")
        image = np.repeat(image, 3, -1) if image.shape[-1] == 1 else image
        if image.shape[:2] != (size, size):
            image = np.asarray(center_crop_resize(Image.fromarray(image), size))
    return to_grayscale(image) if channels == 1 else image


def inspect(request: InspectRequest, device, store: ModelStore | None = None,
            should_stop: Callable[[], bool] | None = None):
    """Generator: Progress (stage "scan") before the first image and after each; returns an
    InspectResult. ``should_stop`` is asked before each image: when it says yes, the images scored
    so far come back with ``cancelled`` set (closing the generator stops it too, returning nothing)."""
    import torch

    from genstudio.models.common import from_uint8, to_uint8

    if request.batch < 1:
        raise GenStudioError("The batch size must be at least 1.")
    card, spec, model = detector_model(request.model, device, store)
    size, channels = model.config.image_size, model.config.channels
    inputs, skipped = scan_inputs(request)
    result = InspectResult(request.model, card["arch"], [], list(skipped))
    total, done, clock, pending = len(inputs), 0, EtaClock(0, len(inputs)), []
    reconstruct = request.reconstructions and spec.can(Capability.RECONSTRUCT)
    yield Progress(0, total, stage="scan")

    def score_pending():
        x = from_uint8(np.stack([image for _, image in pending])).to(device)
        scores, maps = model.anomaly_map(x)
        recon = None
        if reconstruct:
            with torch.no_grad():
                recon = to_uint8(model.reconstruct(x))
        for i, (name, image) in enumerate(pending):
            result.items.append(InspectedImage(name, float(scores[i]), maps[i].detach().float().cpu().numpy(),
                                               image, None if recon is None else recon[i]))
        pending.clear()

    for index, (name, source) in enumerate(inputs):
        if should_stop is not None and should_stop():
            result.cancelled = True
            pending.clear()  # decoded but not scored: not reported, so not kept
            break
        try:
            pending.append((name, read_one(source, size, channels)))
        except ValueError as err:
            result.skipped.append(SkippedFile(name, str(err)))
            done += 1
            yield Progress(done, total, clock.eta(done), stage="scan")
        if pending and (len(pending) == request.batch or index == total - 1):
            count = len(pending)
            score_pending()
            for _ in range(count):
                done += 1
                yield Progress(done, total, clock.eta(done), stage="scan")
    threshold = (Threshold(float(request.threshold), "given for this scan") if request.threshold is not None
                 else load_threshold(request.model, store))
    result.apply_threshold(threshold)
    return result


def calibrate(model: str, folder: str, device, percentile: float = 99.0, store: ModelStore | None = None):
    """Generator: scan a folder of normal images, save the ``percentile`` of their scores as the model's
    threshold; returns the Threshold. For models whose training chose none (or to choose again)."""
    result = yield from inspect(InspectRequest(model, folder=folder), device, store)
    if not result.items:
        raise GenStudioError(f"No readable images in '{folder}' to choose a threshold from.")
    value = threshold_from_normals(result.scores(), percentile)
    return save_threshold(model, value, f"{percentile:g}th percentile of {len(result.items)} normal images in "
                                        f"{Path(folder).name}", store)


# -- reports -----------------------------------------------------------------------------------------
def atomic_write(path: Path | str, data: bytes) -> Path:
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_atomic(path, data)
    except OSError as err:
        raise GenStudioError(f"Cannot write '{path}' ({err.strerror or err}).") from None


def write_csv(result: InspectResult, path: Path | str) -> Path:
    """rank, file, score, verdict, threshold, model: one row per image, most anomalous first."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=REPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in result.rows():
        writer.writerow({**row, "score": repr(row["score"]),
                         "threshold": "" if row["threshold"] is None else repr(row["threshold"])})
    return atomic_write(path, buf.getvalue().encode("utf-8"))


def write_json(result: InspectResult, path: Path | str) -> Path:
    """The ranked list, the threshold and how it was chosen, the counts and the skipped files."""
    threshold = result.threshold
    data = {"model": result.model, "arch": result.arch,
            "threshold": None if threshold is None else threshold.value,
            "threshold_how": "" if threshold is None else threshold.how,
            "counts": {"images": len(result.items), "flagged": len(result.flagged), "passed": len(result.passed),
                       "skipped": len(result.skipped)},
            "cancelled": result.cancelled, "images": result.rows(),
            "skipped": [{"file": s.path, "reason": s.reason} for s in result.skipped]}
    return atomic_write(path, (json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))


def comparison(result: InspectResult, item: InspectedImage, opacity: float = 0.5,
               heat_range: tuple[float, float] | None = None) -> np.ndarray:
    """H×(3W)×3 uint8: the image, its reconstruction (or, without one, the heatmap over the image), and
    the difference |x − x̂| (or the heatmap alone)."""
    from genstudio.models.detector import heat_colors, overlay

    heat = result.heatmap01(item, heat_range)
    rgb = np.repeat(item.image, 3, -1) if item.image.shape[-1] == 1 else item.image
    if item.reconstruction is None:
        panels = [rgb, overlay(item.image, heat, opacity), heat_colors(heat)]
    else:
        recon = item.reconstruction
        recon = np.repeat(recon, 3, -1) if recon.shape[-1] == 1 else recon
        diff = np.abs(rgb.astype(np.int16) - recon.astype(np.int16)).astype(np.uint8)
        panels = [rgb, recon, diff]
    return np.concatenate(panels, axis=1)


def write_heatmaps(result: InspectResult, folder: Path | str, opacity: float = 0.5, size: int = 256,
                   side_by_side: bool = False) -> list[Path]:
    """One PNG per image, ``0001_<name>.png`` in rank order: the heatmap over the image at ``size`` px
    (or the three-panel comparison), heat scaled over the whole scan."""
    from genstudio.models.detector import overlay

    folder, heat_range, written = Path(folder), result.heat_range(), []
    for rank, item in enumerate(result.ranked(), 1):
        if side_by_side:
            picture = Image.fromarray(comparison(result, item, opacity, heat_range))
            picture = picture.resize((3 * size, size), Image.Resampling.NEAREST)
        else:
            image = Image.fromarray(item.image[..., 0] if item.image.shape[-1] == 1 else item.image)
            image = np.asarray(image.resize((size, size), Image.Resampling.BILINEAR))
            heat = Image.fromarray(result.heatmap01(item, heat_range)).resize((size, size), Image.Resampling.BILINEAR)
            picture = Image.fromarray(overlay(image[..., None] if image.ndim == 2 else image, np.asarray(heat), opacity))
        buf = io.BytesIO()
        picture.save(buf, format="PNG")
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(item.path).stem)[:80] or "image"
        written.append(atomic_write(folder / f"{rank:04d}_{stem}.png", buf.getvalue()))
    return written
