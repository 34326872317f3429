"""Latent tools: interpolate between two images or seeds, traverse one latent dimension, denoise.

They work on any model whose spec declares the capability (INTERPOLATE: ``decode``/``prior_latents``,
ENCODE: ``encode`` so an image can be an endpoint; TRAVERSE: plus ``latent_dim``; DENOISE:
``reconstruct``; STYLE_MIX: ``mix_styles``), never on names. Each is one or a few network passes,
so they are plain functions the UI runs off its thread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from genstudio.core.errors import GenStudioError
from genstudio.core.registry import Capability, get
from genstudio.tasks.generate import as_rgb, load_model

TRAVERSE_RANGE = 3.0  # ± standard deviations of the prior swept along each latent dimension


@dataclass
class Endpoint:
    """One end of an interpolation: a seed (a sample of the prior) or an image (its encoding)."""

    seed: int = 0
    image: np.ndarray | None = None  # H×W×3 uint8 of any size; centre-cropped to the model's size

    def describe(self) -> str:
        return "image" if self.image is not None else f"seed {self.seed}"


def _checked_model(name: str, capability: Capability, device, what: str):
    card, model = load_model(name, device)
    if not get(card["arch"]).can(capability):
        raise GenStudioError(f"'{name}' ({card['arch']}) cannot {what}.")
    return model


def image_tensor(model, image: np.ndarray):
    """H×W×3 uint8 of any size -> (1, C, S, S) in [-1, 1] at the model's size and channel count."""
    from PIL import Image

    from genstudio.core.data.images import center_crop_resize, to_grayscale
    from genstudio.models.common import from_uint8

    pil = center_crop_resize(Image.fromarray(np.ascontiguousarray(image[..., :3])), model.config.image_size)
    array = np.array(pil, dtype=np.uint8)  # the same conversion the trainer applies to its data
    if model.config.channels == 1:
        array = to_grayscale(array)
    return from_uint8(array[None]).to(next(model.parameters()).device)


def to_images(x) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> N×H×W×3 uint8."""
    from genstudio.models.common import to_uint8

    return as_rgb(to_uint8(x))


def supported(fn, options: dict | None) -> dict:
    """The ``options`` that ``fn`` takes as keywords (a StyleGAN's truncation, a conditional GAN's class)."""
    import inspect

    names = inspect.signature(fn).parameters
    return {k: v for k, v in (options or {}).items() if k in names}


def endpoint_latent(model, endpoint: Endpoint, temperature: float = 1.0, options: dict | None = None):
    """(1, D): the image's encoding, or the prior sample for the seed."""
    if endpoint.image is not None:
        if not hasattr(model, "encode"):
            raise GenStudioError("This model cannot encode images (a GAN has no encoder): use a seed as the endpoint.")
        return model.encode(image_tensor(model, endpoint.image))
    return model.prior_latents([endpoint.seed], temperature=temperature, **supported(model.prior_latents, options))


def blend(za, zb, t):
    """Points between two latents for fractions ``t`` (K,): the direction moves along the great
    circle and the length linearly, so mid-points keep a typical norm (a straight line through a
    Gaussian's interior decodes to blurry, "average" images)."""
    import torch

    t = torch.as_tensor(t, dtype=za.dtype, device=za.device)[:, None]
    na, nb = za.norm(dim=1, keepdim=True), zb.norm(dim=1, keepdim=True)
    ua, ub = za / na.clamp_min(1e-8), zb / nb.clamp_min(1e-8)
    omega = torch.arccos((ua * ub).sum(1, keepdim=True).clamp(-1 + 1e-7, 1 - 1e-7))
    if float(omega) < 1e-4:  # (nearly) the same direction: plain linear interpolation
        return za + t * (zb - za)
    direction = (torch.sin((1 - t) * omega) * ua + torch.sin(t * omega) * ub) / torch.sin(omega)
    return direction * (na + t * (nb - na))


