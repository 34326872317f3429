#!/usr/bin/env python
"""Test likelihood on MNIST after a fixed wall-clock budget: GenStudio's models beside the papers, and Glow beside normflows.

Data: the 10,000-image MNIST file in the shared data folder (the t10k set; there is no training
file here): the first 8,000 images train, the last 2,000 test (--eval-images takes the first N of
those). Two protocols, as in the literature:

- binarized (``pixelcnn``, ``gated-pixelcnn``, ``pixelrnn``, ``vae``): Bernoulli output, trained on
  dynamically binarized digits (each batch drawn afresh by the model's ``training_loss``), tested on
  the test set binarized ONCE stochastically with a fixed seed; NLL in nats per image. The VAE's is
  the importance-weighted bound (IWAE, k = 1000 when the estimated time allows, else 200).
- 8-bit dequantized (``nice``, ``realnvp``, ``glow``): bits/dim of the discrete image under uniform
  dequantization, averaged over a few random u ~ U[0, 1)^D (what papers report, and what the app's
  ``negative_log_likelihood`` computes over fixed draws), and at u = 1/2 for reference.

Every model is the registry's ``small`` preset (28 px, 1 channel), trained as ``trainers/loop.py``
trains it (AdamW with the preset's lr, batch, betas and weight decay; its warmup + cosine ``lr_at``
schedule, stretched over the budget by elapsed time; gradient clipping; EMA weights, which are the
ones evaluated) for --minutes of training each. The peer, a normflows Glow with the same levels,
steps per level and hidden width, trains in the same process, interleaved slice by slice with our
Glow (ours, peer, peer, ours, ...), so load on a shared machine hits both alike; same data order,
dequantization noise, optimizer, schedule, clipping, EMA and budget. Prints one JSON object.

    OMP_NUM_THREADS=1 python benchmarks/likelihood.py [--minutes M] [--models a,b,c] [--threads N]
                                                      [--eval-images N] [--out FILE.json]
"""

from __future__ import annotations

import argparse
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
import warnings

import numpy as np
import side_by_side  # benchmarks/: run as a script, its folder is on sys.path
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from genstudio.core import config as configlib  # noqa: E402
from genstudio.core import registry  # noqa: E402
from genstudio.models import common  # noqa: E402
from trainers.images import make_batch  # noqa: E402
from trainers.loop import DataStream, TrainConfig, lr_at, update_ema  # noqa: E402

MNIST_FILE = os.path.join("mnist", "t10k-images-idx3-ubyte.gz")
DATA_DIRS = (os.path.join(ROOT, "..", "shared", "data"), "/work/shared/data")
N_TRAIN, N_TEST = 8000, 2000
SEED = 0  # model init, data order and training noise (TrainConfig.seed)
TEST_BINARIZE_SEED = 1234  # the one stochastic binarization of the test set
DEQUANT_SEEDS = 100  # random-dequantization draws use seeds 100, 101, ...
PRESET = "small"
EVAL_BATCH = 100
IWAE_BATCH = 16  # test images per IWAE call: with 256 decoder images a chunk, 16 samples per pass

BINARIZED = ("pixelcnn", "gated-pixelcnn", "pixelrnn", "vae")
DEQUANTIZED = ("nice", "realnvp", "glow")
ALL_MODELS = BINARIZED + DEQUANTIZED
OVERRIDES = {name: {"image_size": 28, "channels": 1, "output": "bernoulli"} for name in BINARIZED[:3]}
OVERRIDES["vae"] = {"image_size": 28, "channels": 1, "likelihood": "bernoulli"}
OVERRIDES.update({name: {"image_size": 28, "channels": 1} for name in DEQUANTIZED})

