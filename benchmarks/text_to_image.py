#!/usr/bin/env python
"""Prompt adherence of GenStudio's text-to-image latent diffusion on captioned shapes, by guidance scale.

Writes a folder of captioned shapes (scripts/captioned_shapes.py: 4 colours × 3 shapes, "a red
circle"), trains the ``latent-diffusion`` preset on it through the real trainer (``python -m trainers``,
a child process with its own GENSTUDIO_HOME under --out), then draws K images per colour × shape prompt,
the same seeds at every guidance scale (default 1, 3, 5), and scores each image objectively:

- colour: the hue that most of the image's saturated pixels lie nearest to (backgrounds are unsaturated);
- shape: a nearest-centroid classifier on four numbers of the mask of that colour's pixels — how much
  of its bounding box it fills (square 1, circle π/4, triangle 1/2), its share in the box's top half
  (triangle ~1/4), and how full the box's top and bottom corners are (square ~1, circle ~0.3, triangle
  0 and ~0.8) — fitted on the training images, where both measures are checked too.

Prints one JSON object (accuracies per guidance and per prompt, chance levels, the measures' accuracy
on the training images, per-prompt diversity, timings) and writes ``prompt_adherence.png`` (one block
per guidance; rows = prompts, columns = seeds) and ``result.json`` to --out.

    OMP_NUM_THREADS=1 python benchmarks/text_to_image.py --out /tmp/t2i --quick   # smoke: ~1 min
    python benchmarks/text_to_image.py --out /tmp/t2i --threads 2                 # full: small preset
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.captioned_shapes import COLOURS, SHAPES, make_captioned_shapes, prompts  # noqa: E402

SATURATED, BRIGHT = 0.35, 0.2  # a pixel counts as shape colour above these saturation and value
MIN_PIXELS = 0.02  # below this share of saturated pixels an image has no colour (and no shape)
SEED = 1000  # column j of every grid uses seed SEED + j


# -- the measures ------------------------------------------------------------------------------
def hsv(images: np.ndarray) -> np.ndarray:
    """N×H×W×3 uint8 -> N×H×W×3 float HSV: hue in degrees, saturation and value in [0, 1]."""
    rgb = images.astype(np.float64) / 255
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    v, delta = rgb.max(-1), rgb.max(-1) - rgb.min(-1)
    safe = np.where(delta > 0, delta, 1)
    h = np.where(v == r, ((g - b) / safe) % 6, np.where(v == g, (b - r) / safe + 2, (r - g) / safe + 4)) * 60
    s = np.where(v > 0, delta / np.where(v > 0, v, 1), 0)
    return np.stack([np.where(delta > 0, h, 0), s, v], -1)


def hue_distance(h: np.ndarray, centre: float) -> np.ndarray:
    d = np.abs(h - centre) % 360
    return np.minimum(d, 360 - d)


def colour_masks(image_hsv: np.ndarray) -> tuple[str | None, np.ndarray]:
    """(the dominant named colour or None, the mask of the pixels of that colour)."""
    h, s, v = image_hsv[..., 0], image_hsv[..., 1], image_hsv[..., 2]
    saturated = (s > SATURATED) & (v > BRIGHT)
    if saturated.mean() < MIN_PIXELS:
        return None, np.zeros_like(saturated)
    names = list(COLOURS)
    nearest = np.argmin(np.stack([hue_distance(h, COLOURS[c]) for c in names]), 0)
    votes = np.bincount(nearest[saturated], minlength=len(names))
    best = int(votes.argmax())
    return names[best], saturated & (nearest == best)


def shape_features(mask: np.ndarray) -> np.ndarray:
    """Where the mask lies in its bounding box: its fill (square 1, circle π/4, triangle 1/2), its share
    in the top half (triangle ~1/4), and how full the box's top and bottom corners are (a quarter of
    each side): corners tell a square from a circle even when the square's edges are soft."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return np.full(4, np.nan)
    top, bottom, left, right = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    box = mask[top:bottom, left:right].astype(np.float64)
    ch, cw = max(1, round(box.shape[0] / 4)), max(1, round(box.shape[1] / 4))
    top_corners = (box[:ch, :cw].mean() + box[:ch, -cw:].mean()) / 2
    bottom_corners = (box[-ch:, :cw].mean() + box[-ch:, -cw:].mean()) / 2
    return np.array([box.mean(), (ys < (top + bottom) / 2).mean(), top_corners, bottom_corners])


def analyse(images: np.ndarray) -> tuple[list[str | None], np.ndarray]:
    """Each image's colour and shape features."""
    colours, features = [], []
    for image_hsv in hsv(images):
        colour, mask = colour_masks(image_hsv)
        colours.append(colour)
        features.append(shape_features(mask))
    return colours, np.array(features)


