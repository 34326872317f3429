"""Energy-based models: RBM free energy and CD/PCD training, Gibbs sampling events, deep-EBM Langevin
dynamics and replay buffer, shapes, anomaly maps and config checks."""

from __future__ import annotations

import copy
import itertools

import numpy as np
import pytest
import torch

from genstudio.core.events import Preview, Progress, drive
from genstudio.models.common import image_generators, seeded_uniform
from genstudio.models.ebm import RBM, BernoulliRBM, DeepEBM, EBMConfig, RBMConfig
from trainers.loop import update_ema


def tiny_rbm(size=28, channels=1, **kw) -> RBM:
    return RBM(RBMConfig(image_size=size, channels=channels, **{"hidden": 16, "chains": 8, **kw}))


def tiny_ebm(size=28, channels=1, **kw) -> DeepEBM:
    return DeepEBM(EBMConfig(image_size=size, channels=channels,
                             **{"widths": (8, 16), "langevin_steps": 3, "replay_size": 32, **kw}))


def train(model, data: torch.Tensor, steps: int, optimizer) -> dict:
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        loss, metrics = model.training_loss(data, gen)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return metrics


def toy_patterns() -> torch.Tensor:
    """Four binary 28 px images in {-1, 1}: two stripe directions, a square, a checkerboard."""
    ii, jj = torch.meshgrid(torch.arange(28), torch.arange(28), indexing="ij")
    masks = [(ii // 4) % 2 == 0, (jj // 4) % 2 == 0, (ii - 14).abs().maximum((jj - 14).abs()) < 8,
             ((ii // 7) + (jj // 7)) % 2 == 0]
    return torch.stack([m.float() * 2 - 1 for m in masks])[:, None]  # (4, 1, 28, 28)


# -- RBM ---------------------------------------------------------------------------------------
def test_rbm_free_energy_matches_brute_force_sum_over_hidden_states():
    torch.manual_seed(0)
    rbm = BernoulliRBM(4, 3, init_std=1.0)
    with torch.no_grad():
        rbm.b.normal_()
        rbm.c.normal_()
    v = torch.tensor(list(itertools.product([0.0, 1.0], repeat=4)))  # all 16 visible states
    h = torch.tensor(list(itertools.product([0.0, 1.0], repeat=3)))  # all 8 hidden states
    for T in (1.0, 2.5):
        energy = -(v @ rbm.b)[:, None] - (h @ rbm.c)[None] - v @ rbm.W @ h.t()  # E(v, h): (16, 8)
        expected = -torch.logsumexp(-energy / T, dim=1)
        assert torch.allclose(rbm.free_energy(v, T), expected, atol=1e-5)


@pytest.mark.parametrize("method", ["cd", "pcd"])
def test_contrastive_divergence_lowers_the_free_energy_of_the_training_data(method):
    torch.manual_seed(0)
    model = tiny_rbm(hidden=32, method=method, k=1, chains=16)
    model.visible_bias_set.fill_(True)  # the CD gradient alone, without the first batch's bias set-up
    data = toy_patterns()
    noise = torch.rand(16, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        before, noise_before = model.free_energy(data).mean(), model.free_energy(noise).mean()
    metrics = train(model, data, 20, torch.optim.SGD(model.parameters(), lr=0.05))
    with torch.no_grad():
        after, noise_after = model.free_energy(data).mean(), model.free_energy(noise).mean()
    assert after < before - 10
    assert after - noise_after < before - noise_before  # lower relative to random images too
    assert set(metrics) == {"loss", "free_energy", "recon_error"}
    assert all(np.isfinite(v) for v in metrics.values())


def test_first_batch_sets_the_visible_biases_once():
    model = tiny_rbm()
    data = toy_patterns()
    model.training_loss(data, torch.Generator().manual_seed(0))
    p = ((data + 1) / 2).flatten(1).mean(0).clamp(0.01, 0.99)
    assert torch.allclose(model.rbm.b, torch.log(p / (1 - p))) and bool(model.visible_bias_set)
    assert "visible_bias_set" in model.state_dict()  # so a resumed run does not set them again
    model.training_loss(-data, torch.Generator().manual_seed(0))
    assert torch.allclose(model.rbm.b, torch.log(p / (1 - p)))


def test_pcd_chains_persist_and_cd_keeps_none():
    torch.manual_seed(0)
    model = tiny_rbm(method="pcd", chains=8)
    start = model.chains.clone()
    assert start.shape == (8, 784) and "chains" not in model.state_dict()
    model.training_loss(toy_patterns(), torch.Generator().manual_seed(0))
    assert not torch.equal(model.chains, start) and set(model.chains.unique().tolist()) <= {0.0, 1.0}
    assert tiny_rbm(method="cd").chains.numel() == 0
    ema = copy.deepcopy(model).requires_grad_(False)  # the loop's EMA copy takes the chains harmlessly
    model.training_loss(toy_patterns(), torch.Generator().manual_seed(1))
    update_ema(ema, model, 0.9)
    assert torch.equal(ema.chains, model.chains)


def test_gibbs_sampling_yields_a_progress_per_sweep_and_previews():
    model = tiny_rbm().eval()
    events = []
    images = drive(model.sample(n=3, seed=5, preview_every=2, steps=5, temperature=0.8), events.append)
    assert [e.step for e in events if isinstance(e, Progress)] == [1, 2, 3, 4, 5]
    assert all(e.total == 5 and e.stage == "sample" for e in events if isinstance(e, Progress))
    previews = [e for e in events if isinstance(e, Preview)]
    assert [p.step for p in previews] == [2, 4]
    assert all(p.image.shape == (3, 28, 28, 1) and p.image.dtype == np.uint8 for p in previews)
    assert images.shape == (3, 28, 28, 1) and images.dtype == np.uint8
    with pytest.raises(ValueError):
        drive(model.sample(n=1, steps=0))
    with pytest.raises(ValueError):
        drive(model.sample(n=1, temperature=0.0))


def test_rbm_anomaly_map_localises_a_planted_defect():
    torch.manual_seed(0)
    model = tiny_rbm()
    data = torch.full((8, 1, 28, 28), -1.0)
    data[:4, :, 6:22, 6:22] = 1.0  # half the set: a centred white square on black, half: black
    train(model, data, 40, torch.optim.Adam(model.parameters(), lr=0.05))
    normal = data[:1].clone()
    defect = normal.clone()
    defect[..., 0:5, 23:28] = 1.0  # a white blob in the top-right corner, where data is always black
    with torch.no_grad():
        scores, maps = model.anomaly_map(torch.cat([normal, defect]))
    assert scores[1] > scores[0]
    assert maps[1, 0:5, 23:28].mean() > 5 * maps[1].mean() / 2
    row, col = divmod(int(maps[1].argmax()), 28)
    assert row < 5 and col >= 23


# -- deep EBM ----------------------------------------------------------------------------------
def test_langevin_steps_lower_the_energy():
    torch.manual_seed(0)
    model = tiny_ebm().eval()
    with torch.no_grad():  # a fixed network with energy gradients big enough to move pixels
        model.net.head.weight.mul_(100)
    x0 = seeded_uniform((1, 28, 28), image_generators(6, 0, None)) * 2 - 1  # sample()'s starting noise
    with torch.no_grad():
        e0 = model.energy(x0)
        x = x0
        for _ in range(10):  # noise-free: plain projected gradient descent on E
            x = model.langevin_step(x, torch.randn_like(x), temperature=0.0)
        assert torch.all(model.energy(x) < e0)
    images = drive(model.sample(n=6, seed=0, steps=20, temperature=1.0))  # noise_std 0.01: small
    x1 = torch.from_numpy(images).permute(0, 3, 1, 2).float() / 127.5 - 1
    with torch.no_grad():
        assert torch.all(model.energy(x1) < e0) and model.energy(x1).mean() < e0.mean() - 0.01


class Quadratic(torch.nn.Module):
    """E(x) = ½‖x - c‖², whose gradient x - c points away from the known minimum c."""

    def __init__(self, c: torch.Tensor):
        super().__init__()
        self.c = c

    def forward(self, x):
        return 0.5 * (x - self.c).pow(2).sum((1, 2, 3))


def test_langevin_descends_a_known_quadratic_energy():
    model = tiny_ebm(step_size=0.5, noise_std=0.0)
    target = torch.full((1, 1, 28, 28), 0.3)
    model.net = Quadratic(target)
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    for _ in range(60):
        x = model.langevin_step(x, torch.zeros_like(x))
    assert torch.allclose(x, target.expand_as(x), atol=1e-3)


def test_replay_buffer_is_drawn_from_refreshed_and_written_back():
    def marked(model):  # Langevin replaced by halving, so a chain that came from the buffer is recognisable
        model.langevin_step = lambda x, eps, temperature=1.0: x * 0.5
        return model

    torch.manual_seed(0)
    data = torch.zeros(4, 1, 28, 28)
    model = marked(tiny_ebm(replay_size=10, reinit=0.0, langevin_steps=1))
    before = model.replay.clone()
    assert "replay" not in model.state_dict() and before.abs().max() <= 1
    model.training_loss(data, torch.Generator().manual_seed(0))
    changed = (model.replay != before).flatten(1).any(1)
    assert changed.sum() == 4  # one buffer slot per chain, written back
    assert torch.equal(model.replay[changed], before[changed] * 0.5)  # each chain continued its slot

    model = marked(tiny_ebm(replay_size=10, reinit=1.0, langevin_steps=1))
    before = model.replay.clone()
    model.training_loss(data, torch.Generator().manual_seed(0))
    changed = (model.replay != before).flatten(1).any(1)
    assert changed.sum() == 4 and not torch.allclose(model.replay[changed], before[changed] * 0.5)

    model = marked(tiny_ebm(replay_size=400, reinit=0.5, langevin_steps=1))
    before = model.replay.clone()
    model.training_loss(torch.zeros(200, 1, 28, 28), torch.Generator().manual_seed(0))
    changed = (model.replay != before).flatten(1).any(1)
    from_buffer = (model.replay[changed] == before[changed] * 0.5).flatten(1).all(1)
    assert changed.sum() == 200 and 0.35 < from_buffer.float().mean() < 0.65


def test_ebm_metrics_ema_copy_and_inference_mode_scoring():
    torch.manual_seed(0)
    model = tiny_ebm(spectral_norm=True, activation="leaky_relu")
    ema = copy.deepcopy(model).eval().requires_grad_(False)
    loss, metrics = model.training_loss(torch.rand(4, 1, 28, 28) * 2 - 1, torch.Generator().manual_seed(0))
    loss.backward()
    assert set(metrics) == {"loss", "energy_data", "energy_sample"} and torch.isfinite(loss)
    update_ema(ema, model, 0.9)
    assert torch.equal(ema.replay, model.replay)
    with torch.inference_mode():  # the gradient map still works when the caller disabled autograd
        scores, maps = ema.anomaly_map(torch.zeros(2, 1, 28, 28))
    assert scores.shape == (2,) and maps.shape == (2, 28, 28) and torch.all(torch.isfinite(maps))
    assert all(p.grad is None for p in ema.parameters())


def test_ebm_anomaly_map_localises_a_planted_defect():
    torch.manual_seed(0)
    model = tiny_ebm(langevin_steps=5, replay_size=64)
    data = (0.05 * torch.randn(8, 1, 28, 28)).clamp(-1, 1)  # flat mid-grey images
    train(model, data, 40, torch.optim.Adam(model.parameters(), lr=1e-3))
    normal = torch.zeros(1, 1, 28, 28)
    defect = normal.clone()
    defect[..., 2:8, 18:24] = 1.0
    scores, maps = model.anomaly_map(torch.cat([normal, defect]))
    assert scores[1] > scores[0]
    row, col = divmod(int(maps[1].argmax()), 28)
    assert 1 <= row <= 8 and 17 <= col <= 24


# -- both --------------------------------------------------------------------------------------
@pytest.mark.parametrize("build", [tiny_rbm, tiny_ebm], ids=["rbm", "ebm"])
@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (64, 3)])
def test_shapes(build, size, channels):
    torch.manual_seed(0)
    model = build(size, channels)
    x = torch.rand(3, channels, size, size) * 2 - 1
    loss, metrics = model.training_loss(x, torch.Generator().manual_seed(0))
    loss.backward()
    assert torch.isfinite(loss) and all(np.isfinite(v) for v in metrics.values())
    model.eval()
    images = drive(model.sample(n=2, seed=1, steps=2))
    assert images.shape == (2, size, size, channels) and images.dtype == np.uint8
    with torch.no_grad():
        scores, maps = model.anomaly_map(x)
    assert scores.shape == (3,) and maps.shape == (3, size, size)
    assert torch.all(torch.isfinite(scores)) and torch.all(torch.isfinite(maps)) and torch.all(maps >= 0)
    energy = model.free_energy(x) if isinstance(model, RBM) else model.energy(x)
    assert energy.shape == (3,)


@pytest.mark.parametrize("cls,bad", [
    (RBMConfig, {"method": "gibbs"}), (RBMConfig, {"k": 0}), (RBMConfig, {"hidden": 0}),
    (RBMConfig, {"chains": 0}), (RBMConfig, {"image_size": 100}), (RBMConfig, {"channels": 2}),
    (RBMConfig, {"init_std": 0.0}),
    (EBMConfig, {"activation": "relu"}), (EBMConfig, {"widths": ()}), (EBMConfig, {"langevin_steps": 0}),
    (EBMConfig, {"step_size": 0.0}), (EBMConfig, {"noise_std": -1.0}), (EBMConfig, {"replay_size": 0}),
    (EBMConfig, {"reinit": 1.5}), (EBMConfig, {"alpha": -1.0}), (EBMConfig, {"image_size": 20}),
    (EBMConfig, {"channels": 4}),
])
def test_bad_configs_raise(cls, bad):
    with pytest.raises(ValueError):
        cls(**bad)


def test_ebm_sample_rejects_bad_options():
    model = tiny_ebm().eval()
    with pytest.raises(ValueError):
        drive(model.sample(n=1, steps=0))
    with pytest.raises(ValueError):
        drive(model.sample(n=1, temperature=-1.0))
