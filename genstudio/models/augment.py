"""Differentiable augmentation for GANs on small folders: the same random colour, translation and
cutout applied to real AND generated images before the discriminator sees them, in both the
discriminator's and the generator's steps. Because every operation is differentiable in the image,
the generator's gradient passes through the augmentation, so the discriminator cannot memorise a
few hundred training images and the generator still learns the un-augmented distribution. All random
draws come from the caller's ``torch.Generator``, so a resumed run repeats itself exactly.
Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training" (NeurIPS 2020); the
magnitudes (brightness ±0.5, saturation ×[0, 2], contrast ×[0.5, 1.5], shifts up to 1/8 of the side,
a cutout of half the side) are the paper's.
"""

from __future__ import annotations

import torch

TRANSLATION_RATIO = 0.125  # largest shift, as a fraction of the side
CUTOUT_RATIO = 0.5  # side of the erased square, as a fraction of the image side


def parse_policy(policy: str) -> tuple[str, ...]:
    """'color,translation' -> ("color", "translation"); ValueError for an unknown name."""
    names = tuple(name.strip() for name in policy.split(",") if name.strip())
    unknown = [name for name in names if name not in POLICIES]
    if unknown:
        raise ValueError(f"Unknown augmentation {', '.join(unknown)!r}; choose from {', '.join(POLICIES)} "
                         "(comma-separated, or empty for none).")
    return names


def diff_augment(x: torch.Tensor, policy: str = "color,translation,cutout",
                 generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, C, H, W) in [-1, 1] -> the same shape, each image augmented by its own random draws."""
    for name in parse_policy(policy):
        x = POLICIES[name](x, generator)
    return x


def _uniform(x: torch.Tensor, generator: torch.Generator | None, *shape: int) -> torch.Tensor:
    """Uniforms in [0, 1) of ``shape``, drawn on the generator's device, moved to x's."""
    device = generator.device if generator is not None else x.device
    return torch.rand(shape, generator=generator, device=device).to(x.device, x.dtype)


def _offsets(x: torch.Tensor, generator: torch.Generator | None, count: int, low: int, high: int) -> torch.Tensor:
    """``count`` integers per image, uniform in [low, high] (long, on x's device)."""
    u = _uniform(x, generator, x.shape[0], count).float()
    return (low + (u * (high - low + 1)).floor()).long().clamp(max=high)


def color(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    B = x.shape[0]
    x = x + (_uniform(x, generator, B, 1, 1, 1) - 0.5)  # brightness
    mean = x.mean(dim=1, keepdim=True)
    x = (x - mean) * (_uniform(x, generator, B, 1, 1, 1) * 2) + mean  # saturation (a no-op for grey)
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_uniform(x, generator, B, 1, 1, 1) + 0.5) + mean  # contrast


def translation(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Shift each image by whole pixels, filling with zeros (mid-grey), as a gather from a padded copy."""
    B, _, H, W = x.shape
    pad_y, pad_x = int(H * TRANSLATION_RATIO + 0.5), int(W * TRANSLATION_RATIO + 0.5)
    shift_y = _offsets(x, generator, 1, -pad_y, pad_y)[:, 0]
    shift_x = _offsets(x, generator, 1, -pad_x, pad_x)[:, 0]
    padded = torch.nn.functional.pad(x, (pad_x, pad_x, pad_y, pad_y))
    rows = torch.arange(H, device=x.device)[None, :] + pad_y + shift_y[:, None]  # (B, H)
    cols = torch.arange(W, device=x.device)[None, :] + pad_x + shift_x[:, None]  # (B, W)
    batch = torch.arange(B, device=x.device)[:, None, None]
    return padded[batch, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)  # (B,H,W,C) -> (B,C,H,W)


def cutout(x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Erase (set to mid-grey) one square of half the side per image; it may hang over the border."""
    B, _, H, W = x.shape
    size_y, size_x = int(H * CUTOUT_RATIO + 0.5), int(W * CUTOUT_RATIO + 0.5)
    centre = torch.stack([_offsets(x, generator, 1, 0, H - size_y % 2)[:, 0],
                          _offsets(x, generator, 1, 0, W - size_x % 2)[:, 0]], 1)  # (B, 2)
    top, left = centre[:, 0] - size_y // 2, centre[:, 1] - size_x // 2
    rows = torch.arange(H, device=x.device)[None, :]
    cols = torch.arange(W, device=x.device)[None, :]
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + size_y)  # (B, H)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + size_x)  # (B, W)
    keep = ~(in_rows[:, :, None] & in_cols[:, None, :])  # (B, H, W)
    return x * keep[:, None].to(x.dtype)


POLICIES = {"color": color, "translation": translation, "cutout": cutout}
