"""Autoencoders: DAE corruption, VAE bounds (ELBO ≤ IWAE, rising with k), free bits, the logistic
likelihood, shapes at every supported size, and an AE that learns and localises a planted defect."""

from __future__ import annotations

import math

import pytest
import torch

from genstudio.core.events import drive
from genstudio.models import autoencoder as ae
from genstudio.models.autoencoder import VAE, AEConfig, Autoencoder, DAEConfig, DenoisingAutoencoder, VAEConfig

TINY = dict(base_width=8, channel_mults=(1, 2), res_blocks=0, latent_dim=8)


def blobs(n: int, size: int = 28, seed: int = 0) -> torch.Tensor:
    """(n, 1, size, size) in [-1, 1]: one smooth bright Gaussian blob per image on a black ground."""
    g = torch.Generator().manual_seed(seed)
    centre = torch.rand(n, 2, generator=g) * (size - 12) + 6
    sigma = torch.rand(n, 1, 1, generator=g) * 2 + 3
    yy, xx = torch.meshgrid(torch.arange(size).float(), torch.arange(size).float(), indexing="ij")
    r2 = (yy - centre[:, 0, None, None]) ** 2 + (xx - centre[:, 1, None, None]) ** 2
    return (-1 + torch.exp(-r2 / (2 * sigma**2)))[:, None]


def train(model, data: torch.Tensor, steps: int, lr: float = 3e-3) -> list[float]:
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(model.parameters(), lr)
    losses = []
    for _ in range(steps):
        batch = data[torch.randint(0, len(data), (16,), generator=g)]
        loss, metrics = model.training_loss(batch, g)
        loss.backward()
        opt.step()
        opt.zero_grad()
        losses.append(metrics["loss"])
    return losses


@pytest.fixture(scope="module")
def trained_vae():
    torch.manual_seed(0)
    model = VAE(VAEConfig(**TINY))
    train(model, blobs(64, seed=0), steps=40)
    return model.eval()


# -- VAE bounds --------------------------------------------------------------------------------
def test_iwae_bound_rises_with_k_and_lies_above_the_elbo(trained_vae):
    x = blobs(32, seed=5).repeat(2, 1, 1, 1)  # 64 rows: the batch mean of IWAE-1 is steady enough
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        elbo = trained_vae.elbo(x, g).mean()
        k1, k10, k100 = (trained_vae.iwae_bound(x, k, g).mean() for k in (1, 10, 100))
    assert k1 < k10 < k100
    assert elbo < k100 and k100 - k1 < 50  # a real gain, not a broken bound
    nll = trained_vae.negative_log_likelihood(x[:4])
    assert torch.allclose(nll, trained_vae.negative_log_likelihood(x[:4]))  # a fixed seed: scores repeat


def test_iwae_with_one_sample_is_the_elbo_in_expectation(trained_vae):
    x = blobs(16, seed=7).repeat(64, 1, 1, 1)  # 1024 independent draws
    with torch.no_grad():
        iwae1 = trained_vae.iwae_bound(x, 1, torch.Generator().manual_seed(1))
        elbo = trained_vae.elbo(x, torch.Generator().manual_seed(2))
    stderr = math.sqrt((iwae1.var() + elbo.var()).item() / len(x))
    assert abs((iwae1.mean() - elbo.mean()).item()) < 4 * stderr


def test_chunked_iwae_combines_chunks_by_logsumexp(trained_vae, monkeypatch):
    x = blobs(4, seed=3)
    monkeypatch.setattr(ae, "IWAE_IMAGES", len(x))  # one sample per chunk
    chunked = trained_vae.iwae_bound(x, 3, torch.Generator().manual_seed(9))
    g = torch.Generator().manual_seed(9)
    singles = torch.stack([trained_vae.iwae_bound(x, 1, g) for _ in range(3)])
    assert torch.allclose(chunked, torch.logsumexp(singles, 0) - math.log(3), atol=1e-4)


def test_free_bits_clamps_each_dimension_of_the_batch_mean_kl():
    kl = torch.tensor([[0.1, 2.0, 0.0], [0.3, 4.0, 0.2]])  # batch means 0.2, 3.0, 0.1
    assert ae.free_bits_kl(kl, 0.0).item() == pytest.approx(3.3)
    assert ae.free_bits_kl(kl, 0.5).item() == pytest.approx(0.5 + 3.0 + 0.5)
    assert ae.free_bits_kl(kl, 5.0).item() == pytest.approx(15.0)


