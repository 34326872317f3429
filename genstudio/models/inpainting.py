"""Inpainting with the models' own generative machinery: RePaint resampling for diffusion models,
latent optimisation for VAEs.

Lugmayr et al., "RePaint: Inpainting using Denoising Diffusion Probabilistic Models" (2022): the
reverse process runs unchanged, except that after every step the known region is replaced by the
original noised to that step's level, q(x_t | x_0), so only the unknown region comes from the model;
``harmonize`` times per step the result is noised one step back and denoised again, which lets the
unknown region agree with the known one it only saw through noise (0 = plain masked DDIM). For a VAE
the candidate is the decoder's image at a latent z found by Adam on the known pixels' squared error
plus the prior's ‖z‖²/2, a MAP estimate (Yeh et al., "Semantic Image Inpainting with Deep Generative
Models", 2017, without their perceptual term). Every candidate draws all its noise from its own
seed, so candidate i is the same image when computed alone.
"""

from __future__ import annotations

import numpy as np
import torch

from genstudio.core.errors import GenStudioError
from genstudio.core.events import EtaClock, Preview, Progress
from genstudio.models.common import (
    batch_invariant,
    from_uint8,
    image_generators,
    seeded_noise,
    seeded_uniform,
    to_uint8,
)

DEFAULT_HARMONIZE = 2  # RePaint resamplings per step: most of the coherence gain for 3× the network calls
PIXEL_STD = 0.1  # assumed noise of the known pixels ([-1, 1] units) in the VAE's MAP objective
LATENT_LR = 0.5  # Adam's first step on z (latents are of unit scale), cosine-decayed to a tenth by the last
VAE_STEPS = 100  # optimisation steps of the VAE's inpainting by default


# -- inputs ------------------------------------------------------------------------------------
def candidate_seeds(n: int, seed: int, seeds: list[int] | None) -> list[int]:
    seeds = list(seeds) if seeds is not None else [seed + i for i in range(n)]
    if not seeds:
        raise GenStudioError("Ask for at least one candidate.")
    return [int(s) for s in seeds]


def check_options(steps: int, strength: float, harmonize: int = 0) -> None:
    if int(steps) < 1:
        raise GenStudioError(f"Inpainting needs at least one step, not {steps}.")
    if not 0 < strength <= 1:
        raise GenStudioError(f"The strength must be above 0 and at most 1, not {strength}.")
    if int(harmonize) != harmonize or harmonize < 0:
        raise GenStudioError(f"Harmonisation is a whole number of resamplings, 0 or more, not {harmonize}.")


def image_tensors(image, mask, config, device) -> tuple[torch.Tensor, torch.Tensor]:
    """(1, C, S, S) image in [-1, 1] and (1, 1, S, S) bool, True where the model draws (mask ≥ 0.5),
    from an S×S×C uint8 image and an S×S mask at the model's size and channels."""
    size, channels = config.image_size, config.channels
    image, mask = np.asarray(image), np.asarray(mask, dtype=np.float32)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape != (size, size, channels) or image.dtype != np.uint8:
        raise GenStudioError(f"The model inpaints {size}×{size} images with {channels} channel(s) (uint8), "
                             f"got {image.shape} {image.dtype}.")
    if mask.shape != (size, size):
        raise GenStudioError(f"The mask must be {size}×{size} like the image, got {mask.shape}.")
    known = from_uint8(image[None]).to(device)
    unknown = torch.from_numpy(mask >= 0.5)[None, None].to(device)
    return known, unknown


