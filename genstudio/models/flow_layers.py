"""The invertible layers of the flows in ``flows.py`` and the multi-scale chain that holds them.

Each layer maps ``x -> (y, log|det ∂y/∂x|)`` per image and has an exact ``inverse``: squeeze,
actnorm (data-initialised), invertible 1×1 convolution in LU form, affine coupling (checkerboard or
channel mask), additive coupling, a diagonal scale, and the split that factors out half the channels
(with Glow's learned conditional prior written as a standardising affine layer). The builders put
them together as NICE, RealNVP and Glow do.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from genstudio.models.unet import zero_init


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
