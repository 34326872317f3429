"""Synth: a small built-in synthesizer that turns a ``NoteSequence`` into audio, and writes WAV files.

Each note is rendered whole with numpy array arithmetic (no per-sample Python loop) and added into
one mono float buffer. Pitched voices read band-limited wavetables (one cycle of the voice's
harmonics, morphing from a bright attack table to a duller body table) under an ADSR envelope;
plucked strings use the Karplus–Strong algorithm (Karplus & Strong, "Digital Synthesis of
Plucked-String and Drum Timbres", Computer Music Journal 1983), stepped one whole period at a time;
drums are shaped noise and pitch-swept sines. The note's General MIDI program family picks the voice
(``voice_for``). A look-ahead limiter keeps any number of simultaneous notes under full scale without
squashing quiet passages. If pyfluidsynth is installed and a SoundFont is given, FluidSynth renders
instead. Audio is float32 mono, ``frame_count(seq.duration, sample_rate)`` frames long.
"""

from __future__ import annotations

import functools
import io
import math
import os
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from genstudio.core.files import write_atomic
from genstudio.core.notes import Note, NoteSequence

SAMPLE_RATE = 44100
TAIL_S = 1.0  # silence kept after the last note-off: covers every voice's release and the longest drum
DEFAULT_GAIN = 0.3  # about four loud notes at once reach full scale before the limiter steps in
CEILING = 0.89  # the limiter's peak level, about -1 dBFS, so a later int16 rounding never clips
TABLE_SIZE = 2048  # samples per wavetable cycle; linear interpolation between them is inaudible here
_LIMITER_BLOCK_S = 0.01
_LIMITER_RADIUS = 4  # blocks of look-ahead and of smoothing: 40 ms, short enough to keep transients


@dataclass(frozen=True)
class Envelope:
    attack: float  # seconds from silence to full level
    decay: float  # seconds (time constant) from full level towards the sustain level
    sustain: float  # level held while the key is down, 0–1; 0 lets the note die away like a piano's
    release: float  # seconds to fade out after the key is let go
    decay_tracks_pitch: bool = False  # the decay halves every two octaves up, as real strings do

    def levels(self, pitch: int, n_held: int, n_total: int, sample_rate: int) -> np.ndarray:
        """The float32 envelope of a note held ``n_held`` frames, ``n_total`` frames with its release."""
        decay = self.decay * 2.0 ** (-(pitch - 69) / 24) if self.decay_tracks_pitch else self.decay
        n_attack = min(max(1, round(self.attack * sample_rate)), n_total)
        after_attack = np.arange(-n_attack, n_total - n_attack, dtype=np.float32)
        np.maximum(after_attack, 0.0, out=after_attack)
        level = np.exp(after_attack * np.float32(-1 / (decay * sample_rate)))
        level *= 1 - self.sustain
        level += self.sustain
        level[:n_attack] *= np.arange(1, n_attack + 1, dtype=np.float32) / n_attack
        if n_held < n_total:
            fade = 1.0 - np.arange(n_total - n_held, dtype=np.float32) / np.float32(self.release * sample_rate)
            np.maximum(fade, 0.0, out=fade)
            # a squared ramp sounds like a natural fade; starting from the level at key-up avoids a click
            level[n_held:] = level[max(n_held - 1, 0)] * np.square(fade)
        return level


@dataclass(frozen=True)
class Timbre:
    bright: tuple[float, ...]  # harmonic amplitudes (fundamental first) at the attack
    body: tuple[float, ...]  # harmonic amplitudes once the tone has settled
    settle: float = 0.0  # seconds (time constant) from bright to body; 0 plays the body only
    vibrato: float = 0.0  # depth as a fraction of the frequency, fading in over the first 0.3 s


@dataclass(frozen=True)
class Voice:
    name: str
    description: str
    render: Callable[[Note, int], np.ndarray]  # (note, sample rate) -> mono float samples from the note's start
    release: float  # seconds it may sound after note-off (≤ TAIL_S)


