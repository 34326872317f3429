"""Normalizing flows: NICE, RealNVP and Glow, one invertible-layer API and one exact likelihood.

Every layer maps ``x -> (y, log|det ∂y/∂x|)`` per image and has an exact ``inverse``; a
``MultiScaleFlow`` chains them, squeezing 2×2 blocks into channels and factoring out half the
channels at each scale, so the latent has one standard-normal part per scale (packed in a fixed
order into a (B, D) vector). Images are dequantised with uniform noise and preprocessed (centred, or
logit-transformed with that Jacobian counted), so ``negative_log_likelihood`` is the exact nats of
the discrete 8-bit image. Glow's learned prior for a factored-out half is written as a conditional
affine layer that standardises it, which makes temperature sampling ``z ~ N(0, T²)`` everywhere.
ActNorm (data-initialised on the first training batch) also stands in for RealNVP's batch norm and
starts NICE; both papers' other choices are kept, while Glow defaults to logit preprocessing and a
tanh-bounded coupling scale, which train far faster on MNIST-like data than centring and σ(h + 2).
Dinh et al., "NICE" (2014); Dinh et al., "Density estimation using Real NVP" (2016); Kingma &
Dhariwal, "Glow: Generative Flow with Invertible 1×1 Convolutions" (2018).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genstudio.core.events import EtaClock, Preview, Progress
from genstudio.core.registry import ArchSpec, Capability, register
from genstudio.models import common
from genstudio.models.unet import zero_init

PREPROCESS = ("center", "logit")
SCALES = ("tanh", "sigmoid")
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _check_flow_config(cfg, multiple: int) -> None:
    common.check_image_config(cfg.image_size, cfg.channels, multiple)
    if cfg.preprocess not in PREPROCESS:
        raise ValueError(f"preprocess must be one of {PREPROCESS}, got {cfg.preprocess!r}")
    if not 0 < cfg.logit_alpha < 0.5:
        raise ValueError(f"logit_alpha must be in (0, 0.5), got {cfg.logit_alpha}")
    if getattr(cfg, "coupling_scale", "tanh") not in SCALES:
        raise ValueError(f"coupling_scale must be one of {SCALES}, got {cfg.coupling_scale!r}")
    if cfg.hidden < 1:
        raise ValueError(f"hidden must be at least 1, got {cfg.hidden}")


@dataclass
class NICEConfig:
    image_size: int = 28  # pixels, square; 28–64, even
    channels: int = 1  # 1 = grayscale, 3 = RGB
    couplings: int = 4  # additive couplings, alternating which half (even/odd coordinates) changes
    hidden: int = 1000  # width of each coupling MLP
    mlp_layers: int = 5  # hidden layers per coupling MLP
    preprocess: str = "logit"  # "logit" (of α + (1-2α)y: spreads the data for shifts to act on) or "center" (y - 1/2)
    logit_alpha: float = 0.05  # α of the logit preprocessing (keeps 0 and 1 finite)

    def __post_init__(self):
        _check_flow_config(self, 2)  # the even/odd partition needs an even dimension count
        if self.couplings < 2 or self.mlp_layers < 1:
            raise ValueError("NICE needs couplings >= 2 (each half must change) and mlp_layers >= 1")


@dataclass
class RealNVPConfig:
    image_size: int = 32  # pixels, square; 28–64, divisible by 2^levels
    channels: int = 3
    levels: int = 2  # squeezes; each scale: 3 checkerboard, squeeze, 3 channel couplings, split
    hidden: int = 64  # feature maps of the coupling resnets
    res_blocks: int = 2  # residual blocks per coupling network
    coupling_scale: str = "tanh"  # log-scale = learned factor · tanh(h) ("tanh"), or log σ(h + 2)
    actnorm: bool = True  # ActNorm after each coupling: the paper's batch-norm layer, data-initialised
    preprocess: str = "logit"
    logit_alpha: float = 0.05

    def __post_init__(self):
        if self.levels < 1 or self.res_blocks < 0:
            raise ValueError("RealNVP needs levels >= 1 and res_blocks >= 0")
        _check_flow_config(self, 2**self.levels)


@dataclass
class GlowConfig:
    image_size: int = 32  # pixels, square; 28–64, divisible by 2^levels (28 -> 14 -> 7 with 2)
    channels: int = 3
    levels: int = 3  # L: squeezes; a split with a learned prior after every level but the last
    steps_per_level: int = 16  # K: actnorm, invertible 1×1 convolution, affine coupling
    hidden: int = 256  # feature maps of the coupling networks
    # "tanh": log-scale = learned factor · tanh(h), can expand and learns MNIST much faster than
    # "sigmoid", the paper's σ(h + 2), which only contracts
    coupling_scale: str = "tanh"
    learned_prior: bool = True  # split-off halves ~ N(μ(h), σ(h)²) from the kept half; False: N(0, I)
    preprocess: str = "logit"  # the paper centres ("center"); logit is ~1 bit/dim better early in training
    logit_alpha: float = 0.05

    def __post_init__(self):
        if self.levels < 1 or self.steps_per_level < 1:
            raise ValueError("Glow needs levels >= 1 and steps_per_level >= 1")
        _check_flow_config(self, 2**self.levels)


# -- layers: forward(x) -> (y, logdet (B,)), inverse(y) -> x ---------------------------------------
class Squeeze(nn.Module):
    """2×2 blocks into channels: a permutation, so its log-determinant is 0."""

    def forward(self, x):
        B, C, H, W = x.shape
        y = x.reshape(B, C, H // 2, 2, W // 2, 2).permute(0, 1, 3, 5, 2, 4)  # B, C, 2, 2, H/2, W/2
        return y.reshape(B, C * 4, H // 2, W // 2), x.new_zeros(B)

    def inverse(self, y):
        B, C, H, W = y.shape
        x = y.reshape(B, C // 4, 2, 2, H, W).permute(0, 1, 4, 2, 5, 3)  # B, C/4, H, 2, W, 2
        return x.reshape(B, C // 4, H * 2, W * 2)


class ActNorm(nn.Module):
    """Per-channel affine map, initialised from the first training batch to zero mean, unit variance."""

    def __init__(self, channels: int):
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.log_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        # Persistent, so a loaded checkpoint is never re-initialised from data.
        self.register_buffer("initialized", torch.tensor(False))
        self.init_pending = False  # set by FlowModel.training_loss for the first batch

    def forward(self, x):
        if self.init_pending:
            with torch.no_grad():
                self.bias.copy_(-x.mean((0, 2, 3), keepdim=True))
                self.log_scale.copy_(-torch.log(x.std((0, 2, 3), keepdim=True, correction=0) + 1e-6))
                self.initialized.fill_(True)
            self.init_pending = False
        y = (x + self.bias) * self.log_scale.exp()
        return y, (self.log_scale.sum() * x.shape[2] * x.shape[3]).expand(x.shape[0])

    def inverse(self, y):
        return y * torch.exp(-self.log_scale) - self.bias


class InvConv1x1(nn.Module):
    """Invertible 1×1 convolution W = P L (U + diag(sign(s) e^{log|s|})): log|det| is Σ log|s| per pixel."""

    def __init__(self, channels: int):
        super().__init__()
        w = torch.linalg.qr(torch.randn(channels, channels))[0]  # a random rotation
        perm, lower, upper = torch.linalg.lu(w)
        s = upper.diagonal()
        self.register_buffer("perm", perm)
        self.register_buffer("sign_s", s.sign())
        self.lower = nn.Parameter(lower)
        self.upper = nn.Parameter(upper.triu(1))
        self.log_s = nn.Parameter(s.abs().log())
        self.register_buffer("strict_lower", torch.ones(channels, channels).tril(-1), persistent=False)

    def weight(self) -> torch.Tensor:
        eye = torch.eye(self.log_s.shape[0], dtype=self.log_s.dtype, device=self.log_s.device)
        lower = self.lower * self.strict_lower + eye
        upper = self.upper * self.strict_lower.T + torch.diag(self.sign_s * self.log_s.exp())
        return self.perm @ lower @ upper  # C, C

    def forward(self, x):
        with torch.autocast(x.device.type, enabled=False):  # the invertible chain stays in full precision
            y = F.conv2d(x, self.weight().to(x.dtype)[:, :, None, None])
        return y, (self.log_s.sum() * x.shape[2] * x.shape[3]).expand(x.shape[0])

    def inverse(self, y):
        # inverted in float64 on the CPU (MPS has no float64): it is C×C, and only sampling needs it
        w_inv = torch.linalg.inv(self.weight().detach().cpu().double()).to(device=y.device, dtype=y.dtype)
        return F.conv2d(y, w_inv[:, :, None, None])


class CouplingNet(nn.Module):
    """conv3×3 -> residual blocks -> conv1×1 -> zero-initialised conv3×3, so a coupling starts near
    identity. With no residual blocks this is Glow's network; with some, RealNVP's resnet."""

    def __init__(self, c_in: int, hidden: int, c_out: int, res_blocks: int):
        super().__init__()
        self.inp = nn.Conv2d(c_in, hidden, 3, padding=1)
        self.blocks = nn.ModuleList(nn.Sequential(nn.ReLU(), nn.Conv2d(hidden, hidden, 3, padding=1), nn.ReLU(),
                                                  zero_init(nn.Conv2d(hidden, hidden, 3, padding=1)))
                                    for _ in range(res_blocks))
        self.mid = nn.Conv2d(hidden, hidden, 1)
        self.out = zero_init(nn.Conv2d(hidden, c_out, 3, padding=1))

    def forward(self, x):
        h = self.inp(x)
        for block in self.blocks:
            h = h + block(h)
        return self.out(F.relu(self.mid(F.relu(h))))


def checkerboard(h: int, w: int, parity: int, like: torch.Tensor) -> torch.Tensor:
    """(1, 1, H, W) mask, 1 where (i + j) % 2 == parity."""
    i = torch.arange(h, device=like.device)[:, None]
    j = torch.arange(w, device=like.device)[None, :]
    return ((i + j) % 2 == parity).to(like.dtype)[None, None]


class AffineCoupling(nn.Module):
    """y_b = x_b · e^{log s(x_a)} + t(x_a), x_a unchanged. ``mask`` "checkerboard" takes x_a as the
    pixels with (i + j) % 2 == parity (all channels); "channel" takes one half of the channels."""

    def __init__(self, channels: int, hidden: int, res_blocks: int, mask: str, parity: int, scale: str):
        super().__init__()
        self.mask, self.parity, self.scale = mask, parity, scale
        c_in, c_out = (channels, 2 * channels) if mask == "checkerboard" else (channels // 2, channels)
        self.net = CouplingNet(c_in, hidden, c_out, res_blocks)
        if scale == "tanh":  # RealNVP: a learned per-channel bound on the log-scale
            self.scale_factor = nn.Parameter(torch.ones(1, c_out // 2, 1, 1))

    def _log_s_t(self, xa: torch.Tensor):
        raw, t = self.net(xa).to(xa.dtype).chunk(2, 1)  # back to the flow's precision under autocast
        if self.scale == "tanh":
            return self.scale_factor * torch.tanh(raw), t
        return F.logsigmoid(raw + 2.0), t

    def _halves(self, x):
        a, b = x.chunk(2, 1)
        return (a, b) if self.parity == 0 else (b, a)

    def _join(self, xa, xb):
        return torch.cat((xa, xb) if self.parity == 0 else (xb, xa), 1)

    def forward(self, x):
        if self.mask == "checkerboard":
            m = checkerboard(x.shape[2], x.shape[3], self.parity, x)
            log_s, t = self._log_s_t(x * m)
            log_s, t = log_s * (1 - m), t * (1 - m)  # zero where x passes unchanged
            return x * log_s.exp() + t, log_s.sum((1, 2, 3))
        xa, xb = self._halves(x)
        log_s, t = self._log_s_t(xa)
        return self._join(xa, xb * log_s.exp() + t), log_s.sum((1, 2, 3))

    def inverse(self, y):
        if self.mask == "checkerboard":
            m = checkerboard(y.shape[2], y.shape[3], self.parity, y)
            log_s, t = self._log_s_t(y * m)
            return (y - t * (1 - m)) * torch.exp(-log_s * (1 - m))
        ya, yb = self._halves(y)
        log_s, t = self._log_s_t(ya)
        return self._join(ya, (yb - t) * torch.exp(-log_s))


class AdditiveCoupling(nn.Module):
    """NICE: y_b = x_b + m(x_a) on the flattened image, x_a the even (parity 0) or odd coordinates."""

    def __init__(self, dims: int, hidden: int, layers: int, parity: int):
        super().__init__()
        self.parity = parity
        widths = [dims // 2] + [hidden] * layers
        mlp = []
        for a, b in zip(widths[:-1], widths[1:]):
            mlp += [nn.Linear(a, b), nn.ReLU()]
        self.net = nn.Sequential(*mlp, zero_init(nn.Linear(hidden, dims // 2)))

    def _shift(self, x, sign: float):
        v = x.reshape(x.shape[0], -1, 2)  # B, D/2, 2: (even, odd) coordinate pairs
        xa, xb = v[..., self.parity], v[..., 1 - self.parity]
        yb = xb + sign * self.net(xa).to(x.dtype)
        return torch.stack((xa, yb) if self.parity == 0 else (yb, xa), -1).reshape(x.shape)

    def forward(self, x):
        return self._shift(x, 1.0), x.new_zeros(x.shape[0])

    def inverse(self, y):
        return self._shift(y, -1.0)


class DiagonalScale(nn.Module):
    """NICE's scaling layer: y = x · e^s, one learned s per dimension (so each pixel's spread)."""

    def __init__(self, shape: tuple[int, int, int]):
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(1, *shape))

    def forward(self, x):
        return x * self.log_scale.exp(), self.log_scale.sum().expand(x.shape[0])

    def inverse(self, y):
        return y * torch.exp(-self.log_scale)


class Split(nn.Module):
    """Factor out the second half of the channels. With a learned prior (Glow) that half is
    N(μ(h), σ(h)²) given the kept half h; it leaves standardised, (z - μ) / σ, with log-det -Σ log σ."""

    def __init__(self, channels: int, learned_prior: bool):
        super().__init__()
        self.keep = channels // 2
        self.prior = (zero_init(nn.Conv2d(self.keep, 2 * (channels - self.keep), 3, padding=1))
                      if learned_prior else None)

    def forward(self, x):  # -> (kept half, standard-normal latent, logdet)
        h, z = x[:, :self.keep], x[:, self.keep:]
        if self.prior is None:
            return h, z, x.new_zeros(x.shape[0])
        mean, log_std = self.prior(h).to(x.dtype).chunk(2, 1)
        return h, (z - mean) * torch.exp(-log_std), -log_std.sum((1, 2, 3))

    def inverse(self, h, eps):
        if self.prior is None:
            return torch.cat((h, eps), 1)
        mean, log_std = self.prior(h).to(h.dtype).chunk(2, 1)
        return torch.cat((h, mean + eps * log_std.exp()), 1)


class MultiScaleFlow(nn.Module):
    """Scales of layers with a split after every scale but the last: x -> ([ε per scale], logdet)."""

    def __init__(self, shape: tuple[int, int, int], scales: list[list[nn.Module]], splits: list[Split]):
        super().__init__()
        self.shape = shape  # C, H, W of the input
        self.scales = nn.ModuleList(nn.ModuleList(layers) for layers in scales)
        self.splits = nn.ModuleList(splits)
        self.latent_shapes, (c, h, w) = [], shape  # each scale's latent, in the order they are packed
        for i, layers in enumerate(scales):
            for _ in (layer for layer in layers if isinstance(layer, Squeeze)):
                c, h, w = 4 * c, h // 2, w // 2
            if i < len(splits):
                self.latent_shapes.append((c - splits[i].keep, h, w))
                c = splits[i].keep
        self.latent_shapes.append((c, h, w))

    def forward(self, x):
        eps, logdet, h = [], x.new_zeros(x.shape[0]), x
        for i, layers in enumerate(self.scales):
            for layer in layers:
                h, ld = layer(h)
                logdet = logdet + ld
            if i < len(self.splits):
                h, e, ld = self.splits[i](h)
                eps.append(e)
                logdet = logdet + ld
        return eps + [h], logdet

    def inverse_steps(self, eps: list[torch.Tensor]):
        """Generator: the activation after undoing each scale, deepest first; the last is the input."""
        h = eps[-1]
        for i in reversed(range(len(self.scales))):
            if i < len(self.splits):
                h = self.splits[i].inverse(h, eps[i])
            for layer in reversed(self.scales[i]):
                h = layer.inverse(h)
            yield h

    def inverse(self, eps: list[torch.Tensor]) -> torch.Tensor:
        *_, x = self.inverse_steps(eps)
        return x

    def to_pixels(self, values: list[torch.Tensor]) -> torch.Tensor:
        """Per-latent-coordinate values put back where their coordinate came from: the splits and
        squeezes undone, nothing else. (B, C, H, W)."""
        h = values[-1]
        for i in reversed(range(len(self.scales))):
            if i < len(self.splits):
                h = torch.cat((h, values[i]), 1)
            for squeeze in (layer for layer in reversed(self.scales[i]) if isinstance(layer, Squeeze)):
                h = squeeze.inverse(h)
        return h


def nice_flow(shape, couplings: int, hidden: int, mlp_layers: int) -> MultiScaleFlow:
    """A data-initialised ActNorm (global standardisation, not in the paper), the additive
    couplings, then NICE's diagonal scaling layer."""
    dims = math.prod(shape)
    layers = [AdditiveCoupling(dims, hidden, mlp_layers, i % 2) for i in range(couplings)]
    return MultiScaleFlow(shape, [[ActNorm(shape[0])] + layers + [DiagonalScale(shape)]], [])


