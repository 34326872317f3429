"""Opening and saving the Text canvas's documents: .txt and .md files in the encoding they came in.

The encoding is detected as the training data's is (``core.data.text.decode_text``: UTF-8 with or
without a BOM, UTF-16 with a BOM, else a Windows-1252/Latin-1 fallback that a note points out; binary
files refused), except that an empty or blank file opens too. Line endings become "\\n" for the editor
and are remembered, so Save writes the file back as it came (same encoding, same line endings) unless
the text no longer fits the encoding. Writes go through a temporary file, so a failed save never
leaves half a file behind.
"""

from __future__ import annotations

import codecs
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from genstudio.core.data.text import LATIN_FALLBACKS, decode_text
from genstudio.core.errors import GenStudioError

TEXT_SUFFIXES = (".txt", ".md")
TEXT_FILTER = "Text files (*.txt *.md);;All files (*)"
MAX_BYTES = 50 * 1024 * 1024  # an editor, not a corpus viewer: the training folder can be larger
CODECS = {"UTF-8": "utf-8", "UTF-8 (BOM)": "utf-8-sig", "UTF-16 LE": "utf-16-le", "UTF-16 BE": "utf-16-be",
          "Windows-1252": "cp1252", "Latin-1": "latin-1"}  # decode_text's names -> Python codecs
BOMS = {"UTF-16 LE": codecs.BOM_UTF16_LE, "UTF-16 BE": codecs.BOM_UTF16_BE}  # utf-8-sig writes its own
NEW_FILE_MODE = 0o644
NEWLINE_NAMES = {"\n": "LF", "\r\n": "CRLF", "\r": "CR"}


@dataclass
class Document:
    """A decoded file: ``text`` with "\\n" line endings, and how to write it back."""

    text: str
    encoding: str = "UTF-8"  # a key of CODECS
    newline: str = "\n"
    note: str = ""  # a sentence for the user when the encoding was a guess

    def describe(self) -> str:
        return f"{self.encoding} · {NEWLINE_NAMES[self.newline]}"


def is_text_file(path: str | Path) -> bool:
    return Path(path).suffix.lower() in TEXT_SUFFIXES


def line_ending(text: str) -> str:
    """The line ending a text mostly uses ("\\n" for a single line)."""
    crlf = text.count("\r\n")
    counts = {"\r\n": crlf, "\r": text.count("\r") - crlf, "\n": text.count("\n") - crlf}
    best = max(counts, key=counts.get)
    return best if counts[best] else "\n"


def decode_document(data: bytes) -> Document:
    """The document in a file's bytes; GenStudioError (with the reason) for one that is not text."""
    if not data.strip(b" \t\r\n"):  # empty or blank: a fine start for writing, though not for training
        return Document(data.decode("ascii").replace("\r\n", "\n").replace("\r", "\n"), "UTF-8",
                        line_ending(data.decode("ascii")))
    try:
        text, encoding = decode_text(data)
    except ValueError as err:
        raise GenStudioError(f"It is not a text file GenStudio can read: {err}.") from None
    newline = "\n"
    if b"\r" in data:  # decode_text made the line endings "\n": see which ones the file has
        codec = CODECS.get(encoding, "latin-1")
        newline = line_ending(data[len(BOMS.get(encoding, b"")):].decode(codec, errors="replace"))
    return Document(text, encoding if encoding in CODECS else "UTF-8", newline)


def read_text_file(path: str | Path) -> Document:
    path = Path(path)
    try:
        if path.stat().st_size > MAX_BYTES:
            raise GenStudioError(f"{path.name} is larger than {MAX_BYTES // 2**20} MB: too big to edit here. "
                                 "Train on it from the Train canvas instead.")
        data = path.read_bytes()
    except OSError as err:
        raise GenStudioError(f"Cannot read {path.name}: {err.strerror or err}.") from None
    try:
        document = decode_document(data)
    except GenStudioError as err:
        raise GenStudioError(f"Cannot open {path.name}. {err}") from None
    if document.encoding in LATIN_FALLBACKS:
        document.note = (f"{path.name} is not UTF-8, so it was read as {document.encoding} (Western European): "
                         f"check that accented letters look right. Save keeps it {document.encoding}.")
    return document


def encode_document(document: Document) -> tuple[bytes, str]:
    """The file's bytes and the encoding used: its own, or UTF-8 when the text no longer fits it."""
    text = document.text.replace("\n", document.newline) if document.newline != "\n" else document.text
    try:
        return BOMS.get(document.encoding, b"") + text.encode(CODECS[document.encoding]), document.encoding
    except UnicodeEncodeError:
        return text.encode("utf-8"), "UTF-8"


def write_text_file(path: str | Path, document: Document) -> str:
    """Write ``document`` to ``path`` atomically; returns the encoding written."""
    path = Path(os.path.realpath(path))  # through a link to the file it names
    data, encoding = encode_document(document)
    try:
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else NEW_FILE_MODE
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            os.chmod(tmp, mode)  # mkstemp's private 0600 would otherwise replace the file's own permissions
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as err:
        raise GenStudioError(f"Cannot save {path.name}: {err.strerror or err}.") from None
    return encoding
