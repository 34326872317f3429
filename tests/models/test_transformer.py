"""The GPT: KV cache == full forward, sampling filters, repetition penalty, FIM, configs."""

from __future__ import annotations

from collections import Counter

import pytest
import torch

from genstudio.core.errors import ConfigError, GenStudioError
from genstudio.core.registry import Capability, get
from genstudio.models.tokenizer import EOT_ID, FIM_MIDDLE_ID, FIM_PREFIX_ID, FIM_SUFFIX_ID
from genstudio.models.transformer import (
    GPT,
    GPTConfig,
    KVCache,
    filter_logits,
    fim_transform,
    penalize_repeats,
    sample_token,
)

V = 40


def tiny(positions="rotary", **kw) -> GPT:
    torch.manual_seed(0)
    cfg = GPTConfig(vocab_size=V, block_size=16, n_layer=2, n_head=2, n_embd=32, positions=positions, **kw)
    return GPT(cfg).eval()


def fixed_logits_model(logits: torch.Tensor) -> GPT:
    """A toy model whose next-token logits are always ``logits``, whatever the text so far."""
    model = tiny()
    model._next_logits = lambda window, cache: logits.clone()
    return model


@pytest.mark.parametrize("positions", ["rotary", "learned"])
def test_kv_cache_in_chunks_matches_full_forward(positions):
    model = tiny(positions)
    x = torch.randint(0, V, (2, 16))
    with torch.no_grad():
        full = model(x)
        cache = KVCache(model.config, 2, "cpu", torch.float32)
        parts = [model(x[:, a:b], cache) for a, b in ((0, 5), (5, 6), (6, 11), (11, 12), (12, 16))]
    assert torch.allclose(torch.cat(parts, dim=1), full, atol=1e-5)


@pytest.mark.parametrize("positions", ["rotary", "learned"])
def test_cached_generation_logits_match_full_forward_through_slides(positions):
    model = tiny(positions)
    seen = []
    real = model._next_logits

    def recording(window, cache):
        logits = real(window, cache)
        seen.append((list(window), logits))
        return logits.index_fill(0, torch.tensor([EOT_ID]), float("-inf"))  # write all 48 tokens

    model._next_logits = recording
    tokens = list(model.generate_tokens([5, 6, 7], 3 * 16, temperature=1.0, seed=1))
    assert len(seen) == len(tokens) == 48
    assert max(len(w) for w, _ in seen) == 16  # the window filled and slid (twice over 48 tokens)
    with torch.no_grad():
        for window, logits in seen:
            assert torch.allclose(logits, model(torch.tensor([window]))[0, -1], atol=1e-5)


@pytest.mark.parametrize("positions", ["rotary", "learned"])
def test_cached_and_uncached_generation_write_the_same_tokens(positions):
    model = tiny(positions)
    prompt = list(range(5, 30))  # longer than the block: cropped to its last 16 tokens
    for kwargs in ({"temperature": 0}, {"temperature": 1.0, "top_k": 10, "seed": 3}):
        cached = list(model.generate_tokens(prompt, 40, **kwargs))
        plain = list(model.generate_tokens(prompt, 40, use_cache=False, **kwargs))
        assert cached == plain and cached == list(model.generate_tokens(prompt[-16:], 40, **kwargs))


def test_seed_makes_generation_repeatable():
    model = tiny()
    a = list(model.generate_tokens([5], 30, seed=1))
    assert a == list(model.generate_tokens([5], 30, seed=1))
    assert a != list(model.generate_tokens([5], 30, seed=2))


def test_generation_stops_at_end_of_text_and_never_writes_fim_sentinels():
    logits = torch.full((V,), -5.0)
    logits[[FIM_PREFIX_ID, FIM_SUFFIX_ID, FIM_MIDDLE_ID]] = 10.0  # the likeliest, yet never allowed
    logits[9] = 3.0
    model = fixed_logits_model(logits)
    assert list(model.generate_tokens([1], 5, temperature=0)) == [9] * 5
    logits[EOT_ID] = 4.0
    assert list(model.generate_tokens([1], 5, temperature=0)) == []
    assert list(model.generate_tokens([1], 0)) == []


