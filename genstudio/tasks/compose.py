"""Compose with a music model: continue a primer or write from nothing, and blend two phrases.

Both tasks are generators of Progress events that return a ``NoteSequence``, so the Music canvas
and the CLI show progress and can stop between tokens. A Music Transformer writes tokens in chunks
until the new music is as long as asked (bars at the primer's tempo, or seconds), then the result is
cut there; the primer's notes come back unchanged and the new ones carry ``generated=True``. A
MusicVAE writes whole phrases: composing concatenates sampled phrases, and blending encodes the first
melody phrase of each of two pieces and decodes the steps of a spherical walk between them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from genstudio.core.data import music_events as ev
from genstudio.core.errors import GenStudioError
from genstudio.core.events import Progress
from genstudio.core.notes import Note, NoteSequence
from genstudio.core.registry import Capability, get
from genstudio.tasks.generate import load_model

CHUNK_TOKENS = 64  # tokens written between checks of how long the new music is
MAX_BARS = 256
MAX_SECONDS = 600.0
MAX_INTERPOLATION_STEPS = 32
TOKENS_PER_SECOND_LIMIT = 400  # performance events: a generous bound on tokens a second of music needs


@dataclass
class ComposeRequest:
    model: str
    primer: NoteSequence | None = None  # notes to continue (None or empty: compose from nothing)
    bars: float = 8.0  # length of the new music in bars, at the primer's tempo and metre ...
    seconds: float = 0.0  # ... or in seconds when > 0 (overrides bars)
    temperature: float = 1.0  # 0 = always the likeliest event; above 1 wilder
    top_p: float = 0.95  # sample among the fewest likeliest events whose probability reaches top_p
    seed: int = 0
    tempo: float = 120.0  # for music from nothing: where the bar lines fall (and the grid's speed)

    def check(self) -> None:
        if not 0 < self.bars <= MAX_BARS and not 0 < self.seconds <= MAX_SECONDS:
            raise GenStudioError(f"Choose a length of 1–{MAX_BARS} bars or up to {MAX_SECONDS:g} seconds.")
        if self.temperature < 0 or not 0 < self.top_p <= 1:
            raise GenStudioError("Temperature must be 0 or more and top-p between 0 and 1.")


def target_seconds(request: ComposeRequest, sequence: NoteSequence) -> float:
    return request.seconds if request.seconds > 0 else request.bars * sequence.seconds_per_bar


def primer_sequence(request: ComposeRequest) -> NoteSequence:
    """The primer, or an empty sequence at the request's tempo; primer notes are never 'generated'."""
    if request.primer is None:
        return NoteSequence(tempo=request.tempo)
    notes = [n.moved(generated=False) for n in request.primer.notes if not n.is_drum]
    return request.primer.with_notes(notes)


def compose(request: ComposeRequest, device="cpu", store=None):
    """Generator of Progress (seconds of new music written); returns the primer plus the new notes."""
    request.check()
    card, model = load_model(request.model, device, store)
    spec = get(card["arch"])
    if not spec.can(Capability.MUSIC):
        raise GenStudioError(f"'{request.model}' is a {spec.name} model; choose a music model.")
    primer = primer_sequence(request)
    if hasattr(model.config, "encoding"):
        return (yield from _continue(model, request, primer))
    return (yield from _phrases(model, request, primer))


def _continue(model, request: ComposeRequest, primer: NoteSequence):
    """Music Transformer: write chunks of tokens until the new part is long enough, then cut it there."""
    enc = ev.ENCODINGS[model.config.encoding]
    cfg = model.config
    start = primer.duration if primer.notes else 0.0
    want = target_seconds(request, primer)
    tokens = [cfg.start_token] + (enc.encode(primer) if primer.notes else [])
    if enc.name == "grid":  # a primer ends on a whole 16th step; its length in steps sets where new music starts
        start = len(tokens[1:]) // ev.JSB_VOICES * step_seconds(primer.tempo)
    budget = max(CHUNK_TOKENS, int(want * TOKENS_PER_SECOND_LIMIT)) if enc.name == "performance" \
        else int(math.ceil(want / step_seconds(primer.tempo))) * ev.JSB_VOICES
    written, made = 0, 0.0
    while written < budget and made < want:
        chunk = min(CHUNK_TOKENS, budget - written)
        progress = Progress(min(int(made * 10), int(want * 10)), int(want * 10), stage="compose")
        tokens = yield from _as(progress, model.sample(primer=tokens, steps=chunk, temperature=request.temperature,
                                                       top_p=request.top_p, seed=request.seed + written))
        written += chunk
        decoded = enc.decode([t for t in tokens if t not in (cfg.start_token, cfg.end_token)], primer.tempo)
        made = max(0.0, decoded.duration - start) if enc.name == "performance" else \
            (len(tokens) - 1) // ev.JSB_VOICES * step_seconds(primer.tempo) - start
        yield Progress(min(int(made * 10), int(want * 10)), int(want * 10), stage="compose")
        if tokens[-1] == cfg.end_token:
            break
    new = [n for n in decoded.notes if n.start >= start - 1e-6 and n.start < start + want]
    new = [n.moved(end=min(n.end, start + want), generated=True) for n in new]
    return primer.with_notes(primer.notes + new)


