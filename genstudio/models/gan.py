"""DCGAN: a generator of transposed convolutions with BatchNorm and ReLU that turns a Gaussian z into
an image, and a discriminator of strided convolutions with LeakyReLU that tells generated images
from the folder's, trained against each other one optimizer step each per training step
(``training_phases``). For folders of a few hundred images both see DiffAugment-ed images (Zhao et
al. 2020, ``augment.py``); spectral normalisation of the discriminator and the hinge loss are the
usual stabilisers. With class subfolders the generator reads a class embedding beside z and the
discriminator is a projection discriminator; a mode-seeking term keeps G from ignoring z within a
class. This file also holds what StyleGAN shares: sizes,
losses, freezing a network for the other phase, one-step sampling events.
Radford et al., "Unsupervised Representation Learning with Deep Convolutional GANs" (2016);
Goodfellow et al., "Generative Adversarial Nets" (2014) for the non-saturating loss; Miyato et al.,
"Spectral Normalization for GANs" (2018); Lim & Ye, "Geometric GAN" (2017) for the hinge loss;
Miyato & Koyama, "cGANs with Projection Discriminator" (2018); Mao et al., "Mode Seeking
Generative Adversarial Networks for Diverse Image Synthesis" (2019).
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from genstudio.core.events import EtaClock, Preview, Progress
from genstudio.core.registry import ArchSpec, Capability, register
from genstudio.models.augment import diff_augment, parse_policy
from genstudio.models.common import check_image_config, image_generators, seed_labels, seeded_noise, to_uint8

LOSSES = ("non-saturating", "hinge")
CLASS_DIM = 32  # size of the generator's class embedding, read beside z
GAN_SIZES = (28, 32, 40, 48, 56, 64)  # a 4–7 px start doubled 2–4 times


# -- what both GAN families share --------------------------------------------------------------
def base_size(image_size: int) -> int:
    """The side the generator starts from: the image side halved while it stays an even number ≥ 8
    (32 -> 4, 28 -> 7, 48 -> 6); ValueError for sizes that do not reduce to 4–7 px."""
    side = image_size
    while side % 2 == 0 and side >= 8:
        side //= 2
    if side > 7:
        raise ValueError(f"image_size must be one of {', '.join(map(str, GAN_SIZES))} for a GAN, got {image_size}")
    return side


def doublings(image_size: int) -> int:
    """How many times the generator doubles its start side (32 px: 4 -> 8 -> 16 -> 32, three)."""
    return int(math.log2(image_size // base_size(image_size)))


def check_gan_config(cfg) -> None:
    check_image_config(cfg.image_size, cfg.channels)
    base_size(cfg.image_size)
    parse_policy(cfg.augment)
    if len(set(cfg.classes)) != len(cfg.classes):
        raise ValueError("classes must be distinct names")


def discriminator_loss(real: torch.Tensor, fake: torch.Tensor, kind: str) -> torch.Tensor:
    """Non-saturating: −log D(real) − log(1 − D(fake)); hinge: relu(1 − real) + relu(1 + fake)."""
    if kind == "hinge":
        return F.relu(1 - real).mean() + F.relu(1 + fake).mean()
    return F.softplus(-real).mean() + F.softplus(fake).mean()


def generator_loss(fake: torch.Tensor, kind: str) -> torch.Tensor:
    """Non-saturating: −log D(G(z)) (strong gradients while D wins); hinge: −D(G(z))."""
    return -fake.mean() if kind == "hinge" else F.softplus(-fake).mean()


@contextlib.contextmanager
def frozen(module: nn.Module):
    """No parameter gradients for ``module`` inside (the generator's phase need not compute D's);
    autograd records this at forward time, so the flags can come back before ``backward``."""
    flags = [p.requires_grad for p in module.parameters()]
    module.requires_grad_(False)
    try:
        yield module
    finally:
        for p, flag in zip(module.parameters(), flags):
            p.requires_grad_(flag)


def draw_normal(shape: tuple[int, ...], generator: torch.Generator, device) -> torch.Tensor:
    return torch.randn(shape, generator=generator, device=generator.device).to(device)


def paired_labels(labels: torch.Tensor | None) -> torch.Tensor | None:
    """The batch's labels with the second half repeating the first, so fake i and fake i + B − B//2
    share a class and differ only in z (what ``mode_seeking_penalty`` compares)."""
    if labels is None:
        return None
    half = labels.shape[0] // 2
    return torch.cat([labels[: labels.shape[0] - half], labels[:half]])


def mode_seeking_penalty(fake: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """MSGAN (Mao et al. 2019): 1 / (mean |G(z1) − G(z2)| / mean |z1 − z2|) over pairs of the same
    class. A class-conditional G otherwise learns within a few hundred steps to ignore z and draw one
    image per class (measured on MNIST digits: within-class pixel spread 0.05 against the data's 0.27;
    with weight 0.1, 0.29 at 900 steps)."""
    b, half = fake.shape[0], fake.shape[0] // 2
    image_gap = (fake[:half] - fake[b - half:]).abs().mean()
    z_gap = (z[:half] - z[b - half:]).abs().mean()
    return 1 / (image_gap / z_gap + 1e-5)


def class_labels(labels: torch.Tensor | None, num_classes: int) -> torch.Tensor | None:
    """The batch's labels for a class-conditional model (which needs them), None for another."""
    if not num_classes:
        return None
    if labels is None:
        raise ValueError("This model is class-conditional: training needs the class of every image.")
    return labels


