"""The contract every registered architecture keeps, run on its ``tiny`` preset (DESIGN.md)."""

from __future__ import annotations

import inspect

import numpy as np
import pytest
import torch

from genstudio.core import config as configlib
from genstudio.core.events import Progress, drive
from genstudio.core.registry import Capability, specs
from genstudio.core.store import ModelStore, new_card
from genstudio.models.common import to_uint8

SPECS = specs()
IMAGE_SPECS = [s for s in SPECS if s.modality == "image"]
TEXT_SPECS = [s for s in SPECS if s.modality == "text"]
MUSIC_SPECS = [s for s in SPECS if s.modality == "music"]


def test_registry_is_not_empty_and_names_are_unique():
    names = [s.name for s in SPECS]
    assert "ddpm" in names and len(names) == len(set(names))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_presets_and_summary(spec):
    assert {"tiny", "small", "medium"} <= set(spec.presets)
    for preset in spec.presets:
        spec.model_config(preset)  # every preset builds a valid config
    size = {"text": "block_size", "music": "vocab_size"}.get(spec.modality, "image_size")
    assert spec.has_setting(size) and not spec.has_setting("no_such_setting")
    summary = spec.summary()
    assert set(summary) == {"name", "family", "modality", "capabilities"}
    assert all(c in {x.value for x in Capability} for c in summary["capabilities"])


@pytest.mark.parametrize("spec", IMAGE_SPECS, ids=lambda s: s.name)
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
    for step in range(2):
        for phase in getattr(model, "training_phases", None) or (None,):  # GANs: D then G
            extra = {} if phase is None else {"phase": phase, "step": step}
            if spec.can(Capability.TRANSLATE):  # two domains: a batch of B beside x, A's
                extra = {"phase": phase, "x_b": batch.flip(0)}
            loss, metrics = model.training_loss(batch, gen, **extra)
            assert torch.isfinite(loss) and "loss" in metrics
            loss.backward()
            opt.step()
            opt.zero_grad()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))

    model.eval()
    if not spec.can(Capability.GENERATE):  # a translator has no sampler: its outputs are translations
        if spec.can(Capability.TRANSLATE):
            check_translation_round_trip(spec, model, batch, tmp_path)
        else:  # a detector only scores: its maps are what must survive the library
            check_anomaly_round_trip(spec, model, batch, tmp_path)
        return
    # sampling: a generator of progress events returning uint8 images of the right shape
    events = []
    options = fast_options(spec)
    images = drive(model.sample(n=2, seed=3, **options), events.append)
    assert images.shape == (2, size, size, cfg.channels) and images.dtype == np.uint8
    steps = [e.step for e in events if isinstance(e, Progress)]
    assert steps and steps == sorted(set(steps)) and steps[-1] == events[-1].total
    assert set(getattr(model, "preview_options", {})) <= set(spec.sampler_options)
    # every option the canvas shows is a keyword of sample(), and the declared defaults are its own
    signature = inspect.signature(model.sample).parameters
    assert set(spec.sampler_options) <= set(signature)
    assert spec.sampler_defaults == {k: signature[k].default for k in spec.sampler_options}

    # save/load round trip through the library gives the same network
    store = ModelStore(tmp_path / "models", bundled=tmp_path / "none")
    store.save(new_card("rt", spec.name, configlib.to_dict(cfg), steps=2), model.state_dict())
    card, tensors = store.load("rt")
    again = spec.build(spec.config_from(card["config"]))
    again.load_state_dict(tensors)
    again.eval()
    assert np.array_equal(drive(again.sample(n=2, seed=3, **options)), images)
    # image i of a grid is the same image generated alone with seed + i
    assert np.array_equal(drive(again.sample(n=1, seed=4, **options))[0], images[1])


