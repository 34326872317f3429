"""Image folders for training: a recursive scan that never crashes on a bad file.

Every candidate file is decoded once into one uint8 array (N×H×W×3), so later epochs read no files.
Files that cannot be used are skipped and listed with a reason in a ``DatasetReport`` that the CLI
prints and the UI shows before training starts. Conversions follow what an artist expects to see:
EXIF orientation applied, transparency composited on white, 16-bit scaled (not clipped) to 8-bit.
"""

from __future__ import annotations

import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageFile, ImageOps

from genstudio.core.errors import DatasetError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")
MAX_PIXELS = 8192 * 8192  # refuse decompression bombs before decoding (~67 megapixels)
ImageFile.LOAD_TRUNCATED_IMAGES = False  # a truncated file is a bad file, not a grey stripe


@dataclass
class SkippedFile:
    path: str
    reason: str


@dataclass
class DatasetReport:
    root: str
    used: list[str] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)
    image_size: int = 0
    notes: list[str] = field(default_factory=list)  # what the data says beyond pixels: classes, captions
    extra: dict = field(default_factory=dict)  # the same for the model card: {"classes": [...], ...}

    @property
    def found(self) -> int:
        return len(self.used) + len(self.skipped)

    def drop(self, indices: list[int], reason: str) -> None:
        """Move the used files at ``indices`` to the skipped list with ``reason``."""
        gone = set(indices)
        self.skipped += [SkippedFile(self.used[i], reason) for i in sorted(gone)]
        self.used = [p for i, p in enumerate(self.used) if i not in gone]

    def summary(self) -> dict:
        """What a model card records about its data."""
        return {"folder": self.root, "images": len(self.used), "skipped": len(self.skipped),
                "image_size": self.image_size, **self.extra}

    def to_text(self, max_listed: int = 50) -> str:
        lines = [f"Dataset {self.root}: {self.found} image file(s) found, {len(self.used)} usable, "
                 f"{len(self.skipped)} skipped."]
        lines += self.notes
        for item in self.skipped[:max_listed]:
            lines.append(f"  skipped {item.path}: {item.reason}")
        if len(self.skipped) > max_listed:
            lines.append(f"  ... and {len(self.skipped) - max_listed} more skipped")
        return "\n".join(lines)


