"""Anomaly heatmaps as pictures, in numpy: the same black-purple-red-orange-white scale and overlay as
``genstudio.models.detector`` (whose module imports torch, which the UI thread never does on its own).

Maps arrive scaled to [0, 1] over the whole scan (``InspectResult.heatmap01``), so a hot spot means the
same on every thumbnail.
"""

from __future__ import annotations

import numpy as np

HEAT_STOPS = np.array([[0, 0, 0], [40, 0, 120], [200, 30, 60], [250, 150, 0], [255, 255, 200]], np.float32)


def heat_colors(maps01: np.ndarray) -> np.ndarray:
    """(..., H, W) values in [0, 1] -> (..., H, W, 3) uint8."""
    pos = np.clip(np.nan_to_num(maps01), 0, 1) * (len(HEAT_STOPS) - 1)
    lo = np.minimum(pos.astype(np.int64), len(HEAT_STOPS) - 2)
    frac = (pos - lo)[..., None]
    return np.round(HEAT_STOPS[lo] * (1 - frac) + HEAT_STOPS[lo + 1] * frac).astype(np.uint8)


def rgb(image: np.ndarray) -> np.ndarray:
    """H×W×1 or H×W×3 uint8 -> H×W×3."""
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def overlay(image: np.ndarray, map01: np.ndarray, opacity: float = 0.5) -> np.ndarray:
    """The image under its heatmap at ``opacity``; the heat is weighted by its own value too, so the
    normal parts of the picture stay visible (as the detector's own overlay)."""
    alpha = (opacity * np.clip(map01, 0, 1) ** 0.5)[..., None]
    return np.round(rgb(image) * (1 - alpha) + heat_colors(map01) * alpha).astype(np.uint8)


def difference(image: np.ndarray, reconstruction: np.ndarray) -> np.ndarray:
    """|x − x̂| averaged over the colours, brightest = the largest difference in this image, in heat colours."""
    diff = np.abs(rgb(image).astype(np.float32) - rgb(reconstruction).astype(np.float32)).mean(-1)
    return heat_colors(diff / max(float(diff.max()), 1.0))


def scale_strip(width: int = 96, height: int = 10) -> np.ndarray:
    """The colour scale, low (left) to high (right), as a picture for a legend."""
    return np.ascontiguousarray(np.broadcast_to(heat_colors(np.linspace(0, 1, width))[None], (height, width, 3)))
