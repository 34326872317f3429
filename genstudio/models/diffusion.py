"""Gaussian diffusion: the process (schedule, loss, samplers) apart from the denoiser network.

Ho et al., "Denoising Diffusion Probabilistic Models" (2020); Nichol & Dhariwal, "Improved DDPM"
(2021) for the cosine schedule and respacing; Song et al., "Denoising Diffusion Implicit Models"
(2021) for DDIM; Salimans & Ho (2022) for v-prediction. Both samplers walk any subsequence of the
training timesteps, so DDPM ancestral and DDIM (any η) take any step count. Each image draws its
noise from its own seed, so image i of a grid is the same image when generated alone (seed + i).
Inpainting runs the same steps under RePaint's resampling (``inpainting.repaint``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genstudio.core.events import EtaClock, Preview, Progress
from genstudio.core.registry import ArchSpec, Capability, register
from genstudio.models import inpainting
from genstudio.models.common import seed_labels, seeded_noise, to_uint8
from genstudio.models.unet import UNet

SAMPLERS = ("ddim", "ddpm")


@dataclass
class DDPMConfig:
    image_size: int = 32  # pixels, square; 32–128, divisible by 2^(levels-1)
    channels: int = 3  # RGB
    base_width: int = 64  # channels at full resolution
    channel_mults: tuple[int, ...] = (1, 2, 2)  # width multiplier per resolution level
    res_blocks: int = 2  # residual blocks per level
    attention_resolutions: tuple[int, ...] = (8,)  # feature-map sizes that get self-attention
    attention_heads: int = 4
    dropout: float = 0.0
    timesteps: int = 1000  # training noise levels
    schedule: str = "cosine"  # "cosine" (Nichol & Dhariwal) or "linear" (Ho et al.)
    prediction: str = "v"  # network target: "eps" (noise) or "v" (velocity)
    classes: tuple[str, ...] = ()  # class names (training subfolders); empty: unconditional
    label_dropout: float = 0.1  # share of training steps without the class, for classifier-free guidance

    def __post_init__(self):
        if not 32 <= self.image_size <= 128:
            raise ValueError(f"image_size must be 32–128, got {self.image_size}")
        if self.image_size % 2 ** (len(self.channel_mults) - 1):
            raise ValueError("image_size must be divisible by 2^(number of levels - 1)")
        check_process(self)
        if self.base_width % self.attention_heads:
            raise ValueError("base_width must be divisible by attention_heads")


def check_process(cfg) -> None:
    """The diffusion-process settings every denoiser's config shares (UNet, DiT, latent)."""
    if cfg.timesteps < 1:
        raise ValueError(f"timesteps must be at least 1, got {cfg.timesteps}")
    if cfg.schedule not in ("cosine", "linear"):
        raise ValueError(f"schedule must be 'cosine' or 'linear', got {cfg.schedule!r}")
    if cfg.prediction not in ("eps", "v"):
        raise ValueError(f"prediction must be 'eps' or 'v', got {cfg.prediction!r}")


def alphas_cumprod(schedule: str, timesteps: int) -> torch.Tensor:
    """ᾱ_t for t = 0..T-1 in float64."""
    if schedule == "linear":
        betas = torch.linspace(1e-4 * 1000 / timesteps, 0.02 * 1000 / timesteps, timesteps, dtype=torch.float64)
        return torch.cumprod(1 - betas, 0)
    s = 0.008
    steps = torch.arange(timesteps + 1, dtype=torch.float64) / timesteps
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    betas = (1 - f[1:] / f[:-1]).clamp(max=0.999)
    return torch.cumprod(1 - betas, 0)


def timestep_sequence(timesteps: int, steps: int, strength: float = 1.0) -> list[int]:
    """``steps`` evenly spaced training timesteps, from T-1 down to 0. A ``strength`` below 1 walks
    only the last part of the process, from round(strength·(T-1)), in proportionally fewer steps
    (a partial redraw starts from the original noised that far)."""
    start = int(round(strength * (timesteps - 1)))
    steps = max(1, min(int(round(steps * strength)), start + 1))  # one step jumps from `start` to the image
    return sorted({int(round(x)) for x in np.linspace(start, 0, steps)}, reverse=True)


