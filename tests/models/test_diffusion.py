"""Diffusion process maths: schedules, timestep subsequences, and samplers with an oracle denoiser."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from genstudio.core.events import drive
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
