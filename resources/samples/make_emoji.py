"""Render a small sample image set from the Noto Color Emoji font.

GenStudio ships this folder as a licensed, ready-made training set for trying
out small diffusion models: about 300 emoji, each a 64x64 RGBA PNG with a
transparent background, named by code point (``u1f600.png``). The set is
deliberately coherent but varied -- yellow smiley/emotion faces, animals
(faces first, then whole animals) and fruits/vegetables.

Source font: Debian's ``fonts-noto-color-emoji`` package (Noto Color Emoji by
Google; emoji artwork under the Apache License 2.0). See ``emoji/LICENSE.txt``.

Usage (from the repository root)::

    apt-get install fonts-noto-color-emoji
    python resources/samples/make_emoji.py [--out DIR] [--size N]

The output is deterministic: the same font and Pillow version give
byte-identical files on every run. Code points the font lacks are skipped
and listed on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT_PATH = "/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf"
# CBDT bitmap fonts only load at their native strike size (136x128 pixels).
FONT_SIZE = 109
CANVAS = 192  # generous, so no glyph is clipped before we crop it
MARGIN_FRACTION = 1 / 32  # transparent border on each side (2 px at 64 px)


def _span(first: int, last: int, *skip: int) -> list[int]:
    """Inclusive code point range, minus ``skip``."""
    return [cp for cp in range(first, last + 1) if cp not in skip]


# Yellow smiley / emotion faces, plus a few other face-like emoji.
FACES = (
    _span(0x1F600, 0x1F644)  # grinning face .. hushed face (incl. cat faces)
    + _span(0x1F648, 0x1F64A)  # see/hear/speak-no-evil monkeys
    + _span(0x1F910, 0x1F917)  # zipper-mouth face .. hugging face
    + _span(0x1F920, 0x1F92F, 0x1F926)  # cowboy hat .. exploding head, no facepalm
    + _span(0x1F970, 0x1F97A, 0x1F977)  # hearts .. pleading, no ninja
    + [0x1F9D0]  # face with monocle
    + _span(0x1FAE0, 0x1FAE8, 0x1FAE6, 0x1FAE7)  # melting .. shaking, no lip/bubbles
    + _span(0x1F479, 0x1F47F, 0x1F47C)  # ogre .. imp, no baby angel
    + [0x1F480, 0x1F4A9, 0x1F383]  # skull, pile of poo, jack-o-lantern
    + _span(0x1F31A, 0x1F31E)  # moon and sun faces
    + [0x2639, 0x263A]  # frowning face, smiling face
)

# Animal faces first, then whole animals for variety.
ANIMALS = (
    _span(0x1F42D, 0x1F43C, 0x1F433)  # mouse face .. panda (not spouting whale)
    + [0x1F43D, 0x1F981, 0x1F984, 0x1F98A]  # pig nose, lion, unicorn, fox
    + _span(0x1F400, 0x1F42C)  # rat .. dolphin
    + [0x1F43F, 0x1F54A, 0x1F577]  # chipmunk, dove, spider
    # crab .. guide dog, minus the faces above and the microbe
    + _span(0x1F980, 0x1F9AE, 0x1F981, 0x1F984, 0x1F98A, 0x1F9A0)
    + _span(0x1FAB0, 0x1FAB3)  # fly, worm, beetle, cockroach
    + [0x1FABC, 0x1FABF, 0x1FACE, 0x1FACF]  # jellyfish, goose, moose, donkey
)

FRUITS_AND_VEGETABLES = (
    _span(0x1F345, 0x1F353)  # tomato .. strawberry
    + [0x1F951, 0x1F952, 0x1F954, 0x1F955, 0x1F95D]  # avocado .. kiwi
    + [0x1F965, 0x1F966, 0x1F96C, 0x1F96D]  # coconut, broccoli, leafy green, mango
    + [0x1F9C4, 0x1F9C5, 0x1F95C, 0x1F330]  # garlic, onion, peanuts, chestnut
    + [0x1F33D, 0x1F336, 0x1F344, 0x1F360]  # corn, hot pepper, mushroom, sweet potato
    + [0x1FAD0, 0x1FAD1, 0x1FAD2, 0x1FAD8, 0x1FADA, 0x1FADB]  # blueberries .. pea pod
)


def code_points() -> list[int]:
    """All requested code points, de-duplicated, in a fixed order."""
    seen: dict[int, None] = {}
    for cp in FACES + ANIMALS + FRUITS_AND_VEGETABLES:
        seen.setdefault(cp, None)
    return list(seen)


def render_glyph(font: ImageFont.FreeTypeFont, cp: int) -> Image.Image | None:
    """Draw one emoji and crop it to its ink, or return None if it is missing."""
    canvas = Image.new("RGBA", (CANVAS, CANVAS), (0, 0, 0, 0))
    ImageDraw.Draw(canvas).text((24, 24), chr(cp), font=font, embedded_color=True)
    bbox = canvas.getchannel("A").getbbox()
    if bbox is None:  # not in the font's cmap: .notdef is an empty glyph here
        return None
    if bbox[0] == 0 or bbox[1] == 0 or bbox[2] == CANVAS or bbox[3] == CANVAS:
        raise RuntimeError(f"U+{cp:04X} touches the canvas edge; enlarge CANVAS")
    return canvas.crop(bbox)


def to_square(glyph: Image.Image, size: int) -> Image.Image:
    """Centre ``glyph`` on a transparent square with a margin, resized to ``size``."""
    side = max(glyph.size)
    pad = round(side * MARGIN_FRACTION / (1 - 2 * MARGIN_FRACTION))
    square = Image.new("RGBA", (side + 2 * pad, side + 2 * pad), (0, 0, 0, 0))
    square.paste(
        glyph, ((square.width - glyph.width) // 2, (square.height - glyph.height) // 2)
    )
    small = square.resize((size, size), Image.Resampling.LANCZOS)
    # Give fully transparent pixels a single colour: cleaner data, smaller files.
    opaque = small.getchannel("A").point(lambda a: 255 if a else 0)
    return Image.composite(small, Image.new("RGBA", small.size, (0, 0, 0, 0)), opaque)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("resources/samples/emoji"),
        help="output folder (default: %(default)s)",
    )
    parser.add_argument(
        "--size",
        type=int,
        default=64,
        help="width and height of each PNG in pixels (default: %(default)s)",
    )
    parser.add_argument("--font", default=FONT_PATH, help="path to NotoColorEmoji.ttf")
    args = parser.parse_args(argv)

    font = ImageFont.truetype(args.font, FONT_SIZE)
    args.out.mkdir(parents=True, exist_ok=True)
    written, skipped = 0, []
    for cp in code_points():
        glyph = render_glyph(font, cp)
        if glyph is None:
            skipped.append(cp)
            continue
        to_square(glyph, args.size).save(args.out / f"u{cp:04x}.png", optimize=True)
        written += 1

    print(f"wrote {written} images to {args.out}")
    if skipped:
        print(
            "skipped (not in font): " + " ".join(f"U+{cp:04X}" for cp in skipped),
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
