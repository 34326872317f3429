#!/usr/bin/env python
"""A captioned folder of coloured shapes ("a red circle") for text-to-image demos, tests and benchmarks.

Each image is one shape (circle, square, triangle) in one colour (red, green, blue, yellow), of a
random size and place, drawn anti-aliased on a plain background of low saturation (white, greys,
near-black, muted tints), so a shape's hue is the only strong colour in it. Colours and shapes cycle,
so every combination gets the same number of images. The caption goes where ``caption_source`` says:
a sidecar ``.txt`` next to ``shape_0001.png`` ("sidecar"), the file name ``a_red_circle_0001.png``
("filename"), or a subfolder ``a red circle/img_0001.png`` ("folder").

    python scripts/captioned_shapes.py OUT_FOLDER [--n 360] [--size 32] [--seed 0] [--caption-source sidecar]
"""

from __future__ import annotations

import argparse
import colorsys
import itertools
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

COLOURS = {"red": 0.0, "yellow": 55.0, "green": 120.0, "blue": 225.0}  # name -> hue in degrees
SHAPES = ("circle", "square", "triangle")
CAPTION_SOURCES = ("sidecar", "filename", "folder")
HUE_JITTER = 8.0  # degrees either side, so a colour name covers a range of hues
SUPERSAMPLE = 4  # drawn this many times larger, then downsampled: smooth edges


def prompts(colours=tuple(COLOURS), shapes=SHAPES) -> list[str]:
    """Every colour × shape caption, colours outermost: "a red circle", "a red square", ..."""
    return [f"a {c} {s}" for c, s in itertools.product(colours, shapes)]


def background(rng: np.random.Generator) -> tuple[int, int, int]:
    """A plain background colour with saturation ≤ 0.15 (the benchmark's colour measure ignores it)."""
    value = float(rng.choice([rng.uniform(0.85, 1.0), rng.uniform(0.35, 0.65), rng.uniform(0.05, 0.2)]))
    r, g, b = colorsys.hsv_to_rgb(rng.uniform(0, 1), rng.uniform(0, 0.15), value)
    return int(r * 255), int(g * 255), int(b * 255)


def foreground(hue: float, rng: np.random.Generator) -> tuple[int, int, int]:
    h = ((hue + rng.uniform(-HUE_JITTER, HUE_JITTER)) % 360) / 360
    r, g, b = colorsys.hsv_to_rgb(h, rng.uniform(0.75, 1.0), rng.uniform(0.8, 1.0))
    return int(r * 255), int(g * 255), int(b * 255)


def draw_shape(size: int, shape: str, colour: tuple, back: tuple, rng: np.random.Generator) -> Image.Image:
    """One ``size``-px image of ``shape``: half-width 22–38 % of the image, fully inside it."""
    big = size * SUPERSAMPLE
    img = Image.new("RGB", (big, big), back)
    half = rng.uniform(0.22, 0.38) * big
    cx, cy = rng.uniform(half + 1, big - half - 1, 2)
    box = (cx - half, cy - half, cx + half, cy + half)
    pen = ImageDraw.Draw(img)
    if shape == "circle":
        pen.ellipse(box, fill=colour)
    elif shape == "square":
        pen.rectangle(box, fill=colour)
    elif shape == "triangle":
        pen.polygon([(cx, cy - half), (cx + half, cy + half), (cx - half, cy + half)], fill=colour)
    else:
        raise ValueError(f"unknown shape {shape!r}; choose from {SHAPES}")
    return img.resize((size, size), Image.Resampling.LANCZOS)


def make_captioned_shapes(folder: Path | str, n: int, size: int = 32, seed: int = 0,
                          caption_source: str = "sidecar", colours=tuple(COLOURS), shapes=SHAPES) -> Path:
    """Write ``n`` captioned PNGs to ``folder`` (created); returns it. Image i shows combination
    i mod (colours × shapes), so the captions are balanced."""
    if caption_source not in CAPTION_SOURCES:
        raise ValueError(f"caption_source must be one of {CAPTION_SOURCES}, got {caption_source!r}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    combos = list(itertools.product(colours, shapes))
    for i in range(n):
        colour, shape = combos[i % len(combos)]
        image = draw_shape(size, shape, foreground(COLOURS[colour], rng), background(rng), rng)
        caption = f"a {colour} {shape}"
        if caption_source == "sidecar":
            image.save(folder / f"shape_{i:04d}.png")
            (folder / f"shape_{i:04d}.txt").write_text(caption + "\n", encoding="utf-8")
        elif caption_source == "filename":
            image.save(folder / f"{caption.replace(' ', '_')}_{i:04d}.png")
        else:
            (folder / caption).mkdir(exist_ok=True)
            image.save(folder / caption / f"img_{i:04d}.png")  # "img" is a camera prefix: no caption
    return folder


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folder")
    parser.add_argument("--n", type=int, default=360, help="number of images (default 360: 30 per caption)")
    parser.add_argument("--size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--caption-source", choices=CAPTION_SOURCES, default="sidecar")
    args = parser.parse_args(argv)
    out = make_captioned_shapes(args.folder, args.n, args.size, args.seed, args.caption_source)
    print(f"Wrote {args.n} captioned images to {out}")


if __name__ == "__main__":
    main()
