#!/usr/bin/env python
"""GenStudio's StyleGAN against lucidrains' stylegan2-pytorch: GAN training throughput, side by side, on the CPU.

Both are StyleGAN2s (mapping network, modulated/demodulated convolutions, noise inputs, toRGB skips,
residual discriminator), so this is the matched pair; lightweight-gan is a different generator.
Matched: image size (--size, 32), batch (--batch, 32), RGB, threads (--threads), the W width and
mapping depth (the peer's ``latent_dim`` / ``style_depth`` copied from ours), style mixing 0.9,
DiffAugment policy (--augment, default "color,translation,cutout", both sides, real and fake, in
both phases; "" = off), and an R1-type gradient penalty every 4th step (the peer's fixed interval;
ours is set to it; --r1-interval 16 times ours as its ``small`` preset trains). The peer's width (``network_capacity``, ``fmap_max``) is chosen to bring its G
and D parameter counts nearest ours; both counts are printed. Left different, as each library
does it: ours is the registry's ``small`` preset (non-saturating logistic loss, R1 on reals only,
AdamW, the preset's lr and betas, an EMA of every parameter after every step, as trainers/loop.py
does), the peer's is its own ``Trainer.train()`` (hinge loss, gradient penalty on reals and fakes,
Adam, D at 2x lr, random hflips inside its augmentation, and from step 20,000 an EMA of G every 10
steps). The peer's path-length penalty (every 32 steps) is off (ours has none; --peer-pl-reg turns
it on), and the peer starts at step 30,000, its steady state (past the EMA reset window; its
periodic saving and sample rendering are switched off).

One training step = one D step + one G step, on a fixed batch (data loading is not timed on either
side). Ours: ``trainers.loop.Trainer._optimizer_steps`` itself (per phase ``training_loss`` ->
backward -> AdamW step) plus ``update_ema``. Peer: ``Trainer.train()`` of stylegan2-pytorch 1.9.0,
installed with ``--no-deps`` (it requires torchvision and a CUDA GPU); benchmarks/peers/stylegan2_cpu.py
makes it import and run on the CPU: torchvision, aim and vector_quantize_pytorch are empty stand-ins
(only its data loading, image saving, logging and optional quantisation use them), its import-time
CUDA assert sees True, and ``.cuda()`` is the identity. Its model and training code run unchanged.

Each side runs in its own child process; the parent asks them for timed blocks of --block steps in
turn (ours, peer, peer, ours, ...) after --warmup steps, so machine noise hits both alike. Prints one
JSON object; the ratio is ours / peer in training images per second (higher is better).

    .venv/bin/python -m pip install torch==2.13.0 -r benchmarks/requirements.txt
    .venv/bin/python -m pip install torch==2.13.0 --no-deps stylegan2-pytorch
    python benchmarks/gan_throughput.py [--quick] [--repeats N] [--threads N] [--size 32|64] [--batch B]
    python benchmarks/gan_throughput.py --profile ours|peer     # torch.profiler table of one block
"""

from __future__ import annotations

import argparse
import atexit
import itertools
import json
import math
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time

import side_by_side  # benchmarks/: run as a script, its folder is on sys.path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PRESET = "small"
REG_EVERY = 4  # stylegan2-pytorch applies its gradient penalty when step % 4 == 0; ours is set to match
PEER_START_STEP = 30_000  # past the peer's warm-up schedule (EMA reset until 25k, EMA from 20k, PL from 5k)
LR = 2e-4  # the peer's default; ours uses its preset's


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def count(params) -> int:
    return sum(p.numel() for p in params)


