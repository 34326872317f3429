"""The sample-quality metrics: Fréchet distance against closed forms, KID's unbiasedness, the
memorisation check on copies and fresh images, and the self-trained feature encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genstudio.models.quality import (
    FeatureEncoder,
    TrainReference,
    coverage,
    evaluate,
    frechet_distance,
    frechet_from_moments,
    kid,
    memorization,
    train_feature_encoder,
    variety,
)


def blobs(n: int, size: int = 32, channels: int = 3, seed: int = 0) -> np.ndarray:
    """Discs of random colour, place and radius on white: N×size×size×channels uint8."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size]
    out = np.empty((n, size, size, channels), np.uint8)
    for i in range(n):
        cy, cx = rng.uniform(6, size - 6, 2)
        r = rng.uniform(3, size / 3)
        disc = ((yy - cy) ** 2 + (xx - cx) ** 2 < r**2)[..., None]
        out[i] = np.where(disc, rng.integers(0, 200, channels), 255)
    return out


def random_psd(d: int, rng) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    f = np.random.default_rng(0).normal(size=(300, 16))
    assert frechet_distance(f, f) == pytest.approx(0, abs=1e-8)


def test_frechet_matches_closed_forms():
    rng = np.random.default_rng(1)
    mu_a, mu_b = rng.normal(size=5), rng.normal(size=5)
    var_a, var_b = rng.uniform(0.2, 3, 5), rng.uniform(0.2, 3, 5)
    rotation, _ = np.linalg.qr(rng.normal(size=(5, 5)))  # commuting covariances: a shared eigenbasis
    cov_a, cov_b = (rotation * var_a) @ rotation.T, (rotation * var_b) @ rotation.T
    expected = np.sum((mu_a - mu_b) ** 2) + np.sum((np.sqrt(var_a) - np.sqrt(var_b)) ** 2)
    assert frechet_from_moments(mu_a, cov_a, mu_b, cov_b) == pytest.approx(expected, rel=1e-9)
    a, b = random_psd(6, rng), random_psd(6, rng)  # general case: tr((AB)^½) from the eigenvalues of AB
    trace_root = np.sqrt(np.linalg.eigvals(a @ b).real).sum()
    assert frechet_from_moments(np.zeros(6), a, np.zeros(6), b) == pytest.approx(
        np.trace(a) + np.trace(b) - 2 * trace_root, rel=1e-8)


def test_frechet_from_samples_of_two_gaussians_is_near_the_closed_form_and_symmetric():
    rng = np.random.default_rng(2)
    fa = rng.normal(size=(20000, 4))
    fb = rng.normal(size=(20000, 4)) * np.array([1.0, 2.0, 0.5, 1.0]) + np.array([1.0, 0, 0, -0.5])
    expected = 1.0 + 0.25 + (1 - 2) ** 2 + (1 - 0.5) ** 2  # ‖Δμ‖² + Σ (σa − σb)²
    assert frechet_distance(fa, fb) == pytest.approx(expected, rel=0.05)
    assert frechet_distance(fa, fb) == pytest.approx(frechet_distance(fb, fa), rel=1e-9)


def test_kid_is_unbiased_for_one_distribution_and_positive_for_a_shift():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(400, 16)), rng.normal(size=(400, 16))
    same_mean, same_std = kid(a, b, subsets=20, subset_size=200)
    shifted_mean, _ = kid(a, b + 0.5, subsets=20, subset_size=200)
    assert abs(same_mean) < 0.02 and same_std > 0
    assert shifted_mean > 0.3 and shifted_mean > 20 * abs(same_mean)
    assert kid(a, b, subsets=20, subset_size=200) == (same_mean, same_std)  # fixed subset draws


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_memorization_flags_copies_and_not_fresh_samples(metric):
    rng = np.random.default_rng(4)
    train = rng.normal(size=(1000, 12))
    copies = memorization(train[[5, 17, 42]], train, metric)
    assert copies["near_copies"] == 3 and copies["nn_ratio"] < 0.01
    assert sorted((g, t) for g, t, _ in copies["closest"]) == [(0, 5), (1, 17), (2, 42)]
    fresh = memorization(rng.normal(size=(300, 12)), train, metric)
    assert fresh["near_copies_expected"] == 3  # 1 % of 300 by chance
    assert fresh["near_copies"] <= 12 and 0.8 < fresh["nn_ratio"] < 1.25  # spaced as the data is