def scan_image_files(root: Path) -> tuple[list[Path], list[SkippedFile]]:
    """Files with an image extension under ``root`` (sorted, recursive); folders named x.png skipped."""
    candidates: list[Path] = []
    skipped: list[SkippedFile] = []

    def on_error(err: OSError) -> None:
        skipped.append(SkippedFile(str(err.filename), f"cannot read folder: {err.strerror}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error):
        dirnames.sort()
        for name in dirnames:
            if name.lower().endswith(IMAGE_EXTENSIONS):
                skipped.append(SkippedFile(str(Path(dirpath, name)), "is a folder, not an image file"))
        for name in sorted(filenames):
            if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith("._"):
                candidates.append(Path(dirpath, name))
    return candidates, skipped


def _to_rgb(img: Image.Image) -> Image.Image:
    """Any Pillow mode to 8-bit RGB; transparency composited on white."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        arr = np.asarray(img, dtype=np.float64)
        top = 65535.0 if img.mode.startswith("I;16") or arr.max() > 255 else 255.0
        arr = np.clip(arr / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        img = Image.fromarray(arr, mode="L")
    if img.mode == "P" or img.mode == "PA":
        img = img.convert("RGBA")
    if img.mode in ("LA", "La", "RGBa"):
        img = img.convert("RGBA")
    if img.mode == "RGBA":
        white = Image.new("RGBA", img.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, img).convert("RGB")
    return img.convert("RGB")


def center_crop_resize(img: Image.Image, size: int) -> Image.Image:
    """Scale the short side to ``size`` and crop the centre square (what every trainer expects)."""
    return ImageOps.fit(img, (size, size), method=Image.Resampling.LANCZOS, centering=(0.5, 0.5))


def make_grid(images: np.ndarray, cols: int | None = None, gutter: int = 2) -> Image.Image:
    """N×H×W×3 uint8 -> one image, near-square, white gutters."""
    n, h, w, _ = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    canvas = np.full((rows * h + (rows - 1) * gutter, cols * w + (cols - 1) * gutter, 3), 255, np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, cols)
        canvas[r * (h + gutter):r * (h + gutter) + h, c * (w + gutter):c * (w + gutter) + w] = img
    return Image.fromarray(canvas)


def load_image(path: Path | str, size: int | None = None) -> np.ndarray:
    """Decode one file to H×W×3 uint8 (first frame of animations). Raises ValueError with a reason."""
    path = Path(path)
    try:
        if path.stat().st_size == 0:
            raise ValueError("empty file (0 bytes)")
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                width, height = img.size
                if width * height > MAX_PIXELS:
                    raise ValueError(f"image too large ({width}×{height} pixels; the limit is "
                                     f"{MAX_PIXELS // 1_000_000} megapixels)")
                img.seek(0)
                img.load()
                img = ImageOps.exif_transpose(img)
                img = _to_rgb(img)
    except ValueError:
        raise
    except PermissionError:
        raise ValueError("permission denied") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):  # the warning is raised as an error above
        raise ValueError("image too large (decompression bomb protection)") from None
    except Image.UnidentifiedImageError:
        raise ValueError("not an image Pillow can read (wrong extension or corrupt)") from None
    except (OSError, SyntaxError, EOFError) as err:
        raise ValueError(f"corrupt or truncated image ({err})") from None
    if size:
        img = center_crop_resize(img, size)
    return np.asarray(img, dtype=np.uint8).copy()


def is_grey(images: np.ndarray) -> bool:
    """Whether every pixel of these N×H×W×3 (or H×W×3) images has R = G = B."""
    return bool(np.array_equal(images[..., 0], images[..., 1]) and np.array_equal(images[..., 1], images[..., 2]))


def to_grayscale(images: np.ndarray) -> np.ndarray:
    """…×3 uint8 -> …×1 uint8 by ITU-R 601 luma (the weights of Pillow's "L" mode)."""
    luma = images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    return np.clip(np.round(luma), 0, 255).astype(np.uint8)[..., None]


def folder_is_grayscale(root: Path | str, sample: int = 64) -> bool:
    """Whether the folder's images are grey (R = G = B), judged on up to ``sample`` of them spread
    through it; unreadable files are ignored (the dataset report lists them later)."""
    candidates, _ = scan_image_files(Path(root))
    if not candidates:
        return False
    step = max(1, len(candidates) // sample)
    seen = 0
    for path in candidates[::step][:sample]:
        try:
            image = load_image(path)
        except ValueError:
            continue
        seen += 1
        if not is_grey(image):
            return False
    return seen > 0


def load_image_folder(root: Path | str, size: int) -> tuple[np.ndarray, DatasetReport]:
    """Every usable image under ``root`` as one N×size×size×3 uint8 array, plus the report."""
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"The folder '{root}' does not exist.")
    if not root.is_dir():
        raise DatasetError(f"'{root}' is a file, not a folder. Choose the folder that holds your images.")
    report = DatasetReport(root=str(root), image_size=size)
    candidates, report.skipped = scan_image_files(root)
    images = []
    for path in candidates:
        try:
            images.append(load_image(path, size))
            report.used.append(str(path))
        except ValueError as err:
            report.skipped.append(SkippedFile(str(path), str(err)))
    if not images:
        what = "no image files" if not candidates else "no usable images"
        raise DatasetError(
            f"The folder '{root}' has {what} ({', '.join(IMAGE_EXTENSIONS)}).\n{report.to_text()}",
        )
    return np.stack(images), report
