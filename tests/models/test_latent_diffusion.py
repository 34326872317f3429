"""Text-to-image latent diffusion: guidance, negative prompts, the two training stages, captioned runs."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from safetensors.torch import load_file

from genstudio.core.data.captions import PAD
from genstudio.core.events import drive
from genstudio.core.registry import get
from genstudio.core.store import ModelStore
from genstudio.models.latent_diffusion import LatentDiffusionConfig
from scripts.captioned_shapes import make_captioned_shapes, prompts
from tests.trainers.test_loop import tensors_equal, train_in_process

VOCAB = ("a", "red", "blue", "circle", "square")
TINY = ["latent-diffusion", "--preset", "tiny", "--device", "cpu"]


def tiny_model(**overrides):
    """The tiny preset with weights perturbed from their initialisation (zero-initialised output
    layers would make every prediction 0 and hide what the condition does)."""
    spec = get("latent-diffusion")
    torch.manual_seed(0)
    model = spec.build(spec.model_config("tiny", {"vocab": VOCAB, **overrides}))
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
        model.latent_scale.fill_(0.7)
    return model.eval()


def test_guidance_zero_is_the_empty_caption_and_a_negative_prompt_replaces_it():
    model = tiny_model()
    x, t = torch.randn(2, *model.latent_shape), torch.tensor([10, 700])
    with torch.no_grad():
        cond = model.encode_prompts(["a red circle", "a blue square"])
        negative = model.encode_prompts(["a blue circle"] * 2)
        empty = model.net(x, t, **model.null_condition(2, "cpu"))
        assert torch.equal(model.network_output(x, t, cond, 0.0), empty)
        assert torch.equal(model.network_output(x, t, cond, 0.0, negative), model.net(x, t, **negative))
        assert not torch.allclose(model.net(x, t, **negative), empty)
        guided = model.network_output(x, t, cond, 3.0, negative)
        u, c = model.net(x, t, **negative), model.net(x, t, **cond)
        assert torch.allclose(guided, u + 3.0 * (c - u), atol=1e-5)
    # the same through the sampler: guidance 0 draws what the empty prompt (or the negative one) draws
    options = {"n": 2, "seed": 5, "steps": 3}
    plain = drive(model.sample(prompt="", guidance=1.0, **options))
    assert np.array_equal(drive(model.sample(prompt="a red circle", guidance=0.0, **options)), plain)
    assert np.array_equal(drive(model.sample(prompt="a red circle", negative_prompt="a blue square", guidance=0.0,
                                             **options)),
                          drive(model.sample(prompt="a blue square", guidance=1.0, **options)))
    assert not np.array_equal(drive(model.sample(prompt="a red circle", guidance=4.0, **options)), plain)


def test_prompts_per_image_and_unknown_words():
    model = tiny_model()
    grid = drive(model.sample(n=2, seed=1, steps=2, prompts=["a red circle", "a blue square"]))
    alone = drive(model.sample(n=1, seed=2, steps=2, prompt="a blue square"))
    assert np.array_equal(grid[1], alone[0])
    assert model.unknown_words("A purple circle, very big") == ["purple", "very", "big"]
    # unknown words are left out of the prompt, as the canvas tells the user
    assert np.array_equal(drive(model.sample(n=1, seed=2, steps=2, prompt="a big blue square!")), alone)
    with pytest.raises(ValueError, match="prompts"):
        drive(model.sample(n=3, prompts=["a", "b"]))


def grads_of(model, **kwargs) -> set[str]:
    model.zero_grad(set_to_none=True)
    loss, _ = model.training_loss(**kwargs)
    loss.backward()
    return {name.split(".")[0] for name, p in model.named_parameters() if p.grad is not None}


def test_two_stages_train_disjoint_parameters_and_fix_the_latent_scale():
    spec = get("latent-diffusion")
    torch.manual_seed(0)
    model = spec.build(spec.model_config("tiny", {"vocab": VOCAB, "ae_steps": 3})).train()
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 32, 32) * 2 - 1
    tokens = torch.tensor([[2, 3, 5, 0], [2, 4, 6, 0], [0, 0, 0, 0], [3, 5, 0, 0]])
    for step in (None, 0, 2):  # stage 1 (also for callers that pass no step): the autoencoder alone
        assert grads_of(model, x=x, generator=gen, tokens=tokens, step=step) == {"autoencoder"}
    assert float(model.latent_scale) == 0
    # stage 2: text encoder and UNet; the autoencoder is frozen and the scale fixed from this batch
    assert grads_of(model, x=x, generator=gen, tokens=tokens, step=3) == {"net", "text"}
    with torch.no_grad():
        expected = 1 / model.autoencoder.posterior(x)[0].std()
    assert torch.allclose(model.latent_scale, expected)
    scale = model.latent_scale.clone()
    assert grads_of(model, x=-x.flip(0), generator=gen, tokens=None, step=4) == {"net", "text"}
    assert torch.equal(model.latent_scale, scale)
    assert "latent_scale" in model.state_dict()  # persistent: saved models and checkpoints keep it
    # fine-tuning a trained model (--from) starts again at step 0 but keeps its autoencoder frozen
    assert grads_of(model, x=x, generator=gen, tokens=tokens, step=0) == {"net", "text"}


def test_caption_dropout_trains_the_empty_caption():
    model = get("latent-diffusion").build(LatentDiffusionConfig(**{
        **get("latent-diffusion").preset("tiny")["model"], "vocab": VOCAB, "caption_dropout": 0.5}))
    seen = []
    model.text.forward = lambda tokens, f=model.text.forward: seen.append(tokens.clone()) or f(tokens)
    tokens = torch.full((64, 8), 3)
    model.training_loss(torch.zeros(64, 3, 32, 32), torch.Generator().manual_seed(0), tokens=tokens, step=10)
    dropped = (seen[0] == PAD).all(1)
    assert 16 < int(dropped.sum()) < 48 and bool((seen[0][~dropped] == 3).all())


@pytest.mark.parametrize("bad", [{"image_size": 28}, {"image_size": 36}, {"channels": 2}, {"caption_dropout": 1.0},
                                 {"vocab": tuple("abc"), "max_vocab": 2}, {"text_width": 30, "text_heads": 4},
                                 {"prediction": "x0"}, {"ae_widths": ()}])
def test_invalid_configs_are_refused(bad):
    with pytest.raises(ValueError):
        LatentDiffusionConfig(**bad)


@pytest.mark.parametrize("source", ["sidecar", "filename"])
def test_a_captioned_folder_trains_and_the_card_keeps_the_vocabulary(tmp_path, source):
    data = make_captioned_shapes(tmp_path / "shapes", n=8, caption_source=source)
    code, events = train_in_process(tmp_path / "home", [*TINY, "--data", str(data), "--name", "ld", "--steps", "3"])
    assert code == 0, [e for e in events if e.type == "failed"]
    counts = {"sidecar": 0, "filename": 0, "folder": 0, source: 8}
    logs = "\n".join(e.message for e in events if e.type == "log")
    assert f"Captions: 8 from {'sidecar .txt files' if source == 'sidecar' else 'filenames'}" in logs
    report = json.loads((tmp_path / "home" / "runs" / "ld" / "dataset_report.json").read_text())
    assert report["caption_sources"] == counts
    card, tensors = ModelStore().load("ld")
    assert card["data"]["caption_sources"] == counts
    words = set(" ".join(prompts()[:8]).split())  # image i shows caption i (first 8: red, yellow, green)
    assert set(card["config"]["vocab"]) == words and float(tensors["latent_scale"]) > 0


def test_resume_across_the_stage_switch_is_exact(tmp_path):
    data = make_captioned_shapes(tmp_path / "shapes", n=6)
    args = [*TINY, "--data", str(data), "--steps", "4"]
    assert train_in_process(tmp_path / "a", [*args, "--name", "run"])[0] == 0
    for stop_at in (2, 3):  # stopped before the first diffusion step (ae_steps = 2), and after it
        home = tmp_path / f"b{stop_at}"
        code, events = train_in_process(home, [*args, "--name", "run"], stop_at=stop_at)
        assert code == 0 and events[-1].steps == stop_at
        code, events = train_in_process(home, [*TINY, "--name", "run", "--resume"])
        assert code == 0 and events[-1].steps == 4
        a = load_file(tmp_path / "a" / "runs" / "run" / "checkpoint" / "tensors.safetensors")
        b = load_file(home / "runs" / "run" / "checkpoint" / "tensors.safetensors")
        assert tensors_equal(a, b), f"resumed at step {stop_at}, the run diverged"


def test_the_generate_task_passes_prompts_through(tmp_path):
    from genstudio.tasks.generate import GenerateRequest, generate
    from tests.util import save_tiny_model

    store = ModelStore(tmp_path / "models", bundled=tmp_path / "none")
    save_tiny_model("latent-diffusion", "ld", store=store, vocab=VOCAB)
    request = GenerateRequest(model="ld", n=2, steps=2, prompt="a red circle", negative_prompt="a blue square",
                              guidance=3.0)
    result = drive(generate(request, torch.device("cpu"), store))
    assert result.images.shape == (2, 32, 32, 3)
    assert result.params["prompt"] == "a red circle" and result.params["guidance"] == 3.0
