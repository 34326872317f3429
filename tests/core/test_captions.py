"""Captions and class labels for image folders (genstudio/core/data/captions.py)."""

from __future__ import annotations

import numpy as np
import pytest

from genstudio.core.data import captions as cap


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")  # resolution reads names and sidecars only, never the pixels
    return path


def test_sidecar_beats_file_name_beats_folder(tmp_path):
    image = touch(tmp_path / "fruit" / "red_apple-3.png")
    assert cap.resolve_caption(image) == cap.Caption("red apple", "filename")
    (tmp_path / "fruit" / "red_apple-3.txt").write_text("  A shiny\n red   apple.  \n", encoding="utf-8")
    assert cap.resolve_caption(image) == cap.Caption("A shiny red apple.", "sidecar")
    counter = touch(tmp_path / "fruit" / "0042.png")
    assert cap.resolve_caption(counter) == cap.Caption("fruit", "folder")


@pytest.mark.parametrize("name", ["IMG_0001.jpg", "0042.png", "DSC01234.JPG", "PXL_20230101_123456.jpg",
                                  "img-7 (copy).png", "12_34.png"])
def test_camera_counters_and_numbers_fall_through_to_the_folder(tmp_path, name):
    image = touch(tmp_path / "sea_side" / name)
    assert cap.resolve_caption(image) == cap.Caption("sea side", "folder")


def test_empty_or_blank_sidecar_falls_through(tmp_path):
    image = touch(tmp_path / "birds" / "blue_jay.png")
    sidecar = tmp_path / "birds" / "blue_jay.txt"
    for content in (b"", b"  \n\t \r\n"):
        sidecar.write_bytes(content)
        assert cap.resolve_caption(image) == cap.Caption("blue jay", "filename")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig", "latin-1", "utf-8"])
def test_sidecar_encodings(tmp_path, encoding):
    image = touch(tmp_path / "x" / "photo_1.png")
    text = "un café crème"
    raw = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be"):  # what Windows Notepad writes: a BOM, then the text
        raw = ("\ufeff" + text).encode(encoding)
    (tmp_path / "x" / "photo_1.txt").write_bytes(raw)
    assert cap.resolve_caption(image) == cap.Caption(text, "sidecar")


def test_caption_source_counts_list_every_source_in_order(tmp_path):
    found = [cap.resolve_caption(touch(tmp_path / "cats" / n)) for n in ("tabby.png", "IMG_1.png", "a.png")]
    (tmp_path / "cats" / "b.txt").write_text("a black cat", encoding="utf-8")
    found.append(cap.resolve_caption(touch(tmp_path / "cats" / "b.png")))
    counts = cap.caption_sources(found)
    assert list(counts) == list(cap.CAPTION_SOURCES) and counts == {"sidecar": 1, "filename": 2, "folder": 1}
    text = cap.describe_captions(found)
    assert "1 from sidecar .txt files" in text and "2 from filenames" in text and "1 from folder names" in text


def test_vocab_is_deterministic_and_ranked_by_frequency():
    texts = ["a red circle", "a blue circle", "A red square!", "the 3 dogs' bone", "a green circle"]
    vocab = cap.build_vocab(texts, max_words=100)
    assert vocab[:3] == ("a", "circle", "red")  # 4, 3, 2 uses; ties alphabetical
    assert vocab == cap.build_vocab(list(reversed(texts)), max_words=100)
    assert cap.build_vocab(texts, max_words=2) == ("a", "circle")
    assert "3" not in vocab and "dogs" in vocab


def test_encode_text_pads_truncates_and_marks_unknown_words():
    vocab = ("a", "red", "circle")
    assert cap.encode_text("A red CIRCLE", vocab, 5).tolist() == [2, 3, 4, 0, 0]
    assert cap.encode_text("a purple circle", vocab, 5).tolist() == [2, cap.UNKNOWN, 4, 0, 0]
    assert cap.encode_text("a red red red circle", vocab, 3).tolist() == [2, 3, 3]
    assert cap.encode_text("", vocab, 4).tolist() == [cap.PAD] * 4
    batch = cap.encode_texts(["a", "red circle"], vocab, 3)
    assert batch.dtype == np.int64 and batch.tolist() == [[2, 0, 0], [3, 4, 0]]
    assert cap.encode_texts([], vocab, 3).shape == (0, 3)
    assert cap.unknown_words("A purple circle, very purple", vocab) == ["purple", "very", "purple"]


def test_class_subfolders_need_two_and_root_images_have_no_class(tmp_path):
    paths = [str(touch(tmp_path / f)) for f in ("cats/a.png", "cats/deep/b.png", "dogs/c.png", "loose.png")]
    assert cap.class_of(paths[1], tmp_path) == "cats" and cap.class_of(paths[3], tmp_path) is None
    classes = cap.folder_classes(paths, tmp_path)
    assert classes == ("cats", "dogs")
    labels, outside = cap.labels_for(paths, tmp_path, classes)
    assert labels.tolist() == [0, 0, 1] and outside == [3]
    assert cap.folder_classes([p for p in paths if "dogs" not in p], tmp_path) == ()  # one subfolder: no classes
    assert "cats (2), dogs (1)" in cap.describe_classes(classes, labels)