@pytest.mark.parametrize("spec", TEXT_SPECS, ids=lambda s: s.name)
def test_text_tiny_build_train_write_save_load(spec, tmp_path):
    """Text models: token windows in, a loss out; tokens written from a prompt; the card rebuilds them."""
    from genstudio.models.tokenizer import fit_tokenizer

    tok = fit_tokenizer("char", ["a small text to learn from, twice. " * 2])
    cfg = spec.model_config("tiny", {"tokenizer": tok.to_json(), "vocab_size": tok.vocab_size})
    torch.manual_seed(0)
    model = spec.build(cfg)
    gen = torch.Generator().manual_seed(0)
    windows = torch.randint(len(tok.special_ids) + 1, tok.vocab_size, (2, cfg.block_size + 1))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in model.parameters()]
    for _ in range(2):
        loss, metrics = model.training_loss(windows, gen)
        assert torch.isfinite(loss) and "loss" in metrics
        loss.backward()
        opt.step()
        opt.zero_grad()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    model.eval()
    assert torch.isfinite(model.validation_loss(windows))
    prompt = tok.encode("a small")
    if spec.can(Capability.INFILL):
        prompt = [tok.fim_prefix_id, *tok.encode("a sm"), tok.fim_suffix_id, *tok.encode("text"), tok.fim_middle_id]
    tokens = list(model.generate_tokens(prompt, 12, seed=3))
    assert len(tokens) <= 12 and all(0 <= t < tok.vocab_size for t in tokens)

    store = ModelStore(tmp_path / "models", bundled=tmp_path / "none")
    store.save(new_card("rt", spec.name, configlib.to_dict(cfg), steps=2), model.state_dict())
    card, tensors = store.load("rt")
    again = spec.build(spec.config_from(card["config"]))
    again.load_state_dict(tensors)
    assert list(again.eval().generate_tokens(prompt, 12, seed=3)) == tokens


@pytest.mark.parametrize("spec", MUSIC_SPECS, ids=lambda s: s.name)
def test_music_tiny_build_train_sample_save_load(spec, tmp_path):
    """Music models: examples of ``example_length`` token ids in (windows or phrases; the vocabulary is
    the trainer's encoding's), a loss out; ``sample`` a generator of progress events returning token ids
    (a list, or a list of phrases); the card rebuilds them. The music capability's interpolation too."""
    vocab = 50
    cfg = spec.model_config("tiny", {"vocab_size": vocab})
    assert spec.can(Capability.MUSIC)
    torch.manual_seed(0)
    model = spec.build(cfg)
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(0, vocab, (2, model.example_length))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    before = [p.detach().clone() for p in model.parameters()]
    extra = {"step": 1} if "step" in inspect.signature(model.training_loss).parameters else {}
    for _ in range(2):
        loss, metrics = model.training_loss(x, gen, **extra)
        assert torch.isfinite(loss) and "loss" in metrics
        loss.backward()
        opt.step()
        opt.zero_grad()
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    model.eval()
    assert torch.isfinite(model.validation_loss(x))

    events = []
    options = fast_options(spec)
    out = drive(model.sample(seed=3, **options), events.append)
    tokens = [t for item in out for t in (item if isinstance(item, list) else [item])]
    assert tokens and all(isinstance(t, int) and 0 <= t < vocab for t in tokens)
    steps = [e.step for e in events if isinstance(e, Progress)]
    assert steps and steps == sorted(set(steps)) and steps[-1] == events[-1].total
    signature = inspect.signature(model.sample).parameters
    assert set(spec.sampler_options) <= set(signature)
    assert spec.sampler_defaults == {k: signature[k].default for k in spec.sampler_options}
    if spec.can(Capability.INTERPOLATE):
        walk = model.interpolate(x[0], x[1], steps=3)
        assert len(walk) == 3 and all(len(p) == model.example_length for p in walk)

    store = ModelStore(tmp_path / "models", bundled=tmp_path / "none")
    store.save(new_card("rt", spec.name, configlib.to_dict(cfg), steps=2), model.state_dict())
    card, tensors = store.load("rt")
    again = spec.build(spec.config_from(card["config"]))
    again.load_state_dict(tensors)
    assert drive(again.eval().sample(seed=3, **options)) == out