def midi_to_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69) / 12)


def velocity_gain(velocity: int) -> float:
    """Amplitude for a MIDI velocity: the square law of the DLS spec, a 42 dB range from 1 to 127."""
    return (velocity / 127) ** 2


def frame_count(duration_s: float, sample_rate: int = SAMPLE_RATE) -> int:
    """Frames rendered for a sequence ``duration_s`` long: ceil((duration + TAIL_S) * sample_rate).

    A tolerance of 1e-6 frame keeps float rounding (1.1 * 44100 = 48510.000000000004) from adding one.
    """
    return math.ceil((duration_s + TAIL_S) * sample_rate - 1e-6)


def _note_rng(note: Note) -> np.random.Generator:
    # seeded from the note itself, so the same sequence always renders to the same samples
    return np.random.default_rng([note.pitch, round(note.start * 1000), note.velocity, note.program])


def _held_and_total(note: Note, release: float, sample_rate: int) -> tuple[int, int]:
    n_held = max(1, round(note.duration * sample_rate))
    return n_held, n_held + math.ceil(release * sample_rate)


# --- wavetable voices -------------------------------------------------------------------------------

@functools.lru_cache(maxsize=512)
def _wavetable(amplitudes: tuple[float, ...], count: int) -> np.ndarray:
    """One cycle of the first ``count`` harmonics, peak 1, with a guard sample for interpolation."""
    x = np.arange(TABLE_SIZE + 1) / TABLE_SIZE
    table = np.zeros(TABLE_SIZE + 1)
    for k, amp in enumerate(amplitudes[:count], start=1):
        if amp:
            table += amp * np.sin(2 * np.pi * k * x)
    return (table / max(np.abs(table).max(), 1e-12)).astype(np.float32)


@functools.lru_cache(maxsize=4)
def _vibrato_clock(length: int, sample_rate: int, depth: float) -> np.ndarray:
    """Running sum of the vibrato's frequency bend; it is the same for every note, so it is kept."""
    t = np.arange(length) / sample_rate
    bend = 1.0 + depth * np.minimum(t / 0.3, 1.0) * np.sin(2 * np.pi * 5.5 * t)
    clock = np.cumsum(bend)
    clock.flags.writeable = False  # shared by every note that reads it
    return clock


def _table_position(freq: float, n: int, sample_rate: int, vibrato: float) -> tuple[np.ndarray, np.ndarray]:
    """Each frame's place in a wavetable cycle, as (whole index, float32 fraction to the next).

    The running phase stays float64 (a long note's cycle count needs the precision); the work after
    the wrap is done in place and in float32, which halves the memory traffic that dominates here.
    """
    if vibrato:
        # kept in power-of-two lengths so notes of similar length share one; very long notes skip the cache
        length = 1 << max(n - 1, 1).bit_length()
        if length <= 1 << 21:
            clock = _vibrato_clock(length, sample_rate, vibrato)[:n]
        else:
            clock = _vibrato_clock.__wrapped__(n, sample_rate, vibrato)
        index = clock * (freq / sample_rate)
    else:
        index = np.arange(n, dtype=np.float64)
        index *= freq / sample_rate
    index -= np.floor(index)
    index *= TABLE_SIZE
    whole = index.astype(np.int32)
    index -= whole
    return whole, index.astype(np.float32)


def _lookup(table: np.ndarray, whole: np.ndarray, frac: np.ndarray) -> np.ndarray:
    low = table.take(whole)
    out = table.take(whole + 1)
    out -= low
    out *= frac
    out += low
    return out