class DiffusionModel(nn.Module):
    """A denoiser network plus the Gaussian diffusion process that trains and samples it."""

    preview_options = {"steps": 25, "sampler": "ddim"}  # fast DDIM previews while training
    clip_x0 = True  # pixels live in [-1, 1]; a latent-space subclass turns this off

    def __init__(self, config: DDPMConfig, net: nn.Module | None = None):
        super().__init__()
        self.config = config
        self.num_classes = len(getattr(config, "classes", ()))
        self.net = net or UNet(config.image_size, config.channels, config.base_width,
                               config.channel_mults, config.res_blocks, config.attention_resolutions,
                               config.attention_heads, config.dropout, self.num_classes)
        ab = alphas_cumprod(config.schedule, config.timesteps)
        # Non-persistent: derived from the config, so they are not part of the weights file.
        self.register_buffer("ab", ab.float(), persistent=False)

    # -- conditioning --------------------------------------------------------------------------
    # A condition is a dict of keyword arguments for the network ({"labels": (B,)} here; subclasses
    # add text); None means unconditional. ``null_condition`` is what guidance compares against.
    def null_condition(self, batch: int, device) -> dict | None:
        if not self.num_classes:
            return None
        return {"labels": torch.full((batch,), self.num_classes, dtype=torch.long, device=device)}

    def drop_condition(self, cond: dict | None, generator: torch.Generator, rate: float) -> dict | None:
        """Replace the condition by the null one for a random ``rate`` of the batch (CFG training)."""
        if cond is None or rate <= 0:
            return cond
        batch = len(next(iter(cond.values())))
        drop = torch.rand(batch, generator=generator, device=generator.device) < rate
        null = self.null_condition(batch, drop.device)
        out = {}
        for key, value in cond.items():
            mask = drop.to(value.device).view(-1, *[1] * (value.dim() - 1))
            out[key] = torch.where(mask, null[key].to(value.device), value)
        return out

    def network_output(self, x_t, t, cond: dict | None, guidance: float = 1.0, uncond: dict | None = None):
        """The network's prediction with classifier-free guidance: out(∅) + s·(out(c) − out(∅)), where
        ∅ is ``uncond`` (a negative prompt) or the null condition. s = 1 is plain conditional
        sampling, s = 0 unconditional; both halves run as one batch."""
        if cond is None or guidance == 1.0:
            return self.net(x_t, t, **(cond or {}))
        uncond = uncond or self.null_condition(x_t.shape[0], x_t.device)
        if guidance == 0.0:
            return self.net(x_t, t, **uncond)
        both = {k: torch.cat([uncond[k], cond[k]]) for k in cond}
        out_u, out_c = self.net(torch.cat([x_t, x_t]), torch.cat([t, t]), **both).chunk(2)
        return out_u + guidance * (out_c - out_u)

    # -- training ------------------------------------------------------------------------------
    def training_loss(self, x0: torch.Tensor, generator: torch.Generator,
                      labels: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """MSE between the network output and its target at random timesteps; x0 in [-1, 1]."""
        cond = {"labels": labels} if labels is not None and self.num_classes else None
        return self.denoising_loss(x0, generator, cond, getattr(self.config, "label_dropout", 0.0))

    def denoising_loss(self, x0, generator, cond: dict | None, dropout: float) -> tuple[torch.Tensor, dict]:
        B = x0.shape[0]
        t = torch.randint(0, self.config.timesteps, (B,), generator=generator, device=generator.device)
        noise = torch.randn(x0.shape, generator=generator, device=generator.device)
        t, noise = t.to(x0.device), noise.to(x0.device)
        cond = self.drop_condition(cond, generator, dropout)
        x_t = self.diffuse(x0, t, noise)
        ab = self.ab[t][:, None, None, None]
        target = noise if self.config.prediction == "eps" else ab.sqrt() * noise - (1 - ab).sqrt() * x0
        loss = F.mse_loss(self.net(x_t, t, **(cond or {})), target)
        return loss, {"loss": loss.item()}

    def diffuse(self, x: torch.Tensor, t, noise: torch.Tensor, t_from: int = -1) -> torch.Tensor:
        """q(x_t | x_from): ``x`` at noise level ``t_from`` (-1: the clean image) taken to level ``t`` (an
        int, or a (B,) tensor of them) with ``noise``. The forward process is Markov, so from a noisy
        x only ᾱ_t / ᾱ_from of the signal remains to be lost."""
        ab = self.ab[t] / self.ab[t_from] if t_from >= 0 else self.ab[t]
        if ab.dim():
            ab = ab.view(-1, *[1] * (x.dim() - 1))
        return ab.sqrt() * x + (1 - ab).sqrt() * noise

    # -- sampling ------------------------------------------------------------------------------
    def predict_x0_eps(self, x_t: torch.Tensor, t: int, cond: dict | None = None, guidance: float = 1.0,
                       uncond: dict | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The denoised image (clipped to [-1, 1] unless ``clip_x0`` is off) and the noise consistent with it."""
        tt = torch.full((x_t.shape[0],), t, device=x_t.device, dtype=torch.long)
        out = self.network_output(x_t, tt, cond, guidance, uncond)
        ab = self.ab[t]
        if self.config.prediction == "eps":
            x0 = (x_t - (1 - ab).sqrt() * out) / ab.sqrt()
        else:
            x0 = ab.sqrt() * x_t - (1 - ab).sqrt() * out
        if self.clip_x0:
            x0 = x0.clamp(-1, 1)
        eps = (x_t - ab.sqrt() * x0) / (1 - ab).sqrt()
        return x0, eps

    @torch.inference_mode()
    def sample(self, n: int = 1, seed: int = 0, steps: int = 25, sampler: str = "ddim", eta: float = 0.0,
               label: int = -1, guidance: float = 1.0, preview_every: int = 0, seeds: list[int] | None = None):
        """Generator: yields Progress each step (and Preview of the predicted image every
        ``preview_every`` steps); returns N×H×W×3 uint8. Image i uses ``seed + i`` unless ``seeds``.
        A class-conditional model draws ``label`` (-1: each image's class from its seed), guided by
        ``guidance`` (1 = plain conditional)."""
        seeds = list(seeds) if seeds is not None else [seed + i for i in range(n)]
        x = yield from self.sample_loop(seeds, steps, sampler, eta, self.class_condition(seeds, label), guidance,
                                        None, preview_every)
        return to_uint8(x)

    def class_condition(self, seeds: list[int], label: int) -> dict | None:
        labels = seed_labels(seeds, label, self.num_classes)
        return None if labels is None else {"labels": labels.to(self.ab.device)}

    @torch.inference_mode()
    def inpaint(self, image, mask, n: int = 1, seed: int = 0, steps: int = 25, strength: float = 1.0,
                preview_every: int = 0, seeds: list[int] | None = None, sampler: str = "ddim", eta: float = 0.0,
                harmonize: int = inpainting.DEFAULT_HARMONIZE, label: int = -1, guidance: float = 1.0):
        """Generator: repaints where ``mask`` (S×S, 1 = repaint) is set in ``image`` (S×S×C uint8) by
        RePaint resampling (``inpainting.repaint``); yields Progress (stage "inpaint") per network
        call; returns N×S×S×C uint8 whose known pixels are exactly the original's."""
        seeds = inpainting.candidate_seeds(n, seed, seeds)
        inpainting.check_options(steps, strength, harmonize)
        check_sampler(sampler)
        known, unknown = inpainting.image_tensors(image, mask, self.config, self.ab.device)
        ts = timestep_sequence(self.config.timesteps, steps, strength)
        x = yield from inpainting.repaint(self, known, unknown, ts, seeds, sampler, eta, harmonize, strength >= 1,
                                          self.class_condition(seeds, label), guidance, None, preview_every)
        return to_uint8(x)

    def sample_loop(self, seeds, steps: int, sampler: str, eta: float, cond: dict | None, guidance: float,
                    uncond: dict | None, preview_every: int, shape: tuple[int, ...] | None = None,
                    decode=None):
        """The reverse process from each seed's noise to x0 (in the space the network works in:
        pixels, or latents with ``shape`` and a ``decode`` for previews)."""
        check_sampler(sampler)
        cfg, device = self.config, self.ab.device
        gens = [torch.Generator().manual_seed(int(s)) for s in seeds]
        x = seeded_noise(shape or (cfg.channels, cfg.image_size, cfg.image_size), gens).to(device)
        ts = timestep_sequence(cfg.timesteps, steps)
        clock = EtaClock(0, len(ts))
        for i, t in enumerate(ts):
            t_prev = ts[i + 1] if i + 1 < len(ts) else -1
            x, x0 = self.reverse_step(x, t, t_prev, sampler, eta, gens, cond, guidance, uncond)
            yield Progress(i + 1, len(ts), clock.eta(i + 1), stage="sample")
            if preview_every and (i + 1) % preview_every == 0 and t_prev >= 0:
                yield Preview(i + 1, image=to_uint8(decode(x0) if decode else x0))
        return x

    def reverse_step(self, x, t: int, t_prev: int, sampler: str, eta: float, gens, cond: dict | None,
                     guidance: float, uncond: dict | None) -> tuple[torch.Tensor, torch.Tensor]:
        """x_t -> x_{t_prev} (t_prev = -1: the final image) and the x0 predicted on the way; any noise
        the step adds comes from each image's generator in ``gens``."""
        x0, eps = self.predict_x0_eps(x, t, cond, guidance, uncond)
        return self._step(x, x0, eps, t, t_prev, sampler, eta, gens), x0

    def _step(self, x, x0, eps, t, t_prev, sampler, eta, gens):
        ab = self.ab[t]
        ab_prev = self.ab[t_prev] if t_prev >= 0 else torch.ones((), device=x.device)
        if t_prev < 0:
            return x0
        if sampler == "ddim":
            sigma = eta * ((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev)).sqrt()
            x_prev = ab_prev.sqrt() * x0 + (1 - ab_prev - sigma**2).clamp(min=0).sqrt() * eps
        else:  # ancestral step of the respaced chain (posterior q(x_prev | x_t, x0))
            beta = 1 - ab / ab_prev
            mean = (ab_prev.sqrt() * beta / (1 - ab)) * x0 + ((1 - beta).sqrt() * (1 - ab_prev) / (1 - ab)) * x
            x_prev, sigma = mean, (beta * (1 - ab_prev) / (1 - ab)).sqrt()
        if float(sigma) > 0:
            x_prev = x_prev + sigma * seeded_noise(x.shape[1:], gens).to(x.device)
        return x_prev


def check_sampler(sampler: str) -> None:
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r}; choose one of {SAMPLERS}")


def build_ddpm(config: DDPMConfig) -> DiffusionModel:
    return DiffusionModel(config)


register(ArchSpec(
    name="ddpm",
    family="diffusion",
    modality="image",
    config_cls=DDPMConfig,
    builder=build_ddpm,
    capabilities=frozenset({Capability.GENERATE, Capability.INPAINT}),
    trainer="trainers.images",
    description="Denoising diffusion (DDPM) with a UNet; DDPM and DDIM sampling; class-conditional from subfolders",
    sampler_options=("steps", "sampler", "eta", "label", "guidance"),
    sampler_defaults={"steps": 25, "sampler": "ddim", "eta": 0.0, "label": -1, "guidance": 1.0},
))
