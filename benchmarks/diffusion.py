#!/usr/bin/env python
"""GenStudio's DDPM against lucidrains' denoising-diffusion-pytorch, side by side, on the CPU.

Matched size: 32×32 RGB, width 32, channel multipliers (1, 2, 2), batch 32, 1000 training
timesteps, 2 threads (--threads). Measures, for both: parameters, training steps/s, DDIM-50 sampling of 16
images, and peak RSS; plus (optional) our UNet under ONNX Runtime driving the same DDIM loop.

Every (side, task) runs in its own child process (this script with --side/--what), so each peak
RSS is that side's alone. The parent keeps the children alive and asks them for timed blocks in
turn (ours, peer, peer, ours, ...), so machine noise hits both sides alike. Prints one JSON object.

    python benchmarks/diffusion.py [--quick] [--repeats N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
import time
import types

import side_by_side  # benchmarks/: run as a script, its folder is on sys.path

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BATCH, SIZE, WIDTH, MULTS, TIMESTEPS, STEPS, N_IMAGES = 32, 32, 32, (1, 2, 2), 1000, 50, 16


# -- children: build one side, warm it up, then time one block per request on stdin -----------
def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def build_ours(realistic_weights: bool = False):
    import torch

    from genstudio.models.diffusion import DDPMConfig, DiffusionModel
    model = DiffusionModel(DDPMConfig(image_size=SIZE, base_width=WIDTH, channel_mults=MULTS, res_blocks=2,
                                      attention_resolutions=(8,), attention_heads=4, timesteps=TIMESTEPS))
    if realistic_weights:  # zero-initialised output layers would make every prediction 0 (same FLOPs)
        with torch.no_grad():
            for p in model.parameters():
                if p.dim() > 1 and not p.any():
                    p.normal_(0, 0.02)
    return model


def build_peer():
    tv = sys.modules.setdefault("torchvision", types.ModuleType("torchvision"))  # PyPI wheel can't load here
    for sub in ("transforms", "utils"):
        setattr(tv, sub, sys.modules.setdefault(f"torchvision.{sub}", types.ModuleType(f"torchvision.{sub}")))
    from denoising_diffusion_pytorch import GaussianDiffusion, Unet
    from denoising_diffusion_pytorch.version import __version__
    net = Unet(dim=WIDTH, dim_mults=MULTS, flash_attn=False)
    diffusion = GaussianDiffusion(net, image_size=SIZE, timesteps=TIMESTEPS, sampling_timesteps=STEPS)
    # sample() takes ddim_sample (not the 1000-step p_sample_loop) only when sampling_timesteps < timesteps
    assert diffusion.is_ddim_sampling and diffusion.ddim_sampling_eta == 0
    return diffusion, {"package": f"denoising-diffusion-pytorch {__version__}"}


def setup_train(side: str, block: int, warmup: int):
    import torch
    if side == "ours":
        model, info = build_ours(), {}
        opt, gen = torch.optim.AdamW(model.parameters(), lr=1e-4), torch.Generator().manual_seed(0)
        x = torch.rand(BATCH, 3, SIZE, SIZE, generator=gen) * 2 - 1  # ours takes [-1, 1]

        def step():
            loss, _ = model.training_loss(x, gen)
            loss.backward(), opt.step(), opt.zero_grad()
    else:
        model, info = build_peer()
        opt, x = torch.optim.Adam(model.parameters(), lr=1e-4), torch.rand(BATCH, 3, SIZE, SIZE)  # peer: [0, 1]

        def step():
            model(x).backward(), opt.step(), opt.zero_grad()
    info["params"] = sum(p.numel() for p in model.parameters())
    for _ in range(warmup):
        step()
    return lambda: [step() for _ in range(block)], info


def setup_sample(side: str, warmup: int):
    import torch
    if side == "ours":
        from genstudio.core.events import drive
        model, info = build_ours(realistic_weights=True).eval(), {}
        run, net = lambda: drive(model.sample(n=N_IMAGES, steps=STEPS, sampler="ddim")), model.net
    else:
        model, info = build_peer()
        run, net = lambda: model.eval().sample(batch_size=N_IMAGES), model.model
    info["params"] = sum(p.numel() for p in net.parameters())
    with torch.inference_mode():  # warm-up: a few network calls at the sampling batch size
        for _ in range(warmup):
            net(torch.randn(N_IMAGES, 3, SIZE, SIZE), torch.full((N_IMAGES,), 500, dtype=torch.long))
    return run, info


def setup_onnx(warmup: int, threads: int):
    """Our UNet exported to ONNX; the DDIM loop (same as DiffusionModel.sample, eta 0) in numpy."""
    import numpy as np
    import onnxruntime as ort
    import torch

    from genstudio.core.events import drive
    from genstudio.models.common import seeded_noise, to_uint8
    from genstudio.models.diffusion import timestep_sequence
    model, errors = build_ours(realistic_weights=True).eval(), []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "unet.onnx")
        for exporter in ("torchscript", "dynamo"):  # the first keeps opset 17 exactly; the second is a fallback
            try:
                torch.onnx.export(model.net, (torch.randn(2, 3, SIZE, SIZE), torch.tensor([1, 500])), path,
                                  opset_version=17, input_names=["x", "t"], output_names=["out"],
                                  dynamo=exporter == "dynamo", dynamic_axes={k: {0: "batch"} for k in ("x", "t", "out")})
                break
            except Exception as e:  # noqa: BLE001 - reported, not fatal
                errors.append(f"{exporter}: {type(e).__name__}: {e}"[:300])
        else:
            raise RuntimeError("; ".join(errors))
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    ab, ts = model.ab.numpy(), timestep_sequence(TIMESTEPS, STEPS)
    x_init = seeded_noise((3, SIZE, SIZE), [torch.Generator().manual_seed(i) for i in range(N_IMAGES)]).numpy()

    def run():
        x = x_init
        for i, t in enumerate(ts):  # v-prediction, x0 clipped, deterministic DDIM step
            v = sess.run(None, {"x": x, "t": np.full(N_IMAGES, t, np.int64)})[0]
            a = ab[t]
            x0 = np.clip(np.sqrt(a) * x - np.sqrt(1 - a) * v, -1, 1)
            if i + 1 == len(ts):
                return x0
            eps, a_prev = (x - np.sqrt(a) * x0) / np.sqrt(1 - a), ab[ts[i + 1]]
            x = np.sqrt(a_prev) * x0 + np.sqrt(1 - a_prev) * eps

    for _ in range(warmup):
        run()
    ref = drive(model.sample(n=N_IMAGES, seed=0, steps=STEPS, sampler="ddim")).astype(int)
    diff = np.abs(to_uint8(torch.from_numpy(run())).astype(int) - ref).max()
    return run, {"exporter": f"{exporter}, opset 17, dynamic batch", "onnxruntime": ort.__version__,
                 "max_pixel_diff_vs_torch_sampler": int(diff), "export_errors": errors}


def child(side: str, what: str, block: int, warmup: int, threads: int):
    proto = os.fdopen(os.dup(1), "w", buffering=1)  # protocol on the real stdout; stray prints -> stderr
    os.dup2(2, 1)
    os.environ["TQDM_DISABLE"] = "1"  # the peer's sampler wraps its loop in tqdm
    sys.path.insert(0, ROOT)
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    try:
        if side == "onnx":
            run, info = setup_onnx(warmup, threads)
        else:
            run, info = (setup_train(side, block, warmup) if what == "train" else setup_sample(side, warmup))
    except Exception as e:  # noqa: BLE001 - the parent reports it
        proto.write(json.dumps({"error": f"{type(e).__name__}: {e}"[:500]}) + "\n")
        return
    info.update(torch=torch.__version__, threads=torch.get_num_threads())
    proto.write(json.dumps(info) + "\n")
    while sys.stdin.readline().strip() == "go":
        t0 = time.perf_counter()
        run()
        proto.write(json.dumps({"seconds": time.perf_counter() - t0, "peak_rss_mb": round(rss_mb(), 1)}) + "\n")


# -- parent: start the children, interleave their timed blocks, summarise ----------------------
class Child(side_by_side.Child):
    def __init__(self, side, what, args):
        super().__init__([os.path.abspath(__file__), "--side", side, "--what", what,
                          *(f"--{k}={getattr(args, k)}" for k in ("block", "warmup", "threads"))], cwd=ROOT)


def summary(train, sample, block):
    steps_s, secs = [block / r["seconds"] for r in train.runs], [r["seconds"] for r in sample.runs]
    return {"params": train.info["params"], "train_steps_per_s": round(statistics.median(steps_s), 4),
            "train_steps_per_s_runs": [round(s, 4) for s in steps_s],
            "sample_seconds": round(statistics.median(secs), 3),
            "sample_images_per_s": round(N_IMAGES / statistics.median(secs), 4),
            "sample_seconds_runs": [round(s, 3) for s in secs],
            "peak_rss_mb": {"train": train.runs[-1]["peak_rss_mb"], "sample": sample.runs[-1]["peak_rss_mb"]}}


def paired(xs, ys):
    """Median of per-repeat ratios x/y: repeat i of each side ran back to back, so it shares the load."""
    return round(statistics.median(x / y for x, y in zip(xs, ys)), 3)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 step per block, 1 repeat: a smoke run")
    ap.add_argument("--repeats", type=int, help="timed blocks per side (default 5; sampling at least 3 unless --quick)")
    ap.add_argument("--no-onnx", action="store_true", help="skip the ONNX Runtime path")
    ap.add_argument("--side", choices=("ours", "peer", "onnx"), help=argparse.SUPPRESS)
    ap.add_argument("--what", choices=("train", "sample"), help=argparse.SUPPRESS)
    ap.add_argument("--block", type=int, default=3, help="training steps per timed block (default 3)")
    ap.add_argument("--warmup", type=int, default=2, help="warm-up steps / sampler calls (default 2)")
    ap.add_argument("--threads", type=int, default=2, help="torch / ONNX Runtime threads per side (default 2)")
    args = ap.parse_args()
    if args.side:
        return child(args.side, args.what, args.block, args.warmup, args.threads)
    if args.quick:
        args.block, args.warmup = 1, 1
    repeats = args.repeats or (1 if args.quick else 5)
    sample_repeats = repeats if args.quick else max(3, repeats)
    load_start, t_start = os.getloadavg(), time.perf_counter()

    train = {s: Child(s, "train", args) for s in ("ours", "peer")}
    side_by_side.interleaved(list(train.values()), repeats)
    sample = {s: Child(s, "sample", args) for s in ("ours", "peer")}
    onnx, onnx_error = None, None
    if not args.no_onnx:
        try:
            onnx = Child("onnx", "sample", args)
            if "error" in onnx.info:
                onnx_error, onnx = onnx.info["error"], onnx.close()
        except Exception as e:  # noqa: BLE001
            onnx_error = f"{type(e).__name__}: {e}"
    side_by_side.interleaved([*sample.values(), *([onnx] if onnx else [])], sample_repeats)

    ours, peer = (summary(train[s], sample[s], args.block) for s in ("ours", "peer"))
    result = {
        "benchmark": "diffusion: GenStudio DDPM vs denoising-diffusion-pytorch",
        "mode": "quick" if args.quick else "full",
        "setting": {"image": f"{SIZE}x{SIZE} RGB", "width": WIDTH, "channel_mults": MULTS, "train_batch": BATCH,
                    "train_timesteps": TIMESTEPS, "sampler": f"DDIM eta 0, {STEPS} steps", "sample_images": N_IMAGES,
                    "train_steps_per_block": args.block, "train_repeats": repeats, "sample_repeats": sample_repeats,
                    "warmup": args.warmup, "ours_optimizer": "AdamW", "peer_optimizer": "Adam"},
        "peer_package": train["peer"].info["package"], "torch": train["ours"].info["torch"], "device": "cpu",
        "threads": {"ours": train["ours"].info["threads"], "peer": train["peer"].info["threads"]},
        "cpu_count": os.cpu_count(), "loadavg_1m": {"start": load_start[0], "end": os.getloadavg()[0]},
        "wall_seconds": round(time.perf_counter() - t_start, 1),
        "ours": ours, "peer": peer,
        "ratios_ours_over_peer": {
            "train_steps_per_s": round(ours["train_steps_per_s"] / peer["train_steps_per_s"], 3),
            "train_steps_per_s_paired": paired(ours["train_steps_per_s_runs"], peer["train_steps_per_s_runs"]),
            "sample_images_per_s": round(ours["sample_images_per_s"] / peer["sample_images_per_s"], 3),
            "sample_images_per_s_paired": paired(peer["sample_seconds_runs"], ours["sample_seconds_runs"]),
            "params": round(ours["params"] / peer["params"], 3),
            "peak_rss_train": round(ours["peak_rss_mb"]["train"] / peer["peak_rss_mb"]["train"], 3),
            "peak_rss_sample": round(ours["peak_rss_mb"]["sample"] / peer["peak_rss_mb"]["sample"], 3)},
    }
    if onnx:
        secs = [r["seconds"] for r in onnx.runs]
        ips = N_IMAGES / statistics.median(secs)
        result["onnxruntime"] = {"status": "ok", **onnx.info,
                                 "sample_seconds_runs": [round(s, 3) for s in secs], "sample_images_per_s": round(ips, 4),
                                 "ratio_vs_ours_torch": round(ips / ours["sample_images_per_s"], 3),
                                 "ratio_vs_ours_torch_paired": paired(ours["sample_seconds_runs"], secs),
                                 "peak_rss_mb_incl_torch_for_export": onnx.runs[-1]["peak_rss_mb"]}
    else:
        result["onnxruntime"] = {"status": "skipped", "reason": onnx_error or "--no-onnx"}
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