def allowed_and_expected(logits, top_k, top_p, temperature):
    """The tokens top-k then top-p allow, and their renormalised probabilities, worked out by hand."""
    scaled = logits / temperature
    order = sorted(range(len(scaled)), key=lambda i: -scaled[i])
    if top_k:
        kth = scaled[order[top_k - 1]]
        order = [i for i in order if scaled[i] >= kth]
    probs = torch.softmax(scaled[order], 0).tolist()
    kept, mass = [], 0.0
    for i, p in zip(order, probs):
        if mass >= top_p:
            break
        kept.append(i)
        mass += p
    total = torch.softmax(scaled[kept], 0)
    return set(kept), dict(zip(kept, total.tolist()))


@pytest.mark.parametrize("top_k,top_p", [(5, 1.0), (0, 0.6), (8, 0.8), (1, 1.0)])
def test_top_k_and_top_p_never_sample_outside_the_allowed_set(top_k, top_p):
    gen = torch.Generator().manual_seed(0)
    logits = torch.randn(V, generator=gen) * 2
    logits[[EOT_ID, FIM_PREFIX_ID, FIM_SUFFIX_ID, FIM_MIDDLE_ID]] = -1e4  # keep the toy run going
    model = fixed_logits_model(logits)
    draws = list(model.generate_tokens([5], 3000, temperature=0.9, top_k=top_k, top_p=top_p, seed=7))
    allowed, expected = allowed_and_expected(logits, top_k, top_p, 0.9)
    assert len(draws) == 3000 and set(draws) <= allowed
    counts = Counter(draws)
    for token, p in expected.items():  # and inside it, the renormalised distribution
        assert abs(counts[token] / 3000 - p) < 0.03 + 0.1 * p


def test_filter_logits_directly():
    logits = torch.tensor([3.0, 1.0, 2.0, 0.0, -1.0])
    assert torch.isinf(filter_logits(logits, top_k=2)).tolist() == [False, True, False, True, True]
    probs = logits.softmax(0)  # 0.64, 0.09, 0.24, ...: the nucleus for 0.7 is tokens 0 and 2
    assert probs[0] < 0.7 < probs[0] + probs[2]
    assert torch.isinf(filter_logits(logits, top_p=0.7)).tolist() == [False, True, False, True, True]
    assert torch.isinf(filter_logits(logits, top_p=0.01)).tolist() == [False, True, True, True, True]
    assert torch.equal(filter_logits(logits), logits)


def test_repetition_penalty_lowers_a_repeated_tokens_probability():
    logits = torch.tensor([2.0, -1.0, 0.5, 1.0])
    seen = torch.tensor([True, True, False, False])
    before, after = logits.softmax(0), penalize_repeats(logits, seen, 1.5).softmax(0)
    assert after[0] < before[0] and after[1] < before[1]  # positive logit divided, negative multiplied
    assert after[2] > before[2] and after[3] > before[3]
    # in sampling: a token that dominates appears less often once it has been written
    gen = torch.Generator().manual_seed(0)
    strong = torch.tensor([0.0, 0.0, 0.0, 0.0, 3.0, 2.5])
    counts = {p: sum(sample_token(strong, gen, 1.0, seen=torch.tensor([False] * 4 + [True, False]),
                                  repetition_penalty=p) == 4 for _ in range(2000)) for p in (1.0, 2.0)}
    assert counts[2.0] < 0.6 * counts[1.0]


