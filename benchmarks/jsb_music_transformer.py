#!/usr/bin/env python
"""JSB Chorales: the Music Transformer with relative attention vs the same network with absolute positions.

Data: ``../shared/data/jsb/Jsb16thSeparated.json`` (Boulanger-Lewandowski et al. 2012, in the 16th-note
form of Coconet): 229 training and 76 validation chorales, each serialised S A T B per 16th step
(``music_events.jsb_tokens``: 128 pitches + rest) and wrapped in START … END (the app's "grid" encoding,
``music_events.ENCODINGS``: 131 ids). Training draws random windows of ``block + 1`` tokens from the
concatenated training chorales (optionally transposed by up to ``--transpose`` semitones); AdamW
(0.9, 0.98; weight decay 0.1 on matrices), linear warm-up then cosine decay (``trainers.loop.lr_at``),
gradient clipping at 1. Both variants have the same width, depth, heads, block, batch, seed, and number
of steps; they differ only in positions: per-head relative tables E_r with the skewing trick
(``relative=True``), or a learned absolute table (``relative=False``).

Metric: the validation negative log-likelihood in nats per token: every token of every validation
chorale (END excluded) predicted from START and the tokens before it; a chorale longer than the block is
scored with windows sliding by half a block, each token once, with at least half a block of context.
The paper's figure (Huang et al. 2018, table 1: Music Transformer with relative attention on JSB
Chorales, validation NLL) is 0.335; its models trained for far longer than a CPU minute, so the useful
number here is the ratio between the two variants at matched steps.

Budget: ``--steps N`` trains each variant N steps; otherwise ``--minutes M`` (total wall time, both
variants) times a few steps of each and picks the step count that fits ~80% of it (validation takes
the rest). Prints one JSON object (also to ``--out``).

    OMP_NUM_THREADS=1 python benchmarks/jsb_music_transformer.py --minutes 1 --threads 1    # smoke run
    python benchmarks/jsb_music_transformer.py --steps 4000 --device cuda                    # a real one
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genstudio.core.data.music_events import ENCODINGS, jsb_tokens, load_jsb  # noqa: E402
from genstudio.core.devices import resolve_device, set_threads  # noqa: E402
from genstudio.models.music_transformer import MusicTransformer, MusicTransformerConfig  # noqa: E402
from trainers.loop import TrainConfig, lr_at  # noqa: E402
from trainers.music import transpose  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "jsb" / "Jsb16thSeparated.json"
PAPER_NLL = 0.335  # Huang et al. 2018, Music Transformer (relative attention), JSB Chorales validation NLL
ENC = ENCODINGS["grid"]


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", default=str(DATA), help="the JSB JSON file (or its folder)")
    p.add_argument("--minutes", type=float, default=10.0, help="total wall-time budget when --steps is not given")
    p.add_argument("--steps", type=int, help="training steps per variant (overrides --minutes)")
    p.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch's default)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
    p.add_argument("--block", type=int, default=256, help="context window in tokens (64 16th steps of 4 voices)")
    p.add_argument("--layers", type=int, default=4)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--width", type=int, default=128)
    p.add_argument("--dropout", type=float, default=0.1)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--transpose", type=int, default=0, help="augmentation: ± semitones (0: off)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", help="also write the JSON here")
    return p.parse_args(argv)


def chorale_streams(split) -> list[torch.Tensor]:
    """START tokens END for each chorale, (n + 2,) long each."""
    return [torch.tensor([ENC.start, *jsb_tokens(c), ENC.end], dtype=torch.long) for c in split]


def build(args, relative: bool, device) -> MusicTransformer:
    torch.manual_seed(args.seed)
    cfg = MusicTransformerConfig(vocab_size=ENC.vocab_size, block_size=args.block, n_layer=args.layers,
                                 n_head=args.heads, n_embd=args.width, dropout=args.dropout, relative=relative,
                                 encoding="grid", start_token=ENC.start, end_token=ENC.end, transpose=args.transpose)
    return MusicTransformer(cfg).to(device)


class Run:
    """One variant's model, optimizer and batch stream (seeded alike for both variants)."""

    def __init__(self, args, relative: bool, train: torch.Tensor, device, steps: int):
        self.args, self.train, self.device = args, train, device
        self.model = build(args, relative, device).train()
        self.opt = torch.optim.AdamW(self.model.optimizer_groups(), lr=args.lr, betas=(0.9, 0.98), weight_decay=0.1)
        self.schedule = TrainConfig(steps=max(steps, 1), lr=args.lr, warmup_steps=min(100, max(steps // 10, 1)))
        self.gen = torch.Generator().manual_seed(args.seed)
        self.step, self.loss = 0, float("nan")

    def train_step(self) -> None:
        a = self.args
        starts = torch.randint(0, len(self.train) - a.block - 1, (a.batch,), generator=self.gen)
        x = self.train[starts[:, None] + torch.arange(a.block + 1)]
        x = transpose(x, a.transpose, ENC.pitch_ranges, self.gen).to(self.device)
        for group in self.opt.param_groups:
            group["lr"] = lr_at(self.step, self.schedule)
        loss, _ = self.model.training_loss(x, self.gen)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.opt.step()
        self.step += 1
        self.loss = float(loss)


def seconds_per_step(args, relative: bool, train: torch.Tensor, device, steps: int = 3) -> float:
    run = Run(args, relative, train, device, 100)
    run.train_step()  # warm-up (allocations, kernels)
    sync(device)
    t0 = time.perf_counter()
    for _ in range(steps):
        run.train_step()
    sync(device)
    return (time.perf_counter() - t0) / steps


def sync(device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


@torch.no_grad()
def validation_nll(model: MusicTransformer, chorales: list[torch.Tensor], device, batch: int = 32) -> tuple[float, int]:
    """Mean NLL (nats) per chorale token, END excluded; windows slide by half a block."""
    model.eval()
    block, stride = model.config.block_size, model.config.block_size // 2
    inputs, targets = [], []
    for seq in chorales:
        seq = seq[:-1]  # START + tokens: predict every token, not END
        n = len(seq) - 1  # targets seq[1:]
        begin, scored = 0, 0  # window start; targets scored so far
        while scored < n:
            end = min(begin + block, n)  # the window predicts targets begin..end-1 from seq[begin:end]
            x = torch.zeros(block, dtype=torch.long)
            y = torch.full((block,), -100, dtype=torch.long)
            x[:end - begin] = seq[begin:end]
            first = scored - begin  # only targets not yet scored
            y[first:end - begin] = seq[1 + begin + first:1 + end]
            inputs.append(x)
            targets.append(y)
            scored = end
            begin = min(begin + stride, max(n - block, 0)) if end < n else end
    total, count = 0.0, 0
    for xs, ys in zip(torch.stack(inputs).split(batch), torch.stack(targets).split(batch)):
        logits = model(xs.to(device)).float()
        ys = ys.to(device)
        total += float(F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ys.reshape(-1), ignore_index=-100,
                                       reduction="sum"))
        count += int((ys != -100).sum())
    model.train()
    return total / count, count


def main(argv=None) -> dict:
    args = parse_args(argv)
    threads = set_threads(args.threads)
    device = resolve_device(args.device)
    splits = load_jsb(args.data)
    train = torch.cat(chorale_streams(splits["train"]))
    valid = chorale_streams(splits["valid"])
    t_start = time.perf_counter()
    timing = {}
    if args.steps:
        steps = args.steps
    else:
        timing = {name: seconds_per_step(args, rel, train, device) for name, rel in (("relative", True),
                                                                                      ("absolute", False))}
        spent = time.perf_counter() - t_start
        steps = max(1, int((args.minutes * 60 * 0.8 - spent) / sum(timing.values())))
    results = {}
    for name, relative in (("relative", True), ("absolute", False)):
        run = Run(args, relative, train, device, steps)
        sync(device)
        t0 = time.perf_counter()
        while run.step < steps:
            run.train_step()
        sync(device)
        train_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        nll, tokens = validation_nll(run.model, valid, device)
        results[name] = {"params": sum(p.numel() for p in run.model.parameters()), "steps": steps,
                         "train_seconds": round(train_s, 1), "ms_per_step": round(1000 * train_s / steps, 1),
                         "last_train_loss": round(run.loss, 4), "val_nll_per_token": round(nll, 4),
                         "val_bits_per_token": round(nll / math.log(2), 4), "val_tokens": tokens,
                         "eval_seconds": round(time.perf_counter() - t0, 1)}
    out = {"benchmark": "JSB Chorales validation NLL, Music Transformer relative vs absolute positions",
           "data": {"train_chorales": len(splits["train"]), "valid_chorales": len(valid), "train_tokens": len(train),
                    "encoding": f"S A T B per 16th step + START/END, {ENC.vocab_size} ids"},
           "settings": {k: v for k, v in vars(args).items() if k not in ("out", "data")},
           "steps_per_variant": steps, "calibration_s_per_step": {k: round(v, 4) for k, v in timing.items()},
           "torch": torch.__version__, "threads": threads, "device": str(device), "results": results,
           "relative_minus_absolute_nll": round(results["relative"]["val_nll_per_token"]
                                                - results["absolute"]["val_nll_per_token"], 4),
           "paper_relative_nll": PAPER_NLL, "total_seconds": round(time.perf_counter() - t_start, 1)}
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return out


if __name__ == "__main__":
    main()
