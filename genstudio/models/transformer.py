"""A GPT: a decoder-only transformer that predicts the next token, and writes by sampling one at a time.

Radford et al., "Language Models are Unsupervised Multitask Learners" (GPT-2, 2019), in nanoGPT's
shape: pre-LayerNorm blocks, causal self-attention through PyTorch's scaled-dot-product attention,
a 4× GELU MLP, no biases, and the output layer sharing the token embedding's weights. Positions are
rotary (Su et al., "RoFormer", 2021: queries and keys rotated by their position, so attention sees
offsets) or a learned table. Generation keeps a KV cache (each layer's keys and values, rotated
ones included, for the tokens already seen) so a new token costs one position, not the whole window;
when the window is full it jumps forward half a block and the kept half is recomputed once. Sampling
offers temperature, top-k, nucleus top-p (Holtzman et al. 2020) and CTRL's repetition penalty
(Keskar et al. 2019). The `infill` models train with fill-in-the-middle (Bavarian et al., "Efficient
Training of Language Models to Fill in the Middle", 2022): a share of the windows are cut at two
random points and rearranged prefix-suffix-middle behind sentinel tokens, so the same network learns
to write the middle of a text given what comes before and after it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from genstudio.core.errors import ConfigError
from genstudio.core.registry import ArchSpec, Capability, register
from genstudio.models.tokenizer import (
    BPE_VOCAB_RANGE,
    EOT_ID,
    FIM_MIDDLE_ID,
    FIM_PREFIX_ID,
    FIM_SUFFIX_ID,
    KINDS,
    SPECIAL_TOKENS,
)

POSITIONS = ("rotary", "learned")
FIM_SENTINELS = (FIM_PREFIX_ID, FIM_SUFFIX_ID, FIM_MIDDLE_ID)


@dataclass
class GPTConfig:
    vocab_size: int = 0  # tokens; set by the trainer from the tokenizer (0 only in presets)
    block_size: int = 256  # context window in tokens
    n_layer: int = 4  # transformer blocks
    n_head: int = 4  # attention heads (n_embd / n_head wide each)
    n_embd: int = 128  # token width
    dropout: float = 0.0  # on attention weights and residual branches, training only
    positions: str = "rotary"  # "rotary" (relative, RoPE) or "learned" (an absolute table, GPT-2's)
    tie_weights: bool = True  # the output layer is the token embedding, transposed
    tokenizer: str = ""  # the tokenizer's JSON (genstudio.models.tokenizer); set by the trainer
    tokenizer_kind: str = "char"  # what the trainer fits: "char" or "bpe"
    bpe_vocab_size: int = 2048  # BPE tokens the trainer aims for (fewer if the text is short)
    fim_rate: float = 0.0  # share of training windows rearranged for fill-in-the-middle (0.5 in `infill`)

    def __post_init__(self):
        if self.vocab_size != 0 and self.vocab_size <= len(SPECIAL_TOKENS):
            raise ValueError(f"vocab_size must be more than the {len(SPECIAL_TOKENS)} special tokens "
                             f"(or 0 until a tokenizer is fitted), got {self.vocab_size}")
        if not 8 <= self.block_size <= 8192:
            raise ValueError(f"block_size must be 8–8192 tokens, got {self.block_size}")
        if self.n_layer < 1 or self.n_head < 1:
            raise ValueError(f"n_layer and n_head must be at least 1, got {self.n_layer} and {self.n_head}")
        if self.n_embd % self.n_head or (self.n_embd // self.n_head) % 2:
            raise ValueError(f"n_embd ({self.n_embd}) must split into n_head ({self.n_head}) heads of even width")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"dropout must be in [0, 1), got {self.dropout}")
        if self.positions not in POSITIONS:
            raise ValueError(f"positions must be one of {', '.join(POSITIONS)}, got {self.positions!r}")
        if self.tokenizer_kind not in KINDS:
            raise ValueError(f"tokenizer_kind must be one of {', '.join(KINDS)}, got {self.tokenizer_kind!r}")
        if not BPE_VOCAB_RANGE[0] <= self.bpe_vocab_size <= BPE_VOCAB_RANGE[1]:
            raise ValueError(f"bpe_vocab_size must be {BPE_VOCAB_RANGE[0]}–{BPE_VOCAB_RANGE[1]}, got {self.bpe_vocab_size}")
        if not 0 <= self.fim_rate <= 1:
            raise ValueError(f"fim_rate must be in [0, 1], got {self.fim_rate}")


# -- positions and attention -------------------------------------------------------------------------
def rotary_tables(block_size: int, head_dim: int, base: float = 10000.0) -> tuple[torch.Tensor, torch.Tensor]:
    """cos and sin of position × frequency, (block_size, head_dim / 2) each."""
    freqs = 1.0 / base ** (torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    angles = torch.arange(block_size, dtype=torch.float64)[:, None] * freqs[None]
    return angles.cos().float(), angles.sin().float()


def rotate(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate each (first-half, second-half) pair of x's features by its position's angle: (B, H, T, D)."""
    x1, x2 = x.chunk(2, dim=-1)
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class KVCache:
    """Every layer's keys and values for the tokens seen so far, preallocated for one window."""

    def __init__(self, config: GPTConfig, batch: int, device, dtype):
        shape = (config.n_layer, batch, config.n_head, config.block_size, config.n_embd // config.n_head)
        self.k = torch.zeros(shape, device=device, dtype=dtype)
        self.v = torch.zeros(shape, device=device, dtype=dtype)
        self.length = 0  # positions filled

    def store(self, layer: int, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Append k, v (B, H, T, D) after the cached positions; return all of them."""
        end = self.length + k.shape[2]
        self.k[layer, :, :, self.length:end] = k
        self.v[layer, :, :, self.length:end] = v
        return self.k[layer, :, :, :end], self.v[layer, :, :, :end]


class CausalSelfAttention(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        self.n_head, self.dropout = config.n_head, config.dropout
        self.qkv = nn.Linear(config.n_embd, 3 * config.n_embd, bias=False)
        self.proj = nn.Linear(config.n_embd, config.n_embd, bias=False)

    def forward(self, x, rope=None, cache: KVCache | None = None, layer: int = 0):
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_head, C // self.n_head).permute(2, 0, 3, 1, 4)  # 3 × (B, H, T, D)
        if rope is not None:
            q, k = rotate(q, *rope), rotate(k, *rope)
        start = 0 if cache is None else cache.length
        if cache is not None:
            k, v = cache.store(layer, k, v)
        mask = None
        if start and T > 1:  # a chunk after cached tokens: each query sees the cache and the chunk up to itself
            mask = torch.ones(T, start + T, dtype=torch.bool, device=x.device).tril(diagonal=start)
        causal, p = start == 0 and T > 1, self.dropout if self.training else 0.0
        if x.device.type == "cpu" and torch.is_autocast_enabled("cpu"):
            # bf16 on a CPU: the linears gain ~1.6×, but attention's bf16 backward is several times slower
            with torch.autocast("cpu", enabled=False):
                y = F.scaled_dot_product_attention(q.float(), k.float(), v.float(), attn_mask=mask,
                                                   is_causal=causal, dropout_p=p).to(x.dtype)
        else:
            y = F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, dropout_p=p)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))


def feed_forward(width: int) -> nn.Sequential:
    """The block's MLP: width -> 4·width -> width with GELU, no biases (nanoGPT's; the music model's too)."""
    return nn.Sequential(nn.Linear(width, 4 * width, bias=False), nn.GELU(), nn.Linear(4 * width, width, bias=False))


class Block(nn.Module):
    """Pre-LN: x + attention(LN(x)), then x + MLP(LN(x))."""

    def __init__(self, config: GPTConfig):
        super().__init__()
        width = config.n_embd
        self.ln1 = nn.LayerNorm(width, bias=False)
        self.attn = CausalSelfAttention(config)
        self.ln2 = nn.LayerNorm(width, bias=False)
        self.mlp = feed_forward(width)
        self.drop = nn.Dropout(config.dropout)

    def forward(self, x, rope=None, cache=None, layer=0):
        x = x + self.drop(self.attn(self.ln1(x), rope, cache, layer))
        return x + self.drop(self.mlp(self.ln2(x)))


# -- the model --------------------------------------------------------------------------------------
class GPT(nn.Module):
    def __init__(self, config: GPTConfig):
        super().__init__()
        if config.vocab_size == 0:
            raise ConfigError("The GPT's vocab_size is 0: it is set from the tokenizer when training starts, "
                              "so build the network from a trained model's config (or give vocab_size).")
        self.config = config
        V, C = config.vocab_size, config.n_embd
        self.tok_emb = nn.Embedding(V, C)
        self.pos_emb = nn.Embedding(config.block_size, C) if config.positions == "learned" else None
        self.drop = nn.Dropout(config.dropout)
        self.blocks = nn.ModuleList(Block(config) for _ in range(config.n_layer))
        self.ln_f = nn.LayerNorm(C, bias=False)
        self.head = None if config.tie_weights else nn.Linear(C, V, bias=False)
        cos, sin = rotary_tables(config.block_size, C // config.n_head)
        self.register_buffer("rope_cos", cos, persistent=False)  # derived from the shape, not weights
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)
        for block in self.blocks:  # GPT-2: residual branches scaled down with depth
            for proj in (block.attn.proj, block.mlp[2]):
                nn.init.normal_(proj.weight, std=0.02 / math.sqrt(2 * config.n_layer))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, std=0.02)

    def optimizer_groups(self) -> list[dict]:
        """Weight decay on matrices and embeddings only, not on LayerNorm gains (the loop's AdamW)."""
        params = [p for p in self.parameters() if p.requires_grad]
        return [{"params": [p for p in params if p.dim() >= 2]},
                {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0}]

    def forward(self, idx: torch.Tensor, cache: KVCache | None = None, last_only: bool = False) -> torch.Tensor:
        """(B, T) token ids -> (B, T, V) logits (B, 1, V with ``last_only``), continuing ``cache`` if given."""
        B, T = idx.shape
        start = 0 if cache is None else cache.length
        if start + T > self.config.block_size:
            raise ValueError(f"{start + T} positions exceed the block size {self.config.block_size}")
        x = self.tok_emb(idx)
        rope = None
        if self.pos_emb is not None:
            x = x + self.pos_emb(torch.arange(start, start + T, device=idx.device))
        else:
            rope = (self.rope_cos[start:start + T], self.rope_sin[start:start + T])
        x = self.drop(x)
        for i, block in enumerate(self.blocks):
            x = block(x, rope, cache, i)
        if cache is not None:
            cache.length += T
        x = self.ln_f(x[:, -1:] if last_only else x)
        return F.linear(x, self.tok_emb.weight) if self.head is None else self.head(x)

    def training_loss(self, x: torch.Tensor, generator: torch.Generator):
        """Next-token cross-entropy over (B, block_size + 1) windows, a ``fim_rate`` share rearranged for FIM."""
        if self.config.fim_rate > 0:
            x = fim_transform(x, self.config.fim_rate, generator)
        loss = self.next_token_loss(x)
        return loss, {"loss": float(loss.detach())}

    def next_token_loss(self, x: torch.Tensor) -> torch.Tensor:
        logits = self(x[:, :-1])
        return F.cross_entropy(logits.reshape(-1, logits.shape[-1]).float(), x[:, 1:].reshape(-1))

    @torch.no_grad()
    def validation_loss(self, x: torch.Tensor) -> torch.Tensor:
        """Plain next-token loss (no FIM), the measure of how well the model predicts held-out text."""
        return self.next_token_loss(x)

    # -- writing --------------------------------------------------------------------------------
    def generate_tokens(self, prompt_ids: list[int], max_tokens: int, temperature: float = 1.0, top_k: int = 0,
                        top_p: float = 1.0, repetition_penalty: float = 1.0, seed: int = 0, use_cache: bool = True):
        """Yield up to ``max_tokens`` sampled token ids after the prompt; stop early at end-of-text.

        The prompt keeps its last ``block_size`` tokens (an empty one starts from end-of-text, the
        start of a document). Temperature 0 is greedy. Runs with ``use_cache`` and without see the
        same windows, so they write the same tokens; the cache only saves the work.
        """
        check_sampling(max_tokens, temperature, top_k, top_p, repetition_penalty)
        device = self.rope_cos.device
        generator = torch.Generator(device).manual_seed(seed)
        block = self.config.block_size
        window = [int(t) for t in prompt_ids][-block:] or [EOT_ID]
        if not 0 <= min(window) <= max(window) < self.config.vocab_size:
            raise ValueError(f"prompt token ids must be in [0, {self.config.vocab_size}), got {min(window)}–{max(window)}")
        seen = torch.zeros(self.config.vocab_size, dtype=torch.bool, device=device)
        seen[torch.tensor(window, device=device)] = True
        cache = KVCache(self.config, 1, device, self.tok_emb.weight.dtype) if use_cache else None
        for _ in range(max_tokens):
            with torch.inference_mode():
                logits = self._next_logits(window, cache)
                token = sample_token(logits, generator, temperature, top_k, top_p, repetition_penalty, seen)
            if token == EOT_ID:
                return
            yield token
            window.append(token)
            seen[token] = True
            if len(window) > block:  # full: jump half a block; the cache recomputes the kept half
                window = window[-(block // 2):]
                if cache is not None:
                    cache.length = 0

    def _next_logits(self, window: list[int], cache: KVCache | None) -> torch.Tensor:
        """(V,) float logits for the token after ``window``, feeding the cache what it has not seen."""
        new = window if cache is None else window[cache.length:]
        idx = torch.tensor([new], dtype=torch.long, device=self.rope_cos.device)
        return self(idx, cache, last_only=True)[0, -1].float()


def check_sampling(max_tokens, temperature, top_k, top_p, repetition_penalty) -> None:
    if max_tokens < 0:
        raise ValueError(f"max_tokens must be 0 or more, got {max_tokens}")
    if temperature < 0:
        raise ValueError(f"temperature must be 0 (greedy) or more, got {temperature}")
    if top_k < 0:
        raise ValueError(f"top_k must be 0 (off) or more, got {top_k}")
    if not 0 < top_p <= 1:
        raise ValueError(f"top_p must be in (0, 1], got {top_p}")
    if repetition_penalty <= 0:
        raise ValueError(f"repetition_penalty must be positive (1 = off), got {repetition_penalty}")


def penalize_repeats(logits: torch.Tensor, seen: torch.Tensor, penalty: float) -> torch.Tensor:
    """CTRL's penalty: a seen token's logit is divided by ``penalty`` if positive, multiplied if negative."""
    return torch.where(seen, torch.where(logits > 0, logits / penalty, logits * penalty), logits)


def filter_logits(logits: torch.Tensor, top_k: int = 0, top_p: float = 1.0) -> torch.Tensor:
    """(V,) logits with every token outside the top k and outside the nucleus set to -inf.

    The nucleus is the smallest set of most likely tokens whose probability reaches ``top_p``;
    the most likely token is always kept.
    """
    if 0 < top_k < logits.numel():
        kth = torch.topk(logits, top_k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if top_p < 1:
        ordered, order = torch.sort(logits, descending=True)
        probs = ordered.softmax(-1)
        outside = probs.cumsum(-1) - probs >= top_p  # the tokens before it already reach top_p
        logits = logits.masked_fill(outside.scatter(0, order, outside), float("-inf"))
    return logits


def sample_token(logits: torch.Tensor, generator: torch.Generator, temperature: float = 1.0, top_k: int = 0,
                 top_p: float = 1.0, repetition_penalty: float = 1.0, seen: torch.Tensor | None = None) -> int:
    """One token from (V,) logits: penalty, FIM sentinels barred, then greedy or temperature + filters."""
    if repetition_penalty != 1 and seen is not None:
        logits = penalize_repeats(logits, seen, repetition_penalty)
    logits = logits.index_fill(0, torch.tensor(FIM_SENTINELS, device=logits.device), float("-inf"))
    if temperature == 0:
        return int(logits.argmax())
    probs = filter_logits(logits / temperature, top_k, top_p).softmax(-1)
    return int(torch.multinomial(probs, 1, generator=generator))


# -- fill-in-the-middle --------------------------------------------------------------------------------
def fim_transform(x: torch.Tensor, rate: float, generator: torch.Generator) -> torch.Tensor:
    """(B, L) windows; each, with probability ``rate``, becomes ``<pre> <suf> suffix <mid> prefix middle <eot>
    rest``: the SPM order of Bavarian et al. (2022), where the middle directly continues the prefix, so a
    small model only has to learn where to stop (PSM made it bridge the whole suffix first, and a 0.8 M
    model trained 12,000 steps still ignored the prefix's last words).

    The document is the window's first n tokens, n drawn from [L/2, L − 4], cut at two random points;
    the rest of the window follows the end-of-text as the next text (packing), so the length stays L,
    tokens are only rearranged, and the end-of-text falls anywhere (always at L − 1, the model learnt
    to stop by position).
    """
    B, L = x.shape
    chosen = torch.rand(B, generator=generator, device=generator.device) < rate
    lengths = torch.randint(L // 2, L - 3, (B,), generator=generator, device=generator.device)
    cuts = (torch.rand(B, 2, generator=generator, device=generator.device) * (lengths[:, None] + 1)).long()
    cuts = cuts.clamp(max=lengths[:, None]).sort(dim=1).values
    out = x.clone()
    for row in chosen.nonzero().flatten().tolist():
        n, (i, j) = int(lengths[row]), cuts[row].tolist()
        doc, rest = x[row, :n], x[row, n:L - 4]
        out[row] = torch.cat([sentinel(FIM_PREFIX_ID, x), sentinel(FIM_SUFFIX_ID, x), doc[j:], sentinel(FIM_MIDDLE_ID, x),
                              doc[:i], doc[i:j], sentinel(EOT_ID, x), rest])
    return out


def sentinel(token: int, like: torch.Tensor) -> torch.Tensor:
    return torch.full((1,), token, dtype=like.dtype, device=like.device)


def build_infill(config: GPTConfig) -> GPT:
    if config.fim_rate <= 0:
        raise ConfigError("An infilling model trains with fill-in-the-middle: set fim_rate above 0 (0.5 is usual).")
    return GPT(config)


_DESCRIPTION = ("GPT: a decoder-only transformer trained on your texts (character or byte-level BPE "
                "tokens), rotary positions, KV-cached sampling with temperature, top-k, top-p and "
                "repetition penalty.")
register(ArchSpec(name="gpt", family="language-model", modality="text", config_cls=GPTConfig, builder=GPT,
                  capabilities=frozenset({Capability.TEXT}), trainer="trainers.text", description=_DESCRIPTION))
register(ArchSpec(name="infill", family="language-model", modality="text", config_cls=GPTConfig,
                  builder=build_infill, capabilities=frozenset({Capability.TEXT, Capability.INFILL}),
                  trainer="trainers.text",
                  description="The GPT trained with fill-in-the-middle: it continues text and fills a gap "
                              "given the text before and after it."))
