"""StyleGAN2: demodulation, truncation to the mean style, style-mixing grids and layer groups, lazy
R1, the tracked average w, noise modes, a real training loop with augmentation, class conditioning."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genstudio.core.events import drive
from genstudio.core.registry import get
from genstudio.core.store import ModelStore
from genstudio.models.stylegan import StyleGAN, StyleGANConfig, modulated_conv
from tests.models.test_gan import moved, moved_in_training, snapshot, train_tiny
from tests.util import make_image_folder
from trainers.loop import parameter_groups


def tiny_model(**overrides) -> StyleGAN:
    """A tiny StyleGAN with perturbed weights (noise strengths start at zero) and a non-zero w̄."""
    torch.manual_seed(0)
    spec = get("stylegan")
    model = spec.build(spec.model_config("tiny", overrides))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.1)
        model.mapping.w_avg.normal_()
    return model.eval()


def test_demodulation_keeps_unit_output_std_for_unit_std_input():
    torch.manual_seed(0)
    x = torch.randn(16, 64, 12, 12)
    weight = torch.randn(32, 64, 3, 3) * 5  # any scale: demodulation divides it out
    styles = torch.rand(16, 64) * 3 + 0.1  # any per-image, per-channel scale too
    out = modulated_conv(x, weight, styles, demodulate=True)
    inner = out[:, :, 1:-1, 1:-1]  # zero padding lowers the border's variance
    assert abs(inner.std().item() - 1) < 0.05
    per_channel = inner.std(dim=(0, 2, 3))
    assert per_channel.min() > 0.85 and per_channel.max() < 1.15
    plain = modulated_conv(x, weight, styles, demodulate=False)
    assert plain.std() > 10


def test_modulated_conv_equals_a_conv_with_per_image_weights():
    torch.manual_seed(0)
    x, weight, styles = torch.randn(3, 8, 6, 6), torch.randn(5, 8, 3, 3), torch.rand(3, 8) + 0.5
    out = modulated_conv(x, weight, styles, demodulate=True)
    for i in range(3):
        w = weight * styles[i][None, :, None, None]
        w = w / w.square().sum((1, 2, 3), keepdim=True).sqrt()
        assert torch.allclose(out[i], torch.nn.functional.conv2d(x[i:i + 1], w, padding=1)[0], atol=1e-5)


def test_truncation_zero_is_the_mean_style_image_for_every_seed():
    model = tiny_model()
    mean = drive(model.sample(seeds=[0, 1, 2], truncation=0.0))
    assert all(np.array_equal(mean[0], image) for image in mean[1:])
    full = drive(model.sample(seeds=[0, 1, 2], truncation=1.0))
    assert not np.array_equal(full[0], full[1]) and not np.array_equal(full[1], full[2])
    random = drive(model.sample(seeds=[0, 1], truncation=0.0, noise="random"))
    assert not np.array_equal(random[0], random[1])  # the same style, different noise
    assert np.array_equal(random, drive(model.sample(seeds=[0, 1], truncation=0.0, noise="random")))
    with pytest.raises(ValueError, match="noise"):
        drive(model.sample(noise="loud"))


def test_latents_are_truncated_styles_and_decode_to_the_samples():
    model = tiny_model()
    w = model.prior_latents([4, 5], truncation=0.5)
    assert w.shape == (2, model.config.w_dim)
    raw = model.prior_latents([4, 5])
    assert torch.allclose(w, model.mapping.w_avg[0] + 0.5 * (raw - model.mapping.w_avg[0]), atol=1e-6)
    assert torch.allclose(model.prior_latents([4, 5], temperature=0.5), w)  # z is normalised: T scales ψ
    from genstudio.models.common import to_uint8
    assert np.array_equal(to_uint8(model.decode(w)), drive(model.sample(seeds=[4, 5], truncation=0.5)))


@pytest.mark.parametrize("size,sides", [(32, ([4, 8], [16], [32])), (64, ([4, 8], [16, 32], [64])),
                                        (28, ([7], [14], [28]))])
def test_layer_groups_split_the_style_slots_by_resolution(size, sides):
    model = StyleGAN(StyleGANConfig(image_size=size, z_dim=8, w_dim=8, mapping_layers=1, g_width=2, d_width=2,
                                    max_width=4))
    groups = [model.layer_group(name) for name in ("coarse", "middle", "fine")]
    assert sorted(sum(groups, [])) == list(range(model.num_ws))  # a partition of the slots
    assert [sorted({model.synthesis.slot_side(i) for i in g}) for g in groups] == list(sides)
    assert model.num_ws - 1 in groups[2]  # the final toRGB belongs to the fine styles
    with pytest.raises(ValueError, match="layers"):
        model.layer_group("all")


@pytest.mark.parametrize("layers", ["coarse", "middle", "fine"])
def test_style_mixing_grid(layers):
    model = tiny_model()
    seeds = [10, 11, 12]
    grid = model.mix_styles(seeds, seeds, layers=layers, truncation=0.8)
    assert grid.shape == (3, 3, 32, 32, 3) and grid.dtype == np.uint8
    plain = drive(model.sample(seeds=seeds, truncation=0.8))
    for i in range(3):  # a seed mixed with itself is its plain sample
        assert np.array_equal(grid[i, i], plain[i])
    assert not np.array_equal(grid[0, 1], plain[0]) and not np.array_equal(grid[0, 1], plain[1])


def test_r1_penalty_only_on_its_steps_and_exactly_weighted():
    model = tiny_model().train()
    cfg = model.config
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    with_r1, metrics = model.training_loss(x, torch.Generator().manual_seed(1), phase="d", step=cfg.r1_interval)
    without, plain = model.training_loss(x, torch.Generator().manual_seed(1), phase="d", step=cfg.r1_interval + 1)
    assert metrics["r1"] > 0 and "r1" not in plain
    expected = metrics["r1"] * cfg.r1_gamma / 2 * cfg.r1_interval
    assert abs((with_r1 - without).item() - expected) < 1e-5 * max(1.0, expected)
    with_r1.backward()  # the penalty's double backward works
    assert all(p.grad is not None for p in model.discriminator.parameters())
    model.config.r1_gamma = 0.0
    _, off = model.training_loss(x, torch.Generator().manual_seed(1), phase="d", step=0)
    assert "r1" not in off


def test_average_w_moves_in_the_generator_phase_only():
    model = tiny_model().train()
    x, gen = torch.rand(4, 3, 32, 32) * 2 - 1, torch.Generator().manual_seed(0)
    before = model.mapping.w_avg.clone()
    model.training_loss(x, gen, phase="d", step=1)
    assert torch.equal(model.mapping.w_avg, before)
    model.training_loss(x, gen, phase="g", step=1)
    assert not torch.equal(model.mapping.w_avg, before)


def test_each_phase_moves_only_its_own_network():
    model = tiny_model().train()
    generator_parts = torch.nn.ModuleList([model.mapping, model.synthesis])
    optimizer = torch.optim.Adam(parameter_groups(model), lr=1e-3, betas=(0.0, 0.99))
    x, gen = torch.rand(4, 3, 32, 32) * 2 - 1, torch.Generator().manual_seed(0)
    for phase, mover, still in (("d", model.discriminator, generator_parts),
                                ("g", generator_parts, model.discriminator)):
        a, b = snapshot(mover), snapshot(still)
        loss, _ = model.training_loss(x, gen, phase=phase, step=0)
        loss.backward()
        assert all(p.grad is None for p in still.parameters())
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        assert moved(a, mover) and not moved(b, still)


def test_twenty_augmented_steps_through_the_loop(tmp_path):
    data = make_image_folder(tmp_path / "data", n=8)
    metrics, tensors = train_tiny(tmp_path, "stylegan", data, model_settings='augment = "color,translation,cutout"')
    for row in metrics:
        assert all(np.isfinite(row[k]) for k in ("loss", "d_loss", "g_loss", "d_real", "d_fake"))
    r1_steps = [row["step"] - 1 for row in metrics if "r1" in row]  # the loop's step count starts at 0
    assert r1_steps == list(range(0, 20, 4)) and all(metrics[s]["r1"] > 0 for s in r1_steps)
    assert moved_in_training("stylegan", tensors) == (True, True)
    assert not torch.equal(tensors["model.mapping.w_avg"], torch.zeros_like(tensors["model.mapping.w_avg"]))


def test_class_conditional_training_and_sampling(tmp_path):
    root = tmp_path / "data"
    for i, name in enumerate(("a", "b")):
        make_image_folder(root / name, n=4, seed=i + 1)
    train_tiny(tmp_path, "stylegan", root, steps=3)
    card, tensors = ModelStore().load("m")
    assert card["config"]["classes"] == ["a", "b"] and tensors["mapping.w_avg"].shape[0] == 2
    model = get("stylegan").build(get("stylegan").config_from(card["config"]))
    model.load_state_dict(tensors)
    model.eval()
    for truncation in (1.0, 0.0):  # ψ = 0 gives each class's own mean image
        zero = drive(model.sample(n=2, seed=3, label=0, truncation=truncation))
        one = drive(model.sample(n=2, seed=3, label=1, truncation=truncation))
        assert not np.array_equal(zero, one)
    grid = model.mix_styles([1, 2], [3], layers="fine", label=1)
    assert grid.shape == (2, 1, 32, 32, 3)
    with pytest.raises(ValueError, match="class"):
        model.training_loss(torch.zeros(2, 3, 32, 32), torch.Generator(), phase="g")  # no labels


def test_an_unconditional_model_refuses_a_class():
    model = tiny_model()
    with pytest.raises(ValueError, match="not trained with classes"):
        drive(model.sample(label=0))
    with pytest.raises(ValueError, match="not trained with classes"):
        model.mix_styles([1], [2], label=1)


def test_the_discriminator_learns_at_its_own_rate():
    """TTUR: ``d_lr_scale`` reaches the optimizer as the D group's ``lr_scale`` (the loop multiplies
    the learning rate by it); Adam's first step moves every weight by about its group's rate."""
    model = tiny_model(d_lr_scale=5.0).train()
    groups = parameter_groups(model)
    assert [(g["phase"], g["lr_scale"]) for g in groups] == [("g", 1.0), ("d", 5.0)]
    optimizer = torch.optim.Adam(groups, lr=1e-3, betas=(0.0, 0.99), eps=1e-12)
    for group in optimizer.param_groups:  # as trainers/loop.py does every step
        group["lr"] = 1e-3 * group["lr_scale"]
    x, gen = torch.rand(4, 3, 32, 32) * 2 - 1, torch.Generator().manual_seed(0)
    steps = {}
    for phase, part in (("d", model.discriminator), ("g", model.synthesis)):
        before = snapshot(part)
        loss, _ = model.training_loss(x, gen, phase=phase, step=1)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        steps[phase] = max((p - b).abs().max().item() for b, p in zip(before, part.parameters()))
    assert steps["d"] == pytest.approx(5e-3, rel=0.01) and steps["g"] == pytest.approx(1e-3, rel=0.01)
    assert get("stylegan").model_config("small").d_lr_scale == 5.0
    assert StyleGANConfig().d_lr_scale == 1.0  # StyleGAN2's own recipe unless a preset says otherwise
    with pytest.raises(ValueError, match="d_lr_scale"):
        StyleGANConfig(d_lr_scale=0)
