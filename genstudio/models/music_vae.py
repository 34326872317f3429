"""MusicVAE: a variational autoencoder over short melodies, for sampling and for walking between two.

Roberts et al., "A Hierarchical Latent Vector Model for Learning Long-Term Structure in Music" (ICML
2018), its flat 2-bar melody model: a phrase is a fixed number of 16th-note steps, each one class of
the melody vocabulary (the trainer's encoding; this file knows only ids). A bidirectional LSTM reads
the phrase; its two final states give μ and log σ² of a diagonal Gaussian q(z|x); z = μ + σ·ε. The
decoder is an LSTM whose initial state is tanh(Linear(z)) and whose input at each step is the previous
token's embedding beside z (MusicVAE feeds z at every step too, so the decoder cannot ignore it).
Training uses teacher forcing; ``scheduled_sampling`` (Bengio et al. 2015) replaces a rising share of
the previous tokens with the decoder's own samples, as MusicVAE does, so generation sees its own
mistakes. The KL term has *free bits* (Kingma et al. 2016: the first ``free_bits`` nats of KL per
phrase cost nothing, so the posterior is not squashed to the prior early) and a β that rises
linearly from 0 to ``beta`` over ``beta_warmup`` steps (β < 1 trades sample quality for sharper
reconstructions, MusicVAE's 0.2–0.5). Interpolation encodes two phrases to their means and decodes
points on the great circle between them (slerp: z drawn from a Gaussian lives near a sphere), so the
walk's ends are the two reconstructions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genstudio.core.errors import ConfigError
from genstudio.core.events import Progress
from genstudio.core.registry import ArchSpec, Capability, register


@dataclass
class MusicVAEConfig:
    vocab_size: int = 0  # classes per 16th step (the melody encoding's); set by the trainer (0 only in presets)
    steps: int = 32  # phrase length in 16th steps (32 = 2 bars of 4/4)
    bars: int = 2  # bars per phrase, for the trainer's phrase cutter (steps / bars steps per bar)
    embed_dim: int = 64  # token embedding width (encoder and decoder inputs)
    enc_hidden: int = 256  # encoder LSTM width, per direction
    dec_hidden: int = 256  # decoder LSTM width
    dec_layers: int = 2  # decoder LSTM layers
    latent_dim: int = 64  # z
    dropout: float = 0.0  # between decoder LSTM layers, training only
    beta: float = 0.2  # the KL weight after warm-up (MusicVAE: 0.2 for small 2-bar melody models)
    beta_warmup: int = 1000  # steps over which β rises linearly from 0 to ``beta`` (0: ``beta`` from the start)
    free_bits: float = 0.0  # nats of KL per phrase that cost nothing (MusicVAE's free_bits, in nats)
    scheduled_sampling: float = 0.0  # largest share of decoder inputs that are its own samples (0: teacher forcing)
    sampling_warmup: int = 2000  # steps over which that share rises linearly from 0
    transpose: int = 3  # training augmentation: phrases shifted by up to ± this many semitones (0 = off)

    def __post_init__(self):
        if self.vocab_size < 0 or 0 < self.vocab_size < 2:
            raise ValueError(f"vocab_size must be at least 2 (or 0 until the trainer sets it), got {self.vocab_size}")
        if self.steps < 2 or self.bars < 1 or self.steps % self.bars:
            raise ValueError(f"steps ({self.steps}) must be at least 2 and split into {self.bars} equal bars")
        if min(self.embed_dim, self.enc_hidden, self.dec_hidden, self.dec_layers, self.latent_dim) < 1:
            raise ValueError("embed_dim, enc_hidden, dec_hidden, dec_layers and latent_dim must be at least 1")
        if not 0 <= self.dropout < 1 or not 0 <= self.scheduled_sampling <= 1:
            raise ValueError("dropout must be in [0, 1) and scheduled_sampling in [0, 1]")
        if self.beta < 0 or self.free_bits < 0 or self.beta_warmup < 0 or self.sampling_warmup < 0:
            raise ValueError("beta, beta_warmup, free_bits and sampling_warmup must be 0 or more")
        if not 0 <= self.transpose <= 12:
            raise ValueError(f"transpose must be 0–12 semitones, got {self.transpose}")


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Spherical interpolation between (Z,) vectors (linear where they are nearly parallel)."""
    cos = F.cosine_similarity(a, b, dim=0).clamp(-1, 1)
    omega = torch.arccos(cos)
    if float(omega.sin().abs()) < 1e-4:
        return torch.lerp(a, b, t)
    return (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / omega.sin()


class MusicVAE(nn.Module):
    def __init__(self, config: MusicVAEConfig):
        super().__init__()
        if config.vocab_size == 0:
            raise ConfigError("MusicVAE's vocab_size is 0: the trainer sets it from the melody encoding, so "
                              "build the network from a trained model's config (or give vocab_size).")
        self.config = config
        V, E, Z = config.vocab_size, config.embed_dim, config.latent_dim
        self.start_id = V  # an extra embedding row: the decoder's input before the first step
        self.embed = nn.Embedding(V + 1, E)
        self.encoder = nn.LSTM(E, config.enc_hidden, batch_first=True, bidirectional=True)
        self.to_posterior = nn.Linear(2 * config.enc_hidden, 2 * Z)  # -> μ, log σ²
        self.to_state = nn.Linear(Z, 2 * config.dec_layers * config.dec_hidden)  # -> decoder (h0, c0)
        self.decoder = nn.LSTM(E + Z, config.dec_hidden, num_layers=config.dec_layers, batch_first=True,
                               dropout=config.dropout if config.dec_layers > 1 else 0.0)
        self.out = nn.Linear(config.dec_hidden, V)

    @property
    def latent_dim(self) -> int:
        return self.config.latent_dim

    @property
    def example_length(self) -> int:
        """Tokens in one training example: a phrase."""
        return self.config.steps

    def _device(self) -> torch.device:
        return self.out.weight.device

    def _tokens(self, tokens) -> torch.Tensor:
        """A phrase (T,) or phrases (B, T) of ids as a (B, T) long tensor on the model's device."""
        x = torch.as_tensor(tokens, dtype=torch.long, device=self._device())
        x = x[None] if x.dim() == 1 else x
        if x.shape[1] != self.config.steps or x.min() < 0 or x.max() >= self.config.vocab_size:
            raise ValueError(f"phrases must be {self.config.steps} ids in [0, {self.config.vocab_size}), "
                             f"got shape {tuple(x.shape)}")
        return x

    # -- the two halves --------------------------------------------------------------------------
    def posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, T) ids -> μ, log σ² (B, Z) each."""
        _, (h, _) = self.encoder(self.embed(x))  # h: (2, B, H), forward and backward final states
        stats = self.to_posterior(torch.cat([h[0], h[1]], dim=-1))  # (B, 2Z)
        mu, logvar = stats.chunk(2, dim=-1)
        return mu, logvar.clamp(-12, 8)

    def _initial_state(self, z: torch.Tensor):
        B, layers, H = z.shape[0], self.config.dec_layers, self.config.dec_hidden
        h, c = torch.tanh(self.to_state(z)).view(B, 2, layers, H).permute(1, 2, 0, 3)  # 2 × (layers, B, H)
        return h.contiguous(), c.contiguous()

    def teacher_forced_logits(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """(B, T) targets, (B, Z) -> (B, T, V) logits, each step fed the true previous token."""
        B, T = x.shape
        prev = torch.cat([torch.full((B, 1), self.start_id, dtype=torch.long, device=x.device), x[:, :-1]], dim=1)
        inputs = torch.cat([self.embed(prev), z[:, None].expand(B, T, z.shape[1])], dim=-1)  # (B, T, E + Z)
        y, _ = self.decoder(inputs, self._initial_state(z))
        return self.out(y)

    def _step(self, prev: torch.Tensor, z: torch.Tensor, state):
        """One decoder step: (B,) previous ids -> (B, V) logits and the new state."""
        y, state = self.decoder(torch.cat([self.embed(prev), z], dim=-1)[:, None], state)
        return self.out(y[:, 0]), state

    def scheduled_logits(self, x: torch.Tensor, z: torch.Tensor, share: float, generator: torch.Generator):
        """Like ``teacher_forced_logits``, but each step's input is, with probability ``share``, the
        token the decoder itself sampled at the previous step instead of the true one."""
        B, T = x.shape
        prev = torch.full((B,), self.start_id, dtype=torch.long, device=x.device)
        state, out = self._initial_state(z), []
        for t in range(T):
            logits, state = self._step(prev, z, state)
            out.append(logits)
            own = torch.multinomial(logits.detach().float().softmax(-1), 1, generator=generator)[:, 0]
            use_own = torch.rand(B, generator=generator, device=x.device) < share
            prev = torch.where(use_own, own, x[:, t])
        return torch.stack(out, dim=1)  # (B, T, V)

    # -- training --------------------------------------------------------------------------------
    def schedule(self, step: int | None) -> tuple[float, float]:
        """(β, scheduled-sampling share) at ``step`` (None: after every warm-up)."""
        cfg = self.config

        def ramp(steps: int) -> float:
            return 1.0 if step is None or steps == 0 else min(1.0, step / steps)

        return cfg.beta * ramp(cfg.beta_warmup), cfg.scheduled_sampling * ramp(cfg.sampling_warmup)

    def losses(self, x: torch.Tensor, generator: torch.Generator, step: int | None = None):
        """(loss, reconstruction nats/phrase, KL nats/phrase, β) for (B, T) phrases; step None is evaluation."""
        mu, logvar = self.posterior(x)
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        z = mu + (0.5 * logvar).exp() * eps  # (B, Z)
        beta, share = self.schedule(step)
        if self.training and share > 0:
            logits = self.scheduled_logits(x, z, share, generator)
        else:
            logits = self.teacher_forced_logits(x, z)
        recon = F.cross_entropy(logits.float().transpose(1, 2), x, reduction="none").sum(1).mean()
        kl = (0.5 * (mu.float() ** 2 + logvar.float().exp() - 1 - logvar.float())).sum(1).mean()
        loss = recon + beta * (kl - self.config.free_bits).clamp(min=0)
        return loss, recon, kl, beta

    def training_loss(self, x: torch.Tensor, generator: torch.Generator, step: int = 0):
        loss, recon, kl, beta = self.losses(x, generator, step)
        return loss, {"loss": float(loss.detach()), "recon": float(recon.detach()), "kl": float(kl.detach()),
                      "beta": beta}

    @torch.no_grad()
    def validation_loss(self, x: torch.Tensor) -> torch.Tensor:
        """The negative ELBO per phrase (reconstruction + full KL, β = 1), teacher-forced, a fixed ε."""
        _, recon, kl, _ = self.losses(x, torch.Generator(self._device()).manual_seed(0), None)
        return recon + kl

    # -- latent tools ----------------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, tokens) -> torch.Tensor:
        """A phrase (T,) or phrases (B, T) -> (B, Z): the posterior means."""
        return self.posterior(self._tokens(tokens))[0]

    @torch.no_grad()
    def decode(self, z: torch.Tensor, temperature: float = 0.0, seed: int = 0) -> torch.Tensor:
        """(B, Z) or (Z,) -> (B, T) ids, each step fed the previous one; greedy at temperature 0."""
        if temperature < 0:
            raise ValueError(f"temperature must be 0 (greedy) or more, got {temperature}")
        z = torch.as_tensor(z, dtype=self.out.weight.dtype, device=self._device())
        z = z[None] if z.dim() == 1 else z
        generator = torch.Generator(self._device()).manual_seed(seed)
        prev = torch.full((z.shape[0],), self.start_id, dtype=torch.long, device=z.device)
        state, out = self._initial_state(z), []
        for _ in range(self.config.steps):
            logits, state = self._step(prev, z, state)
            if temperature == 0:
                prev = logits.argmax(-1)
            else:
                prev = torch.multinomial((logits.float() / temperature).softmax(-1), 1, generator=generator)[:, 0]
            out.append(prev)
        return torch.stack(out, dim=1)

    def prior_latents(self, seeds: list[int], temperature: float = 1.0) -> torch.Tensor:
        """(len(seeds), Z): one draw of N(0, temperature²·I) per seed."""
        rows = [torch.randn(self.config.latent_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
        return (torch.stack(rows) * temperature).to(self._device())

    @torch.no_grad()
    def interpolate(self, a_tokens, b_tokens, steps: int = 5, temperature: float = 0.0, seed: int = 0) -> list[list[int]]:
        """``steps`` phrases from phrase a to phrase b: slerp between their encodings, decoded (the first
        and last are a's and b's reconstructions)."""
        if steps < 2:
            raise ValueError(f"an interpolation needs at least 2 steps, got {steps}")
        za, zb = self.encode(a_tokens)[0], self.encode(b_tokens)[0]
        z = torch.stack([slerp(za, zb, i / (steps - 1)) for i in range(steps)])
        return self.decode(z, temperature, seed).tolist()

    def sample(self, n: int = 4, seed: int = 0, temperature: float = 1.0):
        """``n`` phrases from the prior; yields a Progress per phrase and returns them as lists of ids.
        Phrase i is the one ``sample(1, seed + i)`` makes; z and the decoder's draws both scale with
        ``temperature`` (0: the prior's mean direction decoded greedily, i.e. z = 0)."""
        phrases = []
        for i in range(n):
            z = self.prior_latents([seed + i], temperature)
            phrases.append(self.decode(z, temperature, seed + i)[0].tolist())
            yield Progress(i + 1, n, stage="sample")
        return phrases


_DESCRIPTION = ("MusicVAE: a variational autoencoder over 2-bar melodies (Roberts et al. 2018); a bidirectional "
                "LSTM encoder, an LSTM decoder started from z; samples new phrases and interpolates between two.")
register(ArchSpec(name="music-vae", family="music-vae", modality="music", config_cls=MusicVAEConfig,
                  builder=MusicVAE, capabilities=frozenset({Capability.MUSIC, Capability.INTERPOLATE}),
                  trainer="trainers.music", description=_DESCRIPTION, sampler_options=("temperature",),
                  sampler_defaults={"temperature": 1.0}))
