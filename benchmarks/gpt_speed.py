#!/usr/bin/env python
"""GenStudio's GPT on nanoGPT's CPU recipe (speed and validation loss), and KV-cached generation speed.

**Training** (``--part train``): nanoGPT's CPU Shakespeare recipe, trained with our model class
(``genstudio.models.transformer.GPT``): 4 layers, 4 heads, width 128, block 64, batch 12, 2,000
iterations, dropout 0, AdamW (β = 0.9, 0.99; weight decay 0.1 on matrices and embeddings only),
lr 1e-3 with 100 warmup steps then cosine to 1e-4 at step 2,000 (``trainers.loop.lr_at``), gradient
clipping at 1.0, character tokens of ``../shared/data/text/tinyshakespeare_input.txt`` (the first 90%
trains, the last 10% validates; our vocabulary has 5 more ids than nanoGPT's 65: the four special
tokens and ``<unk>``), random windows per batch as nanoGPT's ``get_batch`` draws them. Like nanoGPT's
CPU command it estimates the loss every 250 iterations on 20 batches of each split (counted in the
total seconds, not in ms/iteration); the final validation loss is nanoGPT's ``estimate_loss`` over
200 random validation batches, in fp32. Runners: ``plain`` is a tight loop (fused AdamW, foreach
clipping, no per-step ``.item()``); ``loop`` is the app's own ``trainers.loop.Trainer`` with the
``trainers.text`` family on the ``gpt`` ``small`` preset (previews, checkpoints and periodic
validation off; its ms/iteration comes from the step counter of its Progress events). Precision
``fp32``, or ``bf16`` (CPU autocast: the linears in bfloat16 with fp32 master weights; attention
stays fp32, see the model). The peer is nanoGPT itself, which is not a pip package and whose code
we do not copy: its figures are the measurement on this machine given in the issue (66 ms/iteration,
~11.6k tokens/s, validation loss 1.886, 140 s in all). Ratios are ours / peer tokens per second.

**Generation** (``--part generate``): 256 new tokens from a 16-token prompt with the KV cache and
without it, median of ``--repeats`` runs, on randomly initialised networks of the ``small`` shape
(block 64, so the window slides every 32 tokens) and the ``medium`` shape (block 256, 2,048 BPE-sized
vocabulary). End-of-text is barred so every run writes all 256 tokens.

    OMP_NUM_THREADS=1 python benchmarks/gpt_speed.py --threads 1                  # everything (~8 min)
    OMP_NUM_THREADS=1 python benchmarks/gpt_speed.py --part train --runner plain --precision bf16
    python benchmarks/gpt_speed.py --quick                                         # smoke run
Prints one JSON object (also to --out).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from genstudio.core.registry import get  # noqa: E402
from genstudio.models import transformer  # noqa: E402
from genstudio.models.tokenizer import EOT_ID, fit_tokenizer  # noqa: E402
from genstudio.models.transformer import GPT, GPTConfig  # noqa: E402
from trainers.loop import TrainConfig, cpu_has_native_bf16, lr_at  # noqa: E402

DATA = REPO.parent / "shared" / "data" / "text" / "tinyshakespeare_input.txt"
RECIPE = {"n_layer": 4, "n_head": 4, "n_embd": 128, "block_size": 64, "batch_size": 12, "iterations": 2000,
          "lr": 1e-3, "min_lr": 1e-4, "warmup": 100, "betas": (0.9, 0.99), "weight_decay": 0.1, "grad_clip": 1.0,
          "dropout": 0.0, "eval_interval": 250, "eval_iters": 20, "final_eval_iters": 200}
PEER = {"name": "nanoGPT (Karpathy), CPU recipe, measured on this machine (figures from the issue; nanoGPT is "
                "not pip-installable and its code is not copied here)",
        "ms_per_iter": 66.0, "tokens_per_s": 12 * 64 / 0.066, "val_loss": 1.886, "total_s": 140.0}


# -- training ----------------------------------------------------------------------------------------
def char_splits(text: str):
    tok = fit_tokenizer("char", [text])
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    cut = int(0.9 * len(ids))
    return tok, ids[:cut], ids[cut:]


def random_batch(data: torch.Tensor, batch: int, block: int, gen: torch.Generator) -> torch.Tensor:
    """(batch, block + 1) windows at uniform random offsets: nanoGPT's get_batch, inputs and targets in one."""
    starts = torch.randint(len(data) - block, (batch,), generator=gen)
    return data[starts[:, None] + torch.arange(block + 1)]


