"""VAE-GAN: a VAE whose decoder also faces a discriminator, and whose reconstructions are measured
in the discriminator's feature space rather than pixel by pixel.

Larsen et al., "Autoencoding beyond pixels using a learned similarity metric" (ICML 2016). The
encoder and decoder are the autoencoder family's (``autoencoder.ConvEncoder``/``ConvDecoder``), the
discriminator and losses the DCGAN's (``gan.DCDiscriminator``), with DiffAugment on what D judges.
Phase "d" trains D on real images against reconstructions and prior samples; phase "g" trains the
VAE on β·KL + a small pixel term + the feature-matching error between D's last features of x and of
its reconstruction + the adversarial loss of both kinds of fakes. Pixel error alone makes a VAE
blurry; the feature distance tolerates small shifts and the adversary penalises blur.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genstudio.core.registry import ArchSpec, Capability, register
from genstudio.models.augment import diff_augment, parse_policy
from genstudio.models.autoencoder import AEConfig, ConvDecoder, ConvEncoder, finish_sampling, gaussian_kl
from genstudio.models.common import batch_invariant, image_generators, seeded_noise
from genstudio.models.gan import (
    LOSSES,
    DCDiscriminator,
    DCGANConfig,
    base_size,
    discriminator_loss,
    draw_normal,
    frozen,
    generator_loss,
)
from genstudio.models.inpainting import LatentInpainting


@dataclass
class VAEGANConfig(AEConfig):
    image_size: int = 32  # 28, 32, 40, 48, 56 or 64 (the discriminator's sizes)
    channels: int = 3
    d_width: int = 32  # discriminator channels at half resolution, doubling per halving up to max_width
    max_width: int = 256
    spectral_norm: bool = True  # on every D layer
    loss: str = "hinge"  # adversarial loss: "hinge" or "non-saturating"
    augment: str = "color,translation,cutout"  # DiffAugment policy for D's inputs; "" = none
    beta: float = 1.0  # weight of the KL term (per image, relative to the per-pixel terms below)
    pixel_weight: float = 1.0  # mean squared pixel error: anchors colours early in training
    feature_weight: float = 1.0  # γ: squared error between D's features of x and of its reconstruction
    adversarial_weight: float = 0.1  # the decoder's GAN loss on reconstructions and prior samples

    def __post_init__(self):
        super().__post_init__()
        base_size(self.image_size)
        parse_policy(self.augment)
        if self.loss not in LOSSES:
            raise ValueError(f"loss must be one of {LOSSES}, got {self.loss!r}")
        if min(self.d_width, self.max_width) < 1:
            raise ValueError("d_width and max_width must be positive")
        if min(self.beta, self.pixel_weight, self.feature_weight, self.adversarial_weight) < 0:
            raise ValueError("the loss weights must not be negative")

    def discriminator_config(self) -> DCGANConfig:
        return DCGANConfig(image_size=self.image_size, channels=self.channels, d_width=self.d_width,
                           max_width=self.max_width, spectral_norm=self.spectral_norm, loss=self.loss,
                           augment=self.augment)


class VAEGAN(LatentInpainting, nn.Module):
    training_phases = ("d", "g")
    preview_options = {"temperature": 1.0}

    def __init__(self, config: VAEGANConfig):
        super().__init__()
        self.config = config
        self.encoder = ConvEncoder(config, 2 * config.latent_dim)
        self.decoder = ConvDecoder(config, config.channels)
        self.discriminator = DCDiscriminator(config.discriminator_config())

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def optimizer_groups(self) -> list[dict]:
        vae = list(self.encoder.parameters()) + list(self.decoder.parameters())
        return [{"params": vae, "phase": "g"}, {"params": self.discriminator.parameters(), "phase": "d"}]

    # -- pieces --------------------------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(x).float().chunk(2, dim=1)
        return mu, logvar.clamp(-12.0, 8.0)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.decoder(z).float())

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean, (B, D)."""
        return self.posterior(x)[0]

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def prior_latents(self, seeds: list[int], temperature: float = 1.0) -> torch.Tensor:
        device = next(self.parameters()).device
        return temperature * seeded_noise((self.latent_dim,), image_generators(len(seeds), 0, seeds)).to(device)

    def judge(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """D's logits on augmented images."""
        return self.discriminator(diff_augment(x, self.config.augment, generator))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """D's last hidden features of un-augmented images, (B, F): the learned similarity metric."""
        return self.discriminator.body(x)

    # -- training ------------------------------------------------------------------------------
    def training_loss(self, x: torch.Tensor, generator: torch.Generator, phase: str = "d",
                      step: int = 0) -> tuple[torch.Tensor, dict]:
        cfg = self.config
        with torch.set_grad_enabled(phase == "g" and torch.is_grad_enabled()):
            mu, logvar = self.posterior(x)
        z = mu + (0.5 * logvar).exp() * draw_normal(mu.shape, generator, x.device)
        z_prior = draw_normal(mu.shape, generator, x.device)
        if phase == "d":
            with torch.no_grad():
                fakes = torch.cat([self.decode(z), self.decode(z_prior)])
            real, fake = self.judge(x, generator), self.judge(fakes, generator)
            loss = discriminator_loss(real, fake, cfg.loss)
            return loss, {"loss": loss.item(), "d_loss": loss.item(), "d_real": real.mean().item(),
                          "d_fake": fake.mean().item()}
        recon, sample = self.decode(z), self.decode(z_prior)
        kl = gaussian_kl(mu, logvar).sum(1).mean()
        pixel = F.mse_loss(recon, x)
        with frozen(self.discriminator):
            feature = F.mse_loss(self.features(recon), self.features(x).detach())
            adversarial = generator_loss(self.judge(torch.cat([recon, sample]), generator), cfg.loss)
        loss = (cfg.beta * kl / x[0].numel() + cfg.pixel_weight * pixel + cfg.feature_weight * feature
                + cfg.adversarial_weight * adversarial)
        return loss, {"loss": loss.item(), "kl": kl.item(), "pixel_mse": pixel.item(), "feature_mse": feature.item(),
                      "g_loss": adversarial.item()}

    # -- scoring and sampling ------------------------------------------------------------------
    @torch.no_grad()
    def anomaly_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per pixel: squared reconstruction error, channels summed; the score is its sum."""
        maps = (self.reconstruct(x) - x).square().sum(1)
        return maps.flatten(1).sum(1), maps

    @torch.inference_mode()
    def sample(self, n: int = 1, seed: int = 0, seeds: list[int] | None = None, preview_every: int = 0,
               temperature: float = 1.0):
        """Generator: one Progress; returns N×H×W×C uint8, the decoder at z ~ N(0, T² I) from each seed."""
        seeds = list(seeds) if seeds is not None else [seed + i for i in range(n)]
        images = batch_invariant(self.decode, self.prior_latents(seeds, temperature))
        return (yield from finish_sampling(images, preview_every))


register(ArchSpec(
    name="vae-gan", family="hybrid", modality="image", config_cls=VAEGANConfig, builder=VAEGAN,
    capabilities=frozenset({Capability.GENERATE, Capability.RECONSTRUCT, Capability.INTERPOLATE, Capability.ENCODE,
                            Capability.TRAVERSE, Capability.ANOMALY, Capability.INPAINT}),
    trainer="trainers.images",
    description="VAE-GAN: a VAE whose decoder faces a discriminator, reconstructing in its feature space (sharper)",
    sampler_options=("temperature",), sampler_defaults={"temperature": 1.0}))