def test_encoder_is_deterministic_and_round_trips(tmp_path):
    images = blobs(40, size=28, channels=1)
    a = train_feature_encoder(images, seed=3, steps=3, batch=16)
    b = train_feature_encoder(images, seed=3, steps=3, batch=16)
    fa = a.features(images)
    assert fa.shape == (40, a.cfg.width * 7 + a.cfg.feature_dim) and fa.dtype == np.float64
    assert np.array_equal(fa, b.features(images))
    assert not np.allclose(fa, train_feature_encoder(images, seed=4, steps=3, batch=16).features(images))
    a.save(tmp_path / "enc.safetensors")
    assert (tmp_path / "enc.json").is_file()
    loaded = FeatureEncoder.load(tmp_path / "enc.safetensors")
    assert np.array_equal(loaded.features(images), fa)
    assert loaded.cfg == a.cfg


def test_encoder_leaves_the_global_random_state_alone_and_sees_content():
    torch.manual_seed(0)
    before = torch.get_rng_state()
    images = blobs(24, size=64, channels=3)
    encoder = train_feature_encoder(images, steps=2, batch=8)
    assert torch.equal(torch.get_rng_state(), before)
    f = encoder.features(images)
    assert np.abs(f[0] - f[1]).max() > 1e-3  # different discs, different features
    grey = encoder.features(images.mean(-1, keepdims=True).astype(np.uint8))  # converted to RGB to match
    assert grey.shape == f.shape


def test_evaluate_bundles_the_numbers():
    train, fresh = blobs(60, seed=0), blobs(30, seed=1)
    encoder = train_feature_encoder(train, steps=3, batch=16)
    reference = TrainReference.build(encoder, train)
    quality = evaluate(encoder, fresh, reference, kid_subsets=5)
    copied = evaluate(encoder, train[:30], reference, kid_subsets=5)
    assert quality.n_samples == 30 and quality.n_train == 60 and quality.fd > 0
    assert copied.near_copies == 30 and copied.nn_ratio < 0.01 and copied.pixel_nn_ratio < 0.01
    assert quality.near_copies < 5
    noise = np.random.default_rng(5).integers(0, 256, (30, 32, 32, 3), dtype=np.uint8)
    scattered = evaluate(encoder, noise, reference, kid_subsets=5)
    assert scattered.near_copies == 0 and scattered.nn_ratio > 1 and scattered.fd > quality.fd
    collapsed = evaluate(encoder, np.repeat(fresh[:1], 30, 0), reference, kid_subsets=5)
    assert collapsed.variety < 1e-6 < quality.variety and collapsed.coverage < quality.coverage
    assert {"fd", "kid", "kid_std", "nn_ratio", "near_copies", "variety", "coverage"} <= quality.metrics().keys()
    assert quality.describe().startswith("FD ") and "near-copies" in quality.describe()


def test_variety_is_one_for_the_data_itself_and_zero_for_one_repeated_image():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(400, 16))
    assert variety(rng.normal(size=(400, 16)), train) == pytest.approx(1.0, abs=0.05)  # same distribution
    assert variety(np.repeat(train[:1], 50, 0), train) == pytest.approx(0.0, abs=1e-9)
    near_one = train[0] + 0.05 * rng.normal(size=(50, 16))  # a few variations of one image
    assert 0 < variety(near_one, train) < 0.1
    assert variety(train[:1], train) == 0.0  # a single sample has no spread


def test_coverage_counts_training_points_with_a_sample_among_their_neighbours():
    rng = np.random.default_rng(1)
    train = rng.normal(size=(300, 8))
    assert coverage(train, train) == 1.0  # every point is its own sample
    assert coverage(rng.normal(size=(3000, 8)), train) > 0.9  # plenty of samples from the same distribution
    one_mode = coverage(np.repeat(train[:1], 300, 0), train)
    assert 0 < one_mode < 0.05  # only the neighbourhood of that one point
    # coverage of one cluster of a two-cluster set: about half
    two = np.concatenate([rng.normal(size=(200, 8)) + 10, rng.normal(size=(200, 8)) - 10])
    half = coverage(rng.normal(size=(2000, 8)) + 10, two)
    assert 0.4 < half < 0.55