def _tonal_note(note: Note, sample_rate: int, *, timbre: Timbre, envelope: Envelope) -> np.ndarray:
    freq = midi_to_hz(note.pitch)
    n_held, n = _held_and_total(note, envelope.release, sample_rate)
    whole, frac = _table_position(freq, n, sample_rate, timbre.vibrato)
    count = max(1, int(0.45 * sample_rate / freq))  # harmonics under ~20 kHz at 44.1 kHz: no aliasing
    wave_ = _lookup(_wavetable(timbre.body, count), whole, frac)
    if timbre.settle:
        bright = _lookup(_wavetable(timbre.bright, count), whole, frac)
        # a harder strike starts brighter
        mix = np.exp(np.arange(n, dtype=np.float32) * np.float32(-1 / (timbre.settle * sample_rate)))
        mix *= 0.3 + 0.7 * note.velocity / 127
        bright -= wave_
        bright *= mix
        wave_ += bright
    return wave_ * envelope.levels(note.pitch, n_held, n, sample_rate)


def _saw(count: int, cutoff: float) -> tuple[float, ...]:
    """A sawtooth's 1/k harmonics through a gentle second-order low-pass at harmonic ``cutoff``."""
    return tuple(1 / k / math.sqrt(1 + (k / cutoff) ** 4) for k in range(1, count + 1))


def _tonal_voice(name: str, description: str, timbre: Timbre, envelope: Envelope) -> Voice:
    render = functools.partial(_tonal_note, timbre=timbre, envelope=envelope)
    return Voice(name, description, render, envelope.release)


# --- Karplus–Strong plucked string ------------------------------------------------------------------

PLUCK_RELEASE = 0.12


def _karplus_strong(excitation: np.ndarray, n: int, loss: float, stretch: float) -> np.ndarray:
    """``n`` samples of y[i] = loss * ((1 - S) y[i-P] + S y[i-P-1]), seeded with the P-sample excitation.

    S = ``stretch`` is 0.5 in the original algorithm; Jaffe and Smith's smaller S damps high notes
    less. Each period depends only on the one before, so a whole period is one vector step.
    """
    period = len(excitation)
    blocks = n // period + 2
    buf = np.zeros(blocks * period + 1)  # buf[i + 1] holds y[i]; buf[0] is the silent y[-1]
    buf[1:period + 1] = excitation
    now, before = loss * (1 - stretch), loss * stretch
    for b in range(1, blocks):
        prev = buf[(b - 1) * period: b * period + 1]
        buf[b * period + 1: (b + 1) * period + 1] = now * prev[1:] + before * prev[:-1]
    return buf[1:n + 1]


def _pluck_shape(note: Note, period: int) -> np.ndarray:
    """The string's shape at the pluck: a triangle peaking a fifth along it, roughened with noise.

    Pure noise (the original algorithm) spreads its energy over every harmonic, so the fundamental is
    faint; the triangle's harmonics fall as 1/k², as a real plucked string's do. Harder plucks get
    more noise, so they start brighter.
    """
    x = np.arange(period) / period
    shape = np.where(x < 0.2, x / 0.2, (1 - x) / 0.8)
    shape += 0.4 * (note.velocity / 127) * _note_rng(note).uniform(-1.0, 1.0, period)
    shape -= shape.mean()  # the loop keeps any DC offset, which would thump at the note's start and end
    return shape / max(np.abs(shape).max(), 1e-12)


def _pluck_filter(pitch: int, freq: float, sample_rate: int) -> tuple[float, float, float]:
    """(loss, stretch, delay in samples) of the string loop, so the fundamental falls 60 dB in t60 seconds.

    The two-point average alone already damps a high note within milliseconds (Jaffe & Smith,
    "Extensions of the Karplus-Strong Plucked-String Algorithm", 1983): where it would, its weight S
    shrinks until it damps just enough; elsewhere S is 0.5 and a loss factor supplies the rest.
    """
    t60 = 3.0 * 2.0 ** (-(pitch - 69) / 24)  # high strings ring for less time
    target = 10.0 ** (-3.0 / (freq * t60))  # gain per period
    w = 2 * math.pi * freq / sample_rate
    # |(1 - S) + S e^{-iw}|² = 1 - 2 S (1 - S) (1 - cos w); solve it for the target, S ≤ 0.5
    product = (1 - target**2) / (2 * (1 - math.cos(w)))
    if product >= 0.25:
        stretch, loss = 0.5, target / math.cos(w / 2)
    else:
        stretch, loss = (1 - math.sqrt(1 - 4 * product)) / 2, 1.0
    delay = math.atan2(stretch * math.sin(w), 1 - stretch + stretch * math.cos(w)) / w
    return loss, stretch, delay