@torch.no_grad()
def estimate_loss(model, data: torch.Tensor, iters: int, gen: torch.Generator) -> float:
    """Mean next-token loss over ``iters`` random batches, eval mode, fp32 (nanoGPT's estimate_loss)."""
    was = model.training
    model.eval()
    losses = [float(model.validation_loss(random_batch(data, RECIPE["batch_size"], RECIPE["block_size"], gen)))
              for _ in range(iters)]
    model.train(was)
    return statistics.fmean(losses)


def train_plain(text: str, iters: int, precision: str, seed: int, eval_iters: int, final_iters: int,
                positions: str = "rotary") -> dict:
    tok, train, val = char_splits(text)
    cfg = GPTConfig(vocab_size=tok.vocab_size, block_size=RECIPE["block_size"], n_layer=RECIPE["n_layer"],
                    n_head=RECIPE["n_head"], n_embd=RECIPE["n_embd"], dropout=RECIPE["dropout"], positions=positions)
    torch.manual_seed(seed)
    model = GPT(cfg).train()
    optimizer = torch.optim.AdamW(model.optimizer_groups(), lr=RECIPE["lr"], betas=RECIPE["betas"],
                                  weight_decay=RECIPE["weight_decay"], fused=True)
    schedule = TrainConfig(steps=iters, lr=RECIPE["lr"], warmup_steps=RECIPE["warmup"],
                           min_lr_ratio=RECIPE["min_lr"] / RECIPE["lr"])
    params = list(model.parameters())
    batches, evals = torch.Generator().manual_seed(seed), torch.Generator().manual_seed(seed + 1)
    curve, step_s, start = [], [], time.perf_counter()
    for it in range(iters):
        if eval_iters and it % RECIPE["eval_interval"] == 0:
            curve.append({"iter": it, "train": round(estimate_loss(model, train, eval_iters, evals), 4),
                          "val": round(estimate_loss(model, val, eval_iters, evals), 4)})
        t = time.perf_counter()
        for group in optimizer.param_groups:
            group["lr"] = lr_at(it, schedule)
        x = random_batch(train, RECIPE["batch_size"], RECIPE["block_size"], batches)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16"):
            loss = model.next_token_loss(x)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(params, RECIPE["grad_clip"], foreach=True)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        step_s.append(time.perf_counter() - t)
    val_loss = estimate_loss(model, val, final_iters, evals)
    train_loss = estimate_loss(model, train, final_iters, evals)
    total = time.perf_counter() - start
    return summary("plain", precision, iters, step_s, total, val_loss, train_loss, curve, positions=positions,
                   parameters=sum(p.numel() for p in params), vocab_size=tok.vocab_size)


def train_with_app_loop(text: str, iters: int, seed: int, final_iters: int) -> dict:
    """The app's Trainer on the `small` preset: the loop's own data order, EMA step, metrics log, etc."""
    from genstudio.core import config as configlib
    from genstudio.core.events import Progress
    from genstudio.core.store import ModelStore
    from trainers import text as family
    from trainers.loop import StopFlag, Trainer, TrainJob

    spec = get("gpt")
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GENSTUDIO_HOME"] = tmp
        data_dir = Path(tmp) / "data"
        data_dir.mkdir()
        (data_dir / "input.txt").write_text(text, encoding="utf-8")
        settings = {**spec.train_settings("small"), "steps": iters, "seed": seed, "eval_every": 0,
                    "preview_every": 0, "checkpoint_every": 0}
        train_cfg = configlib.from_dict(TrainConfig, settings)
        job = TrainJob(spec, "bench-gpt", spec.model_config("small"), train_cfg, str(data_dir), torch.device("cpu"),
                       store=ModelStore(Path(tmp) / "models", bundled=Path(tmp) / "none"))
        marks = []

        def on_event(event):
            if isinstance(event, Progress):
                marks.append((event.step, time.perf_counter()))

        start = time.perf_counter()
        trainer = Trainer(job, family, on_event, StopFlag())
        trainer.run()
        total = time.perf_counter() - start
        model = GPT(job.model_config)
        card, tensors = job.store.load("bench-gpt")
        model.load_state_dict(tensors)
        evals = torch.Generator().manual_seed(seed + 1)
        val_loss = estimate_loss(model, trainer.data.val.long(), final_iters, evals)
        train_loss = estimate_loss(model, trainer.data.train.long(), final_iters, evals)
    (s0, t0), (s1, t1) = marks[0], marks[-1]
    per_step = [(t1 - t0) / max(1, s1 - s0)] * iters
    precision = "bf16" if train_cfg.cpu_bf16 and cpu_has_native_bf16() else "fp32"  # the preset's choice
    return summary("loop", precision, iters, per_step, total, val_loss, train_loss, [], positions="rotary",
                   parameters=sum(p.numel() for p in model.parameters()), vocab_size=job.model_config.vocab_size,
                   note="trainers.loop.Trainer + trainers.text, gpt `small` preset; the tokenizer is fitted on the "
                        "training split only; total includes reading and encoding the text and publishing the model")


