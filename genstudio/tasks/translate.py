"""Translate images with a two-domain model (CycleGAN): one image of any size, or a batch of files and
folders into an output folder.

The generators are fully convolutional, so an image larger than a tile is translated in overlapping
tiles. Near a cut edge a tile's output differs from the whole image's (its padding stands in for the
real neighbourhood), so neighbouring tiles share a strip of the model's ``context_margin`` on each
side plus ``overlap`` px in the middle, and are cross-faded there with raised-cosine weights that are
zero near each tile's own cut. Instance normalisation would still give each tile its own contrast and
colour; so the model measures its normalisation statistics once on the whole image, scaled down to
the tile's side (at least ``STATS_SIDE``), and every tile reuses them (the usual remedy for tiled
style transfer: seamless, though the colours of a much reduced copy's statistics drift a little from
what one pass over the full image would give). The network's memory is bounded by the larger of the
tile and ``STATS_SIDE``; the blend keeps one band of tile rows in float, never the whole image. In a batch, a file that cannot be read is listed with its
reason and the rest are translated.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image

from genstudio import __version__
from genstudio.core.data.images import IMAGE_EXTENSIONS, load_image, scan_image_files, to_grayscale
from genstudio.core.errors import GenStudioError
from genstudio.core.events import EtaClock, Progress
from genstudio.core.registry import Capability, get
from genstudio.core.store import ModelStore
from genstudio.tasks.generate import load_model
from genstudio.tasks.images import save_png

DIRECTIONS = ("a2b", "b2a")
STATS_SIDE = 512  # the smallest longest side of the scaled-down image the shared statistics come from
MIN_TILE = 32
MULTIPLE = 4  # the generators downsample twice: sides and tile origins are multiples of 4


@dataclass
class TranslateRequest:
    model: str
    direction: str = "a2b"  # "a2b" (domain A to B) or "b2a"
    inputs: list[str] = field(default_factory=list)  # image files and folders (folders are searched recursively)
    output_dir: str = ""
    tile: int = 0  # tile side in pixels; 0 = the default (``default_tile``)
    overlap: int = 32  # pixels neighbouring tiles share, blended


@dataclass
class TranslateReport:
    written: list[Path] = field(default_factory=list)
    skipped: list[tuple[Path, str]] = field(default_factory=list)  # (file, why it was not translated)


def check_direction(direction: str) -> None:
    if direction not in DIRECTIONS:
        raise GenStudioError(f"The direction must be 'a2b' or 'b2a', not '{direction}'.")


def default_tile(model) -> int:
    """1024 px (or twice the training size): most pictures in one pass, larger ones in few tiles whose
    shared statistics come from a copy scaled down by little; a 1024 px pass of the largest preset
    needs well under 1 GB."""
    return max(1024, 2 * model.config.image_size)


def tile_settings(model, tile: int | None, overlap: int) -> tuple[int, int]:
    """(tile, overlap) checked and rounded down to multiples of 4."""
    tile = tile or default_tile(model)
    if tile < MIN_TILE:
        raise GenStudioError(f"The tile size must be at least {MIN_TILE} pixels, not {tile}.")
    if overlap < 0:
        raise GenStudioError(f"The overlap cannot be negative ({overlap}).")
    tile, overlap = tile - tile % MULTIPLE, overlap - overlap % MULTIPLE
    shared = overlap + 2 * context_margin(model)
    if tile - shared < MULTIPLE:
        raise GenStudioError(f"A {tile} px tile is too small for this model with a {overlap} px overlap: "
                             f"neighbouring tiles share {shared} px. Use tiles of at least {shared + 4 * MULTIPLE} px.")
    return tile, overlap


def context_margin(model) -> int:
    """Pixels of real surroundings a tile needs at a cut edge (the model's ``context_margin``, else 0)."""
    margin = int(getattr(model, "context_margin", 0))
    return margin + -margin % MULTIPLE


def tile_starts(length: int, tile: int, shared: int) -> list[int]:
    """Where tiles start along one side: neighbours share at least ``shared`` px, every start is a
    multiple of 4 (the generators' sampling grid), and the last tile ends at the side's end."""
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, tile - shared))
    return starts + [length - tile]


def edge_ramps(starts: list[int], size: int, blend: int) -> list[np.ndarray]:
    """Each tile's weights along one side; across the strip it shares with a neighbour, its weight
    is 0 near its own cut edge, rises over ``blend`` px in the strip's middle, and the two weights
    add up to 1 everywhere in the strip."""
    ramps = []
    for i, start in enumerate(starts):
        w = np.ones(size, np.float32)
        if i > 0:
            shared = starts[i - 1] + size - start
            w[:shared] *= crossfade(shared, blend)
        if i + 1 < len(starts):
            shared = start + size - starts[i + 1]
            w[size - shared:] *= crossfade(shared, blend)[::-1]
        ramps.append(w)
    return ramps


