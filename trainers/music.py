"""Music data for the music trainers: a folder of MIDI files as token streams (Music Transformer) or
2-bar melody phrases (MusicVAE), with transposition, a validation split by file, and MIDI previews.

The folder is read by ``load_midi_folder`` (bad files are skipped and listed in the report). The last
~10% of the files (at least one when there are two or more) are held out for validation, so a piece
never sits on both sides. The Music Transformer encodes each file as performance events (or as the
4-voice 16th grid, its config's ``encoding``), wraps it in START … END and concatenates the files into
one stream; a training example is a window of ``block_size + 1`` tokens at an offset the loop's
DataStream picks, as for text. MusicVAE cuts each file's top line into phrases of ``bars`` bars. Either
way a batch is shifted by a random number of semitones (up to the config's ``transpose``; pitch tokens
only, and never past the MIDI range), drawn from the loop's noise generator so a resumed run repeats
it. Previews are a short piece written as a MIDI file in the run's ``previews`` folder; the loop gets
a one-line text summary (it knows image and text previews), which also becomes the card's sample text.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from genstudio.core.data import music_events as ev
from genstudio.core.data.midi import format_duration, held_out_files, load_midi_folder, write_midi
from genstudio.core.errors import ConfigError, DatasetError
from genstudio.core.events import Progress
from genstudio.core.notes import NoteSequence

VAL_WINDOWS = 128  # Music Transformer: validation windows, spread evenly through the validation stream
VAL_PHRASES = 512  # MusicVAE: at most this many validation phrases, spread evenly
VAL_BATCH = 32
PREVIEW_TOKENS = 512  # events in a Music Transformer preview (at most 4 blocks' worth)
PREVIEW_PHRASES = 4  # MusicVAE preview: this many sampled phrases, one after another
PREVIEW_TEMPERATURE = 0.9
PITCH_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


MELODY_PITCHES = ((0, 128),)  # MusicVAE: ids 0–127 start a note; HOLD and REST are not pitches


@dataclass
class MusicData:
    kind: str  # "events" (Music Transformer) or "phrases" (MusicVAE)
    train: torch.Tensor  # events: (N,) int64 token stream; phrases: (P, steps) int64
    val: torch.Tensor  # the same for the validation files (empty when there are none)
    block_size: int  # events: a training window is block_size + 1 tokens; phrases: the phrase length
    pitch_ranges: tuple[tuple[int, int], ...]
    transpose: int  # ± semitones of augmentation (0 = off)
    tempo: float  # of the first training file: previews are written at it
    time_signature: tuple[int, int]
    run_dir: Path
    encoding: str = "melody"

    def __len__(self) -> int:
        """Training examples: window offsets (events) or phrases."""
        return len(self.train) - self.block_size if self.kind == "events" else len(self.train)


def load_data(job) -> tuple[MusicData, object]:
    """Read the folder, encode both splits for the job's architecture, write the report."""
    sequences, report = load_midi_folder(job.data_dir)
    n_val = held_out_files(len(sequences))
    train_seqs, val_seqs = sequences[:len(sequences) - n_val], sequences[len(sequences) - n_val:]
    report.notes.append(f"{len(train_seqs)} file(s) for training, {len(val_seqs)} held out for validation"
                        + ("" if n_val else " (one file: no validation loss)") + ".")
    cfg = job.model_config
    first = train_seqs[0]
    common = {"transpose": cfg.transpose, "tempo": first.tempo, "time_signature": first.time_signature,
              "run_dir": job.run_dir}
    if hasattr(cfg, "encoding"):  # the Music Transformer
        enc = ev.ENCODINGS[cfg.encoding]
        cfg = job.model_config = configured(cfg, {"vocab_size": enc.vocab_size, "start_token": enc.start,
                                                  "end_token": enc.end}, job)
        train, val = event_stream(enc, train_seqs, report), event_stream(enc, val_seqs, report)
        if len(train) < cfg.block_size + 1:
            raise DatasetError(f"The training files make {len(train):,} {enc.unit}; this model reads windows of "
                               f"{cfg.block_size + 1:,} (block_size + 1). Add MIDI files or choose a smaller "
                               "block_size (a config file's [model] table, or a smaller preset).")
        report.notes.append(f"Encoding: {enc.unit}, {enc.vocab_size} ids; {len(train):,} / {len(val):,} tokens "
                            "for training / validation.")
        report.extra.update({"encoding": enc.name, "vocab_size": enc.vocab_size, "tokens": len(train) + len(val),
                             "train_tokens": len(train), "val_tokens": len(val)})
        data = MusicData("events", train, val, cfg.block_size, enc.pitch_ranges, encoding=enc.name, **common)
    else:  # MusicVAE
        cfg = job.model_config = configured(cfg, {"vocab_size": ev.MELODY_VOCAB}, job)
        train, val = phrase_table(cfg, train_seqs), phrase_table(cfg, val_seqs)
        if not len(train):
            raise DatasetError(f"No {cfg.bars}-bar melody phrase of the training files is at least half notes. "
                               "Add MIDI files with a melody (the highest line is used).")
        report.notes.append(f"Melody phrases of {cfg.bars} bars ({cfg.steps} steps): {len(train):,} for training, "
                            f"{len(val):,} for validation.")
        report.extra.update({"phrases": len(train) + len(val), "train_phrases": len(train),
                             "val_phrases": len(val), "vocab_size": ev.MELODY_VOCAB})
        data = MusicData("phrases", train, val, cfg.steps, MELODY_PITCHES, **common)
    (job.run_dir / "dataset_report.json").write_text(json.dumps(
        {**report.summary(), "skipped_files": [vars(s) for s in report.skipped], "notes": report.notes},
        indent=1, ensure_ascii=False), encoding="utf-8")
    return data, report