def test_free_bits_and_beta_change_the_training_objective():
    x = blobs(8, seed=1)
    dims = x[0].numel()

    def objective(**overrides):
        torch.manual_seed(0)
        model = VAE(VAEConfig(**TINY, **overrides))
        loss, m = model.training_loss(x, torch.Generator().manual_seed(0))
        return loss.item() * dims, m

    plain, m = objective()
    assert plain == pytest.approx(m["recon"] + m["kl"], rel=1e-4) and m["elbo"] == pytest.approx(-plain, rel=1e-4)
    freed, m = objective(free_bits=50.0)  # far above any dimension's KL: the term is a constant
    assert freed == pytest.approx(m["recon"] + 50.0 * TINY["latent_dim"], rel=1e-4)
    weighted, m = objective(beta=4.0)
    assert weighted == pytest.approx(m["recon"] + 4.0 * m["kl"], rel=1e-4)
    assert ae.BetaVAEConfig().beta == 4.0


def test_discretized_logistic_is_a_distribution_over_the_256_levels():
    levels = torch.arange(256).view(256, 1)
    mean = torch.tensor([[-1.2, -0.3, 0.0, 0.9, 0.999]])  # (1, 5): inside, at and beyond the edges
    log_scale = torch.tensor([[-7.0, -3.0, -1.0, 0.5, -5.0]])
    p = ae.discretized_logistic_log_prob(mean, log_scale, levels).exp()  # (256, 5)
    assert torch.allclose(p.sum(0), torch.ones(5), atol=1e-4) and torch.all(p >= 0)


def test_vae_anomaly_map_sums_to_its_score_and_sample_uses_the_prior(trained_vae):
    scores, maps = trained_vae.anomaly_map(blobs(3, seed=2))
    assert torch.allclose(maps.flatten(1).sum(1), scores, rtol=1e-5) and torch.all(scores > 0)
    images = drive(trained_vae.sample(n=2, seed=0, temperature=0.0))
    assert (images[0] == images[1]).all()  # T = 0 decodes the prior mean for every seed


# -- DAE corruption ----------------------------------------------------------------------------
@pytest.mark.parametrize("noise,level", [("gaussian", 0.2), ("salt_pepper", 0.3), ("masking", 0.25)])
def test_dae_noise_corrupts_as_configured_and_repeats_with_its_generator(noise, level):
    x = torch.full((8, 3, 32, 32), 0.5)
    out = ae.corrupt(x, noise, level, torch.Generator().manual_seed(0))
    assert torch.equal(out, ae.corrupt(x, noise, level, torch.Generator().manual_seed(0)))
    assert not torch.equal(out, ae.corrupt(x, noise, level, torch.Generator().manual_seed(1)))
    if noise == "gaussian":
        x = torch.zeros_like(x)  # mid-grey: no clipping at a small std
        delta = ae.corrupt(x, noise, level, torch.Generator().manual_seed(0)) - x
        assert delta.std().item() == pytest.approx(level, rel=0.05) and abs(delta.mean().item()) < 0.01
        return
    hit = (out != x).any(1)  # (B, H, W): whole pixels, all channels alike
    assert torch.equal(hit, (out != x).all(1))
    assert hit.float().mean().item() == pytest.approx(level, abs=0.02)
    if noise == "masking":
        assert torch.all(out[hit[:, None].expand_as(out)] == 0)
    else:
        values = out.permute(0, 2, 3, 1)[hit]
        assert set(values.unique().tolist()) == {-1.0, 1.0}
        assert (values == 1).float().mean().item() == pytest.approx(0.5, abs=0.05)


def test_dae_trains_on_corrupted_inputs():
    torch.manual_seed(0)
    dae = DenoisingAutoencoder(DAEConfig(**TINY, noise="masking", noise_level=0.5))
    plain = Autoencoder(AEConfig(**TINY))
    plain.load_state_dict(dae.state_dict())
    x = blobs(4)
    dae_loss, _ = dae.training_loss(x, torch.Generator().manual_seed(0))
    ae_loss, _ = plain.training_loss(x, torch.Generator().manual_seed(0))
    assert dae_loss.item() != pytest.approx(ae_loss.item())


