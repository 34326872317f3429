"""CycleGAN: the paper's networks, the two training phases, the history pool, shared norm statistics."""

from __future__ import annotations

import pytest
import torch

from genstudio.core.errors import ConfigError
from genstudio.core.registry import Capability, get
from genstudio.models.cyclegan import CycleGAN, CycleGANConfig, HistoryPool, patch_layers, patch_receptive_field

SPEC = get("cyclegan")


def tiny(**overrides) -> CycleGAN:
    torch.manual_seed(0)
    return SPEC.build(SPEC.model_config("tiny", overrides))


def batches(n: int = 2, size: int = 32, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 3, size, size, generator=gen) * 2 - 1, torch.rand(n, 3, size, size, generator=gen) * 2 - 1)


def test_translates_and_does_not_generate():
    assert SPEC.can(Capability.TRANSLATE) and not SPEC.can(Capability.GENERATE)
    assert SPEC.trainer == "trainers.unpaired" and not hasattr(tiny(), "sample")


def test_medium_is_the_papers_network():
    """256 px, 9 blocks, 64 channels: 11.378 M parameters per generator, 2.765 M per 70×70 PatchGAN
    (the counts of the authors' resnet_9blocks and basic n_layers=3 networks)."""
    model = SPEC.build(SPEC.model_config("medium"))
    assert sum(p.numel() for p in model.g_ab.parameters()) == 11_378_179
    assert sum(p.numel() for p in model.d_a.parameters()) == 2_764_737
    assert patch_receptive_field(3) == 70 and patch_layers(256) == 3


@pytest.mark.parametrize("size,layers,patches", [(32, 1, 14), (64, 2, 14), (128, 3, 14)])
def test_patchgan_scales_with_the_image(size, layers, patches):
    model = SPEC.build(CycleGANConfig(image_size=size, g_width=4, d_width=4, n_res_blocks=0, pool_size=0))
    assert patch_layers(size) == layers
    scores = model.d_a(torch.zeros(1, 3, size, size))
    assert scores.shape == (1, 1, patches, patches)


@pytest.mark.parametrize("values", [{"image_size": 30}, {"channels": 2}, {"domains": ["a", "a"]},
                                    {"domains": ["a", ""]}, {"d_layers": 4, "image_size": 32}])
def test_bad_settings_are_refused(values):
    with pytest.raises(ConfigError):
        SPEC.model_config("tiny", values)


def test_generators_take_any_multiple_of_four():
    model = tiny().eval()
    x = torch.rand(1, 3, 44, 76) * 2 - 1
    with torch.no_grad():
        for direction in ("a2b", "b2a"):
            assert model.translate(x, direction).shape == x.shape
    with pytest.raises(ValueError, match="direction"):
        model.translate(x, "sideways")


def test_phases_losses_and_which_networks_they_reach():
    model = tiny()
    real_a, real_b = batches()
    gen = torch.Generator().manual_seed(0)
    loss, metrics = model.training_loss(real_a, gen, phase="d", x_b=real_b)
    loss.backward()
    assert torch.isfinite(loss) and {"d_a", "d_b"} <= set(metrics)
    assert all(p.grad is None for p in model.g_ab.parameters())  # fakes are made without gradients
    assert all(p.grad is not None for p in model.d_a.parameters())
    model.zero_grad(set_to_none=True)
    loss, metrics = model.training_loss(real_a, gen, phase="g", x_b=real_b)
    loss.backward()
    assert torch.isfinite(loss) and {"g_adv", "cycle", "identity"} <= set(metrics)
    expected = metrics["g_adv"] + 10 * metrics["cycle"] + 5 * metrics["identity"]  # λ = 10, identity λ/2
    assert metrics["loss"] == pytest.approx(expected, rel=1e-5)
    assert all(p.grad is None for p in model.d_b.parameters())  # D is frozen in G's phase
    assert all(p.grad is not None for p in model.g_ba.parameters())
    with pytest.raises(ValueError, match="x_b"):
        model.training_loss(real_a, gen, phase="g")


def test_no_identity_loss_when_its_weight_is_zero():
    real_a, real_b = batches()
    _, metrics = tiny(identity_weight=0.0).training_loss(real_a, torch.Generator(), phase="g", x_b=real_b)
    assert "identity" not in metrics and metrics["loss"] == pytest.approx(metrics["g_adv"] + 10 * metrics["cycle"],
                                                                         rel=1e-5)


def test_history_pool_fills_then_swaps_half_the_time():
    pool = HistoryPool(4, 3, 8)
    gen = torch.Generator().manual_seed(0)
    first = torch.rand(3, 3, 8, 8) * 2 - 1
    assert torch.equal(pool.query(first, gen), first) and int(pool.count) == 3  # filling: shown as they are
    levels = ((first + 1) * 127.5).round().to(torch.uint8)
    assert torch.equal(pool.images[:3], levels)
    shown_stored, shown_new = 0, 0
    for i in range(80):
        fake = torch.full((1, 3, 8, 8), 0.9 - i / 50)  # distinct, none all-zero levels
        before = pool.images.clone()
        out = pool.query(fake, gen)
        if torch.equal(out, fake):
            shown_new += 1
            stored = int((pool.images != before).flatten(1).any(1).sum())
            assert stored == (1 if i == 0 else 0)  # the last free place is filled, then the pool is left alone
        else:  # an earlier fake came out, and this one took its place
            shown_stored += 1
            came_out = ((out[0] + 1) * 127.5).round().to(torch.uint8)
            slot = [j for j in range(4) if torch.equal(before[j], came_out)]
            assert slot and torch.equal(pool.images[slot[0]], ((fake[0] + 1) * 127.5).round().to(torch.uint8))
    assert int(pool.count) == 4 and 25 < shown_stored < 55  # about half of them after filling


def test_history_pool_is_state_and_resumes_exactly():
    """The pool is a persistent buffer: a model rebuilt from the state dict draws what the original
    would, and one without the pool would not."""
    model = tiny()
    real_a, real_b = batches()
    gen = torch.Generator().manual_seed(3)
    for _ in range(2):  # the tiny preset's pools hold 4: now full
        model.training_loss(real_a, gen, phase="d", x_b=real_b)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert {"pool_a.images", "pool_a.count", "pool_b.images", "pool_b.count"} <= set(state)
    assert int(state["pool_b.count"]) == 4
    restored, empty = tiny(), tiny()
    restored.load_state_dict(state)
    empty.load_state_dict({k: v for k, v in state.items() if "pool" not in k}, strict=False)
    gen_state, outcomes = gen.get_state(), []
    for net in (model, restored, empty):
        gen.set_state(gen_state)
        loss, _ = net.training_loss(real_b, gen, phase="d", x_b=real_a)  # swapped domains: new fakes
        outcomes.append(loss)
    assert torch.equal(outcomes[0], outcomes[1]) and torch.equal(model.pool_a.images, restored.pool_a.images)
    assert not torch.equal(outcomes[0], outcomes[2])


def test_shared_statistics_of_the_same_image_change_nothing():
    model = tiny().eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        x = torch.rand(1, 3, 40, 48) * 2 - 1
        own = model.translate(x, "b2a")
        replayed = model.translate(x, "b2a", model.norm_statistics(x, "b2a"))
        other = model.translate(x, "b2a", model.norm_statistics(torch.rand(1, 3, 40, 48) * 2 - 1, "b2a"))
    assert (own - replayed).abs().max() < 1e-4
    assert (own - other).abs().max() > 1e-2  # the statistics really are used
