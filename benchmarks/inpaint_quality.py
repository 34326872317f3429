#!/usr/bin/env python
"""Inpainting quality on held-out images: the library's inpainting models beside OpenCV's Telea and mean fill.

Data, none of it seen by a model trained on the matching training split:

- ``mnist``: the last 2,000 of the 10,000 t10k digits in ../shared/data/mnist (the first 8,000 are
  the training split of likelihood.py and dit_vs_unet.py); 28×28 grey, scored as RGB.
- ``emoji``: resources/samples/emoji, every fifth file in name order held out (57 of 285); 64×64,
  transparency on white as the trainer loads them. ``--export-emoji-train DIR`` writes the other
  228 to DIR, a folder to train an emoji model on.

Masks per image: the centre square (half the side) and ``--boxes`` random boxes (sides a quarter to a
half of the image's, anywhere; seeded by image). Methods: each ``--model NAME`` from the library
(GENSTUDIO_HOME; ``NAME:mnist`` or ``NAME:emoji`` limits it to one data set) run through
``genstudio.tasks.inpaint`` exactly as the app runs it (one candidate, seed = image index, the
task's crop, scaling and feathered blend); ``cv2.inpaint`` with INPAINT_TELEA, radius 3; and mean
fill (each channel's mean over the known pixels). Metrics over the masked pixels only, all three
channels, on 0–255 levels: MAE and PSNR = 10·log10(255² / MSE) (capped at 100 dB), each the mean
over the (image, mask) cases. Prints one JSON object (also written to --out), then the same as a
Markdown table.

    .venv/bin/pip install opencv-python-headless        # or: pip install -e .[bench]
    OMP_NUM_THREADS=1 python benchmarks/inpaint_quality.py --images 100            # baselines only
    OMP_NUM_THREADS=1 python benchmarks/inpaint_quality.py --model mnist-ddpm:mnist --model emoji-ddpm:emoji
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import time

import numpy as np
import side_by_side  # benchmarks/: run as a script, its folder is on sys.path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from genstudio.core.data.images import load_image  # noqa: E402

DATASETS = ("mnist", "emoji")
EMOJI_DIR = os.path.join(ROOT, "resources", "samples", "emoji")
EMOJI_HELD_OUT = 5  # every fifth emoji (index % 5 == 4) is held out
MNIST_TRAIN, MNIST_TEST = 8000, 2000
TELEA_RADIUS = 3
PSNR_CAP = 100.0


def log(msg: str) -> None:
    print(f"[inpaint_quality {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


# -- data and masks -----------------------------------------------------------------------------
def emoji_files() -> tuple[list[str], list[str]]:
    """(training files, held-out files) of the emoji samples, by position in name order."""
    names = sorted(n for n in os.listdir(EMOJI_DIR) if n.lower().endswith(".png"))
    paths = [os.path.join(EMOJI_DIR, n) for n in names]
    held = [p for i, p in enumerate(paths) if i % EMOJI_HELD_OUT == EMOJI_HELD_OUT - 1]
    return [p for p in paths if p not in held], held


def load_dataset(name: str, count: int, mnist_path: str | None) -> list[np.ndarray]:
    """Up to ``count`` held-out images of one data set, each H×W×3 uint8."""
    if name == "emoji":
        return [load_image(p) for p in emoji_files()[1][:count]]
    from likelihood import find_mnist, load_idx_images  # benchmarks/likelihood.py: the same file, read in place

    digits = load_idx_images(find_mnist(mnist_path))[MNIST_TRAIN:MNIST_TRAIN + MNIST_TEST][:count]
    return [np.repeat(d[..., None], 3, axis=2) for d in digits]


def centre_mask(height: int, width: int) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    mask[height // 4:height // 4 + height // 2, width // 4:width // 4 + width // 2] = 255
    return mask


def random_box_mask(height: int, width: int, rng: np.random.Generator) -> np.ndarray:
    bh, bw = (int(rng.integers(side // 4, side // 2 + 1)) for side in (height, width))
    y0, x0 = int(rng.integers(0, height - bh + 1)), int(rng.integers(0, width - bw + 1))
    mask = np.zeros((height, width), np.uint8)
    mask[y0:y0 + bh, x0:x0 + bw] = 255
    return mask


def masks_for(image: np.ndarray, index: int, boxes: int, seed: int) -> list[tuple[str, np.ndarray]]:
    height, width = image.shape[:2]
    rng = np.random.default_rng([seed, index])
    return [("centre", centre_mask(height, width))] + [("box", random_box_mask(height, width, rng))
                                                        for _ in range(boxes)]


# -- methods ------------------------------------------------------------------------------------
def mean_fill(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    out = image.copy()
    known = mask <= 127
    out[~known] = np.round(image[known].reshape(-1, 3).mean(axis=0)).astype(np.uint8)
    return out


def telea(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    import cv2  # benchmark-only dependency (the `bench` extra)

    return cv2.inpaint(np.ascontiguousarray(image), (mask > 127).astype(np.uint8) * 255, TELEA_RADIUS,
                       cv2.INPAINT_TELEA)


class LibraryModel:
    """A library model through the app's inpaint task."""

    def __init__(self, name: str, args, device):
        from genstudio.tasks.inpaint import InpaintRequest

        self.name, self.device = name, device
        self.request = InpaintRequest(name, n=1, steps=args.steps, harmonize=args.harmonize, feather=args.feather)

    def __call__(self, image: np.ndarray, mask: np.ndarray, index: int) -> np.ndarray:
        from dataclasses import replace

        from genstudio.core.events import drive
        from genstudio.tasks.inpaint import inpaint

        return drive(inpaint(replace(self.request, seed=index), image, mask, self.device)).candidates[0]


