"""The music models: relative attention (skewing == a naive reference), causality, KV cache, sampling;
MusicVAE's reconstructions, interpolation, KL and deterministic decoding."""

from __future__ import annotations

import math

import pytest
import torch

from genstudio.core.errors import ConfigError
from genstudio.core.events import Progress, drive
from genstudio.core.registry import Capability, get
from genstudio.models.music_transformer import (
    MusicAttention,
    MusicTransformer,
    MusicTransformerConfig,
    relative_logits,
    skew,
)
from genstudio.models.music_vae import MusicVAE, MusicVAEConfig, slerp
from genstudio.models.transformer import KVCache

V, START, END = 40, 38, 39


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny networks run fastest on one thread (and leave the other cores alone)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def tiny(relative=True, **kw) -> MusicTransformer:
    torch.manual_seed(0)
    cfg = MusicTransformerConfig(vocab_size=V, block_size=16, n_layer=2, n_head=2, n_embd=32, dropout=0.0,
                                 relative=relative, start_token=START, end_token=END, **kw)
    return MusicTransformer(cfg).eval()


def naive_relative_logits(q: torch.Tensor, rel_emb: torch.Tensor, start: int = 0) -> torch.Tensor:
    """S_rel[b, h, i, j] = q_i · E_r[L-1-(i-j)] for j ≤ i (0 above the diagonal), by explicit loops."""
    B, H, T, _ = q.shape
    L = rel_emb.shape[1]
    out = torch.zeros(B, H, T, start + T, dtype=q.dtype)
    for b in range(B):
        for h in range(H):
            table = rel_emb[h if rel_emb.shape[0] > 1 else 0]
            for i in range(T):
                for j in range(start + i + 1):
                    out[b, h, i, j] = q[b, h, i] @ table[L - 1 - (start + i - j)]
    return out


def causal_part(x: torch.Tensor, start: int = 0) -> torch.Tensor:
    T, S = x.shape[-2:]
    return x.masked_fill(~torch.ones(T, S, dtype=torch.bool).tril(diagonal=start), 0)


@pytest.mark.parametrize("tables", [1, 3])  # shared by the heads, or one per head
@pytest.mark.parametrize("T", [7, 12])  # shorter than the block, and the whole block
def test_skewing_equals_the_naive_reference(tables, T):
    torch.manual_seed(0)
    q = torch.randn(2, 3, T, 5, dtype=torch.float64)
    rel_emb = torch.randn(tables, 12, 5, dtype=torch.float64)
    fast = relative_logits(q, rel_emb)
    assert fast.shape == (2, 3, T, T)
    assert torch.allclose(causal_part(fast), naive_relative_logits(q, rel_emb), atol=1e-12)


def test_skew_moves_each_distance_to_its_diagonal():
    T = 4
    rel = torch.arange(T, dtype=torch.float64).expand(T, T)  # column k stands for distance T-1-k
    s = skew(rel)
    for i in range(T):
        for j in range(i + 1):
            assert s[i, j] == T - 1 - (i - j)


@pytest.mark.parametrize("start", [3, 9])
def test_relative_logits_after_a_cache_equal_the_naive_reference(start):
    torch.manual_seed(1)
    q = torch.randn(1, 2, 3, 4, dtype=torch.float64)
    rel_emb = torch.randn(2, 16, 4, dtype=torch.float64)
    fast = relative_logits(q, rel_emb, start)
    assert torch.allclose(causal_part(fast, start), naive_relative_logits(q, rel_emb, start), atol=1e-12)


def test_relative_attention_is_softmax_of_qk_plus_srel():
    model = tiny()
    attn: MusicAttention = model.blocks[0].attn
    x = torch.randn(2, 10, 32)
    with torch.no_grad():
        got = attn(x)
        q, k, v = attn.qkv(x).view(2, 10, 3, 2, 16).permute(2, 0, 3, 1, 4)
        logits = (q @ k.transpose(-1, -2) + naive_relative_logits(q, attn.rel_emb)) / math.sqrt(16)
        logits = logits.masked_fill(~torch.ones(10, 10, dtype=torch.bool).tril(), float("-inf"))
        want = attn.proj((logits.softmax(-1) @ v).transpose(1, 2).reshape(2, 10, 32))
    assert torch.allclose(got, want, atol=1e-5)


