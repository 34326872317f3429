"""Tokenizers for the text models: characters, or byte-level BPE trained on the user's own folder.

Both kinds put the same four special tokens first, so their ids are the same everywhere:
``<|endoftext|>`` (0; a model stops when it samples it) and ``<|fim_prefix|>``, ``<|fim_suffix|>``,
``<|fim_middle|>`` (1–3; the sentinels of fill-in-the-middle training, Bavarian et al., "Efficient
Training of Language Models to Fill in the Middle", 2022). Special tokens are never read from the
user's text: a document that contains the string ``<|endoftext|>`` is encoded as ordinary characters.
The character kind knows only the characters of its training text; any other character becomes
``<unk>`` (id 4), which decodes to U+FFFD. The BPE kind (Sennrich et al. 2016, byte-level as in
GPT-2, trained with the ``tokenizers`` library) works on UTF-8 bytes, so it has no unknowns and
encodes any text exactly; a token may hold part of a character, which is why ``decode_bytes``
exists for streaming. A tokenizer travels as JSON inside the model's config (card.json): never pickle.
"""

from __future__ import annotations

import abc
import json
from functools import cache
from typing import Any

from genstudio.core.errors import GenStudioError, ModelFileError

FORMAT = "genstudio.tokenizer/1"
KINDS = ("char", "bpe")
SPECIAL_TOKENS = ("<|endoftext|>", "<|fim_prefix|>", "<|fim_suffix|>", "<|fim_middle|>")
EOT_ID, FIM_PREFIX_ID, FIM_SUFFIX_ID, FIM_MIDDLE_ID = range(len(SPECIAL_TOKENS))
UNK = "<unk>"
UNK_ID = len(SPECIAL_TOKENS)  # character tokenizers only
UNKNOWN_CHAR = "\ufffd"  # what <unk> decodes to
BPE_VOCAB_RANGE = (260, 16384)  # 256 bytes + the specials at least; the top keeps card.json under 1 MB


class Tokenizer(abc.ABC):
    """What the text models and tasks rely on: ``encode``, ``decode``, ``decode_bytes``, ``to_json``."""

    kind: str = ""
    vocab_size: int = 0
    eot_id, fim_prefix_id, fim_suffix_id, fim_middle_id = EOT_ID, FIM_PREFIX_ID, FIM_SUFFIX_ID, FIM_MIDDLE_ID
    special_ids = frozenset(range(len(SPECIAL_TOKENS)))

    @abc.abstractmethod
    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``."""

    @abc.abstractmethod
    def decode_bytes(self, ids: list[int]) -> bytes:
        """UTF-8 bytes of ``ids``, special tokens left out; may end inside a character (BPE)."""

    def decode(self, ids: list[int]) -> str:
        """The text of ``ids`` (special tokens left out; broken UTF-8 becomes U+FFFD)."""
        return self.decode_bytes(ids).decode("utf-8", errors="replace")

    @abc.abstractmethod
    def to_json(self) -> str:
        """The tokenizer as JSON (saved in the model's card; ``tokenizer_from_json`` reads it back)."""


class CharTokenizer(Tokenizer):
    """One token per character of the training text (nanoGPT's shakespeare_char), after the specials."""

    kind = "char"

    def __init__(self, chars: str):
        self.chars = chars
        self._ids = {c: i for i, c in enumerate(chars, start=UNK_ID + 1)}
        self._texts = [""] * len(SPECIAL_TOKENS) + [UNKNOWN_CHAR] + list(chars)
        self.vocab_size = len(self._texts)

    def encode(self, text: str) -> list[int]:
        ids = self._ids
        return [ids.get(c, UNK_ID) for c in text]

    def decode(self, ids: list[int]) -> str:
        texts = self._texts
        return "".join(texts[i] for i in ids)

    def decode_bytes(self, ids: list[int]) -> bytes:
        return self.decode(ids).encode("utf-8", errors="surrogatepass")

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "kind": self.kind, "chars": self.chars}, ensure_ascii=False)


