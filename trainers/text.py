"""Text data for the text-modality trainers: the folder's tokens, windows cut from them, validation.

A new run fits its tokenizer (characters or byte-level BPE, the config's ``tokenizer_kind``) on the
training split only, so the validation text stays unseen, and stores it in the model config; a
resumed run finds it in its checkpoint and a fine-tuned model keeps its own. A training example is
a window of ``block_size + 1`` tokens starting at an offset the loop's DataStream picks, so the data
order (and an exact resume) needs nothing but the count of windows consumed. Validation is the mean
next-token loss over windows spread evenly through the validation text: the same windows every time.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass

import torch

from genstudio.core.data.text import VAL_FRACTION, describe_split, load_text_folder, split_train_val
from genstudio.core.errors import DatasetError
from genstudio.core.events import Progress
from genstudio.models.tokenizer import UNK_ID, Tokenizer, fit_tokenizer, tokenizer_from_json

VAL_WINDOWS = 256  # validation windows, spread evenly through the validation text
VAL_BATCH = 32  # validation windows per forward pass
PREVIEW_TOKENS = {"char": 240, "bpe": 120}  # about the same length of text either way
PREVIEW_PROMPT_CHARS = 40
TOKENIZER_NAMES = {"char": "characters", "bpe": "byte-level BPE"}
ENCODE_CHUNK = 1_000_000  # characters encoded at a time
_LINE_BREAK = re.compile(r"(?<=\S)\n(?=\S)")


@dataclass
class TextData:
    train: torch.Tensor  # (N,) int32 token ids of the training text
    val: torch.Tensor  # (M,) int32 token ids of the validation text
    block_size: int  # a training window is block_size + 1 tokens: inputs and their next tokens
    tokenizer: Tokenizer
    prompt: str  # what previews continue: the start of the first file

    def __len__(self) -> int:
        """The number of training windows (their start offsets are what the DataStream shuffles)."""
        return len(self.train) - self.block_size


def load_data(job) -> tuple[TextData, object]:
    """Read the folder, fit or reuse the tokenizer, encode both splits, write the report."""
    files, report = load_text_folder(job.data_dir)
    train_text, val_text = split_train_val([f.text for f in files])
    report.notes.append(describe_split(len(train_text), len(val_text)))
    cfg = job.model_config
    if job.resume or job.from_model:
        tokenizer = tokenizer_from_json(cfg.tokenizer)
    else:
        tokenizer = fit_tokenizer(cfg.tokenizer_kind, [train_text], vocab_size=cfg.bpe_vocab_size)
        cfg = job.model_config = dataclasses.replace(cfg, tokenizer=tokenizer.to_json(),
                                                     vocab_size=tokenizer.vocab_size)
    train, val = encode(tokenizer, train_text), encode(tokenizer, val_text)
    check_length(len(train) + len(val), len(train), cfg.block_size)
    describe_tokens(report, tokenizer, train, val)
    if len(val) < 2:
        report.notes.append("The validation text is too short to predict: there is no validation loss.")
    (job.run_dir / "dataset_report.json").write_text(json.dumps(
        {**report.summary(), "skipped_files": [vars(s) for s in report.skipped], "notes": report.notes},
        indent=1, ensure_ascii=False), encoding="utf-8")
    return TextData(train, val, cfg.block_size, tokenizer, preview_prompt(train_text)), report


def encode(tokenizer: Tokenizer, text: str, chunk_chars: int = ENCODE_CHUNK) -> torch.Tensor:
    """(N,) int32 token ids of ``text``, encoded a chunk at a time so a large folder never becomes one
    Python list. Chunks end at a line break between two non-space characters: BPE's pre-tokenizer
    splits there anyway, so the tokens are exactly those of the whole text."""
    parts, start = [], 0
    while start < len(text):
        found = _LINE_BREAK.search(text, start + chunk_chars) if start + chunk_chars < len(text) else None
        end = found.end() if found else len(text)
        parts.append(torch.tensor(tokenizer.encode(text[start:end]), dtype=torch.int32))
        start = end
    return torch.cat(parts) if parts else torch.zeros(0, dtype=torch.int32)


def check_length(total: int, train: int, block_size: int) -> None:
    """A DatasetError unless the training split holds at least one window."""
    if train < block_size + 1:
        raise DatasetError(
            f"The texts have {total:,} tokens ({train:,} for training after the last {VAL_FRACTION:.0%} is held out "
            f"for validation); this model reads windows of {block_size + 1:,} tokens (block_size + 1), so it needs "
            f"at least {block_size + 1:,} for training. Add text to the folder or lower block_size (a config "
            "file's [model] table, or a smaller preset).")


def describe_tokens(report, tokenizer: Tokenizer, train: torch.Tensor, val: torch.Tensor) -> None:
    """The tokenizer and token counts, in the report's notes and on the model card."""
    name = TOKENIZER_NAMES.get(tokenizer.kind, tokenizer.kind)
    report.notes.append(f"Tokenizer: {name}, {tokenizer.vocab_size:,} tokens in its vocabulary; "
                        f"{len(train):,} / {len(val):,} tokens for training / validation.")
    unknown = int((train == UNK_ID).sum() + (val == UNK_ID).sum()) if tokenizer.kind == "char" else 0
    if unknown:
        report.notes.append(f"{unknown:,} characters are not in the tokenizer's vocabulary and are read as unknown.")
    report.extra.update({"tokens": len(train) + len(val), "train_tokens": len(train), "val_tokens": len(val),
                         "tokenizer": tokenizer.kind, "vocab_size": tokenizer.vocab_size})


