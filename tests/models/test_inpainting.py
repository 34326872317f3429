"""Model-level inpainting: RePaint for the diffusion models (pixel and latent), latent optimisation for
the VAEs; shapes, progress, batch invariance, exactly kept known pixels, strength and harmonisation."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from genstudio.core.errors import GenStudioError
from genstudio.core.events import Preview, Progress, drive
from genstudio.core.registry import Capability, get, specs
from genstudio.models import inpainting
from genstudio.models.autoencoder import VAE, VAEConfig
from genstudio.models.common import to_uint8
from genstudio.models.diffusion import timestep_sequence
from tests.models.test_autoencoder import TINY, blobs, train

INPAINT_SPECS = [s for s in specs() if s.can(Capability.INPAINT)]
PIXEL_DIFFUSION = ("ddpm", "dit")
INTERFACE = ("image", "mask", "n", "seed", "steps", "strength", "preview_every", "seeds")


def tiny_model(arch: str, **overrides):
    """The tiny preset with weights perturbed from their initialisation (zero-initialised output layers
    would make every prediction the same and hide what seeds and masks do)."""
    spec = get(arch)
    torch.manual_seed(0)
    model = spec.build(spec.model_config("tiny", overrides))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        if hasattr(model, "latent_scale"):
            model.latent_scale.fill_(0.7)
    return model.eval()


def picture(size: int, channels: int) -> np.ndarray:
    """S×S×C uint8: two gradients and a bright disc, so every region has its own content."""
    yy, xx = np.mgrid[0:size, 0:size]
    base = np.stack([xx * 255 / size, yy * 255 / size, np.full((size, size), 128.0)], -1)[..., :channels]
    disc = ((yy - size / 2) ** 2 + (xx - size / 2) ** 2 < (size / 4) ** 2)[..., None]
    return np.where(disc, 230.0, base).astype(np.uint8)


def square_mask(size: int, lo: int = 8, hi: int = 20) -> np.ndarray:
    mask = np.zeros((size, size), np.float32)
    mask[lo:hi, lo:hi] = 1
    return mask


def setup(arch: str, **overrides):
    model = tiny_model(arch, **overrides)
    cfg = model.config
    return model, picture(cfg.image_size, cfg.channels), square_mask(cfg.image_size)


def hole_change(out: np.ndarray, image: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute change inside the mask, over all candidates, in grey levels."""
    return float(np.abs(out.astype(float) - image)[:, mask >= 0.5].mean())


# -- every inpainting architecture -----------------------------------------------------------------
@pytest.mark.parametrize("spec", INPAINT_SPECS, ids=lambda s: s.name)
def test_candidates_have_the_model_shape_progress_and_are_each_their_own_seed(spec):
    model, image, mask = setup(spec.name)
    assert set(INTERFACE) <= set(inspect.signature(model.inpaint).parameters)
    events = []
    out = drive(model.inpaint(image, mask, n=3, seed=5, steps=4, preview_every=2), events.append)
    assert out.shape == (3, *image.shape) and out.dtype == np.uint8
    progress = [e for e in events if isinstance(e, Progress)]
    assert [e.step for e in progress] == list(range(1, progress[-1].total + 1))
    assert all(e.stage == "inpaint" for e in progress)
    previews = [e for e in events if isinstance(e, Preview)]
    assert previews and all(p.image.shape == out.shape for p in previews)
    assert not np.array_equal(out[0], out[1])
    alone = drive(model.inpaint(image, mask, n=1, seeds=[6], steps=4))
    assert np.array_equal(alone[0], out[1])


def test_bad_inputs_are_refused_with_a_sentence():
    model, image, mask = setup("ddpm")
    bad_calls = [
        dict(image=image[:16], mask=mask), dict(image=image.astype(np.float32), mask=mask),
        dict(image=image, mask=mask[:16]), dict(image=image, mask=mask, strength=0.0),
        dict(image=image, mask=mask, strength=1.5), dict(image=image, mask=mask, harmonize=-1),
        dict(image=image, mask=mask, steps=0), dict(image=image, mask=mask, seeds=[]),
    ]
    for kwargs in bad_calls:
        with pytest.raises(GenStudioError):
            drive(model.inpaint(**kwargs))
    vae, vae_image, vae_mask = setup("vae")
    with pytest.raises(GenStudioError):
        drive(vae.inpaint(vae_image, vae_mask, strength=2.0))


