"""VAE-GAN: the two phases move their own networks, the losses stay finite with augmentation, and
the reconstruction is judged in the discriminator's feature space."""

from __future__ import annotations

import json
import math

import torch

from genstudio.core.registry import get
from genstudio.core.store import ModelStore
from tests.trainers.test_loop import train_in_process
from tests.util import make_image_folder


def tiny_model():
    spec = get("vae-gan")
    torch.manual_seed(0)
    return spec.build(spec.model_config("tiny"))


def snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def moved(before, module) -> bool:
    return any(not torch.equal(a, b) for a, b in zip(before, module.parameters()))


def test_each_phase_moves_only_its_own_networks():
    from trainers.loop import parameter_groups

    model = tiny_model()
    opt = torch.optim.AdamW(parameter_groups(model), lr=1e-2)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    gen = torch.Generator().manual_seed(0)
    for phase, own, other in (("d", model.discriminator, model.decoder), ("g", model.decoder, model.discriminator)):
        own_before, other_before = snapshot(own), snapshot(other)
        loss, metrics = model.training_loss(x, gen, phase=phase, step=0)
        loss.backward()
        for group in opt.param_groups:  # what the loop does: a phase keeps only its groups' gradients
            if group["phase"] != phase:
                for p in group["params"]:
                    p.grad = None
        opt.step()
        opt.zero_grad(set_to_none=True)
        assert moved(own_before, own) and not moved(other_before, other), phase
        assert math.isfinite(metrics["loss"])
    assert {"kl", "pixel_mse", "feature_mse", "g_loss"} <= set(metrics)


def test_the_generator_phase_gives_the_discriminator_no_gradient():
    model = tiny_model()
    loss, _ = model.training_loss(torch.rand(2, 3, 32, 32) * 2 - 1, torch.Generator().manual_seed(1), phase="g")
    loss.backward()
    assert all(p.grad is None for p in model.discriminator.parameters())
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.encoder.parameters())


def test_feature_matching_is_zero_for_a_perfect_reconstruction_and_grows_with_error():
    model = tiny_model().eval()
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        same = torch.nn.functional.mse_loss(model.features(x), model.features(x.clone()))
        off = torch.nn.functional.mse_loss(model.features(x + 0.5), model.features(x))
    assert same == 0 and off > 0


def test_twenty_steps_on_a_tiny_folder_with_augmentation_stay_finite(tmp_path):
    data = make_image_folder(tmp_path / "data", n=8)
    code, events = train_in_process(tmp_path / "home", ["vae-gan", "--preset", "tiny", "--device", "cpu", "--data",
                                                        str(data), "--name", "vg", "--steps", "20"])
    assert code == 0, [e for e in events if e.type == "failed"]
    lines = [json.loads(line) for line in (tmp_path / "home" / "runs" / "vg" / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == 20
    for line in lines:
        assert all(math.isfinite(line[k]) for k in ("d_loss", "g_loss", "kl", "feature_mse"))
    card, _ = ModelStore().load("vg")
    assert card["config"]["augment"] == "color,translation,cutout"


def test_reconstruction_and_anomaly_map_shapes():
    model = tiny_model().eval()
    x = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        out = model.reconstruct(x)
        scores, maps = model.anomaly_map(x)
    assert out.shape == x.shape and out.abs().max() <= 1
    assert scores.shape == (3,) and maps.shape == (3, 32, 32)
    assert torch.allclose(maps.flatten(1).sum(1), scores)
