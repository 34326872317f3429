"""Flows (NICE, RealNVP, Glow): exact inverses, log-determinants against brute-force Jacobians, the
likelihood's bookkeeping, ActNorm's data init, temperature sampling, training and anomaly maps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from genstudio.core.events import drive
from genstudio.models.common import dequantize, to_levels, to_uint8
from genstudio.models.flow_layers import (
    ActNorm,
    AdditiveCoupling,
    AffineCoupling,
    DiagonalScale,
    InvConv1x1,
    Split,
    Squeeze,
    glow_flow,
    nice_flow,
    realnvp_flow,
)
from genstudio.models.flows import (
    DEQUANT_DRAWS,
    FlowModel,
    GlowConfig,
    NICEConfig,
    RealNVPConfig,
    build_glow,
    build_nice,
    build_realnvp,
)

TINY = {
    "nice": (build_nice, NICEConfig(hidden=32, mlp_layers=2)),
    "realnvp": (build_realnvp, RealNVPConfig(image_size=28, channels=1, hidden=8, res_blocks=1)),
    "glow": (build_glow, GlowConfig(image_size=28, channels=1, levels=2, steps_per_level=2, hidden=16)),
}


def perturb(module: torch.nn.Module, scale: float = 0.2) -> torch.nn.Module:
    """Move every parameter off its (often identity) initialisation, so the tests see real maps."""
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in module.parameters():
            p.add_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return module


def images(n: int, c: int, size: int, seed: int = 0) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, c, size, size), generator=gen).double() / 127.5 - 1


def jacobian_logdet(fn, x: torch.Tensor) -> float:
    """log|det J| of fn at one input x (1, ...), from the full Jacobian."""
    jac = torch.autograd.functional.jacobian(lambda v: fn(v.reshape(x.shape)).reshape(-1), x.reshape(-1))
    return torch.linalg.slogdet(jac)[1].item()


class SplitAsLayer(torch.nn.Module):
    """Split with the uniform layer API: y = (kept half, standardised half) side by side."""

    def __init__(self, split: Split):
        super().__init__()
        self.split = split

    def forward(self, x):
        h, eps, ld = self.split(x)
        return torch.cat((h, eps), 1), ld

    def inverse(self, y):
        return self.split.inverse(y[:, :self.split.keep], y[:, self.split.keep:])


LAYERS = {
    "squeeze": (lambda: Squeeze(), (2, 4, 4)),
    "actnorm": (lambda: ActNorm(3), (3, 4, 4)),
    "invconv_lu": (lambda: InvConv1x1(4), (4, 3, 3)),
    "coupling_checkerboard_tanh_0": (lambda: AffineCoupling(2, 8, 1, "checkerboard", 0, "tanh"), (2, 4, 4)),
    "coupling_checkerboard_sigmoid_1": (lambda: AffineCoupling(1, 8, 0, "checkerboard", 1, "sigmoid"), (1, 5, 5)),
    "coupling_channel_tanh_1": (lambda: AffineCoupling(4, 8, 1, "channel", 1, "tanh"), (4, 3, 3)),
    "coupling_channel_sigmoid_0": (lambda: AffineCoupling(4, 8, 0, "channel", 0, "sigmoid"), (4, 3, 3)),
    "diagonal_scale": (lambda: DiagonalScale((1, 4, 4)), (1, 4, 4)),
    "additive_coupling": (lambda: AdditiveCoupling(16, 8, 2, 1), (1, 4, 4)),
    "split_learned_prior": (lambda: SplitAsLayer(Split(4, learned_prior=True)), (4, 3, 3)),
}


@pytest.mark.parametrize("name", LAYERS)
def test_layer_inverts_and_its_logdet_is_the_jacobians(name):
    make, shape = LAYERS[name]
    torch.manual_seed(0)
    layer = perturb(make().double())
    x = torch.randn(3, *shape, dtype=torch.float64)
    y, logdet = layer(x)
    assert logdet.shape == (3,)
    assert torch.allclose(layer.inverse(y), x, atol=1e-10)
    for i in range(3):
        assert jacobian_logdet(lambda v: layer(v)[0], x[i:i + 1]) == pytest.approx(logdet[i].item(), abs=1e-8)


FLOWS = {  # tiny flows below the app's 28 px minimum, so brute-force Jacobians stay small
    "nice": (nice_flow((1, 4, 4), 4, 8, 2), NICEConfig()),
    "realnvp": (realnvp_flow((1, 8, 8), 2, 8, 1, "tanh"), RealNVPConfig()),
    "realnvp_rgb": (realnvp_flow((3, 4, 4), 1, 8, 1, "sigmoid"), RealNVPConfig()),
    "glow": (glow_flow((1, 8, 8), 2, 2, 8, "sigmoid", True), GlowConfig(preprocess="center")),
    "glow_rgb_logit": (glow_flow((3, 4, 4), 2, 2, 8, "tanh", True), GlowConfig(preprocess="logit")),
}


@pytest.mark.parametrize("name", FLOWS)
def test_whole_transform_inverts_and_its_logdet_is_the_jacobians(name):
    """The reported log-det is that of y (dequantised, in [0, 1)) -> packed z, preprocessing included."""
    torch.manual_seed(0)
    flow, cfg = FLOWS[name]
    model = perturb(FlowModel(cfg, flow).double(), 0.1)
    c, h, w = flow.shape
    y = torch.rand(2, c, h, w, dtype=torch.float64)
    z, logdet = model.transform(y)
    assert z.shape == (2, c * h * w)
    assert torch.allclose(model._postprocess(flow.inverse(model.unpack(z))), y, atol=1e-4)
    for i in range(2):
        assert jacobian_logdet(lambda v: model.transform(v)[0], y[i:i + 1]) == pytest.approx(logdet[i].item(),
                                                                                          abs=1e-6)


def test_to_pixels_undoes_splits_and_squeezes():
    """RealNVP starts as the identity (zero-initialised couplings), so its inverse is pure structure."""
    flow = realnvp_flow((3, 8, 8), 2, 8, 1, "tanh").double()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    eps, logdet = flow(x)
    assert torch.equal(flow.to_pixels(eps), x) and torch.all(logdet == 0)


@pytest.mark.parametrize("arch", TINY)
def test_encode_decode_round_trip_on_8bit_images(arch):
    build, cfg = TINY[arch]
    torch.manual_seed(0)
    model = perturb(build(cfg).double(), 0.05)
    x = images(2, cfg.channels, cfg.image_size)
    z = model.encode(x)
    assert z.shape == (2, cfg.channels * cfg.image_size**2)
    assert (model.decode(z) - x).abs().max() < 1e-4


@pytest.mark.parametrize("arch", TINY)
def test_temperature_zero_samples_the_decoding_of_z_zero(arch):
    build, cfg = TINY[arch]
    torch.manual_seed(0)
    model = perturb(build(cfg), 0.05).eval()
    got = drive(model.sample(n=2, seed=5, temperature=0.0))
    expected = to_uint8(model.decode(torch.zeros(1, model.dims)))
    # a batch of two and a batch of one may round a few values differently with several threads
    assert np.abs(got.astype(int) - np.repeat(expected, 2, axis=0)).max() <= 1
    assert torch.all(model.prior_latents([1, 2], temperature=0.0) == 0)
    z = model.prior_latents([7, 8], temperature=0.5)
    assert torch.equal(z, 0.5 * model.prior_latents([7, 8]))


@pytest.mark.parametrize("arch", TINY)
def test_likelihood_bookkeeping(arch):
    build, cfg = TINY[arch]
    torch.manual_seed(0)
    model = perturb(build(cfg).double(), 0.05)
    x = images(3, cfg.channels, cfg.image_size)
    loss, metrics = model.training_loss(x, torch.Generator().manual_seed(0))  # (Glow: ActNorm init first)
    nll = model.negative_log_likelihood(x)
    dims = model.dims
    assert torch.allclose(nll, model.bits_per_dim(x) * dims * math.log(2))
    assert metrics["loss"] == metrics["bits_per_dim"] == pytest.approx(loss.item())
    assert metrics["nll"] == pytest.approx(metrics["bits_per_dim"] * dims * math.log(2))
    # the NLL is the papers' dequantisation bound: a mean over fixed draws of u, whatever the batch
    assert torch.allclose(model.negative_log_likelihood(x[1:2]), nll[1:2])
    generator = torch.Generator().manual_seed(0)
    draws = [model._nll((to_levels(x).double() + torch.rand(x.shape[1:], generator=generator).double()) / 256)
             for _ in range(DEQUANT_DRAWS)]
    assert torch.allclose(nll, torch.stack(draws).mean(0))
    # the anomaly map spreads the point estimate at the bin centres (u = 1/2) over the pixels
    centre = model._nll(dequantize(x, None).double())
    scores, maps = model.anomaly_map(x)
    assert torch.allclose(maps.sum((1, 2)), centre) and torch.allclose(scores, centre / (dims * math.log(2)))


def test_glow_at_initialisation_is_a_rotation_with_the_exact_gaussian_nll():
    """Zero-initialised couplings and priors, orthogonal 1×1 convolutions and uninitialised ActNorm:
    the NLL of an 8-bit image is then -log N(y - 1/2) + D log 256, written out by hand."""
    model = build_glow(GlowConfig(image_size=28, channels=1, levels=2, steps_per_level=2, hidden=8,
                                  coupling_scale="tanh", preprocess="center")).double()
    x = images(2, 1, 28)
    y = (((x + 1) * 127.5).round() + 0.5) / 256
    dims = 28 * 28
    expected = 0.5 * ((y - 0.5) ** 2).sum((1, 2, 3)) + dims * (0.5 * math.log(2 * math.pi) + math.log(256))
    assert torch.allclose(model.negative_log_likelihood(x), expected, atol=1e-6)


def test_actnorm_data_init_once_and_survives_a_state_dict_round_trip():
    cfg = TINY["glow"][1]
    torch.manual_seed(0)
    model = build_glow(cfg)
    first = model.flow.scales[0][1]
    assert isinstance(first, ActNorm) and not bool(first.initialized)
    seen = []
    first.register_forward_hook(lambda mod, inp, out: seen.append(out[0].detach()))
    x = images(8, 1, 28).float()
    model.training_loss(x, torch.Generator().manual_seed(0))
    y = seen[0]  # the init batch through the first ActNorm: zero mean, unit variance per channel
    assert torch.allclose(y.mean((0, 2, 3)), torch.zeros(4), atol=1e-4)
    assert torch.allclose(y.std((0, 2, 3), correction=0), torch.ones(4), atol=1e-3)
    actnorms = [m for m in model.modules() if isinstance(m, ActNorm)]
    assert all(bool(m.initialized) for m in actnorms)

    again = build_glow(cfg)
    again.load_state_dict(model.state_dict())
    state = {k: v.clone() for k, v in again.state_dict().items()}
    again.training_loss(images(8, 1, 28, seed=1).float() * 0.3, torch.Generator().manual_seed(1))
    assert all(torch.equal(state[k], v) for k, v in again.state_dict().items())  # no re-init


def synthetic_set(n: int = 32) -> torch.Tensor:
    """Soft bright blobs on a dark background, 28 px grayscale, 8-bit values in [-1, 1]."""
    gen = torch.Generator().manual_seed(0)
    centre = torch.rand(n, 2, 1, 1, generator=gen) * 12 + 8
    i = torch.arange(28.0)
    d2 = (i[None, :, None] - centre[:, 0]) ** 2 + (i[None, None, :] - centre[:, 1]) ** 2  # n, 28, 28
    levels = (255 * torch.exp(-d2 / 18)).round()
    return (levels / 127.5 - 1)[:, None]


def train(model, data: torch.Tensor, steps: int, lr: float = 2e-3) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    gen = torch.Generator().manual_seed(0)
    for step in range(steps):
        batch = data[(torch.arange(16) + 16 * step) % len(data)]
        loss, _ = model.training_loss(batch, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()


@pytest.mark.parametrize("arch", TINY)
def test_a_few_dozen_steps_lower_bits_per_dim(arch):
    build, cfg = TINY[arch]
    torch.manual_seed(0)
    model = build(cfg)
    data = synthetic_set()
    before = model.bits_per_dim(data).mean().item()
    train(model, data, 30)
    after = model.bits_per_dim(data).mean().item()
    assert after < before - 0.5, (before, after)


@pytest.mark.parametrize("arch", TINY)
def test_anomaly_map_points_at_a_planted_defect(arch):
    build, cfg = TINY[arch]
    torch.manual_seed(0)
    model = build(cfg)
    data = synthetic_set()
    train(model, data, 40)
    clean = data[:4]
    defect = clean.clone()
    defect[:, :, 2:8, 20:26] = 1.0  # a white square in the top-right corner, where blobs never reach
    scores_clean, _ = model.anomaly_map(clean)
    scores, maps = model.anomaly_map(defect)
    assert torch.all(scores > scores_clean)
    inside = maps[:, 2:8, 20:26].mean((1, 2))
    outside = torch.cat([maps[:, :, :16].flatten(1), maps[:, 16:].flatten(1)], 1).mean(1)
    assert torch.all(inside > outside + 1.0)


@pytest.mark.parametrize("arch", TINY)
@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3)])
def test_shapes(arch, size, channels):
    build, cfg = TINY[arch]
    cfg = type(cfg)(**{**vars(cfg), "image_size": size, "channels": channels})
    model = build(cfg).eval()
    x = images(2, channels, size).float()
    assert model.encode(x).shape == (2, channels * size * size)
    assert model.decode(model.encode(x)).shape == x.shape
    scores, maps = model.anomaly_map(x)
    assert scores.shape == (2,) and maps.shape == (2, size, size)
    assert drive(model.sample(n=2, seed=0, temperature=0.7)).shape == (2, size, size, channels)


@pytest.mark.parametrize("make", [
    lambda: NICEConfig(image_size=29),  # an odd number of dimensions cannot be halved
    lambda: NICEConfig(couplings=1),
    lambda: RealNVPConfig(image_size=28, levels=3),  # 28 -> 14 -> 7 -> ?
    lambda: RealNVPConfig(levels=0),
    lambda: GlowConfig(image_size=60, levels=3),
    lambda: GlowConfig(steps_per_level=0),
    lambda: GlowConfig(coupling_scale="exp"),
    lambda: GlowConfig(preprocess="none"),
    lambda: RealNVPConfig(logit_alpha=0.5),
    lambda: NICEConfig(channels=2),
    lambda: GlowConfig(image_size=16, levels=2),
])
def test_bad_configs_raise(make):
    with pytest.raises(ValueError):
        make()
