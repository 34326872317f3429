"""Autoregressive image models: p(x) = Π p(x_i | x_<i) over subpixels in raster order, R before G before B.

Three networks share one output layer and one pixel-by-pixel sampler. PixelCNN stacks masked
convolutions (mask A first, so a pixel never sees itself; mask B after) in residual blocks. Gated
PixelCNN splits them into a vertical stack (rows above) and a horizontal stack (the row so far) joined
by a vertical-to-horizontal link, with tanh·sigmoid gates, which removes PixelCNN's blind spot. PixelRNN
here is the Row LSTM: a masked 1×k input-to-state convolution along the row and a 1×k state-to-state
convolution over the previous row's hidden state, run row by row. For RGB every feature belongs to a
colour group and the centre tap of each mask lets group j see group i only if i < j (A) or i ≤ j (B),
so channel c at pixel p depends on earlier pixels and on the channels before c at p, and the
likelihood is exact. Outputs: a 256-way softmax per subpixel, a discretised mixture of logistics per
subpixel (PixelCNN++'s edge bins; the channel masks replace its linear RGB coupling), or a Bernoulli
for binarised images. Papers: van den Oord, Kalchbrenner & Kavukcuoglu, "Pixel Recurrent Neural
Networks" (2016); van den Oord et al., "Conditional Image Generation with PixelCNN Decoders" (2016);
Salimans et al., "PixelCNN++" (2017).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genstudio.core.events import EtaClock, Preview, Progress
from genstudio.core.registry import ArchSpec, Capability, register
from genstudio.models.common import (
    BITS,
    binarize,
    bits_per_dim,
    check_image_config,
    from_levels,
    image_generators,
    seeded_uniform,
    to_levels,
    to_uint8,
)

OUTPUTS = ("softmax", "logistic_mixture", "bernoulli")


@dataclass
class AutoregressiveConfig:
    image_size: int = 32  # pixels, square; 28–64
    channels: int = 3  # 1 = grayscale, 3 = RGB (generated R, then G, then B)
    width: int = 64  # features per layer, split into one group per colour (at least `channels`)
    layers: int = 6  # residual blocks (PixelCNN), gated layers (Gated PixelCNN), Row LSTM layers (PixelRNN)
    kernel_size: int = 7  # first layer's kernel (mask A), odd
    hidden_kernel: int = 3  # kernel of the later masked convolutions and of the LSTM's row convolutions, odd
    output: str = "softmax"  # "softmax" (256 levels), "logistic_mixture", or "bernoulli" (binarised images)
    mixtures: int = 5  # logistic components per subpixel when output = "logistic_mixture"

    def __post_init__(self):
        check_image_config(self.image_size, self.channels)
        if self.output not in OUTPUTS:
            raise ValueError(f"output must be one of {OUTPUTS}, got {self.output!r}")
        if self.width < self.channels:
            raise ValueError(f"width must be at least channels ({self.channels}), got {self.width}")
        if self.layers < 1:
            raise ValueError(f"layers must be at least 1, got {self.layers}")
        for name in ("kernel_size", "hidden_kernel"):
            k = getattr(self, name)
            if k < 3 or k % 2 == 0:
                raise ValueError(f"{name} must be odd and at least 3, got {k}")
        if self.mixtures < 1:
            raise ValueError(f"mixtures must be at least 1, got {self.mixtures}")

    @property
    def params_per_subpixel(self) -> int:
        return {"softmax": BITS, "logistic_mixture": 3 * self.mixtures, "bernoulli": 1}[self.output]


# -- masked convolutions -------------------------------------------------------------------------------
def channel_groups(n: int, colors: int) -> torch.Tensor:
    """Colour group of each of ``n`` features: contiguous blocks (equal when C divides n), so the C input
    channels are groups 0..C-1 and C·m output parameters are laid out channel-major."""
    return torch.arange(n) * colors // n


class MaskedConv2d(nn.Conv2d):
    """A convolution that sees no tap after the output pixel in raster order.

    ``pad`` (left, right, top, bottom; negative crops) puts the output pixel at kernel tap ``centre``;
    taps after it are zeroed, and at the centre output group j sees input group i iff i < j (mask "A")
    or i ≤ j ("B"). ``centre=None`` keeps every tap (a kernel lying wholly above the pixel). ``gates``
    repeats the output groups so each of that many chunks of the output is a full set of groups.
    """

    def __init__(self, cin: int, cout: int, kernel: tuple[int, int], pad: tuple[int, int, int, int],
                 centre: tuple[int, int] | None = None, mask: str = "B", colors: int = 1, gates: int = 1):
        super().__init__(cin, cout, kernel)
        self.pad = pad
        m = torch.ones(cout, cin, *kernel)
        if centre is not None:
            cr, cc = centre
            m[:, :, cr, cc + 1:] = 0
            m[:, :, cr + 1:] = 0
            g_in, g_out = channel_groups(cin, colors), channel_groups(cout // gates, colors).repeat(gates)
            seen = g_in[None, :] < g_out[:, None] if mask == "A" else g_in[None, :] <= g_out[:, None]
            m[:, :, cr, cc] = seen.float()
        self.register_buffer("mask", m, persistent=False)  # derived from the shape, not a weight

    def forward(self, x):
        return F.conv2d(F.pad(x, self.pad), self.weight * self.mask, self.bias)


def square_conv(cin, cout, k, mask, colors, gates=1) -> MaskedConv2d:
    return MaskedConv2d(cin, cout, (k, k), (k // 2,) * 4, (k // 2, k // 2), mask, colors, gates)


def pointwise_conv(cin, cout, colors, gates=1) -> MaskedConv2d:
    return MaskedConv2d(cin, cout, (1, 1), (0, 0, 0, 0), (0, 0), "B", colors, gates)


def row_conv(cin, cout, k, mask, colors, gates=1) -> MaskedConv2d:
    """1×k along the row, output at the centre tap (later taps masked)."""
    return MaskedConv2d(cin, cout, (1, k), (k // 2, k // 2, 0, 0), (0, k // 2), mask, colors, gates)


def output_head(width: int, params: int, colors: int) -> nn.Sequential:
    return nn.Sequential(nn.ReLU(), pointwise_conv(width, width, colors), nn.ReLU(),
                         pointwise_conv(width, params, colors))


def gate(t: torch.Tensor) -> torch.Tensor:
    a, b = t.chunk(2, 1)
    return torch.tanh(a) * torch.sigmoid(b)


# -- networks: x (B, C, H, W) -> distribution parameters (B, C·m, H, W) --------------------------------
class CausalNet(nn.Module):
    """What the sampler needs of a network. Its layers reach ``reach`` pixels up, left and right in all,
    so the output at (r, c) needs only rows r - reach..r and columns c ± reach of the input, and the
    sampler runs the net on that window alone. This is exact: the features that the window's cut edges
    spoil (zero padding instead of the true neighbours) are never within reach of (r, c)."""

    recurrent = False  # True: the sampler carries a state from row to row (``next_state``)

    def __init__(self, cfg: AutoregressiveConfig):
        super().__init__()
        self.reach = cfg.kernel_size // 2 + cfg.layers * (cfg.hidden_kernel // 2)

    def columns(self, c: int, width: int) -> tuple[int, int]:
        return max(0, c - self.reach), min(width, c + self.reach + 1)

    def pixel_params(self, x: torch.Tensor, r: int, c: int, state=None) -> torch.Tensor:
        """The distribution parameters (B, P) at pixel (r, c) of x (B, C, H, W)."""
        lo, hi = self.columns(c, x.shape[-1])
        return self(x[:, :, max(0, r - self.reach): r + 1, lo:hi])[:, :, -1, c - lo]


class PixelCNNNet(CausalNet):
    def __init__(self, cfg: AutoregressiveConfig, params: int):
        super().__init__(cfg)
        C, w, hk = cfg.channels, cfg.width, cfg.hidden_kernel
        self.first = square_conv(C, w, cfg.kernel_size, "A", C)
        self.convs = nn.ModuleList(square_conv(w, w, hk, "B", C) for _ in range(cfg.layers))
        self.mixes = nn.ModuleList(pointwise_conv(w, w, C) for _ in range(cfg.layers))
        self.head = output_head(w, params, C)

    def forward(self, x):
        f = self.first(x)  # (B, w, H, W)
        for conv, mix in zip(self.convs, self.mixes):
            f = f + mix(F.relu(conv(F.relu(f))))  # residual block
        return self.head(f)


class GatedLayer(nn.Module):
    def __init__(self, w: int, k: int, colors: int):
        super().__init__()
        # The vertical stack's input holds rows above only, so it may see the whole current row of it.
        self.vertical = MaskedConv2d(w, 2 * w, (k // 2 + 1, k), (k // 2, k // 2, k // 2, 0))
        self.link = nn.Conv2d(2 * w, 2 * w, 1)  # vertical -> horizontal: no same-pixel path, so unmasked
        self.horizontal = MaskedConv2d(w, 2 * w, (1, k // 2 + 1), (k // 2, 0, 0, 0), (0, k // 2), "B", colors, 2)
        self.mix = pointwise_conv(w, w, colors)

    def forward(self, v, h):
        pre_v = self.vertical(v)  # (B, 2w, H, W)
        return gate(pre_v), h + self.mix(gate(self.horizontal(h) + self.link(pre_v)))


class GatedPixelCNNNet(CausalNet):
    def __init__(self, cfg: AutoregressiveConfig, params: int):
        super().__init__(cfg)
        C, w, k = cfg.channels, cfg.width, cfg.kernel_size
        # Strictly the k//2 rows above (the bottom pad of -1 crops the row that would include the pixel).
        self.first_vertical = MaskedConv2d(C, w, (k // 2, k), (k // 2, k // 2, k // 2, -1))
        self.first_horizontal = MaskedConv2d(C, w, (1, k // 2 + 1), (k // 2, 0, 0, 0), (0, k // 2), "A", C)
        self.layers = nn.ModuleList(GatedLayer(w, cfg.hidden_kernel, C) for _ in range(cfg.layers))
        self.head = output_head(w, params, C)

    def forward(self, x):
        v, h = self.first_vertical(x), self.first_horizontal(x)  # (B, w, H, W) each
        for layer in self.layers:
            v, h = layer(v, h)
        return self.head(h)


class RowLSTM(nn.Module):
    """One Row LSTM layer with a residual connection; rows run in sequence, a whole row at a time."""

    def __init__(self, w: int, k: int, colors: int):
        super().__init__()
        self.input_to_state = row_conv(w, 4 * w, k, "B", colors, gates=4)
        self.state_to_state = nn.Conv1d(w, 4 * w, k, padding=k // 2)  # the row above: every channel visible
        self.mix = pointwise_conv(w, w, colors)

    def forward(self, f, state=None):
        """f: (B, w, R, W), the rows that follow ``state`` = (h, c) of the row above (None: the top)."""
        B, w, R, W = f.shape
        gates_in = self.input_to_state(f).unbind(2)  # R × (B, 4w, W); unbind's backward is one stack, not R
        h, c = state if state is not None else (f.new_zeros(B, w, W), f.new_zeros(B, w, W))
        rows = []
        for r in range(R):
            o, forget, i, g = (gates_in[r] + self.state_to_state(h)).chunk(4, 1)  # (B, w, W) each
            c = torch.sigmoid(forget) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            rows.append(h)
        return f + self.mix(torch.stack(rows, 2)), (h, c)


class PixelRNNNet(CausalNet):
    recurrent = True  # each layer's LSTM state (h, c) of the row above, (B, w, W) each

    def __init__(self, cfg: AutoregressiveConfig, params: int):
        super().__init__(cfg)
        C, w = cfg.channels, cfg.width
        self.first = square_conv(C, w, cfg.kernel_size, "A", C)
        self.lstms = nn.ModuleList(RowLSTM(w, cfg.hidden_kernel, C) for _ in range(cfg.layers))
        self.head = output_head(w, params, C)

    def forward(self, x):
        f = self.first(x)  # (B, w, H, W)
        for lstm in self.lstms:
            f, _ = lstm(f)
        return self.head(f)

    def run_row(self, x, r, state, lo, hi):
        """Row r's features at columns lo..hi-1 given the states after row r-1; and the states after row r."""
        k = self.first.kernel_size[0]
        f = self.first(x[:, :, max(0, r - k // 2): r + 1, lo:hi])[:, :, -1:]  # (B, w, 1, hi - lo)
        new = []
        for lstm, s in zip(self.lstms, state or [None] * len(self.lstms)):
            f, s = lstm(f, None if s is None else (s[0][..., lo:hi], s[1][..., lo:hi]))
            new.append(s)
        return f, new

    def pixel_params(self, x, r, c, state=None):
        lo, hi = self.columns(c, x.shape[-1])
        return self.head(self.run_row(x, r, state, lo, hi)[0])[:, :, 0, c - lo]

    def next_state(self, x, r, state=None):
        return self.run_row(x, r, state, 0, x.shape[-1])[1]


# -- output distributions --------------------------------------------------------------------------------
def logistic_mixture_log_prob(p: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """log P(level) under a mixture of logistics discretised into 256 bins on [-1, 1], the edge bins
    taking the tails. p: (B, C, 3K, H, W) as [logits, means, log-scales]; levels (B, C, H, W)."""
    logits, mean, log_scale = p.chunk(3, 2)  # (B, C, K, H, W) each
    log_scale = log_scale.clamp(min=-7)
    inv_s = torch.exp(-log_scale)
    centred = from_levels(levels)[:, :, None] - mean
    upper, lower, mid = inv_s * (centred + 1 / 255), inv_s * (centred - 1 / 255), inv_s * centred
    # σ(upper) - σ(lower), taken on the side of the logistic where it does not cancel.
    delta = torch.where(mid > 0, torch.sigmoid(-lower) - torch.sigmoid(-upper),
                        torch.sigmoid(upper) - torch.sigmoid(lower))
    log_density = mid - log_scale - 2 * F.softplus(mid)  # where the bin's mass underflows: density × width
    log_mid = torch.where(delta > 1e-5, delta.clamp(min=1e-12).log(), log_density - math.log(127.5))
    level = levels[:, :, None]
    lp = torch.where(level == 0, F.logsigmoid(upper), torch.where(level == BITS - 1, F.logsigmoid(-lower), log_mid))
    return torch.logsumexp(lp + F.log_softmax(logits, 2), 2)  # (B, C, H, W)


def level_cdf(p: torch.Tensor, output: str, temperature: float) -> torch.Tensor:
    """P(level ≤ k) for k below the top level, from one subpixel's parameters p (n, m): (n, levels - 1)."""
    if output == "bernoulli":
        return torch.sigmoid(-p / temperature)  # P(0)
    if output == "softmax":
        return torch.softmax(p / temperature, -1).cumsum(-1)[:, :-1]
    logits, mean, log_scale = p.view(p.shape[0], 3, -1).unbind(1)  # (n, K) each
    weights = torch.softmax(logits / temperature, -1)
    scale = log_scale.clamp(min=-7).exp() * temperature
    edges = (torch.arange(BITS - 1, device=p.device) + 0.5) / 127.5 - 1  # upper edge of bins 0..254
    return (weights[:, None] * torch.sigmoid((edges[None, :, None] - mean[:, None]) / scale[:, None])).sum(-1)


class AutoregressiveModel(nn.Module):
    """A causal network and its per-subpixel output distribution: exact likelihood, sequential sampling."""

    preview_options = {"temperature": 1.0}
    likelihood_kind = "exact"

    def __init__(self, config: AutoregressiveConfig, net_cls: type[nn.Module]):
        super().__init__()
        self.config = config
        self.net = net_cls(config, config.channels * config.params_per_subpixel)

    # -- likelihood ------------------------------------------------------------------------------
    def targets(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """What is modelled: levels 0..255, or {0, 1} for Bernoulli (dynamic with a generator)."""
        return binarize(x, generator).long() if self.config.output == "bernoulli" else to_levels(x)

    def network_input(self, targets: torch.Tensor) -> torch.Tensor:
        return targets.float() * 2 - 1 if self.config.output == "bernoulli" else from_levels(targets)

    def log_prob(self, params: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Per-subpixel log-probabilities (B, C, H, W) of ``targets`` under ``params`` (B, C·m, H, W)."""
        B, _, H, W = params.shape
        p = params.float().view(B, self.config.channels, -1, H, W)  # (B, C, m, H, W); fp32 under autocast too
        if self.config.output == "softmax":
            return F.log_softmax(p, 2).gather(2, targets[:, :, None]).squeeze(2)
        if self.config.output == "bernoulli":
            return -F.binary_cross_entropy_with_logits(p[:, :, 0], targets.float(), reduction="none")
        return logistic_mixture_log_prob(p, targets)

    def subpixel_nll(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        t = self.targets(x, generator)
        return -self.log_prob(self.net(self.network_input(t)), t)  # (B, C, H, W) nats

    def training_loss(self, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
        """Loss in nats per subpixel; "nll" is nats per image."""
        nll = self.subpixel_nll(x, generator).flatten(1).sum(1)  # (B,)
        dims = x[0].numel()
        loss = nll.mean() / dims
        return loss, {"loss": loss.item(), "nll": nll.mean().item(),
                      "bits_per_dim": bits_per_dim(nll.mean(), dims).item()}

    @torch.no_grad()
    def negative_log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """Exact nats of each 8-bit image (of its thresholded binarisation for Bernoulli): (B,)."""
        return self.subpixel_nll(x).flatten(1).sum(1)

    @torch.no_grad()
    def anomaly_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores in bits per dimension (B,) and each pixel's NLL in nats, summed over channels (B, H, W)."""
        maps = self.subpixel_nll(x).sum(1)
        return bits_per_dim(maps.flatten(1).sum(1), x[0].numel()), maps

    # -- sampling --------------------------------------------------------------------------------
    @torch.inference_mode()
    def sample(self, n: int = 1, seed: int = 0, seeds: list[int] | None = None, preview_every: int = 0,
               temperature: float = 1.0):
        """Generator: fills the image pixel by pixel (channels in order), one network pass per subpixel;
        yields Progress per pixel and a Preview (unsampled pixels mid-grey) every ``preview_every``
        pixels; returns N×H×W×C uint8. Each subpixel is an inverse-CDF draw from its image's uniforms."""
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        cfg = self.config
        C, S = cfg.channels, cfg.image_size
        device = next(self.parameters()).device
        gens = image_generators(n, seed, seeds)
        u = seeded_uniform((S, S, C), gens).to(device)  # (N, H, W, C)
        x = torch.zeros(len(gens), C, S, S, device=device)  # network input; 0 is mid-grey until sampled
        clock, state = EtaClock(0, S * S), None
        for r in range(S):
            for col in range(S):
                for ch in range(C):
                    p = self.net.pixel_params(x, r, col, state).view(len(gens), C, -1)[:, ch]  # (N, m)
                    level = (level_cdf(p, cfg.output, temperature) <= u[:, r, col, ch, None]).sum(-1)
                    x[:, ch, r, col] = self.network_input(level)
                step = r * S + col + 1
                yield Progress(step, S * S, clock.eta(step), stage="sample")
                if preview_every and step % preview_every == 0 and step < S * S:
                    yield Preview(step, image=to_uint8(x))
            if self.net.recurrent:  # the finished row's LSTM states feed the next row
                state = self.net.next_state(x, r, state)
        return to_uint8(x)


NETWORKS = {"pixelcnn": PixelCNNNet, "gated-pixelcnn": GatedPixelCNNNet, "pixelrnn": PixelRNNNet}
DESCRIPTIONS = {
    "pixelcnn": "PixelCNN: masked convolutions (mask A then B) in residual blocks; exact likelihood",
    "gated-pixelcnn": "Gated PixelCNN: vertical and horizontal gated stacks, no blind spot; exact likelihood",
    "pixelrnn": "PixelRNN (Row LSTM): rows processed in sequence by masked convolutional LSTMs; exact likelihood",
}


def builder(name: str):
    def build(config: AutoregressiveConfig) -> AutoregressiveModel:
        return AutoregressiveModel(config, NETWORKS[name])
    return build


for _name in NETWORKS:
    register(ArchSpec(
        name=_name,
        family="autoregressive",
        modality="image",
        config_cls=AutoregressiveConfig,
        builder=builder(_name),
        capabilities=frozenset({Capability.GENERATE, Capability.LIKELIHOOD, Capability.ANOMALY}),
        trainer="trainers.images",
        description=DESCRIPTIONS[_name],
        sampler_options=("temperature",),
        sampler_defaults={"temperature": 1.0},
    ))