def summary(runner, precision, iters, step_s, total, val_loss, train_loss, curve, **extra) -> dict:
    ms = 1000 * statistics.fmean(step_s)
    tokens_per_s = RECIPE["batch_size"] * RECIPE["block_size"] / (ms / 1000)
    return {"runner": runner, "precision": precision, "iterations": iters, "ms_per_iter": round(ms, 2),
            "ms_per_iter_median": round(1000 * statistics.median(step_s), 2), "tokens_per_s": round(tokens_per_s),
            "total_s": round(total, 1), "val_loss": round(val_loss, 4), "train_loss": round(train_loss, 4),
            "ratio_tokens_per_s_vs_peer": round(tokens_per_s / PEER["tokens_per_s"], 3),
            "val_loss_at_or_below_peer": val_loss <= PEER["val_loss"], "curve": curve, **extra}


# -- generation --------------------------------------------------------------------------------------
def bar_end_of_text():
    """Every run writes all its tokens: end-of-text gets no probability (an index_fill per token)."""
    original = transformer.sample_token

    def sample_without_eot(logits, *args, **kwargs):
        return original(logits.index_fill(0, torch.tensor([EOT_ID]), float("-inf")), *args, **kwargs)

    transformer.sample_token = sample_without_eot


def generation(tokens: int, repeats: int) -> list[dict]:
    bar_end_of_text()
    rows = []
    for preset, vocab in (("small", 70), ("medium", 2048)):
        spec = get("gpt")
        cfg = spec.model_config(preset, {"vocab_size": vocab, "dropout": 0.0})
        torch.manual_seed(0)
        model = GPT(cfg).eval()
        prompt = list(range(5, 21))
        times = {True: [], False: []}
        for r in range(repeats + 1):  # the first round warms up
            for use_cache in ((True, False) if r % 2 else (False, True)):
                t = time.perf_counter()
                out = list(model.generate_tokens(prompt, tokens, temperature=0.8, top_k=0, top_p=0.95, seed=r,
                                                 use_cache=use_cache))
                assert len(out) == tokens
                if r:
                    times[use_cache].append(time.perf_counter() - t)
        cached, plain = (tokens / statistics.median(times[k]) for k in (True, False))
        rows.append({"shape": preset, "block_size": cfg.block_size, "n_layer": cfg.n_layer, "n_embd": cfg.n_embd,
                     "vocab_size": vocab, "new_tokens": tokens, "tokens_per_s_cache": round(cached, 1),
                     "tokens_per_s_no_cache": round(plain, 1), "speedup": round(cached / plain, 2)})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part", choices=("all", "train", "generate"), default="all")
    p.add_argument("--runner", default="plain,loop", help="comma list: plain, loop")
    p.add_argument("--precision", default="fp32,bf16", help="comma list for the plain runner: fp32, bf16")
    p.add_argument("--positions", choices=("rotary", "learned"), default="rotary",
                   help="the plain runner's position encoding (learned = nanoGPT's)")
    p.add_argument("--iters", type=int, default=RECIPE["iterations"])
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--tokens", type=int, default=256, help="new tokens per generation run")
    p.add_argument("--repeats", type=int, default=3, help="generation runs per setting (median)")
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--quick", action="store_true", help="smoke run: 30 iterations, short evaluations")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    iters, eval_iters, final_iters = (30, 2, 5) if args.quick else (args.iters, RECIPE["eval_iters"],
                                                                    RECIPE["final_eval_iters"])
    result = {"benchmark": "gpt_speed", "torch": torch.__version__, "threads": torch.get_num_threads(),
              "loadavg_start": os.getloadavg(), "recipe": RECIPE, "peer": PEER}
    if args.part in ("all", "train"):
        text = args.data.read_text(encoding="utf-8")
        runs = []
        for runner in args.runner.split(","):
            if runner == "plain":
                runs += [train_plain(text, iters, precision, args.seed, eval_iters, final_iters, args.positions)
                         for precision in args.precision.split(",")]
            elif runner == "loop":
                runs.append(train_with_app_loop(text, iters, args.seed, final_iters))
            else:
                p.error(f"unknown runner {runner!r}")
        result["train"] = runs
    if args.part in ("all", "generate"):
        result["generation"] = generation(8 if args.quick else args.tokens, 1 if args.quick else args.repeats)
    result["loadavg_end"] = os.getloadavg()
    text = json.dumps(result, indent=1)
    print(text)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
