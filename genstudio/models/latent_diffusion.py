"""Text-to-image latent diffusion: an autoencoder, a small text encoder and a UNet that cross-attends to it.

Rombach et al., "High-Resolution Image Synthesis with Latent Diffusion Models" (2022): a
convolutional autoencoder, lightly KL-regularised, compresses each image 4× per side (32 px RGB →
8×8×4), and Gaussian diffusion (``DiffusionModel``) runs on those latents, scaled to unit variance.
Captions become word tokens (``core.data.captions``); a few transformer layers, trained with the
model, turn them into token features that the latent UNet reads by cross-attention, and their mean
joins its time embedding. One run trains in two stages decided by the loop's ``step``: the
autoencoder alone, then (autoencoder frozen) the text encoder and UNet. Ho & Salimans,
"Classifier-Free Diffusion Guidance" (2022): a share of captions is dropped to the empty caption
while training, which is the unconditional model that guidance (or a negative prompt) steers from.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genstudio.core.data import captions as captionlib
from genstudio.core.registry import ArchSpec, Capability, register
from genstudio.models import inpainting
from genstudio.models.common import check_image_config, to_uint8
from genstudio.models.diffusion import DiffusionModel, check_process, check_sampler, timestep_sequence
from genstudio.models.unet import UNet, group_norm

DEFAULT_GUIDANCE = 4.0  # strong enough that small models follow the prompt, short of oversaturating


@dataclass
class LatentDiffusionConfig:
    image_size: int = 32  # pixels, square; 32–64, divisible by the autoencoder's and the UNet's downsampling
    channels: int = 3  # 1 = grayscale, 3 = RGB
    latent_channels: int = 4  # channels of the latent image
    ae_widths: tuple[int, ...] = (32, 64, 64)  # autoencoder channels per resolution; each level after the first halves the side
    ae_blocks: int = 1  # residual blocks per resolution, in the encoder and the decoder
    ae_steps: int = 1500  # training steps of the autoencoder stage; after them it is frozen and diffusion learns
    kl_weight: float = 1e-5  # weight of the KL term per latent value: keeps latents tame without blurring
    base_width: int = 64  # latent UNet channels at the latent's full resolution
    channel_mults: tuple[int, ...] = (1, 2)  # UNet width multiplier per resolution level
    res_blocks: int = 2  # UNet residual blocks per level
    attention_resolutions: tuple[int, ...] = (8, 4)  # latent sizes that get self- and cross-attention
    attention_heads: int = 4
    dropout: float = 0.0
    text_width: int = 64  # text encoder feature size
    text_layers: int = 2  # text transformer layers
    text_heads: int = 4
    vocab: tuple[str, ...] = ()  # words of the training captions (filled in by the trainer)
    max_vocab: int = 256  # the vocabulary keeps this many of the most frequent words
    max_tokens: int = 12  # words read from a caption; the rest are cut
    caption_dropout: float = 0.1  # share of training captions replaced by the empty one (for guidance)
    timesteps: int = 1000  # training noise levels
    schedule: str = "cosine"  # "cosine" or "linear"
    prediction: str = "v"  # network target: "eps" (noise) or "v" (velocity)

    def __post_init__(self):
        if not self.ae_widths or min(self.ae_widths) < 1 or not self.channel_mults or min(self.channel_mults) < 1:
            raise ValueError("ae_widths and channel_mults must hold positive ints")
        downsampling = 2 ** (len(self.ae_widths) - 1) * 2 ** (len(self.channel_mults) - 1)
        check_image_config(self.image_size, self.channels, multiple=downsampling)
        if self.latent_channels < 1 or self.ae_blocks < 0 or self.ae_steps < 0 or self.kl_weight < 0:
            raise ValueError("latent_channels must be positive; ae_blocks, ae_steps and kl_weight not negative")
        if self.base_width % self.attention_heads or self.text_width % self.text_heads:
            raise ValueError("base_width must be divisible by attention_heads, text_width by text_heads")
        if self.text_layers < 0 or self.max_tokens < 1 or self.max_vocab < 1:
            raise ValueError("text_layers must not be negative; max_tokens and max_vocab must be positive")
        if len(self.vocab) > self.max_vocab:
            raise ValueError(f"the vocabulary has {len(self.vocab)} words, more than max_vocab ({self.max_vocab})")
        if not 0 <= self.caption_dropout < 1:
            raise ValueError(f"caption_dropout must be in [0, 1), got {self.caption_dropout}")
        check_process(self)

    @property
    def latent_size(self) -> int:
        return self.image_size // 2 ** (len(self.ae_widths) - 1)


# -- the autoencoder ---------------------------------------------------------------------------
class ConvBlock(nn.Module):
    def __init__(self, width: int):
        super().__init__()
        self.body = nn.Sequential(group_norm(width), nn.SiLU(), nn.Conv2d(width, width, 3, padding=1),
                                  group_norm(width), nn.SiLU(), nn.Conv2d(width, width, 3, padding=1))

    def forward(self, x):
        return x + self.body(x)


class LatentAutoencoder(nn.Module):
    """(B, C, S, S) ↔ latents (B, latent_channels, S / 2^(levels-1), ...); the encoder gives a
    Gaussian posterior (mean, log-variance), the decoder maps latents back to pixels."""

    def __init__(self, cfg: LatentDiffusionConfig):
        super().__init__()
        widths = cfg.ae_widths
        enc: list[nn.Module] = [nn.Conv2d(cfg.channels, widths[0], 3, padding=1)]
        for i, width in enumerate(widths):
            enc += [ConvBlock(width) for _ in range(cfg.ae_blocks)]
            if i + 1 < len(widths):
                enc.append(nn.Conv2d(width, widths[i + 1], 3, stride=2, padding=1))
        enc += [group_norm(widths[-1]), nn.SiLU(), nn.Conv2d(widths[-1], 2 * cfg.latent_channels, 3, padding=1)]
        dec: list[nn.Module] = [nn.Conv2d(cfg.latent_channels, widths[-1], 3, padding=1)]
        for i in reversed(range(len(widths))):
            dec += [ConvBlock(widths[i]) for _ in range(cfg.ae_blocks)]
            if i > 0:
                dec += [nn.Upsample(scale_factor=2.0, mode="nearest"), nn.Conv2d(widths[i], widths[i - 1], 3, padding=1)]
        dec += [group_norm(widths[0]), nn.SiLU(), nn.Conv2d(widths[0], cfg.channels, 3, padding=1)]
        self.encoder, self.decoder = nn.Sequential(*enc), nn.Sequential(*dec)

    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mean, logvar = self.encoder(x).float().chunk(2, dim=1)
        return mean, logvar.clamp(-20.0, 10.0)

    def loss(self, x: torch.Tensor, generator: torch.Generator, kl_weight: float) -> tuple[torch.Tensor, dict]:
        """Squared reconstruction error of a posterior sample + kl_weight · KL to N(0, I), both per value."""
        mean, logvar = self.posterior(x)
        noise = torch.randn(mean.shape, generator=generator, device=generator.device).to(mean.device)
        recon = F.mse_loss(self.decoder(mean + (0.5 * logvar).exp() * noise).float(), x)
        kl = 0.5 * (mean.square() + logvar.exp() - 1 - logvar).mean()
        loss = recon + kl_weight * kl
        return loss, {"loss": loss.item(), "recon": recon.item(), "kl": kl.item()}


# -- the text encoder --------------------------------------------------------------------------
class TextLayer(nn.Module):
    """Pre-norm transformer layer whose attention skips padding tokens."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, L, D = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(B, L, 3, self.heads, D // self.heads).permute(2, 0, 3, 1, 4)
        h = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None, None, :])  # B, heads, L, D/heads
        x = x + self.proj(h.transpose(1, 2).reshape(B, L, D))
        return x + self.mlp(self.norm2(x))


