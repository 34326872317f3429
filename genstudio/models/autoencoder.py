"""Autoencoders on one convolutional network: plain (AE), denoising (DAE) and variational (VAE, β-VAE).

The encoder halves the image with stride-2 convolutions (28 -> 14 -> 7; odd sizes round up) and ends
in a fully connected bottleneck of ``latent_dim``; the decoder mirrors it, upsampling to the sizes the
encoder recorded so every size from 28 to 64 px comes back exact. The AE and DAE minimise squared
error (the DAE on inputs corrupted by Gaussian, salt-and-pepper or masking noise) and, having no
prior, generate by decoding codes from a diagonal Gaussian fitted to the codes seen in training. The
VAE has a Gaussian posterior, an N(0, I) prior and a Bernoulli (binarised data) or discretized
logistic (8-bit data) decoder; it scores images by the ELBO and the importance-weighted bound.
Hinton & Salakhutdinov, "Reducing the Dimensionality of Data with Neural Networks" (2006); Vincent
et al., "Extracting and Composing Robust Features with Denoising Autoencoders" (2008); Kingma &
Welling, "Auto-Encoding Variational Bayes" (2014); Burda et al., "Importance Weighted Autoencoders"
(2016); Higgins et al., "β-VAE" (2017); Kingma et al., "Improved Variational Inference with Inverse
Autoregressive Flow" (2016) for free bits; Salimans et al., "PixelCNN++" (2017) for the likelihood.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genstudio.core.events import EtaClock, Preview, Progress
from genstudio.core.registry import ArchSpec, Capability, register
from genstudio.models.common import binarize, check_image_config, image_generators, seeded_noise, to_levels, to_uint8
from genstudio.models.inpainting import LatentInpainting

NORMS = ("group", "none")
ACTIVATIONS = ("silu", "leaky_relu")
NOISES = ("gaussian", "salt_pepper", "masking")
LIKELIHOODS = ("bernoulli", "logistic")
CODE_MOMENTUM = 0.01  # AE code statistics follow roughly the last 100 training batches
IWAE_IMAGES = 256  # decoder images per chunk of the importance-weighted bound (memory stays flat in k)
ANOMALY_SAMPLES = 4  # posterior samples behind a VAE anomaly map
SCORING_SEED = 0  # bounds and maps draw from a fixed seed, so scoring an image twice gives one number


@dataclass
class AEConfig:
    image_size: int = 28  # pixels, square; 28–64
    channels: int = 1  # 1 = grayscale, 3 = RGB
    base_width: int = 32  # conv channels at full resolution
    channel_mults: tuple[int, ...] = (1, 2, 2)  # width per resolution; each level after the first halves it
    res_blocks: int = 1  # residual blocks per resolution, in the encoder and the decoder
    latent_dim: int = 32  # size of the fully connected bottleneck
    norm: str = "group"  # "group" (GroupNorm: per image, so a sample never depends on its batch) or "none"
    activation: str = "silu"  # "silu" or "leaky_relu"

    def __post_init__(self):
        check_image_config(self.image_size, self.channels)
        if not 1 <= len(self.channel_mults) <= 6 or min(self.channel_mults) < 1:
            raise ValueError(f"channel_mults must hold 1–6 positive ints, got {self.channel_mults}")
        if self.base_width < 1 or self.latent_dim < 1 or self.res_blocks < 0:
            raise ValueError("base_width and latent_dim must be positive and res_blocks not negative")
        if self.norm not in NORMS:
            raise ValueError(f"norm must be one of {NORMS}, got {self.norm!r}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")


@dataclass
class DAEConfig(AEConfig):
    noise: str = "gaussian"  # corruption while training: "gaussian", "salt_pepper" or "masking"
    noise_level: float = 0.3  # gaussian: std in [-1, 1] units; salt_pepper / masking: fraction of pixels

    def __post_init__(self):
        super().__post_init__()
        if self.noise not in NOISES:
            raise ValueError(f"noise must be one of {NOISES}, got {self.noise!r}")
        top = 2.0 if self.noise == "gaussian" else 1.0
        if not 0 < self.noise_level <= top:
            raise ValueError(f"noise_level for {self.noise} noise must be in (0, {top}], got {self.noise_level}")


@dataclass
class VAEConfig(AEConfig):
    likelihood: str = "bernoulli"  # "bernoulli" (binarised data) or "logistic" (discretized, 8-bit data)
    beta: float = 1.0  # weight of the KL term; > 1 is a β-VAE
    free_bits: float = 0.0  # nats per latent dimension the KL may spend unpenalised (0 = off)
    iwae_k: int = 100  # importance samples behind negative_log_likelihood

    def __post_init__(self):
        super().__post_init__()
        if self.likelihood not in LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {LIKELIHOODS}, got {self.likelihood!r}")
        if not self.beta > 0 or self.free_bits < 0 or self.iwae_k < 1:
            raise ValueError("beta must be positive, free_bits not negative and iwae_k at least 1")


@dataclass
class BetaVAEConfig(VAEConfig):
    beta: float = 4.0  # Higgins et al.: β > 1 trades reconstruction for a more factorised code


# -- the network -------------------------------------------------------------------------------
def make_norm(kind: str, width: int) -> nn.Module:
    return nn.GroupNorm(math.gcd(8, width), width) if kind == "group" else nn.Identity()


def make_activation(kind: str) -> nn.Module:
    return nn.SiLU() if kind == "silu" else nn.LeakyReLU(0.2)


def feature_sizes(image_size: int, levels: int) -> list[int]:
    """Side of the feature map at each resolution: a stride-2, padding-1 conv takes s to ceil(s / 2)."""
    sizes = [image_size]
    for _ in range(levels - 1):
        sizes.append((sizes[-1] + 1) // 2)
    return sizes


class ResBlock(nn.Module):
    def __init__(self, width: int, norm: str, activation: str):
        super().__init__()
        self.body = nn.Sequential(
            make_norm(norm, width), make_activation(activation), nn.Conv2d(width, width, 3, padding=1),
            make_norm(norm, width), make_activation(activation), nn.Conv2d(width, width, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


class UpsampleTo(nn.Module):
    """Nearest-neighbour upsampling to a recorded size (so 4 -> 7 -> 14 -> 28 works), then a conv."""

    def __init__(self, width_in: int, width_out: int, size: int, norm: str, activation: str):
        super().__init__()
        self.size = size
        self.conv = nn.Sequential(nn.Conv2d(width_in, width_out, 3, padding=1), make_norm(norm, width_out),
                                  make_activation(activation))

    def forward(self, x):
        return self.conv(F.interpolate(x, size=(self.size, self.size), mode="nearest"))


class ConvEncoder(nn.Sequential):
    """(B, C, S, S) -> (B, out_features)."""

    def __init__(self, cfg: AEConfig, out_features: int):
        widths = [cfg.base_width * m for m in cfg.channel_mults]
        side = feature_sizes(cfg.image_size, len(widths))[-1]
        layers: list[nn.Module] = [nn.Conv2d(cfg.channels, widths[0], 3, padding=1), make_activation(cfg.activation)]
        for i, width in enumerate(widths):
            layers += [ResBlock(width, cfg.norm, cfg.activation) for _ in range(cfg.res_blocks)]
            if i + 1 < len(widths):
                layers += [nn.Conv2d(width, widths[i + 1], 3, stride=2, padding=1),
                           make_norm(cfg.norm, widths[i + 1]), make_activation(cfg.activation)]
        super().__init__(*layers, nn.Flatten(), nn.Linear(widths[-1] * side * side, out_features))


class ConvDecoder(nn.Sequential):
    """(B, latent_dim) -> (B, out_channels, S, S), the encoder's mirror image."""

    def __init__(self, cfg: AEConfig, out_channels: int):
        widths = [cfg.base_width * m for m in cfg.channel_mults]
        sizes = feature_sizes(cfg.image_size, len(widths))
        layers: list[nn.Module] = [nn.Linear(cfg.latent_dim, widths[-1] * sizes[-1] ** 2),
                                   make_activation(cfg.activation), nn.Unflatten(1, (widths[-1], sizes[-1], sizes[-1]))]
        for i in reversed(range(len(widths))):
            layers += [ResBlock(widths[i], cfg.norm, cfg.activation) for _ in range(cfg.res_blocks)]
            if i > 0:
                layers.append(UpsampleTo(widths[i], widths[i - 1], sizes[i - 1], cfg.norm, cfg.activation))
        super().__init__(*layers, make_norm(cfg.norm, widths[0]), make_activation(cfg.activation),
                         nn.Conv2d(widths[0], out_channels, 3, padding=1))


