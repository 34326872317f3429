"""The contract every registered architecture keeps, run on its ``tiny`` preset (DESIGN.md)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from genstudio.core import config as configlib
from genstudio.core.events import Progress, drive
from genstudio.core.registry import Capability, specs
from genstudio.core.store import ModelStore, new_card

SPECS = specs()


def test_registry_is_not_empty_and_names_are_unique():
    names = [s.name for s in SPECS]
    assert "ddpm" in names and len(names) == len(set(names))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_presets_and_summary(spec):
    assert {"tiny", "small", "medium"} <= set(spec.presets)
    for preset in spec.presets:
        spec.model_config(preset)  # every preset builds a valid config
    summary = spec.summary()
    assert set(summary) == {"name", "family", "modality", "capabilities"}
    assert all(c in {x.value for x in Capability} for c in summary["capabilities"])


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_tiny_build_train_sample_save_load(spec, tmp_path):
    torch.manual_seed(0)
    cfg = spec.model_config("tiny")
    model = spec.build(cfg)
    gen = torch.Generator().manual_seed(0)
    size = cfg.image_size
    batch = torch.rand(2, cfg.channels, size, size) * 2 - 1

    # forward + two train steps: finite loss, weights move
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in model.parameters()]
    for _ in range(2):
        loss, metrics = model.training_loss(batch, gen)
        assert torch.isfinite(loss) and "loss" in metrics
        loss.backward()
        opt.step()
        opt.zero_grad()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))

    # sampling: a generator of progress events returning uint8 images of the right shape
    model.eval()
    events = []
    images = drive(model.sample(n=2, seed=3, steps=3), events.append)
    assert images.shape == (2, size, size, cfg.channels) and images.dtype == np.uint8
    assert [e.step for e in events if isinstance(e, Progress)] == [1, 2, 3]

    # save/load round trip through the library gives the same network
    store = ModelStore(tmp_path / "models", bundled=tmp_path / "none")
    store.save(new_card("rt", spec.name, configlib.to_dict(cfg), steps=2), model.state_dict())
    card, tensors = store.load("rt")
    again = spec.build(spec.config_from(card["config"]))
    again.load_state_dict(tensors)
    again.eval()
    assert np.array_equal(drive(again.sample(n=2, seed=3, steps=3)), images)
