"""Generation and the latent tools on likelihood and latent models: temperature, grayscale output,
per-sample likelihoods, interpolation, traversal and denoising."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genstudio.core.errors import GenStudioError
from genstudio.core.events import drive
from genstudio.core.registry import get
from genstudio.tasks.generate import GenerateRequest, generate
from genstudio.tasks.latent import Endpoint, blend, denoise, interpolate, traverse
from tests.util import save_tiny_model

CPU = torch.device("cpu")


def test_a_grayscale_vae_generates_rgb_images_with_their_likelihood():
    name = save_tiny_model("vae", "v", channels=1)
    result = drive(generate(GenerateRequest(name, n=3, seed=2, temperature=0.5), CPU))
    assert result.images.shape[0] == 3 and result.images.shape[-1] == 3
    assert np.array_equal(result.images[..., 0], result.images[..., 2])  # grey, shown as RGB
    assert len(result.likelihoods) == 3 and result.likelihoods[0]["likelihood_kind"] == "iwae"
    assert "bits/dim" in result.caption(0) and result.caption(0).startswith("≈")
    params = result.image_params(1)
    assert params["temperature"] == 0.5 and params["seed"] == 3 and "bits_per_dim" in params
    assert "steps" not in result.params and "sampler" not in result.params  # a VAE has neither


def test_temperature_reaches_the_sampler_and_exact_likelihoods_are_marked_exact():
    name = save_tiny_model("realnvp", "flow")
    cold = drive(generate(GenerateRequest(name, n=2, seed=1, temperature=0.0), CPU))
    warm = drive(generate(GenerateRequest(name, n=2, seed=1, temperature=1.0), CPU))
    assert np.array_equal(cold.images[0], cold.images[1])  # T = 0: every seed decodes z = 0
    assert not np.array_equal(warm.images[0], warm.images[1])
    assert cold.likelihoods[0]["likelihood_kind"] == "exact" and not cold.caption(0).startswith("≈")


def test_blend_ends_on_its_endpoints_and_keeps_the_norm_between():
    za, zb = torch.randn(1, 64), torch.randn(1, 64)
    path = blend(za, zb, [0.0, 0.5, 1.0])
    assert torch.allclose(path[0], za[0], atol=1e-5) and torch.allclose(path[2], zb[0], atol=1e-5)
    mid = (za.norm() + zb.norm()) / 2
    assert abs(float(path[1].norm()) - float(mid)) < 1e-4  # a straight line would shrink it


@pytest.mark.parametrize("arch", ["vae", "glow"])
def test_interpolation_from_seeds_and_images_starts_and_ends_on_them(arch):
    name = save_tiny_model(arch, arch)
    seeds = interpolate(name, Endpoint(seed=1), Endpoint(seed=2), [0.0, 0.5, 1.0], CPU)
    size = get(arch).model_config("tiny").image_size
    assert seeds.shape == (3, size, size, 3)
    assert not np.array_equal(seeds[0], seeds[2])
    rng = np.random.default_rng(0)
    photo = rng.integers(0, 256, (50, 70, 3), dtype=np.uint8)  # any size: centre-cropped to the model
    mixed = interpolate(name, Endpoint(image=photo), Endpoint(seed=2), [0.0, 1.0], CPU)
    assert np.array_equal(mixed[1], seeds[2])


def test_traversal_has_one_row_per_latent_dimension():
    name = save_tiny_model("beta-vae", "b")
    result = traverse(name, seed=0, columns=5, device=CPU)
    latent = get("beta-vae").model_config("tiny").latent_dim
    assert result.dims == list(range(latent)) and result.images.shape[0] == latent * 5
    assert len(result.change) == latent and max(result.change) > 0
    assert result.row(1).shape[0] == 5


def test_denoise_works_at_the_models_resolution_and_refuses_models_that_cannot():
    name = save_tiny_model("dae", "d")
    before, after = denoise(name, np.full((90, 60, 3), 200, np.uint8), CPU)
    size = get("dae").model_config("tiny").image_size
    assert before.shape == after.shape == (size, size, 3)
    with pytest.raises(GenStudioError, match="cannot denoise"):
        denoise(save_tiny_model("ae", "plain"), before, CPU)


def test_gibbs_and_pixel_samplers_show_their_progress_as_they_go():
    from genstudio.core.events import Preview

    events = []
    drive(generate(GenerateRequest(save_tiny_model("rbm", "r"), n=2, steps=80), CPU), events.append)
    previews = [e for e in events if isinstance(e, Preview)]
    assert len(previews) >= 30 and previews[0].image.shape[0] == 2  # the chain, step by step
    events = []
    drive(generate(GenerateRequest(save_tiny_model("pixelcnn", "p"), n=1), CPU), events.append)
    size = get("pixelcnn").model_config("tiny").image_size
    assert len([e for e in events if isinstance(e, Preview)]) >= size - 1  # a preview per row filled in
