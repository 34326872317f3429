"""DiffAugment, and DCGAN: sizes, phases that move only their own network, a real training loop with
augmentation for both losses, spectral norm through the model library, class conditioning."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from genstudio.core import config as configlib
from genstudio.core.events import drive
from genstudio.core.registry import get
from genstudio.core.store import ModelStore, new_card
from genstudio.models.augment import POLICIES, diff_augment, parse_policy
from genstudio.models.gan import DCGAN, DCGANConfig, base_size, mode_seeking_penalty, paired_labels
from tests.trainers.test_loop import train_in_process
from tests.util import make_image_folder
from trainers.loop import parameter_groups


# -- DiffAugment -------------------------------------------------------------------------------
def augmented(x, policy, seed=0):
    return diff_augment(x, policy, torch.Generator().manual_seed(seed))


def test_empty_policy_is_the_identity_and_unknown_names_are_refused():
    x = torch.rand(3, 3, 16, 16) * 2 - 1
    assert torch.equal(augmented(x, ""), x)
    assert parse_policy(" color , cutout ") == ("color", "cutout")
    with pytest.raises(ValueError, match="blur"):
        parse_policy("color,blur")
    with pytest.raises(Exception, match="blur"):
        get("dcgan").model_config("tiny", {"augment": "blur"})


@pytest.mark.parametrize("policy", [*POLICIES, "color,translation,cutout"])
def test_augmentation_is_deterministic_given_the_generator_and_differentiable(policy):
    x = torch.rand(4, 3, 16, 16) * 2 - 1
    a, b, c = augmented(x, policy, 1), augmented(x, policy, 1), augmented(x, policy, 2)
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c) and not torch.equal(a, x)
    small = torch.rand(2, 3, 8, 8, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: augmented(t, policy, 3), (small,))
    leaf = x.clone().requires_grad_(True)
    (augmented(leaf, policy) * torch.randn_like(x)).sum().backward()
    assert torch.isfinite(leaf.grad).all() and leaf.grad.abs().sum() > 0


def test_translation_moves_whole_pixels_and_cutout_erases_a_square():
    x = torch.arange(1, 1 + 16 * 16, dtype=torch.float32).view(1, 1, 16, 16).repeat(8, 1, 1, 1)
    moved = augmented(x, "translation")
    for image in moved:  # every pixel is an original one or the zero fill
        assert set(image.unique().tolist()) <= set(x[0].unique().tolist()) | {0.0}
    erased = (augmented(x, "cutout") == 0).flatten(1).sum(1)
    assert torch.all(erased > 0) and torch.all(erased <= 8 * 8)


# -- DCGAN -------------------------------------------------------------------------------------
@pytest.mark.parametrize("size,start", [(28, 7), (32, 4), (48, 6), (64, 4)])
def test_sizes_build_and_generate_at_full_resolution(size, start):
    assert base_size(size) == start
    model = DCGAN(DCGANConfig(image_size=size, channels=1, z_dim=8, g_width=4, d_width=4, max_width=16)).eval()
    out = model.decode(model.prior_latents([0, 1]))
    assert out.shape == (2, 1, size, size)
    assert model.discriminator(out).shape == (2,)


@pytest.mark.parametrize("size", [30, 36, 44])
def test_sizes_that_do_not_halve_to_a_small_start_are_refused(size):
    with pytest.raises(ValueError, match="image_size"):
        DCGANConfig(image_size=size)


def tiny_model(**overrides) -> DCGAN:
    torch.manual_seed(0)
    return get("dcgan").build(get("dcgan").model_config("tiny", overrides))


def snapshot(module) -> list[torch.Tensor]:
    return [p.detach().clone() for p in module.parameters()]


def moved(before, module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


@pytest.mark.parametrize("spectral_norm", [False, True])
def test_each_phase_moves_only_its_own_network(spectral_norm):
    model = tiny_model(spectral_norm=spectral_norm)
    optimizer = torch.optim.Adam(parameter_groups(model), lr=1e-3)
    x, gen = torch.rand(4, 3, 32, 32) * 2 - 1, torch.Generator().manual_seed(0)
    for phase, mover, still in (("d", model.discriminator, model.generator),
                                ("g", model.generator, model.discriminator)):
        a, b = snapshot(mover), snapshot(still)
        loss, metrics = model.training_loss(x, gen, phase=phase, step=0)
        loss.backward()
        assert all(p.grad is None for p in still.parameters()), f"phase {phase} computed the other net's grads"
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        assert moved(a, mover) and not moved(b, still)
        assert metrics["loss"] == metrics[f"{phase}_loss"]
    assert all(p.requires_grad for p in model.discriminator.parameters())  # G's phase gave D back


def train_tiny(tmp_path, arch: str, data, steps: int = 20, model_settings: str = "", name: str = "m"):
    config = tmp_path / "extra.toml"
    config.write_text(f"[model]\n{model_settings}\n[train]\npreview_every = {steps}\n", encoding="utf-8")
    code, events = train_in_process(tmp_path / "home", [arch, "--preset", "tiny", "--device", "cpu", "--data",
                                                        str(data), "--name", name, "--steps", str(steps),
                                                        "--config", str(config)])
    assert code == 0, [e for e in events if e.type == "failed"]
    run = tmp_path / "home" / "runs" / name
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert len(metrics) == steps and [e.type for e in events].count("preview") == 1
    return metrics, load_file(run / "checkpoint" / "tensors.safetensors")


def moved_in_training(arch: str, tensors: dict, **overrides) -> tuple[bool, bool]:
    """Whether the trained D and G differ from the networks the loop started from (same seed)."""
    spec = get(arch)
    torch.manual_seed(0)
    start = spec.build(spec.model_config("tiny", overrides)).state_dict()
    changed = {k for k, v in start.items() if v.is_floating_point() and not torch.equal(v, tensors[f"model.{k}"])}
    return any(k.startswith("discriminator.") for k in changed), any(not k.startswith("discriminator.")
                                                                      for k in changed)


@pytest.mark.parametrize("loss,spectral_norm", [("non-saturating", False), ("hinge", True)])
def test_twenty_augmented_steps_through_the_loop(tmp_path, loss, spectral_norm):
    data = make_image_folder(tmp_path / "data", n=8)
    settings = f'loss = "{loss}"\nspectral_norm = {str(spectral_norm).lower()}\naugment = "color,translation,cutout"'
    metrics, tensors = train_tiny(tmp_path, "dcgan", data, model_settings=settings)
    for row in metrics:
        assert all(np.isfinite(row[k]) for k in ("loss", "d_loss", "g_loss", "d_real", "d_fake"))
    assert moved_in_training("dcgan", tensors, loss=loss, spectral_norm=spectral_norm) == (True, True)


def test_spectral_norm_weights_travel_through_the_library(tmp_path):
    spec = get("dcgan")
    cfg = spec.model_config("tiny", {"spectral_norm": True, "classes": ["a", "b"]})
    model = spec.build(cfg)
    x, gen = torch.rand(2, 3, 32, 32) * 2 - 1, torch.Generator().manual_seed(0)
    model.training_loss(x, gen, phase="d", labels=torch.tensor([0, 1]))  # a power iteration moves u, v
    store = ModelStore(tmp_path / "models", bundled=tmp_path / "none")
    store.save(new_card("sn", "dcgan", configlib.to_dict(cfg), steps=1), model.state_dict())  # meta-device check
    card, tensors = store.load("sn")
    assert any("parametrizations" in k for k in tensors)
    again = spec.build(spec.config_from(card["config"]))
    again.load_state_dict(tensors)
    model.eval(), again.eval()
    assert torch.equal(model.discriminator(x, torch.tensor([0, 1])), again.discriminator(x, torch.tensor([0, 1])))
    assert np.array_equal(drive(model.sample(n=3, seed=5)), drive(again.sample(n=3, seed=5)))


def test_latents_decode_to_the_samples_and_temperature_scales_z():
    model = tiny_model().eval()
    z = model.prior_latents([7, 8], temperature=0.5)
    assert torch.allclose(z, 0.5 * model.prior_latents([7, 8]))
    from genstudio.models.common import to_uint8
    assert np.array_equal(to_uint8(model.decode(z)), drive(model.sample(seeds=[7, 8], temperature=0.5)))


def test_class_conditional_training_and_sampling(tmp_path):
    root = tmp_path / "data"
    for i, name in enumerate(("a", "b")):
        make_image_folder(root / name, n=4, seed=i + 1)
    train_tiny(tmp_path, "dcgan", root, steps=3)
    store = ModelStore()
    card, tensors = store.load("m")
    assert card["config"]["classes"] == ["a", "b"]
    model = get("dcgan").build(get("dcgan").config_from(card["config"]))
    model.load_state_dict(tensors)
    model.eval()
    zero, one = drive(model.sample(n=2, seed=3, label=0)), drive(model.sample(n=2, seed=3, label=1))
    assert not np.array_equal(zero, one)
    latent = model.prior_latents([3], label=1)  # z then the class embedding: decode needs no label
    assert latent.shape == (1, model.config.z_dim + model.class_embed.embedding_dim)
    with pytest.raises(ValueError, match="Class 2"):
        drive(model.sample(label=2))
    with pytest.raises(ValueError, match="class"):
        model.training_loss(torch.zeros(2, 3, 32, 32), torch.Generator(), phase="d")  # no labels


def test_mode_seeking_pairs_share_a_class_and_rewards_images_far_apart():
    labels = torch.tensor([3, 1, 4, 1, 5])
    paired = paired_labels(labels)  # fake i and fake i + 3 share a class
    assert paired.tolist() == [3, 1, 4, 3, 1]
    z = torch.randn(4, 8)
    near, far = torch.zeros(4, 1, 4, 4), torch.cat([torch.zeros(2, 1, 4, 4), torch.ones(2, 1, 4, 4)])
    assert mode_seeking_penalty(far, z) < mode_seeking_penalty(near + 0.01 * far, z)
    assert mode_seeking_penalty(near, z) > 1e4  # one image for every z: the largest penalty


@pytest.mark.parametrize("weight", [0.0, 0.1])
def test_class_conditional_generator_loss_adds_the_mode_seeking_term(weight):
    cfg = get("dcgan").model_config("tiny", {"classes": ("a", "b"), "mode_seeking": weight})
    torch.manual_seed(0)
    model = DCGAN(cfg)
    x, labels = torch.zeros(4, 3, 32, 32), torch.tensor([0, 1, 1, 0])
    loss, metrics = model.training_loss(x, torch.Generator().manual_seed(1), phase="g", labels=labels)
    if weight:
        assert loss.item() == pytest.approx(metrics["g_loss"] + weight * metrics["mode_seeking"], rel=1e-5)
    else:
        assert "mode_seeking" not in metrics and loss.item() == pytest.approx(metrics["g_loss"])
    with pytest.raises(ValueError, match="mode_seeking"):
        DCGANConfig(mode_seeking=-1)


def test_an_unconditional_model_refuses_a_class():
    with pytest.raises(ValueError, match="not trained with classes"):
        drive(tiny_model().eval().sample(label=0))


@pytest.mark.parametrize("arch", ["dcgan", "stylegan"])
def test_stop_and_resume_equals_an_uninterrupted_run(tmp_path, arch):
    """Every random draw (z, augmentation, style mixing, noise) comes from the run's generator, and
    BatchNorm statistics, spectral-norm vectors and the average w travel in the checkpoint."""
    data = make_image_folder(tmp_path / "data", n=6)
    args = [arch, "--preset", "tiny", "--device", "cpu", "--data", str(data), "--steps", "10", "--name", "run"]
    assert train_in_process(tmp_path / "a", args)[0] == 0
    code, events = train_in_process(tmp_path / "b", args, stop_at=6)
    assert code == 0 and events[-1].stopped
    assert train_in_process(tmp_path / "b", [arch, "--preset", "tiny", "--device", "cpu", "--name", "run",
                                             "--resume"])[0] == 0
    a = load_file(tmp_path / "a" / "runs" / "run" / "checkpoint" / "tensors.safetensors")
    b = load_file(tmp_path / "b" / "runs" / "run" / "checkpoint" / "tensors.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