def crossfade(shared: int, blend: int) -> np.ndarray:
    """Weights across a shared strip for the tile entering it: 0, a raised cosine over ``blend`` px
    centred in the strip, then 1; mirrored, the other tile's, and the two sum to 1."""
    blend = min(blend, shared)
    lead = (shared - blend) // 2
    w = np.zeros(shared, np.float32)
    w[lead:lead + blend] = 0.5 - 0.5 * np.cos(np.pi * (np.arange(blend) + 0.5) / blend)
    w[lead + blend:] = 1
    return w


def model_input(image: np.ndarray, channels: int) -> np.ndarray:
    """H×W×3 uint8 -> H×W×C (grayscale models take luma, as they were trained), padded by edge
    replication to multiples of 4."""
    x = to_grayscale(image) if channels == 1 else image
    h, w = x.shape[:2]
    return np.pad(x, ((0, -h % MULTIPLE), (0, -w % MULTIPLE), (0, 0)), mode="edge")


def scaled_down(x: np.ndarray, side: int) -> np.ndarray:
    """H×W×C uint8 scaled (box filter) so its longest side is at most ``side``, sides multiples of 4."""
    h, w, c = x.shape
    scale = min(1.0, side / max(h, w))
    size = (max(MULTIPLE, round(w * scale / MULTIPLE) * MULTIPLE), max(MULTIPLE, round(h * scale / MULTIPLE) * MULTIPLE))
    if size == (w, h):
        return x
    small = Image.fromarray(x[..., 0] if c == 1 else x).resize(size, Image.Resampling.BOX)
    return np.array(small).reshape(size[1], size[0], c)


def shared_statistics(model, x: np.ndarray, direction: str, device, side: int = STATS_SIDE):
    """The model's normalisation statistics on the whole (padded) image, scaled down to ``side``."""
    import torch

    from genstudio.models.common import from_uint8

    with torch.inference_mode():
        return model.norm_statistics(from_uint8(scaled_down(x, max(side, STATS_SIDE))[None]).to(device), direction)


def translate_image(model, image: np.ndarray, direction: str = "a2b", tile: int | None = None, overlap: int = 32):
    """Generator: yields Progress (stage "tile") per tile; returns the translated H×W×3 uint8 image.
    An image no larger than ``tile`` on both sides is translated in one pass. Otherwise neighbouring
    tiles share ``overlap`` px of cross-fade plus the model's context margin on each side of it."""
    import torch

    from genstudio.models.common import from_uint8, to_uint8

    check_direction(direction)
    tile, overlap = tile_settings(model, tile, overlap)
    device = next(model.parameters()).device
    x = model_input(image, model.config.channels)
    shared = overlap + 2 * context_margin(model)
    ys, xs = tile_starts(x.shape[0], tile, shared), tile_starts(x.shape[1], tile, shared)
    th, tw = min(tile, x.shape[0]), min(tile, x.shape[1])
    stats = shared_statistics(model, x, direction, device, tile) if len(ys) * len(xs) > 1 else None
    ramps_y, ramps_x = edge_ramps(ys, th, overlap), edge_ramps(xs, tw, overlap)
    blend, total = BandBlend(x.shape, th), len(ys) * len(xs)
    clock = EtaClock(0, total)
    for i, y in enumerate(ys):
        blend.move_to(y)
        for j, left in enumerate(xs):
            crop = from_uint8(x[y:y + th, left:left + tw][None]).to(device)
            with torch.inference_mode():
                translated = to_uint8(model.translate(crop, direction, stats))[0]
            blend.add(left, translated, ramps_y[i][:, None, None] * ramps_x[j][None, :, None])
            done = i * len(xs) + j + 1
            yield Progress(done, total, clock.eta(done), stage="tile")
    result = blend.finish()[:image.shape[0], :image.shape[1]]
    return np.repeat(result, 3, axis=-1) if result.shape[-1] == 1 else result


class BandBlend:
    """The weighted sum of tile outputs over one band of tile rows, in float; rows above the band
    are final and go to the uint8 result as the band moves down, so the float part stays one band."""

    def __init__(self, shape: tuple[int, int, int], band_height: int):
        self.out = np.empty(shape, np.uint8)
        self.sums = np.zeros((band_height, shape[1], shape[2]), np.float32)
        self.weights = np.zeros((band_height, shape[1], 1), np.float32)
        self.top = 0

    def move_to(self, top: int) -> None:
        """Start the tile row at ``top``: no later tile reaches the rows above it."""
        rows = top - self.top
        if rows > 0:
            self.out[self.top:top] = self._finished(rows)
            self.sums = np.concatenate([self.sums[rows:], np.zeros_like(self.sums[:rows])])
            self.weights = np.concatenate([self.weights[rows:], np.zeros_like(self.weights[:rows])])
            self.top = top

    def add(self, left: int, pixels: np.ndarray, weight: np.ndarray) -> None:
        width = pixels.shape[1]
        self.sums[:, left:left + width] += pixels * weight
        self.weights[:, left:left + width] += weight

    def finish(self) -> np.ndarray:
        self.out[self.top:self.top + len(self.sums)] = self._finished(len(self.sums))
        return self.out

    def _finished(self, rows: int) -> np.ndarray:
        return np.clip(np.round(self.sums[:rows] / self.weights[:rows]), 0, 255).astype(np.uint8)