# -- shapes ------------------------------------------------------------------------------------
@pytest.mark.parametrize("size,channels,mults", [(28, 1, (1, 2)), (29, 1, (1, 2, 2)), (45, 3, (1, 1, 2)),
                                                 (64, 3, (1, 2, 2, 2))])
@pytest.mark.parametrize("kind", ["ae", "dae", "bernoulli", "logistic"])
def test_shapes_at_every_size(size, channels, mults, kind):
    net = dict(image_size=size, channels=channels, base_width=4, channel_mults=mults, res_blocks=1, latent_dim=6)
    model = {"ae": lambda: Autoencoder(AEConfig(**net)), "dae": lambda: DenoisingAutoencoder(DAEConfig(**net)),
             "bernoulli": lambda: VAE(VAEConfig(**net)),
             "logistic": lambda: VAE(VAEConfig(**net, likelihood="logistic", iwae_k=3))}[kind]()
    x = torch.rand(2, channels, size, size) * 2 - 1
    loss, _ = model.training_loss(x, torch.Generator().manual_seed(0))
    assert torch.isfinite(loss)
    with torch.no_grad():
        z = model.encode(x)
        assert z.shape == (2, 6) and model.decode(z).shape == x.shape
        out = model.reconstruct(x)
        assert out.shape == x.shape and out.min() >= -1 and out.max() <= 1
        scores, maps = model.anomaly_map(x)
        assert scores.shape == (2,) and maps.shape == (2, size, size) and torch.isfinite(maps).all()
        if isinstance(model, VAE):
            assert model.negative_log_likelihood(x).shape == (2,)
    assert drive(model.sample(n=1, seed=0)).shape == (1, size, size, channels)


# -- AE: learning, code statistics, anomaly localisation ---------------------------------------
def test_ae_learns_fits_its_codes_and_localises_a_planted_defect():
    torch.manual_seed(0)
    model = Autoencoder(AEConfig(**TINY))
    losses = train(model, blobs(64, seed=0), steps=50)
    assert sum(losses[-5:]) / 5 < 0.2 * sum(losses[:5]) / 5
    assert model.code_batches.item() == 50 and "code_mean" in model.state_dict()
    model.eval()

    x = blobs(8, seed=1)
    x[:, :, 3:9, 18:24] = 1.0  # a bright square the blobs never showed
    scores, maps = model.anomaly_map(x)
    peak = maps.flatten(1).argmax(1)
    rows, cols = peak // 28, peak % 28
    assert torch.all((rows >= 3) & (rows < 9) & (cols >= 18) & (cols < 24))
    clean_scores, _ = model.anomaly_map(blobs(8, seed=1))
    assert torch.all(scores > clean_scores)

    # with the code spread set to zero, every sample is the decoded code mean
    model.code_square.copy_(model.code_mean.square())
    images = drive(model.sample(n=2, seed=0))
    expected = drive(model.sample(n=1, seed=99))[0]
    assert (images == expected).all()


# -- configs -----------------------------------------------------------------------------------
@pytest.mark.parametrize("cls,bad", [
    (AEConfig, dict(image_size=20)), (AEConfig, dict(channels=2)), (AEConfig, dict(channel_mults=())),
    (AEConfig, dict(channel_mults=(1, 0))), (AEConfig, dict(latent_dim=0)), (AEConfig, dict(res_blocks=-1)),
    (AEConfig, dict(norm="batch")), (AEConfig, dict(activation="relu6")),
    (DAEConfig, dict(noise="pink")), (DAEConfig, dict(noise="gaussian", noise_level=0.0)),
    (DAEConfig, dict(noise="masking", noise_level=1.5)),
    (VAEConfig, dict(likelihood="gaussian")), (VAEConfig, dict(beta=0.0)), (VAEConfig, dict(free_bits=-1.0)),
    (VAEConfig, dict(iwae_k=0)),
])
def test_bad_configs_raise(cls, bad):
    with pytest.raises(ValueError):
        cls(**bad)
