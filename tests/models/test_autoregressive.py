"""Autoregressive models: causality over (pixel, channel), normalised outputs, sampling, training, anomaly maps."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genstudio.core.events import Preview, Progress, drive
from genstudio.core.registry import get
from genstudio.models.autoregressive import NETWORKS, AutoregressiveConfig, AutoregressiveModel, level_cdf

ARCHS = list(NETWORKS)


def make(arch, **overrides) -> AutoregressiveModel:
    torch.manual_seed(0)
    values = {"image_size": 28, "channels": 1, "width": 12, "layers": 2, **overrides}
    return AutoregressiveModel(AutoregressiveConfig(**values), NETWORKS[arch])


@pytest.mark.parametrize("channels", [1, 3])
@pytest.mark.parametrize("arch", ARCHS)
def test_output_at_a_subpixel_depends_only_on_earlier_subpixels(arch, channels):
    """∂ params(p, c) / ∂ x is zero at every pixel at or after p, except channels < c at p itself, and
    non-zero at the pixel to the left, the pixel above and the earlier channels of p."""
    model = make(arch, channels=channels, width=6 * channels, output="logistic_mixture", mixtures=2)
    S, C = 28, channels
    x = (torch.rand(1, C, S, S) * 2 - 1).requires_grad_()
    params = model.net(x).view(1, C, -1, S, S)
    order = torch.arange(S * S).view(S, S)  # raster index of each pixel
    for r, col in [(0, 0), (0, 5), (0, S - 1), (1, 0), (13, 14), (S - 1, S - 1)]:
        for ch in range(C):
            (grad,) = torch.autograd.grad(params[0, ch, :, r, col].sum(), x, retain_graph=True)
            allowed = (order < order[r, col]).expand(C, S, S).clone()
            allowed[:ch, r, col] = True  # earlier channels of the same pixel
            assert torch.all(grad[0][~allowed] == 0), (r, col, ch)
            if col > 0:
                assert grad[0, :, r, col - 1].abs().sum() > 0
            if r > 0:
                assert grad[0, :, r - 1, col].abs().sum() > 0
            if ch > 0:
                assert grad[0, ch - 1, r, col].abs() > 0


@pytest.mark.parametrize("arch", ARCHS)
def test_the_samplers_windowed_pass_matches_the_full_forward(arch):
    """pixel_params runs the net on a window (and PixelRNN on one row from carried states): same numbers."""
    model = make(arch, channels=3, width=12)
    x = torch.rand(2, 3, 28, 28) * 2 - 1
    with torch.no_grad():
        full, state = model.net(x), None
        for r in range(28):
            for c in range(28):
                assert torch.allclose(model.net.pixel_params(x, r, c, state), full[:, :, r, c], atol=1e-5), (r, c)
            state = model.net.next_state(x, r, state) if model.net.recurrent else None


@pytest.mark.parametrize("output", ["softmax", "logistic_mixture", "bernoulli"])
def test_each_subpixel_distribution_sums_to_one_and_matches_the_sampler(output):
    """Normalised conditionals + causality make the joint normalised: Σ_levels P = 1 at every subpixel,
    and the sampler's CDF is the cumulative sum of the likelihood's probabilities."""
    model = make("pixelcnn", channels=3, width=12, output=output)
    levels = 2 if output == "bernoulli" else 256
    with torch.no_grad():
        params = model.net(torch.rand(1, 3, 28, 28) * 2 - 1) * 3  # sharper than at init
        log_p = torch.stack([model.log_prob(params, torch.full((1, 3, 28, 28), k)) for k in range(levels)])
        assert torch.allclose(log_p.logsumexp(0), torch.zeros(1), atol=1e-4)
        p = params[:, :, 5, 7].view(3, -1)  # three subpixels' parameters
        cdf = level_cdf(p, output, 1.0)  # (3, levels - 1)
        assert torch.allclose(cdf, log_p[:-1, 0, :, 5, 7].T.exp().cumsum(1), atol=1e-4)


@pytest.mark.parametrize("output", ["softmax", "bernoulli", "logistic_mixture"])
def test_low_temperature_sampling_is_greedy(output):
    """At T → 0 each subpixel is the mode of its conditional (for a mixture: the dominant component's
    mean, rounded to a level; a mean within ~T of a bin edge may still land on either side)."""
    model = make("gated-pixelcnn", output=output, mixtures=2).eval()
    images = drive(model.sample(n=1, seed=0, temperature=1e-4))
    x = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        t = model.targets(x)
        params = model.net(model.network_input(t))  # teacher-forced = what the sampler saw, by causality
    if output == "bernoulli":
        greedy = (params > 0).long()
    elif output == "softmax":
        greedy = params.view(1, 1, 256, 28, 28).argmax(2)
    else:
        logits, means, _ = params.view(1, 1, 3, 2, 28, 28).unbind(2)
        mean = means.gather(2, logits.argmax(2, keepdim=True))
        greedy = ((mean + 1) * 127.5).round().clamp(0, 255).long()
        assert (greedy.view_as(t) - t).abs().max() <= 1 and (greedy.view_as(t) == t).float().mean() > 0.95
        return
    assert torch.equal(greedy.view_as(t), t)
    assert np.array_equal(drive(model.sample(n=1, seed=7, temperature=1e-4)), images)  # the seed no longer matters


@pytest.mark.parametrize("arch,channels,size", [("pixelcnn", 1, 28), ("gated-pixelcnn", 3, 32), ("pixelrnn", 3, 28)])
def test_shapes_progress_and_previews(arch, channels, size):
    model = make(arch, channels=channels, image_size=size, width=3 * channels, layers=1).eval()
    events = []
    images = drive(model.sample(n=2, seed=1, preview_every=100), events.append)
    assert images.shape == (2, size, size, channels) and images.dtype == np.uint8
    progress = [e for e in events if isinstance(e, Progress)]
    assert [e.step for e in progress] == list(range(1, size * size + 1)) and progress[-1].total == size * size
    previews = [e for e in events if isinstance(e, Preview)]
    assert len(previews) == (size * size - 1) // 100 and previews[0].image.shape == images.shape
    assert np.all(previews[0].image[:, -1] == 128)  # the last row is still mid-grey
    x = torch.rand(2, channels, size, size) * 2 - 1
    assert model.negative_log_likelihood(x).shape == (2,)
    scores, maps = model.anomaly_map(x)
    assert scores.shape == (2,) and maps.shape == (2, size, size) and torch.all(maps > 0)
    loss, metrics = model.training_loss(x, torch.Generator().manual_seed(0))
    assert {"loss", "nll", "bits_per_dim"} <= set(metrics)
    assert metrics["nll"] == pytest.approx(metrics["loss"] * channels * size * size, rel=1e-4)


def synthetic_digits(n: int, generator: torch.Generator) -> torch.Tensor:
    """Black 28×28 images with one white vertical bar at a random column: (n, 1, 28, 28) in [-1, 1]."""
    x = -torch.ones(n, 1, 28, 28)
    cols = torch.randint(6, 22, (n,), generator=generator)
    for i, c in enumerate(cols):
        x[i, :, 4:24, c : c + 2] = 1
    return x


def train(model, steps=40, lr=1e-2):
    gen = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        loss, _ = model.training_loss(synthetic_digits(8, gen), gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model


@pytest.mark.parametrize("arch", ARCHS)
def test_training_lowers_the_nll(arch):
    model = make(arch, output="bernoulli", width=16)
    data = synthetic_digits(16, torch.Generator().manual_seed(1))
    before = model.negative_log_likelihood(data).mean()
    after = train(model).negative_log_likelihood(data).mean()
    assert after < 0.5 * before


def test_anomaly_map_finds_a_planted_defect():
    model = train(make("pixelcnn", output="bernoulli", width=16))
    clean = synthetic_digits(1, torch.Generator().manual_seed(2))
    defect = clean.clone()
    defect[:, :, 20:26, 2:8] = 1  # a white square where the training images are always black
    scores, maps = model.anomaly_map(torch.cat([clean, defect]))
    assert scores[1] > scores[0]
    inside = maps[1, 20:26, 2:8].mean()
    outside = torch.cat([maps[1, :20].flatten(), maps[1, 26:].flatten()]).mean()
    assert inside > 5 * outside


def test_registered_specs_and_presets():
    for arch in ARCHS:
        spec = get(arch)
        assert spec.sampler_options == ("temperature",) and spec.trainer == "trainers.images"
        small = spec.model_config("small", {"output": "bernoulli", "channels": 1})
        assert small.image_size == 28


@pytest.mark.parametrize("bad", [
    {"output": "gaussian"},
    {"channels": 3, "width": 2},
    {"channels": 2},
    {"image_size": 16},
    {"kernel_size": 4},
    {"hidden_kernel": 1},
    {"layers": 0},
    {"mixtures": 0},
])
def test_bad_configs_raise(bad):
    with pytest.raises(ValueError):
        AutoregressiveConfig(**{"image_size": 28, "channels": 1, **bad})


def test_bad_temperature_raises():
    with pytest.raises(ValueError):
        drive(make("pixelcnn").sample(temperature=0.0))
