"""Training from a front-end: the request that becomes a trainer command line, and the dataset check
the window shows before a run starts (images found, skipped files and why, a few thumbnails; for text
models the files, their encodings, Latin-1 fallbacks, skipped files and the train/validation split).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from genstudio.core.data.images import DatasetReport, is_grey, load_image_folder
from genstudio.core.data.midi import MidiDatasetReport, held_out_files, load_midi_folder
from genstudio.core.data.text import TextDatasetReport, describe_split, load_text_folder, split_train_val
from genstudio.core.errors import DatasetError, GenStudioError
from genstudio.core.registry import ArchSpec

THUMBNAILS = 12
FOLDER_KINDS = {"text": "texts (.txt, .md)", "music": "MIDI files (.mid, .midi)", "image": "training images"}


@dataclass
class TrainRequest:
    arch: str
    name: str
    data: str | None = None  # the image folder; domain A's for two-domain architectures
    data_b: str | None = None  # domain B's folder (architectures that translate between two domains)
    two_domains: bool = False  # the architecture trains on two folders: --data-a and --data-b, not --data
    preset: str = "small"
    steps: int | None = None
    preview_every: int | None = None  # None: the preset's
    image_size: int | None = None  # None: the preset's
    color: str | None = None  # "rgb" or "gray"; None: the preset's
    tokenizer: str | None = None  # text models: "char" or "bpe"; None: the preset's
    modality: str = "image"  # what the folder holds ("image", "text", "music"): only the messages differ
    from_model: str | None = None
    resume: bool = False
    overwrite: bool = False
    device: str = "auto"
    threads: int = 0

    def args(self) -> list[str]:
        """The ``python -m trainers`` arguments for this request."""
        args = [self.arch, "--name", self.name, "--device", self.device]
        if self.threads:
            args += ["--threads", str(self.threads)]
        if self.steps:
            args += ["--steps", str(self.steps)]
        if self.preview_every is not None:
            args += ["--preview-every", str(self.preview_every)]
        if self.resume:
            return [*args, "--resume"]
        args += [*self.data_args(), "--preset", self.preset]
        if self.image_size and not self.from_model:
            args += ["--image-size", str(self.image_size)]
        if self.color and not self.from_model:
            args += ["--color", self.color]
        if self.tokenizer and not self.from_model:
            args += ["--tokenizer", self.tokenizer]
        if self.from_model:
            args += ["--from", self.from_model]
        if self.overwrite:
            args.append("--overwrite")
        return args

    def data_args(self) -> list[str]:
        """``--data DIR``, or ``--data-a A --data-b B`` for two domains; a DatasetError says what is missing."""
        if not self.two_domains:
            if not self.data:
                what = FOLDER_KINDS.get(self.modality, "training images")
                raise DatasetError(f"Choose a folder of {what} first.")
            return ["--data", self.data]
        missing = [side for side, folder in (("A", self.data), ("B", self.data_b)) if not folder]
        if missing:
            raise DatasetError(f"Choose the domain {' and '.join(missing)} folder{'s' if len(missing) > 1 else ''} "
                               "first: this model learns to turn images of one folder into the style of the other, "
                               "so it needs both.")
        return ["--data-a", self.data, "--data-b", self.data_b]


@dataclass
class DatasetScan:
    report: DatasetReport
    thumbnails: np.ndarray = field(repr=False)  # up to THUMBNAILS×S×S×3 uint8
    grayscale: bool = False  # every usable image has R = G = B (scans, sketches, MNIST-like sets)


@dataclass
class MusicScan:
    """A MIDI folder as the music trainer will read it: the report says files, notes, length, skips."""

    report: MidiDatasetReport
    files: int
    val_files: int


@dataclass
class TextScan:
    """A text folder as the trainer will read it: the report (its notes end with the split)."""

    report: TextDatasetReport
    train_chars: int
    val_chars: int


def data_image_size(spec: ArchSpec, preset: str, image_size: int | None = None) -> int:
    """The side length the trainer will resize images to (the chosen size, else the preset's)."""
    return int(image_size or getattr(spec.model_config(preset), "image_size", 32))


def valid_image_sizes(spec: ArchSpec, preset: str, candidates=(28, 32, 48, 64, 96, 128)) -> list[int]:
    """The sizes this architecture's preset accepts (multi-scale networks need divisible sizes)."""
    sizes = []
    for size in candidates:
        try:
            spec.model_config(preset, {"image_size": size})
        except (ValueError, GenStudioError):
            continue
        sizes.append(size)
    return sizes


def scan_dataset(spec: ArchSpec, preset: str, folder: str | Path,
                 image_size: int | None = None) -> DatasetScan | TextScan | MusicScan:
    """Decode the folder as the trainer will; DatasetError (with the report) if nothing is usable."""
    if spec.modality == "text":
        return scan_text_folder(folder)
    if spec.modality == "music":
        return scan_midi_folder(folder)
    if spec.modality != "image":
        raise DatasetError(f"'{spec.name}' trains on {spec.modality}, not on an image folder.")
    images, report = load_image_folder(folder, data_image_size(spec, preset, image_size))
    describe_conditioning(spec, report)
    return DatasetScan(report, images[:THUMBNAILS].copy(), is_grey(images))


def scan_text_folder(folder: str | Path) -> TextScan:
    """Read the texts as the text trainer will and split them the same way (the last 10% for validation)."""
    files, report = load_text_folder(folder)
    train, val = split_train_val([f.text for f in files])
    report.notes.append(describe_split(len(train), len(val)))
    return TextScan(report, len(train), len(val))


def scan_midi_folder(folder: str | Path) -> MusicScan:
    """Read the MIDI files as the music trainer will; the last ~10% of files are for validation."""
    sequences, report = load_midi_folder(folder)
    val = held_out_files(len(sequences))
    report.notes.append(f"{len(sequences) - val} file(s) for training, {val} held out for validation.")
    return MusicScan(report, len(sequences), val)


def describe_conditioning(spec: ArchSpec, report: DatasetReport) -> None:
    """Add to the report what a new model of ``spec`` would learn besides pixels, as the trainer
    will see it: classes from subfolders (class-conditional models), captions and where each came
    from (text-to-image models)."""
    from genstudio.core.data import captions as captionlib

    if spec.has_setting("classes"):
        classes = captionlib.folder_classes(report.used, report.root)
        if classes:
            labels, outside = captionlib.labels_for(report.used, report.root, classes)
            report.drop(outside, "not in a class subfolder")
            report.notes.append(captionlib.describe_classes(classes, labels))
        else:
            report.notes.append("No class subfolders: the model will be unconditional "
                                "(put each class in its own subfolder to get a class picker).")
    if spec.has_setting("vocab"):
        report.notes.append(captionlib.describe_captions([captionlib.resolve_caption(p) for p in report.used]))
