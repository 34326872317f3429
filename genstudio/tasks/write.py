"""Write with a text model: continue a text, or fill a gap in it, streaming the words as they come.

Both tasks are generators of ``TextChunk`` events (core/events.py), so the Text canvas and the CLI
show the text while it is written and can stop between tokens. A byte-level BPE token may hold
part of a character, so text is released only when its UTF-8 is whole; and a stop sequence may
arrive split over several tokens, so text that could be the start of one is held back until it is
clear. Infilling asks an ``infill`` model for the middle: the prompt is ``<fim_prefix>`` before
``<fim_suffix>`` after ``<fim_middle>``, and the model writes until it says end-of-text. The caller
puts ``before + middle + after`` together, so the text around the gap is never touched.
"""

from __future__ import annotations

import codecs
import time
from dataclasses import dataclass, field
from functools import lru_cache

from genstudio.core.errors import GenStudioError, ModelFileError
from genstudio.core.events import TextChunk
from genstudio.core.registry import Capability, get
from genstudio.core.store import ModelStore
from genstudio.tasks.generate import load_model

MAX_TOKENS = 4096
MAX_ALTERNATIVES = 8


@dataclass
class WriteRequest:
    model: str
    prompt: str = ""
    max_tokens: int = 200
    temperature: float = 0.8  # 0 = always the likeliest token; above 1 wilder
    top_k: int = 0  # sample among the k likeliest tokens only (0 = all)
    top_p: float = 0.95  # ... and among the fewest whose probability reaches top_p (1 = all)
    repetition_penalty: float = 1.1  # > 1 makes tokens already in the text less likely
    stop: list[str] = field(default_factory=list)  # end the text where one of these appears (it is left out)
    seed: int = 0


@dataclass
class WriteResult:
    text: str  # what was written after the prompt (without a stop sequence)
    tokens: int  # tokens generated
    seconds: float
    finish: str  # "length" (max_tokens reached), "stop" (a stop sequence), "end" (the model ended the text)


@dataclass
class InfillRequest:
    model: str
    before: str
    after: str
    n: int = 3  # alternatives; alternative i uses seed + i
    max_tokens: int = 100
    temperature: float = 0.8
    top_k: int = 0
    top_p: float = 0.95
    repetition_penalty: float = 1.0
    seed: int = 0


class TextStream:
    """Token ids in, text out once it is safe to show: whole UTF-8 characters, and nothing that may
    turn out to be the start of a stop sequence. ``text`` is everything released so far."""

    def __init__(self, tokenizer, stop: list[str] = ()):
        self.tokenizer = tokenizer
        self.stop = [s for s in stop if s]
        self.utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.pending = ""
        self.text = ""
        self.stopped = False

    def push(self, token: int) -> str:
        """The text that ``token`` completes (often "", sometimes several characters)."""
        self.pending += self.utf8.decode(self.tokenizer.decode_bytes([token]))
        return self._release(final=False)

    def finish(self) -> str:
        """Whatever was still held back (a dangling partial character becomes U+FFFD)."""
        if not self.stopped:
            self.pending += self.utf8.decode(b"", final=True)
        return self._release(final=True)

    def _release(self, final: bool) -> str:
        if self.stopped:
            return ""
        hits = [i for i in (self.pending.find(s) for s in self.stop) if i >= 0]
        if hits:
            self.stopped = True
            out, self.pending = self.pending[:min(hits)], ""
        else:
            keep = 0 if final else self._possible_stop_start()
            out, self.pending = self.pending[:len(self.pending) - keep], self.pending[len(self.pending) - keep:]
        self.text += out
        return out

    def _possible_stop_start(self) -> int:
        """Length of the longest end of the pending text that begins some stop sequence."""
        text = self.pending
        return max((n for s in self.stop for n in range(min(len(s) - 1, len(text)), 0, -1)
                    if s.startswith(text[len(text) - n:])), default=0)


# -- checks and loading ------------------------------------------------------------------------------
def check_sampling(temperature: float, top_k: int, top_p: float, repetition_penalty: float, max_tokens: int) -> None:
    if not 1 <= max_tokens <= MAX_TOKENS:
        raise GenStudioError(f"The number of tokens to write must be between 1 and {MAX_TOKENS}.")
    if not 0 <= temperature <= 10:
        raise GenStudioError("The temperature must be between 0 (always the likeliest word) and 10.")
    if top_k < 0:
        raise GenStudioError("Top-k must be 0 (off) or a positive number of tokens.")
    if not 0 < top_p <= 1:
        raise GenStudioError("Top-p must be above 0 and at most 1 (1 = off).")
    if not 0 < repetition_penalty <= 10:
        raise GenStudioError("The repetition penalty must be above 0 and at most 10 (1 = off).")


@lru_cache(maxsize=4)
def cached_tokenizer(text: str):
    from genstudio.models.tokenizer import tokenizer_from_json

    return tokenizer_from_json(text)


