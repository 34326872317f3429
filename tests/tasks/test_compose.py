"""Composing: a continuation keeps the primer and adds generated notes of the asked length; VAE phrases
and blends; refusals with a sentence."""

from __future__ import annotations

import pytest
import torch

from genstudio.core import config as configlib
from genstudio.core.data import music_events as ev
from genstudio.core.errors import GenStudioError
from genstudio.core.events import Progress, drive
from genstudio.core.notes import Note, NoteSequence
from genstudio.core.registry import get
from genstudio.core.store import ModelStore, new_card
from genstudio.tasks.compose import (
    ComposeRequest,
    InterpolateRequest,
    compose,
    interpolate,
    join_phrases,
)


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path / "models", bundled=tmp_path / "none")


def save_music_model(store, arch: str, name: str, **overrides) -> str:
    """A ``tiny`` model with its vocabulary set as the trainer sets it (random weights: the mechanics only)."""
    spec = get(arch)
    if arch == "music-transformer":
        enc = ev.ENCODINGS[overrides.get("encoding", "performance")]
        overrides = {"vocab_size": enc.vocab_size, "start_token": enc.start, "end_token": enc.end, **overrides}
    else:
        overrides = {"vocab_size": ev.MELODY_VOCAB, **overrides}
    cfg = spec.model_config("tiny", overrides)
    torch.manual_seed(0)
    store.save(new_card(name, arch, configlib.to_dict(cfg), steps=0), spec.build(cfg).state_dict())
    return name


def primer_piece() -> NoteSequence:
    """One bar of a C major arpeggio at 120 bpm (2 s)."""
    notes = [Note(60 + p, i * 0.5, i * 0.5 + 0.45, 90) for i, p in enumerate((0, 4, 7, 12))]
    return NoteSequence(notes, tempo=120.0)


@pytest.mark.parametrize("encoding", ["performance", "grid"])
def test_a_continuation_keeps_the_primer_and_adds_generated_notes_of_the_asked_length(store, encoding):
    name = save_music_model(store, "music-transformer", f"mt-{encoding}", encoding=encoding)
    primer = primer_piece()
    events = []
    result = drive(compose(ComposeRequest(name, primer=primer, bars=2, temperature=1.0, seed=3), store=store),
                   events.append)
    assert result.tempo == 120.0
    kept = [n for n in result.notes if not n.generated]
    assert kept == primer.notes
    new = [n for n in result.notes if n.generated]
    assert new, "a random model still writes notes within 2 bars"
    assert all(n.start >= primer.duration - 0.02 for n in new)
    assert all(n.end <= primer.duration + 4.0 + 1e-6 for n in new)  # 2 bars at 120 bpm = 4 s
    assert events and all(isinstance(e, Progress) and e.stage == "compose" for e in events)


def test_the_same_seed_gives_the_same_music_and_another_seed_other_music(store):
    name = save_music_model(store, "music-transformer", "mt")
    run = lambda seed: drive(compose(ComposeRequest(name, primer=primer_piece(), bars=1, seed=seed), store=store))  # noqa: E731
    assert run(5).notes == run(5).notes
    assert run(5).notes != run(6).notes


def test_from_nothing_the_music_starts_at_zero_at_the_requested_tempo(store):
    name = save_music_model(store, "music-transformer", "mt")
    result = drive(compose(ComposeRequest(name, seconds=3.0, tempo=90.0), store=store))
    assert result.tempo == 90.0
    assert all(n.generated and 0 <= n.start < 3.0 and n.end <= 3.0 + 1e-6 for n in result.notes)


def test_vae_composes_whole_phrases_after_the_primer_on_a_bar_line(store):
    name = save_music_model(store, "music-vae", "vae")
    primer = primer_piece().with_notes(primer_piece().notes[:3])  # ends inside bar 1
    result = drive(compose(ComposeRequest(name, primer=primer, bars=4, temperature=1.0), store=store))
    new = [n for n in result.notes if n.generated]
    assert new and min(n.start for n in new) >= 2.0 - 1e-6  # the next bar line after the primer
    assert max(n.end for n in new) <= 2.0 + 8.0 + 1e-6


def test_blend_gives_the_asked_steps_each_one_phrase_long(store):
    name = save_music_model(store, "music-vae", "vae")
    a = NoteSequence([Note(60 + (i % 5), i * 0.25, i * 0.25 + 0.25) for i in range(16)])
    b = NoteSequence([Note(72 - (i % 7), i * 0.25, i * 0.25 + 0.25) for i in range(16)])
    blend = drive(interpolate(InterpolateRequest(name, a, b, steps=4), store=store))
    assert len(blend.phrases) == 4 and blend.bars == 2
    assert all(p.duration <= 4.0 + 1e-6 for p in blend.phrases)
    joined = blend.joined()
    assert len(joined.notes) == sum(len(p.notes) for p in blend.phrases)
    assert join_phrases([], 2).notes == []


def test_refusals_say_what_to_do(store):
    mt = save_music_model(store, "music-transformer", "mt")
    vae = save_music_model(store, "music-vae", "vae")
    with pytest.raises(GenStudioError, match="bars"):
        drive(compose(ComposeRequest(mt, bars=0), store=store))
    with pytest.raises(GenStudioError, match="music-vae"):
        drive(interpolate(InterpolateRequest(mt, primer_piece(), primer_piece()), store=store))
    silent = NoteSequence([Note(60, 0.0, 0.1)])
    with pytest.raises(GenStudioError, match="phrase"):
        drive(interpolate(InterpolateRequest(vae, silent, primer_piece()), store=store))
    with pytest.raises(GenStudioError, match="steps"):
        drive(interpolate(InterpolateRequest(vae, primer_piece(), primer_piece(), steps=1), store=store))