def realnvp_flow(shape, levels: int, hidden: int, res_blocks: int, scale: str, actnorm: bool = True):
    def couplings(c, mask, count):  # alternating parity, each followed by an ActNorm if asked
        return [layer for i in range(count) for layer in [AffineCoupling(c, hidden, res_blocks, mask, i % 2, scale)]
                + ([ActNorm(c)] if actnorm else [])]

    c, scales, splits = shape[0], [], []
    for _ in range(levels):
        layers = couplings(c, "checkerboard", 3) + [Squeeze()]
        c *= 4
        scales.append(layers + couplings(c, "channel", 3))
        splits.append(Split(c, learned_prior=False))
        c = splits[-1].keep
    scales.append(couplings(c, "checkerboard", 4))
    return MultiScaleFlow(shape, scales, splits)


def glow_flow(shape, levels: int, steps: int, hidden: int, scale: str, learned_prior: bool) -> MultiScaleFlow:
    c, scales, splits = shape[0], [], []
    for level in range(levels):
        c *= 4
        layers = [Squeeze()]
        for _ in range(steps):
            layers += [ActNorm(c), InvConv1x1(c), AffineCoupling(c, hidden, 0, "channel", 0, scale)]
        scales.append(layers)
        if level < levels - 1:
            splits.append(Split(c, learned_prior))
            c = splits[-1].keep
    return MultiScaleFlow(shape, scales, splits)