# -- diffusion ---------------------------------------------------------------------------------
def repaint(model, known: torch.Tensor, unknown: torch.Tensor, timesteps: list[int], seeds: list[int],
            sampler: str, eta: float, harmonize: int, full: bool, cond: dict | None, guidance: float,
            uncond: dict | None, preview_every: int = 0, decode=None):
    """RePaint over a ``DiffusionModel`` in the space its network works in (pixels, or latents with a
    ``decode`` for previews). ``known``: (1, C, H, W) original; ``unknown``: (1, 1, H, W) bool;
    ``timesteps`` from ``timestep_sequence``; ``full``: the unknown region starts from pure noise,
    else from the original noised to the first timestep (a partial redraw). Yields Progress per
    network call; returns x0 (N, C, H, W), whose known region is ``known`` itself."""
    gens = image_generators(len(seeds), 0, seeds)
    shape, device = known.shape[1:], known.device

    def noise():
        return seeded_noise(shape, gens).to(device)

    def paste_known(x, t):  # the known region at level t: the original noised afresh (t = -1: itself)
        original = model.diffuse(known, t, noise()) if t >= 0 else known
        return torch.where(unknown, x, original)

    start = noise()
    x = model.diffuse(known, timesteps[0], start)
    if full:
        x = torch.where(unknown, start, x)
    total = len(timesteps) + harmonize * (len(timesteps) - 1)
    clock, calls = EtaClock(0, total), 0
    for i, t in enumerate(timesteps):
        t_prev = timesteps[i + 1] if i + 1 < len(timesteps) else -1
        rounds = harmonize + 1 if t_prev >= 0 else 1  # the last step lands on the image: nothing to harmonise
        for again in range(rounds):
            x_prev, x0 = model.reverse_step(x, t, t_prev, sampler, eta, gens, cond, guidance, uncond)
            x_prev = paste_known(x_prev, t_prev)
            calls += 1
            yield Progress(calls, total, clock.eta(calls), stage="inpaint")
            if again + 1 < rounds:  # one step back up, q(x_t | x_prev), to denoise once more
                x = model.diffuse(x_prev, t, noise(), t_from=t_prev)
        x = x_prev
        if preview_every and (i + 1) % preview_every == 0 and t_prev >= 0:
            guess = torch.where(unknown, x0, known)
            yield Preview(i + 1, image=to_uint8(decode(guess) if decode else guess))
    return x


# -- latent optimisation -----------------------------------------------------------------------
class LatentInpainting:
    """Mixin for a VAE with ``posterior(inputs) -> (mu, logvar)`` and ``decode(z)`` in [-1, 1]:
    ``inpaint`` by optimising z (``optimise_latents``). ``inpaint_posterior`` maps an image in
    [-1, 1] to the posterior; override it where the encoder wants other inputs."""

    def inpaint_posterior(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.posterior(x)

    def inpaint(self, image, mask, n: int = 1, seed: int = 0, steps: int = VAE_STEPS, strength: float = 1.0,
                preview_every: int = 0, seeds: list[int] | None = None):
        """Generator: yields Progress (stage "inpaint") per optimisation step; returns N×S×S×C uint8,
        the decoder's images (known pixels approximate the original; the caller blends)."""
        return optimise_latents(self, image, mask, n, seed, steps, strength, preview_every, seeds)


@torch.inference_mode(False)
@torch.enable_grad()
def optimise_latents(model, image, mask, n: int = 1, seed: int = 0, steps: int = VAE_STEPS, strength: float = 1.0,
                     preview_every: int = 0, seeds: list[int] | None = None):
    """Each candidate starts from a draw of the posterior of the image with the hole filled by its
    own uniform noise (``strength`` < 1: noise blended with the original, and a narrower draw), then
    Adam minimises Σ_known (x̂ - x)² / (2 PIXEL_STD²) + ‖z‖²/2: the MAP latent under Gaussian pixel
    noise, so the prior weighs 2·PIXEL_STD² = 0.02 against the squared error of a pixel value. A
    decaying step size makes a few steps move far and many steps settle."""
    seeds = candidate_seeds(n, seed, seeds)
    check_options(steps, strength)
    device = next(model.parameters()).device
    x, unknown = image_tensors(image, mask, model.config, device)
    gens = image_generators(len(seeds), 0, seeds)
    fill = (seeded_uniform(x.shape[1:], gens) * 2 - 1).to(device)
    with torch.no_grad():
        filled = torch.where(unknown, strength * fill + (1 - strength) * x, x)
        mu, logvar = batch_invariant(lambda v: torch.cat(model.inpaint_posterior(v), 1), filled).chunk(2, dim=1)
        spread = strength * (0.5 * logvar).exp() * seeded_noise(mu.shape[1:], gens).to(device)
    z = (mu + spread).requires_grad_(True)
    optimiser = torch.optim.Adam([z], lr=LATENT_LR)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps, eta_min=LATENT_LR / 10)
    known = (~unknown).float()
    clock = EtaClock(0, steps)
    for step in range(steps):
        out = batch_invariant(model.decode, z)
        error = ((out - x).square() * known).flatten(1).sum(1)  # (N,)
        loss = (error / (2 * PIXEL_STD**2) + z.square().sum(1) / 2).sum()
        (z.grad,) = torch.autograd.grad(loss, [z])
        optimiser.step()
        schedule.step()
        mse = error.mean().item() / max(known.sum().item() * x.shape[1], 1.0)
        yield Progress(step + 1, steps, clock.eta(step + 1), metrics={"known_mse": mse}, stage="inpaint")
        if preview_every and (step + 1) % preview_every == 0 and step + 1 < steps:
            yield Preview(step + 1, image=to_uint8(out.detach()))
    with torch.no_grad():
        return to_uint8(batch_invariant(model.decode, z))
