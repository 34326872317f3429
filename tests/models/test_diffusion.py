"""Diffusion process maths: schedules, timestep subsequences, samplers with an oracle denoiser, and
class conditioning with classifier-free guidance (shared by ddpm and dit)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from genstudio.core.events import drive
from genstudio.models.common import seed_labels
from genstudio.models.diffusion import DDPMConfig, DiffusionModel, alphas_cumprod, timestep_sequence


@pytest.mark.parametrize("schedule", ["cosine", "linear"])
def test_schedule_decreases_from_one_towards_zero(schedule):
    ab = alphas_cumprod(schedule, 1000)
    assert ab.shape == (1000,) and ab[0] > 0.99 and ab[-1] < 0.01
    assert torch.all(ab[1:] < ab[:-1]) and torch.all(ab > 0)


@pytest.mark.parametrize("steps", [1, 10, 25, 50, 1000, 5000])
def test_timestep_sequence(steps):
    ts = timestep_sequence(1000, steps)
    assert ts[0] == 999 and ts == sorted(ts, reverse=True) and len(ts) == min(steps, 1000)
    assert ts[-1] == (0 if steps > 1 else 999)


class OracleNet(nn.Module):
    """The exact network output for data that is a single image ``c``: eps = (x_t - √ᾱ c) / √(1-ᾱ)."""

    def __init__(self, target: torch.Tensor, ab: torch.Tensor, prediction: str):
        super().__init__()
        self.target, self.ab, self.prediction = target, ab, prediction

    def forward(self, x_t, t, labels=None):
        ab = self.ab[t][:, None, None, None]
        eps = (x_t - ab.sqrt() * self.target) / (1 - ab).sqrt()
        return eps if self.prediction == "eps" else ab.sqrt() * eps - (1 - ab).sqrt() * self.target


@pytest.mark.parametrize("prediction", ["eps", "v"])
@pytest.mark.parametrize("sampler,eta", [("ddim", 0.0), ("ddim", 1.0), ("ddpm", 0.0)])
def test_samplers_land_on_the_data_with_an_oracle_denoiser(prediction, sampler, eta):
    cfg = DDPMConfig(base_width=16, channel_mults=(1,), res_blocks=1, attention_resolutions=(), attention_heads=1,
                     prediction=prediction)
    model = DiffusionModel(cfg)
    target = torch.linspace(-0.9, 0.9, 3 * 32 * 32).reshape(1, 3, 32, 32)
    model.net = OracleNet(target, alphas_cumprod(cfg.schedule, cfg.timesteps).float(), prediction)
    images = drive(model.sample(n=2, seed=0, steps=20, sampler=sampler, eta=eta))
    expected = ((target.clamp(-1, 1) + 1) * 127.5).round().permute(0, 2, 3, 1).numpy()
    assert abs(images.astype(float) - expected).max() <= 1


@pytest.mark.parametrize("size,mults", [(32, (1, 2)), (64, (1, 2, 2)), (128, (1, 1, 2, 2))])
def test_unet_handles_every_supported_size(size, mults):
    cfg = DDPMConfig(image_size=size, base_width=8, channel_mults=mults, res_blocks=1,
                     attention_resolutions=(size // 4,), attention_heads=2)
    model = DiffusionModel(cfg)
    x = torch.randn(2, 3, size, size)
    assert model.net(x, torch.tensor([0, 999])).shape == x.shape
    loss, _ = model.training_loss(x.clamp(-1, 1), torch.Generator().manual_seed(0))
    loss.backward()


@pytest.mark.parametrize("bad", [{"image_size": 16}, {"image_size": 256}, {"prediction": "x0"},
                                 {"schedule": "sigmoid"}, {"image_size": 36, "channel_mults": (1, 2, 2, 2)}])
def test_invalid_configs_are_refused(bad):
    with pytest.raises(ValueError):
        DDPMConfig(**bad)


# -- class conditioning and classifier-free guidance ---------------------------------------------
class LabelNet(nn.Module):
    """A toy denoiser whose output depends on the label in a known way, and that records its labels."""

    def __init__(self):
        super().__init__()
        self.seen: list[torch.Tensor] = []

    def forward(self, x_t, t, labels=None):
        self.seen.append(labels)
        scale = 1.0 if labels is None else (labels.float() + 1)[:, None, None, None]
        return x_t * scale + t.float()[:, None, None, None] / 1000


def conditional_model(arch: str = "ddpm", **overrides) -> DiffusionModel:
    from genstudio.core.registry import get

    spec = get(arch)
    torch.manual_seed(0)
    model = spec.build(spec.model_config("tiny", {"classes": ("a", "b"), **overrides})).eval()
    with torch.no_grad():  # off the zero-initialised output, so labels and seeds show
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model


def toy_model(**overrides) -> DiffusionModel:
    cfg = DDPMConfig(base_width=8, channel_mults=(1,), res_blocks=1, attention_resolutions=(), attention_heads=1,
                     classes=("a", "b", "c"), **overrides)
    return DiffusionModel(cfg, net=LabelNet())


def test_guidance_zero_is_the_null_class_and_one_the_condition():
    model = toy_model()
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([10, 500])
    cond = {"labels": torch.tensor([0, 1])}
    null = model.net(x, t, labels=torch.tensor([3, 3]))  # the last embedding row: "no class"
    assert torch.equal(model.network_output(x, t, cond, guidance=0.0), null)
    assert torch.equal(model.network_output(x, t, cond, guidance=1.0), model.net(x, t, **cond))
    assert torch.equal(model.network_output(x, t, None, guidance=3.0), model.net(x, t))  # unconditional


@pytest.mark.parametrize("scale", [0.5, 2.0, 4.0])
def test_guidance_extrapolates_from_the_unconditional_towards_the_conditional(scale):
    model = toy_model()
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([10, 500])
    cond = {"labels": torch.tensor([0, 2])}
    u, c = model.net(x, t, labels=torch.tensor([3, 3])), model.net(x, t, **cond)
    assert torch.allclose(model.network_output(x, t, cond, guidance=scale), u + scale * (c - u), atol=1e-6)
    # a negative condition replaces the null one
    neg = {"labels": torch.tensor([1, 1])}
    n = model.net(x, t, **neg)
    assert torch.allclose(model.network_output(x, t, cond, guidance=scale, uncond=neg), n + scale * (c - n),
                          atol=1e-6)


@pytest.mark.parametrize("arch", ["ddpm", "dit"])
def test_guidance_with_real_networks_matches_separate_calls(arch):
    model = conditional_model(arch)
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([10, 500])
    cond = {"labels": torch.tensor([0, 1])}
    with torch.no_grad():
        u, c = model.net(x, t, labels=torch.tensor([2, 2])), model.net(x, t, **cond)
        assert not torch.allclose(u, c)
        assert torch.equal(model.network_output(x, t, cond, guidance=0.0), u)
        assert torch.allclose(model.network_output(x, t, cond, guidance=3.0), u + 3 * (c - u), atol=1e-4)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.5])
def test_label_dropout_replaces_that_share_of_labels_by_the_null_class(rate):
    model = toy_model(label_dropout=rate)
    labels = torch.arange(4000) % 3
    model.training_loss(torch.zeros(4000, 3, 32, 32), torch.Generator().manual_seed(0), labels=labels)
    seen = model.net.seen[-1]
    dropped = seen == 3
    assert abs(dropped.float().mean().item() - rate) < 0.025
    assert torch.equal(seen[~dropped], labels[~dropped])  # the rest keep their class
    model.training_loss(torch.zeros(2, 3, 32, 32), torch.Generator().manual_seed(0))
    assert model.net.seen[-1] is None  # unlabelled data trains unconditionally


@pytest.mark.parametrize("arch", ["ddpm", "dit"])
def test_class_conditional_sampling(arch):
    model = conditional_model(arch)
    opts = {"steps": 3, "sampler": "ddim"}
    zero = drive(model.sample(n=2, seed=7, label=0, **opts))
    one = drive(model.sample(n=2, seed=7, label=1, **opts))
    assert not np.array_equal(zero, one)
    assert np.array_equal(drive(model.sample(n=2, seed=7, label=0, **opts)), zero)  # same seed, same images
    guided = drive(model.sample(n=2, seed=7, label=0, guidance=3.0, **opts))
    assert not np.array_equal(guided, zero)
    # label -1: each image's class comes from its own seed, so image i of a grid is that image alone
    grid = drive(model.sample(n=4, seed=7, label=-1, **opts))
    for i in range(4):
        alone = drive(model.sample(n=1, seed=7 + i, label=-1, **opts))[0]
        assert np.array_equal(grid[i], alone)
        drawn = int(seed_labels([7 + i], -1, 2)[0])
        assert np.array_equal(drive(model.sample(n=1, seed=7 + i, label=drawn, **opts))[0], alone)
    with pytest.raises(ValueError, match="does not exist"):
        drive(model.sample(n=1, label=2, **opts))


@pytest.mark.parametrize("arch", ["ddpm", "dit"])
def test_unconditional_model_refuses_a_class(arch):
    from genstudio.core.registry import get

    spec = get(arch)
    model = spec.build(spec.model_config("tiny")).eval()
    assert model.num_classes == 0
    with pytest.raises(ValueError, match="not trained with classes"):
        drive(model.sample(n=1, steps=2, label=0))
    assert drive(model.sample(n=1, steps=2, label=-1)).shape == (1, 32, 32, 3)