def test_fim_transform_only_rearranges_and_keeps_the_length():
    gen = torch.Generator().manual_seed(0)
    x = torch.randint(5, V, (64, 17))
    out = fim_transform(x, 1.0, gen)
    assert out.shape == x.shape
    eot_positions = set()
    for row, src in zip(out.tolist(), x.tolist()):
        assert row[:2] == [FIM_PREFIX_ID, FIM_SUFFIX_ID]
        assert Counter(row) == Counter(src[:-4]) + Counter([FIM_PREFIX_ID, FIM_SUFFIX_ID, FIM_MIDDLE_ID, EOT_ID])
        m, e = row.index(FIM_MIDDLE_ID), row.index(EOT_ID)
        suffix, prefix_and_middle, rest = row[2:m], row[m + 1:e], row[e + 1:]
        n = len(suffix) + len(prefix_and_middle)
        assert 17 // 2 <= n <= 17 - 4
        assert prefix_and_middle + suffix == src[:n]  # SPM: put back in order, it is the document
        assert rest == src[n:-4]  # and the window's next tokens follow the end-of-text
        eot_positions.add(e)
    assert len(eot_positions) > 3  # the end-of-text is not always in the same place
    assert torch.equal(fim_transform(x, 0.0, gen), x)
    half = fim_transform(x, 0.5, torch.Generator().manual_seed(1))
    changed = int((half != x).any(dim=1).sum())
    assert 12 <= changed <= 52
    assert torch.equal(half, fim_transform(x, 0.5, torch.Generator().manual_seed(1)))  # exact resume


def test_training_and_validation_losses():
    model = tiny(fim_rate=0.5).train()
    x = torch.randint(5, V, (4, 17))
    loss, metrics = model.training_loss(x, torch.Generator().manual_seed(0))
    assert torch.isfinite(loss) and loss.requires_grad and metrics["loss"] == pytest.approx(loss.item())
    loss.backward()
    assert model.tok_emb.weight.grad is not None
    val = model.validation_loss(x)
    assert not val.requires_grad and 3.0 < float(val) < 4.5  # ~ log(40) at initialisation


def test_weight_tying_shares_the_embedding():
    tied, untied = tiny(), tiny(tie_weights=False)
    assert "head.weight" not in tied.state_dict() and "head.weight" in untied.state_dict()
    assert sum(p.numel() for p in untied.parameters()) - sum(p.numel() for p in tied.parameters()) == V * 32
    groups = tied.optimizer_groups()
    assert groups[1]["weight_decay"] == 0.0 and all(p.dim() == 1 for p in groups[1]["params"])


@pytest.mark.parametrize("bad", [
    {"n_embd": 30}, {"n_head": 3}, {"positions": "alibi"}, {"dropout": 1.0}, {"vocab_size": 3}, {"block_size": 4},
    {"tokenizer_kind": "words"}, {"fim_rate": 1.5}, {"bpe_vocab_size": 100}, {"n_layer": 0},
])
def test_config_validation(bad):
    with pytest.raises(ValueError):
        GPTConfig(**{"vocab_size": V, "n_embd": 32, "n_head": 2, **bad})


def test_building_without_a_vocabulary_fails_clearly():
    with pytest.raises(ConfigError, match="vocab_size is 0"):
        get("gpt").build(get("gpt").model_config("tiny"))
    with pytest.raises(GenStudioError, match="fim_rate"):
        get("infill").build(get("infill").model_config("tiny", {"vocab_size": V, "fim_rate": 0.0}))


def test_registry_entries():
    gpt, infill = get("gpt"), get("infill")
    assert gpt.modality == infill.modality == "text" and gpt.trainer == infill.trainer == "trainers.text"
    assert gpt.can(Capability.TEXT) and not gpt.can(Capability.INFILL)
    assert infill.can(Capability.TEXT) and infill.can(Capability.INFILL)
    assert gpt.model_config("small").fim_rate == 0 and infill.model_config("small").fim_rate == 0.5
    small = gpt.model_config("small", {"vocab_size": 65})
    assert (small.n_layer, small.n_head, small.n_embd, small.block_size) == (4, 4, 128, 64)
    assert gpt.train_settings("small")["batch_size"] == 12


def test_sampling_arguments_are_checked():
    model = tiny()
    for bad in ({"temperature": -1}, {"top_k": -1}, {"top_p": 0.0}, {"top_p": 1.5}, {"repetition_penalty": 0}):
        with pytest.raises(ValueError):
            next(model.generate_tokens([5], 3, **bad))
    with pytest.raises(ValueError, match="token ids"):
        next(model.generate_tokens([5, V], 3))