def load_text_model(name: str, device, store: ModelStore | None, capability: Capability = Capability.TEXT):
    """(model, tokenizer) of a library text model that has ``capability``; a clear error otherwise."""
    if not isinstance(name, str) or not name.strip():
        raise GenStudioError("Choose a text model to write with.")
    store = store or ModelStore()
    arch = store.get(name).card["arch"]  # the card alone: a wrong kind of model is refused before loading
    spec = get(arch)
    if not spec.can(Capability.TEXT):
        raise GenStudioError(f"'{name}' ({arch}) is not a text model: choose one trained on text (gpt or infill).")
    if not spec.can(capability):
        raise GenStudioError(f"'{name}' ({arch}) was not trained to fill gaps: choose an infill model, or train "
                             "one with: python -m trainers infill --data FOLDER --name NAME")
    _, model = load_model(name, device, store)
    try:
        tokenizer = cached_tokenizer(model.config.tokenizer)
    except ModelFileError as err:
        raise ModelFileError(f"'{name}': {err}") from None
    if tokenizer.vocab_size != model.config.vocab_size:
        raise ModelFileError(f"'{name}': its tokenizer has {tokenizer.vocab_size} tokens but the network "
                             f"{model.config.vocab_size}; the model is damaged.")
    return model, tokenizer


# -- the tasks ---------------------------------------------------------------------------------------
def continue_text(request: WriteRequest, device, store: ModelStore | None = None):
    """Generator of TextChunk events as the continuation of ``request.prompt`` is written; returns a WriteResult."""
    check_sampling(request.temperature, request.top_k, request.top_p, request.repetition_penalty,
                   request.max_tokens)
    if not all(isinstance(s, str) for s in request.stop):
        raise GenStudioError("Stop sequences must be text.")
    model, tokenizer = load_text_model(request.model, device, store)
    stream = TextStream(tokenizer, request.stop)
    start, count, finish = time.perf_counter(), 0, "end"
    tokens = model.generate_tokens(prompt_tokens(tokenizer, request.prompt), request.max_tokens, request.temperature,
                                   request.top_k, request.top_p, request.repetition_penalty, request.seed)
    try:
        for token in tokens:
            count += 1
            piece = stream.push(token)
            if piece:
                yield TextChunk(piece)
            if stream.stopped:
                finish = "stop"
                break
        else:
            finish = "length" if count == request.max_tokens else "end"
    finally:
        tokens.close()
    tail = stream.finish()
    if tail:
        yield TextChunk(tail)
    return WriteResult(stream.text, count, round(time.perf_counter() - start, 3), finish)


def prompt_tokens(tokenizer, prompt: str) -> list[int]:
    """The prompt's tokens; an empty prompt starts after a line break, as a paragraph of the training
    text does (the files were joined by blank lines), or, failing that, at end-of-text."""
    from genstudio.models.tokenizer import UNK_ID

    if prompt:
        return tokenizer.encode(prompt)
    newline = tokenizer.encode("\n")
    return newline if tokenizer.kind == "bpe" or UNK_ID not in newline else [tokenizer.eot_id]


def infill_prompt(tokenizer, before: str, after: str, block_size: int, max_tokens: int) -> list[int]:
    """``<fim_prefix> <fim_suffix> after <fim_middle> before`` in tokens (the SPM order the model is trained
    on, so the middle continues ``before``), the text nearest the gap kept when it is too long: room is left
    in the window for the middle (up to half of it)."""
    budget = max(2, block_size - 3 - min(max_tokens, block_size // 2))
    head, tail = tokenizer.encode(before), tokenizer.encode(after)
    keep_after = min(len(tail), max(budget // 2, budget - len(head)))
    keep_before = min(len(head), budget - keep_after)
    return [tokenizer.fim_prefix_id, tokenizer.fim_suffix_id, *tail[:keep_after], tokenizer.fim_middle_id,
            *head[len(head) - keep_before:]]


def infill(request: InfillRequest, device, store: ModelStore | None = None):
    """Generator of TextChunk(text, index=alternative) events; returns the ``n`` middles (alternative i
    uses seed + i, so it is the same whether written alone or among others)."""
    check_sampling(request.temperature, request.top_k, request.top_p, request.repetition_penalty,
                   request.max_tokens)
    if not 1 <= request.n <= MAX_ALTERNATIVES:
        raise GenStudioError(f"The number of alternatives must be between 1 and {MAX_ALTERNATIVES}.")
    if not isinstance(request.before, str) or not isinstance(request.after, str):
        raise GenStudioError("The text before and after the gap must be text.")
    model, tokenizer = load_text_model(request.model, device, store, Capability.INFILL)
    prompt = infill_prompt(tokenizer, request.before, request.after, model.config.block_size, request.max_tokens)
    middles = []
    for index in range(request.n):
        stream = TextStream(tokenizer)
        for token in model.generate_tokens(prompt, request.max_tokens, request.temperature, request.top_k,
                                           request.top_p, request.repetition_penalty, request.seed + index):
            piece = stream.push(token)
            if piece:
                yield TextChunk(piece, index)
        tail = stream.finish()
        if tail:
            yield TextChunk(tail, index)
        middles.append(stream.text)
    return middles
