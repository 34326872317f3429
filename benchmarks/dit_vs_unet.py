#!/usr/bin/env python
"""DiT against the UNet at equal parameter count on the same data: training and sampling speed and sample quality.

Both models are the registry's ``small`` preset (``ddpm``: UNet, ``dit``: diffusion transformer,
Peebles & Xie 2023) at 32×32 grayscale, ~6 M parameters each (printed), with the same diffusion
process (1000 steps, cosine schedule, v-prediction) and the same trainer recipe as
``trainers/loop.py``: AdamW, the preset's warmup + cosine ``lr_at`` schedule stretched over the
budget, gradient clipping, EMA weights (the ones sampled). Same batch, learning rate, seed, data
order and training noise for both. The budget is either wall-clock minutes or optimizer steps per
model (--minutes / --steps); the two train in alternating slices (ddpm, dit, dit, ddpm, ...) so load
on a shared machine hits both alike.

Data: the 10,000-image MNIST file in the shared data folder (read in place, never copied), padded
from 28 to 32 px with black: the first 8,000 images (--train-images) train, the last 2,000 are the
held-out reference for the quality metric. With --conditional the digit labels (t10k labels file)
make both models class-conditional, and samples draw their class from their seed (label -1).

Measured: parameters; training images/s; DDIM (η = 0, 25 steps) sampling images/s of the EMA
model; and sample quality from ``genstudio.models.quality``: Fréchet distance and KID between the
features of the samples and of the held-out images, in the space of a small encoder trained
self-supervised on the training images (comparable within one run only, NOT the Inception FID of
papers; the real-vs-real distance of training vs held-out images is printed as the floor), and
the memorisation check's nearest-neighbour ratio to the training images. Prints one JSON object;
asserts no targets.

    OMP_NUM_THREADS=1 python benchmarks/dit_vs_unet.py [--minutes M | --steps N] [--samples N]
                                                       [--conditional] [--device cpu|cuda|auto] [--out FILE.json]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import gzip
import math
import os
import platform
import statistics
import struct
import sys
import time
import traceback

import numpy as np
import side_by_side  # benchmarks/: run as a script, its folder is on sys.path
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from genstudio.core import config as configlib  # noqa: E402
from genstudio.core import registry  # noqa: E402
from genstudio.core.events import drive  # noqa: E402
from trainers.images import ImageData, make_batch  # noqa: E402
from trainers.loop import DataStream, TrainConfig, lr_at, update_ema  # noqa: E402

MNIST = {"images": os.path.join("mnist", "t10k-images-idx3-ubyte.gz"),
         "labels": os.path.join("mnist", "t10k-labels-idx1-ubyte.gz")}
DATA_DIRS = (os.path.join(ROOT, "..", "shared", "data"), "/work/shared/data")
N_HELD_OUT = 2000  # the last images of the file: the quality metric's real reference
SIZE, PAD = 32, 2  # MNIST's 28 px padded to 32 (the size both presets train at)
MODELS = ("ddpm", "dit")
PRESET = "small"
SAMPLE_SEED = 10_000  # sample i uses seed SAMPLE_SEED + i, for both models
UNUSED_TRAIN_SETTINGS = ("preview_every", "preview_count", "checkpoint_every", "grad_accum")  # not reported


def log(msg: str) -> None:
    print(f"[dit_vs_unet {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def r4(x):
    return None if x is None else round(float(x), 4)


# -- data ---------------------------------------------------------------------------------------
def find_file(key: str, data_dir: str | None) -> str:
    dirs = [data_dir] if data_dir else DATA_DIRS
    for d in dirs:
        path = os.path.join(d, MNIST[key])
        if os.path.exists(path):
            return os.path.abspath(path)
    raise SystemExit(f"MNIST {key} not found under {dirs}; pass --data DIR (the folder holding mnist/)")


def read_idx(path: str) -> np.ndarray:
    """An idx1 (labels) or idx3 (images) file as a uint8 array."""
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    magic, n = struct.unpack(">II", raw[:8])
    if magic == 2049:
        return np.frombuffer(raw, np.uint8, count=n, offset=8)
    if magic == 2051:
        rows, cols = struct.unpack(">II", raw[8:16])
        return np.frombuffer(raw, np.uint8, count=n * rows * cols, offset=16).reshape(n, rows, cols)
    raise ValueError(f"{path}: not an idx file (magic {magic})")


class Data:
    """Training images (N×32×32×1 uint8, labels when conditional) and the held-out reference images."""

    def __init__(self, data_dir: str | None, train_images: int, conditional: bool):
        self.path = find_file("images", data_dir)
        images = read_idx(self.path)
        if train_images + N_HELD_OUT > len(images):
            raise SystemExit(f"--train-images can be at most {len(images) - N_HELD_OUT}")
        padded = np.pad(images, ((0, 0), (PAD, PAD), (PAD, PAD)))[..., None]  # black border, N×32×32×1
        self.train = padded[:train_images]
        self.held_out = padded[-N_HELD_OUT:]
        labels = torch.from_numpy(read_idx(find_file("labels", data_dir))[:train_images].astype(np.int64)) \
            if conditional else None
        self.image_data = ImageData(torch.from_numpy(self.train.copy()), labels)
        self.classes = tuple(str(d) for d in range(10)) if conditional else ()

    def describe(self) -> str:
        return (f"MNIST {os.path.basename(self.path)}: first {len(self.train)} images train, last {N_HELD_OUT} "
                f"held out (quality reference); 28x28 padded to {SIZE}x{SIZE}x1 with black"
                + ("; class-conditional on the digit labels" if self.classes else "; unconditional"))


# -- training: the trainer's recipe, interleaved in slices ----------------------------------------
def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class Run:
    """Trains one model as trainers.loop.Trainer does (DataStream order, make_batch, AdamW, lr_at,
    clipping, EMA, bf16/fp16 autocast on CUDA). The preset schedule is stretched over the budget:
    at progress p (elapsed / budget seconds, or step / budget steps) the lr is lr_at(⌊p · steps⌋)."""

    def __init__(self, name: str, model, cfg: TrainConfig, data: Data, budget: float, by_steps: bool, device):
        self.name, self.model, self.cfg, self.data = name, model, cfg, data
        self.budget, self.by_steps, self.device = budget, by_steps, device
        self.ema = copy.deepcopy(model).eval().requires_grad_(False)
        self.opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=tuple(cfg.betas),
                                     weight_decay=cfg.weight_decay)
        self.noise = torch.Generator(device).manual_seed(cfg.seed)
        self.stream = DataStream(len(data.image_data), cfg.seed)
        self.step, self.elapsed, self.losses, self.slices = 0, 0.0, [], []
        self.error: str | None = None
        self._last_log = 0.0
        self.scaler = torch.amp.GradScaler("cuda", enabled=device.type == "cuda" and cfg.mixed_precision
                                           and not torch.cuda.is_bf16_supported())
        model.train()

    @property
    def progress(self) -> float:
        return (self.step if self.by_steps else self.elapsed) / self.budget

    @property
    def done(self) -> bool:
        return self.error is not None or self.progress >= 1

    def autocast(self):
        if self.device.type == "cuda" and self.cfg.mixed_precision:
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            return torch.autocast("cuda", dtype=dtype)
        return contextlib.nullcontext()

    def train_slice(self, amount: float) -> None:
        """Train ``amount`` more seconds (or steps, with a step budget), or to the end of the budget."""
        if self.done:
            return
        cfg, steps0, elapsed0 = self.cfg, self.step, self.elapsed
        end = min(1.0, self.progress + amount / self.budget)
        scaler = self.scaler
        try:
            while self.progress < end - 1e-12:
                synchronize(self.device)
                t0 = time.perf_counter()
                for group in self.opt.param_groups:
                    group["lr"] = lr_at(int(self.progress * cfg.steps), cfg)
                batch = make_batch(self.data.image_data, self.stream.next_indices(cfg.batch_size), self.noise,
                                   cfg, self.device)
                x, cond = batch if isinstance(batch, tuple) else (batch, {})
                with self.autocast():
                    loss, metrics = self.model.training_loss(x, self.noise, **cond)
                if not math.isfinite(metrics["loss"]):
                    raise FloatingPointError(f"the loss became {metrics['loss']} at step {self.step + 1}")
                scaler.scale(loss).backward()
                scaler.unscale_(self.opt)
                if cfg.grad_clip:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                scaler.step(self.opt)
                scaler.update()
                self.opt.zero_grad(set_to_none=True)
                self.step += 1
                update_ema(self.ema, self.model, min(cfg.ema_decay, (1 + self.step) / (10 + self.step)))
                synchronize(self.device)
                self.elapsed += time.perf_counter() - t0
                self.losses.append(metrics["loss"])
                if self.elapsed - self._last_log > 30 or self.done:
                    self._last_log = self.elapsed
                    log(f"{self.name}: step {self.step}, {self.elapsed:.0f} s, progress {self.progress:.0%}, "
                        f"loss {statistics.fmean(self.losses[-50:]):.4f}, lr {self.opt.param_groups[0]['lr']:.2e}")
        except Exception as e:  # noqa: BLE001 - recorded in the report, the other model goes on
            self.error = f"{type(e).__name__}: {e}"
            log(f"{self.name}: training failed at step {self.step}: {self.error}")
        if self.step > steps0:
            self.slices.append({"steps": self.step - steps0, "seconds": round(self.elapsed - elapsed0, 3)})

    def summary(self) -> dict:
        images = self.step * self.cfg.batch_size
        return {"steps": self.step, "images_seen": images, "epochs": r4(images / len(self.data.image_data)),
                "train_seconds": round(self.elapsed, 2),
                "train_images_per_s": r4(images / self.elapsed) if self.elapsed else None,
                "final_loss_mean_last_50": r4(statistics.fmean(self.losses[-50:])) if self.losses else None,
                "slices": self.slices}


def paired_ratio(a: list[dict], b: list[dict]) -> float | None:
    """Median over slices of (a's steps/s) / (b's steps/s): slice i of each ran back to back."""
    ratios = [(x["steps"] / x["seconds"]) / (y["steps"] / y["seconds"])
              for x, y in zip(a, b) if x["seconds"] > 0 and y["seconds"] > 0]
    return r4(statistics.median(ratios)) if ratios else None


# -- sampling and quality -------------------------------------------------------------------------
def sample(model, n: int, batch: int, steps: int, guidance: float, device) -> tuple[np.ndarray, float]:
    """n images (seeds SAMPLE_SEED + i) with DDIM η = 0 in ``steps`` steps; returns (images, seconds)."""
    options = {"steps": steps, "sampler": "ddim", "eta": 0.0, "label": -1, "guidance": guidance}
    drive(model.sample(n=min(2, n), seed=SAMPLE_SEED, **{**options, "steps": 2}))  # warm-up
    chunks, seconds = [], 0.0
    for start in range(0, n, batch):
        synchronize(device)
        t0 = time.perf_counter()
        chunks.append(drive(model.sample(n=min(batch, n - start), seed=SAMPLE_SEED + start, **options)))
        synchronize(device)
        seconds += time.perf_counter() - t0
    return np.concatenate(chunks), seconds


def quality(encoder, quality_lib, real_features: np.ndarray, train: tuple, images: np.ndarray) -> dict:
    """Fréchet distance and KID to the held-out images; the nearest-neighbour ratio to the training
    images (≈ 1: fresh samples, ≪ 1: copies, > 1: unlike the data)."""
    fake = encoder.features(images)
    kid_mean, kid_std = quality_lib.kid(real_features, fake)
    copies = quality_lib.memorization(fake, train[0], train_nn=train[1])
    return {"frechet_distance": r4(quality_lib.frechet_distance(real_features, fake)),
            "kid": r4(kid_mean), "kid_std": r4(kid_std), "nn_ratio_to_train": r4(copies["nn_ratio"]),
            "near_copies": copies["near_copies"], "near_copies_expected": copies["near_copies_expected"]}


def save_grid(images: np.ndarray, path: str) -> None:
    from genstudio.core.data.images import make_grid
    make_grid(images[:64]).save(path)


# -- driver -------------------------------------------------------------------------------------
def build(name: str, classes: tuple[str, ...], device):
    spec = registry.get(name)
    cfg = spec.model_config(PRESET, {"image_size": SIZE, "channels": 1, "classes": classes})
    torch.manual_seed(0)
    return cfg, spec.build(cfg).to(device)


def train_config(args) -> TrainConfig:
    """The ddpm small preset's recipe for both (dit's small preset has the same), no flips (digits)."""
    settings = registry.get("ddpm").train_settings(PRESET)
    overrides = {"hflip": False, "seed": args.seed, "batch_size": args.batch or settings["batch_size"],
                 "lr": args.lr or settings["lr"]}
    return configlib.from_dict(TrainConfig, {**settings, **overrides}, what="training setting")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    budget = ap.add_mutually_exclusive_group()
    budget.add_argument("--minutes", type=float, help="training wall-clock budget per model (default 10)")
    budget.add_argument("--steps", type=int, help="training steps per model (instead of a wall-clock budget)")
    ap.add_argument("--batch", type=int, help="training batch (default: the small preset's, 32)")
    ap.add_argument("--lr", type=float, help="peak learning rate (default: the small preset's, 3e-4)")
    ap.add_argument("--seed", type=int, default=0, help="model init, data order and training noise (default 0)")
    ap.add_argument("--train-images", type=int, default=8000, help="first N MNIST images train (default 8000)")
    ap.add_argument("--conditional", action="store_true", help="class-conditional on the digit labels")
    ap.add_argument("--guidance", type=float, default=1.0, help="classifier-free guidance when sampling (default 1)")
    ap.add_argument("--samples", type=int, default=1000, help="images sampled per model for the metric (default 1000)")
    ap.add_argument("--sample-steps", type=int, default=25, help="DDIM steps (default 25)")
    ap.add_argument("--sample-batch", type=int, default=100, help="images per sampler call (default 100)")
    ap.add_argument("--encoder-steps", type=int, default=300, help="feature encoder training steps (default 300)")
    ap.add_argument("--slice", type=float, default=None,
                    help="seconds (or steps, with --steps) per alternating slice (default 20 s / 50 steps)")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's own, i.e. OMP_NUM_THREADS)")
    ap.add_argument("--device", default="cpu", help="cpu (default), cuda, or auto")
    ap.add_argument("--data", help="folder holding mnist/ (default: the shared data folder)")
    ap.add_argument("--grids", metavar="DIR", help="also save an 8x8 grid of each model's samples here")
    ap.add_argument("--out", help="also write the JSON here")
    args = ap.parse_args()
    by_steps = args.steps is not None
    amount = args.steps if by_steps else (args.minutes if args.minutes is not None else 10.0) * 60
    if amount <= 0 or args.samples < 2:
        ap.error("the budget must be positive and --samples at least 2")
    slice_amount = args.slice or (50 if by_steps else 20.0)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    t_start, load_start = time.perf_counter(), os.getloadavg()

    from genstudio.models import quality as quality_lib
    data = Data(args.data, args.train_images, args.conditional)
    cfg = train_config(args)
    log(f"{data.describe()}; device {device}, {torch.get_num_threads()} threads; budget "
        f"{amount:g} {'steps' if by_steps else 's'} per model")

    runs, results = [], {}
    for name in MODELS:
        model_cfg, model = build(name, data.classes, device)
        n_params = sum(p.numel() for p in model.parameters())
        results[name] = {"params": n_params, "config": configlib.to_dict(model_cfg)}
        log(f"{name}: {n_params:,} parameters")
        runs.append(Run(name, model, cfg, data, amount, by_steps, device))
    k = 0
    while not all(r.done for r in runs):
        for r in runs if k % 2 == 0 else runs[::-1]:
            r.train_slice(slice_amount)
        k += 1

    t0 = time.perf_counter()
    encoder = quality_lib.train_feature_encoder(data.train, seed=0, steps=args.encoder_steps, device=device)
    real = encoder.features(data.held_out)
    train_feats = encoder.features(data.train)
    train = (train_feats, quality_lib.nearest(train_feats, train_feats, exclude_self=True)[0])
    floor = {"frechet_distance": r4(quality_lib.frechet_distance(real, train_feats[:N_HELD_OUT])),
             "kid": r4(quality_lib.kid(real, train_feats[:N_HELD_OUT])[0])}
    encoder_info = {"steps": args.encoder_steps, "seconds": round(time.perf_counter() - t0, 1),
                    "trained_on": len(data.train), "real_vs_real_train_vs_held_out": floor}
    log(f"feature encoder: {encoder_info['seconds']} s; real-vs-real floor {floor}")

    for r in runs:
        out = results[r.name]
        out["train"] = r.summary()
        if r.error:
            out["error"] = r.error
            if r.step == 0:
                continue
        try:
            images, seconds = sample(r.ema, args.samples, args.sample_batch, args.sample_steps, args.guidance, device)
            out["sample"] = {"images": len(images), "seconds": round(seconds, 2),
                             "images_per_s": r4(len(images) / seconds)}
            out["quality_vs_held_out"] = quality(encoder, quality_lib, real, train, images)
            if args.grids:
                os.makedirs(args.grids, exist_ok=True)
                save_grid(images, os.path.join(args.grids, f"{r.name}.png"))
            log(f"{r.name}: {out['sample']['images_per_s']} images/s sampling; {out['quality_vs_held_out']}")
        except Exception as e:  # noqa: BLE001
            out["error"] = f"sampling/quality: {type(e).__name__}: {e}"
            out["traceback"] = traceback.format_exc(limit=6)[-2000:]
            log(f"{r.name}: {out['error']}")

    ddpm, dit = results["ddpm"], results["dit"]
    ratios = {"params": r4(dit["params"] / ddpm["params"])}
    with contextlib.suppress(KeyError, TypeError, ZeroDivisionError):
        ratios["train_images_per_s"] = r4(dit["train"]["train_images_per_s"] / ddpm["train"]["train_images_per_s"])
        ratios["train_images_per_s_paired"] = paired_ratio(dit["train"]["slices"], ddpm["train"]["slices"])
        ratios["sample_images_per_s"] = r4(dit["sample"]["images_per_s"] / ddpm["sample"]["images_per_s"])
        ratios["frechet_distance"] = r4(dit["quality_vs_held_out"]["frechet_distance"]
                                        / ddpm["quality_vs_held_out"]["frechet_distance"])
    result = {
        "benchmark": "dit vs ddpm (UNet) at equal parameters, same data, same recipe",
        "data": data.describe(),
        "setting": {"preset": PRESET, "image": f"{SIZE}x{SIZE}x1", "budget": amount,
                    "budget_unit": "steps" if by_steps else "seconds", "slice": slice_amount,
                    "train": {k: v for k, v in configlib.to_dict(cfg).items() if k not in UNUSED_TRAIN_SETTINGS},
                    "schedule": "lr_at (preset warmup + cosine) stretched over the budget",
                    "sampler": f"DDIM eta 0, {args.sample_steps} steps, EMA weights, guidance {args.guidance}",
                    "samples": args.samples, "sample_batch": args.sample_batch,
                    "quality": "genstudio.models.quality: Frechet distance / KID in the features of an encoder "
                               "trained on the training images; comparable within this run only"},
        "feature_encoder": encoder_info,
        "models": results,
        "ratios_dit_over_ddpm": {**ratios, "note": "images/s: higher is better; Frechet distance: lower is better"},
        "torch": torch.__version__, "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine(),
        "threads": torch.get_num_threads(), "cpu_count": os.cpu_count(),
        "loadavg_1m": {"start": load_start[0], "end": os.getloadavg()[0]},
        "wall_seconds": round(time.perf_counter() - t_start, 1),
    }
    side_by_side.write_result(result, args.out)


if __name__ == "__main__":
    main()
