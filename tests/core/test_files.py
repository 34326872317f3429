"""Atomic file writing: all or nothing, and no temporary file left behind."""

from __future__ import annotations

import os

import pytest

from genstudio.core.files import write_atomic


def folder(tmp_path):
    out = tmp_path / "out"  # tmp_path also holds the test's GenStudio home
    out.mkdir()
    return out


def test_writes_and_replaces_whole(tmp_path):
    tmp_path = folder(tmp_path)
    path = tmp_path / "out.bin"
    assert write_atomic(path, b"first") == path and path.read_bytes() == b"first"
    write_atomic(path, b"second")
    assert path.read_bytes() == b"second" and os.listdir(tmp_path) == ["out.bin"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    tmp_path = folder(tmp_path)
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")

    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        write_atomic(path, b"new")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.bin"]


def test_a_missing_folder_is_an_os_error(tmp_path):
    with pytest.raises(OSError):
        write_atomic(tmp_path / "nowhere" / "out.bin", b"x")
    assert not (tmp_path / "nowhere").exists()
