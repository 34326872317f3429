"""A diffusion transformer (DiT): the UNet of ``ddpm`` replaced by a plain transformer over image patches.

Peebles & Xie, "Scalable Diffusion Models with Transformers" (2023). The image is cut into p×p
patches (a convolution with stride p), each a token with a fixed 2-D sine-cosine position; the
timestep and class embeddings are summed into one conditioning vector that steers every block
through adaptive layer norm (shift, scale) and a gate on each residual branch (adaLN-Zero). The
gates and the output layer start at zero, so every block starts as the identity and the network
as the zero function: training grows the residual branches from nothing, which the paper found
the most stable of its conditioning schemes. The process and samplers are ``ddpm``'s
(``DiffusionModel``), class conditioning and classifier-free guidance included.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genstudio.core.registry import ArchSpec, Capability, register
from genstudio.models.diffusion import DiffusionModel, check_process
from genstudio.models.unet import timestep_embedding, zero_init


@dataclass
class DiTConfig:
    image_size: int = 32  # pixels, square; 28–128, divisible by patch_size
    channels: int = 3  # 1 = grayscale, 3 = RGB
    patch_size: int = 2  # pixels per token side: (image_size / patch_size)² tokens
    width: int = 192  # token dimension
    depth: int = 9  # transformer blocks
    heads: int = 3  # attention heads (width / heads per head)
    mlp_ratio: float = 4.0  # hidden width of each block's MLP, in multiples of width
    timesteps: int = 1000  # training noise levels
    schedule: str = "cosine"  # "cosine" (Nichol & Dhariwal) or "linear" (Ho et al.)
    prediction: str = "v"  # network target: "eps" (noise) or "v" (velocity)
    classes: tuple[str, ...] = ()  # class names (training subfolders); empty: unconditional
    label_dropout: float = 0.1  # share of training steps without the class, for classifier-free guidance

    def __post_init__(self):
        if not 28 <= self.image_size <= 128:
            raise ValueError(f"image_size must be 28–128, got {self.image_size}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if not 1 <= self.patch_size <= 16 or self.image_size % self.patch_size:
            raise ValueError(f"image_size ({self.image_size}) must be divisible by patch_size ({self.patch_size})")
        if self.width % self.heads or self.width % 4:
            raise ValueError("width must be divisible by heads and by 4 (the 2-D position embedding)")
        if self.depth < 1 or self.mlp_ratio <= 0:
            raise ValueError("depth must be at least 1 and mlp_ratio positive")
        check_process(self)
        if not 0 <= self.label_dropout < 1:
            raise ValueError(f"label_dropout must be in [0, 1), got {self.label_dropout}")


# -- patches and positions -----------------------------------------------------------------------
def patchify(x: torch.Tensor, p: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, H/p · W/p, p·p·C): row-major tokens, each a patch's pixels (channels last)."""
    B, C, H, W = x.shape
    x = x.reshape(B, C, H // p, p, W // p, p).permute(0, 2, 4, 3, 5, 1)  # B, h, w, p, p, C
    return x.reshape(B, (H // p) * (W // p), p * p * C)


def unpatchify(tokens: torch.Tensor, p: int, channels: int) -> torch.Tensor:
    """The inverse of ``patchify`` for a square image."""
    B, T, _ = tokens.shape
    side = math.isqrt(T)
    x = tokens.reshape(B, side, side, p, p, channels).permute(0, 5, 1, 3, 2, 4)  # B, C, h, p, w, p
    return x.reshape(B, channels, side * p, side * p)


def sincos_1d(dim: int, positions: torch.Tensor) -> torch.Tensor:
    """(N,) positions -> (N, dim): sines then cosines at geometric frequencies (Vaswani et al.)."""
    omega = 1.0 / 10000 ** (torch.arange(dim // 2, dtype=torch.float64) / (dim / 2))
    angles = positions.double()[:, None] * omega[None]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


def sincos_2d(dim: int, side: int) -> torch.Tensor:
    """(side², dim) fixed position embedding of a side×side grid in row-major order: half of the
    dimensions encode the row, half the column (as in MAE and DiT)."""
    rows, cols = torch.meshgrid(torch.arange(side), torch.arange(side), indexing="ij")
    return torch.cat([sincos_1d(dim // 2, rows.flatten()), sincos_1d(dim // 2, cols.flatten())], dim=1).float()


def modulate(x: torch.Tensor, shift: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Adaptive layer norm's affine part: per-sample shift and scale (B, D) over every token."""
    return x * (1 + scale[:, None]) + shift[:, None]


# -- the network ---------------------------------------------------------------------------------
class Attention(nn.Module):
    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.qkv = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, T, D = x.shape
        q, k, v = self.qkv(x).reshape(B, T, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        h = F.scaled_dot_product_attention(q, k, v)  # B, heads, T, D/heads
        return self.proj(h.transpose(1, 2).reshape(B, T, D))


class DiTBlock(nn.Module):
    """Pre-norm transformer block whose norms and residual gates come from the conditioning vector."""

    def __init__(self, width: int, heads: int, mlp_ratio: float):
        super().__init__()
        hidden = int(width * mlp_ratio)
        self.norm1 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)  # affine comes from adaLN
        self.attn = Attention(width, heads)
        self.norm2 = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(approximate="tanh"), nn.Linear(hidden, width))
        # Zero: gates 0 make the block the identity at initialisation (adaLN-Zero).
        self.modulation = zero_init(nn.Linear(width, 6 * width))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift1, scale1, gate1, shift2, scale2, gate2 = self.modulation(F.silu(c)).chunk(6, dim=1)
        x = x + gate1[:, None] * self.attn(modulate(self.norm1(x), shift1, scale1))
        return x + gate2[:, None] * self.mlp(modulate(self.norm2(x), shift2, scale2))


class FinalLayer(nn.Module):
    """Adaptive norm, then each token back to its patch's pixels; zero-initialised (output 0)."""

    def __init__(self, width: int, patch_size: int, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(width, elementwise_affine=False, eps=1e-6)
        self.modulation = zero_init(nn.Linear(width, 2 * width))
        self.linear = zero_init(nn.Linear(width, patch_size * patch_size * channels))

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        shift, scale = self.modulation(F.silu(c)).chunk(2, dim=1)
        return self.linear(modulate(self.norm(x), shift, scale))


class DiT(nn.Module):
    def __init__(self, image_size: int, channels: int, patch_size: int, width: int, depth: int, heads: int,
                 mlp_ratio: float = 4.0, num_classes: int = 0):
        super().__init__()
        self.patch_size, self.channels, self.width = patch_size, channels, width
        self.patch_embed = nn.Conv2d(channels, width, patch_size, stride=patch_size)
        # Fixed, so not in the weights file: a pure function of the config.
        self.register_buffer("pos", sincos_2d(width, image_size // patch_size), persistent=False)
        self.time_mlp = nn.Sequential(nn.Linear(width, width), nn.SiLU(), nn.Linear(width, width))
        # One more row than classes: the last is "no class", what classifier-free guidance compares to.
        self.class_emb = nn.Embedding(num_classes + 1, width) if num_classes else None
        self.blocks = nn.ModuleList(DiTBlock(width, heads, mlp_ratio) for _ in range(depth))
        self.final = FinalLayer(width, patch_size, channels)
        self._init_weights()

    def _init_weights(self) -> None:
        """DiT's initialisation: Xavier for the transformer's linears, the patch embedding as a linear
        layer, small normal embeddings; the adaLN and output layers stay at zero."""
        zeroed = {id(b.modulation) for b in self.blocks} | {id(self.final.modulation), id(self.final.linear)}
        for m in self.modules():
            if isinstance(m, nn.Linear) and id(m) not in zeroed:
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.xavier_uniform_(self.patch_embed.weight.view(self.width, -1))
        nn.init.zeros_(self.patch_embed.bias)
        for m in self.time_mlp:
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
        if self.class_emb is not None:
            nn.init.normal_(self.class_emb.weight, std=0.02)

    def condition(self, t: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """(B, width): the timestep embedding plus the class embedding (when given)."""
        c = self.time_mlp(timestep_embedding(t, self.width))
        if self.class_emb is not None and labels is not None:
            c = c + self.class_emb(labels)
        return c

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        tokens = self.patch_embed(x).flatten(2).transpose(1, 2) + self.pos  # B, T, width (row-major)
        c = self.condition(t, labels)
        for block in self.blocks:
            tokens = block(tokens, c)
        return unpatchify(self.final(tokens, c), self.patch_size, self.channels)


def build_dit(config: DiTConfig) -> DiffusionModel:
    net = DiT(config.image_size, config.channels, config.patch_size, config.width, config.depth, config.heads,
              config.mlp_ratio, len(config.classes))
    return DiffusionModel(config, net=net)


register(ArchSpec(
    name="dit",
    family="diffusion",
    modality="image",
    config_cls=DiTConfig,
    builder=build_dit,
    capabilities=frozenset({Capability.GENERATE, Capability.INPAINT}),
    trainer="trainers.images",
    description="Diffusion transformer (DiT): patches, adaLN-Zero blocks; DDPM and DDIM sampling; "
                "class-conditional from subfolders",
    sampler_options=("steps", "sampler", "eta", "label", "guidance"),
    sampler_defaults={"steps": 25, "sampler": "ddim", "eta": 0.0, "label": -1, "guidance": 1.0},
))