class ShapeClassifier:
    """Nearest centroid in ``shape_features``, standardised by the training images' spread."""

    def fit(self, features: np.ndarray, shapes: list[str]) -> ShapeClassifier:
        self.names = sorted(set(shapes))
        ok = ~np.isnan(features).any(1)
        self.scale = features[ok].std(0) + 1e-6
        self.centroids = np.stack([features[ok & (np.array(shapes) == n)].mean(0) for n in self.names])
        return self

    def predict(self, features: np.ndarray) -> list[str | None]:
        out = []
        for f in features:
            if np.isnan(f).any():
                out.append(None)
            else:
                out.append(self.names[int(np.argmin((((f - self.centroids) / self.scale) ** 2).sum(1)))])
        return out


def split_prompt(prompt: str) -> tuple[str, str]:
    _, colour, shape = prompt.split()
    return colour, shape


def score(images: np.ndarray, wanted: list[str], classifier: ShapeClassifier) -> dict:
    colours, features = analyse(images)
    shapes = classifier.predict(features)
    want_c, want_s = zip(*(split_prompt(p) for p in wanted))
    colour_ok = np.array([a == b for a, b in zip(colours, want_c)])
    shape_ok = np.array([a == b for a, b in zip(shapes, want_s)])
    per_prompt = {}
    for p in dict.fromkeys(wanted):
        rows = np.array([w == p for w in wanted])
        per_prompt[p] = {"colour": round(float(colour_ok[rows].mean()), 3), "shape": round(float(shape_ok[rows].mean()), 3),
                         "both": round(float((colour_ok & shape_ok)[rows].mean()), 3)}
    return {"colour_accuracy": round(float(colour_ok.mean()), 4), "shape_accuracy": round(float(shape_ok.mean()), 4),
            "both_accuracy": round(float((colour_ok & shape_ok).mean()), 4),
            "no_colour_found": int(sum(c is None for c in colours)), "per_prompt": per_prompt}


def diversity(images: np.ndarray, per_prompt: int) -> float:
    """Mean over prompts of the per-pixel std across that prompt's seeds (0-255 units)."""
    groups = images.reshape(-1, per_prompt, *images.shape[1:]).astype(np.float64)
    return round(float(groups.std(1).mean()), 2)


