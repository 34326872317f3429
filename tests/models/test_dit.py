"""The diffusion transformer: patches and positions, adaLN-Zero at initialisation, class conditioning."""

from __future__ import annotations

import time

import pytest
import torch

from genstudio.core.registry import get
from genstudio.models.diffusion import DiffusionModel
from genstudio.models.dit import DiT, DiTConfig, build_dit, patchify, sincos_2d, unpatchify


def tiny_net(num_classes: int = 0, channels: int = 3) -> DiT:
    torch.manual_seed(0)
    return DiT(32, channels, patch_size=4, width=32, depth=2, heads=2, num_classes=num_classes)


def perturb(module: torch.nn.Module) -> None:
    """Move every weight off its initialisation (the zero-initialised layers hide everything else)."""
    with torch.no_grad():
        for p in module.parameters():
            p.add_(torch.randn_like(p) * 0.05)


@pytest.mark.parametrize("p,channels", [(1, 3), (2, 1), (4, 3), (8, 3)])
def test_patchify_unpatchify_round_trip(p, channels):
    x = torch.randn(2, channels, 32, 32)
    tokens = patchify(x, p)
    assert tokens.shape == (2, (32 // p) ** 2, p * p * channels)
    assert torch.equal(unpatchify(tokens, p, channels), x)
    # token 1 is the second patch of the first row
    assert torch.equal(tokens[0, 1].reshape(p, p, channels), x[0, :, :p, p:2 * p].permute(1, 2, 0))


def test_patch_embedding_orders_tokens_like_unpatchify():
    """The strided convolution is a linear map of ``patchify``'s tokens, in the same token order that
    ``unpatchify`` puts back, so token i reads and writes the same patch."""
    net = tiny_net()
    x = torch.randn(2, 3, 32, 32)
    conv_tokens = net.patch_embed(x).flatten(2).transpose(1, 2)
    weight = net.patch_embed.weight.permute(0, 2, 3, 1).reshape(net.width, -1)  # (D, p·p·C) like patchify
    linear_tokens = patchify(x, 4) @ weight.T + net.patch_embed.bias
    assert torch.allclose(conv_tokens, linear_tokens, atol=1e-5)


def test_position_embedding_is_fixed_distinct_and_not_saved():
    pos = sincos_2d(32, 8)
    assert pos.shape == (64, 32) and pos.abs().max() <= 1
    assert len({tuple(row.tolist()) for row in pos.round(decimals=4)}) == 64  # every position distinct
    assert torch.allclose(pos[0, :16], sincos_2d(32, 8)[7, :16])  # same row: same first half
    assert "pos" not in tiny_net().state_dict()


def test_at_initialisation_every_block_is_the_identity_and_the_output_is_zero():
    net = tiny_net(num_classes=3).eval()
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([5, 900])
    tokens = torch.randn(2, 64, 32)
    c = net.condition(t, torch.tensor([0, 2]))
    for block in net.blocks:
        assert torch.equal(block(tokens, c), tokens)
    assert torch.equal(net(x, t, torch.tensor([0, 1])), torch.zeros_like(x))
    assert torch.equal(net(x, t), torch.zeros_like(x))


def test_gradients_reach_the_zero_initialised_layers_first():
    """adaLN-Zero: at the start only the output layer and the gates get a gradient; the rest follow."""
    net = tiny_net()
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([5, 900])
    (net(x, t) - x).pow(2).mean().backward()
    assert net.final.linear.weight.grad.abs().sum() > 0
    assert net.blocks[0].attn.qkv.weight.grad.abs().sum() == 0  # behind a zero gate and a zero output


def test_class_labels_change_the_output_after_a_perturbation():
    net = tiny_net(num_classes=2).eval()
    perturb(net)
    x, t = torch.randn(2, 3, 32, 32), torch.tensor([100, 100])
    with torch.no_grad():
        a, b = net(x, t, torch.tensor([0, 0])), net(x, t, torch.tensor([1, 1]))
        null = net(x, t, torch.tensor([2, 2]))  # the null row: what guidance compares against
    assert not torch.allclose(a, b) and not torch.allclose(a, null)
    assert net.class_emb.num_embeddings == 3


def test_model_is_the_ddpm_process_with_a_dit_net():
    cfg = get("dit").model_config("tiny", {"classes": ("a", "b"), "channels": 1})
    model = build_dit(cfg)
    assert isinstance(model, DiffusionModel) and isinstance(model.net, DiT) and model.num_classes == 2
    x = torch.rand(3, 1, 32, 32) * 2 - 1
    loss, metrics = model.training_loss(x, torch.Generator().manual_seed(0), labels=torch.tensor([0, 1, 1]))
    loss.backward()
    assert torch.isfinite(loss) and metrics["loss"] == loss.item()


def test_tiny_preset_trains_a_step_quickly():
    spec = get("dit")
    model = spec.build(spec.model_config("tiny"))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    x, gen = torch.rand(4, 3, 32, 32) * 2 - 1, torch.Generator().manual_seed(0)
    times = []
    for _ in range(4):  # the first step pays for lazy imports and allocations
        t0 = time.perf_counter()
        loss, _ = model.training_loss(x, gen)
        loss.backward()
        opt.step()
        opt.zero_grad()
        times.append(time.perf_counter() - t0)
    assert min(times[1:]) < 0.25


@pytest.mark.parametrize("bad", [{"image_size": 24}, {"image_size": 256}, {"image_size": 30, "patch_size": 4},
                                 {"width": 30, "heads": 2}, {"width": 32, "heads": 3}, {"channels": 2},
                                 {"prediction": "x0"}, {"schedule": "sigmoid"}, {"depth": 0},
                                 {"label_dropout": 1.0}])
def test_invalid_configs_are_refused(bad):
    with pytest.raises(ValueError):
        DiTConfig(**bad)


def test_supported_sizes_build_and_run():
    for size, p in ((28, 2), (64, 4), (128, 8)):
        cfg = DiTConfig(image_size=size, channels=1, patch_size=p, width=16, depth=1, heads=2)
        model = build_dit(cfg)
        x = torch.randn(2, 1, size, size)
        assert model.net(x, torch.tensor([0, 999])).shape == x.shape