def configured(cfg, values: dict, job):
    """The config with the encoding's ids: set on a new run, checked on a resumed or fine-tuned one."""
    if job.resume or job.from_model:
        wrong = {k: (getattr(cfg, k), v) for k, v in values.items() if getattr(cfg, k) != v}
        if wrong:
            raise ConfigError(f"The model was trained with a different music encoding ({wrong}); it cannot "
                              "continue on this version's tokens. Start a new model.")
        return cfg
    return dataclasses.replace(cfg, **values)


def event_stream(enc: ev.Encoding, sequences: list[NoteSequence], report) -> torch.Tensor:
    """START tokens END of each file, one after another: (N,) int64."""
    parts = []
    for seq in sequences:
        tokens = enc.encode(seq)
        if not tokens:
            report.notes.append(f"{Path(seq.source).name} has no notes this encoding keeps (drums only?): left out.")
            continue
        parts.append(torch.tensor([enc.start, *tokens, enc.end], dtype=torch.long))
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.long)


def phrase_table(cfg, sequences: list[NoteSequence]) -> torch.Tensor:
    """Every file's melody phrases, (P, steps) int64."""
    phrases = [p for seq in sequences for p in ev.melody_phrases(seq, bars=cfg.bars, steps_per_bar=cfg.steps // cfg.bars)]
    return torch.from_numpy(np.stack(phrases)) if phrases else torch.zeros(0, cfg.steps, dtype=torch.long)


# -- batches ------------------------------------------------------------------------------------------
def windows(tokens: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    """(len(starts), length): ``tokens[s:s + length]`` for each start ``s``."""
    return tokens[starts[:, None] + torch.arange(length)]


def transpose(x: torch.Tensor, semitones: int, pitch_ranges, generator: torch.Generator) -> torch.Tensor:
    """Each row of (B, L) ids shifted by its own random 0…±``semitones``, pitch tokens only; a shift that
    would push a row's pitches out of 0–127 is clipped to the largest that fits."""
    if semitones <= 0:
        return x
    shift = torch.randint(-semitones, semitones + 1, (x.shape[0], 1), generator=generator, device=generator.device)
    shift = shift.to(x.device)
    is_pitch = torch.zeros_like(x, dtype=torch.bool)
    pitch = torch.zeros_like(x)
    for first, count in pitch_ranges:
        inside = (x >= first) & (x < first + count)
        is_pitch |= inside
        pitch = torch.where(inside, x - first, pitch)
    low = torch.where(is_pitch, pitch, 127).amin(1, keepdim=True)  # (B, 1); rows without pitches: 127 / 0
    high = torch.where(is_pitch, pitch, 0).amax(1, keepdim=True)
    shift = torch.maximum(torch.minimum(shift, 127 - high), -low)
    return torch.where(is_pitch, x + shift, x)


def make_batch(data: MusicData, idx: torch.Tensor, generator: torch.Generator, cfg, device) -> torch.Tensor:
    """(B, block_size + 1) token windows, or (B, steps) phrases, transposed at random."""
    x = windows(data.train, idx, data.block_size + 1) if data.kind == "events" else data.train[idx]
    return transpose(x.to(device), data.transpose, data.pitch_ranges, generator)


def validation_examples(data: MusicData) -> torch.Tensor:
    """Fixed validation examples: windows spread evenly through the validation stream (shorter where it
    is shorter than a window), or up to VAL_PHRASES phrases; empty when there are none."""
    if data.kind == "phrases":
        if not len(data.val):
            return data.val
        keep = torch.linspace(0, len(data.val) - 1, min(VAL_PHRASES, len(data.val))).round().long().unique()
        return data.val[keep]
    length = min(data.block_size + 1, len(data.val))
    if length < 2:
        return torch.empty(0, 0, dtype=torch.long)
    last = len(data.val) - length
    starts = torch.linspace(0, last, min(VAL_WINDOWS, last + 1), dtype=torch.float64).round().long().unique()
    return windows(data.val, starts, length)


@torch.no_grad()
def validation_loss(model, data: MusicData, cfg, device) -> float | None:
    """Mean held-out loss in eval mode: nats per token (Music Transformer) or the negative ELBO in nats
    per phrase (MusicVAE); None without validation files."""
    x = validation_examples(data)
    if not len(x):
        return None
    was_training = model.training
    model.eval()
    try:
        total = sum(float(model.validation_loss(batch.to(device))) * len(batch) for batch in x.split(VAL_BATCH))
    finally:
        model.train(was_training)
    return total / len(x)


# -- previews -----------------------------------------------------------------------------------------
def preview_samples(model, n: int, seed: int, data: MusicData | None = None):
    """A short piece (a Music Transformer continuation from the start token, or PREVIEW_PHRASES MusicVAE
    phrases in a row) written to ``previews/step_N.mid``; yields progress, returns a one-line summary."""
    if data.kind == "events":
        budget = min(PREVIEW_TOKENS, 4 * data.block_size)
        tokens = yield from model.sample((), budget, temperature=PREVIEW_TEMPERATURE, top_p=0.95, seed=seed)
        enc = ev.ENCODINGS[data.encoding]
        seq = enc.decode([t for t in tokens if t not in (enc.start, enc.end)], data.tempo)
        what = f"{len(tokens)} {enc.unit}"
    else:
        phrases = yield from model.sample(PREVIEW_PHRASES, seed=seed, temperature=PREVIEW_TEMPERATURE)
        seq = ev.phrase_to_sequence([t for p in phrases for t in p], tempo=data.tempo,
                                    time_signature=data.time_signature, steps_per_bar=model.config.steps // model.config.bars)
        what = f"{len(phrases)} phrases of {model.config.bars} bars"
    seq = dataclasses.replace(seq, tempo=data.tempo, source="preview")
    folder = data.run_dir / "previews"
    folder.mkdir(parents=True, exist_ok=True)
    path = write_midi(seq, folder / f"{preview_name(data.run_dir)}.mid")
    yield Progress(1, 1, stage="sample")
    return f"{describe_piece(seq)} from {what}; MIDI: {path}"


def preview_name(run_dir: Path) -> str:
    """``step_0001000``, the step the loop last logged (its previews come right after), like its .txt."""
    try:
        with open(run_dir / "metrics.jsonl", "rb") as fh:
            fh.seek(0, 2)
            fh.seek(max(0, fh.tell() - 4096))
            last = fh.read().decode("utf-8", "replace").strip().splitlines()[-1]
        return f"step_{int(json.loads(last)['step']):07d}"
    except (OSError, IndexError, ValueError, KeyError):
        return "latest"


def pitch_name(pitch: int) -> str:
    return f"{PITCH_NAMES[pitch % 12]}{pitch // 12 - 1}"


def describe_piece(seq: NoteSequence) -> str:
    """'42 notes, 12 s, C3–G5' for a status line."""
    if not seq.notes:
        return "A silent piece (no notes yet)"
    pitches = [n.pitch for n in seq.notes]
    return (f"{len(seq.notes)} note{'s' if len(seq.notes) != 1 else ''}, {format_duration(seq.duration)}, "
            f"{pitch_name(min(pitches))}–{pitch_name(max(pitches))}")
