"""The feature detector: planted defects score above held-out normals and its heatmap points at them;
the bank, coreset, blur and trained threshold; the trainer hook that fits the bank before publishing."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genstudio.models.common import from_uint8
from genstudio.models.detector import (
    FeatureDetector,
    FeatureDetectorConfig,
    gaussian_blur,
    greedy_coreset,
    heat_colors,
    overlay,
)

SIZE = 32


def stripes(n: int, seed: int, size: int = SIZE) -> np.ndarray:
    """n×size×size×1 uint8 "normal" images: soft horizontal stripes of random period and phase."""
    rng = np.random.default_rng(seed)
    y = np.arange(size, dtype=np.float64)[:, None]
    out = []
    for _ in range(n):
        period, phase = rng.uniform(8, 12), rng.uniform(0, 2 * np.pi)
        img = 0.45 + 0.25 * np.sin(2 * np.pi * y / period + phase) + rng.normal(0, 0.01, (size, size))
        out.append(np.broadcast_to(img, (size, size)))
    return np.clip(np.round(np.stack(out) * 255), 0, 255).astype(np.uint8)[..., None]


def plant_squares(images: np.ndarray, seed: int, side: int = 6) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """A white side×side square in each image at a random place; returns the images and the boxes
    (y0, x0, y1, x1), end exclusive."""
    rng = np.random.default_rng(seed)
    out, boxes = images.copy(), []
    for img in out:
        y0, x0 = (int(v) for v in rng.integers(4, SIZE - side - 4, 2))
        img[y0:y0 + side, x0:x0 + side] = 255
        boxes.append((y0, x0, y0 + side, x0 + side))
    return out, boxes


def tiny_config(**overrides) -> FeatureDetectorConfig:
    return FeatureDetectorConfig(**{"image_size": SIZE, "channels": 1, "width": 8, "bank_size": 512, "top_k": 3,
                                    **overrides})


def train_detector(cfg: FeatureDetectorConfig, images: np.ndarray, steps: int = 25) -> FeatureDetector:
    torch.manual_seed(0)
    model = FeatureDetector(cfg)
    gen = torch.Generator().manual_seed(0)
    data = from_uint8(images)
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    for _ in range(steps):
        loss, _ = model.training_loss(data[torch.randint(len(data), (16,), generator=gen)], gen)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval().fit(data)
    return model


@pytest.fixture(scope="module")
def trained():
    torch.set_num_threads(1)
    return train_detector(tiny_config(), stripes(48, seed=0))


def test_planted_defects_score_above_held_out_normals_and_the_map_points_at_them(trained):
    normals = stripes(12, seed=1)
    defects, boxes = plant_squares(stripes(12, seed=2), seed=3)
    normal_scores, _ = trained.anomaly_map(from_uint8(normals))
    defect_scores, maps = trained.anomaly_map(from_uint8(defects))
    assert defect_scores.min() > normal_scores.max()
    assert maps.shape == (12, SIZE, SIZE) and torch.isfinite(maps).all()
    for heat, (y0, x0, y1, x1) in zip(maps, boxes):
        y, x = divmod(int(heat.argmax()), SIZE)
        assert y0 - 1 <= y < y1 + 1 and x0 - 1 <= x < x1 + 1, ((y, x), (y0, x0, y1, x1))


def test_fit_fills_the_bank_deterministically_and_round_trips_through_the_state_dict(trained):
    data = from_uint8(stripes(48, seed=0))
    again = FeatureDetector(trained.config)
    again.load_state_dict(trained.state_dict())
    again.eval().fit(data)
    assert torch.equal(again.bank, trained.bank) and int(again.bank_count) == 512
    x = from_uint8(stripes(3, seed=5))
    assert torch.equal(again.anomaly_map(x)[0], trained.anomaly_map(x)[0])
    # fewer patches than bank_size: every patch is kept, the rest of the bank is unused
    small = FeatureDetector(tiny_config(bank_size=4096)).eval()
    small.fit(data[:2])
    assert int(small.bank_count) == 2 * 8 * 8 and torch.all(small.bank[128:] == 0)


def test_the_trained_threshold_is_a_percentile_of_the_held_out_scores(trained):
    held_out = from_uint8(stripes(10, seed=7))
    model = FeatureDetector(tiny_config(threshold_percentile=90.0))
    model.load_state_dict(trained.state_dict())
    model.eval()
    assert model.trained_threshold_value is None
    value = model.set_trained_threshold(held_out)
    scores = model.anomaly_map(held_out)[0].double().numpy()
    assert value == pytest.approx(np.percentile(scores, 90.0), rel=1e-6)
    assert model.trained_threshold_value == pytest.approx(value) and int(model.held_out_count) == 10
    assert model.set_trained_threshold(held_out[:0]) is None and model.trained_threshold_value is None


def test_an_unfitted_detector_still_gives_finite_maps_and_pretexts_train():
    model = FeatureDetector(tiny_config(image_size=28))
    x = torch.rand(2, 1, 28, 28) * 2 - 1
    assert not model.is_fitted
    scores, maps = model.anomaly_map(x)
    assert scores.shape == (2,) and maps.shape == (2, 28, 28) and torch.isfinite(maps).all()
    loss, metrics = model.training_loss(x, torch.Generator().manual_seed(0))
    assert loss.requires_grad and 0 <= metrics["rotation_accuracy"] <= 1
    still = FeatureDetector(tiny_config(image_size=28, pretext="none"))
    loss, metrics = still.training_loss(x, torch.Generator().manual_seed(0))
    loss.backward()
    assert metrics["loss"] == 0.0 and all(p.grad is None or not p.grad.any() for p in still.parameters())


@pytest.mark.parametrize("bad", [{"pretext": "jigsaw"}, {"width": 12}, {"bank_size": 0}, {"position_weight": -1.0},
                                 {"held_out": 1.0}, {"threshold_percentile": 0.0}, {"image_size": 100}])
def test_bad_settings_are_refused(bad):
    with pytest.raises(ValueError):
        tiny_config(**bad)


def test_greedy_coreset_covers_every_cluster():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0], [10.0, 10.0]])
    points = torch.cat([c + 0.1 * torch.randn(50, 2, generator=g) for c in centres])
    picked = greedy_coreset(points, 4, torch.Generator().manual_seed(1))
    assert sorted(int(i) // 50 for i in picked) == [0, 1, 2, 3]
    assert torch.equal(greedy_coreset(points[:3], 8, g), torch.arange(3))


def test_blur_keeps_the_mass_and_sigma_zero_is_the_identity():
    maps = torch.zeros(1, 1, 16, 16)
    maps[0, 0, 8, 8] = 1.0
    blurred = gaussian_blur(maps, 1.5)
    assert blurred.sum().item() == pytest.approx(1.0, abs=1e-5) and blurred.argmax().item() == 8 * 16 + 8
    assert torch.equal(gaussian_blur(maps, 0.0), maps)


def test_heat_colours_and_overlay():
    ramp = np.linspace(0, 1, 5, dtype=np.float32)[None].repeat(2, 0)
    colours = heat_colors(ramp)
    assert colours.shape == (2, 5, 3) and colours.dtype == np.uint8
    assert colours[0, 0].tolist() == [0, 0, 0] and colours[0, -1].tolist() == [255, 255, 200]
    image = np.full((2, 5, 1), 100, np.uint8)
    assert overlay(image, np.zeros((2, 5)), 0.8).tolist() == np.full((2, 5, 3), 100).tolist()
    assert overlay(image, np.ones((2, 5)), 1.0)[0, 0].tolist() == [255, 255, 200]


def test_the_trainer_hook_fits_the_bank_and_threshold_before_a_preview(trained):
    from genstudio.core.events import drive
    from trainers.detector import DetectorData, held_out_indices, preview_samples

    assert held_out_indices(2, 0.1).tolist() == [] and held_out_indices(20, 0.0).tolist() == []
    assert held_out_indices(6, 0.1).tolist() == [2] and len(held_out_indices(100, 0.1)) == 10
    model = FeatureDetector(trained.config)
    model.load_state_dict(trained.state_dict())
    model.bank_count.zero_()
    data = DetectorData(torch.from_numpy(stripes(20, seed=0)), torch.from_numpy(stripes(5, seed=9)))
    grid = drive(preview_samples(model.eval(), 4, 0, data))
    assert grid.shape == (4, SIZE, SIZE, 3) and grid.dtype == np.uint8
    assert model.is_fitted and model.trained_threshold_value is not None and int(model.held_out_count) == 5
