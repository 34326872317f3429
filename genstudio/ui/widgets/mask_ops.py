"""The mask editor's pixel work, in numpy: soft round brush stamps, filled shapes, the overlay colours.

No Qt here, so every rule can be checked on arrays. A mask is H×W uint8 (255 = repaint). A brush
stroke is a row of round stamps laid along the pointer's path at a fixed spacing (a fraction of the
diameter, carried over between mouse events), so a fast flick leaves no gaps; stamps combine by
maximum (eraser: minimum), so overlapping stamps never build up past the brush's own opacity.
Pixel (x, y) covers the square [x, x+1) × [y, y+1) of image coordinates; its centre is (x+½, y+½).
"""

from __future__ import annotations

import math

import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive), in image pixels

SPACING = 0.1  # stamp spacing as a fraction of the brush diameter (Krita's default is similar)


def stamp_alpha(cx: float, cy: float, size: float, hardness: float, shape: tuple[int, int]) -> tuple[Box, np.ndarray]:
    """A round stamp of diameter ``size`` centred at (cx, cy): its box in the image and its 0–255 values.

    Full strength inside ``hardness`` × radius, a smooth fall-off to zero half a pixel past the radius
    (the half pixel anti-aliases a hard brush)."""
    height, width = shape
    radius = max(size, 1.0) / 2
    outer = radius + 0.5
    x0, y0 = max(0, math.floor(cx - outer)), max(0, math.floor(cy - outer))
    x1, y1 = min(width, math.ceil(cx + outer)), min(height, math.ceil(cy + outer))
    if x0 >= x1 or y0 >= y1:
        return (0, 0, 0, 0), np.zeros((0, 0), np.uint8)
    ys = np.arange(y0, y1, dtype=np.float32)[:, None] + 0.5 - cy
    xs = np.arange(x0, x1, dtype=np.float32)[None, :] + 0.5 - cx
    distance = np.sqrt(xs * xs + ys * ys)
    inner = radius * min(max(hardness, 0.0), 1.0)
    t = np.clip((outer - distance) / (outer - inner), 0.0, 1.0)
    alpha = t * t * (3 - 2 * t)  # smoothstep: no visible ring where the fall-off starts
    return (x0, y0, x1, y1), np.rint(alpha * 255).astype(np.uint8)


def stroke_points(start: tuple[float, float], end: tuple[float, float], spacing: float,
                  carry: float) -> tuple[list[tuple[float, float]], float]:
    """Stamp centres along start→end, ``spacing`` apart, the first ``spacing - carry`` past ``start``.

    ``carry`` is the distance travelled since the last stamp; the new carry is returned, so a stroke
    made of many short mouse moves gets the same evenly spaced stamps as one long move."""
    (sx, sy), (ex, ey) = start, end
    length = math.hypot(ex - sx, ey - sy)
    spacing = max(spacing, 0.5)
    points, along = [], spacing - carry
    while along <= length:
        f = along / length
        points.append((sx + (ex - sx) * f, sy + (ey - sy) * f))
        along += spacing
    return points, length - (along - spacing)


def paint_stamps(mask: np.ndarray, points: list[tuple[float, float]], size: float, hardness: float,
                 erase: bool = False) -> Box | None:
    """Paint (or erase) round stamps into ``mask`` in place; the box of pixels touched, or None."""
    touched = None
    for cx, cy in points:
        box, alpha = stamp_alpha(cx, cy, size, hardness, mask.shape)
        if alpha.size == 0:
            continue
        x0, y0, x1, y1 = box
        region = mask[y0:y1, x0:x1]
        if erase:
            np.minimum(region, 255 - alpha, out=region)
        else:
            np.maximum(region, alpha, out=region)
        touched = union(touched, box)
    return touched


