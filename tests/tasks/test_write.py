"""The writing tasks: streamed continuation, stop sequences, whole characters only, infilling, refusals."""

from __future__ import annotations

import pytest
import torch

from genstudio.core import config as configlib
from genstudio.core.errors import GenStudioError, ModelFileError
from genstudio.core.events import TextChunk, drive
from genstudio.core.registry import get
from genstudio.core.store import ModelStore, new_card
from genstudio.models.tokenizer import fit_tokenizer
from genstudio.tasks.write import (
    InfillRequest,
    TextStream,
    WriteRequest,
    continue_text,
    infill,
    infill_prompt,
)
from tests.util import save_tiny_model

CPU = torch.device("cpu")
CORPUS = "The quick brown fox jumps over the lazy dog. Ünïcödé — 東京 🎉!\n" * 8


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path / "models", bundled=tmp_path / "none")


def save_text_model(store, arch="gpt", name="writer", kind="char", steps=40):
    """A ``tiny`` model trained for a few steps on CORPUS (enough that it rarely ends the text at once)."""
    spec = get(arch)
    tok = fit_tokenizer(kind, [CORPUS], vocab_size=300)
    cfg = spec.model_config("tiny", {"tokenizer": tok.to_json(), "vocab_size": tok.vocab_size,
                                     "tokenizer_kind": kind})
    torch.manual_seed(0)
    model, gen = spec.build(cfg), torch.Generator().manual_seed(0)
    data = torch.tensor(tok.encode(CORPUS))
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(steps):
        starts = torch.randint(0, len(data) - cfg.block_size - 1, (8,), generator=gen)
        loss, _ = model.training_loss(data[starts[:, None] + torch.arange(cfg.block_size + 1)], gen)
        loss.backward()
        opt.step()
        opt.zero_grad()
    store.save(new_card(name, arch, configlib.to_dict(cfg), steps=steps), model.state_dict())
    return name


def run(gen):
    chunks = []
    result = drive(gen, chunks.append)
    assert all(isinstance(c, TextChunk) and c.text for c in chunks)
    return chunks, result


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_continue_text_streams_what_it_returns(store, kind):
    save_text_model(store, kind=kind)
    request = WriteRequest("writer", prompt="The quick", max_tokens=40, seed=3)
    chunks, result = run(continue_text(request, CPU, store))
    assert "".join(c.text for c in chunks) == result.text and result.text
    assert 1 <= result.tokens <= 40 and result.finish in ("length", "end") and result.seconds >= 0
    assert (result.finish == "length") == (result.tokens == 40)
    assert run(continue_text(request, CPU, store))[1].text == result.text  # the seed repeats it
    other = run(continue_text(WriteRequest("writer", prompt="The quick", max_tokens=40, seed=4), CPU, store))
    assert other[1].text != result.text


def test_stop_sequence_ends_the_text_and_is_left_out(store):
    save_text_model(store)
    base = WriteRequest("writer", prompt="The", max_tokens=60, temperature=0, repetition_penalty=1.0)
    free = run(continue_text(base, CPU, store))[1].text
    assert len(free) == 60
    stop = free[30:33]
    base.stop = ["never-in-this-text", stop]
    chunks, result = run(continue_text(base, CPU, store))
    assert result.finish == "stop" and result.text == free[:free.find(stop)]
    assert "".join(c.text for c in chunks) == result.text


class PieceTokenizer:
    """A fake tokenizer whose token i is the byte string ``pieces[i]``."""

    def __init__(self, pieces: list[bytes]):
        self.pieces = pieces

    def decode_bytes(self, ids):
        return b"".join(self.pieces[i] for i in ids)


def stream_all(tokenizer, ids, stop=()):
    stream = TextStream(tokenizer, list(stop))
    chunks = [stream.push(i) for i in ids]
    if not stream.stopped:
        chunks.append(stream.finish())
    return [c for c in chunks if c], stream


def test_a_stop_sequence_split_over_tokens_is_never_shown():
    tok = PieceTokenizer([b"a", b"b", b"c", b"d", b"bc"])
    chunks, stream = stream_all(tok, [0, 1, 2, 3], stop=["bcd"])
    assert chunks == ["a"] and stream.text == "a" and stream.stopped
    chunks, stream = stream_all(tok, [0, 1, 2, 0, 3], stop=["bcd"])  # "bc" was only a false start
    assert "".join(chunks) == "abcad" and not stream.stopped
    chunks, stream = stream_all(tok, [1, 1, 4, 3], stop=["bcd", "zz"])  # the match starts mid-token
    assert stream.text == "bb" and stream.stopped