def _as(progress: Progress, gen):
    """Run a sampler, yielding ``progress`` for each of its per-token events: a place to stop between
    tokens, while the bar counts seconds of music (the caller's measure) rather than tokens of a chunk."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value
        yield progress


def step_seconds(tempo: float) -> float:
    """A 16th note at ``tempo`` quarter notes a minute."""
    return 60.0 / tempo / 4


def _phrases(model, request: ComposeRequest, primer: NoteSequence):
    """MusicVAE: sampled phrases one after another, after the primer."""
    phrase_bars = model.config.bars
    seconds_per_bar = primer.seconds_per_bar
    want = target_seconds(request, primer)
    count = max(1, math.ceil(want / (phrase_bars * seconds_per_bar) - 1e-9))
    phrases = yield from model.sample(n=count, seed=request.seed, temperature=request.temperature)
    offset = primer.duration if primer.notes else 0.0
    offset = math.ceil(offset / seconds_per_bar - 1e-9) * seconds_per_bar  # start on a bar line
    notes = list(primer.notes)
    for i, tokens in enumerate(phrases):
        phrase = phrase_sequence(model, tokens, primer)
        shift = offset + i * phrase_bars * seconds_per_bar
        notes += [n.moved(start=n.start + shift, end=n.end + shift, generated=True) for n in phrase.notes
                  if n.start < want + 1e-6]
    return primer.with_notes(notes)


def phrase_sequence(model, tokens: list[int], like: NoteSequence) -> NoteSequence:
    steps_per_bar = model.config.steps // model.config.bars
    return ev.phrase_to_sequence(tokens, tempo=like.tempo, time_signature=like.time_signature,
                                 steps_per_bar=steps_per_bar)


@dataclass
class InterpolateRequest:
    model: str
    a: NoteSequence
    b: NoteSequence
    steps: int = 5  # phrases from a to b, both ends included
    temperature: float = 0.0  # 0 = each step decoded greedily (the ends then reconstruct a and b)
    seed: int = 0


def first_phrase(model, seq: NoteSequence, which: str):
    phrases = ev.melody_phrases(seq, bars=model.config.bars, steps_per_bar=model.config.steps // model.config.bars)
    if not phrases:
        raise GenStudioError(f"Melody {which} has no {model.config.bars}-bar phrase that is at least half notes; "
                             "choose a piece with a melody.")
    return phrases[0]


@dataclass
class Blend:
    phrases: list[NoteSequence]  # from a to b; each starts at 0
    bars: int  # bars per phrase

    def joined(self, gap_bars: int = 0) -> NoteSequence:
        """The phrases one after another (what the Music canvas shows and plays)."""
        return join_phrases(self.phrases, self.bars, gap_bars)


def interpolate(request: InterpolateRequest, device="cpu", store=None):
    """Generator of Progress; returns a ``Blend`` of the ``steps`` phrases from a to b."""
    if not 2 <= request.steps <= MAX_INTERPOLATION_STEPS:
        raise GenStudioError(f"Choose 2–{MAX_INTERPOLATION_STEPS} interpolation steps.")
    card, model = load_model(request.model, device, store)
    if not get(card["arch"]).can(Capability.INTERPOLATE) or not hasattr(model, "interpolate"):
        raise GenStudioError(f"'{request.model}' cannot blend melodies; choose a music-vae model.")
    a, b = first_phrase(model, request.a, "A"), first_phrase(model, request.b, "B")
    yield Progress(0, request.steps, stage="interpolate")
    phrases = model.interpolate(a, b, request.steps, request.temperature, request.seed)
    yield Progress(request.steps, request.steps, stage="interpolate")
    return Blend([phrase_sequence(model, tokens, request.a) for tokens in phrases], model.config.bars)


def join_phrases(phrases: list[NoteSequence], bars_each: int, gap_bars: int = 0) -> NoteSequence:
    """One sequence playing ``phrases`` one after another, each ``bars_each`` (+ gap) bars long."""
    if not phrases:
        return NoteSequence()
    first = phrases[0]
    span = (bars_each + gap_bars) * first.seconds_per_bar
    notes: list[Note] = []
    for i, phrase in enumerate(phrases):
        notes += [n.moved(start=n.start + i * span, end=n.end + i * span) for n in phrase.notes]
    return first.with_notes(notes)