# -- the model: dequantisation, preprocessing, likelihood, sampling --------------------------------
class FlowModel(nn.Module):
    """A flow over preprocessed, dequantised images with a standard-normal base density."""

    likelihood_kind = "exact"
    preview_options = {"temperature": 0.7}  # reduced-temperature previews look cleaner early on

    def __init__(self, config, flow: MultiScaleFlow):
        super().__init__()
        self.config, self.flow = config, flow
        self.dims = math.prod(flow.shape)  # D = C·H·W, the shape comes from the flow
        self._init_checked = False

    def _preprocess(self, y):
        """y in [0, 1) -> flow input and its elementwise log-det (None when 0)."""
        if self.config.preprocess == "center":
            return y - 0.5, None
        a = self.config.logit_alpha
        p = a + (1 - 2 * a) * y
        return torch.log(p) - torch.log1p(-p), math.log(1 - 2 * a) - torch.log(p) - torch.log1p(-p)

    def _postprocess(self, x):
        if self.config.preprocess == "center":
            return x + 0.5
        a = self.config.logit_alpha
        return (torch.sigmoid(x) - a) / (1 - 2 * a)

    def unpack(self, z: torch.Tensor) -> list[torch.Tensor]:
        sizes = [math.prod(s) for s in self.flow.latent_shapes]
        return [part.reshape(-1, *s) for part, s in zip(z.split(sizes, 1), self.flow.latent_shapes)]

    def transform(self, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Dequantised y (B, C, H, W) in [0, 1) -> (z (B, D), log|det ∂z/∂y| (B,)), preprocessing included."""
        h, ld_pre = self._preprocess(y)
        eps, logdet = self.flow(h)
        if ld_pre is not None:
            logdet = logdet + ld_pre.sum((1, 2, 3))
        return torch.cat([e.flatten(1) for e in eps], 1), logdet  # B, D; B

    def _nll(self, y: torch.Tensor) -> torch.Tensor:
        """Nats of the discrete image: -log N(z) - log|det| + D log 256 (the bin width 1/256)."""
        z, logdet = self.transform(y)
        base = 0.5 * z.pow(2).sum(1) + self.dims * HALF_LOG_2PI
        return base - logdet + self.dims * math.log(common.BITS)

    # -- training --------------------------------------------------------------------------------
    def training_loss(self, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
        """Bits per dimension of x (B, C, H, W) in [-1, 1], dequantised with u from ``generator``;
        the loss is in bits/dim. On the first batch any ActNorm still uninitialised takes its data init."""
        if not self._init_checked:
            for m in self.modules():
                if isinstance(m, ActNorm) and not bool(m.initialized):
                    m.init_pending = True
            self._init_checked = True
        nll = self._nll(common.dequantize(x, generator).to(x.dtype))
        bpd = common.bits_per_dim(nll, self.dims).mean()
        value = bpd.item()
        return bpd, {"loss": value, "bits_per_dim": value, "nll": value * self.dims * math.log(2)}

    # -- likelihood and anomaly ------------------------------------------------------------------
    @torch.no_grad()
    def negative_log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """(B,) exact nats of the 8-bit images, with u = 1/2 dequantisation."""
        return self._nll(common.dequantize(x, None).to(x.dtype))

    def bits_per_dim(self, x: torch.Tensor) -> torch.Tensor:
        return common.bits_per_dim(self.negative_log_likelihood(x), self.dims)

    @torch.no_grad()
    def anomaly_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores: bits/dim (B,). Maps (B, H, W): nats per pixel summing to the image's NLL, with
        -log N(z) of each latent coordinate at the pixel it came from (splits and squeezes undone),
        the elementwise preprocessing log-det at its pixel, and the flow's log-det spread evenly."""
        h, ld_pre = self._preprocess(common.dequantize(x, None).to(x.dtype))
        eps, logdet = self.flow(h)
        per_pixel = self.flow.to_pixels([0.5 * e.pow(2) + HALF_LOG_2PI for e in eps])  # B, C, H, W
        per_pixel = per_pixel + (math.log(common.BITS) - logdet / self.dims)[:, None, None, None]
        if ld_pre is not None:
            per_pixel = per_pixel - ld_pre
        maps = per_pixel.sum(1)  # B, H, W
        return common.bits_per_dim(maps.sum((1, 2)), self.dims), maps

    # -- latents ---------------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """(B, D) standard-normal latents of 8-bit images (u = 1/2), all scales in a fixed order."""
        return self.transform(common.dequantize(x, None).to(x.dtype))[0]

    def _to_image(self, h: torch.Tensor) -> torch.Tensor:
        y = self._postprocess(h)  # undoes u = 1/2: bin k is y in [k/256, (k+1)/256)
        return ((y * common.BITS - 0.5) / 127.5 - 1).clamp(-1, 1)

    @torch.no_grad()
    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """(B, D) latents -> images (B, C, H, W) in [-1, 1]."""
        return self._to_image(self.flow.inverse(self.unpack(z)))

    def prior_latents(self, seeds: list[int], temperature: float = 1.0) -> torch.Tensor:
        """z ~ N(0, T²) per seed: (B, D)."""
        gens = common.image_generators(len(seeds), 0, seeds)
        return (common.seeded_noise((self.dims,), gens) * temperature).to(next(self.parameters()).device)

    @torch.inference_mode()
    def sample(self, n: int = 1, seed: int = 0, seeds: list[int] | None = None, preview_every: int = 0,
               temperature: float = 1.0):
        """Generator: z ~ N(0, T²) per image (seed + i, or seeds[i]) through the inverse flow, one
        Progress per scale undone; returns N×H×W×C uint8."""
        gens = common.image_generators(n, seed, seeds)
        z = (common.seeded_noise((self.dims,), gens) * temperature).to(next(self.parameters()).device)
        total = len(self.flow.scales)
        clock = EtaClock(0, total)
        for i, h in enumerate(self.flow.inverse_steps(self.unpack(z))):
            if i + 1 < total:
                yield Progress(i + 1, total, clock.eta(i + 1), stage="sample")
            else:
                images = common.to_uint8(self._to_image(h))
        if preview_every:
            yield Preview(total, image=images)
        yield Progress(total, total, 0.0, stage="sample")
        return images


def _shape(cfg) -> tuple[int, int, int]:
    return (cfg.channels, cfg.image_size, cfg.image_size)


def build_nice(cfg: NICEConfig) -> FlowModel:
    return FlowModel(cfg, nice_flow(_shape(cfg), cfg.couplings, cfg.hidden, cfg.mlp_layers))


def build_realnvp(cfg: RealNVPConfig) -> FlowModel:
    return FlowModel(cfg, realnvp_flow(_shape(cfg), cfg.levels, cfg.hidden, cfg.res_blocks, cfg.coupling_scale,
                                         cfg.actnorm))


def build_glow(cfg: GlowConfig) -> FlowModel:
    flow = glow_flow(_shape(cfg), cfg.levels, cfg.steps_per_level, cfg.hidden, cfg.coupling_scale,
                     cfg.learned_prior)
    return FlowModel(cfg, flow)


CAPABILITIES = frozenset({Capability.GENERATE, Capability.LIKELIHOOD, Capability.INTERPOLATE, Capability.ANOMALY})
for _name, _cls, _builder, _about in (
    ("nice", NICEConfig, build_nice, "NICE: additive-coupling flow on the flattened image; exact likelihood"),
    ("realnvp", RealNVPConfig, build_realnvp,
     "RealNVP: multi-scale affine-coupling flow (checkerboard and channel masks); exact likelihood"),
    ("glow", GlowConfig, build_glow,
     "Glow: multi-scale flow of actnorm, invertible 1×1 convolutions and affine couplings; exact likelihood"),
):
    register(ArchSpec(name=_name, family="flow", modality="image", config_cls=_cls, builder=_builder,
                      capabilities=CAPABILITIES, trainer="trainers.images", description=_about,
                      sampler_options=("temperature",), sampler_defaults={"temperature": 1.0}))