# -- training and sampling ---------------------------------------------------------------------
def train(args, data: Path, home: Path) -> dict:
    """Run the trainer as a child process; returns its last progress metrics and the wall time."""
    cmd = [sys.executable, "-m", "trainers", "latent-diffusion", "--data", str(data), "--name", args.name,
           "--preset", args.preset, "--device", args.device, "--events", "--overwrite", "--preview-every", "0"]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.steps:
        cmd += ["--steps", str(args.steps)]
    if args.ae_steps is not None:
        config = home / "override.toml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(f"[model]\nae_steps = {args.ae_steps}\n", encoding="utf-8")
        cmd += ["--config", str(config)]
    env = {**os.environ, "GENSTUDIO_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    t0, last, done = time.perf_counter(), {}, None
    with subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL) as proc:
        for line in proc.stdout:
            event = json.loads(line)
            if event["type"] == "progress":
                last = event
                if event["step"] % max(1, event["total"] // 20) == 0:
                    print(f"step {event['step']}/{event['total']} {event['metrics']}", file=sys.stderr, flush=True)
            elif event["type"] == "failed":
                raise SystemExit(f"training failed: {event['message']}")
            elif event["type"] == "done":
                done = event
    if proc.returncode or done is None:
        raise SystemExit(f"the trainer exited with {proc.returncode}")
    return {"train_seconds": round(time.perf_counter() - t0, 1), "steps": done["steps"],
            "final_metrics": last.get("metrics", {})}


def sample_all(model, wanted: list[str], per_prompt: int, guidance: float, steps: int) -> np.ndarray:
    from genstudio.core.events import drive

    seeds = [SEED + j for _ in range(len(wanted) // per_prompt) for j in range(per_prompt)]
    return drive(model.sample(n=len(wanted), seeds=seeds, prompts=wanted, guidance=guidance, steps=steps))


def figure(blocks: dict[float, np.ndarray], per_prompt: int, labels: list[str], path: Path) -> None:
    """One grid per guidance, side by side, each headed "guidance g"; rows = prompts, cols = seeds."""
    from PIL import Image, ImageDraw

    from genstudio.core.data.images import make_grid

    scale, head, label_w, gap = 3, 14, 110, 12
    grids = [make_grid(images, cols=per_prompt) for images in blocks.values()]
    grids = [g.resize((g.width * scale, g.height * scale), Image.Resampling.NEAREST) for g in grids]
    width = label_w + sum(g.width for g in grids) + gap * (len(grids) - 1)
    canvas = Image.new("RGB", (width, head + grids[0].height), "white")
    pen = ImageDraw.Draw(canvas)
    row_h = grids[0].height / len(labels)
    for i, label in enumerate(labels):
        pen.text((2, head + row_h * i + row_h / 2 - 5), label, fill="black")
    x = label_w
    for g, grid in zip(blocks, grids):
        pen.text((x + 2, 1), f"guidance {g:g}", fill="black")
        canvas.paste(grid, (x, head))
        x += grid.width + gap
    canvas.save(path)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--out", required=True, help="folder for the data, the model library, the figure and JSON")
    p.add_argument("--images", type=int, default=360, help="training images (default 360: 30 per prompt)")
    p.add_argument("--preset", default="small")
    p.add_argument("--steps", type=int, help="training steps (default: the preset's)")
    p.add_argument("--ae-steps", type=int, help="autoencoder steps (default: the preset's)")
    p.add_argument("--per-prompt", type=int, default=8, help="images per prompt and guidance (K seeds)")
    p.add_argument("--guidances", default="1,3,5")
    p.add_argument("--sample-steps", type=int, default=25, help="DDIM steps")
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: the default / OMP_NUM_THREADS)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--name", default="t2i-bench")
    p.add_argument("--skip-training", action="store_true", help="score the model already in --out/home")
    p.add_argument("--quick", action="store_true", help="smoke run: 96 images, 60 steps (30 autoencoder), 2 per prompt")
    args = p.parse_args(argv)
    if args.quick:
        args.images, args.steps, args.ae_steps = min(args.images, 96), args.steps or 60, 30 if args.ae_steps is None else args.ae_steps
        args.per_prompt, args.sample_steps = min(args.per_prompt, 2), min(args.sample_steps, 10)

    out = Path(args.out)
    home = out / "home"
    os.environ["GENSTUDIO_HOME"] = str(home)
    import torch

    from genstudio.core.data.images import load_image_folder
    from genstudio.core.registry import get
    from genstudio.core.store import ModelStore

    if args.threads:
        torch.set_num_threads(args.threads)
    data = out / "data"
    if not data.exists():
        make_captioned_shapes(data, args.images, seed=0)
    result = {"settings": {k: v for k, v in vars(args).items()}, "torch": torch.__version__,
              "threads": torch.get_num_threads(), "loadavg_1m": os.getloadavg()[0]}
    if not args.skip_training:
        result["training"] = train(args, data, home)

    # the measures, fitted and checked on the training images
    train_images, report = load_image_folder(data, 32)
    truth = [Path(f).with_suffix(".txt").read_text(encoding="utf-8").strip() for f in report.used]
    true_c, true_s = zip(*(split_prompt(t) for t in truth))
    colours, features = analyse(train_images)
    classifier = ShapeClassifier().fit(features, list(true_s))
    result["measures_on_training_images"] = score(train_images, truth, classifier)
    result["measures_on_training_images"].pop("per_prompt")
    result["chance"] = {"colour": 1 / len(COLOURS), "shape": 1 / len(SHAPES), "both": 1 / (len(COLOURS) * len(SHAPES))}

    card, tensors = ModelStore().load(args.name)
    spec = get(card["arch"])
    model = spec.build(spec.config_from(card["config"]))
    model.load_state_dict(tensors)
    model = model.to(args.device).eval()
    result["model"] = {"params": sum(p.numel() for p in model.parameters()), "vocab": card["config"]["vocab"],
                       "steps": card["steps"], "train_seconds": card.get("train_seconds")}

    all_prompts = prompts()
    wanted = [q for q in all_prompts for _ in range(args.per_prompt)]
    blocks, result["by_guidance"] = {}, {}
    for g in (float(x) for x in args.guidances.split(",")):
        t0 = time.perf_counter()
        images = sample_all(model, wanted, args.per_prompt, g, args.sample_steps)
        seconds = time.perf_counter() - t0
        blocks[g] = images
        result["by_guidance"][f"{g:g}"] = {**score(images, wanted, classifier), "diversity": diversity(images, args.per_prompt),
                                           "sample_seconds": round(seconds, 2)}
    figure(blocks, args.per_prompt, all_prompts, out / "prompt_adherence.png")
    result["figure"] = str(out / "prompt_adherence.png")
    (out / "result.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