# -- RePaint in pixel space ------------------------------------------------------------------------
@pytest.mark.parametrize("arch", PIXEL_DIFFUSION)
@pytest.mark.parametrize("sampler,eta", [("ddim", 0.0), ("ddim", 1.0), ("ddpm", 0.0)])
def test_pixel_diffusion_keeps_every_known_pixel_exactly(arch, sampler, eta):
    model, image, mask = setup(arch)
    mask[0, 0] = 0.4  # soft values below one half count as known
    out = drive(model.inpaint(image, mask, n=2, seed=0, steps=5, sampler=sampler, eta=eta, harmonize=1))
    known = mask < 0.5
    assert np.array_equal(out[:, known], np.broadcast_to(image[known], out[:, known].shape))
    assert hole_change(out, image, mask) > 10  # the hole itself was redrawn


def test_harmonize_resamples_each_step_but_the_last():
    model, image, mask = setup("ddpm")
    calls = []
    model.net.register_forward_hook(lambda *args: calls.append(1))
    results = {}
    for harmonize in (0, 3):
        calls.clear()
        events = []
        results[harmonize] = drive(model.inpaint(image, mask, n=2, steps=6, harmonize=harmonize), events.append)
        total = 6 + harmonize * 5
        assert len(calls) == total and events[-1].total == total
    assert not np.array_equal(results[0], results[3])
    known = mask < 0.5
    assert np.array_equal(results[0][:, known], results[3][:, known])


@pytest.mark.parametrize("arch", PIXEL_DIFFUSION)
def test_a_partial_redraw_changes_the_hole_less_in_fewer_steps(arch):
    model, image, mask = setup(arch)
    events = []
    partial = drive(model.inpaint(image, mask, n=4, steps=10, strength=0.3, harmonize=0), events.append)
    full = drive(model.inpaint(image, mask, n=4, steps=10, strength=1.0, harmonize=0))
    assert events[-1].total == 3
    assert hole_change(partial, image, mask) < 0.8 * hole_change(full, image, mask)


def test_partial_timesteps_start_that_far_into_the_process():
    assert timestep_sequence(1000, 25, 1.0) == timestep_sequence(1000, 25)
    ts = timestep_sequence(1000, 20, 0.5)
    assert ts[0] == 500 and ts[-1] == 0 and len(ts) == 10
    assert timestep_sequence(1000, 3, 0.01) == [10]


def test_renoising_from_a_noisy_level_is_the_forward_process_from_the_image():
    model = tiny_model("ddpm")
    x = torch.full((20000, 1, 1, 1), 0.6)
    g = torch.Generator().manual_seed(0)
    once = model.diffuse(x, 300, torch.randn(x.shape, generator=g))
    twice = model.diffuse(once, 700, torch.randn(x.shape, generator=g), t_from=300)
    ab = model.ab[700]
    assert abs(twice.mean() - ab.sqrt() * 0.6) < 0.02
    assert abs(twice.std() - (1 - ab).sqrt()) < 0.02


def test_class_labels_steer_a_class_conditional_model_and_bad_ones_are_refused():
    model, image, mask = setup("ddpm", classes=("cats", "dogs"))
    first = drive(model.inpaint(image, mask, n=2, steps=3, label=0))
    second = drive(model.inpaint(image, mask, n=2, steps=3, label=1))
    assert not np.array_equal(first, second)
    with pytest.raises(ValueError):
        drive(model.inpaint(image, mask, steps=3, label=2))
    plain, _, _ = setup("ddpm")
    with pytest.raises(ValueError):
        drive(plain.inpaint(image, mask, steps=3, label=0))


