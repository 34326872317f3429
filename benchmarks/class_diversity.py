#!/usr/bin/env python
"""Variety within a class of class-conditional library models, against the training folder's own.

For each class of each ``--model``, draws ``--per-class`` images with that class chosen (seeds 0..K-1)
and measures their spread: the per-pixel standard deviation across the images, averaged over pixels,
on the [0, 1] scale. The same spread of K images of that class from the folder (class subfolders,
scaled to the model's size and channels) is the reference. A generator that ignores z within a class
(conditional mode collapse) scores near 0 against the folder's ~0.25 on MNIST digits; a model far above
the folder is drawing noise. Prints one JSON object and writes ``class_diversity.png`` (a row of seeds
per class, one block per model) to --out.

    python benchmarks/class_diversity.py --data build/demo-data/digits --model digits-dcgan --out /tmp/cd
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def spread(images: np.ndarray) -> float:
    """Mean over pixels of the standard deviation across images, images in uint8."""
    return float((images.astype(np.float64) / 255).std(0).mean())


def folder_images(folder: Path, size: int, channels: int, count: int) -> np.ndarray:
    from genstudio.core.data.images import load_image, scan_image_files, to_grayscale

    files, _ = scan_image_files(folder)
    images = np.stack([load_image(path, size) for path in files[:count]])
    return to_grayscale(images) if channels == 1 else images


def measure(name: str, data: Path, per_class: int) -> tuple[dict, np.ndarray]:
    from genstudio.core.events import drive
    from genstudio.tasks.generate import load_model

    card, model = load_model(name, "cpu")
    classes = card["config"].get("classes") or []
    if not classes:
        raise SystemExit(f"'{name}' was not trained with classes.")
    cfg, rows, result = model.config, [], {}
    seeds = list(range(per_class))
    for index, cls in enumerate(classes):
        made = drive(model.sample(seeds=seeds, label=index))
        real = folder_images(data / cls, cfg.image_size, cfg.channels, per_class)
        result[cls] = {"model": round(spread(made), 4), "folder": round(spread(real), 4)}
        rows.append(made)
    mean_model = float(np.mean([v["model"] for v in result.values()]))
    mean_folder = float(np.mean([v["folder"] for v in result.values()]))
    summary = {"arch": card["arch"], "steps": card.get("training", {}).get("steps"), "per_class": result,
               "mean_model": round(mean_model, 4), "mean_folder": round(mean_folder, 4),
               "ratio": round(mean_model / mean_folder, 3)}
    return summary, np.concatenate(rows)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, required=True, help="the training folder (one subfolder per class)")
    p.add_argument("--model", action="append", required=True, help="library model name (repeatable)")
    p.add_argument("--per-class", type=int, default=32)
    p.add_argument("--out", type=Path, default=Path("/tmp/class_diversity"))
    args = p.parse_args()
    from genstudio.core.data.images import make_grid

    args.out.mkdir(parents=True, exist_ok=True)
    results, blocks = {}, []
    for name in args.model:
        results[name], images = measure(name, args.data, args.per_class)
        shown = images.reshape(-1, args.per_class, *images.shape[1:])[:, :8].reshape(-1, *images.shape[1:])
        blocks.append(np.asarray(make_grid(np.repeat(shown, 3, -1) if shown.shape[-1] == 1 else shown, cols=8)))
    from PIL import Image

    Image.fromarray(np.concatenate(blocks, 1)).save(args.out / "class_diversity.png")
    print(json.dumps(results, indent=2))
    (args.out / "result.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
