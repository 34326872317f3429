"""StyleGAN2, small but faithful. A mapping network turns a normalised z (with classes: z beside a
class embedding, as StyleGAN2-ADA) into a style vector w; the synthesis network starts from a learned
constant, and every 3×3 convolution is modulated by an affine map of w and demodulated so its output
keeps unit variance; per-layer noise with learned strengths adds stochastic detail; each resolution
adds its toRGB output to the upsampled image so far (skip generator). All layers use equalised
learning rate, the mapping network at 1/100 of the rate. Training mixes two styles at a random
layer 90% of the time, tracks the average w for truncation (ψ pulls w towards it), and penalises
the discriminator's gradient on real images every ``r1_interval`` steps (lazy R1). The discriminator
is residual with a minibatch-stddev feature, a projection discriminator with classes; both networks
see DiffAugment-ed images. ``d_lr_scale`` lets the discriminator learn faster than the generator
(Heusel et al.'s two time-scale rule); the CPU preset uses 5×, without which the samples stay one
image for thousands of steps on a small folder. Karras et al., "A Style-Based Generator
Architecture for GANs" (2019);
Karras et al., "Analyzing and Improving the Image Quality of StyleGAN" (2020); Karras et al.,
"Training GANs with Limited Data" (2020) for the conditional mapping; Mescheder et al., "Which
Training Methods for GANs do actually Converge?" (2018) for R1. Departures, for size: bilinear
resampling instead of the [1,3,3,1] FIR filter, no path-length regulariser, R1 in the same optimizer
step as the main loss.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from genstudio.core.registry import ArchSpec, Capability, register
from genstudio.models.augment import diff_augment
from genstudio.models.common import image_generators, seed_labels, seeded_noise, to_uint8
from genstudio.models.gan import (
    base_size,
    check_gan_config,
    class_labels,
    discriminator_loss,
    doublings,
    draw_normal,
    frozen,
    generator_loss,
    level_widths,
    one_step_sampling,
)

GAIN = math.sqrt(2)  # leaky ReLU gain: keeps activations at unit variance
NOISE_MODES = ("const", "random")
LAYER_GROUPS = ("coarse", "middle", "fine")
COARSE_SIDE = 8  # "coarse" styles act up to 8 px, as in Karras et al. 2019


@dataclass
class StyleGANConfig:
    image_size: int = 32  # pixels, square: 28, 32, 40, 48, 56 or 64
    channels: int = 3  # 1 = grayscale, 3 = RGB
    z_dim: int = 256  # size of the Gaussian latent
    w_dim: int = 256  # size of a style vector
    mapping_layers: int = 8  # depth of the mapping MLP
    mapping_lr: float = 0.01  # its learning-rate multiplier (equalised learning rate)
    g_width: int = 64  # synthesis channels at full resolution; doubling per halving up to max_width
    d_width: int = 64  # discriminator channels at full resolution; likewise
    max_width: int = 256
    style_mixing: float = 0.9  # probability of mixing two styles in a training batch
    r1_gamma: float = 0.05  # R1 weight γ (penalty γ/2 · |∇D(real)|²); 0 = off
    r1_interval: int = 16  # lazy regularisation: R1 every this many steps, scaled up to match
    d_lr_scale: float = 1.0  # the discriminator's learning rate as a multiple of G's (TTUR; StyleGAN2: 1)
    mbstd_group: int = 4  # minibatch-stddev group size; 0 = off
    w_avg_beta: float = 0.995  # decay of the tracked average w
    augment: str = "color,translation,cutout"  # DiffAugment policy for D's inputs; "" = none
    classes: tuple[str, ...] = ()  # class names (training subfolders); empty: unconditional

    def __post_init__(self):
        check_gan_config(self)
        if min(self.z_dim, self.w_dim, self.mapping_layers, self.g_width, self.d_width, self.max_width) < 1:
            raise ValueError("z_dim, w_dim, mapping_layers and the widths must be positive")
        if not 0 < self.mapping_lr <= 1 or not 0 <= self.style_mixing <= 1 or not 0 <= self.w_avg_beta < 1:
            raise ValueError("mapping_lr must be in (0, 1], style_mixing in [0, 1] and w_avg_beta in [0, 1)")
        if self.r1_gamma < 0 or self.r1_interval < 1 or self.mbstd_group < 0:
            raise ValueError("r1_gamma and mbstd_group must not be negative and r1_interval must be ≥ 1")
        if not 0 < self.d_lr_scale <= 100:
            raise ValueError("d_lr_scale must be in (0, 100]")


# -- equalised-learning-rate layers -----------------------------------------------------------
class EqualLinear(nn.Module):
    """Weights stored as N(0, 1)/lr_mul and scaled by lr_mul/√fan_in at run time, so Adam moves
    every layer at the same relative speed, lr_mul times the base rate."""

    def __init__(self, fan_in: int, fan_out: int, bias_init: float = 0.0, lr_mul: float = 1.0, act: bool = False):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(fan_out, fan_in) / lr_mul)
        self.bias = nn.Parameter(torch.full((fan_out,), bias_init / lr_mul))
        self.scale, self.lr_mul, self.act = lr_mul / math.sqrt(fan_in), lr_mul, act

    def forward(self, x):
        x = F.linear(x, self.weight * self.scale, self.bias * self.lr_mul)
        return F.leaky_relu(x, 0.2) * GAIN if self.act else x


class EqualConv(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, bias: bool = True, act: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.scale, self.act = 1 / math.sqrt(c_in * kernel * kernel), act

    def forward(self, x):
        x = F.conv2d(x, self.weight * self.scale, self.bias, padding=self.weight.shape[-1] // 2)
        return F.leaky_relu(x, 0.2) * GAIN if self.act else x


def modulated_conv(x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool) -> torch.Tensor:
    """Conv with weight·s per image, demodulated by 1/‖weight·s‖ per output channel. Done as
    "scale the input by s, one shared conv, scale the output" (StyleGAN2's non-fused path): the same
    numbers as a grouped conv of per-image weights, and 1.0–27× faster on a CPU (fwd+bwd, batch 32:
    49 ms vs 1,320 ms at 4 px × 256 channels; equal at 32 px × 32 channels)."""
    out = F.conv2d(x * styles[:, :, None, None], weight, padding=weight.shape[-1] // 2)
    if demodulate:
        norm = styles.square() @ weight.square().sum((2, 3)).t()  # (B, O): ‖weight·s‖² per output
        out = out * torch.rsqrt(norm + 1e-8)[:, :, None, None]
    return out


# -- generator ---------------------------------------------------------------------------------
class StyleLayer(nn.Module):
    """(optional ×2 upsampling) -> modulated 3×3 conv -> + noise · learned strength -> bias, lReLU."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, side: int, up: bool):
        super().__init__()
        self.affine = EqualLinear(w_dim, c_in, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(c_out, c_in, 3, 3))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.noise_strength = nn.Parameter(torch.zeros(()))
        self.register_buffer("noise_const", torch.randn(1, 1, side, side))  # the "const" noise
        self.up, self.side = up, side

    def forward(self, x, w, noise=None):
        if self.up:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        x = modulated_conv(x, self.weight, self.affine(w), demodulate=True)
        x = x + self.noise_strength * (self.noise_const if noise is None else noise)
        return F.leaky_relu(x + self.bias[:, None, None], 0.2) * GAIN


class ToRGB(nn.Module):
    def __init__(self, c_in: int, channels: int, w_dim: int):
        super().__init__()
        self.affine = EqualLinear(w_dim, c_in, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(channels, c_in, 1, 1))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.gain = 1 / math.sqrt(c_in)

    def forward(self, x, w):
        return modulated_conv(x, self.weight, self.affine(w) * self.gain, demodulate=False) + self.bias[:, None, None]


class Mapping(nn.Module):
    """z (B, z_dim) [+ labels] -> w (B, w_dim); keeps the running average w (one per class)."""

    def __init__(self, cfg: StyleGANConfig):
        super().__init__()
        classes = len(cfg.classes)
        self.embed = nn.Embedding(classes, cfg.w_dim) if classes else None
        dims = [cfg.z_dim + (cfg.w_dim if classes else 0)] + [cfg.w_dim] * cfg.mapping_layers
        self.net = nn.Sequential(*[EqualLinear(a, b, lr_mul=cfg.mapping_lr, act=True) for a, b in zip(dims, dims[1:])])
        self.register_buffer("w_avg", torch.zeros(max(1, classes), cfg.w_dim))

    def forward(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        x = normalize_2nd_moment(z)
        if self.embed is not None:
            x = torch.cat([x, normalize_2nd_moment(self.embed(labels))], 1)
        return self.net(x)

    def average(self, labels: torch.Tensor | None, batch: int) -> torch.Tensor:
        return self.w_avg[labels] if self.embed is not None else self.w_avg[0].expand(batch, -1)

    @torch.no_grad()
    def track(self, w: torch.Tensor, labels: torch.Tensor | None, beta: float) -> None:
        """Move each class's average w towards this batch's mean w of that class."""
        rows = labels if self.embed is not None else torch.zeros(len(w), dtype=torch.long, device=w.device)
        sums = torch.zeros_like(self.w_avg).index_add_(0, rows, w.float())
        counts = torch.bincount(rows, minlength=len(self.w_avg)).float()[:, None]
        seen = counts[:, 0] > 0
        self.w_avg[seen] = torch.lerp(sums[seen] / counts[seen], self.w_avg[seen], beta)


def normalize_2nd_moment(x: torch.Tensor) -> torch.Tensor:
    return x * torch.rsqrt(x.square().mean(1, keepdim=True) + 1e-8)


class Synthesis(nn.Module):
    """ws (B, num_ws, w_dim) -> image (B, C, S, S). Style slot 0 drives the start-side conv; at each
    later resolution slots 2k−1, 2k drive its two convs; each toRGB uses the next slot (the last
    slot is the final toRGB's), as in StyleGAN2."""

    def __init__(self, cfg: StyleGANConfig):
        super().__init__()
        side, levels = base_size(cfg.image_size), doublings(cfg.image_size) + 1
        self.sides = [side * 2**k for k in range(levels)]
        widths = level_widths(cfg.g_width, levels, cfg.max_width)[::-1]  # start side first
        self.const = nn.Parameter(torch.randn(widths[0], side, side))
        self.convs = nn.ModuleList([StyleLayer(widths[0], widths[0], cfg.w_dim, side, up=False)])
        self.to_rgbs = nn.ModuleList([ToRGB(widths[0], cfg.channels, cfg.w_dim)])
        for k in range(1, levels):
            self.convs.append(StyleLayer(widths[k - 1], widths[k], cfg.w_dim, self.sides[k], up=True))
            self.convs.append(StyleLayer(widths[k], widths[k], cfg.w_dim, self.sides[k], up=False))
            self.to_rgbs.append(ToRGB(widths[k], cfg.channels, cfg.w_dim))
        self.num_ws = len(self.convs) + 1

    def slot_side(self, slot: int) -> int:
        """The resolution a style slot acts at (the last one is the final toRGB's)."""
        return self.sides[min((slot + 1) // 2, len(self.sides) - 1)]

    def forward(self, ws: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        noise = noise or [None] * len(self.convs)
        x = self.const.expand(ws.shape[0], -1, -1, -1)
        x = self.convs[0](x, ws[:, 0], noise[0])
        rgb = self.to_rgbs[0](x, ws[:, 1])
        for k in range(1, len(self.sides)):
            x = self.convs[2 * k - 1](x, ws[:, 2 * k - 1], noise[2 * k - 1])
            x = self.convs[2 * k](x, ws[:, 2 * k], noise[2 * k])
            up = F.interpolate(rgb, scale_factor=2, mode="bilinear", align_corners=False)
            rgb = up + self.to_rgbs[k](x, ws[:, 2 * k + 1])
        return rgb


# -- discriminator -----------------------------------------------------------------------------
class DBlock(nn.Module):
    """Residual: (conv3, pool, conv3) beside (pool, 1×1 conv), summed at 1/√2."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv0, self.conv1 = EqualConv(c_in, c_in, 3), EqualConv(c_in, c_out, 3)
        self.skip = EqualConv(c_in, c_out, 1, bias=False, act=False)

    def forward(self, x):
        h = self.conv1(F.avg_pool2d(self.conv0(x), 2))
        return (h + self.skip(F.avg_pool2d(x, 2))) / math.sqrt(2)


def minibatch_stddev(x: torch.Tensor, group: int) -> torch.Tensor:
    """Append one feature map: the std of each feature over a group of images, averaged. Lets D see
    a lack of variety (mode collapse) across the batch."""
    B, C, H, W = x.shape
    group = min(group, B)
    while B % group:
        group -= 1
    y = x.float().reshape(group, -1, C, H, W)
    y = (y.var(0, unbiased=False) + 1e-8).sqrt().mean((1, 2, 3))  # (B / group,)
    return torch.cat([x, y.to(x.dtype).reshape(-1, 1, 1, 1).repeat(group, 1, H, W)], 1)


class Discriminator(nn.Module):
    def __init__(self, cfg: StyleGANConfig):
        super().__init__()
        side, levels = base_size(cfg.image_size), doublings(cfg.image_size) + 1
        widths = level_widths(cfg.d_width, levels, cfg.max_width)  # full resolution first
        self.from_rgb = EqualConv(cfg.channels, widths[0], 1)
        self.blocks = nn.Sequential(*[DBlock(a, b) for a, b in zip(widths, widths[1:])])
        self.mbstd_group = cfg.mbstd_group
        self.conv = EqualConv(widths[-1] + (1 if cfg.mbstd_group else 0), widths[-1], 3)
        self.fc = EqualLinear(widths[-1] * side * side, widths[-1], act=True)
        self.out = EqualLinear(widths[-1], 1)
        self.projection = nn.Embedding(len(cfg.classes), widths[-1]) if cfg.classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.blocks(self.from_rgb(x))
        if self.mbstd_group:
            h = minibatch_stddev(h, self.mbstd_group)
        h = self.fc(self.conv(h).flatten(1))  # (B, F)
        out = self.out(h)[:, 0]
        if self.projection is not None:  # Miyato & Koyama's projection, scaled like an equalised layer
            out = out + (self.projection(labels) * h).sum(1) / math.sqrt(h.shape[1])
        return out.float()


# -- the model ---------------------------------------------------------------------------------
class StyleGAN(nn.Module):
    """Mapping + synthesis (the generator) and the discriminator. Sampling truncates w towards the
    tracked average (of the image's class): w = w̄ + ψ (w − w̄); with the default constant noise, ψ = 0
    gives the one mean-style image for every seed. With classes, label −1 draws each image's class
    from its seed (``common.seed_labels``)."""

    training_phases = ("d", "g")
    preview_options = {"truncation": 1.0}  # previews show what was learned, not pulled towards w̄

    def __init__(self, config: StyleGANConfig):
        super().__init__()
        self.config = config
        self.num_classes = len(config.classes)
        self.mapping = Mapping(config)
        self.synthesis = Synthesis(config)
        self.discriminator = Discriminator(config)

    @property
    def num_ws(self) -> int:
        return self.synthesis.num_ws

    def optimizer_groups(self) -> list[dict]:
        # The mapping's 1/100 learning rate lives in its equalised layers (lr_mul), not in lr_scale:
        # with Adam the two would multiply. D may learn faster than G (two time-scale update rule):
        # on a CPU budget that is what lets the discriminator see the generator's lack of variety.
        g_params = [*self.mapping.parameters(), *self.synthesis.parameters()]
        return [{"params": g_params, "phase": "g"},
                {"params": self.discriminator.parameters(), "phase": "d", "lr_scale": self.config.d_lr_scale}]

    # -- training ------------------------------------------------------------------------------
    def training_loss(self, x: torch.Tensor, generator: torch.Generator, phase: str = "d", step: int = 0,
                      labels: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """Phase "d": logistic loss on real vs generated (made without gradients), plus the R1
        penalty on steps that are multiples of ``r1_interval``; phase "g": non-saturating loss
        through a frozen D, and the average w moves. Fakes take the real batch's classes."""
        labels = class_labels(labels, self.num_classes)
        if phase == "d":
            return self._discriminator_loss(x, generator, step, labels)
        with frozen(self.discriminator):
            fake = self._fakes(x.shape[0], generator, labels, x.device, track=True)
            loss = generator_loss(self.discriminator(self._augment(fake, generator), labels), "non-saturating")
        return loss, {"loss": loss.item(), "g_loss": loss.item()}

    def _discriminator_loss(self, x, generator, step: int, labels) -> tuple[torch.Tensor, dict]:
        cfg = self.config
        with torch.no_grad():
            fake = self._fakes(x.shape[0], generator, labels, x.device, track=False)
        r1_step = cfg.r1_gamma > 0 and step % cfg.r1_interval == 0
        real = x.detach().requires_grad_(r1_step)
        real_logits = self.discriminator(self._augment(real, generator), labels)
        fake_logits = self.discriminator(self._augment(fake, generator), labels)
        loss = discriminator_loss(real_logits, fake_logits, "non-saturating")
        metrics = {"d_loss": loss.item(), "d_real": real_logits.mean().item(), "d_fake": fake_logits.mean().item()}
        if r1_step:  # lazy R1: every r1_interval steps, weighted by the interval to keep its average
            (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
            penalty = grad.float().square().sum((1, 2, 3)).mean()
            loss = loss + penalty * (cfg.r1_gamma / 2) * cfg.r1_interval
            metrics["r1"] = penalty.item()
        return loss, {"loss": loss.item(), **metrics}

    def _augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return diff_augment(x, self.config.augment, generator)

    def _fakes(self, batch: int, generator, labels, device, track: bool) -> torch.Tensor:
        """Generated images with style mixing: with probability ``style_mixing`` the slots from a
        random cutoff on take a second z's style; noise is fresh from the generator."""
        cfg = self.config
        w = self.mapping(draw_normal((batch, cfg.z_dim), generator, device), labels)
        if track:
            self.mapping.track(w.detach(), labels, cfg.w_avg_beta)
        ws = w[:, None].repeat(1, self.num_ws, 1)
        mix, cutoff = torch.rand(2, generator=generator, device=generator.device).tolist()
        if mix < cfg.style_mixing:
            second = self.mapping(draw_normal((batch, cfg.z_dim), generator, device), labels)
            start = 1 + int(cutoff * (self.num_ws - 1))  # 1 .. num_ws − 1
            ws = torch.cat([ws[:, :start], second[:, None].expand(-1, self.num_ws - start, -1)], 1)
        noise = [draw_normal((batch, 1, s, s), generator, device) for s in self._noise_sides()]
        return self.synthesis(ws, noise)

    def _noise_sides(self) -> list[int]:
        return [layer.side for layer in self.synthesis.convs]

    # -- sampling ------------------------------------------------------------------------------
    def _device(self) -> torch.device:
        return self.synthesis.const.device

    def styles(self, seeds: list[int], truncation: float, label: int) -> torch.Tensor:
        """(B, w_dim): each seed's w, truncated towards its class's average by ψ = ``truncation``."""
        gens = image_generators(len(seeds), 0, seeds)
        z = seeded_noise((self.config.z_dim,), gens).to(self._device())
        labels = seed_labels(seeds, label, self.num_classes)
        labels = None if labels is None else labels.to(self._device())
        w = self.mapping(z, labels)
        return torch.lerp(self.mapping.average(labels, len(seeds)), w, truncation)

    def synthesize(self, ws: torch.Tensor, noise: list[torch.Tensor] | None = None) -> torch.Tensor:
        """(B, w_dim) (the same style on every layer) or (B, num_ws, w_dim) -> images in [−1, 1]."""
        if ws.ndim == 2:
            ws = ws[:, None].expand(-1, self.num_ws, -1)
        return self.synthesis(ws, noise).float().clamp(-1, 1)

    def prior_latents(self, seeds: list[int], temperature: float = 1.0, truncation: float = 1.0,
                      label: int = -1) -> torch.Tensor:
        """W (B, w_dim) after truncation; a straight line in W is a smooth walk. The mapping
        normalises z, so scaling it would change nothing: ``temperature`` multiplies ψ instead."""
        return self.styles(seeds, truncation * temperature, label)

    def decode(self, w: torch.Tensor) -> torch.Tensor:
        """Images for styles w (B, w_dim), one style on every layer, constant noise."""
        return self.synthesize(w)

    @torch.inference_mode()
    def sample(self, n: int = 1, seed: int = 0, truncation: float = 0.7, label: int = -1, noise: str = "const",
               preview_every: int = 0, seeds: list[int] | None = None):
        """Generator: one Progress; returns N×H×W×C uint8. Noise "const" uses the layers' fixed noise
        maps, "random" draws them from each image's seed (after its z)."""
        if noise not in NOISE_MODES:
            raise ValueError(f"noise must be one of {NOISE_MODES}, got {noise!r}")
        seeds = list(seeds) if seeds is not None else [seed + i for i in range(n)]
        w = self.styles(seeds, truncation, label)
        maps = None
        if noise == "random":
            gens = image_generators(len(seeds), 0, seeds)
            for g in gens:  # skip past each image's z, so its noise is independent of it
                torch.randn(self.config.z_dim, generator=g)
            maps = [seeded_noise((1, s, s), gens).to(w.device) for s in self._noise_sides()]
        return (yield from one_step_sampling(self.synthesize(w, maps), preview_every))

    # -- style mixing --------------------------------------------------------------------------
    def layer_group(self, layers: str) -> list[int]:
        """Style slots of a group: "coarse" acts at sides up to 8 px (at least the start side),
        "fine" at full resolution (with the final toRGB), "middle" in between. At 32 px: coarse
        4–8 px, middle 16 px, fine 32 px; at 64 px: 4–8, 16–32, 64 (Karras et al.'s split);
        at 28 px: 7, 14, 28."""
        if layers not in LAYER_GROUPS:
            raise ValueError(f"layers must be one of {LAYER_GROUPS}, got {layers!r}")
        sides = self.synthesis.sides
        slots = range(self.num_ws)
        side = self.synthesis.slot_side
        if layers == "coarse":
            return [i for i in slots if side(i) <= max(COARSE_SIDE, sides[0])]
        if layers == "fine":
            return [i for i in slots if side(i) == sides[-1]]
        return [i for i in slots if max(COARSE_SIDE, sides[0]) < side(i) < sides[-1]]

    @torch.inference_mode()
    def mix_styles(self, row_seeds: list[int], col_seeds: list[int], layers: str = "coarse",
                   truncation: float = 1.0, label: int = -1) -> np.ndarray:
        """(R, C, H, W, ch) uint8: cell [r, c] is row seed r's image with the ``layers`` group's
        styles taken from column seed c (Karras et al. 2019, Fig. 3); constant noise."""
        slots = self.layer_group(layers)
        rows = self.styles(list(row_seeds), truncation, label)  # (R, w_dim)
        cols = self.styles(list(col_seeds), truncation, label)  # (C, w_dim)
        R, C = len(rows), len(cols)
        ws = rows[:, None, None, :].repeat(1, C, self.num_ws, 1)  # (R, C, num_ws, w_dim)
        ws[:, :, slots] = cols[None, :, None, :]
        images = to_uint8(self.synthesize(ws.flatten(0, 1)))
        return images.reshape(R, C, *images.shape[1:])


register(ArchSpec(
    name="stylegan", family="gan", modality="image", config_cls=StyleGANConfig, builder=StyleGAN,
    capabilities=frozenset({Capability.GENERATE, Capability.INTERPOLATE, Capability.STYLE_MIX}),
    trainer="trainers.images",
    description="StyleGAN2 (small): style mixing, truncation, lazy R1 and DiffAugment; class-conditional "
                "from subfolders. Learns variety late: its samples look alike for the first ~2,000 steps "
                "(see README)",
    sampler_options=("truncation", "label", "noise"),
    sampler_defaults={"truncation": 0.7, "label": -1, "noise": "const"}))