# -- ours: the registry's StyleGAN, stepped by the training loop's own code ---------------------
def setup_ours(args):
    import copy

    import torch

    from genstudio.core import config as configlib
    from genstudio.core import registry
    from trainers.loop import TrainConfig, Trainer, parameter_groups, update_ema

    spec = registry.get("stylegan")
    overrides = {"image_size": args.size, "channels": 3, "augment": args.augment, "r1_interval": args.r1_interval}
    cfg = spec.model_config(PRESET, {k: v for k, v in overrides.items() if spec.has_setting(k)})
    train = configlib.from_dict(TrainConfig, {**spec.train_settings(PRESET), "batch_size": args.batch},
                                what="stylegan train setting")
    torch.manual_seed(0)
    model = spec.build(cfg).train()
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    optimizer = torch.optim.AdamW(parameter_groups(model), lr=train.lr, betas=tuple(train.betas),
                                  weight_decay=train.weight_decay)
    for group in optimizer.param_groups:  # what the loop sets each step (constant lr here)
        group["lr"] = train.lr * group.get("lr_scale", 1.0)
    noise = torch.Generator().manual_seed(0)
    x = torch.rand(args.batch, 3, args.size, args.size, generator=noise) * 2 - 1  # ours takes [-1, 1]

    class FixedBatchTrainer(Trainer):
        """The loop's own per-step code, fed one fixed batch (no data folder, no run directory)."""

        def __init__(self):  # only what _optimizer_steps reads
            self.cfg, self.device = train, torch.device("cpu")

        def _next_batch(self, stream, generator):
            return x, {}

    trainer = FixedBatchTrainer()
    scaler = torch.amp.GradScaler("cuda", enabled=False)  # what the loop builds on the CPU
    state = {"step": 0}

    def step():
        trainer._optimizer_steps(model, optimizer, None, noise, scaler, state["step"])
        state["step"] += 1
        update_ema(ema, model, min(train.ema_decay, (1 + state["step"]) / (10 + state["step"])))

    groups = model.optimizer_groups()
    info = {"params_g": count(p for g in groups if g.get("phase") == "g" for p in g["params"]),
            "params_d": count(p for g in groups if g.get("phase") == "d" for p in g["params"]),
            "config": configlib.to_dict(cfg),
            "train": {k: getattr(train, k) for k in ("lr", "betas", "weight_decay", "grad_clip", "ema_decay")}}
    return step, info


def ours_mapping(config: dict) -> tuple[int, int]:
    """(W width, mapping depth) of our config, which the peer copies (its latent_dim is both z's and
    w's size; ours' small preset has z_dim = w_dim)."""
    return int(config["w_dim"]), int(config["mapping_layers"])


# -- peer: stylegan2-pytorch's own Trainer.train() ----------------------------------------------
def peer_counts(peer, size: int, latent_dim: int, style_depth: int, capacity: int, fmap_max: int):
    import torch
    with torch.device("meta"):  # shapes only
        mapping = peer.StyleVectorizer(latent_dim, style_depth)
        g = peer.Generator(size, latent_dim, capacity, fmap_max=fmap_max)
        d = peer.Discriminator(size, capacity, fmap_max=fmap_max)
    return count(mapping.parameters()) + count(g.parameters()), count(d.parameters())


def match_peer_width(peer, size, latent_dim, style_depth, ours_g, ours_d):
    """The (network_capacity, fmap_max) whose G and D sizes are nearest ours (least sum of squared
    log ratios). fmap_max never caps G: the peer builds its EMA generator without fmap_max."""
    layers = int(math.log2(size) - 1)
    best = None
    for capacity in range(1, 65):
        g_max = capacity * 2 ** layers  # the peer's widest G layer
        for fmap_max in sorted({g_max, 2 * g_max, 4 * g_max, 8 * g_max}):
            g, d = peer_counts(peer, size, latent_dim, style_depth, capacity, fmap_max)
            score = math.log(g / ours_g) ** 2 + math.log(d / ours_d) ** 2
            if best is None or score < best[0]:
                best = (score, capacity, fmap_max, g, d)
    return best[1:]


def setup_peer(args):
    import torch

    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    from peers.stylegan2_cpu import load
    peer = load()
    from stylegan2_pytorch.version import __version__
    latent_dim, style_depth = args.peer_latent_dim, args.peer_style_depth
    capacity, fmap_max = args.peer_capacity, args.peer_fmap_max
    if not (capacity and fmap_max):
        capacity, fmap_max, *_ = match_peer_width(peer, args.size, latent_dim, style_depth,
                                                  args.ours_params_g, args.ours_params_d)
    policy = [p for p in args.augment.split(",") if p]
    base_dir = tempfile.mkdtemp(prefix="gan_bench_peer_")  # the peer's Trainer makes (empty) result folders
    atexit.register(shutil.rmtree, base_dir, ignore_errors=True)
    trainer = peer.Trainer(name="bench", base_dir=base_dir,
                           image_size=args.size, network_capacity=capacity, fmap_max=fmap_max,
                           batch_size=args.batch, lr=LR, mixed_prob=0.9, aug_prob=1.0 if policy else 0.0,
                           aug_types=policy, no_pl_reg=not args.peer_pl_reg, save_every=10**12,
                           evaluate_every=10**12, num_workers=0,
                           latent_dim=latent_dim, style_depth=style_depth)
    trainer.init_GAN()
    trainer.steps = PEER_START_STEP
    trainer.loader = itertools.repeat(torch.rand(args.batch, 3, args.size, args.size))  # peer takes [0, 1]
    gan = trainer.GAN
    info = {"package": f"stylegan2-pytorch {__version__}",
            "params_g": count(gan.S.parameters()) + count(gan.G.parameters()), "params_d": count(gan.D.parameters()),
            "config": {"network_capacity": capacity, "fmap_max": fmap_max, "latent_dim": latent_dim,
                       "style_depth": style_depth, "aug_prob": trainer.aug_prob, "aug_types": policy,
                       "path_length_reg": args.peer_pl_reg, "start_step": PEER_START_STEP}}
    return trainer.train, info