def preview_prompt(text: str) -> str:
    """The start of the training text, up to its first line break or a word boundary."""
    head = text[:PREVIEW_PROMPT_CHARS].split("\n")[0]
    if len(head) == PREVIEW_PROMPT_CHARS and " " in head:
        head = head.rsplit(" ", 1)[0] + " "
    return head or text[:1]


def windows(tokens: torch.Tensor, starts: torch.Tensor, length: int) -> torch.Tensor:
    """(len(starts), length) long: ``tokens[s:s + length]`` for each start ``s``."""
    return tokens[starts[:, None] + torch.arange(length)].long()


def make_batch(data: TextData, idx: torch.Tensor, generator: torch.Generator, cfg, device) -> torch.Tensor:
    """(B, block_size + 1) token windows starting at the offsets the DataStream drew."""
    return windows(data.train, idx, data.block_size + 1).to(device)


def validation_windows(data: TextData) -> torch.Tensor:
    """Up to VAL_WINDOWS windows spread evenly through the validation text (shorter ones where it is
    shorter than a window); empty when there is no validation text to predict."""
    length = min(data.block_size + 1, len(data.val))
    if length < 2:
        return torch.empty(0, 0, dtype=torch.long)
    last = len(data.val) - length
    starts = torch.linspace(0, last, min(VAL_WINDOWS, last + 1), dtype=torch.float64).round().long().unique()
    return windows(data.val, starts, length)


@torch.no_grad()
def validation_loss(model, data: TextData, cfg, device) -> float | None:
    """The mean next-token loss over the fixed validation windows, in eval mode (no dropout); None
    when there is no validation text."""
    x = validation_windows(data)
    if not len(x):
        return None
    was_training = model.training
    model.eval()
    try:
        total = 0.0
        for batch in x.split(VAL_BATCH):
            total += float(model.validation_loss(batch.to(device))) * len(batch)
    finally:
        model.train(was_training)
    return total / len(x)


def preview_samples(model, n: int, seed: int, data: TextData | None = None):
    """A short continuation of the preview prompt (``n``, the image families' grid size, is not used);
    yields progress and returns the text, prompt included."""
    tokenizer = data.tokenizer
    prompt_ids = tokenizer.encode(data.prompt)
    budget = PREVIEW_TOKENS.get(tokenizer.kind, 120)
    ids = []
    for token in model.generate_tokens(prompt_ids, budget, temperature=0.8, top_k=0, top_p=0.95, seed=seed):
        ids.append(token)
        if len(ids) % 40 == 0:
            yield Progress(len(ids), budget, stage="sample")
    return data.prompt + tokenizer.decode(ids)
