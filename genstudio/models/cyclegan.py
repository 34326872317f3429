"""CycleGAN: unpaired translation between two folders of images, domain A and domain B. Two ResNet
generators (A→B and B→A: a 7×7 convolution, two stride-2 downsamplings, residual blocks, two
upsamplings and a 7×7 convolution to the image, with instance normalisation and reflection padding)
and two PatchGAN discriminators that score overlapping patches as real or translated. The
least-squares GAN loss makes each translation look like the other domain, the cycle loss
(A→B→A ≈ A, weight λ) keeps the content, and the identity loss (A→B leaves a B image alone, weight
λ/2) keeps the colours. The discriminators see fakes through a history pool of earlier ones, which
damps oscillation; the pool is a buffer of the model, so a resumed run draws from the same pool. The
generators are fully convolutional: ``translate`` takes any size, and a large image is translated in
tiles (tasks/translate.py) that share instance-norm statistics measured once on the whole image
(``norm_statistics``), so the tiles agree and leave no seams.
Zhu et al., "Unpaired Image-to-Image Translation using Cycle-Consistent Adversarial Networks" (ICCV
2017); Johnson et al., "Perceptual Losses for Real-Time Style Transfer" (2016) for the generator;
Isola et al., "Image-to-Image Translation with Conditional Adversarial Networks" (2017) for the
PatchGAN; Mao et al., "Least Squares GANs" (2017); Shrivastava et al., "Learning from Simulated and
Unsupervised Images through Adversarial Training" (2017) for the history pool.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genstudio.core.registry import ArchSpec, Capability, register
from genstudio.models.common import from_levels, to_levels
from genstudio.models.gan import dcgan_init, frozen

DIRECTIONS = ("a2b", "b2a")
EPS = 1e-5  # instance-norm epsilon, as torch's


@dataclass
class CycleGANConfig:
    image_size: int = 64  # training crop in pixels (square, a multiple of 4); translation takes any size
    channels: int = 3  # 1 = grayscale, 3 = RGB (both domains alike)
    g_width: int = 64  # generator channels after its first 7×7 convolution; ×2 and ×4 after the downsamplings
    d_width: int = 64  # discriminator channels at its first layer, doubling per layer up to 8×
    n_res_blocks: int = 9  # generator residual blocks at 1/4 resolution (paper: 6 at 128 px, 9 at 256 px)
    d_layers: int = 0  # stride-2 layers per PatchGAN; 0 = from image_size (3, the 70×70 original, from 128 px)
    cycle_weight: float = 10.0  # λ of the cycle loss
    identity_weight: float = 0.5  # identity loss weight as a fraction of λ (0 = none)
    pool_size: int = 50  # earlier fakes each discriminator may be shown instead of the newest
    domains: tuple[str, str] = ("A", "B")  # the two folders' names (set from the folders when training starts)

    def __post_init__(self):
        if self.image_size % 4 or not 32 <= self.image_size <= 512:
            raise ValueError(f"image_size must be a multiple of 4 from 32 to 512, got {self.image_size}")
        if self.channels not in (1, 3):
            raise ValueError(f"channels must be 1 (grayscale) or 3 (RGB), got {self.channels}")
        if min(self.g_width, self.d_width) < 1 or self.n_res_blocks < 0 or self.pool_size < 0:
            raise ValueError("g_width and d_width must be positive; n_res_blocks and pool_size not negative")
        if not 0 <= self.d_layers <= 5:
            raise ValueError(f"d_layers must be 0 (automatic) to 5, got {self.d_layers}")
        if self.image_size >> self.d_layers < 4:
            raise ValueError(f"d_layers={self.d_layers} halves a {self.image_size} px image below 4 px; use fewer")
        if self.cycle_weight < 0 or self.identity_weight < 0:
            raise ValueError("cycle_weight and identity_weight must not be negative")
        if len(self.domains) != 2 or not all(self.domains) or self.domains[0] == self.domains[1]:
            raise ValueError(f"domains must be two different names, got {self.domains!r}")


def patch_receptive_field(layers: int) -> int:
    """Pixels a PatchGAN score sees: two stride-1 4×4 convolutions (7 px), each stride-2 one 2r + 2."""
    side = 7
    for _ in range(layers):
        side = 2 * side + 2
    return side


def patch_layers(image_size: int) -> int:
    """Stride-2 layers that keep a patch within ~60% of the image: 1 (16 px) at 32 px, 2 (34 px) at
    64 px, 3 (70 px, the paper's) from 128 px."""
    return max(n for n in (1, 2, 3) if n == 1 or patch_receptive_field(n) <= 0.6 * image_size)


def conv(c_in: int, c_out: int, kernel: int, stride: int = 1, padding: int = 0) -> nn.Conv2d:
    return dcgan_init(nn.Conv2d(c_in, c_out, kernel, stride, padding))  # weights N(0, 0.02), as the paper's code


# -- the generator -------------------------------------------------------------------------------
class NormTape:
    """Instance-norm statistics of one pass through a generator: recorded (a fresh tape) or replayed
    (a tape made from recorded ones), in the order the layers meet them."""

    def __init__(self, stats: list[tuple[torch.Tensor, torch.Tensor]] | None = None):
        self.replaying = stats is not None
        self.stats = list(stats) if stats is not None else []
        self.position = 0

    def normalize(self, x: torch.Tensor) -> torch.Tensor:
        if self.replaying:
            mean, var = self.stats[self.position]
            self.position += 1
        else:
            var, mean = torch.var_mean(x.float(), dim=(2, 3), keepdim=True, correction=0)
            self.stats.append((mean, var))
        return ((x - mean) * torch.rsqrt(var + EPS)).to(x.dtype)


class Norm(nn.Module):
    """Instance normalisation without a learned scale (the paper's); with a tape, the tape's statistics."""

    def forward(self, x: torch.Tensor, tape: NormTape | None = None) -> torch.Tensor:
        return F.instance_norm(x, eps=EPS) if tape is None else tape.normalize(x)


def run_layers(layers: nn.ModuleList, x: torch.Tensor, tape: NormTape | None) -> torch.Tensor:
    for layer in layers:
        x = layer(x, tape) if isinstance(layer, (Norm, ResidualBlock)) else layer(x)
    return x


class ResidualBlock(nn.Module):
    """x + (reflect-pad, 3×3 conv, norm, ReLU, reflect-pad, 3×3 conv, norm)(x)."""

    def __init__(self, width: int):
        super().__init__()
        self.layers = nn.ModuleList([nn.ReflectionPad2d(1), conv(width, width, 3), Norm(), nn.ReLU(),
                                     nn.ReflectionPad2d(1), conv(width, width, 3), Norm()])

    def forward(self, x: torch.Tensor, tape: NormTape | None = None) -> torch.Tensor:
        return x + run_layers(self.layers, x, tape)


class ResnetGenerator(nn.Module):
    """(B, C, H, W) -> (B, C, H, W) in (−1, 1), H and W multiples of 4: c7s1-k, d2k, d4k,
    R4k × n_res_blocks, u2k, uk, c7s1-C, tanh (the paper's notation, k = g_width)."""

    def __init__(self, cfg: CycleGANConfig):
        super().__init__()
        k = cfg.g_width
        layers = [nn.ReflectionPad2d(3), conv(cfg.channels, k, 7), Norm(), nn.ReLU()]
        for a, b in ((k, 2 * k), (2 * k, 4 * k)):
            layers += [conv(a, b, 3, stride=2, padding=1), Norm(), nn.ReLU()]
        layers += [ResidualBlock(4 * k) for _ in range(cfg.n_res_blocks)]
        for a, b in ((4 * k, 2 * k), (2 * k, k)):
            layers += [dcgan_init(nn.ConvTranspose2d(a, b, 3, 2, padding=1, output_padding=1)), Norm(), nn.ReLU()]
        layers += [nn.ReflectionPad2d(3), conv(k, cfg.channels, 7), nn.Tanh()]
        self.layers = nn.ModuleList(layers)

    def forward(self, x: torch.Tensor, tape: NormTape | None = None) -> torch.Tensor:
        return run_layers(self.layers, x, tape)


# -- the discriminator and the pool --------------------------------------------------------------
class PatchDiscriminator(nn.Module):
    """(B, C, H, W) -> (B, 1, h, w) scores, one per overlapping patch: ``layers`` stride-2 4×4
    convolutions and two stride-1 ones, LeakyReLU, instance norm after all but the first and last."""

    def __init__(self, cfg: CycleGANConfig, layers: int):
        super().__init__()
        widths = [cfg.d_width * min(2**i, 8) for i in range(layers + 1)]
        body: list[nn.Module] = [conv(cfg.channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2)]
        for i in range(1, layers + 1):
            stride = 2 if i < layers else 1
            body += [conv(widths[i - 1], widths[i], 4, stride, 1), nn.InstanceNorm2d(widths[i]), nn.LeakyReLU(0.2)]
        body.append(conv(widths[-1], 1, 4, 1, 1))
        self.body = nn.Sequential(*body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x).float()


class HistoryPool(nn.Module):
    """Up to ``size`` earlier fakes, plus how many are stored: persistent buffers, so a checkpoint holds
    the pool and a resumed run continues with it. Stored as 8-bit images, like the real ones, at a
    quarter of the float size in checkpoints and model files."""

    def __init__(self, size: int, channels: int, image_size: int):
        super().__init__()
        self.register_buffer("images", torch.zeros(size, channels, image_size, image_size, dtype=torch.uint8))
        self.register_buffer("count", torch.zeros((), dtype=torch.long))

    def query(self, fakes: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """The batch the discriminator sees: while the pool fills, each fake is stored and shown;
        afterwards, each time with probability 1/2, a random stored fake is shown and replaced by
        the new one. Both random draws are made for every image from the run's generator."""
        size = self.images.shape[0]
        if size == 0:
            return fakes
        n = fakes.shape[0]
        swap = (torch.rand(n, generator=generator, device=generator.device) < 0.5).tolist()
        slots = torch.randint(size, (n,), generator=generator, device=generator.device).tolist()
        levels = to_levels(fakes.detach()).to(torch.uint8)
        shown = list(fakes)
        for i in range(n):
            filled = int(self.count)
            if filled < size:
                self.images[filled] = levels[i]
                self.count += 1
            elif swap[i]:
                shown[i] = from_levels(self.images[slots[i]]).to(fakes.dtype)
                self.images[slots[i]] = levels[i]
        return torch.stack(shown)


def lsgan_loss(scores: torch.Tensor, real: bool) -> torch.Tensor:
    """Least squares: (D − 1)² for what should look real, D² for what should look fake."""
    return F.mse_loss(scores, torch.full_like(scores, 1.0 if real else 0.0))


# -- the model -----------------------------------------------------------------------------------
class CycleGAN(nn.Module):
    """Generators ``g_ab`` (A→B) and ``g_ba`` (B→A); discriminators ``d_a`` (is this an A image?) and
    ``d_b``; history pools of translated images for each. Trained with ``training_phases``: the
    discriminators' step, then the generators' step, on the same pair of batches."""

    training_phases = ("d", "g")

    def __init__(self, config: CycleGANConfig):
        super().__init__()
        self.config = config
        layers = config.d_layers or patch_layers(config.image_size)
        self.g_ab, self.g_ba = ResnetGenerator(config), ResnetGenerator(config)
        self.d_a, self.d_b = PatchDiscriminator(config, layers), PatchDiscriminator(config, layers)
        self.pool_a = HistoryPool(config.pool_size, config.channels, config.image_size)  # fakes of domain A
        self.pool_b = HistoryPool(config.pool_size, config.channels, config.image_size)

    def optimizer_groups(self) -> list[dict]:
        return [{"params": [*self.g_ab.parameters(), *self.g_ba.parameters()], "phase": "g"},
                {"params": [*self.d_a.parameters(), *self.d_b.parameters()], "phase": "d"}]

    def training_loss(self, x: torch.Tensor, generator: torch.Generator, phase: str = "d",
                      x_b: torch.Tensor | None = None) -> tuple[torch.Tensor, dict]:
        """``x`` a batch of domain A, ``x_b`` one of domain B. Phase "d": each discriminator's LSGAN
        loss on its real images vs pooled fakes (halved, as the paper, to slow D); phase "g": the
        generators' LSGAN loss through frozen discriminators + λ·cycle + λ·identity_weight·identity."""
        if x_b is None:
            raise ValueError("CycleGAN learns from two domains: training_loss needs x_b, a batch of domain B.")
        real_a, real_b = x, x_b
        if phase == "d":
            with torch.no_grad():
                fake_b = self.pool_b.query(self.g_ab(real_a), generator)
                fake_a = self.pool_a.query(self.g_ba(real_b), generator)
            loss_a = 0.5 * (lsgan_loss(self.d_a(real_a), True) + lsgan_loss(self.d_a(fake_a), False))
            loss_b = 0.5 * (lsgan_loss(self.d_b(real_b), True) + lsgan_loss(self.d_b(fake_b), False))
            loss = loss_a + loss_b
            return loss, {"loss": loss.item(), "d_loss": loss.item(), "d_a": loss_a.item(), "d_b": loss_b.item()}
        cfg = self.config
        fake_b, fake_a = self.g_ab(real_a), self.g_ba(real_b)
        with frozen(self.d_a), frozen(self.d_b):
            adversarial = lsgan_loss(self.d_b(fake_b), True) + lsgan_loss(self.d_a(fake_a), True)
        cycle = F.l1_loss(self.g_ba(fake_b), real_a) + F.l1_loss(self.g_ab(fake_a), real_b)
        loss = adversarial + cfg.cycle_weight * cycle
        metrics = {"g_adv": adversarial.item(), "cycle": cycle.item()}
        if cfg.identity_weight:
            identity = F.l1_loss(self.g_ab(real_b), real_b) + F.l1_loss(self.g_ba(real_a), real_a)
            loss = loss + cfg.cycle_weight * cfg.identity_weight * identity
            metrics["identity"] = identity.item()
        return loss, {"loss": loss.item(), "g_loss": loss.item(), **metrics}

    @property
    def context_margin(self) -> int:
        """Pixels of real surroundings a tile needs at each cut edge for its output to match the whole
        image's: beyond this, cutting the image changes a fresh network's output by about one level
        (measured at 1, 6 and 9 residual blocks); each block reaches 4 px further."""
        return 16 + 4 * self.config.n_res_blocks

    def generator_for(self, direction: str) -> ResnetGenerator:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'a2b' or 'b2a', got {direction!r}")
        return self.g_ab if direction == "a2b" else self.g_ba

    def translate(self, x: torch.Tensor, direction: str = "a2b",
                  stats: list[tuple[torch.Tensor, torch.Tensor]] | None = None) -> torch.Tensor:
        """(B, C, H, W) in [−1, 1] -> the other domain, same shape (H and W multiples of 4). With
        ``stats`` (from ``norm_statistics``) every instance norm uses them instead of x's own: the
        tiles of one large image are normalised alike."""
        tape = None if stats is None else NormTape(stats)
        return self.generator_for(direction)(x, tape).float().clamp(-1, 1)

    def norm_statistics(self, x: torch.Tensor, direction: str = "a2b") -> list[tuple[torch.Tensor, torch.Tensor]]:
        """The (mean, variance) of every instance norm of the ``direction`` generator on x (a whole
        image, usually scaled down), in the order ``translate`` meets them."""
        tape = NormTape()
        self.generator_for(direction)(x, tape)
        return tape.stats


register(ArchSpec(
    name="cyclegan", family="gan", modality="image", config_cls=CycleGANConfig, builder=CycleGAN,
    capabilities=frozenset({Capability.TRANSLATE}), trainer="trainers.unpaired",
    description="CycleGAN: learns to turn images of one folder into the style of another (A↔B) without "
                "pairs; translates images of any size"))