class TextEncoder(nn.Module):
    """Token ids (B, L) -> features (B, 1 + L, width) and mask (B, 1 + L), True for real tokens. A
    learned start token leads every caption, so the empty caption (all padding), the unconditional
    model, still has one token to attend to."""

    def __init__(self, cfg: LatentDiffusionConfig):
        super().__init__()
        width = cfg.text_width
        self.embed = nn.Embedding(cfg.max_vocab + 2, width, padding_idx=captionlib.PAD)  # + PAD, UNKNOWN
        self.start = nn.Parameter(torch.randn(1, 1, width) * 0.02)
        self.positions = nn.Parameter(torch.randn(1, cfg.max_tokens + 1, width) * 0.02)
        self.layers = nn.ModuleList(TextLayer(width, cfg.text_heads) for _ in range(cfg.text_layers))
        self.norm = nn.LayerNorm(width)

    def forward(self, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        B, L = tokens.shape
        x = torch.cat([self.start.expand(B, -1, -1), self.embed(tokens)], dim=1) + self.positions[:, : L + 1]
        mask = torch.cat([torch.ones(B, 1, dtype=torch.bool, device=tokens.device), tokens != captionlib.PAD], 1)
        for layer in self.layers:
            x = layer(x, mask)
        return {"context": self.norm(x), "mask": mask}


# -- the model ---------------------------------------------------------------------------------
class LatentDiffusion(DiffusionModel):
    """Diffusion on autoencoder latents, conditioned on captions through a jointly trained text encoder."""

    clip_x0 = False  # latents are unit-variance, not bounded to [-1, 1]

    def __init__(self, config: LatentDiffusionConfig):
        net = UNet(config.latent_size, config.latent_channels, config.base_width, config.channel_mults,
                   config.res_blocks, config.attention_resolutions, config.attention_heads, config.dropout,
                   context_dim=config.text_width)
        super().__init__(config, net)
        self.autoencoder = LatentAutoencoder(config)
        self.text = TextEncoder(config)
        # 1 / std of the latents, fixed from the batch of the first diffusion step (0 = not yet):
        # persistent, so a resumed run and a saved model scale latents exactly as training did.
        self.register_buffer("latent_scale", torch.zeros(()))

    @property
    def latent_shape(self) -> tuple[int, int, int]:
        cfg = self.config
        return (cfg.latent_channels, cfg.latent_size, cfg.latent_size)

    # -- conditioning --------------------------------------------------------------------------
    def null_condition(self, batch: int, device) -> dict:
        """The empty caption: what guidance compares against, and what dropped captions train."""
        return self.text(torch.full((batch, self.config.max_tokens), captionlib.PAD, dtype=torch.long, device=device))

    def encode_prompts(self, prompts: list[str]) -> dict:
        """Conditions for prompts; words outside the vocabulary are left out (the UI says so)."""
        vocab, known_words = self.config.vocab, set(self.config.vocab)
        known = [" ".join(w for w in captionlib.words(p) if w in known_words) for p in prompts]
        tokens = torch.from_numpy(captionlib.encode_texts(known, vocab, self.config.max_tokens))
        return self.text(tokens.to(self.ab.device))

    def unknown_words(self, prompt: str) -> list[str]:
        return captionlib.unknown_words(prompt, self.config.vocab)

    # -- training ------------------------------------------------------------------------------
    def training_loss(self, x: torch.Tensor, generator: torch.Generator, tokens: torch.Tensor | None = None,
                      step: int | None = None) -> tuple[torch.Tensor, dict]:
        """Stage 1 (step < ae_steps; also without a step): the autoencoder. Stage 2: denoising of the
        frozen autoencoder's scaled latents, conditioned on ``tokens`` (B, L), by text encoder + UNet.
        A model whose latent scale is already fixed (fine-tuned with --from) stays in stage 2: its
        UNet learned these latents, and a retrained autoencoder would change them."""
        if (step or 0) < self.config.ae_steps and float(self.latent_scale) == 0:
            return self.autoencoder.loss(x, generator, self.config.kl_weight)
        return self.latent_loss(x, generator, tokens)

    def latent_loss(self, x, generator, tokens) -> tuple[torch.Tensor, dict]:
        B = x.shape[0]
        with torch.no_grad():  # the autoencoder is frozen: no gradient reaches it
            z = self.autoencoder.posterior(x)[0]
            if float(self.latent_scale) == 0:
                self.latent_scale.fill_(1.0 / z.std().clamp(min=1e-4).item())
        if tokens is None:
            tokens = torch.full((B, self.config.max_tokens), captionlib.PAD, dtype=torch.long, device=x.device)
        drop = torch.rand(B, generator=generator, device=generator.device).to(x.device) < self.config.caption_dropout
        cond = self.text(tokens.masked_fill(drop[:, None], captionlib.PAD))
        loss, metrics = self.denoising_loss(z * self.latent_scale, generator, cond, 0.0)
        return loss, {**metrics, "denoise": metrics["loss"]}

    # -- sampling ------------------------------------------------------------------------------
    def decode_latents(self, z: torch.Tensor) -> torch.Tensor:
        scale = float(self.latent_scale) or 1.0  # an untrained diffusion stage: latents as they are
        return self.autoencoder.decoder(z / scale).float().clamp(-1, 1)

    @torch.inference_mode()
    def sample(self, n: int = 1, seed: int = 0, steps: int = 25, sampler: str = "ddim", eta: float = 0.0,
               prompt: str = "", negative_prompt: str = "", guidance: float = DEFAULT_GUIDANCE,
               prompts: list[str] | None = None, preview_every: int = 0, seeds: list[int] | None = None):
        """Generator: yields Progress each step (and decoded Previews); returns N×H×W×C uint8. Image i
        uses ``seed + i`` (or ``seeds[i]``) and ``prompts[i]`` if given, else ``prompt``; guidance
        steers from ``negative_prompt`` (empty: the unconditional model) towards the prompt."""
        seeds = list(seeds) if seeds is not None else [seed + i for i in range(n)]
        prompts = list(prompts) if prompts is not None else [prompt] * len(seeds)
        if len(prompts) != len(seeds):
            raise ValueError(f"{len(prompts)} prompts for {len(seeds)} images")
        cond = self.encode_prompts(prompts)
        uncond = self.encode_prompts([negative_prompt] * len(seeds)) if negative_prompt.strip() else None
        z = yield from self.sample_loop(seeds, steps, sampler, eta, cond, guidance, uncond, preview_every,
                                        shape=self.latent_shape, decode=self.decode_latents)
        return to_uint8(self.decode_latents(z))

    @torch.inference_mode()
    def inpaint(self, image, mask, n: int = 1, seed: int = 0, steps: int = 25, strength: float = 1.0,
                preview_every: int = 0, seeds: list[int] | None = None, sampler: str = "ddim", eta: float = 0.0,
                harmonize: int = inpainting.DEFAULT_HARMONIZE, prompt: str = "", negative_prompt: str = "",
                guidance: float = DEFAULT_GUIDANCE):
        """Generator: RePaint in latent space. The image's latents (posterior mean) are the known part;
        a latent cell is unknown if any pixel it covers is to be repainted. Returns N×S×S×C uint8 decoded
        images: known pixels are the autoencoder's reconstruction, for the caller to blend."""
        seeds = inpainting.candidate_seeds(n, seed, seeds)
        inpainting.check_options(steps, strength, harmonize)
        check_sampler(sampler)
        x, unknown = inpainting.image_tensors(image, mask, self.config, self.ab.device)
        known = self.autoencoder.posterior(x)[0] * (float(self.latent_scale) or 1.0)  # as decode_latents undoes
        factor = self.config.image_size // self.config.latent_size
        unknown = F.max_pool2d(unknown.float(), factor) > 0  # (1, 1, latent, latent)
        cond = self.encode_prompts([prompt] * len(seeds))
        uncond = self.encode_prompts([negative_prompt] * len(seeds)) if negative_prompt.strip() else None
        ts = timestep_sequence(self.config.timesteps, steps, strength)
        z = yield from inpainting.repaint(self, known, unknown, ts, seeds, sampler, eta, harmonize, strength >= 1,
                                          cond, guidance, uncond, preview_every, decode=self.decode_latents)
        return to_uint8(self.decode_latents(z))


def build_latent_diffusion(config: LatentDiffusionConfig) -> LatentDiffusion:
    return LatentDiffusion(config)


register(ArchSpec(
    name="latent-diffusion",
    family="diffusion",
    modality="image",
    config_cls=LatentDiffusionConfig,
    builder=build_latent_diffusion,
    capabilities=frozenset({Capability.GENERATE, Capability.INPAINT}),
    trainer="trainers.images",
    description="Text-to-image latent diffusion: autoencoder, caption encoder, cross-attention UNet; "
                "classifier-free guidance and negative prompts",
    sampler_options=("steps", "sampler", "eta", "prompt", "negative_prompt", "guidance"),
    sampler_defaults={"steps": 25, "sampler": "ddim", "eta": 0.0, "prompt": "", "negative_prompt": "",
                      "guidance": DEFAULT_GUIDANCE},
))