def _pluck_note(note: Note, sample_rate: int) -> np.ndarray:
    freq = midi_to_hz(note.pitch)
    n_held, n = _held_and_total(note, PLUCK_RELEASE, sample_rate)
    true_period = sample_rate / freq
    loss, stretch, delay = _pluck_filter(note.pitch, freq, sample_rate)
    # the filter delays the loop by a fraction of a sample, so an integer delay line plays at
    # period + delay; reading it slightly slower (np.interp) lands exactly on the note's pitch
    period = max(2, int(true_period - delay))
    speed = (period + delay) / true_period
    raw = _karplus_strong(_pluck_shape(note, period), math.ceil(n * speed) + 2, loss, stretch)
    string = np.interp(np.arange(n) * speed, np.arange(len(raw)), raw)
    fade = np.ones(n)
    fade[n_held:] = np.square(np.maximum(1.0 - np.arange(n - n_held) / (PLUCK_RELEASE * sample_rate), 0.0))
    return string * fade


# --- drums ------------------------------------------------------------------------------------------

def _sweep(t: np.ndarray, low: float, high: float, fall_s: float, sample_rate: int) -> np.ndarray:
    """A sine whose pitch falls from ``high`` to ``low`` Hz, as a struck drum head does."""
    freq = low + (high - low) * np.exp(-t / fall_s)
    return np.sin(2 * np.pi * np.cumsum(freq) / sample_rate)


def _bright_noise(rng: np.random.Generator, n: int, order: int = 1) -> np.ndarray:
    """White noise differenced ``order`` times: a cheap high-pass that tilts it towards hiss."""
    noise = rng.uniform(-1.0, 1.0, n + order)
    return np.diff(noise, n=order) / 2**order


# kit piece -> (seconds it lasts, peak level); each is at most TAIL_S long, so it fits after the last note
_DRUM_SHAPES = {"kick": (0.5, 1.0), "snare": (0.35, 0.8), "clap": (0.3, 0.7), "hat": (0.12, 0.4),
                "open_hat": (0.5, 0.4), "cymbal": (1.0, 0.45), "ride": (0.9, 0.35), "tom": (0.5, 0.8),
                "perc": (0.25, 0.5)}


def _drum_note(note: Note, sample_rate: int) -> np.ndarray:
    kind = drum_kind(note.pitch)
    length, level = _DRUM_SHAPES[kind]
    t = np.arange(round(length * sample_rate)) / sample_rate
    sound = _drum(kind, note, t, sample_rate)
    return sound * (level / max(np.abs(sound).max(), 1e-12))


@functools.lru_cache(maxsize=8)
def _metal(n: int, sample_rate: int) -> np.ndarray:
    """Six square waves at inharmonic frequencies, as the TR-808's cymbal circuit sums, then high-passed.

    The same for every hit, so it is made once per length (read-only, as it is shared).
    """
    t = np.arange(n) / sample_rate
    metal = sum(np.sign(np.sin(2 * np.pi * f * t)) for f in (205.3, 304.4, 369.6, 522.7, 540.0, 800.0))
    tone = np.diff(metal, prepend=0.0)
    tone.flags.writeable = False
    return tone