# -- children: build one side, warm it up, then time one block per request on stdin -------------
def setup(args):
    import torch
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    step, info = setup_ours(args) if args.side == "ours" else setup_peer(args)
    for _ in range(args.warmup):
        step()
    info.update(params=info["params_g"] + info["params_d"], torch=torch.__version__, threads=torch.get_num_threads())
    return step, info


def child(args):
    proto = os.fdopen(os.dup(1), "w", buffering=1)  # protocol on the real stdout; stray prints -> stderr
    os.dup2(2, 1)
    sys.path.insert(0, ROOT)
    try:
        step, info = setup(args)
    except Exception as e:  # noqa: BLE001 - the parent reports it
        proto.write(json.dumps({"error": f"{type(e).__name__}: {e}"[:800]}) + "\n")
        return
    proto.write(json.dumps(info) + "\n")
    while sys.stdin.readline().strip() == "go":
        t0 = time.perf_counter()
        for _ in range(args.block):
            step()
        proto.write(json.dumps({"seconds": time.perf_counter() - t0, "peak_rss_mb": round(rss_mb(), 1)}) + "\n")


def profile(args):
    """One block of one side under torch.profiler (ops by self CPU time) and cProfile (Python)."""
    import cProfile
    import pstats

    import torch
    sys.path.insert(0, ROOT)
    if args.side == "peer":
        args.side = "ours"
        _, ours = setup(argparse.Namespace(**{**vars(args), "warmup": 0}))
        args.side, args.ours_params_g, args.ours_params_d = "peer", ours["params_g"], ours["params_d"]
        args.peer_latent_dim, args.peer_style_depth = ours_mapping(ours["config"])
    step, info = setup(args)
    print(json.dumps({k: v for k, v in info.items() if k != "config"}))
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        for _ in range(args.block):
            step()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=25))
    stats = cProfile.Profile()
    stats.runcall(lambda: [step() for _ in range(args.block)])
    pstats.Stats(stats).sort_stats("tottime").print_stats(20)


# -- parent: start the children, interleave their timed blocks, summarise -----------------------
CHILD_ARGS = ("block", "warmup", "threads", "size", "batch", "augment", "r1_interval")


class Child(side_by_side.Child):
    def __init__(self, side, args, extra=()):
        super().__init__([os.path.abspath(__file__), "--side", side,
                          *(f"--{k.replace('_', '-')}={getattr(args, k)}" for k in CHILD_ARGS), *extra], cwd=ROOT)
        if "error" in self.info:
            raise RuntimeError(f"{side}: {self.info['error']}")


def summary(side: Child, batch: int, block: int) -> dict:
    ips = [batch * block / r["seconds"] for r in side.runs]
    info = side.info
    return {"params": info["params"], "params_g": info["params_g"], "params_d": info["params_d"],
            "config": info["config"], **({"train": info["train"]} if "train" in info else {}),
            "train_images_per_s": round(statistics.median(ips), 3), "train_images_per_s_runs": [round(v, 3) for v in ips],
            "train_steps_per_s": round(statistics.median(ips) / batch, 4), "peak_rss_mb": side.runs[-1]["peak_rss_mb"]}


