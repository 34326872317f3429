"""The Music Transformer: a decoder-only transformer over music event tokens, with relative attention.

Huang et al., "Music Transformer: Generating Music with Long-Term Structure" (ICLR 2019). Music repeats
itself at fixed distances (a motif a bar later, a voice an octave below), so attention that knows how
far apart two tokens are helps more than knowing where each one is. Each layer learns a relative
embedding E_r (one L×D_head table per head, the paper's; or one shared by the heads with
``share_relative``) whose row L-1-r stands for "r tokens back". The relative logits S_rel[i, j] =
q_i · E_r[L-1-(i-j)] come from one matrix product Q·E_rᵀ (T×T) and the paper's *skewing* trick — pad a
zero column on the left, reshape to (T+1)×T, drop the first row — instead of gathering an L×L×D tensor
(Shaw et al. 2018), so memory stays O(T·D + T²). S_rel is added to QKᵀ before the causal softmax:
softmax((QKᵀ + S_rel)/√D_h)·V. With ``relative=False`` the network is a plain GPT with a learned
absolute position table (the paper's baseline). Tokens are whatever the trainer encodes (performance
events or the JSB 4-voice 16th grid); this file knows only their ids. Sampling keeps a KV cache: a new
token's relative logits are one row, q·E_r[L-1-i:]ᵀ; when the window is full it jumps forward half a
block and recomputes the kept half, as the GPT does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genstudio.core.errors import ConfigError
from genstudio.core.events import Progress
from genstudio.core.registry import ArchSpec, Capability, register
from genstudio.models.transformer import KVCache, feed_forward, filter_logits

ENCODINGS = ("performance", "grid")


@dataclass
class MusicTransformerConfig:
    vocab_size: int = 0  # token ids; set by the trainer from the encoding (0 only in presets)
    block_size: int = 256  # context window in tokens (also the longest relative distance, L)
    n_layer: int = 4  # transformer blocks
    n_head: int = 4  # attention heads (n_embd / n_head wide each)
    n_embd: int = 128  # token width
    dropout: float = 0.1  # on attention weights and residual branches, training only
    relative: bool = True  # relative attention (skewing); False: learned absolute positions, the baseline
    share_relative: bool = False  # one E_r per layer for all heads, instead of one per head (the paper's)
    encoding: str = "performance"  # what the tokens are: "performance" events or the JSB-style "grid"
    start_token: int = 0  # the id a piece starts with (an empty primer starts here); set by the trainer
    end_token: int = -1  # the id that ends a piece: sampling stops after writing it (-1: no end token)
    transpose: int = 3  # training augmentation: windows shifted by up to ± this many semitones (0 = off)

    def __post_init__(self):
        if self.vocab_size < 0 or 0 < self.vocab_size < 2:
            raise ValueError(f"vocab_size must be at least 2 (or 0 until the trainer sets it), got {self.vocab_size}")
        if not 8 <= self.block_size <= 8192:
            raise ValueError(f"block_size must be 8–8192 tokens, got {self.block_size}")
        if self.n_layer < 1 or self.n_head < 1 or self.n_embd % self.n_head:
            raise ValueError(f"n_embd ({self.n_embd}) must split into n_head ({self.n_head}) heads, n_layer ≥ 1")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.encoding not in ENCODINGS:
            raise ValueError(f"encoding must be one of {', '.join(ENCODINGS)}, got {self.encoding!r}")
        if self.vocab_size and not (0 <= self.start_token < self.vocab_size and self.end_token < self.vocab_size):
            raise ValueError(f"start_token and end_token must be ids below vocab_size ({self.vocab_size})")
        if not 0 <= self.transpose <= 12:
            raise ValueError(f"transpose must be 0–12 semitones, got {self.transpose}")


# -- relative attention ------------------------------------------------------------------------------
def skew(rel: torch.Tensor) -> torch.Tensor:
    """(..., T, T) with rel[..., i, k] = q_i · E_r[L-T+k] (distance T-1-k) -> S_rel[..., i, j] at distance
    i - j, for j ≤ i (the upper triangle is left-over padding that the causal mask hides)."""
    *lead, T, _ = rel.shape
    padded = F.pad(rel, (1, 0))  # (..., T, T+1): a zero column on the left
    return padded.reshape(*lead, T + 1, T)[..., 1:, :]  # (..., T, T)


def relative_logits(q: torch.Tensor, rel_emb: torch.Tensor, start: int = 0, keys: int | None = None) -> torch.Tensor:
    """S_rel (B, H, T, keys) for queries ``q`` (B, H, T, D) at positions start…start+T-1 over keys at 0…keys-1,
    from ``rel_emb`` (H or 1, L, D). From position 0 this is the skewing trick; after a cache (start > 0)
    each row is q_i against E_r rows L-1-(start+i) onwards, gathered (a step of sampling: one row)."""
    T, L = q.shape[2], rel_emb.shape[1]
    keys = start + T if keys is None else keys
    if start == 0 and keys == T:
        return skew(q @ rel_emb[:, L - T:].transpose(1, 2))  # (B, H, T, T)
    qe = q @ rel_emb.transpose(1, 2)  # (B, H, T, L): q_i against every distance
    i = torch.arange(start, start + T, device=q.device)[:, None]
    j = torch.arange(keys, device=q.device)[None, :]
    index = (L - 1 - (i - j)).clamp(0, L - 1)  # (T, keys); future keys are clamped and masked later
    return qe.gather(3, index.expand(*qe.shape[:2], T, keys))


class MusicAttention(nn.Module):
    def __init__(self, config: MusicTransformerConfig):
        super().__init__()
        self.n_head, self.dropout = config.n_head, config.dropout
        head_dim = config.n_embd // config.n_head
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=False)
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=False)
        tables = 1 if config.share_relative else config.n_head
        self.rel_emb = (nn.Parameter(torch.randn(tables, config.block_size, head_dim) * head_dim ** -0.5)
                        if config.relative else None)  # (H or 1, L, D): row L-1-r is distance r

    def forward(self, x: torch.Tensor, cache: KVCache | None = None, layer: int = 0) -> torch.Tensor:
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_head, C // self.n_head).permute(2, 0, 3, 1, 4)  # 3 × (B, H, T, D)
        start = 0 if cache is None else cache.length
        if cache is not None:
            k, v = cache.store(layer, k, v)
        p = self.dropout if self.training else 0.0
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            # bf16 on a CPU: the linears gain, but attention's bf16 backward is several times slower (the GPT's finding)
            with torch.autocast("cpu", enabled=False):
                y = self._attend(q.float(), k.float(), v.float(), start, p).to(x.dtype)
        else:
            y = self._attend(q, k, v, start, p)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))

    def _attend(self, q, k, v, start: int, p: float) -> torch.Tensor:
        """(B, H, T, D) queries over the (B, H, start + T, D) keys and values -> (B, H, T, D)."""
        T, device = q.shape[2], q.device
        if self.rel_emb is None:
            mask = None
            if start and T > 1:  # a chunk after cached tokens sees the cache and the chunk up to itself
                mask = torch.ones(T, start + T, dtype=torch.bool, device=device).tril(diagonal=start)
            return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=start == 0 and T > 1, dropout_p=p)
        # sdpa scales QKᵀ by 1/√D and adds the float mask: pass S_rel/√D with -inf above the diagonal
        bias = relative_logits(q, self.rel_emb.to(q.dtype), start) / math.sqrt(q.shape[-1])  # (B, H, T, start + T)
        allowed = torch.ones(T, start + T, dtype=torch.bool, device=device).tril(diagonal=start)
        return F.scaled_dot_product_attention(q, k, v, attn_mask=bias.masked_fill(~allowed, float("-inf")), dropout_p=p)


class Block(nn.Module):
    """Pre-LN: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, config: MusicTransformerConfig):
        super().__init__()
        width = config.n_embd
        self.ln1 = nn.LayerNorm(width, bias=False)
        self.attn = MusicAttention(config)
        self.ln2 = nn.LayerNorm(width, bias=False)
        self.mlp = feed_forward(width)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x, cache=None, layer=0):
        x = x + self.drop(self.attn(self.ln1(x), cache, layer))
        return x + self.drop(self.mlp(self.ln2(x)))


