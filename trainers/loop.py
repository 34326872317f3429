"""The one training loop every architecture uses.

AdamW, linear warmup then cosine decay (or CycleGAN's linear decay to zero), gradient clipping, an
EMA copy of the weights, mixed precision on CUDA, gradient accumulation; checkpoints every N steps
and on stop; previews every N steps; exact resume. The loop does no printing: it ``emit``s events
(core/events.py), and the front-end (``trainers.__main__``) turns them into JSON Lines or a tqdm
bar. Data order is a pure function of (seed, epoch), so resuming needs only the count of samples
consumed.

Batches come from the family module (``make_batch``) as images, or as (images, conditioning) where
the data carries class ``labels``, caption ``tokens`` or, for two-domain models (CycleGAN), a batch
``x_b`` of the second folder; conditioning goes to ``training_loss`` as keyword arguments, and so
does ``step`` where ``training_loss`` takes it (a model trained in stages knows which one it is in).
A model with ``training_phases`` (a GAN: ``("d", "g")``) gets one optimizer step per phase on the
same batches, called as ``training_loss(x, generator, phase=..., step=...)``; each phase moves only
the parameter groups its ``optimizer_groups()`` assigns to it.

A family module may also have ``validation_loss(model, data, cfg, device)`` (text: held-out windows);
with ``eval_every`` set, the loop measures the weights it publishes every ``eval_every`` steps and at
the last step, as the metric ``val_loss``. A family whose previews are text (``preview_samples``
returns a string) gets them as ``Preview.text`` and a ``.txt`` beside the image previews.
"""

from __future__ import annotations

import copy
import inspect
import io
import json
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from genstudio.core import config as configlib
from genstudio.core.data.images import make_grid
from genstudio.core.errors import CheckpointError, ModelFileError
from genstudio.core.events import Done, EtaClock, Event, Log, Preview, Progress, drive
from genstudio.core.paths import runs_dir
from genstudio.core.registry import ArchSpec
from genstudio.core.store import ModelStore, new_card
from trainers import checkpoint
from trainers.quality import QualityCheck

PREVIEW_SEED = 1234  # fixed so successive previews show the same images improving
SCHEDULES = ("cosine", "linear-decay")


@dataclass
class TrainConfig:
    steps: int = 10000  # optimizer steps in total
    batch_size: int = 32
    lr: float = 2e-4  # peak learning rate, after warmup
    weight_decay: float = 0.0
    betas: tuple[float, ...] = (0.9, 0.999)
    warmup_steps: int = 200
    min_lr_ratio: float = 0.1  # cosine decays to lr * this
    schedule: str = "cosine"  # after warmup: "cosine" to lr * min_lr_ratio, or "linear-decay": lr for the
    # first half of the steps, then linearly to zero (CycleGAN's)
    grad_clip: float = 1.0  # max global grad norm (0 = off)
    ema_decay: float = 0.999
    grad_accum: int = 1  # micro-batches per optimizer step
    checkpoint_every: int = 500
    preview_every: int = 500
    preview_count: int = 16
    mixed_precision: bool = True  # bf16/fp16 autocast on CUDA
    cpu_bf16: bool = False  # bf16 autocast on a CPU with native bf16 (AVX-512 BF16): ~2× for a small
    # transformer at the same loss (benchmarks/gpt_speed.py); fp32 master weights either way
    hflip: bool = False  # random horizontal flips (doubles small folders; wrong for text-like images)
    seed: int = 0
    quality_samples: int = 0  # samples scored (FD, KID, near-copies; trainers/quality.py) at each preview; 0 = off
    quality_train_limit: int = 2000  # training images the quality check compares with (a fixed subset; 0 = all)
    quality_encoder_steps: int = 200  # training steps of its feature encoder (~25 s on a CPU core at 2,000 images)
    eval_every: int = 0  # validation loss every N steps and at the end, for families that have one; 0 = off

    def __post_init__(self):
        if self.schedule not in SCHEDULES:
            raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")


@dataclass
class TrainJob:
    """Everything one run needs; the CLI and the UI both fill this in."""

    spec: ArchSpec
    name: str
    model_config: Any
    train: TrainConfig
    data_dir: str  # the training folder (domain A's for two-domain architectures)
    device: Any  # torch.device
    resume: bool = False
    from_model: str | None = None
    preset: str = "small"
    store: ModelStore = field(default_factory=ModelStore)
    data_dir_b: str | None = None  # domain B's folder, for architectures that translate between two

    @property
    def run_dir(self) -> Path:
        return runs_dir() / self.name


