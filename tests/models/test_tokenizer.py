"""Tokenizers: exact round trips, fixed special ids, unknown characters, and damaged JSON refused."""

from __future__ import annotations

import json

import pytest

from genstudio.core.errors import GenStudioError, ModelFileError
from genstudio.models.tokenizer import (
    EOT_ID,
    FIM_MIDDLE_ID,
    FIM_PREFIX_ID,
    FIM_SUFFIX_ID,
    SPECIAL_TOKENS,
    UNK_ID,
    byte_to_char,
    fit_tokenizer,
    tokenizer_from_json,
)

TEXT = ("It was the best of times, it was the worst of times.\r\nÉté, naïve café — 東京 🎉 emoji\tand\x00NUL.\n"
        * 20)
AWKWARD = "<|endoftext|> typed by a writer, 🎉🎉, ß, \u200b, CRLF\r\n and a lone \ufffd"


@pytest.fixture(scope="module")
def bpe():
    return fit_tokenizer("bpe", [TEXT], vocab_size=300)


def test_char_tokenizer_round_trip_and_special_ids():
    tok = fit_tokenizer("char", ["hello world", "abc"])
    assert tok.kind == "char" and tok.vocab_size == len(SPECIAL_TOKENS) + 1 + len(set("hello worldabc"))
    assert (tok.eot_id, tok.fim_prefix_id, tok.fim_suffix_id, tok.fim_middle_id) == (
        EOT_ID, FIM_PREFIX_ID, FIM_SUFFIX_ID, FIM_MIDDLE_ID) == (0, 1, 2, 3)
    ids = tok.encode("hello abc")
    assert len(ids) == 9 and min(ids) > UNK_ID and tok.decode(ids) == "hello abc"
    assert tok.decode([EOT_ID, *ids, FIM_MIDDLE_ID]) == "hello abc"  # special tokens decode to nothing


def test_char_tokenizer_maps_unknown_characters_to_unk():
    tok = fit_tokenizer("char", ["abc"])
    ids = tok.encode("a€z<|endoftext|>")
    assert ids[0] != UNK_ID and ids[1] == UNK_ID and ids[2] == UNK_ID
    assert EOT_ID not in ids  # the special token's spelling is text, and unknown text here
    assert tok.decode(ids[:3]) == "a\ufffd\ufffd"
    assert tok.decode_bytes(ids[:2]) == "a\ufffd".encode()


def test_bpe_round_trips_any_text_byte_for_byte(bpe):
    assert bpe.kind == "bpe" and 256 + len(SPECIAL_TOKENS) <= bpe.vocab_size <= 300
    for text in (TEXT, AWKWARD, "", "never seen: Ω≈ç√∫˜µ≤ 🦄"):
        ids = bpe.encode(text)
        assert bpe.decode(ids) == text and bpe.decode_bytes(ids) == text.encode("utf-8")
    assert len(bpe.encode(TEXT)) < len(TEXT.encode("utf-8")) / 2  # the merges were learned from the text


def test_bpe_never_reads_special_tokens_from_text(bpe):
    ids = bpe.encode("<|endoftext|><|fim_prefix|><|fim_suffix|><|fim_middle|>")
    assert not set(ids) & set(range(len(SPECIAL_TOKENS)))
    assert bpe.decode([FIM_PREFIX_ID, *bpe.encode("ab"), EOT_ID]) == "ab"


def test_bpe_tokens_can_split_a_character(bpe):
    pieces = [bpe.decode_bytes([i]) for i in bpe.encode("🦄")]  # a character no merge covers whole
    assert len(pieces) > 1 and b"".join(pieces) == "🦄".encode()
    with pytest.raises(UnicodeDecodeError):
        pieces[0].decode("utf-8")


def test_byte_table_is_the_libraries_alphabet():
    from tokenizers import pre_tokenizers

    table = byte_to_char()
    assert sorted(table) == list(range(256)) and len(set(table.values())) == 256
    assert set(table.values()) == set(pre_tokenizers.ByteLevel.alphabet())


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_json_round_trip(kind, bpe):
    tok = bpe if kind == "bpe" else fit_tokenizer("char", [TEXT])
    again = tokenizer_from_json(tok.to_json())
    assert type(again) is type(tok) and again.vocab_size == tok.vocab_size
    assert again.encode(TEXT) == tok.encode(TEXT) and again.to_json() == tok.to_json()
    json.loads(tok.to_json())  # plain JSON, storable in card.json


def test_fit_refuses_bad_requests():
    with pytest.raises(GenStudioError, match="Unknown tokenizer"):
        fit_tokenizer("words", ["abc"])
    with pytest.raises(GenStudioError, match="no text"):
        fit_tokenizer("char", ["", ""])
    with pytest.raises(GenStudioError, match="vocabulary size"):
        fit_tokenizer("bpe", ["abc"], vocab_size=100)


def _bpe_spec(bpe) -> dict:
    return json.loads(bpe.to_json())


@pytest.mark.parametrize("damage", [
    lambda s, b: s[: len(s) // 2],  # truncated
    lambda s, b: "not json at all",
    lambda s, b: "[1, 2]",
    lambda s, b: json.dumps({**json.loads(s), "format": "other/1"}),
    lambda s, b: json.dumps({**json.loads(s), "kind": "sentencepiece"}),
    lambda s, b: json.dumps({**json.loads(s), "chars": "abca"}),  # a character twice
    lambda s, b: json.dumps({**json.loads(s), "chars": ""}),
    lambda s, b: json.dumps({**json.loads(s), "chars": 42}),
    lambda s, b: json.dumps({**json.loads(s), "kind": "bpe"}),  # a char tokenizer's fields under bpe
], ids=["truncated", "not-json", "not-object", "format", "kind", "repeat", "empty", "type", "kind-swap"])
def test_damaged_char_json_is_refused(damage):
    good = fit_tokenizer("char", ["abc"]).to_json()
    with pytest.raises(ModelFileError):
        tokenizer_from_json(damage(good, None))


def _swap_specials(spec: dict) -> dict:
    for token in spec["tokenizer"]["added_tokens"]:
        token["id"] = {0: 1, 1: 0}.get(token["id"], token["id"])
    vocab = spec["tokenizer"]["model"]["vocab"]
    vocab["<|endoftext|>"], vocab["<|fim_prefix|>"] = 1, 0
    return spec


def _merge_of_unknown_token(spec: dict) -> dict:
    spec["tokenizer"]["model"]["merges"].append(["zzz-not-in-vocab", "q"])
    return spec


def _not_byte_level(spec: dict) -> dict:
    spec["tokenizer"]["pre_tokenizer"] = {"type": "Whitespace"}
    return spec


def _missing_model(spec: dict) -> dict:
    del spec["tokenizer"]
    return spec


@pytest.mark.parametrize("damage", [_swap_specials, _merge_of_unknown_token, _not_byte_level, _missing_model])
def test_damaged_bpe_json_is_refused(damage, bpe):
    with pytest.raises(ModelFileError):
        tokenizer_from_json(json.dumps(damage(_bpe_spec(bpe))))