# -- the model --------------------------------------------------------------------------------------
class MusicTransformer(nn.Module):
    def __init__(self, config: MusicTransformerConfig):
        super().__init__()
        if config.vocab_size == 0:
            raise ConfigError("The Music Transformer's vocab_size is 0: the trainer sets it from the music "
                              "encoding, so build the network from a trained model's config (or give vocab_size).")
        self.config = config
        V, C = config.vocab_size, config.n_embd
        self.tok_emb = nn.Embedding(V, C)
        self.pos_emb = None if config.relative else nn.Embedding(config.block_size, C)
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(C, bias=False)
        for module in self.modules():
            if isinstance(module, (nn.Linear, nn.Embedding)):
                nn.init.normal_(module.weight, std=0.02)
        for block in self.blocks:  # GPT-2: residual branches scaled down with depth
            for proj in (block.attn.proj, block.mlp[2]):
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * config.n_layer))

    @property
    def example_length(self) -> int:
        """Tokens in one training example: a window of block_size inputs and the token after each."""
        return self.config.block_size + 1

    def optimizer_groups(self) -> list[dict]:
        """Weight decay on matrices, embeddings and E_r; not on LayerNorm gains."""
        params = [p for p in self.parameters() if p.requires_grad]
        return [{"params": [p for p in params if p.dim() >= 2]},
                {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None, last_only: bool = False) -> torch.Tensor:
        """(B, T) token ids -> (B, T, V) logits (B, 1, V with ``last_only``), continuing ``cache`` if given."""
        B, T = idx.shape
        start = 0 if cache is None else cache.length
        if start + T > self.config.block_size:
            raise ValueError(f"{start + T} positions exceed the block size {self.config.block_size}")
        x = self.tok_emb(idx)  # (B, T, C)
        if self.pos_emb is not None:
            x = x + self.pos_emb(torch.arange(start, start + T, device=idx.device))
        x = self.drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i)
        if cache is not None:
            cache.length += T
        x = self.ln_f(x[:, -1:] if last_only else x)
        return F.linear(x, self.tok_emb.weight)  # the output layer is the embedding, transposed

    def next_token_loss(self, x: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy (nats per token) of (B, T+1) windows' tokens 1… given those before."""
        logits = self(x[:, :-1])
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), x[:, 1:].reshape(-1))

    def training_loss(self, x: torch.Tensor, generator: torch.Generator):
        """(B, block_size + 1) windows (the trainer has already transposed them) -> next-token loss."""
        loss = self.next_token_loss(x)
        return loss, {"loss": float(loss.detach())}

    @torch.no_grad()
    def validation_loss(self, x: torch.Tensor) -> torch.Tensor:
        return self.next_token_loss(x)

    # -- composing ------------------------------------------------------------------------------
    def sample(self, primer: list[int] | tuple[int, ...] = (), steps: int = 512, temperature: float = 1.0,
               top_p: float = 0.95, top_k: int = 0, seed: int = 0, use_cache: bool = True):
        """Continue ``primer`` by ``steps`` tokens; yields a Progress per token, returns primer + new tokens.

        An empty primer starts from the start token (not returned). Temperature 0 is greedy; top-p keeps
        the smallest set of likeliest tokens reaching ``top_p`` (Holtzman et al. 2020). The start token is
        never written; writing the end token stops early. With or without ``use_cache`` the windows are
        the same, so the tokens are too.
        """
        if steps < 0 or temperature < 0 or top_k < 0 or not 0 < top_p <= 1:
            raise ValueError("steps, temperature and top_k must be ≥ 0 and top_p in (0, 1]")
        cfg = self.config
        device = self.tok_emb.weight.device
        generator = torch.Generator(device).manual_seed(seed)
        tokens = [int(t) for t in primer]
        if tokens and not 0 <= min(tokens) <= max(tokens) < cfg.vocab_size:
            raise ValueError(f"primer token ids must be in [0, {cfg.vocab_size}), got {min(tokens)}–{max(tokens)}")
        window = tokens[-cfg.block_size:] or [cfg.start_token]
        cache = KVCache(cfg, 1, device, self.tok_emb.weight.dtype) if use_cache else None
        for n in range(steps):
            with torch.inference_mode():
                logits = self._next_logits(window, cache)
                token = pick_token(logits, generator, temperature, top_k, top_p, barred=cfg.start_token)
            tokens.append(token)
            window.append(token)
            yield Progress(n + 1, steps, stage="sample")
            if token == cfg.end_token:
                break
            if len(window) > cfg.block_size:  # full: jump half a block; the cache recomputes the kept half
                window = window[-(cfg.block_size // 2):]
                if cache is not None:
                    cache.length = 0
        return tokens

    def _next_logits(self, window: list[int], cache: KVCache | None) -> torch.Tensor:
        """(V,) float logits for the token after ``window``, feeding the cache what it has not seen."""
        new = window if cache is None else window[cache.length:]
        idx = torch.tensor([new], dtype=torch.long, device=self.tok_emb.weight.device)
        return self(idx, cache, last_only=True)[0, -1].float()


def pick_token(logits: torch.Tensor, generator: torch.Generator, temperature: float = 1.0, top_k: int = 0,
               top_p: float = 1.0, barred: int | None = None) -> int:
    """One token from (V,) logits: ``barred`` (the start token) never, then greedy or temperature + filters."""
    if barred is not None and 0 <= barred < logits.numel():
        logits = logits.index_fill(0, torch.tensor([barred], device=logits.device), float("-inf"))
    if temperature == 0:
        return int(logits.argmax())
    probs = filter_logits(logits / temperature, top_k, top_p).softmax(-1)
    return int(torch.multinomial(probs, 1, generator=generator))


_DESCRIPTION = ("Music Transformer: a decoder-only transformer over MIDI performance events (or a 4-voice "
                "16th-note grid) with relative attention, the skewing formulation of Huang et al. (2018); "
                "continues a primer or composes from nothing with temperature and top-p.")
register(ArchSpec(name="music-transformer", family="music-transformer", modality="music",
                  config_cls=MusicTransformerConfig, builder=MusicTransformer,
                  capabilities=frozenset({Capability.MUSIC}), trainer="trainers.music", description=_DESCRIPTION,
                  sampler_options=("steps", "temperature", "top_p", "top_k"),
                  sampler_defaults={"steps": 512, "temperature": 1.0, "top_p": 0.95, "top_k": 0}))
