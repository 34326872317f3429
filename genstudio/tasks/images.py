"""Image files out: grids, and PNGs that carry their generation parameters in a text chunk."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

from PIL import Image, PngImagePlugin

from genstudio.core.data.images import make_grid  # noqa: F401 - re-exported for callers
from genstudio.core.errors import GenStudioError

PARAMS_KEY = "genstudio"  # tEXt chunk holding the JSON parameters
TEXT_KEY = "parameters"  # human-readable line, the key other image tools read


def describe_params(params: dict[str, Any]) -> str:
    keys = ("model", "tool", "seed", "steps", "sampler", "eta", "temperature", "n", "t", "bits_per_dim")
    return ", ".join(f"{k}: {params[k]}" for k in keys if k in params)


def save_png(image: Image.Image, path: Path | str, params: dict[str, Any]) -> Path:
    """Write a PNG with ``params`` as JSON in a tEXt chunk, atomically (temp file + rename)."""
    path = Path(path)
    info = PngImagePlugin.PngInfo()
    info.add_text(PARAMS_KEY, json.dumps(params, ensure_ascii=False))
    info.add_text(TEXT_KEY, describe_params(params))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        image.save(tmp, format="PNG", pnginfo=info)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return path


def read_png_params(path: Path | str) -> dict[str, Any]:
    """The parameters a GenStudio PNG carries; a clear error for any other file."""
    try:
        with Image.open(path) as img:
            text = getattr(img, "text", {}).get(PARAMS_KEY)
    except (OSError, SyntaxError) as err:
        raise GenStudioError(f"Cannot read '{path}' as an image ({err}).") from None
    if not text:
        raise GenStudioError(f"'{path}' carries no GenStudio parameters (was it made by GenStudio?).")
    try:
        params = json.loads(text)
    except json.JSONDecodeError:
        raise GenStudioError(f"The GenStudio parameters in '{path}' are damaged.") from None
    if not isinstance(params, dict) or "model" not in params:
        raise GenStudioError(f"The GenStudio parameters in '{path}' are incomplete.")
    return params