def one_step_sampling(images: torch.Tensor, preview_every: int):
    """A one-pass sampler's events: Progress 1 of 1 (and the result as a preview if asked)."""
    out = to_uint8(images)
    yield Progress(1, 1, EtaClock(0, 1).eta(1), stage="sample")
    if preview_every == 1:
        yield Preview(1, image=out)
    return out


# -- DCGAN -------------------------------------------------------------------------------------
@dataclass
class DCGANConfig:
    image_size: int = 32  # pixels, square: 28, 32, 40, 48, 56 or 64
    channels: int = 3  # 1 = grayscale, 3 = RGB
    z_dim: int = 100  # size of the Gaussian latent
    g_width: int = 64  # generator channels at half resolution; doubling per halving up to max_width
    d_width: int = 64  # discriminator channels at half resolution; likewise
    max_width: int = 512
    spectral_norm: bool = False  # spectral normalisation on every D layer (then D has no BatchNorm)
    loss: str = "non-saturating"  # "non-saturating" or "hinge"
    augment: str = "color,translation,cutout"  # DiffAugment policy for D's inputs; "" = none
    classes: tuple[str, ...] = ()  # class names (training subfolders); empty: unconditional
    mode_seeking: float = 0.1  # with classes: weight of the mode-seeking term (0 = off); see mode_seeking_penalty

    def __post_init__(self):
        check_gan_config(self)
        if self.mode_seeking < 0:
            raise ValueError("mode_seeking must be 0 or more")
        if min(self.z_dim, self.g_width, self.d_width, self.max_width) < 1:
            raise ValueError("z_dim, g_width, d_width and max_width must be positive")
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")


def level_widths(width: int, levels: int, max_width: int) -> list[int]:
    """Channels from the half-resolution level down to the smallest: width, 2·width, ... capped."""
    return [min(max_width, width * 2**i) for i in range(levels)]


class DCGenerator(nn.Module):
    """(B, z_dim [+ CLASS_DIM]) -> (B, C, S, S) in (−1, 1): a linear map to the start side, then
    stride-2 transposed convolutions (BatchNorm, ReLU) doubling it, and tanh."""

    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        side, levels = base_size(cfg.image_size), doublings(cfg.image_size)
        widths = level_widths(cfg.g_width, levels, cfg.max_width)[::-1]  # start side first
        self.start = (widths[0], side)
        in_dim = cfg.z_dim + (CLASS_DIM if cfg.classes else 0)
        self.project = dcgan_init(nn.Linear(in_dim, widths[0] * side * side, bias=False))
        self.project_norm = dcgan_init(nn.BatchNorm2d(widths[0]))
        ups = []
        for a, b in zip(widths, widths[1:]):
            ups += [dcgan_init(nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False)), dcgan_init(nn.BatchNorm2d(b)),
                    nn.ReLU()]
        to_image = dcgan_init(nn.ConvTranspose2d(widths[-1], cfg.channels, 4, 2, 1))
        self.body = nn.Sequential(*ups, to_image, nn.Tanh())

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        width, side = self.start
        h = self.project(latent).view(-1, width, side, side)
        return self.body(F.relu(self.project_norm(h)))