# -- scoring ------------------------------------------------------------------------------------
def masked_errors(result: np.ndarray, truth: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """(MAE, PSNR in dB) over the masked pixels, all channels, 0–255 levels."""
    diff = result[mask > 127].astype(np.float64) - truth[mask > 127].astype(np.float64)
    mse = float((diff**2).mean())
    psnr = PSNR_CAP if mse == 0 else min(PSNR_CAP, 10 * np.log10(255.0**2 / mse))
    return float(np.abs(diff).mean()), psnr


def score(methods: dict, images: list[np.ndarray], dataset: str, boxes: int, seed: int) -> list[dict]:
    rows: dict[tuple[str, str], dict] = {}
    for index, image in enumerate(images):
        for kind, mask in masks_for(image, index, boxes, seed):
            for method, fill in methods.items():
                start = time.perf_counter()
                result = fill(image, mask, index)
                seconds = time.perf_counter() - start
                mae, psnr = masked_errors(result, image, mask)
                row = rows.setdefault((kind, method), {"mae": [], "psnr": [], "seconds": []})
                for key, value in (("mae", mae), ("psnr", psnr), ("seconds", seconds)):
                    row[key].append(value)
        if (index + 1) % 25 == 0:
            log(f"{dataset}: {index + 1}/{len(images)} images")
    return [{"dataset": dataset, "mask": kind, "method": method, "cases": len(v["mae"]),
             "mae": round(float(np.mean(v["mae"])), 3), "psnr_db": round(float(np.mean(v["psnr"])), 3),
             "ms_per_image": round(1000 * float(np.mean(v["seconds"])), 2)} for (kind, method), v in rows.items()]


def markdown(rows: list[dict]) -> str:
    lines = ["| data set | mask | method | masked MAE ↓ | masked PSNR (dB) ↑ | images × masks |",
             "|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["dataset"], r["mask"] != "centre", r["mask"], r["mae"])):
        lines.append(f"| {r['dataset']} | {r['mask']} | {r['method']} | {r['mae']:.2f} | {r['psnr_db']:.2f} | "
                     f"{r['cases']} |")
    return "\n".join(lines)


def parse_models(specs: list[str]) -> list[tuple[str, set[str]]]:
    """``NAME`` (every data set) or ``NAME:mnist`` / ``NAME:emoji``."""
    models = []
    for spec in specs:
        name, sep, only = spec.rpartition(":")
        if not sep or only not in DATASETS:
            name, only = spec, ""
        models.append((name, {only} if only else set(DATASETS)))
    return models


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", default=[], metavar="NAME[:DATASET]",
                    help="a library model that can inpaint (repeatable); :mnist or :emoji limits it to one data set")
    ap.add_argument("--datasets", default=",".join(DATASETS), help="comma-separated: mnist, emoji (default both)")
    ap.add_argument("--images", type=int, default=200, help="held-out images per data set (default 200)")
    ap.add_argument("--boxes", type=int, default=1, help="random-box masks per image, besides the centre (default 1)")
    ap.add_argument("--seed", type=int, default=0, help="seeds the random boxes")
    ap.add_argument("--steps", type=int, default=25, help="models: sampling (or optimisation) steps")
    ap.add_argument("--harmonize", type=int, default=2, help="diffusion models: resampling passes per step")
    ap.add_argument("--feather", type=int, default=8, help="the task's blend width (outside the mask: not scored)")
    ap.add_argument("--device", default="cpu", help="cpu (default), cuda, or auto")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--data", help="path to t10k-images-idx3-ubyte.gz (default: the shared data folder)")
    ap.add_argument("--export-emoji-train", metavar="DIR", help="copy the emoji training split to DIR and exit")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args()

    if args.export_emoji_train:
        os.makedirs(args.export_emoji_train, exist_ok=True)
        for path in emoji_files()[0]:
            shutil.copy2(path, args.export_emoji_train)
        log(f"wrote {len(emoji_files()[0])} emoji to {args.export_emoji_train}")
        return
    datasets = [d.strip() for d in args.datasets.split(",") if d.strip()]
    if set(datasets) - set(DATASETS):
        ap.error(f"unknown data sets {sorted(set(datasets) - set(DATASETS))}; choose from {','.join(DATASETS)}")
    models = parse_models(args.model)
    device = None
    if models:
        import torch

        from genstudio.core.devices import resolve_device

        if args.threads:
            torch.set_num_threads(args.threads)
        device = resolve_device(args.device)

    start, rows = time.perf_counter(), []
    for dataset in datasets:
        images = load_dataset(dataset, args.images, args.data)
        methods = {"mean fill": lambda image, mask, index: mean_fill(image, mask),
                   "opencv telea": lambda image, mask, index: telea(image, mask)}
        methods.update({name: LibraryModel(name, args, device) for name, only in models if dataset in only})
        log(f"{dataset}: {len(images)} held-out images, {1 + args.boxes} masks each, methods {list(methods)}")
        rows += score(methods, images, dataset, args.boxes, args.seed)

    import cv2

    result = {
        "benchmark": "inpaint_quality",
        "settings": {"datasets": datasets, "images": args.images, "boxes": args.boxes, "seed": args.seed,
                     "models": args.model, "steps": args.steps, "harmonize": args.harmonize, "feather": args.feather,
                     "device": str(device) if device else None, "telea_radius": TELEA_RADIUS,
                     "held_out": {"mnist": f"t10k images {MNIST_TRAIN}..{MNIST_TRAIN + MNIST_TEST - 1}",
                                  "emoji": f"every {EMOJI_HELD_OUT}th file in name order"}},
        "versions": {"python": platform.python_version(), "numpy": np.__version__, "opencv": cv2.__version__},
        "seconds": round(time.perf_counter() - start, 1),
        "rows": rows,
    }
    side_by_side.write_result(result, args.out)
    print()
    print(markdown(rows))


if __name__ == "__main__":
    main()