@pytest.mark.parametrize("relative", [True, False])
def test_changing_a_future_token_leaves_earlier_logits_alone(relative):
    model = tiny(relative)
    x = torch.randint(0, V, (1, 16))
    y = x.clone()
    y[0, 10:] = (y[0, 10:] + 1) % V
    with torch.no_grad():
        a, b = model(x), model(y)
    assert torch.allclose(a[:, :10], b[:, :10], atol=1e-6)
    assert not torch.allclose(a[:, 10:], b[:, 10:])


@pytest.mark.parametrize("relative", [True, False])
def test_kv_cache_in_chunks_matches_the_full_forward(relative):
    model = tiny(relative)
    x = torch.randint(0, V, (2, 16))
    with torch.no_grad():
        full = model(x)
        cache = KVCache(model.config, 2, "cpu", torch.float32)
        parts = [model(x[:, a:b], cache) for a, b in ((0, 5), (5, 6), (6, 11), (11, 12), (12, 16))]
    assert torch.allclose(torch.cat(parts, dim=1), full, atol=1e-5)


def test_relative_and_absolute_models_differ_in_their_position_parameters():
    rel, absolute = tiny(True), tiny(False)
    assert rel.pos_emb is None and rel.blocks[0].attn.rel_emb.shape == (2, 16, 16)
    assert absolute.pos_emb is not None and absolute.blocks[0].attn.rel_emb is None
    assert tiny(True, share_relative=True).blocks[0].attn.rel_emb.shape == (1, 16, 16)


def test_loss_is_finite_and_backpropagates_into_the_relative_tables():
    model = tiny().train()
    x = torch.randint(0, V, (3, 17))
    loss, metrics = model.training_loss(x, torch.Generator())
    loss.backward()
    assert math.isfinite(metrics["loss"]) and model.blocks[0].attn.rel_emb.grad.abs().sum() > 0
    assert torch.isfinite(model.eval().validation_loss(x))


@pytest.mark.parametrize("relative", [True, False])
def test_sampling_is_reproducible_cached_or_not_and_slides_past_the_block(relative):
    model = tiny(relative)
    events = []
    tokens = drive(model.sample([1, 2, 3], 40, temperature=1.0, top_p=1.0, seed=7), events.append)
    assert tokens[:3] == [1, 2, 3] and 4 <= len(tokens) <= 43  # the end token may stop it early
    assert [e.step for e in events] == list(range(1, len(tokens) - 2)) and all(e.total == 40 for e in events)
    assert all(isinstance(e, Progress) for e in events)
    assert drive(model.sample([1, 2, 3], 40, top_p=1.0, seed=7)) == tokens
    assert drive(model.sample([1, 2, 3], 40, top_p=1.0, seed=7, use_cache=False)) == tokens
    assert drive(model.sample([1, 2, 3], 40, top_p=1.0, seed=8)) != tokens


def fixed_logits_model(logits: torch.Tensor) -> MusicTransformer:
    model = tiny()
    model._next_logits = lambda window, cache: logits.clone()
    return model


def test_top_p_never_samples_outside_the_nucleus_and_never_the_start_token():
    logits = torch.full((V,), -4.0)
    logits[[5, 6, 7]] = torch.tensor([3.0, 2.5, 2.0])
    logits[START] = 10.0  # barred: the start token is never written
    probs = logits.index_fill(0, torch.tensor([START]), float("-inf")).softmax(-1)
    nucleus = {5, 6, 7}
    assert probs[[5, 6]].sum() < 0.9 <= probs[[5, 6, 7]].sum()
    tokens = drive(fixed_logits_model(logits).sample([], 300, temperature=1.0, top_p=0.9, seed=0))
    assert set(tokens) == nucleus
    greedy = drive(fixed_logits_model(logits).sample([1], 5, temperature=0.0))
    assert greedy == [1, 5, 5, 5, 5, 5]


def test_the_end_token_stops_sampling():
    logits = torch.full((V,), -10.0)
    logits[END] = 10.0
    assert drive(fixed_logits_model(logits).sample([4], 20, temperature=0.0)) == [4, END]


def test_music_transformer_configs_are_checked():
    with pytest.raises(ConfigError, match="vocab_size is 0"):
        MusicTransformer(MusicTransformerConfig())
    for bad in ({"encoding": "abc"}, {"n_embd": 30, "n_head": 4}, {"vocab_size": 10, "start_token": 10},
                {"transpose": 13}, {"block_size": 4}):
        with pytest.raises(ValueError):
            MusicTransformerConfig(**bad)
    with pytest.raises(ValueError, match="primer"):
        drive(tiny().sample([V], 2))