def fill_polygon(mask: np.ndarray, points: list[tuple[float, float]], value: int) -> Box | None:
    """Set the pixels whose centres lie inside the polygon (even-odd rule) to ``value``; the box touched."""
    if len(points) < 3:
        return None
    height, width = mask.shape
    xs, ys = np.array(points, np.float64).T
    x0, y0 = max(0, math.floor(xs.min())), max(0, math.floor(ys.min()))
    x1, y1 = min(width, math.ceil(xs.max())), min(height, math.ceil(ys.max()))
    if x0 >= x1 or y0 >= y1:
        return None
    inside = polygon_inside(xs, ys, (x0, y0, x1, y1))
    if not inside.any():
        return None
    mask[y0:y1, x0:x1][inside] = value
    return x0, y0, x1, y1


def polygon_inside(xs: np.ndarray, ys: np.ndarray, box: Box) -> np.ndarray:
    """Which pixel centres of ``box`` lie inside the polygon, by scanlines: each row's edge crossings,
    sorted, bound the runs inside (first to second, third to fourth, ...)."""
    x0, y0, x1, y1 = box
    nx, ny = np.roll(xs, -1), np.roll(ys, -1)  # each edge runs from vertex i to vertex i+1
    centres = np.arange(y0, y1, dtype=np.float64)[:, None] + 0.5
    crosses = (ys <= centres) != (ny <= centres)  # half-open, so a vertex on a row counts once
    with np.errstate(divide="ignore", invalid="ignore"):
        at = xs + (centres - ys) / (ny - ys) * (nx - xs)
    at = np.sort(np.where(crosses, at, np.inf), axis=1)
    count = crosses.sum(axis=1)
    rows, pairs = np.nonzero(np.arange(0, at.shape[1], 2)[None, :] < count[:, None] - 1)
    starts = np.clip(np.ceil(at[rows, 2 * pairs] - 0.5), x0, x1).astype(np.int64) - x0
    stops = np.clip(np.ceil(at[rows, 2 * pairs + 1] - 0.5), x0, x1).astype(np.int64) - x0
    runs = np.zeros((y1 - y0, x1 - x0 + 1), np.int32)
    np.add.at(runs, (rows, starts), 1)
    np.add.at(runs, (rows, stops), -1)
    return np.cumsum(runs, axis=1)[:, :-1] > 0


def rect_box(a: tuple[float, float], b: tuple[float, float], shape: tuple[int, int]) -> Box | None:
    """The pixels covered by the rectangle between two corner points, clipped to the image."""
    height, width = shape
    x0, x1 = sorted((a[0], b[0]))
    y0, y1 = sorted((a[1], b[1]))
    box = (max(0, round(x0)), max(0, round(y0)), min(width, round(x1)), min(height, round(y1)))
    return box if box[0] < box[2] and box[1] < box[3] else None


def union(a: Box | None, b: Box | None) -> Box | None:
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])


def changed_box(before: np.ndarray, after: np.ndarray) -> Box | None:
    """The smallest box holding every pixel that differs (any channel), or None if none does."""
    differs = before != after
    if differs.ndim == 3:
        differs = differs.any(axis=2)
    rows, cols = np.flatnonzero(differs.any(axis=1)), np.flatnonzero(differs.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def nonzero_box(mask: np.ndarray) -> Box | None:
    return changed_box(np.zeros_like(mask), mask)


def overlay_rgba(mask: np.ndarray, color: tuple[int, int, int], opacity: float) -> np.ndarray:
    """H×W mask -> H×W×4 premultiplied RGBA: ``color`` at ``opacity`` × mask/255 (one table look-up)."""
    alpha = np.arange(256, dtype=np.float32) * min(max(opacity, 0.0), 1.0)
    table = np.stack([alpha * (value / 255) for value in color] + [alpha], axis=1)
    packed = np.ascontiguousarray(np.rint(table).astype(np.uint8)).view(np.uint32)[:, 0]  # one word per entry
    return np.take(packed, mask).view(np.uint8).reshape(mask.shape + (4,))


def blend_candidate(current: np.ndarray, source: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """``candidate`` was made from ``source``; carry exactly the pixels it changed onto ``current``.

    When the image was not edited meanwhile (current == source) this is the candidate itself."""
    changed = (candidate != source).any(axis=2)
    out = current.copy()
    out[changed] = candidate[changed]
    return out