def paired(xs, ys):
    """Median of per-repeat ratios x/y: repeat i of each side ran back to back, so it shares the load."""
    return round(statistics.median(x / y for x, y in zip(xs, ys)), 3)


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 repeat of 4 steps after 4 warm-up steps: a smoke run")
    ap.add_argument("--repeats", type=int, default=5, help="timed blocks per side (default 5)")
    ap.add_argument("--block", type=int, default=8, help=f"training steps per timed block (default 8; a multiple "
                                                         f"of {REG_EVERY} keeps the R1 steps per block equal)")
    ap.add_argument("--warmup", type=int, default=4, help="warm-up steps per side (default 4)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads per side (default 2)")
    ap.add_argument("--size", type=int, default=32, help="image size, a power of 2 (default 32)")
    ap.add_argument("--batch", type=int, default=32, help="batch size, both sides (default 32)")
    ap.add_argument("--augment", default="color,translation,cutout",
                    help='DiffAugment policy for both sides ("" = off; default color,translation,cutout)')
    ap.add_argument("--r1-interval", type=int, default=REG_EVERY,
                    help=f"ours' R1 interval (default {REG_EVERY}, the peer's fixed one; its small preset uses 16)")
    ap.add_argument("--peer-pl-reg", action="store_true", help="keep the peer's path-length penalty (every 32 steps)")
    ap.add_argument("--peer-capacity", type=int, default=0, help="the peer's network_capacity (default: matched)")
    ap.add_argument("--peer-fmap-max", type=int, default=0, help="the peer's fmap_max (default: matched)")
    ap.add_argument("--profile", choices=("ours", "peer"), help="profile one block of one side instead")
    ap.add_argument("--side", choices=("ours", "peer"), help=argparse.SUPPRESS)
    for name in ("ours-params-g", "ours-params-d", "peer-latent-dim", "peer-style-depth"):
        ap.add_argument(f"--{name}", type=int, default=0, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.quick:
        args.block, args.warmup, args.repeats = 4, 4, 1
    return args


def main():
    args = parse_args()
    if args.profile:
        args.side = args.profile
        return profile(args)
    if args.side:
        return child(args)
    load_start, t_start = os.getloadavg(), time.perf_counter()
    ours = Child("ours", args)  # built first: the peer is sized from its parameter counts and mapping
    latent_dim, style_depth = ours_mapping(ours.info["config"])
    peer_extra = [f"--ours-params-g={ours.info['params_g']}", f"--ours-params-d={ours.info['params_d']}",
                  f"--peer-latent-dim={latent_dim}", f"--peer-style-depth={style_depth}",
                  f"--peer-capacity={args.peer_capacity}", f"--peer-fmap-max={args.peer_fmap_max}",
                  *(["--peer-pl-reg"] if args.peer_pl_reg else [])]
    peer = Child("peer", args, peer_extra)
    side_by_side.interleaved([ours, peer], args.repeats)
    s_ours, s_peer = (summary(side, args.batch, args.block) for side in (ours, peer))
    result = {
        "benchmark": "gan_throughput: GenStudio StyleGAN vs stylegan2-pytorch, training images/s (D + G steps)",
        "mode": "quick" if args.quick else "full",
        "setting": {"image": f"{args.size}x{args.size} RGB", "batch": args.batch, "augment": args.augment or "off",
                    "gradient_penalty_every": {"ours": args.r1_interval, "peer": REG_EVERY},
                    "path_length_reg": {"ours": "none", "peer": "every 32 steps" if args.peer_pl_reg else "off"},
                    "style_mixing": 0.9, "steps_per_block": args.block,
                    "repeats": args.repeats, "warmup_steps": args.warmup, "ours_preset": PRESET,
                    "ours_optimizer": "AdamW + EMA of all params every step", "peer_optimizer": "Adam (D at 2x lr)"},
        "peer_package": peer.info["package"],
        "peer_runs_via": "benchmarks/peers/stylegan2_cpu.py: stand-in torchvision/aim/vector_quantize_pytorch "
                         "modules, .cuda() = identity; the peer's model and Trainer.train() unchanged", "torch": ours.info["torch"], "device": "cpu",
        "threads": {"ours": ours.info["threads"], "peer": peer.info["threads"]},
        "cpu_count": os.cpu_count(), "loadavg_1m": {"start": load_start[0], "end": os.getloadavg()[0]},
        "wall_seconds": round(time.perf_counter() - t_start, 1),
        "ours": s_ours, "peer": s_peer,
        "ratios_ours_over_peer": {
            "train_images_per_s": round(s_ours["train_images_per_s"] / s_peer["train_images_per_s"], 3),
            "train_images_per_s_paired": paired(s_ours["train_images_per_s_runs"], s_peer["train_images_per_s_runs"]),
            "params": round(s_ours["params"] / s_peer["params"], 3),
            "params_g": round(s_ours["params_g"] / s_peer["params_g"], 3),
            "params_d": round(s_ours["params_d"] / s_peer["params_d"], 3),
            "peak_rss": round(s_ours["peak_rss_mb"] / s_peer["peak_rss_mb"], 3)},
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