def check_translation_round_trip(spec, model, batch: torch.Tensor, tmp_path) -> None:
    with torch.no_grad():
        out = model.translate(batch, "a2b")
        assert out.shape == batch.shape and out.min() >= -1 and out.max() <= 1
        store = ModelStore(tmp_path / "models", bundled=tmp_path / "none")
        store.save(new_card("rt", spec.name, configlib.to_dict(model.config), steps=2), model.state_dict())
        card, tensors = store.load("rt")
        again = spec.build(spec.config_from(card["config"]))
        again.load_state_dict(tensors)
        assert torch.equal(again.eval().translate(batch, "a2b"), out)


def check_anomaly_round_trip(spec, model, batch: torch.Tensor, tmp_path) -> None:
    assert spec.can(Capability.ANOMALY)
    if hasattr(model, "fit"):  # a detector that builds a memory bank from normal images
        model.fit(batch)
    with torch.no_grad():
        scores, maps = model.anomaly_map(batch)
        store = ModelStore(tmp_path / "models", bundled=tmp_path / "none")
        store.save(new_card("rt", spec.name, configlib.to_dict(model.config), steps=2), model.state_dict())
        card, tensors = store.load("rt")
        again = spec.build(spec.config_from(card["config"]))
        again.load_state_dict(tensors)
        again_scores, again_maps = again.eval().anomaly_map(batch)
        assert torch.equal(again_scores, scores) and torch.equal(again_maps, maps)


def fast_options(spec) -> dict:
    return {"steps": 3} if "steps" in spec.sampler_options else {}


@pytest.mark.parametrize("spec", IMAGE_SPECS, ids=lambda s: s.name)
def test_declared_capabilities_have_their_methods(spec):
    """Each capability's method exists and returns what the canvases rely on (common.py)."""
    torch.manual_seed(0)
    cfg = spec.model_config("tiny")
    model = spec.build(cfg).eval()
    size, c = cfg.image_size, cfg.channels
    x = (torch.randint(0, 256, (2, c, size, size)).float() / 127.5 - 1)
    with torch.no_grad():
        if spec.can(Capability.LIKELIHOOD):
            nll = model.negative_log_likelihood(x)
            assert nll.shape == (2,) and torch.all(torch.isfinite(nll))
            assert model.likelihood_kind in ("exact", "iwae", "elbo")
        if spec.can(Capability.RECONSTRUCT) or spec.can(Capability.DENOISE):
            out = model.reconstruct(x)
            assert out.shape == x.shape and out.min() >= -1 and out.max() <= 1
        if spec.can(Capability.INTERPOLATE):
            prior = model.prior_latents([1, 2, 3], temperature=0.7)
            assert prior.ndim == 2 and prior.shape[0] == 3
            assert model.decode(prior).shape == (3, *x.shape[1:])
            z = prior
        if spec.can(Capability.ENCODE):
            assert spec.can(Capability.INTERPOLATE)
            z = model.encode(x)
            assert z.shape == (2, prior.shape[1])
            assert model.decode(z).shape == x.shape
        if spec.can(Capability.TRAVERSE):
            assert spec.can(Capability.INTERPOLATE) and model.latent_dim == z.shape[1]
        if spec.can(Capability.ANOMALY):
            scores, maps = model.anomaly_map(x)
            assert scores.shape == (2,) and maps.shape == (2, size, size)
            assert torch.all(torch.isfinite(scores)) and torch.all(torch.isfinite(maps))
        if spec.can(Capability.TRANSLATE):  # fully convolutional: any sides that are multiples of 4
            wide = torch.rand(1, c, size + 4, 2 * size) * 2 - 1
            for direction in ("a2b", "b2a"):
                out = model.translate(wide, direction)
                assert out.shape == wide.shape and out.min() >= -1 and out.max() <= 1
        if spec.can(Capability.INPAINT):  # the inpaint task's interface (tests/models/test_inpainting.py)
            image, mask = to_uint8(x)[0], np.zeros((size, size), np.float32)
            mask[: size // 2] = 1
            out = drive(model.inpaint(image, mask, n=2, seed=1, steps=2, strength=1.0, preview_every=0, seeds=None))
            assert out.shape == (2, size, size, c) and out.dtype == np.uint8