# -- MusicVAE -------------------------------------------------------------------------------------------
def tiny_vae(**kw) -> MusicVAE:
    torch.manual_seed(0)
    cfg = MusicVAEConfig(**{"vocab_size": 130, "steps": 32, "embed_dim": 16, "enc_hidden": 32, "dec_hidden": 64,
                            "dec_layers": 1, "latent_dim": 8, "beta": 0.01, "beta_warmup": 0, **kw})
    return MusicVAE(cfg)


@pytest.fixture(scope="module")
def trained_vae(one_thread):
    """A tiny MusicVAE fitted to three fixed phrases (~2 s on one core)."""
    model = tiny_vae()
    gen = torch.Generator().manual_seed(0)
    phrases = torch.randint(0, 130, (3, 32), generator=gen)
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for step in range(300):
        loss, metrics = model.training_loss(phrases, gen, step)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model.eval(), phrases


def test_vae_reconstructs_its_phrases_and_the_walk_ends_on_them(trained_vae):
    model, phrases = trained_vae
    assert torch.equal(model.decode(model.encode(phrases)), phrases)
    walk = model.interpolate(phrases[0], phrases[1], steps=5)
    assert len(walk) == 5 and all(len(p) == 32 for p in walk)
    assert walk[0] == phrases[0].tolist() and walk[-1] == phrases[1].tolist()
    assert walk[2] != walk[0] or walk[2] != walk[-1]


def test_vae_kl_is_finite_and_the_losses_are_reported(trained_vae):
    model, phrases = trained_vae
    loss, recon, kl, beta = model.losses(phrases, torch.Generator().manual_seed(1))
    assert torch.isfinite(loss) and torch.isfinite(kl) and kl > 0 and beta == 0.01
    assert torch.isfinite(model.validation_loss(phrases))


def test_vae_decoding_is_deterministic_greedy_and_seeded_when_sampling(trained_vae):
    model, _ = trained_vae
    z = model.prior_latents([1, 2], temperature=1.0)
    assert z.shape == (2, 8) and torch.equal(z, model.prior_latents([1, 2]))
    assert torch.equal(model.decode(z), model.decode(z, temperature=0.0, seed=99))
    hot = model.decode(z, temperature=1.5, seed=3)
    assert torch.equal(hot, model.decode(z, temperature=1.5, seed=3)) and hot.shape == (2, 32)
    events = []
    phrases = drive(model.sample(3, seed=5, temperature=1.0), events.append)
    assert [e.step for e in events] == [1, 2, 3] and len(phrases) == 3
    assert drive(model.sample(1, seed=6)) == [phrases[1]]


def test_vae_scheduled_sampling_and_warmups():
    model = tiny_vae(scheduled_sampling=0.5, sampling_warmup=10, beta=0.2, beta_warmup=100, free_bits=1.0).train()
    assert model.schedule(0) == (0.0, 0.0) and model.schedule(50) == (0.1, 0.5) and model.schedule(None) == (0.2, 0.5)
    x = torch.randint(0, 130, (4, 32))
    loss, metrics = model.training_loss(x, torch.Generator().manual_seed(0), step=20)
    loss.backward()
    assert math.isfinite(metrics["loss"]) and metrics["beta"] == pytest.approx(0.04)
    assert model.embed.weight.grad.abs().sum() > 0


def test_slerp_keeps_its_ends():
    a, b = torch.randn(8), torch.randn(8)
    assert torch.allclose(slerp(a, b, 0.0), a, atol=1e-6) and torch.allclose(slerp(a, b, 1.0), b, atol=1e-6)
    assert torch.allclose(slerp(a, 2 * a, 0.5), 1.5 * a)  # parallel: linear


def test_vae_configs_are_checked():
    with pytest.raises(ConfigError, match="vocab_size is 0"):
        MusicVAE(MusicVAEConfig())
    for bad in ({"steps": 30, "bars": 4}, {"scheduled_sampling": 2.0}, {"beta": -1.0}):
        with pytest.raises(ValueError):
            MusicVAEConfig(**bad)
    with pytest.raises(ValueError, match="phrases must be"):
        tiny_vae().encode(torch.zeros(31, dtype=torch.long))


def test_both_are_registered_as_music_models():
    for name in ("music-transformer", "music-vae"):
        spec = get(name)
        assert spec.modality == "music" and spec.can(Capability.MUSIC) and spec.trainer == "trainers.music"
    assert get("music-vae").can(Capability.INTERPOLATE)