def test_bpe_streaming_never_emits_broken_utf8():
    tok = fit_tokenizer("bpe", [CORPUS], vocab_size=300)
    text = "Emoji 🦄🎉, accents é ü, CJK 東京, done."
    ids = tok.encode(text)
    assert any(tok.decode_bytes([i]).decode("utf-8", errors="replace") != tok.decode_bytes([i]).decode(
        "utf-8", errors="ignore") for i in ids)  # some tokens really hold part of a character
    chunks, stream = stream_all(tok, ids)
    assert "".join(chunks) == text and all("\ufffd" not in c for c in chunks)
    for chunk in chunks:
        chunk.encode("utf-8")  # whole characters only


def test_bytes_that_never_complete_become_a_replacement_character():
    tok = PieceTokenizer([b"ok ", b"\xf0\x9f"])
    chunks, _ = stream_all(tok, [0, 1])
    assert "".join(chunks) == "ok \ufffd"


def test_infill_prompt_keeps_the_text_nearest_the_gap():
    tok = fit_tokenizer("char", ["abcdefghij0123456789"])
    prompt = infill_prompt(tok, "abcdefghij", "0123456789", block_size=16, max_tokens=4)
    assert prompt[:2] == [tok.fim_prefix_id, tok.fim_suffix_id] and len(prompt) <= 16 - 4
    m = prompt.index(tok.fim_middle_id)  # SPM: the text after the gap, then the text before it, then the middle
    after, before = tok.decode(prompt[2:m]), tok.decode(prompt[m + 1:])
    assert "abcdefghij".endswith(before) and "0123456789".startswith(after) and before and after
    short = infill_prompt(tok, "ab", "0123456789", block_size=16, max_tokens=4)
    assert tok.decode(short) == "0123456" + "ab"  # 16 - 3 sentinels - 4 for the middle: the room "ab" does
    # not need goes to the text after the gap


def test_infill_alternatives_stream_and_keep_the_text_around_the_gap(store):
    save_text_model(store, arch="infill", name="filler")
    before, after = "The quick brown \r\n", " over the lazy dog 🎉"
    request = InfillRequest("filler", before=before, after=after, n=3, max_tokens=12, seed=5)
    chunks, middles = run(infill(request, CPU, store))
    assert len(middles) == 3 and any(middles) and len(set(middles)) > 1 and {c.index for c in chunks} <= {0, 1, 2}
    for i, middle in enumerate(middles):
        assert "".join(c.text for c in chunks if c.index == i) == middle
        assert "<|fim" not in middle
        whole = (before + middle + after).encode("utf-8")
        assert whole.startswith(before.encode()) and whole.endswith(after.encode())
    alone = run(infill(InfillRequest("filler", before, after, n=1, max_tokens=12, seed=6), CPU, store))[1]
    assert alone == [middles[1]]  # alternative i is seed + i


@pytest.mark.parametrize("request_, message", [
    (WriteRequest(""), "Choose a text model"),
    (WriteRequest("writer", max_tokens=0), "between 1 and 4096"),
    (WriteRequest("writer", max_tokens=4097), "between 1 and 4096"),
    (WriteRequest("writer", top_p=0.0), "Top-p"),
    (WriteRequest("writer", temperature=-1), "temperature"),
    (InfillRequest("writer", "a", "b"), "not trained to fill gaps"),
    (InfillRequest("filler", "a", "b", n=0), "alternatives"),
    (InfillRequest("filler", "a", "b", n=9), "alternatives"),
    (WriteRequest("painter"), "not a text model"),
    (WriteRequest("nobody"), "No model named"),
])
def test_bad_requests_are_refused_with_a_sentence(store, request_, message):
    save_text_model(store, steps=0)
    save_text_model(store, arch="infill", name="filler", steps=0)
    save_tiny_model("ddpm", "painter", store)
    task = continue_text if isinstance(request_, WriteRequest) else infill
    with pytest.raises(GenStudioError, match=message):
        drive(task(request_, CPU, store))


def test_a_damaged_tokenizer_is_reported(store):
    tok = fit_tokenizer("char", [CORPUS])
    save_tiny_model("gpt", "broken", store, tokenizer='{"format": "genstudio.tokenizer/1", "kind": "char"}',
                    vocab_size=tok.vocab_size)
    with pytest.raises(ModelFileError, match="broken.*damaged"):
        drive(continue_text(WriteRequest("broken"), CPU, store))


def test_an_empty_prompt_starts_a_new_paragraph(store):
    save_text_model(store)
    chunks, result = run(continue_text(WriteRequest("writer", prompt="", max_tokens=20, seed=1), CPU, store))
    assert result.tokens >= 1 and "".join(c.text for c in chunks) == result.text


def test_text_chunks_cross_process_boundaries_as_json():
    from genstudio.core.events import from_json, to_json

    again = from_json(to_json(TextChunk("Ünïcödé 🎉\n", index=2)))
    assert isinstance(again, TextChunk) and (again.text, again.index) == ("Ünïcödé 🎉\n", 2)