# -- files ---------------------------------------------------------------------------------------
def list_inputs(paths, exclude: Path | None = None) -> list[Path]:
    """The files to translate: files as given (a bad one is reported later, not dropped here), and
    the image files under each folder (recursively); sorted, each once. A folder ``exclude`` (the
    output folder) inside a listed folder is not searched, so earlier results are not re-read."""
    found: set[Path] = set()
    skip = exclude.resolve() if exclude is not None else None
    for path in map(Path, paths):
        if not path.is_dir():
            found.add(path)
            continue
        inside = skip is not None and skip.is_relative_to(path.resolve())
        found.update(f for f in scan_image_files(path)[0] if not (inside and f.resolve().is_relative_to(skip)))
    return sorted(found)


def output_name(source: Path, direction: str, taken: set[str]) -> str:
    """``<stem>_a2b.png``; ``<stem>_a2b_2.png`` ... when another input of this batch had the same stem."""
    name, n = f"{source.stem}_{direction}.png", 1
    while name.lower() in taken:
        n += 1
        name = f"{source.stem}_{direction}_{n}.png"
    taken.add(name.lower())
    return name


def batch_files(request: TranslateRequest, out_dir: Path) -> list[Path]:
    """The inputs, less an output folder inside an input folder (earlier results are not re-read)."""
    if any(Path(p).is_dir() and Path(p).resolve() == out_dir.resolve() for p in request.inputs):
        raise GenStudioError("The output folder is one of the input folders; choose another output folder "
                             "(for example a new folder inside it).")
    files = list_inputs(request.inputs, exclude=out_dir)
    if not files:
        raise GenStudioError(f"No image files to translate in {', '.join(request.inputs) or 'the inputs'} "
                             f"({', '.join(IMAGE_EXTENSIONS)}).")
    return files


def translation_model(name: str, device, store: ModelStore | None):
    card, model = load_model(name, device, store)
    if not get(card["arch"]).can(Capability.TRANSLATE):
        raise GenStudioError(f"'{name}' ({card['arch']}) does not translate images; choose a model trained on "
                             "two folders (cyclegan).")
    return card, model


def translate_files(request: TranslateRequest, device, store: ModelStore | None = None):
    """Generator: Progress (stage "translate") before the first file and after each, and the tiles'
    Progress (stage "tile") between; returns a TranslateReport. Unreadable inputs are skipped with a
    reason, never fatal."""
    check_direction(request.direction)
    if not request.output_dir:
        raise GenStudioError("Choose an output folder for the translated images.")
    card, model = translation_model(request.model, device, store)
    tile, overlap = tile_settings(model, request.tile or None, request.overlap)  # fails before any file is read
    out_dir = Path(request.output_dir)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise GenStudioError(f"Cannot create the output folder '{out_dir}' ({err.strerror or err}).") from None
    files = batch_files(request, out_dir)
    params = {"model": request.model, "direction": request.direction, "tile": tile, "overlap": overlap,
              "tool": "translate", "arch": card["arch"], "domains": card["config"].get("domains"),
              "model_sha256": card["weights_sha256"], "app": "GenStudio", "app_version": __version__}
    report, taken, clock = TranslateReport(), set(), EtaClock(0, len(files))
    yield Progress(0, len(files), stage="translate")
    for i, path in enumerate(files):
        try:
            image = read_input(path)
        except ValueError as err:
            report.skipped.append((path, str(err)))
        else:
            result = yield from translate_image(model, image, request.direction, tile, overlap)
            target = out_dir / output_name(path, request.direction, taken)
            try:
                save_png(Image.fromarray(result), target, {**params, "source": path.name})
            except OSError as err:
                raise GenStudioError(f"Could not write '{target}' ({err.strerror or err}); "
                                     f"{len(report.written)} image(s) were written before it.") from None
            report.written.append(target)
        yield Progress(i + 1, len(files), clock.eta(i + 1), stage="translate")
    return report


def read_input(path: Path) -> np.ndarray:
    """H×W×3 uint8; ValueError with the reason a person reads in the skipped list."""
    if not path.exists():
        raise ValueError("file not found")
    if path.is_dir():
        raise ValueError("is a folder, not an image file")
    return load_image(path)
