"""Text folders for training: a recursive scan of .txt and .md files that never crashes on a bad file.

Each file's encoding is detected from its bytes: UTF-8 (with or without a byte-order mark), UTF-16
with a byte-order mark (little- or big-endian), else a Latin-1 fallback (Windows-1252 where the bytes
say so: Word's curly quotes live there), which the report names so a writer can check the accents.
Binary files (NUL bytes, control characters, known image/archive signatures), empty files and files
over 200 MB are skipped and listed with a reason. Line endings become ``\\n``. The training text is
the files joined with a blank line in path order; the last 10% of it is held out for validation, as
nanoGPT's ``prepare.py`` does.
"""

from __future__ import annotations

import codecs
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from genstudio.core.data.images import SkippedFile
from genstudio.core.errors import DatasetError

TEXT_EXTENSIONS = (".txt", ".md")
MAX_FILE_BYTES = 200 * 1024**2
FILE_SEPARATOR = "\n\n"
VAL_FRACTION = 0.1  # the last 10% of the joined text
LATIN_FALLBACKS = ("Windows-1252", "Latin-1")
MAX_CONTROL_RATIO = 0.01  # more control characters than this (outside \t \n \r \f \v) means binary
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig", "UTF-8"), (codecs.BOM_UTF16_LE, "utf-16-le", "UTF-16 LE"),
         (codecs.BOM_UTF16_BE, "utf-16-be", "UTF-16 BE"))
_SIGNATURES = {b"\x89PNG": "a PNG image", b"\xff\xd8\xff": "a JPEG image", b"GIF8": "a GIF image",
               b"%PDF": "a PDF document", b"PK\x03\x04": "a zip archive (or a .docx/.odt document)",
               b"{\\rtf": "an RTF document", b"\x7fELF": "a program", b"MZ": "a Windows program"}


@dataclass
class TextFile:
    path: str
    text: str  # decoded, line endings normalised to "\n"
    encoding: str  # "UTF-8", "UTF-8 (BOM)", "UTF-16 LE", "UTF-16 BE", "Windows-1252" or "Latin-1"


@dataclass
class TextDatasetReport:
    root: str
    files: list[str] = field(default_factory=list)  # the usable files, in path order
    skipped: list[SkippedFile] = field(default_factory=list)
    encodings: dict[str, int] = field(default_factory=dict)  # encoding -> number of files
    fallbacks: list[str] = field(default_factory=list)  # files read as Latin-1 / Windows-1252
    total_chars: int = 0  # of the usable files (without the blank lines that join them)
    notes: list[str] = field(default_factory=list)  # what the trainer adds: the split, the tokenizer
    extra: dict = field(default_factory=dict)  # the same for the model card: tokens, vocabulary size

    @property
    def found(self) -> int:
        return len(self.files) + len(self.skipped)

    def add(self, item: TextFile) -> None:
        self.files.append(item.path)
        self.encodings[item.encoding] = self.encodings.get(item.encoding, 0) + 1
        self.total_chars += len(item.text)
        if item.encoding in LATIN_FALLBACKS:
            self.fallbacks.append(item.path)

    def summary(self) -> dict:
        """What a model card records about its data."""
        return {"folder": self.root, "files": len(self.files), "skipped": len(self.skipped),
                "characters": self.total_chars, "encodings": dict(self.encodings), **self.extra}

    def describe(self, max_listed: int = 50) -> list[str]:
        """The report as lines for a person: counts, encodings, Latin-1 fallbacks, notes, skipped files."""
        lines = [f"Text folder {self.root}: {self.found} text file(s) found, {len(self.files)} usable, "
                 f"{len(self.skipped)} skipped."]
        if self.files:
            lines.append(f"{self.total_chars:,} characters in {len(self.files)} file(s) ({self.encoding_counts()}).")
        if self.fallbacks:
            lines.append(self.fallback_note())
        lines += self.notes
        for item in self.skipped[:max_listed]:
            lines.append(f"  skipped {item.path}: {item.reason}")
        if len(self.skipped) > max_listed:
            lines.append(f"  ... and {len(self.skipped) - max_listed} more skipped")
        return lines

    def to_text(self) -> str:
        return "\n".join(self.describe())

    def encoding_counts(self) -> str:
        """"UTF-8: 3, Latin-1: 1"."""
        return ", ".join(f"{name}: {count}" for name, count in sorted(self.encodings.items()))

    def fallback_note(self, max_listed: int = 5) -> str:
        """The files read as Latin-1 and what to check, or "" when every file was UTF-8 or UTF-16."""
        if not self.fallbacks:
            return ""
        shown = ", ".join(relative_to_root(p, self.root) for p in self.fallbacks[:max_listed])
        more = f" and {len(self.fallbacks) - max_listed} more" if len(self.fallbacks) > max_listed else ""
        return (f"Not UTF-8, read as Latin-1 (Windows-1252): {shown}{more}. Check that their accents and quotes "
                "look right; if not, save them as UTF-8.")