TRAINED_ON_60K = "trained on the full 60k MNIST training set for far longer than this budget"
ANCHORS = {  # ../shared/docs/BENCHMARKS.md
    "pixelcnn": {"value": 81.45, "unit": "nats", "source": "PixelCNN (van den Oord et al. 2016)"},
    "gated-pixelcnn": {"value": 81.50, "unit": "nats", "source": "Gated PixelCNN (van den Oord et al. 2016)"},
    "pixelrnn": None,
    "vae": {"value": 86.77, "unit": "nats", "bound": "<=", "source": "VAE (importance-weighted bound)"},
    "nice": None,
    "realnvp": {"value": 1.06, "unit": "bits/dim", "source": "RealNVP (Dinh et al. 2016)"},
    "glow": {"value": 1.05, "unit": "bits/dim", "source": "Glow (Kingma & Dhariwal 2018)"},
}
NO_ANCHOR = {"pixelrnn": "no anchor in BENCHMARKS.md for the Row LSTM on binarized MNIST",
             "nice": "NICE reports a continuous-data log-likelihood on MNIST, not bits/dim of 8-bit data"}


def log(msg: str) -> None:
    print(f"[likelihood {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def r4(x):
    return None if x is None else round(float(x), 4)


# -- data ---------------------------------------------------------------------------------------
def find_mnist(path: str | None) -> str:
    candidates = [path] if path else [os.path.join(d, MNIST_FILE) for d in DATA_DIRS]
    for c in candidates:
        if c and os.path.exists(c):
            return os.path.abspath(c)
    raise SystemExit(f"MNIST not found (looked at {candidates}); pass --data PATH/t10k-images-idx3-ubyte.gz")


def load_idx_images(path: str) -> np.ndarray:
    with gzip.open(path, "rb") as fh:
        raw = fh.read()
    magic, n, rows, cols = struct.unpack(">IIII", raw[:16])
    if magic != 2051:
        raise ValueError(f"{path}: not an idx3 image file (magic {magic})")
    return np.frombuffer(raw, np.uint8, count=n * rows * cols, offset=16).reshape(n, rows, cols)


class Data:
    """Train images as N×H×W×1 uint8 (what trainers.images.make_batch cuts batches from); test
    images as (N, 1, H, W) in [-1, 1], 8-bit and once-binarized ({-1, 1})."""

    def __init__(self, path: str, eval_images: int, device: torch.device):
        images = load_idx_images(path)
        if len(images) < N_TRAIN + N_TEST:
            raise ValueError(f"{path} holds {len(images)} images, need {N_TRAIN + N_TEST}")
        self.path = path
        self.train = torch.from_numpy(images[:N_TRAIN].copy())[..., None]  # N, 28, 28, 1 uint8
        test = torch.from_numpy(images[-N_TEST:][:eval_images].copy())[:, None].float()  # N, 1, 28, 28 in 0..255
        self.test_8bit = (test / 127.5 - 1).to(device)
        gen = torch.Generator().manual_seed(TEST_BINARIZE_SEED)
        bits = (torch.rand(test.shape, generator=gen) < test / 255).float()  # P(1) = intensity
        self.test_binary = (bits * 2 - 1).to(device)  # thresholding this in the models is the identity

    def describe(self) -> str:
        return (f"MNIST {os.path.basename(self.path)} (10k images): first {N_TRAIN} train, "
                f"{len(self.test_8bit)} of the last {N_TEST} test; 28x28x1. Binarized models: dynamic "
                f"binarization in training, test binarized once stochastically (seed {TEST_BINARIZE_SEED}); "
                "flows: 8-bit, uniform dequantization")


# -- one training run: the trainer's recipe, on a wall-clock budget -------------------------------
class Run:
    """Trains ``model`` by ``loss_fn(model, batch, noise) -> (loss, metrics)`` the way
    trainers.loop.Trainer does (same DataStream order, make_batch, AdamW, lr_at, clipping, EMA), in
    slices of wall time. The preset's schedule (warmup then cosine over ``cfg.steps``) is stretched
    over the budget: at elapsed training time t the lr is lr_at(⌊t / budget · steps⌋)."""

    def __init__(self, name: str, model, loss_fn, cfg: TrainConfig, data: Data, budget_s: float, device):
        self.name, self.model, self.loss_fn, self.cfg = name, model, loss_fn, cfg
        self.data, self.budget, self.device = data, budget_s, device
        self.ema = copy.deepcopy(model).eval().requires_grad_(False)
        self.opt = torch.optim.AdamW(model.parameters(), lr=cfg.lr, betas=tuple(cfg.betas),
                                     weight_decay=cfg.weight_decay)
        self.noise = torch.Generator(device).manual_seed(cfg.seed)
        self.stream = DataStream(len(data.train), cfg.seed)
        self.step, self.elapsed, self.losses, self.slices = 0, 0.0, [], []
        self.error: str | None = None
        self._last_log = 0.0
        model.train()

    @property
    def done(self) -> bool:
        return self.error is not None or self.elapsed >= self.budget

    def train_for(self, seconds: float) -> None:
        if self.done:
            return
        cfg, target = self.cfg, min(self.budget, self.elapsed + seconds)
        steps0, elapsed0 = self.step, self.elapsed
        try:
            while self.elapsed < target:
                t0 = time.perf_counter()
                for group in self.opt.param_groups:
                    group["lr"] = lr_at(int(self.elapsed / self.budget * cfg.steps), cfg)
                idx = self.stream.next_indices(cfg.batch_size)
                batch = make_batch(self.data.train, idx, self.noise, cfg, self.device)
                loss, metrics = self.loss_fn(self.model, batch, self.noise)
                if not math.isfinite(metrics["loss"]):
                    raise FloatingPointError(f"the loss became {metrics['loss']} at step {self.step + 1}")
                loss.backward()
                if cfg.grad_clip:
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
                self.opt.step()
                self.opt.zero_grad(set_to_none=True)
                self.step += 1
                update_ema(self.ema, self.model, min(cfg.ema_decay, (1 + self.step) / (10 + self.step)))
                self.elapsed += time.perf_counter() - t0
                self.losses.append(metrics["loss"])
                if self.elapsed - self._last_log > 30 or self.elapsed >= self.budget:
                    self._last_log = self.elapsed
                    log(f"{self.name}: step {self.step}, {self.elapsed:.0f}/{self.budget:.0f} s, "
                        f"loss {statistics.fmean(self.losses[-20:]):.4f}, lr {self.opt.param_groups[0]['lr']:.2e}")
        except Exception as e:  # noqa: BLE001 - recorded in the report, the other models go on
            self.error = f"{type(e).__name__}: {e}"
            log(f"{self.name}: training failed at step {self.step}: {self.error}")
        if self.step > steps0:
            self.slices.append({"steps": self.step - steps0, "seconds": self.elapsed - elapsed0})

    def summary(self) -> dict:
        cfg = self.cfg
        images = self.step * cfg.batch_size
        return {"optimizer": "AdamW", "lr": cfg.lr, "betas": list(cfg.betas), "weight_decay": cfg.weight_decay,
                "batch_size": cfg.batch_size, "grad_clip": cfg.grad_clip, "ema_decay": cfg.ema_decay,
                "schedule": (f"lr_at (warmup {cfg.warmup_steps} of {cfg.steps} preset steps, cosine to "
                             f"{cfg.min_lr_ratio}x) over the wall-clock budget"),
                "schedule_progress": r4(min(1.0, self.elapsed / self.budget)),
                "steps": self.step, "images_seen": images, "epochs": r4(images / len(self.data.train)),
                "train_seconds": round(self.elapsed, 2),
                "train_images_per_s": r4(images / self.elapsed) if self.elapsed else None,
                "final_loss_mean_last_20": r4(statistics.fmean(self.losses[-20:])) if self.losses else None}


def params(module) -> int:
    return sum(p.numel() for p in module.parameters())


def train_config(spec) -> TrainConfig:
    return configlib.from_dict(TrainConfig, {**spec.train_settings(PRESET), "seed": SEED},
                               what=f"{spec.name} train setting")


def build_ours(name: str, device):
    spec = registry.get(name)
    cfg = spec.model_config(PRESET, OVERRIDES[name])
    torch.manual_seed(SEED)
    return spec, cfg, spec.build(cfg).to(device)


def ours_loss(model, batch, noise):
    return model.training_loss(batch, noise)


# -- evaluation ---------------------------------------------------------------------------------
@torch.no_grad()
def eval_binarized_ar(model, x: torch.Tensor) -> dict:
    nll = torch.cat([model.negative_log_likelihood(b) for b in x.split(EVAL_BATCH)])
    return {"test_nll_nats": r4(nll.mean()), "test_nll_nats_sem": r4(nll.std() / math.sqrt(len(nll))),
            "likelihood": "exact"}


@torch.no_grad()
def eval_vae(model, x: torch.Tensor, iwae_k: int | None, budget_s: float) -> dict:
    """IWAE bound (an upper bound on the NLL) with k = 1000 if its estimated time fits ``budget_s``,
    else 200 (or the forced --iwae-k); plus the one-sample negative ELBO."""
    batches = x.split(IWAE_BATCH)
    probe_k = 4 * max(1, 256 // len(batches[0]))  # four decoder chunks of ~256 images
    model.iwae_bound(batches[0], probe_k // 4)  # warm-up
    t0 = time.perf_counter()
    model.iwae_bound(batches[0], probe_k)
    per_image_sample = (time.perf_counter() - t0) / (probe_k * len(batches[0]))
    estimate = {k: per_image_sample * k * len(x) for k in (1000, 200)}
    if iwae_k:
        k, why = iwae_k, "forced by --iwae-k"
    elif estimate[1000] <= budget_s:
        k, why = 1000, f"k=1000 estimated {estimate[1000]:.0f} s <= the {budget_s:.0f} s eval budget"
    else:
        k, why = 200, f"k=1000 estimated {estimate[1000]:.0f} s > the {budget_s:.0f} s eval budget"
    log(f"vae: IWAE with k={k} ({why})")
    neg_iwae = torch.cat([-model.iwae_bound(b, k) for b in batches])
    neg_elbo = torch.cat([-model.iwae_bound(b, 1) for b in batches])
    return {"test_nll_nats": r4(neg_iwae.mean()), "test_nll_nats_sem": r4(neg_iwae.std() / math.sqrt(len(neg_iwae))),
            "likelihood": f"-IWAE bound, k={k} (upper bound on the NLL)", "iwae_k": k, "iwae_k_reason": why,
            "iwae_seconds_estimate": {str(kk): round(v, 1) for kk, v in estimate.items()},
            "test_neg_elbo_nats": r4(neg_elbo.mean())}


@torch.no_grad()
def eval_flow(nll_fn, x: torch.Tensor, draws: int, nll_app=None) -> dict:
    """Bits/dim of the 8-bit images. ``nll_fn(y)``: nats of the discrete image given the dequantized
    y = (k + u) / 256, i.e. -log p(y) + D log 256 (the 1/256 bin width), evaluated at u = 1/2 and
    averaged over ``draws`` random u (the papers' figure, an upper bound on the discrete NLL).
    ``nll_app(x)``, if given, is what the app shows (ours: ``negative_log_likelihood``, itself a mean
    over fixed draws of u), reported beside them."""
    dims = x[0].numel()

    def bpd(gen):
        nll = torch.cat([nll_fn(common.dequantize(b, gen).to(b.dtype)) for b in x.split(EVAL_BATCH)])
        return common.bits_per_dim(nll, dims)

    half = bpd(None)
    per_draw = [bpd(torch.Generator(x.device).manual_seed(DEQUANT_SEEDS + i)).mean().item() for i in range(draws)]
    out = {"test_bits_per_dim_random_u": r4(statistics.fmean(per_draw)) if per_draw else None,
           "test_bits_per_dim_random_u_draws": [r4(v) for v in per_draw],
           "test_bits_per_dim_u_half": r4(half.mean()),
           "test_bits_per_dim_u_half_sem": r4(half.std() / math.sqrt(len(half))),
           "dequantization_draws": draws, "likelihood": "exact density, uniform dequantization"}
    if nll_app is not None:
        app = common.bits_per_dim(torch.cat([nll_app(b) for b in x.split(EVAL_BATCH)]), dims)
        out["test_bits_per_dim_app"] = r4(app.mean())
    return out


def ours_flow_nll(model):
    """-log N(z; 0, I) - log|det dz/dy| + D log 256 from FlowModel.transform (public: dequantized y in
    [0, 1) -> (z, log-det), preprocessing included)."""
    def nll(y):
        z, logdet = model.transform(y)
        return 0.5 * z.pow(2).sum(1) + z.shape[1] * 0.5 * math.log(2 * math.pi) - logdet + z.shape[1] * math.log(common.BITS)
    return nll


# -- the peer: normflows Glow -------------------------------------------------------------------
def build_peer_glow(cfg, scale_map: str):
    """normflows' Glow (its README / examples/glow.ipynb recipe) made unconditional and sized like
    our GlowConfig: the same levels L, steps per level K and hidden width; a GlowBase (learned
    per-channel diagonal Gaussian) at every scale; our preprocessing as its data transform."""
    import normflows as nf
    C, S, L, K = cfg.channels, cfg.image_size, cfg.levels, cfg.steps_per_level
    q0, merges, flows = [], [], []
    for i in range(L):  # normflows lists levels from the deepest (latent) side
        flows.append([nf.flows.GlowBlock(C * 2 ** (L + 1 - i), cfg.hidden, split_mode="channel", scale=True,
                                         scale_map=scale_map) for _ in range(K)] + [nf.flows.Squeeze()])
        if i > 0:
            merges.append(nf.flows.Merge())
            latent = (C * 2 ** (L - i), S // 2 ** (L - i), S // 2 ** (L - i))
        else:
            latent = (C * 2 ** (L + 1), S // 2 ** L, S // 2 ** L)
        q0.append(nf.distributions.GlowBase(latent))
    # Logit(α): inverse maps y to logit(α + (1 - 2α) y) with that log-det, as our "logit" preprocessing
    transform = nf.transforms.Logit(alpha=cfg.logit_alpha) if cfg.preprocess == "logit" else None
    return nf.MultiscaleFlow(q0, flows, merges, transform=transform, class_cond=False)


def peer_nll(peer, cfg):
    dims = cfg.channels * cfg.image_size ** 2
    shift = 0.5 if cfg.preprocess == "center" else 0.0  # nf.transforms.Shift works in place: done here

    def nll(y):  # nats of the discrete image: -log p(y) + D log 256, as ours
        return -peer.log_prob(y - shift, None) + dims * math.log(common.BITS)
    return nll


def peer_loss(dims: int):
    def loss_fn(model, batch, noise):
        y = common.dequantize(batch, noise).to(batch.dtype)  # the same u draws as ours takes from `noise`
        shift = 0.5 if model.transform is None else 0.0
        nll = -model.log_prob(y - shift, None) + dims * math.log(common.BITS)
        bpd = common.bits_per_dim(nll, dims).mean()  # trained in bits/dim like ours (grad_clip acts alike)
        return bpd, {"loss": bpd.item()}
    return loss_fn


# -- driver -------------------------------------------------------------------------------------
def run_model(name: str, data: Data, args, device, peer_cfg=None) -> tuple[dict, dict | None]:
    """Train and evaluate one of ours (and, for glow with the peer on, the peer interleaved with it)."""
    budget = args.minutes * 60
    out: dict = {"status": "error", "protocol": "binarized" if name in BINARIZED else "8-bit dequantized",
                 "preset": PRESET, "overrides": OVERRIDES[name]}
    anchor = ANCHORS[name]
    out["anchor"] = ({**anchor, "note": TRAINED_ON_60K} if anchor else {"value": None, "note": NO_ANCHOR[name]})
    peer_out = None
    try:
        spec, cfg, model = build_ours(name, device)
        out.update(config=configlib.to_dict(cfg), params=params(model))
        tcfg = train_config(spec)
        runs = [Run(name, model, ours_loss, tcfg, data, budget, device)]
        if peer_cfg is not None:
            peer_out = {"status": "error", "package": peer_cfg["package"], "model": "normflows Glow"}
            try:
                torch.manual_seed(SEED)
                peer = build_peer_glow(cfg, args.peer_scale_map).to(device)
                peer_out.update(params=params(peer), config=peer_cfg["config"](cfg))
                runs.append(Run("normflows-glow", peer, peer_loss(model.dims), train_config(spec), data, budget, device))
            except Exception as e:  # noqa: BLE001
                peer_out["error"] = f"{type(e).__name__}: {e}"
                peer_out["traceback"] = traceback.format_exc(limit=4)[-1500:]
                log(f"peer: could not build: {peer_out['error']}")
        log(f"{name}: {out['params']:,} parameters, training {budget:.0f} s"
            + (f" interleaved with normflows Glow ({peer_out['params']:,} parameters)" if len(runs) > 1 else ""))
        slice_s = budget if len(runs) == 1 else max(0.5, min(args.slice_seconds, budget / 4))
        k = 0
        while not all(r.done for r in runs):
            for r in runs if k % 2 == 0 else runs[::-1]:
                r.train_for(slice_s)
            k += 1

        for r, o in zip(runs, [out, peer_out]):
            o["train"] = r.summary()
            o["loadavg_1m_end"] = os.getloadavg()[0]
            if r.error:
                o["error"] = r.error
                if r.step == 0:
                    continue
                o["note"] = "training stopped early; evaluated the EMA weights it had"
            try:
                t0 = time.perf_counter()
                if o is peer_out:
                    o["eval"] = eval_flow(peer_nll(r.ema, cfg), data.test_8bit, args.dequant_draws)
                elif name == "vae":
                    o["eval"] = eval_vae(r.ema, data.test_binary, args.iwae_k, args.vae_eval_minutes * 60)
                elif name in BINARIZED:
                    o["eval"] = eval_binarized_ar(r.ema, data.test_binary)
                else:
                    o["eval"] = eval_flow(ours_flow_nll(r.ema), data.test_8bit, args.dequant_draws,
                                          r.ema.negative_log_likelihood)
                o["eval_seconds"] = round(time.perf_counter() - t0, 2)
                o["eval_images"] = len(data.test_8bit)
                o["status"] = "ok" if not r.error else "partial"
                key = "test_nll_nats" if "test_nll_nats" in o["eval"] else "test_bits_per_dim_random_u"
                log(f"{r.name}: {key} = {o['eval'][key]} ({o['eval_seconds']:.0f} s to evaluate)")
            except Exception as e:  # noqa: BLE001
                o["error"] = f"evaluation: {type(e).__name__}: {e}"
                o["traceback"] = traceback.format_exc(limit=6)[-2000:]
                log(f"{r.name}: evaluation failed: {o['error']}")
        if len(runs) > 1:
            out["_slices"], peer_out["_slices"] = runs[0].slices, runs[1].slices
    except Exception as e:  # noqa: BLE001 - one failing model must not abort the others
        out["error"] = f"{type(e).__name__}: {e}"
        out["traceback"] = traceback.format_exc(limit=6)[-2000:]
        log(f"{name}: failed: {out['error']}")
    return out, peer_out


def paired(ours_slices, peer_slices) -> float | None:
    """Median over slices of (ours images/s) / (peer images/s): slice i of each side ran back to back."""
    ratios = [(a["steps"] / a["seconds"]) / (b["steps"] / b["seconds"])
              for a, b in zip(ours_slices, peer_slices) if a["seconds"] > 0 and b["seconds"] > 0]
    return round(statistics.median(ratios), 4) if ratios else None


def peer_config(scale_map: str):
    def describe(cfg) -> dict:
        return {"levels": cfg.levels, "steps_per_level": cfg.steps_per_level, "hidden": cfg.hidden,
                "block": "nf.flows.GlowBlock (ActNorm, LU 1x1 conv, affine coupling conv3x3-1x1-3x3)",
                "coupling_scale": f"{scale_map} (ours: {cfg.coupling_scale})",
                "base": "nf.distributions.GlowBase per scale: learned per-channel N(mu, sigma^2), unconditional "
                        f"(ours: split-off halves N(mu(h), sigma(h)^2) given the kept half = {cfg.learned_prior}, "
                        "top scale N(0, I))",
                "transform": (f"nf.transforms.Logit(alpha={cfg.logit_alpha})" if cfg.preprocess == "logit"
                              else "y - 1/2"),
                "multiscale": "nf.MultiscaleFlow(class_cond=False), nf.flows.Squeeze / Merge"}
    return describe


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0, help="training wall-clock budget per model (default 5)")
    ap.add_argument("--models", default=",".join(ALL_MODELS), help=f"comma-separated, from {','.join(ALL_MODELS)}")
    ap.add_argument("--threads", type=int, default=None,
                    help="torch threads (default: torch's own, i.e. OMP_NUM_THREADS when set)")
    ap.add_argument("--eval-images", type=int, default=N_TEST, help=f"test images, up to {N_TEST} (default all)")
    ap.add_argument("--out", help="also write the JSON here")
    ap.add_argument("--no-peer", action="store_true", help="skip the normflows Glow")
    ap.add_argument("--peer-scale-map", default="sigmoid", choices=("sigmoid", "exp"),
                    help="normflows coupling scale map (default sigmoid: its GlowBlock default, the Glow paper's)")
    ap.add_argument("--slice-seconds", type=float, default=20.0,
                    help="wall-time slice when ours and the peer alternate (default 20; at most budget/4)")
    ap.add_argument("--dequant-draws", type=int, default=4, help="random dequantizations averaged for flows (default 4)")
    ap.add_argument("--iwae-k", type=int, default=None, help="force the VAE's IWAE k (default: 1000 if it fits, else 200)")
    ap.add_argument("--vae-eval-minutes", type=float, default=None,
                    help="time the VAE's k=1000 IWAE may take, else k=200 (default max(10, 2 x minutes))")
    ap.add_argument("--device", default="cpu", help="cpu (default), cuda, or auto")
    ap.add_argument("--data", help="path to t10k-images-idx3-ubyte.gz (default: the shared data folder)")
    args = ap.parse_args()
    warnings.filterwarnings("ignore", message=r"torch\.lu is deprecated")  # inside normflows' LU 1x1 conv

    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = sorted(set(models) - set(ALL_MODELS))
    if unknown:
        ap.error(f"unknown models {unknown}; choose from {','.join(ALL_MODELS)}")
    if not 1 <= args.eval_images <= N_TEST:
        ap.error(f"--eval-images must be 1..{N_TEST}")
    if args.vae_eval_minutes is None:
        args.vae_eval_minutes = max(10.0, 2 * args.minutes)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available() else
                          ("cpu" if args.device == "auto" else args.device))
    torch.manual_seed(SEED)
    t_start, load_start = time.perf_counter(), os.getloadavg()
    data = Data(find_mnist(args.data), args.eval_images, device)
    log(f"data: {len(data.train)} train, {len(data.test_8bit)} test; device {device}, "
        f"{torch.get_num_threads()} threads, {args.minutes:g} min per model")

    peer_info, peer_cfg = None, None
    if not args.no_peer:
        try:
            from importlib.metadata import version

            import normflows  # noqa: F401
            peer_cfg = {"package": f"normflows {version('normflows')}", "config": peer_config(args.peer_scale_map)}
        except Exception as e:  # noqa: BLE001
            peer_info = {"status": "skipped", "reason": f"normflows not importable: {type(e).__name__}: {e}"}
    if peer_cfg is not None and "glow" not in models:
        peer_cfg, peer_info = None, {"status": "skipped", "reason": "glow not in --models (the peer trains beside it)"}

    results, ratios = {}, {}
    for name in models:
        out, peer_out = run_model(name, data, args, device, peer_cfg if name == "glow" else None)
        results[name] = out
        if peer_out is not None:
            peer_info = peer_out
    if peer_info is None:
        peer_info = {"status": "skipped", "reason": "our glow failed before the peer was built (see models.glow)"
                     if peer_cfg is not None else "--no-peer"}

    glow = results.get("glow", {})
    if peer_info.get("status") in ("ok", "partial") and glow.get("status") in ("ok", "partial"):
        try:
            o_tr, p_tr, o_ev, p_ev = glow["train"], peer_info["train"], glow["eval"], peer_info["eval"]
            ratios = {
                "glow_train_images_per_s_ours_over_peer": r4(o_tr["train_images_per_s"] / p_tr["train_images_per_s"]),
                "glow_train_images_per_s_ours_over_peer_paired": paired(glow["_slices"], peer_info["_slices"]),
                "glow_params_ours_over_peer": r4(glow["params"] / peer_info["params"]),
                "glow_bits_per_dim_u_half": {"ours": o_ev["test_bits_per_dim_u_half"], "peer": p_ev["test_bits_per_dim_u_half"]},
                "glow_bits_per_dim_random_u": {"ours": o_ev["test_bits_per_dim_random_u"],
                                               "peer": p_ev["test_bits_per_dim_random_u"]},
                "glow_bits_per_dim_random_u_ours_minus_peer": r4(o_ev["test_bits_per_dim_random_u"]
                                                                  - p_ev["test_bits_per_dim_random_u"])
                if o_ev["test_bits_per_dim_random_u"] is not None else None,
                "note": "throughput higher is better (target >= 1.0); bits/dim lower is better, after the same wall time",
            }
            if "partial" in (peer_info["status"], glow["status"]):
                ratios["warning"] = "one side stopped training early (see its error): the bits/dim are not comparable"
        except Exception as e:  # noqa: BLE001
            ratios = {"error": f"{type(e).__name__}: {e}"}
    for o in (*results.values(), peer_info):
        if isinstance(o, dict) and "_slices" in o:
            o["train"]["slices"] = [{"steps": s["steps"], "seconds": round(s["seconds"], 2)} for s in o.pop("_slices")]
    if peer_info.get("status") != "skipped":
        peer_info["not_matched"] = ("normflows has no multiscale RealNVP builder, and its checkerboard split "
                                    "needs an even width (our RealNVP's last scale is 7x7): only Glow is compared")

    device_name = (torch.cuda.get_device_name(device) if device.type == "cuda" else
                   (platform.processor() or platform.machine()))
    result = {
        "benchmark": "likelihood",
        "device": f"{device.type} ({device_name})",
        "threads": torch.get_num_threads(),
        "minutes_per_model": args.minutes,
        "data": data.describe(),
        "torch": torch.__version__, "cpu_count": os.cpu_count(),
        "loadavg_1m": {"start": load_start[0], "end": os.getloadavg()[0]},
        "seed": SEED, "eval_images": len(data.test_8bit),
        "models": results, "peer": peer_info, "ratios": ratios,
        "wall_seconds": round(time.perf_counter() - t_start, 1),
    }
    side_by_side.write_result(result, args.out)


if __name__ == "__main__":
    main()
