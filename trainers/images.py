"""Image data for every image-modality trainer: one decoded uint8 array, batches cut from it.

This module is also the whole training recipe of the image families: the loss lives in the model
(``training_loss``), and GANs get their alternating steps from the loop's ``training_phases``.

A model config with a ``classes`` field learns from class subfolders (its class picker's names); one
with a ``vocab`` field learns from captions (``genstudio.core.data.captions`` says where they come
from). Both are fixed when a run starts from scratch and kept when it resumes or fine-tunes.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass

import numpy as np
import torch

from genstudio.core.data import captions as captionlib
from genstudio.core.data.images import load_image_folder, to_grayscale
from genstudio.core.errors import DatasetError
from genstudio.models.common import from_uint8


@dataclass
class ImageData:
    images: torch.Tensor  # N×H×W×C uint8
    labels: torch.Tensor | None = None  # (N,) class indices
    tokens: torch.Tensor | None = None  # (N, L) caption token ids
    captions: list[str] | None = None  # the caption texts (previews draw their prompts from these)

    def __len__(self) -> int:
        return len(self.images)


def load_data(job) -> tuple[ImageData, object]:
    """Decode the folder once (shared by all epochs), attach labels or captions, write the report."""
    images, report = load_image_folder(job.data_dir, job.model_config.image_size)
    if getattr(job.model_config, "channels", 3) == 1:
        images = to_grayscale(images)
    data = ImageData(torch.from_numpy(images))
    if hasattr(job.model_config, "classes"):
        data = attach_labels(job, data, report)
    if hasattr(job.model_config, "vocab"):
        data = attach_captions(job, data, report)
    (job.run_dir / "dataset_report.json").write_text(json.dumps(
        {**report.summary(), "skipped_files": [vars(s) for s in report.skipped], "notes": report.notes},
        indent=1), encoding="utf-8")
    return data, report


def attach_labels(job, data: ImageData, report) -> ImageData:
    """Class labels from subfolders. A new run takes the folder's classes; a resumed or fine-tuned
    model keeps its own, and images of other classes are skipped."""
    cfg = job.model_config
    fixed = job.resume or bool(job.from_model)
    classes = tuple(cfg.classes) if fixed else captionlib.folder_classes(report.used, report.root)
    if not classes:
        if captionlib.folder_classes(report.used, report.root):
            report.notes.append("The model is unconditional: the subfolders are not used as classes.")
        return data
    labels, outside = captionlib.labels_for(report.used, report.root, classes)
    if outside:
        reason = "not in a class subfolder" if not fixed else f"not in one of the model's classes ({', '.join(classes)})"
        report.drop(outside, reason)
    if not len(labels):
        raise DatasetError(f"No images are in the classes this model knows ({', '.join(classes)}).\n{report.to_text()}")
    job.model_config = dataclasses.replace(cfg, classes=classes)
    report.notes.append(captionlib.describe_classes(classes, labels))
    report.extra["classes"] = list(classes)
    keep = np.setdiff1d(np.arange(len(data.images)), outside)
    return ImageData(data.images[torch.from_numpy(keep)], torch.from_numpy(labels))


def attach_captions(job, data: ImageData, report) -> ImageData:
    """Caption tokens for each image; a new run builds the vocabulary from these captions."""
    cfg = job.model_config
    captions = [captionlib.resolve_caption(p) for p in report.used]
    texts = [c.text for c in captions]
    if not (job.resume or job.from_model):
        cfg = dataclasses.replace(cfg, vocab=captionlib.build_vocab(texts, cfg.max_vocab))
        job.model_config = cfg
    tokens = captionlib.encode_texts(texts, cfg.vocab, cfg.max_tokens)
    report.notes.append(captionlib.describe_captions(captions))
    report.notes.append(f"Vocabulary: {len(cfg.vocab)} words.")
    report.extra["caption_sources"] = captionlib.caption_sources(captions)
    return dataclasses.replace(data, tokens=torch.from_numpy(tokens), captions=texts)


def make_batch(data: ImageData, idx: torch.Tensor, generator: torch.Generator, cfg, device):
    """Float batch in [-1, 1], (B, C, H, W) on ``device``, random flips drawn from the run's generator;
    with (batch, {"labels" or "tokens": ...}) when the data is conditioned."""
    batch = from_uint8(data.images[idx].to(device))
    if cfg.hflip:
        flip = torch.rand(len(idx), generator=generator, device=generator.device).to(device) < 0.5
        batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
    cond = {}
    if data.labels is not None:
        cond["labels"] = data.labels[idx].to(device)
    if data.tokens is not None:
        cond["tokens"] = data.tokens[idx].to(device)
    return (batch, cond) if cond else batch


def preview_prompts(captions: list[str], n: int) -> list[str]:
    """``n`` prompts for a preview grid: the distinct training captions in order, cycled."""
    distinct = list(dict.fromkeys(captions))
    return [distinct[i % len(distinct)] for i in range(n)]


def preview_samples(model, n: int, seed: int, data: ImageData | None = None):
    """What the loop shows every ``preview_every`` steps: samples with the model's fast preview options
    (a text-conditioned model draws its prompts from the training captions)."""
    options = dict(getattr(model, "preview_options", {}))
    if data is not None and data.captions:
        options["prompts"] = preview_prompts(data.captions, n)
    return model.sample(n=n, seed=seed, **options)