def _drum(kind: str, note: Note, t: np.ndarray, sample_rate: int) -> np.ndarray:
    """One kit piece over the times ``t``, at any level (``_drum_note`` scales it)."""
    rng = _note_rng(note)
    n = len(t)
    if kind == "kick":
        click = 0.3 * _bright_noise(rng, n) * np.exp(-t / 0.004)
        return _sweep(t, 48, 160, 0.035, sample_rate) * np.exp(-t / 0.16) + click
    if kind == "snare":
        rattle = _bright_noise(rng, n) * np.exp(-t / 0.09)
        return 0.5 * _sweep(t, 180, 240, 0.02, sample_rate) * np.exp(-t / 0.05) + rattle
    if kind == "clap":
        bursts = sum(np.exp(-np.maximum(t - d, 0) / 0.008) * (t >= d) for d in (0.0, 0.011, 0.022))
        return _bright_noise(rng, n) * (bursts + 0.4 * np.exp(-t / 0.08) * (t >= 0.022))
    if kind in ("hat", "open_hat", "cymbal", "ride"):
        decay = {"hat": 0.025, "open_hat": 0.16, "cymbal": 0.35, "ride": 0.45}[kind]
        tone = _metal(n, sample_rate) * (0.6 if kind == "ride" else 0.3)
        return (_bright_noise(rng, n, order=2) * 2 + tone) * np.exp(-t / decay)
    if kind == "tom":
        base = 70 * 2 ** ((note.pitch - 41) / 9)  # low floor tom (41) to high tom (50) over about an octave
        return _sweep(t, base, base * 1.6, 0.04, sample_rate) * np.exp(-t / 0.22)
    freq = midi_to_hz(note.pitch + 12)  # the other kit pieces: a short bright ping with a noise tick
    return (np.sin(2 * np.pi * freq * t) + 0.3 * _bright_noise(rng, n)) * np.exp(-t / 0.05)


_DRUM_KINDS = {35: "kick", 36: "kick", 37: "perc", 38: "snare", 39: "clap", 40: "snare", 42: "hat", 44: "hat",
               46: "open_hat", 49: "cymbal", 51: "ride", 52: "cymbal", 53: "ride", 55: "cymbal", 57: "cymbal",
               59: "ride", **{p: "tom" for p in (41, 43, 45, 47, 48, 50)}}


def drum_kind(pitch: int) -> str:
    """Which kit piece a drum-channel pitch plays (General MIDI percussion map, simplified)."""
    return _DRUM_KINDS.get(pitch, "perc")


# --- the voices and the General MIDI families they play ---------------------------------------------

VOICES: dict[str, Voice] = {v.name: v for v in (
    _tonal_voice("piano", "struck strings: bright harmonics that dull and die away",
                 Timbre(bright=(1, .6, .45, .3, .25, .18, .12, .1, .08, .06, .05, .04), body=(1, .35, .12, .06),
                        settle=0.25),
                 Envelope(attack=0.004, decay=1.2, sustain=0.0, release=0.25, decay_tracks_pitch=True)),
    _tonal_voice("mallet", "vibraphone and marimba: nearly a sine, with a brief high partial",
                 Timbre(bright=(1, 0, 0, .5, 0, 0, 0, 0, 0, .25), body=(1,), settle=0.05),
                 Envelope(attack=0.002, decay=0.6, sustain=0.0, release=0.2, decay_tracks_pitch=True)),
    _tonal_voice("organ", "drawbar organ: steady additive harmonics",
                 Timbre(bright=(), body=(1, .8, .6, .45, 0, .3, 0, .25)),
                 Envelope(attack=0.01, decay=0.1, sustain=0.9, release=0.08)),
    _tonal_voice("strings", "bowed strings and pads: a low-passed sawtooth with slow attack and vibrato",
                 Timbre(bright=(), body=_saw(32, cutoff=8), vibrato=0.004),
                 Envelope(attack=0.12, decay=0.3, sustain=0.85, release=0.35)),
    _tonal_voice("lead", "brass, reeds and synth leads: a bright, reedy tone",
                 Timbre(bright=tuple(1 / k if k % 2 else 0.5 / k for k in range(1, 25)), body=_saw(24, cutoff=5),
                        settle=0.15, vibrato=0.003),
                 Envelope(attack=0.03, decay=0.2, sustain=0.8, release=0.15)),
    _tonal_voice("bass", "bass: a round low tone whose upper harmonics fade quickly",
                 Timbre(bright=(1, .7, .5, .35, .25, .15, .1, .06), body=(1, .3, .1), settle=0.12),
                 Envelope(attack=0.005, decay=0.8, sustain=0.5, release=0.1)),
    Voice("pluck", "guitars and plucked strings: Karplus–Strong", _pluck_note, PLUCK_RELEASE),
    Voice("drums", "the drum kit: kick, snare, clap, hats, cymbals and toms from noise and swept sines",
          _drum_note, max(length for length, _ in _DRUM_SHAPES.values())),
)}

