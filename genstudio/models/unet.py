"""A UNet denoiser for diffusion: time embedding, residual blocks, self-attention at low resolution.

Ho et al., "Denoising Diffusion Probabilistic Models" (2020), with the improvements of Nichol &
Dhariwal (2021): scale-shift time conditioning, zero-initialised residual outputs. Attention runs
only at the resolutions listed in the config (8×8 by default): at 32×32 it would cost more than the
convolutions and adds little for small images, which is most of what keeps this fast on a CPU.
With ``context_dim`` the same resolutions also cross-attend to text tokens, and the tokens' mean is
added to the time embedding (Rombach et al., "High-Resolution Image Synthesis with Latent Diffusion
Models", 2022); without it the network and its weight names are the plain UNet's.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def group_norm(channels: int) -> nn.GroupNorm:
    """Up to 32 groups of at least 4 channels, dividing the channel count exactly."""
    groups = next(g for g in range(min(32, max(1, channels // 4)), 0, -1) if channels % g == 0)
    return nn.GroupNorm(groups, channels)


def timestep_embedding(t: torch.Tensor, dim: int) -> torch.Tensor:
    """Sinusoidal embedding of (possibly fractional) timesteps: (B,) -> (B, dim)."""
    half = dim // 2
    freqs = torch.exp(-math.log(10000.0) * torch.arange(half, device=t.device, dtype=torch.float32) / half)
    args = t.float()[:, None] * freqs[None]
    return torch.cat([torch.cos(args), torch.sin(args)], dim=-1)


def zero_init(module: nn.Module) -> nn.Module:
    for p in module.parameters():
        nn.init.zeros_(p)
    return module


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, emb_dim: int, dropout: float):
        super().__init__()
        self.norm1 = group_norm(cin)
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.emb = nn.Linear(emb_dim, 2 * cout)  # scale and shift of the second norm
        self.norm2 = group_norm(cout)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = zero_init(nn.Conv2d(cout, cout, 3, padding=1))
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        scale, shift = self.emb(emb)[:, :, None, None].chunk(2, dim=1)
        h = self.norm2(h) * (1 + scale) + shift
        h = self.conv2(self.dropout(F.silu(h)))
        return self.skip(x) + h


class SelfAttention(nn.Module):
    def __init__(self, channels: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm = group_norm(channels)
        self.qkv = nn.Conv2d(channels, 3 * channels, 1)
        self.proj = zero_init(nn.Conv2d(channels, channels, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        qkv = self.qkv(self.norm(x)).reshape(B, 3, self.heads, C // self.heads, H * W)
        q, k, v = qkv.transpose(-1, -2).unbind(1)  # each B, heads, HW, C/heads
        h = F.scaled_dot_product_attention(q, k, v)
        return x + self.proj(h.transpose(-1, -2).reshape(B, C, H, W))


class CrossAttention(nn.Module):
    """Image features (queries) attend to text tokens (keys and values); padding tokens are masked."""

    def __init__(self, channels: int, context_dim: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm = group_norm(channels)
        self.q = nn.Conv2d(channels, channels, 1)
        self.kv = nn.Linear(context_dim, 2 * channels)
        self.proj = zero_init(nn.Conv2d(channels, channels, 1))

    def forward(self, x: torch.Tensor, context: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, C, H, W = x.shape
        L = context.shape[1]
        q = self.q(self.norm(x)).reshape(B, self.heads, C // self.heads, H * W).transpose(-1, -2)
        k, v = self.kv(context).reshape(B, L, 2, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        h = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])  # B, heads, HW, C/heads
        return x + self.proj(h.transpose(-1, -2).reshape(B, C, H, W))


class Level(nn.Module):
    """One resolution of the UNet: residual blocks, each optionally followed by attention (self, and
    cross-attention to text when the UNet has a ``context_dim``)."""

    def __init__(self, cins: list[int], cout: int, emb_dim: int, dropout: float, heads: int | None,
                 context_dim: int = 0):
        super().__init__()
        self.blocks = nn.ModuleList(ResBlock(c, cout, emb_dim, dropout) for c in cins)
        self.attns = nn.ModuleList(SelfAttention(cout, heads) if heads else nn.Identity() for _ in cins)
        # Only when used: a context-free UNet keeps the weight names its saved models have.
        self.cross = nn.ModuleList(CrossAttention(cout, context_dim, heads) for _ in cins) \
            if heads and context_dim else None

    def block(self, i: int, h: torch.Tensor, emb: torch.Tensor, text: tuple | None) -> torch.Tensor:
        h = self.attns[i](self.blocks[i](h, emb))
        if self.cross is not None and text is not None:
            h = self.cross[i](h, *text)
        return h


class UNet(nn.Module):
    def __init__(self, image_size: int, channels: int, base_width: int, channel_mults: tuple[int, ...],
                 res_blocks: int, attention_resolutions: tuple[int, ...], attention_heads: int,
                 dropout: float, num_classes: int = 0, context_dim: int = 0):
        super().__init__()
        w = base_width
        emb_dim = 4 * w
        self.time_mlp = nn.Sequential(nn.Linear(w, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        # One more row than classes: the last is "no class", what classifier-free guidance compares to.
        self.class_emb = nn.Embedding(num_classes + 1, emb_dim) if num_classes else None
        self.text_emb = nn.Linear(context_dim, emb_dim) if context_dim else None  # pooled text -> time embedding
        self.conv_in = nn.Conv2d(channels, w, 3, padding=1)
        widths = [w * m for m in channel_mults]

        self.down, self.downsample = nn.ModuleList(), nn.ModuleList()
        skips, ch, res = [], w, image_size
        for i, cout in enumerate(widths):
            heads = attention_heads if res in attention_resolutions else None
            cins = [ch] + [cout] * (res_blocks - 1)
            self.down.append(Level(cins, cout, emb_dim, dropout, heads, context_dim))
            skips += [cout] * res_blocks
            ch = cout
            last = i == len(widths) - 1
            self.downsample.append(nn.Identity() if last else nn.Conv2d(ch, ch, 3, stride=2, padding=1))
            res = res if last else res // 2

        self.mid1 = ResBlock(ch, ch, emb_dim, dropout)
        self.mid_attn = SelfAttention(ch, attention_heads)
        self.mid_cross = CrossAttention(ch, context_dim, attention_heads) if context_dim else None
        self.mid2 = ResBlock(ch, ch, emb_dim, dropout)

        self.up, self.upsample = nn.ModuleList(), nn.ModuleList()
        for i, cout in reversed(list(enumerate(widths))):
            heads = attention_heads if res in attention_resolutions else None
            cins = []
            for _ in range(res_blocks):
                cins.append(ch + skips.pop())
                ch = cout
            self.up.append(Level(cins, cout, emb_dim, dropout, heads, context_dim))
            self.upsample.append(nn.Identity() if i == 0 else nn.Conv2d(ch, ch, 3, padding=1))
            res = res if i == 0 else res * 2

        self.final = ResBlock(ch + w, w, emb_dim, dropout)
        self.norm_out = group_norm(w)
        self.conv_out = zero_init(nn.Conv2d(w, channels, 3, padding=1))
        self.base_width = w

    def forward(self, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor | None = None,
                context: torch.Tensor | None = None, mask: torch.Tensor | None = None) -> torch.Tensor:
        """x (B, C, H, W), t (B,); ``labels`` (B,) for a class-conditional UNet; ``context`` (B, L, D)
        text tokens with ``mask`` (B, L) True where a token is real, for one with a ``context_dim``."""
        emb = self.time_mlp(timestep_embedding(t, self.base_width))
        if self.class_emb is not None and labels is not None:
            emb = emb + self.class_emb(labels)
        text = None
        if self.text_emb is not None and context is not None:
            if mask is None:
                mask = torch.ones(context.shape[:2], dtype=torch.bool, device=context.device)
            keep = mask[..., None].to(context.dtype)
            emb = emb + self.text_emb((context * keep).sum(1) / keep.sum(1).clamp(min=1))
            text = (context, mask)
        h = self.conv_in(x)
        first, skips = h, []
        for level, down in zip(self.down, self.downsample):
            for i in range(len(level.blocks)):
                h = level.block(i, h, emb, text)
                skips.append(h)
            h = down(h)
        h = self.mid_attn(self.mid1(h, emb))
        if self.mid_cross is not None and text is not None:
            h = self.mid_cross(h, *text)
        h = self.mid2(h, emb)
        for level, up in zip(self.up, self.upsample):
            for i in range(len(level.blocks)):
                h = level.block(i, torch.cat([h, skips.pop()], dim=1), emb, text)
            if not isinstance(up, nn.Identity):
                h = up(F.interpolate(h, scale_factor=2.0, mode="nearest"))
        h = self.final(torch.cat([h, first], dim=1), emb)
        return self.conv_out(F.silu(self.norm_out(h)))