# -- corruption and likelihoods ----------------------------------------------------------------
def corrupt(x: torch.Tensor, noise: str, level: float, generator: torch.Generator) -> torch.Tensor:
    """The DAE's training input: x in [-1, 1] with noise from ``generator``. Salt-and-pepper and masking
    hit whole pixels (all channels), a fraction ``level`` of them; masking sets them to mid-grey (0)."""
    def uniform(shape):
        return torch.rand(shape, generator=generator, device=generator.device).to(x.device)

    if noise == "gaussian":
        eps = torch.randn(x.shape, generator=generator, device=generator.device).to(x.device)
        return (x + level * eps).clamp(-1, 1)
    B, _, H, W = x.shape
    hit = uniform((B, 1, H, W)) < level  # (B, 1, H, W)
    if noise == "masking":
        return x.masked_fill(hit, 0.0)
    salt = uniform((B, 1, H, W)) < 0.5
    return torch.where(hit, torch.where(salt, 1.0, -1.0), x)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, e^logvar) || N(0, 1)) per dimension, (B, D)."""
    return 0.5 * (mu.square() + logvar.exp() - 1 - logvar)


def free_bits_kl(kl: torch.Tensor, free_bits: float) -> torch.Tensor:
    """Σ_j max(λ, mean over the batch of KL_j): below λ nats a dimension's KL costs nothing, so the
    encoder is not pushed to switch it off (Kingma et al. 2016). λ = 0 is the plain batch-mean KL."""
    return kl.mean(0).clamp(min=free_bits).sum()


def discretized_logistic_log_prob(mean: torch.Tensor, log_scale: torch.Tensor, levels: torch.Tensor) -> torch.Tensor:
    """log P(level) per subpixel for a logistic in [-1, 1] units binned into 256 levels; the edge bins
    take the tails (level 0 gets everything below, 255 everything above), as in PixelCNN++."""
    x = levels.float() / 127.5 - 1
    inv_s = torch.exp(-log_scale.clamp(min=-7.0))
    upper = inv_s * (x - mean + 1 / 255)  # bins are 2/255 wide: this is the upper edge's logit
    lower = inv_s * (x - mean - 1 / 255)
    # log(σ(u) - σ(l)) = log σ(u) + log σ(-l) + log(1 - e^(l-u)): exact and stable in both tails
    inner = F.logsigmoid(upper) + F.logsigmoid(-lower) + torch.log(-torch.expm1(lower - upper))
    return torch.where(levels == 0, F.logsigmoid(upper), torch.where(levels == 255, F.logsigmoid(-lower), inner))


def draw_normal(shape: tuple[int, ...], generator: torch.Generator | None, device) -> torch.Tensor:
    generator = generator or torch.Generator().manual_seed(SCORING_SEED)
    return torch.randn(shape, generator=generator, device=generator.device).to(device)


def finish_sampling(images: torch.Tensor, preview_every: int):
    """The one-step sampler's events: Progress 1 of 1 (and the result as a preview if asked)."""
    clock = EtaClock(0, 1)
    out = to_uint8(images)
    yield Progress(1, 1, clock.eta(1), stage="sample")
    if preview_every == 1:
        yield Preview(1, image=out)
    return out