# General MIDI's 16 families of 8 programs each, in order, mapped to the voice that plays them
_FAMILY_VOICES = ("piano", "mallet", "organ", "pluck", "bass", "strings", "strings", "lead",
                  "lead", "organ", "lead", "strings", "strings", "pluck", "mallet", "strings")


def voice_for(program: int, is_drum: bool = False) -> str:
    """The name of the voice that plays General MIDI ``program`` (0–127), or the kit for drums."""
    return "drums" if is_drum else _FAMILY_VOICES[program // 8]


# --- mixing -----------------------------------------------------------------------------------------

def _sliding(values: np.ndarray, radius: int, pad: float | str, reduce: Callable) -> np.ndarray:
    if isinstance(pad, str):
        padded = np.pad(values, radius, mode=pad)
    else:
        padded = np.pad(values, radius, constant_values=pad)
    return reduce(np.lib.stride_tricks.sliding_window_view(padded, 2 * radius + 1), axis=1)


def limit(audio: np.ndarray, sample_rate: int = SAMPLE_RATE, ceiling: float = CEILING) -> np.ndarray:
    """Turns the level down only around peaks that would pass ``ceiling``; quiet passages stay as they are.

    The gain for each 10 ms block is what its peak needs, taken as the minimum over neighbouring
    blocks and then averaged: the minimum reaches one block further than the average, so the smoothed
    gain, interpolated between block centres, never exceeds what any sample's own block needs.
    """
    n = len(audio)
    if n == 0:
        return audio.copy()
    block = max(1, round(_LIMITER_BLOCK_S * sample_rate))
    blocks = math.ceil(n / block)
    peaks = np.zeros(blocks * block)
    peaks[:n] = np.abs(audio)
    need = np.minimum(1.0, ceiling / np.maximum(peaks.reshape(blocks, block).max(axis=1), 1e-12))
    if need.min() >= 1.0:
        return audio.copy()
    held = _sliding(need, _LIMITER_RADIUS + 1, 1.0, np.min)
    smooth = _sliding(held, _LIMITER_RADIUS, "edge", np.mean)
    gain = np.interp(np.arange(n), (np.arange(blocks) + 0.5) * block, smooth)
    return np.clip(audio * gain, -ceiling, ceiling)  # the clip only guards against float rounding


def render(seq: NoteSequence, sample_rate: int = SAMPLE_RATE, gain: float = DEFAULT_GAIN,
           voice: str | None = None, soundfont: str | os.PathLike | None = None) -> np.ndarray:
    """The sequence as float32 mono audio in [-1, 1], ``frame_count(seq.duration, sample_rate)`` frames.

    ``voice`` plays every pitched note with that voice instead of its program's; drum notes keep the
    kit, since their pitch names a drum. With ``soundfont`` and pyfluidsynth installed, FluidSynth
    plays the sequence through the SoundFont; without pyfluidsynth the built-in voices do.
    """
    if voice is not None and voice not in VOICES:
        raise ValueError(f"No voice named '{voice}'; the voices are {', '.join(VOICES)}.")
    n_total = frame_count(seq.duration, sample_rate)
    if soundfont is not None:
        mix = _render_fluidsynth(seq, sample_rate, soundfont, n_total)
        if mix is not None:
            return limit(mix * (gain / DEFAULT_GAIN), sample_rate).astype(np.float32)
    mix = np.zeros(n_total)
    for note in seq.notes:
        name = voice_for(note.program, note.is_drum) if voice is None or note.is_drum else voice
        sound = VOICES[name].render(note, sample_rate) * velocity_gain(note.velocity)
        start = round(note.start * sample_rate)
        stop = min(n_total, start + len(sound))
        mix[start:stop] += sound[:stop - start]
    return limit(mix * gain, sample_rate).astype(np.float32)


def _render_fluidsynth(seq: NoteSequence, sample_rate: int, soundfont: str | os.PathLike,
                       n_total: int) -> np.ndarray | None:
    """The sequence played by FluidSynth through ``soundfont``, mono float64; None without pyfluidsynth."""
    try:
        import fluidsynth  # optional: pyfluidsynth, and the libfluidsynth it loads
    except (ImportError, OSError):
        return None
    synth = fluidsynth.Synth(samplerate=float(sample_rate))
    try:
        font = synth.sfload(str(soundfont))
        melodic = [c for c in range(16) if c != 9]  # channel 10 is the kit in General MIDI
        programs = sorted({n.program for n in seq.notes if not n.is_drum})
        channel = {p: melodic[i % len(melodic)] for i, p in enumerate(programs)}
        for program, chan in channel.items():
            synth.program_select(chan, font, 0, program)
        synth.program_select(9, font, 128, 0)
        # note-offs sort before note-ons at the same frame, so a repeated pitch sounds again
        events = sorted([(round(n.end * sample_rate), 0, n) for n in seq.notes]
                        + [(round(n.start * sample_rate), 1, n) for n in seq.notes], key=lambda e: e[:2])
        chunks, at = [], 0
        for frame, is_on, note in events:
            if frame > at:
                chunks.append(synth.get_samples(frame - at))
                at = frame
            chan = 9 if note.is_drum else channel[note.program]
            synth.noteon(chan, note.pitch, note.velocity) if is_on else synth.noteoff(chan, note.pitch)
        if n_total > at:
            chunks.append(synth.get_samples(n_total - at))
        stereo = np.concatenate(chunks).astype(np.float64).reshape(-1, 2) / 32768 if chunks else np.zeros((0, 2))
        return np.pad(stereo.mean(axis=1), (0, max(0, n_total - len(stereo))))[:n_total]
    finally:
        synth.delete()


# --- WAV files --------------------------------------------------------------------------------------

def _write_wave(target, audio: np.ndarray, sample_rate: int) -> None:
    """16-bit PCM: mono for 1-D audio, one channel per column for (frames, channels)."""
    audio = np.asarray(audio, dtype=np.float64)
    channels = 1 if audio.ndim == 1 else audio.shape[1]
    pcm = np.round(np.clip(audio, -1.0, 1.0) * 32767).astype("<i2")
    with wave.open(target, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(int(sample_rate))
        out.writeframes(pcm.tobytes())


def wav_bytes(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> bytes:
    """The audio as the bytes of a 16-bit PCM WAV file."""
    buffer = io.BytesIO()
    _write_wave(buffer, audio, sample_rate)
    return buffer.getvalue()


def write_wav(audio: np.ndarray, path: str | os.PathLike, sample_rate: int = SAMPLE_RATE) -> Path:
    """Writes a 16-bit PCM WAV file; a crash mid-write leaves any earlier file at ``path`` whole."""
    return write_atomic(path, wav_bytes(audio, sample_rate))
