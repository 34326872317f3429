"""Text folders: encodings are detected and named, what is not text is skipped with a reason, and the
validation split is the last 10% of the joined text."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from genstudio.core.data.text import (
    FILE_SEPARATOR,
    decode_text,
    describe_split,
    load_text_folder,
    split_train_val,
)
from genstudio.core.errors import DatasetError
from tests.util import make_image_folder

POEM = "Ça va, café crème — naïve façade.\nZweite Zeile: Größe, Übermaß.\n"


def make_mixed_folder(root: Path) -> Path:
    """Every kind of file a writer's folder throws at the loader."""
    (root / "sub" / "deeper").mkdir(parents=True)
    (root / "a_utf8.txt").write_bytes(POEM.encode("utf-8"))
    (root / "b_bom.txt").write_bytes(codecs.BOM_UTF8 + POEM.encode("utf-8"))
    (root / "c_utf16le.txt").write_bytes(codecs.BOM_UTF16_LE + POEM.encode("utf-16-le"))
    (root / "d_utf16be.txt").write_bytes(codecs.BOM_UTF16_BE + POEM.encode("utf-16-be"))
    (root / "e_latin1.txt").write_bytes(POEM.replace("—", "-").encode("latin-1"))
    (root / "f_cp1252.txt").write_bytes("“Quoted,” she said.\r\nNext line.\r\n".encode("cp1252"))
    (root / "g_binary.txt").write_bytes(bytes(range(256)) * 4)
    (root / "h_empty.txt").write_bytes(b"")
    (root / "i_blank.md").write_text("  \n\n\t\n")
    png = make_image_folder(root / "pics", n=1) / "blob_000.png"
    (root / "j_picture.txt").write_bytes(png.read_bytes())
    (root / "k_folder.txt").mkdir()
    (root / "notes.md").write_text("# Notes\n\nSome *markdown*.\n", encoding="utf-8")
    (root / "sub" / "deeper" / "nested.txt").write_text("Deep down.\n", encoding="utf-8")
    (root / "sub" / "image.png").write_bytes(png.read_bytes())  # not a text extension: not even listed
    return root


def test_every_encoding_is_read_and_named(tmp_path):
    files, report = load_text_folder(make_mixed_folder(tmp_path / "texts"))
    by_name = {Path(f.path).name: f for f in files}
    assert list(by_name) == ["a_utf8.txt", "b_bom.txt", "c_utf16le.txt", "d_utf16be.txt", "e_latin1.txt",
                             "f_cp1252.txt", "notes.md", "nested.txt"]  # path order, subfolders by name
    for name in ("a_utf8.txt", "b_bom.txt", "c_utf16le.txt", "d_utf16be.txt"):
        assert by_name[name].text == POEM, name  # no BOM character left at the start
    assert by_name["e_latin1.txt"].text == POEM.replace("—", "-")
    assert by_name["f_cp1252.txt"].text == "“Quoted,” she said.\nNext line.\n"  # CRLF -> LF, curly quotes kept
    assert {Path(f.path).name: f.encoding for f in files if f.encoding != "UTF-8"} == {
        "b_bom.txt": "UTF-8 (BOM)", "c_utf16le.txt": "UTF-16 LE", "d_utf16be.txt": "UTF-16 BE",
        "e_latin1.txt": "Latin-1", "f_cp1252.txt": "Windows-1252"}
    assert report.encodings == {"UTF-8": 3, "UTF-8 (BOM)": 1, "UTF-16 LE": 1, "UTF-16 BE": 1, "Latin-1": 1,
                                "Windows-1252": 1}
    assert [Path(p).name for p in report.fallbacks] == ["e_latin1.txt", "f_cp1252.txt"]
    assert report.total_chars == sum(len(f.text) for f in files)


def test_what_is_not_text_is_skipped_with_a_reason(tmp_path):
    _, report = load_text_folder(make_mixed_folder(tmp_path / "texts"))
    reasons = {Path(s.path).name: s.reason for s in report.skipped}
    assert set(reasons) == {"g_binary.txt", "h_empty.txt", "i_blank.md", "j_picture.txt", "k_folder.txt"}
    assert "binary" in reasons["g_binary.txt"] and "NUL" in reasons["g_binary.txt"]
    assert reasons["h_empty.txt"] == "empty file (0 bytes)"
    assert "blank" in reasons["i_blank.md"]
    assert reasons["j_picture.txt"] == "binary file: a PNG image, not text"
    assert reasons["k_folder.txt"] == "is a folder, not a text file"


def test_the_report_lines_say_what_was_found(tmp_path):
    root = make_mixed_folder(tmp_path / "texts")
    _, report = load_text_folder(root)
    lines = report.describe()
    assert lines[0] == f"Text folder {root}: 13 text file(s) found, 8 usable, 5 skipped."
    assert lines[1].startswith(f"{report.total_chars:,} characters in 8 file(s) (Latin-1: 1, UTF-16 BE: 1,")
    assert lines[2].startswith("Not UTF-8, read as Latin-1 (Windows-1252): e_latin1.txt, f_cp1252.txt.")
    assert sum(line.startswith("  skipped ") for line in lines) == 5
    assert report.to_text() == "\n".join(lines)
    summary = report.summary()
    assert summary["files"] == 8 and summary["skipped"] == 5 and summary["characters"] == report.total_chars
    assert summary["encodings"]["UTF-16 LE"] == 1


def test_binary_without_nul_bytes_is_still_binary():
    noise = bytes((i * 73 + 11) % 256 for i in range(4096) if (i * 73 + 11) % 256)
    with pytest.raises(ValueError, match="control characters"):
        decode_text(noise)


def test_a_utf8_bom_over_broken_utf8_is_refused():
    with pytest.raises(ValueError, match="UTF-8 byte-order mark"):
        decode_text(codecs.BOM_UTF8 + b"ok \xff\xfe broken")


def test_an_empty_folder_and_a_folder_of_bad_files_are_clear_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match=r"has no text files \(\.txt, \.md\)"):
        load_text_folder(empty)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "zero.txt").write_bytes(b"")
    (bad / "blob.md").write_bytes(b"\x00\x01\x02binary")
    with pytest.raises(DatasetError, match="has no usable text files") as err:
        load_text_folder(bad)
    assert "skipped" in str(err.value) and "zero.txt: empty file" in str(err.value)
    with pytest.raises(DatasetError, match="does not exist"):
        load_text_folder(tmp_path / "missing")
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        load_text_folder(bad / "zero.txt")


def test_huge_files_are_refused_one_by_one(tmp_path, monkeypatch):
    from genstudio.core.data import text

    monkeypatch.setattr(text, "MAX_FILE_BYTES", 100)
    (tmp_path / "small.txt").write_text("small enough")
    (tmp_path / "big.txt").write_text("x" * 101)
    files, report = load_text_folder(tmp_path)
    assert [Path(f.path).name for f in files] == ["small.txt"]
    assert "too large" in report.skipped[0].reason and report.skipped[0].path.endswith("big.txt")


def test_the_validation_split_is_the_last_tenth_of_the_joined_text():
    texts = ["a" * 50, "b" * 48]
    train, val = split_train_val(texts)
    joined = FILE_SEPARATOR.join(texts)
    assert len(joined) == 100 and train + val == joined
    assert (len(train), len(val)) == (90, 10) and val == "b" * 10
    assert split_train_val(["xyz"], 0.0) == ("xyz", "")
    assert describe_split(1_003_854, 111_540) == ("Training / validation: 1,003,854 / 111,540 characters "
                                                  "(last 10% for validation).")