def relative_to_root(path: str, root: str) -> str:
    try:
        return str(Path(path).relative_to(root))
    except ValueError:
        return path


def scan_text_files(root: Path) -> tuple[list[Path], list[SkippedFile]]:
    """Files with a text extension under ``root``, sorted by path; folders named x.txt skipped."""
    candidates: list[Path] = []
    skipped: list[SkippedFile] = []

    def on_error(err: OSError) -> None:
        skipped.append(SkippedFile(str(err.filename), f"cannot read folder: {err.strerror}"))

    for dirpath, dirnames, filenames in os.walk(root, onerror=on_error):
        for name in dirnames:
            if name.lower().endswith(TEXT_EXTENSIONS):
                skipped.append(SkippedFile(str(Path(dirpath, name)), "is a folder, not a text file"))
        for name in filenames:
            if name.lower().endswith(TEXT_EXTENSIONS) and not name.startswith("._"):  # macOS resource forks
                candidates.append(Path(dirpath, name))
    candidates.sort(key=lambda p: p.relative_to(root).parts)
    return candidates, skipped


def decode_text(data: bytes) -> tuple[str, str]:
    """(text, encoding name) from a file's bytes; ValueError with a reason for what is not text."""
    if not data:
        raise ValueError("empty file (0 bytes)")
    for bom, codec, name in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(codec)
            except UnicodeDecodeError:
                raise ValueError(f"starts with a {name} byte-order mark but is not valid {name}") from None
            return _checked(text), name + (" (BOM)" if name == "UTF-8" else "")
    for magic, what in _SIGNATURES.items():
        if data.startswith(magic):
            raise ValueError(f"binary file: {what}, not text")
    if b"\x00" in data:
        raise ValueError("binary file (contains NUL bytes), not text")
    try:
        return _checked(data.decode("utf-8")), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:  # Windows-1252 is Latin-1 with printable characters where Latin-1 has C1 controls
        return _checked(data.decode("cp1252")), "Windows-1252" if re.search(rb"[\x80-\x9f]", data) else "Latin-1"
    except UnicodeDecodeError:  # one of its five unassigned bytes: plain Latin-1 decodes anything
        return _checked(data.decode("latin-1")), "Latin-1"


def _checked(text: str) -> str:
    if "\x00" in text:
        raise ValueError("binary file (contains NUL characters), not text")
    if len(_CONTROL.findall(text)) > MAX_CONTROL_RATIO * len(text):
        raise ValueError("binary file (full of control characters), not text")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        raise ValueError("holds only blank space")
    return text


def read_text_file(path: Path | str) -> TextFile:
    """Read and decode one file. Raises ValueError with a reason the report shows."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ValueError(f"too large ({size / 1024**2:,.0f} MB; the limit is "
                             f"{MAX_FILE_BYTES // 1024**2} MB per file): split it into smaller files")
        data = path.read_bytes()
    except PermissionError:
        raise ValueError("permission denied") from None
    except OSError as err:
        raise ValueError(f"cannot read: {err.strerror or err}") from None
    text, encoding = decode_text(data)
    return TextFile(str(path), text, encoding)


def load_text_folder(root: Path | str) -> tuple[list[TextFile], TextDatasetReport]:
    """Every usable .txt/.md file under ``root`` (path order), plus the report; DatasetError if none."""
    root = Path(root)
    if not root.exists():
        raise DatasetError(f"The folder '{root}' does not exist.")
    if not root.is_dir():
        raise DatasetError(f"'{root}' is a file, not a folder. Choose the folder that holds your texts.")
    report = TextDatasetReport(root=str(root))
    candidates, report.skipped = scan_text_files(root)
    files = []
    for path in candidates:
        try:
            item = read_text_file(path)
        except ValueError as err:
            report.skipped.append(SkippedFile(str(path), str(err)))
            continue
        files.append(item)
        report.add(item)
    if not files:
        what = "no text files" if not candidates else "no usable text files"
        raise DatasetError(f"The folder '{root}' has {what} ({', '.join(TEXT_EXTENSIONS)}).\n{report.to_text()}")
    return files, report


def split_train_val(texts: list[str], val_fraction: float = VAL_FRACTION) -> tuple[str, str]:
    """(training text, validation text): the files joined with a blank line, the last ``val_fraction``
    of the characters held out (nanoGPT's split)."""
    joined = FILE_SEPARATOR.join(texts)
    cut = int(len(joined) * (1 - val_fraction))
    return joined[:cut], joined[cut:]


def describe_split(train_units: int, val_units: int, unit: str = "characters",
                   val_fraction: float = VAL_FRACTION) -> str:
    """"Training / validation: 1,003,854 / 111,540 characters (last 10% for validation)."."""
    return f"Training / validation: {train_units:,} / {val_units:,} {unit} (last {val_fraction:.0%} for validation)."