class StopFlag:
    """Set by SIGTERM/SIGINT handlers, a "stop" line from the UI, or a ``stop.request`` file in the
    run folder (how a window that re-attached to a trainer it did not start asks it to stop, on any
    OS); the loop checks it every step."""

    def __init__(self):
        self._event = threading.Event()
        self.stop_at_step: int | None = None  # tests: stop after this step, deterministically
        self.request_file: Path | None = None

    def set(self) -> None:
        self._event.set()

    def is_set(self, step: int | None = None) -> bool:
        if self.request_file is not None and not self._event.is_set() and self.request_file.exists():
            self._event.set()
        return self._event.is_set() or (self.stop_at_step is not None and step is not None
                                        and step >= self.stop_at_step)


def lr_at(step: int, cfg: TrainConfig) -> float:
    if step < cfg.warmup_steps:
        return cfg.lr * (step + 1) / cfg.warmup_steps
    if cfg.schedule == "linear-decay":
        half = cfg.steps // 2
        return cfg.lr * min(1.0, max(0.0, (cfg.steps - step) / max(1, cfg.steps - half)))
    span = max(1, cfg.steps - cfg.warmup_steps)
    progress = min(1.0, (step - cfg.warmup_steps) / span)
    return cfg.lr * (cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress)))


class DataStream:
    """Endless batches over N items: each epoch a permutation seeded by (seed, epoch)."""

    def __init__(self, size: int, seed: int, consumed: int = 0):
        self.size, self.seed, self.consumed = size, seed, consumed
        self._epoch, self._perm = -1, None

    def next_indices(self, batch: int) -> torch.Tensor:
        out = []
        for _ in range(batch):
            epoch, pos = divmod(self.consumed, self.size)
            if epoch != self._epoch:
                gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
                self._epoch, self._perm = epoch, torch.randperm(self.size, generator=gen)
            out.append(self._perm[pos])
            self.consumed += 1
        return torch.stack(out)


@torch.no_grad()
def update_ema(ema: torch.nn.Module, model: torch.nn.Module, decay: float) -> None:
    for e, p in zip(ema.parameters(), model.parameters()):
        e.lerp_(p.detach(), 1 - decay)
    for e, b in zip(ema.buffers(), model.buffers()):
        e.copy_(b)


def open_metrics_log(path: Path, resume_step: int):
    """The run's metrics.jsonl, open for appending, with any steps past ``resume_step`` dropped.

    A killed run may have logged steps after its last checkpoint; resuming repeats those steps, so
    their old lines go, and a plot of the file never shows a step twice.
    """
    if path.exists():
        kept = [line for line in path.read_text(encoding="utf-8").splitlines(keepends=True)
                if line.strip() and json.loads(line).get("step", 0) <= resume_step]
        path.write_text("".join(kept), encoding="utf-8")
    return open(path, "a", encoding="utf-8", buffering=1)  # line-buffered: a crash loses at most a line


