"""Captions and class labels for image folders: what conditions text-to-image and class-conditional models.

Captions are resolved per image in a fixed order, and the dataset report counts which source each
caption came from:

1. **sidecar**: a text file next to the image with the same name (``cat_01.png`` → ``cat_01.txt``);
2. **filename**: the file name itself, when it reads as words (``red_apple-3.png`` → "red apple");
   names that are only numbers or camera counters (``0042.png``, ``IMG_1234.jpg``) do not count;
3. **folder**: the name of the folder holding the image (``fruit/apple/x.png`` → "apple").

Class labels: a folder whose images sit in two or more subfolders is class-labelled, each subfolder
of the chosen root a class (``root/cats/...``, ``root/dogs/...``); images directly in the root then
belong to no class and are skipped (and reported).

Captions become word tokens for the model's small text encoder: lower-case words, a vocabulary
built from the training captions (ids 0 = padding, 1 = unknown word, 2.. = words by frequency).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CAPTION_SOURCES = ("sidecar", "filename", "folder")
PAD, UNKNOWN = 0, 1
MAX_SIDECAR_BYTES = 64 * 1024  # a caption, not a novel: longer files are cut here
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")  # letters (any script), with an inner apostrophe
_CAMERA = {"img", "dsc", "dscn", "dscf", "pxl", "mvimg", "photo", "image", "screenshot", "scan", "copy"}


@dataclass
class Caption:
    text: str
    source: str  # one of CAPTION_SOURCES


def words(text: str) -> list[str]:
    """Lower-case words of ``text`` (digits and punctuation dropped)."""
    return _WORD.findall(text.lower())


def _read_sidecar(path: Path) -> str | None:
    try:
        raw = path.read_bytes()[:MAX_SIDECAR_BYTES]
    except OSError:
        return None
    for encoding in ("utf-8-sig", "utf-16") if raw[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        text = raw.decode("latin-1")
    text = " ".join(text.split())
    return text or None


def filename_caption(path: Path) -> str | None:
    """The file name as a caption when it reads as words: separators become spaces, numbers and
    camera counters (IMG, DSC, ...) go; None when nothing is left."""
    kept = [w for w in words(re.sub(r"[_\-.+]+", " ", path.stem)) if w not in _CAMERA]
    return " ".join(kept) or None


def resolve_caption(image: Path | str) -> Caption:
    """The caption of one image file, in the documented order: sidecar .txt, file name, folder name."""
    image = Path(image)
    sidecar = _read_sidecar(image.with_suffix(".txt"))
    if sidecar:
        return Caption(sidecar, "sidecar")
    from_name = filename_caption(image)
    if from_name:
        return Caption(from_name, "filename")
    folder = " ".join(re.sub(r"[_\-.+]+", " ", image.parent.name).split())
    return Caption(folder, "folder")


def caption_sources(captions: list[Caption]) -> dict[str, int]:
    """How many captions came from each source (all three keys, in order)."""
    counts = Counter(c.source for c in captions)
    return {source: counts.get(source, 0) for source in CAPTION_SOURCES}


def build_vocab(texts: list[str], max_words: int) -> tuple[str, ...]:
    """The ``max_words`` most frequent words of ``texts`` (ties alphabetical, so runs repeat)."""
    counts = Counter(w for t in texts for w in words(t))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return tuple(w for w, _ in ranked[:max_words])


def encode_text(text: str, vocab: tuple[str, ...] | list[str], length: int) -> np.ndarray:
    """Token ids (``length``,) int64: words → 2 + vocab index, unknown words → 1, padded with 0."""
    index = {w: i + 2 for i, w in enumerate(vocab)}
    ids = [index.get(w, UNKNOWN) for w in words(text)][:length]
    return np.array(ids + [PAD] * (length - len(ids)), dtype=np.int64)


def encode_texts(texts: list[str], vocab, length: int) -> np.ndarray:
    """(N, length) int64 token ids."""
    return np.stack([encode_text(t, vocab, length) for t in texts]) if texts else np.zeros((0, length), np.int64)


def unknown_words(text: str, vocab) -> list[str]:
    """Words of a prompt the model never saw in training (the UI warns about them)."""
    known = set(vocab)
    return [w for w in words(text) if w not in known]


def class_of(image: Path | str, root: Path | str) -> str | None:
    """The class of an image: the first folder under ``root`` on its path (None for root's own files)."""
    rel = Path(image).relative_to(root)
    return rel.parts[0] if len(rel.parts) > 1 else None


def folder_classes(paths: list[str], root: Path | str) -> tuple[str, ...]:
    """Sorted class names when the images sit in two or more subfolders of ``root``; else ()."""
    names = {class_of(p, root) for p in paths} - {None}
    return tuple(sorted(names)) if len(names) >= 2 else ()


def labels_for(paths: list[str], root: Path | str, classes: tuple[str, ...]) -> tuple[np.ndarray, list[int]]:
    """(labels of the images that belong to one of ``classes``, indices of those that do not)."""
    index = {name: i for i, name in enumerate(classes)}
    labels, outside = [], []
    for i, path in enumerate(paths):
        label = index.get(class_of(path, root))
        if label is None:
            outside.append(i)
        else:
            labels.append(label)
    return np.array(labels, dtype=np.int64), outside


def describe_classes(classes: tuple[str, ...], labels: np.ndarray) -> str:
    counts = np.bincount(labels, minlength=len(classes)) if len(labels) else np.zeros(len(classes), int)
    listed = ", ".join(f"{name} ({n})" for name, n in zip(classes, counts))
    return f"{len(classes)} classes from subfolders: {listed}."


def describe_captions(captions: list[Caption]) -> str:
    counts = caption_sources(captions)
    where = {"sidecar": "sidecar .txt files", "filename": "filenames", "folder": "folder names"}
    parts = [f"{n} from {where[s]}" for s, n in counts.items() if n]
    example = f' e.g. "{captions[0].text[:60]}"' if captions else ""
    return f"Captions: {', '.join(parts) or 'none'};{example}."