@cache
def byte_to_char() -> dict[int, str]:
    """GPT-2's byte-level alphabet, which the ``tokenizers`` ByteLevel pre-tokenizer uses: printable
    bytes stand for themselves, the other 68 are shifted to the code points from U+0100 up, in order."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    shifted = [b for b in range(256) if b not in printable]
    return {**{b: chr(b) for b in printable}, **{b: chr(256 + i) for i, b in enumerate(shifted)}}


class BPETokenizer(Tokenizer):
    """Byte-level BPE over a ``tokenizers.Tokenizer``; special tokens in the text stay plain text."""

    kind = "bpe"

    def __init__(self, backend):
        backend.encode_special_tokens = True  # "<|endoftext|>" typed by a writer is text, not a control token
        self.backend = backend
        self.vocab_size = backend.get_vocab_size(with_added_tokens=True)
        to_byte = {c: b for b, c in byte_to_char().items()}
        by_id = {i: t for t, i in backend.get_vocab(with_added_tokens=True).items()}
        self._bytes = [b"" if i in self.special_ids else bytes(to_byte[c] for c in by_id[i])
                       for i in range(self.vocab_size)]

    def encode(self, text: str) -> list[int]:
        return self.backend.encode(text, add_special_tokens=False).ids

    def decode_bytes(self, ids: list[int]) -> bytes:
        table = self._bytes
        return b"".join(table[i] for i in ids)

    def to_json(self) -> str:
        return json.dumps({"format": FORMAT, "kind": self.kind, "tokenizer": json.loads(self.backend.to_str())},
                          ensure_ascii=False)


def fit_tokenizer(kind: str, texts: list[str], vocab_size: int = 2048) -> Tokenizer:
    """A tokenizer fitted to ``texts``: their characters (``char``; ``vocab_size`` is ignored), or
    byte-level BPE merges learned from them up to ``vocab_size`` tokens (fewer when the text is short)."""
    if kind not in KINDS:
        raise GenStudioError(f"Unknown tokenizer '{kind}': choose one of {', '.join(KINDS)}.")
    if not any(texts):
        raise GenStudioError("There is no text to fit a tokenizer on.")
    if kind == "char":
        return CharTokenizer("".join(sorted(set().union(*map(set, texts)))))
    low, high = BPE_VOCAB_RANGE
    if not low <= vocab_size <= high:
        raise GenStudioError(f"The BPE vocabulary size must be {low}–{high} tokens, got {vocab_size}.")
    from tokenizers import Tokenizer as Backend
    from tokenizers import decoders, models, pre_tokenizers, trainers

    backend = Backend(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    backend.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIAL_TOKENS), show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    backend.train_from_iterator(texts, trainer=trainer)
    return BPETokenizer(backend)


def tokenizer_from_json(text: str) -> Tokenizer:
    """The tokenizer ``to_json`` wrote; anything damaged or foreign is a ModelFileError."""
    try:
        data = json.loads(text)
    except (TypeError, json.JSONDecodeError) as err:
        raise ModelFileError(f"The model's tokenizer is not valid JSON ({err}).") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("kind") not in KINDS:
        raise ModelFileError(f"The model's tokenizer is not a GenStudio tokenizer (expected format {FORMAT} "
                             f"and kind {' or '.join(KINDS)}).")
    return _char_from(data) if data["kind"] == "char" else _bpe_from(data)


def _char_from(data: dict[str, Any]) -> CharTokenizer:
    chars = data.get("chars")
    if not isinstance(chars, str) or not chars or len(set(chars)) != len(chars):
        raise ModelFileError("The model's character tokenizer is damaged: its character list is missing, "
                             "empty or repeats a character.")
    return CharTokenizer(chars)


def _bpe_from(data: dict[str, Any]) -> BPETokenizer:
    from tokenizers import Tokenizer as Backend

    spec = data.get("tokenizer")
    if not isinstance(spec, dict):
        raise ModelFileError("The model's BPE tokenizer is damaged: its merges and vocabulary are missing.")
    pre, model = spec.get("pre_tokenizer") or {}, spec.get("model") or {}
    if pre.get("type") != "ByteLevel" or model.get("type") != "BPE":
        raise ModelFileError("The model's BPE tokenizer is not byte-level BPE.")
    try:
        backend = Backend.from_str(json.dumps(spec))
    except Exception as err:  # the Rust side raises plain Exceptions with its parser's message
        raise ModelFileError(f"The model's BPE tokenizer is damaged ({err}).") from None
    for i, token in enumerate(SPECIAL_TOKENS):
        if backend.token_to_id(token) != i:
            raise ModelFileError(f"The model's BPE tokenizer is damaged: {token} is not token {i}.")
    try:
        return BPETokenizer(backend)
    except KeyError:
        raise ModelFileError("The model's BPE tokenizer is damaged: a token is not made of byte-level "
                             "characters.") from None