# -- RePaint in latent space -----------------------------------------------------------------------
def record_repaint(monkeypatch) -> dict:
    """What the latent model hands to ``repaint`` and gets back (latents never leave the model)."""
    seen = {}
    repaint = inpainting.repaint

    def spy(model, known, unknown, *args, **kwargs):
        z = yield from repaint(model, known, unknown, *args, **kwargs)
        seen.update(known=known, unknown=unknown, z=z)
        return z

    monkeypatch.setattr(inpainting, "repaint", spy)
    return seen


def test_latent_diffusion_repaints_the_latent_cells_the_mask_touches(monkeypatch):
    model, image, _ = setup("latent-diffusion", vocab=("red", "blue", "circle"))
    seen = record_repaint(monkeypatch)
    mask = np.zeros((32, 32), np.float32)
    mask[9, 9] = 1.0  # one pixel: its latent cell (a 2×2 block at this preset) is redrawn
    mask[20:24, 20:24] = 1.0  # two by two latent cells
    out = drive(model.inpaint(image, mask, n=2, steps=3, prompt="red circle", negative_prompt="blue"))
    assert out.shape == (2, 32, 32, 3)
    expected = torch.zeros(16, 16, dtype=torch.bool)
    expected[4, 4] = True
    expected[10:12, 10:12] = True
    assert torch.equal(seen["unknown"][0, 0], expected)
    with torch.no_grad():
        latents = model.autoencoder.posterior(torch.from_numpy(image).permute(2, 0, 1)[None].float() / 127.5 - 1)[0]
    assert torch.allclose(seen["known"], latents * 0.7, atol=1e-6)
    z, keep = seen["z"], ~expected
    assert torch.equal(z[:, :, keep], seen["known"].expand_as(z)[:, :, keep])
    assert not torch.equal(z[0, :, ~keep], z[1, :, ~keep])


def test_latent_diffusion_partial_redraw_moves_the_latents_less(monkeypatch):
    model, image, mask = setup("latent-diffusion")
    seen = record_repaint(monkeypatch)
    change = {}
    for strength in (0.3, 1.0):
        drive(model.inpaint(image, mask, n=4, steps=10, strength=strength, harmonize=0))
        change[strength] = (seen["z"] - seen["known"]).abs()[:, :, seen["unknown"][0, 0]].mean()
    assert change[0.3] < 0.6 * change[1.0]


# -- latent optimisation ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def trained_vae():
    torch.manual_seed(0)
    model = VAE(VAEConfig(**TINY, likelihood="logistic"))
    train(model, blobs(64, seed=0), steps=60)
    return model.eval()


def test_latent_optimisation_lowers_the_known_pixel_error(trained_vae):
    image = to_uint8(blobs(1, seed=5))[0]
    mask = square_mask(28, 6, 18)
    known = mask < 0.5
    errors = {}
    for steps in (1, 40):
        events = []
        out = drive(trained_vae.inpaint(image, mask, n=3, seed=0, steps=steps), events.append)
        errors[steps] = ((out.astype(float) - image) ** 2)[:, known].reshape(3, -1).mean(1)
        mse = [e.metrics["known_mse"] for e in events]
        assert len(mse) == steps and mse[-1] <= mse[0]
    assert np.all(errors[40] < 0.7 * errors[1])


def test_latent_optimisation_partial_redraw_stays_nearer_the_original(trained_vae):
    image = to_uint8(blobs(1, seed=5))[0]
    mask = square_mask(28, 6, 18)
    partial = drive(trained_vae.inpaint(image, mask, n=4, steps=30, strength=0.1))
    full = drive(trained_vae.inpaint(image, mask, n=4, steps=30, strength=1.0))
    assert hole_change(partial, image, mask) < hole_change(full, image, mask)


def test_latent_optimisation_works_under_no_grad_and_leaves_the_weights_alone(trained_vae):
    image = to_uint8(blobs(1, seed=5))[0]
    before = [p.detach().clone() for p in trained_vae.parameters()]
    with torch.no_grad():
        out = drive(trained_vae.inpaint(image, square_mask(28, 6, 18), n=2, steps=3))
    assert out.shape == (2, 28, 28, 1) and torch.is_grad_enabled()
    assert all(torch.equal(a, b) and b.grad is None for a, b in zip(before, trained_vae.parameters()))
