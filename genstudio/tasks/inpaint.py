"""Inpaint and outpaint an image of any size with a model that works at its own small size.

The models repaint an S×S picture (RePaint resampling for diffusion, Lugmayr et al. 2022, "RePaint:
Inpainting using Denoising Diffusion Probabilistic Models"; latent optimisation for the VAE). This
module does the rest: a square window of context around the mask is cut out (edge-replicated where it
reaches past the image), scaled to S (area-averaged, so what is under the mask never leaks into the
pixels the model keeps), repainted, scaled back (Lanczos) and blended in with a feathered edge.
The blend weight is 1 on the mask and falls smoothly to exactly 0 at ``feather`` pixels from it, so
every pixel farther away keeps its bytes. Outpainting is the same after ``extend_canvas``: each new
strip is filled in a few windows along it, each holding some known pixels, so the scale stays near
the strip's width instead of the whole canvas's.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from genstudio import __version__
from genstudio.core.errors import GenStudioError
from genstudio.core.events import EtaClock, Preview, Progress
from genstudio.core.registry import Capability, get
from genstudio.core.store import ModelStore
from genstudio.tasks.generate import load_model

MAX_CANDIDATES = 16
MAX_OUTPAINT = 4096  # pixels per side
MAX_MEGAPIXELS = 64
MAX_FEATHER = 256
MIN_CONTEXT = 16  # pixels of context around the mask's bounding box, at least
STRIP_WINDOWS = 8  # at most this many windows along one outpainted strip
PREVIEWS = 10  # about this many previews per model call
PREVIEW_PIXELS = 16_000_000  # full-size previews only up to this many pixels in all candidates together
SIDES = ("left", "right", "top", "bottom")
SIDE_ALIASES = {"up": "top", "down": "bottom"}
MODEL_OPTIONS = ("harmonize", "label", "prompt", "negative_prompt", "guidance")  # passed where inpaint() takes them


@dataclass
class InpaintRequest:
    model: str
    n: int = 4  # candidates; candidate i uses seed + i alone
    seed: int = 0
    steps: int = 25  # sampling steps (the VAE: optimisation steps)
    strength: float = 1.0  # 1 = repaint from pure noise; below 1 keeps more of what is under the mask
    harmonize: int = 2  # RePaint resampling passes per step (diffusion models)
    feather: int = 8  # width of the blend ramp outside the mask, in image pixels
    context: float = 0.5  # context margin around the mask's bounding box, as a fraction of its size
    prompt: str = ""  # text-to-image models
    negative_prompt: str = ""
    guidance: float = 3.0  # classifier-free guidance scale (class or prompt models)
    label: int = -1  # class-conditional models: the class index; -1 = any class
    outpaint: dict[str, int] = field(default_factory=dict)  # pixels to add per side: {"left": 128}

    @classmethod
    def from_params(cls, params: dict[str, Any]) -> InpaintRequest:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in params.items() if k in names})

    def to_params(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class InpaintResult:
    candidates: list[np.ndarray]  # each H×W×3 uint8, the whole (extended) image
    params: dict[str, Any]  # what went into it; candidate i used seed + i
    box: tuple[int, int, int, int]  # (x0, y0, x1, y1): outside it every pixel is the input's

    def image_params(self, index: int) -> dict[str, Any]:
        """Parameters that repeat candidate ``index`` alone."""
        return {**self.params, "n": 1, "seed": self.params["seed"] + index}


@dataclass(frozen=True)
class Window:
    """A square of the canvas the model sees, scaled to its size; it may reach past the canvas."""

    x0: int
    y0: int
    size: int


# -- checks -------------------------------------------------------------------------------------
def normalise_outpaint(outpaint: dict[str, int] | None) -> dict[str, int]:
    """``{"left": 128, "up": 64}`` -> ``{"left": 128, "top": 64}``, zero sides dropped; clear errors."""
    sides: dict[str, int] = {}
    for key, amount in (outpaint or {}).items():
        side = SIDE_ALIASES.get(str(key).lower(), str(key).lower())
        if side not in SIDES:
            raise GenStudioError(f"Cannot outpaint '{key}': the sides are left, right, top (up) and bottom (down).")
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= MAX_OUTPAINT:
            raise GenStudioError(f"Outpaint by 0 to {MAX_OUTPAINT} pixels per side; got {key}: {amount}.")
        if side in sides:
            raise GenStudioError(f"The {side} side is given twice for outpainting.")
        if amount:
            sides[side] = amount
    return sides


def check_request(request: InpaintRequest) -> None:
    if not 1 <= request.n <= MAX_CANDIDATES:
        raise GenStudioError(f"The number of candidates must be between 1 and {MAX_CANDIDATES}.")
    if not 0 < request.strength <= 1:
        raise GenStudioError("Strength must be above 0 and at most 1 (1 repaints the masked area from scratch).")
    if not 1 <= request.steps <= 1000:
        raise GenStudioError("The number of steps must be between 1 and 1000.")
    if not 0 <= request.feather <= MAX_FEATHER:
        raise GenStudioError(f"The feather must be 0 to {MAX_FEATHER} pixels.")
    if not 0 <= request.context <= 4:
        raise GenStudioError("The context margin must be 0 to 4 times the mask's size.")
    if request.harmonize < 0:
        raise GenStudioError("Harmonize (resampling passes per step) cannot be negative.")


def check_inputs(image: np.ndarray, mask: np.ndarray) -> None:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise GenStudioError("The image must be an RGB picture (H×W×3, 8 bits per channel).")
    if not isinstance(mask, np.ndarray) or mask.ndim != 2 or mask.dtype != np.uint8:
        raise GenStudioError("The mask must be a single-channel 8-bit picture (white = repaint).")
    if mask.shape != image.shape[:2]:
        (mh, mw), (ih, iw) = mask.shape, image.shape[:2]
        raise GenStudioError(f"The mask is {mw}×{mh} pixels but the image is {iw}×{ih}: they must be the same size.")
    check_size(image.shape[0], image.shape[1])


def check_size(height: int, width: int) -> None:
    if height * width > MAX_MEGAPIXELS * 1_000_000:
        raise GenStudioError(f"The image would be {width}×{height} pixels ({height * width / 1e6:.0f} megapixels); "
                             f"inpainting handles at most {MAX_MEGAPIXELS} megapixels: scale it down first.")


def checked_model(name: str, device, store: ModelStore | None):
    card, model = load_model(name, device, store)
    if not get(card["arch"]).can(Capability.INPAINT):
        raise GenStudioError(f"'{name}' ({card['arch']}) cannot inpaint; choose a model with the inpaint "
                             "capability (the diffusion models, the VAE).")
    return card, model


# -- canvas and geometry ------------------------------------------------------------------------
def extend_canvas(image: np.ndarray, mask: np.ndarray, left: int = 0, right: int = 0, top: int = 0,
                  bottom: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The image grown by the given pixels per side, the new area filled by edge replication (a
    starting point for a partial redraw), and the mask grown with 255 (repaint) there."""
    if min(left, right, top, bottom) < 0:
        raise GenStudioError("Outpainting adds pixels; the amounts cannot be negative.")
    pad = ((top, bottom), (left, right))
    return np.pad(image, (*pad, (0, 0)), mode="edge"), np.pad(mask, pad, constant_values=255)