def interpolate(name: str, a: Endpoint, b: Endpoint, fractions, device, temperature: float = 1.0,
                options: dict | None = None) -> np.ndarray:
    """Images at each fraction (0 = a, 1 = b) of the way between two endpoints: K×H×W×3 uint8.
    ``options`` (truncation, label, ...) go to the model's ``prior_latents``/``decode`` where they take them."""
    import torch

    model = _checked_model(name, Capability.INTERPOLATE, device, "interpolate")
    with torch.inference_mode():
        za, zb = endpoint_latent(model, a, temperature, options), endpoint_latent(model, b, temperature, options)
        return to_images(model.decode(blend(za, zb, list(fractions)), **supported(model.decode, options)))


@dataclass
class Traversal:
    images: np.ndarray  # (rows·columns)×H×W×3 uint8, row-major: one row per dimension
    dims: list[int]  # the latent dimension of each row
    columns: int
    change: list[float]  # per row: mean absolute change between neighbouring cells, in grey levels

    def row(self, index: int) -> np.ndarray:
        return self.images[index * self.columns:(index + 1) * self.columns]


def traverse(name: str, seed: int, columns: int, device, dims: list[int] | None = None) -> Traversal:
    """One row per latent dimension: the seed's latent with that one coordinate swept over ±3
    standard deviations. ``change`` tells the dimensions that matter from those the model ignores
    (a β-VAE leaves many unused; that is what its β buys)."""
    import torch

    model = _checked_model(name, Capability.TRAVERSE, device, "show a latent traversal")
    dims = list(range(model.latent_dim)) if dims is None else dims
    values = torch.linspace(-TRAVERSE_RANGE, TRAVERSE_RANGE, columns)
    with torch.inference_mode():
        base = model.prior_latents([seed], temperature=1.0)  # (1, D)
        z = base.repeat(len(dims) * columns, 1)
        for row, d in enumerate(dims):
            z[row * columns:(row + 1) * columns, d] = values.to(z)
        images = to_images(model.decode(z))
    rows = images.reshape(len(dims), columns, *images.shape[1:]).astype(np.float32)
    change = np.abs(np.diff(rows, axis=1)).mean(axis=(1, 2, 3, 4)) if columns > 1 else np.zeros(len(dims))
    return Traversal(images, dims, columns, [round(float(c), 3) for c in change])


def denoise(name: str, image: np.ndarray, device) -> tuple[np.ndarray, np.ndarray]:
    """(before, after): the image at the model's resolution, and the model's clean reconstruction."""
    import torch

    model = _checked_model(name, Capability.DENOISE, device, "denoise images")
    with torch.inference_mode():
        x = image_tensor(model, image)
        return to_images(x)[0], to_images(model.reconstruct(x))[0]


@dataclass
class StyleMix:
    rows: np.ndarray  # R×H×W×3: the row seeds' own images (they give every style but the mixed group)
    columns: np.ndarray  # C×H×W×3: the column seeds' own images (they give the mixed group)
    cells: np.ndarray  # R×C×H×W×3: row r's styles with column c's styles in the chosen layers
    layers: str


def style_mix(name: str, row_seeds: list[int], column_seeds: list[int], layers: str, device,
              truncation: float = 1.0, label: int = -1) -> StyleMix:
    """StyleGAN's style-mixing grid (Karras et al. 2019, Fig. 3): "coarse" layers carry pose and
    shape, "middle" features, "fine" colour and texture."""
    from genstudio.core.events import drive

    model = _checked_model(name, Capability.STYLE_MIX, device, "mix styles")
    if not row_seeds or not column_seeds:
        raise GenStudioError("Give at least one row seed and one column seed.")
    cells = model.mix_styles(row_seeds, column_seeds, layers=layers, truncation=truncation, label=label)
    plain = drive(model.sample(seeds=list(row_seeds) + list(column_seeds), truncation=truncation, label=label))
    plain = as_rgb(plain)
    return StyleMix(plain[:len(row_seeds)], plain[len(row_seeds):], as_rgb_cells(cells), layers)


def as_rgb_cells(cells: np.ndarray) -> np.ndarray:
    return np.repeat(cells, 3, axis=-1) if cells.shape[-1] == 1 else cells