class DCDiscriminator(nn.Module):
    """(B, C, S, S) -> (B,) logits: stride-2 4×4 convolutions with LeakyReLU (BatchNorm after all
    but the first unless spectrally normalised), a linear read-out, and with classes the projection
    term <embed(y), h>."""

    def __init__(self, cfg: DCGANConfig):
        super().__init__()
        side, levels = base_size(cfg.image_size), doublings(cfg.image_size)
        norm = (lambda m: spectral_norm(dcgan_init(m))) if cfg.spectral_norm else dcgan_init
        widths = level_widths(cfg.d_width, levels, cfg.max_width)
        layers, width_in = [], cfg.channels
        for i, width in enumerate(widths):
            layers.append(norm(nn.Conv2d(width_in, width, 4, 2, 1, bias=cfg.spectral_norm or i == 0)))
            if i and not cfg.spectral_norm:
                layers.append(dcgan_init(nn.BatchNorm2d(width)))
            layers.append(nn.LeakyReLU(0.2))
            width_in = width
        self.body = nn.Sequential(*layers, nn.Flatten())
        features = widths[-1] * side * side
        self.read_out = norm(nn.Linear(features, 1))
        self.projection = norm(nn.Embedding(len(cfg.classes), features)) if cfg.classes else None

    def forward(self, x: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        h = self.body(x)  # (B, F)
        out = self.read_out(h)[:, 0]
        if self.projection is not None:
            out = out + (self.projection(labels) * h).sum(1)
        return out.float()


def dcgan_init(layer: nn.Module) -> nn.Module:
    """Radford et al.: weights N(0, 0.02), BatchNorm scales N(1, 0.02); done before spectral
    normalisation wraps a layer, so its power iteration starts from the final weights."""
    nn.init.normal_(layer.weight, 1.0 if isinstance(layer, nn.BatchNorm2d) else 0.0, 0.02)
    if getattr(layer, "bias", None) is not None:
        nn.init.zeros_(layer.bias)
    return layer


class DCGAN(nn.Module):
    """Generator + discriminator. Samples are G(T·z) for z from each image's seed (T, the temperature,
    is a simple truncation); G's BatchNorm uses its running statistics in eval mode, so an image
    never depends on the others in its batch. A class-conditional model's latent is z followed by
    its class embedding, so ``decode`` needs no label and a walk between seeds of two classes morphs
    one class into the other."""

    training_phases = ("d", "g")
    preview_options: dict = {}

    def __init__(self, config: DCGANConfig):
        super().__init__()
        self.config = config
        self.num_classes = len(config.classes)
        self.class_embed = nn.Embedding(self.num_classes, CLASS_DIM) if self.num_classes else None
        self.generator = DCGenerator(config)
        self.discriminator = DCDiscriminator(config)

    def optimizer_groups(self) -> list[dict]:
        g_params = list(self.generator.parameters())
        if self.class_embed is not None:
            g_params += list(self.class_embed.parameters())
        return [{"params": g_params, "phase": "g"}, {"params": self.discriminator.parameters(), "phase": "d"}]

    def latent(self, z: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return z if self.class_embed is None else torch.cat([z, self.class_embed(labels)], 1)

    def augment(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return diff_augment(x, self.config.augment, generator)

    def training_loss(self, x: torch.Tensor, generator: torch.Generator, phase: str = "d", step: int = 0,
                      labels: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """Phase "d": D's loss on real vs generated (made without gradients); phase "g": G's loss
        through a frozen D, plus (with classes) the mode-seeking term. Fakes take the real batch's
        classes; in phase "g" of a class-conditional model the second half repeats the first's."""
        labels = class_labels(labels, self.num_classes)
        z = draw_normal((x.shape[0], self.config.z_dim), generator, x.device)
        kind = self.config.loss
        if phase == "d":
            with torch.no_grad():
                fake = self.generator(self.latent(z, labels))
            real_logits = self.discriminator(self.augment(x, generator), labels)
            fake_logits = self.discriminator(self.augment(fake, generator), labels)
            loss = discriminator_loss(real_logits, fake_logits, kind)
            return loss, {"loss": loss.item(), "d_loss": loss.item(), "d_real": real_logits.mean().item(),
                          "d_fake": fake_logits.mean().item()}
        seek = self.config.mode_seeking if self.num_classes and x.shape[0] > 1 else 0.0
        if seek:
            labels = paired_labels(labels)
        with frozen(self.discriminator):
            fake = self.generator(self.latent(z, labels))
            fake_logits = self.discriminator(self.augment(fake, generator), labels)
            loss = generator_loss(fake_logits, kind)
            metrics = {"g_loss": loss.item()}
            if seek:
                penalty = mode_seeking_penalty(fake, z)
                loss = loss + seek * penalty
                metrics["mode_seeking"] = penalty.item()
        return loss, {"loss": loss.item(), **metrics}

    def prior_latents(self, seeds: list[int], temperature: float = 1.0, label: int = -1) -> torch.Tensor:
        """(B, z_dim [+ CLASS_DIM]): T·z from each seed, then (with classes) that seed's class embedding
        (``label`` -1) or class ``label``'s."""
        device = self._device()
        z = temperature * seeded_noise((self.config.z_dim,), image_generators(len(seeds), 0, seeds)).to(device)
        labels = seed_labels(seeds, label, self.num_classes)
        return self.latent(z, None if labels is None else labels.to(device))

    def decode(self, latent: torch.Tensor) -> torch.Tensor:
        return self.generator(latent).float().clamp(-1, 1)

    def _device(self) -> torch.device:
        return self.generator.project.weight.device

    @torch.inference_mode()
    def sample(self, n: int = 1, seed: int = 0, temperature: float = 1.0, label: int = -1, preview_every: int = 0,
               seeds: list[int] | None = None):
        """Generator: one Progress; returns N×H×W×C uint8, G(T·z) with z (and with label -1 the class)
        from each image's seed."""
        seeds = list(seeds) if seeds is not None else [seed + i for i in range(n)]
        return (yield from one_step_sampling(self.decode(self.prior_latents(seeds, temperature, label)),
                                             preview_every))


register(ArchSpec(
    name="dcgan", family="gan", modality="image", config_cls=DCGANConfig, builder=DCGAN,
    capabilities=frozenset({Capability.GENERATE, Capability.INTERPOLATE}), trainer="trainers.images",
    description="DCGAN with DiffAugment for small folders; optional spectral norm and hinge loss; "
                "class-conditional from subfolders",
    sampler_options=("temperature", "label"), sampler_defaults={"temperature": 1.0, "label": -1}))
