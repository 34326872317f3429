"""Energy-based image models: a Bernoulli RBM trained by contrastive divergence, and a deep
convolutional EBM sampled by Langevin dynamics. Both learn an energy that is low on training images,
so both generate by MCMC (Gibbs sweeps, Langevin steps: one Progress per step) and score anomalies by
energy. Training is a surrogate loss for the generic loop: energy of the data minus energy of model
samples drawn without gradient, whose gradient is the maximum-likelihood (CD) gradient.

Hinton, "Training Products of Experts by Minimizing Contrastive Divergence" (2002); Tieleman,
"Training RBMs using Approximations to the Likelihood Gradient" (2008) for persistent CD; Du &
Mordatch, "Implicit Generation and Generalization in Energy-Based Models" (2019) for the replay buffer
and energy regulariser; Nijkamp et al., "Learning Non-Convergent Non-Persistent Short-Run MCMC Toward
Energy-Based Model" (2019) for short-run Langevin.

MCMC state lives in non-persistent buffers: the RBM's persistent chains and the EBM's replay buffer
start as random noise at build, are not part of the weights file, and start again from noise after a
resume (so a resumed run is close to, not bit-identical with, an uninterrupted one). The loop's EMA
copy receives them by ``update_ema``'s buffer copy; it never trains, so that copy is harmless.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from genstudio.core.events import EtaClock, Preview, Progress
from genstudio.core.registry import ArchSpec, Capability, register
from genstudio.models.common import (
    binarize,
    check_image_config,
    image_generators,
    seeded_noise,
    seeded_uniform,
    to_uint8,
)

RBM_METHODS = ("cd", "pcd")
ACTIVATIONS = {"swish": nn.SiLU, "leaky_relu": lambda: nn.LeakyReLU(0.2)}


def _check_sampling(steps: int, temperature: float, zero_temperature_ok: bool) -> None:
    if int(steps) < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    if temperature < 0 or (temperature == 0 and not zero_temperature_ok):
        raise ValueError(f"temperature must be {'≥' if zero_temperature_ok else '>'} 0, got {temperature}")


# ---------------------------------------------------------------------------------------------
# Restricted Boltzmann machine
# ---------------------------------------------------------------------------------------------
@dataclass
class RBMConfig:
    image_size: int = 28  # pixels, square; 28–64
    channels: int = 1  # 1 = grayscale, 3 = RGB; visible units = channels·size² binarised pixels
    hidden: int = 500  # Bernoulli hidden units
    method: str = "cd"  # "cd": chains start at the data each step; "pcd": persistent chains (Tieleman)
    k: int = 1  # Gibbs sweeps per training step (CD-k)
    chains: int = 100  # persistent fantasy particles (pcd only)
    init_std: float = 0.01  # std of the initial weights (Hinton's practical guide)

    def __post_init__(self):
        check_image_config(self.image_size, self.channels)
        if self.hidden < 1:
            raise ValueError(f"hidden must be at least 1, got {self.hidden}")
        if self.method not in RBM_METHODS:
            raise ValueError(f"method must be one of {RBM_METHODS}, got {self.method!r}")
        if self.k < 1:
            raise ValueError(f"k (Gibbs sweeps per step) must be at least 1, got {self.k}")
        if self.chains < 1:
            raise ValueError(f"chains must be at least 1, got {self.chains}")
        if self.init_std <= 0:
            raise ValueError(f"init_std must be positive, got {self.init_std}")


class BernoulliRBM(nn.Module):
    """E(v, h) = -vᵀb - hᵀc - vᵀWh over binary v (V) and h (H); temperature T divides the energy."""

    def __init__(self, visible: int, hidden: int, init_std: float = 0.01):
        super().__init__()
        self.W = nn.Parameter(torch.randn(visible, hidden) * init_std)  # (V, H)
        self.b = nn.Parameter(torch.zeros(visible))  # visible bias
        self.c = nn.Parameter(torch.zeros(hidden))  # hidden bias

    def free_energy(self, v: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """F(v) = -log Σ_h exp(-E(v, h)/T) = -vᵀb/T - Σ_j softplus((vW + c)_j / T); (B, V) -> (B,)."""
        return -(v @ self.b) / temperature - F.softplus((v @ self.W + self.c) / temperature).sum(-1)

    def hidden_probs(self, v: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        return torch.sigmoid((v @ self.W + self.c) / temperature)  # (B, H)

    def visible_probs(self, h: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        return torch.sigmoid((h @ self.W.t() + self.b) / temperature)  # (B, V)

    def gibbs(self, v, u_h, u_v, temperature: float = 1.0) -> tuple[torch.Tensor, torch.Tensor]:
        """One sweep v -> h -> v' driven by the given uniforms; returns (v' binary, p(v' = 1 | h))."""
        h = (u_h < self.hidden_probs(v, temperature)).to(v.dtype)
        p_v = self.visible_probs(h, temperature)
        return (u_v < p_v).to(v.dtype), p_v


class RBM(nn.Module):
    """A Bernoulli RBM over the binarised image (C·H·W visible units), trained by CD-k or PCD."""

    preview_options = {"steps": 200}

    def __init__(self, config: RBMConfig):
        super().__init__()
        self.config = config
        self.visible = config.channels * config.image_size**2
        self.rbm = BernoulliRBM(self.visible, config.hidden, config.init_std)
        chains = config.chains if config.method == "pcd" else 0
        # Non-persistent: MCMC state, not weights; starts as coin flips (again after a resume).
        self.register_buffer("chains", (torch.rand(chains, self.visible) < 0.5).float(), persistent=False)
        # Persistent: once the first batch has set the visible biases, a resume must not set them again.
        self.register_buffer("visible_bias_set", torch.tensor(False))

    def _visible(self, x: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        return binarize(x, generator).flatten(1)  # (B, V) in {0, 1}

    def _to_image(self, p_v: torch.Tensor) -> torch.Tensor:
        cfg = self.config
        return p_v.view(-1, cfg.channels, cfg.image_size, cfg.image_size) * 2 - 1  # (B, C, H, W)

    # -- training ------------------------------------------------------------------------------
    def training_loss(self, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
        """mean F(v_data) - mean F(v_model): its gradient is the CD-k (or PCD) gradient."""
        cfg, rbm = self.config, self.rbm

        def uniforms(rows: int) -> tuple[torch.Tensor, torch.Tensor]:
            u = torch.rand(rows, cfg.hidden + self.visible, generator=generator, device=generator.device)
            u = u.to(x.device)
            return u[:, : cfg.hidden], u[:, cfg.hidden :]

        with torch.autocast(x.device.type, enabled=False):  # F is a sum of hundreds of terms: keep fp32
            v = self._visible(x.float(), generator)  # (B, V), dynamic binarisation
            with torch.no_grad():
                if not self.visible_bias_set:
                    self._set_visible_bias(v)
                v_model = v if cfg.method == "cd" else self.chains
                for _ in range(cfg.k):
                    v_model, _ = rbm.gibbs(v_model, *uniforms(len(v_model)))
                if cfg.method == "pcd":
                    self.chains.copy_(v_model)
                recon = rbm.visible_probs(rbm.hidden_probs(v))  # one-step mean-field reconstruction
            f_data = rbm.free_energy(v)  # (B,)
            loss = f_data.mean() - rbm.free_energy(v_model).mean()
        return loss, {"loss": loss.item(), "free_energy": f_data.mean().item(),
                      "recon_error": (v - recon).pow(2).mean().item()}

    def _set_visible_bias(self, v: torch.Tensor) -> None:
        """b = logit(pixel means of the first batch) (Hinton's practical guide). With b = 0 the
        all-hidden-off state is grey noise, and Gibbs chains started from noise fall into it and stay."""
        p = v.mean(0).clamp(0.01, 0.99)
        self.rbm.b.copy_(torch.log(p / (1 - p)))
        self.visible_bias_set.fill_(True)

    # -- sampling ------------------------------------------------------------------------------
    @torch.inference_mode()
    def sample(self, n: int = 1, seed: int = 0, seeds: list[int] | None = None, preview_every: int = 0,
               steps: int = 1000, temperature: float = 1.0):
        """Block Gibbs sampling from per-image coin flips: yields Progress every sweep and a Preview of
        p(v | h) every ``preview_every`` sweeps; returns the last p(v | h) as grey levels."""
        _check_sampling(steps, temperature, zero_temperature_ok=False)
        gens = image_generators(n, seed, seeds)
        device, H = self.rbm.W.device, self.config.hidden
        v = (seeded_uniform((self.visible,), gens) < 0.5).float().to(device)  # (N, V)
        clock = EtaClock(0, steps)
        for i in range(steps):
            u = seeded_uniform((H + self.visible,), gens).to(device)  # this sweep's uniforms, per image
            v, p_v = self.rbm.gibbs(v, u[:, :H], u[:, H:], temperature)
            yield Progress(i + 1, steps, clock.eta(i + 1), stage="sample")
            if preview_every and (i + 1) % preview_every == 0 and i + 1 < steps:
                yield Preview(i + 1, image=to_uint8(self._to_image(p_v)))
        return to_uint8(self._to_image(p_v))

    # -- scoring -------------------------------------------------------------------------------
    def free_energy(self, x: torch.Tensor) -> torch.Tensor:
        """F of the thresholded binary image; x (B, C, H, W) in [-1, 1] -> (B,) nats (up to log Z)."""
        return self.rbm.free_energy(self._visible(x))

    @torch.no_grad()
    def anomaly_map(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores: free energy. Maps: squared error of the one-step mean-field reconstruction."""
        v = self._visible(x)  # (B, V)
        recon = self.rbm.visible_probs(self.rbm.hidden_probs(v))
        err = (v - recon).pow(2).view(x.shape[0], self.config.channels, *x.shape[-2:])
        return self.rbm.free_energy(v), err.sum(1)  # (B,), (B, H, W)


# ---------------------------------------------------------------------------------------------
# Deep energy-based model
# ---------------------------------------------------------------------------------------------
@dataclass
class EBMConfig:
    image_size: int = 32  # pixels, square; 28–64
    channels: int = 3  # 1 = grayscale, 3 = RGB
    widths: tuple[int, ...] = (32, 64, 128)  # channels of each stage; each stage halves the resolution
    activation: str = "swish"  # "swish" (Du & Mordatch) or "leaky_relu"
    spectral_norm: bool = False  # spectral normalisation of every layer (smoother energy, slower)
    langevin_steps: int = 20  # Langevin steps per training step (short-run chains)
    # x ← x - (step_size/2)·∇E(x) + noise_std·ε. The E² term keeps energies within about ±1, so a
    # chain moving its D pixels by δ in K steps needs step_size·K ≳ 2Dδ²: larger images, larger steps.
    step_size: float = 100.0
    noise_std: float = 0.01  # Langevin noise, decoupled from the step as in Du & Mordatch
    replay_size: int = 4096  # images in the replay buffer of chain states
    reinit: float = 0.05  # fraction of chains restarted from uniform noise each step (1 = no buffer)
    alpha: float = 1.0  # weight of the E(x)² regulariser that keeps energies near zero
    data_noise: float = 0.005  # std of the Gaussian noise added to training images

    def __post_init__(self):
        check_image_config(self.image_size, self.channels)
        if not self.widths or min(self.widths) < 1:
            raise ValueError(f"widths must be a non-empty list of positive ints, got {self.widths}")
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {tuple(ACTIVATIONS)}, got {self.activation!r}")
        if self.langevin_steps < 1:
            raise ValueError(f"langevin_steps must be at least 1, got {self.langevin_steps}")
        if self.step_size <= 0 or self.noise_std < 0:
            raise ValueError("step_size must be positive and noise_std non-negative")
        if self.replay_size < 1:
            raise ValueError(f"replay_size must be at least 1, got {self.replay_size}")
        if not 0 <= self.reinit <= 1:
            raise ValueError(f"reinit must be in [0, 1], got {self.reinit}")
        if self.alpha < 0 or self.data_noise < 0:
            raise ValueError("alpha and data_noise must be non-negative")


class EnergyNet(nn.Module):
    """Image -> scalar energy: strided convolutions, no normalisation layers (so an image's energy
    never depends on its batch), global average pooling, a linear head."""

    def __init__(self, channels: int, widths: tuple[int, ...], activation: str, use_spectral_norm: bool):
        super().__init__()
        wrap = spectral_norm if use_spectral_norm else (lambda m: m)
        act = ACTIVATIONS[activation]
        layers: list[nn.Module] = [wrap(nn.Conv2d(channels, widths[0], 3, padding=1)), act()]
        c = widths[0]
        for w in widths:
            layers += [wrap(nn.Conv2d(c, w, 3, padding=1)), act(), wrap(nn.Conv2d(w, w, 4, 2, 1)), act()]
            c = w
        self.features = nn.Sequential(*layers)
        self.head = wrap(nn.Linear(c, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.features(x)  # (B, W, H/2^S, W/2^S)
        return self.head(h.mean((2, 3))).squeeze(1)  # (B,)


class DeepEBM(nn.Module):
    """A convolutional energy E(x), trained with a replay buffer of Langevin chains."""

    preview_options = {"steps": 30}

    def __init__(self, config: EBMConfig):
        super().__init__()
        self.config = config
        self.net = EnergyNet(config.channels, config.widths, config.activation, config.spectral_norm)
        shape = (config.replay_size, config.channels, config.image_size, config.image_size)
        # Non-persistent: MCMC state, not weights; starts as uniform noise (again after a resume).
        self.register_buffer("replay", torch.rand(shape) * 2 - 1, persistent=False)

    def energy(self, x: torch.Tensor) -> torch.Tensor:
        """E(x) for images (B, C, H, W) in [-1, 1] -> (B,); lower = more like the training data."""
        return self.net(x)

    def energy_grad(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(E(x) (B,), ∂E/∂x) with gradients only towards x, whatever the caller's grad mode."""
        with torch.inference_mode(False), torch.enable_grad():
            x = x.detach().clone().requires_grad_(True)  # clone: also a normal tensor if x came from inference mode
            e = self.net(x)
            (grad,) = torch.autograd.grad(e.sum(), x)
        return e.detach(), grad

    def langevin_step(self, x: torch.Tensor, eps: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """x ← clip(x - (step/2)·∇E(x) + noise·√T·ε): T scales the noise, i.e. samples exp(-E/T)."""
        cfg = self.config
        _, grad = self.energy_grad(x)
        x = x.detach() - cfg.step_size / 2 * grad + cfg.noise_std * math.sqrt(temperature) * eps
        return x.clamp(-1, 1)

    # -- training ------------------------------------------------------------------------------
    def training_loss(self, x: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, dict]:
        """E(data) - E(samples) + α(E(data)² + E(samples)²); samples continue replay-buffer chains."""
        cfg, B, gdev = self.config, x.shape[0], generator.device
        R = cfg.replay_size
        x_data = x + cfg.data_noise * torch.randn(x.shape, generator=generator, device=gdev).to(x.device)
        idx = torch.randperm(R, generator=generator, device=gdev)[:B] if R >= B else \
            torch.randint(0, R, (B,), generator=generator, device=gdev)
        idx = idx.to(self.replay.device)
        fresh = torch.rand(B, generator=generator, device=gdev).to(x.device) < cfg.reinit
        noise = torch.rand(x.shape, generator=generator, device=gdev).to(x.device) * 2 - 1
        x_neg = torch.where(fresh[:, None, None, None], noise, self.replay[idx])  # (B, C, H, W)
        for _ in range(cfg.langevin_steps):
            x_neg = self.langevin_step(x_neg, torch.randn(x.shape, generator=generator, device=gdev).to(x.device))
        self.replay[idx] = x_neg.detach()  # the chains continue from here next time they are drawn
        e_data, e_neg = self.net(x_data).float(), self.net(x_neg.detach()).float()  # fp32 under autocast
        loss = (e_data - e_neg).mean() + cfg.alpha * (e_data.pow(2) + e_neg.pow(2)).mean()
        return loss, {"loss": loss.item(), "energy_data": e_data.mean().item(),
                      "energy_sample": e_neg.mean().item()}

    # -- sampling ------------------------------------------------------------------------------
    @torch.no_grad()
    def sample(self, n: int = 1, seed: int = 0, seeds: list[int] | None = None, preview_every: int = 0,
               steps: int = 60, temperature: float = 1.0):
        """Langevin chains from per-image uniform noise: yields Progress every step and a Preview
        every ``preview_every`` steps; returns N×H×W×C uint8."""
        _check_sampling(steps, temperature, zero_temperature_ok=True)
        cfg, gens = self.config, image_generators(n, seed, seeds)
        device = next(self.parameters()).device
        shape = (cfg.channels, cfg.image_size, cfg.image_size)
        x = (seeded_uniform(shape, gens) * 2 - 1).to(device)  # (N, C, H, W)
        clock = EtaClock(0, steps)
        for i in range(steps):
            x = self.langevin_step(x, seeded_noise(shape, gens).to(device), temperature)
            yield Progress(i + 1, steps, clock.eta(i + 1), stage="sample")
            if preview_every and (i + 1) % preview_every == 0 and i + 1 < steps:
                yield Preview(i + 1, image=to_uint8(x))
        return to_uint8(x)

    # -- scoring -------------------------------------------------------------------------------
    def anomaly_map(self, x: torch.Tensor, smooth: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
        """Scores: E(x). Maps: |∂E/∂x| summed over channels, box-smoothed over ``smooth`` pixels
        (1 = raw), since single-pixel gradients are noisy."""
        e, grad = self.energy_grad(x)
        maps = grad.abs().sum(1, keepdim=True)  # (B, 1, H, W)
        if smooth > 1:
            maps = F.avg_pool2d(maps, smooth, 1, smooth // 2, count_include_pad=False)
        return e, maps[:, 0, : x.shape[-2], : x.shape[-1]]


def build_rbm(config: RBMConfig) -> RBM:
    return RBM(config)


def build_ebm(config: EBMConfig) -> DeepEBM:
    return DeepEBM(config)


register(ArchSpec(
    name="rbm",
    family="ebm",
    modality="image",
    config_cls=RBMConfig,
    builder=build_rbm,
    capabilities=frozenset({Capability.GENERATE, Capability.ANOMALY}),
    trainer="trainers.images",
    description="Restricted Boltzmann machine on binarised pixels; CD-k / persistent CD, Gibbs sampling",
    sampler_options=("steps", "temperature"),
    sampler_defaults={"steps": 1000, "temperature": 1.0},
))

register(ArchSpec(
    name="ebm",
    family="ebm",
    modality="image",
    config_cls=EBMConfig,
    builder=build_ebm,
    capabilities=frozenset({Capability.GENERATE, Capability.ANOMALY}),
    trainer="trainers.images",
    description="Convolutional energy-based model; Langevin sampling with a replay buffer",
    sampler_options=("steps", "temperature"),
    sampler_defaults={"steps": 60, "temperature": 1.0},
))