def grid_png(images: np.ndarray) -> bytes:
    """N×H×W×3 uint8 -> PNG bytes of a near-square grid with 2-pixel gutters."""
    buf = io.BytesIO()
    make_grid(images).save(buf, format="PNG")
    return buf.getvalue()


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 in hardware; without it bf16 autocast is emulated and slower."""
    return bool(getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
                or getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())


def parameter_groups(model: torch.nn.Module) -> list[dict]:
    """The optimizer's parameter groups: the model's own (``optimizer_groups()``: dicts of ``params``,
    an ``lr_scale``, e.g. a StyleGAN mapping network at 1/100 of the learning rate, and for models
    with ``training_phases`` the ``phase`` whose loss moves them) or one group."""
    groups = model.optimizer_groups() if hasattr(model, "optimizer_groups") else [{"params": model.parameters()}]
    return [{"lr_scale": 1.0, **group, "params": list(group["params"])} for group in groups]


class Trainer:
    quality: QualityCheck | None = None  # made at the first preview that scores samples

    def __init__(self, job: TrainJob, family, emit: Callable[[Event], None], stop: StopFlag):
        self.job, self.family, self.emit, self.stop = job, family, emit, stop
        self.cfg = job.train
        self.device = job.device
        self.last_metrics: dict[str, float] = {}
        job.run_dir.mkdir(parents=True, exist_ok=True)
        self.data, self.report = family.load_data(job)

    # -- set-up --------------------------------------------------------------------------------
    def _build(self):
        torch.manual_seed(self.cfg.seed)
        model = self.job.spec.build(self.job.model_config).to(self.device)
        if self.job.from_model and not self.job.resume:
            card, tensors = self.job.store.load(self.job.from_model)
            model.load_state_dict(tensors)
            self.emit(Log(f"Fine-tuning from '{self.job.from_model}' ({card.get('steps', 0)} steps)."))
        ema = copy.deepcopy(model).eval().requires_grad_(False)
        optimizer = torch.optim.AdamW(parameter_groups(model), lr=self.cfg.lr, betas=tuple(self.cfg.betas),
                                      weight_decay=self.cfg.weight_decay)
        noise = torch.Generator(self.device).manual_seed(self.cfg.seed)
        return model, ema, optimizer, noise

    def _autocast(self):
        if self.device.type == "cuda" and self.cfg.mixed_precision:
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            return torch.autocast("cuda", dtype=dtype)
        if self.device.type == "cpu" and self.cfg.cpu_bf16 and cpu_has_native_bf16():
            return torch.autocast("cpu", dtype=torch.bfloat16)
        return torch.autocast(self.device.type, enabled=False)

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> Done:
        job, cfg = self.job, self.cfg
        model, ema, optimizer, noise = self._build()
        step, consumed, elapsed = 0, 0, 0.0
        ckpt_dir = job.run_dir / "checkpoint"
        if job.resume:
            found = checkpoint.find(ckpt_dir)
            if found is None:
                raise CheckpointError(f"There is no checkpoint to resume for '{job.name}'.")
            meta = checkpoint.restore(found, model=model, ema=ema, optimizer=optimizer, noise_generator=noise)
            step, consumed, elapsed = meta["step"], meta["consumed"], meta.get("elapsed_s", 0.0)
            self.emit(Log(f"Resumed '{job.name}' at step {step} of {cfg.steps}."))
        stream = DataStream(len(self.data), cfg.seed, consumed)
        use_scaler = self.device.type == "cuda" and cfg.mixed_precision and not torch.cuda.is_bf16_supported()
        scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)
        clock, t0, last_emit = EtaClock(step, cfg.steps), time.perf_counter(), 0.0
        stopped = False
        model.train()
        with open_metrics_log(job.run_dir / "metrics.jsonl", step) as metrics_log:
            while step < cfg.steps:
                if self.stop.is_set(step):
                    stopped = True
                    break
                for group in optimizer.param_groups:
                    group["lr"] = lr_at(step, cfg) * group.get("lr_scale", 1.0)
                metrics = self._optimizer_steps(model, optimizer, stream, noise, scaler, step)
                step += 1
                update_ema(ema, model, min(cfg.ema_decay, (1 + step) / (10 + step)))
                metrics["lr"] = optimizer.param_groups[0]["lr"]
                validated = self._validate(ema, step, metrics)
                self._log_metrics(metrics_log, step, metrics)
                now = time.perf_counter()
                if now - last_emit > 0.25 or step == cfg.steps or validated:
                    self.emit(Progress(step, cfg.steps, clock.eta(step), metrics, stage="train"))
                    last_emit = now
                if cfg.checkpoint_every and step % cfg.checkpoint_every == 0 and step < cfg.steps:
                    self._checkpoint(ckpt_dir, model, ema, optimizer, noise, step, stream, elapsed + now - t0)
                if cfg.preview_every and step % cfg.preview_every == 0:
                    self._preview(ema, step)
        elapsed += time.perf_counter() - t0
        self._checkpoint(ckpt_dir, model, ema, optimizer, noise, step, stream, elapsed)
        info = self._publish(ema, step, elapsed)
        return Done(model=info.name, path=str(info.path), steps=step, stopped=stopped,
                    metrics=self.last_metrics)

    def _optimizer_steps(self, model, optimizer, stream: DataStream, noise: torch.Generator, scaler,
                         step: int) -> dict[str, float]:
        """One training step: one optimizer step per phase of the model (one for most models; a GAN
        steps its discriminator, then its generator, each on the same batches)."""
        phases = getattr(model, "training_phases", None)
        batches = [self._next_batch(stream, noise) for _ in range(self.cfg.grad_accum)]
        metrics: dict[str, float] = {}
        wants_step = "step" in inspect.signature(model.training_loss).parameters
        for phase in phases or (None,):
            extra = {"step": step} if wants_step else {}
            if phase is not None:
                extra["phase"] = phase
            metrics.update(self._accumulate(model, batches, noise, scaler, extra))
            for group in optimizer.param_groups:  # a phase moves only its own groups (G's loss reaches D too)
                if phase is not None and group.get("phase", phase) != phase:
                    for p in group["params"]:
                        p.grad = None
            params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
            if self.cfg.grad_clip:
                scaler.unscale_(optimizer)
                key = "grad_norm" if phase is None else f"grad_norm_{phase}"
                metrics[key] = float(torch.nn.utils.clip_grad_norm_(params, self.cfg.grad_clip))
            scaler.step(optimizer)  # AdamW skips parameters without a gradient: only this phase's move
            scaler.update()
            optimizer.zero_grad(set_to_none=True)
        return metrics

    def _next_batch(self, stream: DataStream, noise: torch.Generator) -> tuple[torch.Tensor, dict]:
        """(images, conditioning): conditioning holds ``labels`` or caption ``tokens`` when the data has them."""
        idx = stream.next_indices(self.cfg.batch_size)
        batch = self.family.make_batch(self.data, idx, noise, self.cfg, self.device)
        return batch if isinstance(batch, tuple) else (batch, {})

    def _accumulate(self, model, batches, noise: torch.Generator, scaler, extra: dict) -> dict[str, float]:
        totals: dict[str, float] = {}
        for x, cond in batches:
            with self._autocast():
                loss, metrics = model.training_loss(x, noise, **cond, **extra)
            scaler.scale(loss / len(batches)).backward()
            for k, v in metrics.items():
                totals[k] = totals.get(k, 0.0) + v / len(batches)
        if not all(math.isfinite(v) for v in totals.values()):
            raise FloatingPointError("The loss became NaN or infinite; try a lower learning rate.")
        return totals

    def _validate(self, ema, step: int, metrics: dict[str, float]) -> bool:
        """Put ``val_loss`` into ``metrics`` when it is due (measured on the EMA weights, the ones
        published; with ``ema_decay`` 0 they are the model's own)."""
        every, measure = self.cfg.eval_every, getattr(self.family, "validation_loss", None)
        if not every or measure is None or (step % every and step != self.cfg.steps):
            return False
        loss = measure(ema, self.data, self.cfg, self.device)
        if loss is None:
            return False
        metrics["val_loss"] = loss
        self.emit(Log(f"step {step}: val loss {loss:.4f}"))
        return True

    def _log_metrics(self, log, step: int, metrics: dict[str, float]) -> None:
        self.last_metrics = {k: round(v, 6) for k, v in metrics.items()}
        log.write(json.dumps({"step": step, **self.last_metrics}) + "\n")

    def _checkpoint(self, folder, model, ema, optimizer, noise, step, stream, elapsed) -> None:
        job = self.job
        meta = {"arch": job.spec.name, "name": job.name, "step": step, "consumed": stream.consumed,
                "elapsed_s": round(elapsed, 2), "preset": job.preset, "data_dir": job.data_dir,
                "data_dir_b": job.data_dir_b,
                "from_model": job.from_model, "model_config": configlib.to_dict(job.model_config),
                "train_config": configlib.to_dict(self.cfg), "data": self.report.summary()}
        checkpoint.save(folder, model=model, ema=ema, optimizer=optimizer, noise_generator=noise, meta=meta)

    def _sample_grid(self, ema) -> np.ndarray | str:
        """The family's preview: an image grid, or a text for text families."""
        return drive(self.family.preview_samples(ema, self.cfg.preview_count, PREVIEW_SEED, self.data))

    def _preview(self, ema, step: int) -> None:
        folder = self.job.run_dir / "previews"
        folder.mkdir(parents=True, exist_ok=True)
        samples = self._sample_grid(ema)
        kind = "EMA samples" if self.cfg.ema_decay > 0 else "Samples"
        if isinstance(samples, str):  # one text sample
            path = folder / f"step_{step:07d}.txt"
            path.write_text(samples, encoding="utf-8")
            kind = "EMA sample" if self.cfg.ema_decay > 0 else "Sample"
            self.emit(Preview(step, path=str(path), text=samples, caption=f"{kind} at step {step}"))
            return
        path = folder / f"step_{step:07d}.png"
        path.write_bytes(grid_png(samples))
        self.emit(Preview(step, path=str(path), caption=f"{kind} at step {step}"))
        if self.cfg.quality_samples > 0:
            if self.quality is None:
                self.quality = QualityCheck(self.job.run_dir, self.data, self.family, self.cfg, self.device, self.emit)
            self.quality.measure(ema, step)

    def _publish(self, ema, step: int, elapsed: float):
        job = self.job
        samples = self._sample_grid(ema)
        text = {"sample_text": samples} if isinstance(samples, str) else {}
        card = new_card(job.name, job.spec.name, configlib.to_dict(job.model_config), steps=step,
                        data=self.report.summary(), metrics=self.last_metrics, family=job.spec.family,
                        modality=job.spec.modality, preset=job.preset, parent=job.from_model,
                        train=configlib.to_dict(self.cfg), train_seconds=round(elapsed, 1),
                        device=str(self.device), **text)
        try:
            return job.store.save(card, ema.state_dict(), samples_png=None if text else grid_png(samples),
                                  overwrite=True)
        except OSError as err:
            raise ModelFileError(f"Could not save '{job.name}' to the library ({err.strerror or err}). "
                                 f"The checkpoint in {job.run_dir} is safe: free some space and run "
                                 "again with --resume.") from None