# -- AE and DAE --------------------------------------------------------------------------------
class Autoencoder(nn.Module):
    """Deterministic autoencoder trained on squared error. It has no prior, so ``sample`` decodes
    z ~ N(m, T² diag v), where m and v are running means of the codes and their squares seen by
    ``training_loss``, kept in persistent buffers so they travel with the weights. ``anomaly_map``
    is the squared reconstruction error per pixel (summed over channels); the score is its mean."""

    preview_options = {"temperature": 1.0}

    def __init__(self, config: AEConfig):
        super().__init__()
        self.config = config
        self.encoder = ConvEncoder(config, config.latent_dim)
        self.decoder = ConvDecoder(config, config.channels)
        self.register_buffer("code_mean", torch.zeros(config.latent_dim))
        self.register_buffer("code_square", torch.ones(config.latent_dim))  # running E[z²]
        self.register_buffer("code_batches", torch.zeros((), dtype=torch.long))

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def corrupt(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return x

    def training_loss(self, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
        z = self.encoder(self.corrupt(x, generator))  # (B, D)
        loss = F.mse_loss(self.decoder(z).float(), x)
        self._track_codes(z.detach().float())
        return loss, {"loss": loss.item(), "recon": loss.item()}

    @torch.no_grad()
    def _track_codes(self, z: torch.Tensor) -> None:
        # Exact running average for the first 100 batches, then an exponential one.
        rate = (1.0 / (self.code_batches + 1).float()).clamp(min=CODE_MOMENTUM)
        self.code_mean.lerp_(z.mean(0), rate)
        self.code_square.lerp_(z.square().mean(0), rate)
        self.code_batches += 1

    def encode(self, x: torch.Tensor) -> torch.Tensor:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z).float().clamp(-1, 1)

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def prior_latents(self, seeds: list[int], temperature: float = 1.0) -> torch.Tensor:
        """Codes from the Gaussian fitted to the training codes, one seed per code."""
        std = (self.code_square - self.code_mean.square()).clamp(min=0).sqrt()
        eps = seeded_noise((self.latent_dim,), image_generators(len(seeds), 0, seeds)).to(std.device)
        return self.code_mean + temperature * std * eps  # (N, D)

    @torch.no_grad()
    def anomaly_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        maps = (self.reconstruct(x) - x).square().sum(1)  # (B, H, W)
        return maps.flatten(1).mean(1), maps

    @torch.inference_mode()
    def sample(self, n: int = 1, seed: int = 0, seeds: list[int] | None = None, preview_every: int = 0,
               temperature: float = 1.0):
        """Generator: one Progress; returns N×H×W×C uint8 decoded from the fitted code Gaussian."""
        seeds = list(seeds) if seeds is not None else [seed + i for i in range(n)]
        return (yield from finish_sampling(self.decode(self.prior_latents(seeds, temperature)), preview_every))


class DenoisingAutoencoder(Autoencoder):
    """The same network trained to undo ``config.noise`` (Vincent et al. 2008)."""

    def corrupt(self, x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        return corrupt(x, self.config.noise, self.config.noise_level, generator)


# -- VAE ---------------------------------------------------------------------------------------
class VAE(LatentInpainting, nn.Module):
    """Gaussian q(z|x), N(0, I) prior, Bernoulli or discretized-logistic p(x|z). Bernoulli data are
    binarised: dynamically (a fresh Bernoulli draw per pixel) in training, at mid-grey when scoring.
    Bounds and anomaly maps draw their latent samples from a fixed seed unless given a generator."""

    likelihood_kind = "iwae"
    preview_options = {"temperature": 1.0}

    def __init__(self, config: VAEConfig):
        super().__init__()
        self.config = config
        per_subpixel = 1 if config.likelihood == "bernoulli" else 2  # logits, or (mean, log scale)
        self.encoder = ConvEncoder(config, 2 * config.latent_dim)
        self.decoder = ConvDecoder(config, per_subpixel * config.channels)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    def inpaint_posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.posterior(self.observe(x)[0])

    # -- pieces --------------------------------------------------------------------------------
    def observe(self, x: torch.Tensor, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(encoder input in [-1, 1], likelihood target): {0, 1} floats for Bernoulli, levels otherwise."""
        if self.config.likelihood == "bernoulli":
            b = binarize(x, generator)
            return 2 * b - 1, b
        return x, to_levels(x)

    def posterior(self, inputs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.encoder(inputs).float().chunk(2, dim=1)  # (B, D) each
        return mu, logvar.clamp(-12.0, 8.0)

    def log_likelihood(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """log p(x|z) per subpixel, (B, C, H, W), from the decoder output ``out``."""
        if self.config.likelihood == "bernoulli":
            return -F.binary_cross_entropy_with_logits(out, target, reduction="none")
        mean, log_scale = out.chunk(2, dim=1)
        return discretized_logistic_log_prob(mean, log_scale, target)

    def mean_image(self, out: torch.Tensor) -> torch.Tensor:
        """Bernoulli: the probabilities as grey levels; logistic: its mode. In [-1, 1]."""
        if self.config.likelihood == "bernoulli":
            return 2 * torch.sigmoid(out) - 1
        return out.chunk(2, dim=1)[0].clamp(-1, 1)

    def _recon_nll(self, z: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """-log p(x|z) per pixel (channels summed), (B, H, W); z may hold several samples per target."""
        repeats = z.shape[0] // target.shape[0]
        ll = self.log_likelihood(self.decoder(z).float(), target.repeat(repeats, 1, 1, 1))
        return -ll.sum(1)

    # -- training ------------------------------------------------------------------------------
    def training_loss(self, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
        """Negative (β-)ELBO per dimension (free bits applied); metrics in nats per image."""
        cfg = self.config
        inputs, target = self.observe(x, generator)
        mu, logvar = self.posterior(inputs)
        z = mu + (0.5 * logvar).exp() * draw_normal(mu.shape, generator, mu.device)  # (B, D)
        recon = self._recon_nll(z, target).flatten(1).sum(1)  # (B,)
        kl = gaussian_kl(mu, logvar)  # (B, D)
        objective = recon.mean() + cfg.beta * free_bits_kl(kl, cfg.free_bits)
        loss = objective / x[0].numel()
        kl_image = kl.sum(1).mean().item()
        return loss, {"loss": loss.item(), "recon": recon.mean().item(), "kl": kl_image,
                      "elbo": -(recon.mean().item() + kl_image)}

    # -- likelihood ----------------------------------------------------------------------------
    def elbo(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """ELBO in nats per image, (B,): one posterior sample for the reconstruction term, KL exact."""
        inputs, target = self.observe(x)
        mu, logvar = self.posterior(inputs)
        z = mu + (0.5 * logvar).exp() * draw_normal(mu.shape, generator, mu.device)
        return -self._recon_nll(z, target).flatten(1).sum(1) - gaussian_kl(mu, logvar).sum(1)

    @torch.no_grad()
    def iwae_bound(self, x: torch.Tensor, k: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """log (1/k) Σ_i p(x, z_i) / q(z_i|x), (B,) nats, z_i ~ q(z|x) (Burda et al.). Samples go
        through the decoder in chunks of about IWAE_IMAGES images, so memory does not grow with k."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        generator = generator or torch.Generator().manual_seed(SCORING_SEED)
        inputs, target = self.observe(x)
        mu, logvar = self.posterior(inputs)  # (B, D)
        B, D = mu.shape
        chunk = max(1, IWAE_IMAGES // B)
        parts = []
        for start in range(0, k, chunk):
            c = min(chunk, k - start)
            eps = draw_normal((c, B, D), generator, mu.device)
            z = mu + (0.5 * logvar).exp() * eps  # (c, B, D)
            log_px = -self._recon_nll(z.flatten(0, 1), target).flatten(1).sum(1).view(c, B)
            # log p(z) - log q(z|x); the 2π terms cancel
            log_pz_qz = (0.5 * eps.square() - 0.5 * z.square() + 0.5 * logvar).sum(-1)  # (c, B)
            parts.append(torch.logsumexp(log_px + log_pz_qz, dim=0))
        return torch.logsumexp(torch.stack(parts), dim=0) - math.log(k)

    def negative_log_likelihood(self, x: torch.Tensor) -> torch.Tensor:
        """-IWAE bound with ``config.iwae_k`` samples: an upper bound on the NLL in nats, (B,)."""
        return -self.iwae_bound(x, self.config.iwae_k)

    # -- latents -------------------------------------------------------------------------------
    def encode(self, x: torch.Tensor) -> torch.Tensor:
        """The posterior mean, (B, D)."""
        return self.posterior(self.observe(x)[0])[0]

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.mean_image(self.decoder(z).float())

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        return self.decode(self.encode(x))

    def prior_latents(self, seeds: list[int], temperature: float = 1.0) -> torch.Tensor:
        """z ~ N(0, T² I), one seed per latent, (N, D)."""
        device = next(self.parameters()).device
        return temperature * seeded_noise((self.latent_dim,), image_generators(len(seeds), 0, seeds)).to(device)

    @torch.no_grad()
    def anomaly_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per pixel: the reconstruction NLL (channels summed, averaged over a few posterior samples)
        plus the KL spread evenly, so a map sums to its score, an estimate of the negative ELBO."""
        inputs, target = self.observe(x)
        mu, logvar = self.posterior(inputs)
        eps = draw_normal((ANOMALY_SAMPLES, *mu.shape), None, mu.device)
        z = (mu + (0.5 * logvar).exp() * eps).flatten(0, 1)  # (S·B, D)
        B, _, H, W = target.shape
        nll = self._recon_nll(z, target).view(ANOMALY_SAMPLES, B, H, W).mean(0)  # (B, H, W)
        maps = nll + gaussian_kl(mu, logvar).sum(1)[:, None, None] / (H * W)  # (B, H, W)
        return maps.flatten(1).sum(1), maps

    @torch.inference_mode()
    def sample(self, n: int = 1, seed: int = 0, seeds: list[int] | None = None, preview_every: int = 0,
               temperature: float = 1.0):
        """Generator: one Progress; returns N×H×W×C uint8, the decoder mean at z ~ N(0, T² I)."""
        seeds = list(seeds) if seeds is not None else [seed + i for i in range(n)]
        return (yield from finish_sampling(self.decode(self.prior_latents(seeds, temperature)), preview_every))


AE_CAPABILITIES = {Capability.GENERATE, Capability.RECONSTRUCT, Capability.ANOMALY}
VAE_CAPABILITIES = {Capability.GENERATE, Capability.LIKELIHOOD, Capability.RECONSTRUCT, Capability.DENOISE,
                    Capability.INTERPOLATE, Capability.ENCODE, Capability.TRAVERSE, Capability.ANOMALY,
                    Capability.INPAINT}
for name, config_cls, builder, capabilities, description in (
    ("ae", AEConfig, Autoencoder, AE_CAPABILITIES,
     "Convolutional autoencoder; generates from a Gaussian fitted to its codes"),
    ("dae", DAEConfig, DenoisingAutoencoder, AE_CAPABILITIES | {Capability.DENOISE},
     "Denoising autoencoder (Gaussian, salt-and-pepper or masking noise)"),
    ("vae", VAEConfig, VAE, VAE_CAPABILITIES, "Variational autoencoder; likelihood by the importance-weighted bound"),
    ("beta-vae", BetaVAEConfig, VAE, VAE_CAPABILITIES, "β-VAE: a VAE whose KL weight β > 1 favours a factorised code"),
):
    register(ArchSpec(name=name, family="autoencoder", modality="image", config_cls=config_cls, builder=builder,
                      capabilities=frozenset(capabilities), trainer="trainers.images", description=description,
                      sampler_options=("temperature",), sampler_defaults={"temperature": 1.0}))