def mask_bbox(mask: np.ndarray) -> tuple[int, int, int, int] | None:
    """(x0, y0, x1, y1) of the True pixels, exclusive ends; None when there are none."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    if not len(rows):
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def grow_box(box: tuple[int, int, int, int], by: int, height: int, width: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = box
    return max(0, x0 - by), max(0, y0 - by), min(width, x1 + by), min(height, y1 + by)


def place(start: int, end: int, size: int, extent: int) -> int:
    """Where a window of ``size`` starts on an axis of ``extent`` pixels to cover [start, end):
    centred on it, shifted inside the canvas, or centred on the canvas when larger than it."""
    if size >= extent:
        return (extent - size) // 2
    return min(max((start + end - size) // 2, 0), extent - size)


def context_window(box: tuple[int, int, int, int], height: int, width: int, model_size: int, context: float,
                   feather: int) -> Window:
    """The square around ``box`` with a context margin (and room for the feather) on each side. Never
    smaller than the model (while the image allows: a small mask keeps the model's own resolution),
    never larger than the image's long side (a whole small image is the context)."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0)
    margin = max(MIN_CONTEXT, math.ceil(context * side), feather + 1)
    size = max(side + 2 * margin, min(model_size, max(height, width)))
    size = max(min(size, max(height, width)), side)
    return Window(place(x0, x1, size, width), place(y0, y1, size, height), size)


def strip_windows(side: str, amount: int, height: int, width: int, model_size: int) -> list[Window]:
    """Squares along a new strip ``amount`` pixels wide on ``side``: each reaches as far again into the
    known image, overlapping its neighbour by half, at most STRIP_WINDOWS of them."""
    along = height if side in ("left", "right") else width
    size = max(model_size, 2 * amount, amount + MIN_CONTEXT, math.ceil(2 * along / (STRIP_WINDOWS + 1)))
    size = min(size, max(height, width))
    count = 1 if along <= size else math.ceil((along - size) / (size / 2)) + 1
    starts = [(along - size) // 2] if count == 1 else [round(j * (along - size) / (count - 1)) for j in range(count)]
    across = {"left": 0, "top": 0, "right": width - size, "bottom": height - size}[side]
    if side in ("left", "right"):
        return [Window(across, s, size) for s in starts]
    return [Window(s, across, size) for s in starts]


def plan_windows(mask: np.ndarray, sides: dict[str, int], request: InpaintRequest,
                 model_size: int) -> list[Window]:
    """The painted mask (less any new strips) in one context window, then each new strip's windows."""
    height, width = mask.shape
    painted = mask.copy()
    painted[:, :sides.get("left", 0)] = painted[:, width - sides.get("right", 0):] = False
    painted[:sides.get("top", 0)] = painted[height - sides.get("bottom", 0):] = False
    box = mask_bbox(painted)
    windows = [] if box is None else [context_window(box, height, width, model_size, request.context,
                                                     request.feather)]
    for side, amount in sides.items():
        windows += strip_windows(side, amount, height, width, model_size)
    return windows


def take(array: np.ndarray, window: Window) -> np.ndarray:
    """The window's pixels, edge-replicated where it reaches past the array."""
    ys = np.clip(np.arange(window.y0, window.y0 + window.size), 0, array.shape[0] - 1)
    xs = np.clip(np.arange(window.x0, window.x0 + window.size), 0, array.shape[1] - 1)
    return array[ys[:, None], xs[None, :]]


def inside(window: Window, height: int, width: int) -> tuple[slice, slice, slice, slice]:
    """(canvas rows, canvas cols, window rows, window cols) where the window and the canvas overlap."""
    cy0, cx0 = max(window.y0, 0), max(window.x0, 0)
    cy1, cx1 = min(window.y0 + window.size, height), min(window.x0 + window.size, width)
    return (slice(cy0, cy1), slice(cx0, cx1),
            slice(cy0 - window.y0, cy1 - window.y0), slice(cx0 - window.x0, cx1 - window.x0))


# -- masks: distance, feather -------------------------------------------------------------------
def distance_to(mask: np.ndarray, radius: int) -> np.ndarray:
    """Euclidean distance in pixels from each pixel to the nearest True one, exact up to ``radius``
    and ``radius + 1`` beyond (two 1-D passes over the offsets within the radius)."""
    far = float((radius + 1) ** 2)
    rows = np.where(mask, 0.0, far).astype(np.float32)
    for d in range(1, radius + 1):
        cost = np.float32(d * d)
        rows[:, d:] = np.minimum(rows[:, d:], np.where(mask[:, :-d], cost, far))
        rows[:, :-d] = np.minimum(rows[:, :-d], np.where(mask[:, d:], cost, far))
    squared = rows.copy()
    for d in range(1, radius + 1):
        cost = np.float32(d * d)
        squared[d:] = np.minimum(squared[d:], rows[:-d] + cost)
        squared[:-d] = np.minimum(squared[:-d], rows[d:] + cost)
    return np.sqrt(np.minimum(squared, far))


def feather_alpha(distance: np.ndarray, feather: int) -> np.ndarray:
    """Blend weight: 1 on the mask, a smoothstep down to exactly 0 at ``feather`` pixels from it."""
    if feather <= 0:
        return (distance == 0).astype(np.float32)
    t = np.clip(1 - distance / feather, 0, 1)
    return (t * t * (3 - 2 * t)).astype(np.float32)


def region_distance(region: np.ndarray, radius: int) -> np.ndarray:
    """``distance_to`` computed only around the region's bounding box (``radius + 1`` elsewhere)."""
    out = np.full(region.shape, radius + 1, np.float32)
    box = mask_bbox(region)
    if box is not None:
        x0, y0, x1, y1 = grow_box(box, radius, *region.shape)
        out[y0:y1, x0:x1] = distance_to(region[y0:y1, x0:x1], radius)
    return out


# -- one window through the model ---------------------------------------------------------------
def resize(array: np.ndarray, size: int) -> np.ndarray:
    """A square H×W(×C) array to size×size. Shrinking averages each output pixel's own area (box), so
    what is under the mask cannot leak into the known pixels the model keeps, as a wider kernel's
    tails would; enlarging is Lanczos. Float masks are always box-filtered (their coverage)."""
    from PIL import Image

    shrink = size < array.shape[0]
    if array.dtype == np.float32:
        return np.asarray(Image.fromarray(array).resize((size, size), Image.Resampling.BOX))
    squeeze = array.ndim == 3 and array.shape[2] == 1
    img = Image.fromarray(array[..., 0] if squeeze else array)
    out = np.array(img.resize((size, size), Image.Resampling.BOX if shrink else Image.Resampling.LANCZOS))
    return out[..., None] if squeeze else out


class WindowJob:
    """One window of one canvas: what the model gets, and how its candidates go back into the canvas."""

    def __init__(self, canvas: np.ndarray, region: np.ndarray, window: Window, model_size: int, channels: int,
                 feather: int):
        self.window = window
        rows, cols, wrows, wcols = inside(window, *region.shape)
        in_canvas = np.zeros((window.size, window.size), bool)
        in_canvas[wrows, wcols] = True
        local = np.zeros_like(in_canvas)
        local[wrows, wcols] = region[rows, cols]
        # The model repaints every model pixel that touches the region (no old content survives at
        # its edge), and the padding past the canvas, which is not part of the picture.
        coverage = resize((local | ~in_canvas).astype(np.float32), model_size)
        self.model_mask = (coverage > 1e-6).astype(np.float32)
        crop = take(canvas, window)
        if channels == 1:
            from genstudio.core.data.images import to_grayscale

            crop = to_grayscale(crop)
        self.model_image = np.ascontiguousarray(resize(crop, model_size))
        alpha = np.where(in_canvas, feather_alpha(region_distance(local, feather), feather), 0)
        x0, y0, x1, y1 = mask_bbox(alpha > 0)  # blend only where the weight is not 0: the region and its feather
        self.alpha = alpha[y0:y1, x0:x1, None].astype(np.float32)
        self.local = (slice(y0, y1), slice(x0, x1))
        self.target = (slice(window.y0 + y0, window.y0 + y1), slice(window.x0 + x0, window.x0 + x1))

    def blend(self, canvas: np.ndarray, candidate: np.ndarray) -> np.ndarray:
        """``canvas`` with one S×S×C candidate scaled back and blended in; pixels with weight 0 keep their bytes."""
        full = resize(candidate, self.window.size)[self.local]
        if full.shape[2] == 1:
            full = np.repeat(full, 3, axis=2)
        out = canvas.copy()
        original = canvas[self.target]
        mixed = self.alpha * full + (1 - self.alpha) * original
        out[self.target] = np.where(self.alpha > 0, np.clip(np.round(mixed), 0, 255).astype(np.uint8), original)
        return out


# -- the task -----------------------------------------------------------------------------------
def model_options(model, request: InpaintRequest) -> dict[str, Any]:
    """The request's options that this model's ``inpaint`` takes by name."""
    import inspect

    names = inspect.signature(model.inpaint).parameters
    return {k: getattr(request, k) for k in MODEL_OPTIONS if k in names}


def used_params(request: InpaintRequest, card: dict, options: dict[str, Any]) -> dict[str, Any]:
    """What shaped the candidates, for the PNG: the request's core settings and the options the model took."""
    keep = {"model", "n", "seed", "steps", "strength", "feather", "context", *options}
    if request.outpaint:
        keep.add("outpaint")
    if not card["config"].get("classes"):
        keep.discard("label")
        if "prompt" not in options:
            keep.discard("guidance")
    params = {k: v for k, v in request.to_params().items() if k in keep}
    return {**params, "tool": "inpaint", "arch": card["arch"], "model_sha256": card.get("weights_sha256"),
            "app": "GenStudio", "app_version": __version__}


def inpaint(request: InpaintRequest, image: np.ndarray, mask: np.ndarray, device, store: ModelStore | None = None):
    """Generator of Progress (stage "inpaint") and Preview events; returns an InpaintResult.

    ``image`` is H×W×3 uint8 of any size, ``mask`` H×W uint8 (> 127 = repaint). With
    ``request.outpaint`` the canvas is first extended (the mask too) and the new area is filled."""
    check_request(request)
    sides = normalise_outpaint(request.outpaint)
    if isinstance(mask, np.ndarray) and mask.dtype == bool:
        mask = mask.astype(np.uint8) * 255
    check_inputs(image, mask)
    check_size(image.shape[0] + sides.get("top", 0) + sides.get("bottom", 0),
               image.shape[1] + sides.get("left", 0) + sides.get("right", 0))
    canvas, mask = extend_canvas(image, mask, **sides)
    repaint = mask > 127
    box = mask_bbox(repaint)
    if box is None:
        raise GenStudioError("The mask is empty: paint the area to repaint.")
    card, model = checked_model(request.model, device, store)
    if request.label >= 0 and not card["config"].get("classes"):
        raise GenStudioError(f"'{request.model}' was not trained with classes; choose 'any class'.")
    options = model_options(model, request)
    size, channels = model.config.image_size, model.config.channels
    windows = plan_windows(repaint, sides, request, size)
    tracks = yield from fill_windows(model, canvas, repaint, windows, request, options, size, channels)
    params = used_params(request, card, options)
    return InpaintResult(tracks, params, grow_box(box, request.feather, *repaint.shape))


def window_regions(repaint: np.ndarray, windows: list[Window]) -> list[tuple[Window, np.ndarray]]:
    """Each window with the part of the mask it fills: what is inside it and no earlier window filled."""
    remaining, plan = repaint.copy(), []
    for window in windows:
        rows, cols, _, _ = inside(window, *repaint.shape)
        region = np.zeros_like(remaining)
        region[rows, cols] = remaining[rows, cols]
        remaining[rows, cols] = False
        if region.any():
            plan.append((window, region))
    return plan


def fill_windows(model, canvas, repaint, windows, request, options, size, channels):
    """Each candidate's canvas after the windows in turn: the first window for all candidates in one
    call (candidate i from seed + i), later windows per candidate (their context is that candidate's
    earlier result), from seeds derived from the candidate's own."""
    n = request.n
    tracks = [canvas] * n
    plan = window_regions(repaint, windows)
    progress = CallProgress(1 + (len(plan) - 1) * n)
    for j, (window, region) in enumerate(plan):
        for group in [list(range(n))] if j == 0 else [[i] for i in range(n)]:
            job = WindowJob(tracks[group[0]], region, window, size, channels, request.feather)
            seeds = [request.seed + i + 1_000_003 * j for i in group]
            candidates = yield from progress.run(
                model.inpaint(job.model_image, job.model_mask, n=len(group), seed=seeds[0], seeds=seeds,
                              steps=request.steps, strength=request.strength,
                              preview_every=preview_every(request, canvas.shape), **options),
                lambda preview, job=job, group=group: composite_preview(tracks, group, job, preview))
            for i, candidate in zip(group, candidates):
                tracks[i] = job.blend(tracks[i], candidate)
    return tracks


def preview_every(request: InpaintRequest, shape: tuple[int, ...]) -> int:
    if request.n * shape[0] * shape[1] > PREVIEW_PIXELS:
        return 0
    return max(1, request.steps // PREVIEWS)


def composite_preview(tracks: list[np.ndarray], group: list[int], job: WindowJob, images: np.ndarray) -> np.ndarray:
    """N×H×W×3: every candidate's canvas, those in ``group`` with the model's preview blended in."""
    shown = list(tracks)
    for i, image in zip(group, images):
        shown[i] = job.blend(tracks[i], image)
    return np.stack(shown)


class CallProgress:
    """Re-counts the model's per-call Progress over all calls of a run, and turns its Previews into
    full-size composites."""

    def __init__(self, calls: int):
        self.calls, self.done, self.per_call = calls, 0, 0
        self.clock: EtaClock | None = None

    def run(self, gen, make_preview):
        try:
            while True:
                try:
                    event = next(gen)
                except StopIteration as stop:
                    self.done += 1
                    return stop.value
                except ValueError as err:  # the model's own check of an option, worded for the user
                    raise GenStudioError(str(err)) from err
                if isinstance(event, Progress):
                    self.per_call = event.total
                    total = event.total * self.calls
                    self.clock = self.clock or EtaClock(0, total)
                    step = self.done * event.total + event.step
                    yield Progress(step, total, self.clock.eta(step), dict(event.metrics), stage="inpaint")
                elif isinstance(event, Preview) and event.image is not None:
                    step = self.done * self.per_call + event.step
                    yield Preview(step, image=make_preview(np.asarray(event.image)), caption=event.caption)
                else:
                    yield event
        finally:
            gen.close()  # a cancelled run stops the model's sampler too
