"""Image folders: a folder full of bad and unusual files loads what it can and reports the rest."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from genstudio.core.data.images import load_image, load_image_folder
from genstudio.core.errors import DatasetError

S = 16  # training size every usable file is cropped/resized to
RED, BLUE, WHITE = (255, 0, 0), (0, 0, 255), (255, 255, 255)

GOOD = ["good.png", "ünïcødé image 猫.png", "gray16.png", "cmyk.jpg", "exif_rotated.jpg", "palette_trns.png",
        "rgba.png", "anim.gif", "pic.webp", "pic.tif", "sub/deeper/nested.png"]
BAD = {  # file -> words one of which its reason must contain
    "truncated.png": ("truncated", "corrupt"),
    "empty.png": ("empty", "0 bytes"),
    "notes.jpg": ("not an image",),
    "huge_header.png": ("too large",),
    "bomb_warning.png": ("too large",),
    "over_limit.png": ("too large",),
    "x.png": ("folder",),
}


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming_size(width: int, height: int) -> bytes:
    """A well-formed PNG (correct CRCs) whose IHDR claims ``width``×``height`` RGB but holds a few bytes."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr)
            + _png_chunk(b"IDAT", zlib.compress(b"\0" * 64)) + _png_chunk(b"IEND", b""))


def solid(color, size=(S, S), mode="RGB") -> Image.Image:
    return Image.new(mode, size, color)


def make_bad_folder(root: Path) -> dict[str, Path]:
    """Every kind of file a user's folder throws at the loader; returns the interesting paths."""
    root.mkdir(parents=True, exist_ok=True)
    p = {}

    solid(BLUE).save(root / "good.png")
    solid((0, 200, 0)).save(root / "ünïcødé image 猫.png")

    # 16-bit grayscale: rows of 65535, 32768, 257 and 0 must scale to 255, 128, 1, 0 (clipping gives 255s).
    gray = np.zeros((S, S), np.uint16)
    gray[:4], gray[4:8], gray[8:12] = 65535, 32768, 257
    Image.fromarray(gray).save(root / "gray16.png")
    p["gray16"] = root / "gray16.png"

    solid((255, 0, 0, 0), mode="CMYK").save(root / "cmyk.jpg", quality=95)  # pure cyan
    p["cmyk"] = root / "cmyk.jpg"

    # Stored 2:1 landscape with a red top-left corner; orientation 6 = "rotate 90° clockwise to view",
    # so the viewer sees a 1:2 portrait with the red corner at the top right.
    stored = np.zeros((S, 2 * S, 3), np.uint8)
    stored[...] = BLUE
    stored[:4, :4] = RED
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(stored).save(root / "exif_rotated.jpg", exif=exif, quality=95)
    p["exif"] = root / "exif_rotated.jpg"

    # Palette with a transparent index: left half transparent black must come out white, right half red.
    pal = Image.new("P", (S, S), 0)
    pal.putpalette([0, 0, 0, *RED] + [0] * 762)
    pal.paste(1, (S // 2, 0, S, S))
    pal.save(root / "palette_trns.png", transparency=0)
    p["palette"] = root / "palette_trns.png"

    # RGBA: transparent black left half (-> white), half-transparent red right half (-> pink).
    rgba = np.zeros((S, S, 4), np.uint8)
    rgba[:, S // 2:] = (255, 0, 0, 128)
    Image.fromarray(rgba).save(root / "rgba.png")
    p["rgba"] = root / "rgba.png"

    frames = [solid(RED), solid((0, 255, 0))]
    frames[0].save(root / "anim.gif", save_all=True, append_images=frames[1:], duration=100, loop=0)
    p["gif"] = root / "anim.gif"

    solid((10, 20, 200)).save(root / "pic.webp", lossless=True)
    p["webp"] = root / "pic.webp"
    solid((200, 100, 50)).save(root / "pic.tif")
    p["tif"] = root / "pic.tif"
    (root / "sub" / "deeper").mkdir(parents=True)
    solid((1, 2, 3)).save(root / "sub" / "deeper" / "nested.png")

    # Unreadable: permission denied for ordinary users, readable anyway for root.
    solid((9, 9, 9)).save(root / "locked.png")
    (root / "locked.png").chmod(0)
    p["locked"] = root / "locked.png"

    whole = (root / "good.png").read_bytes()
    (root / "truncated.png").write_bytes(whole[: len(whole) // 2])
    (root / "empty.png").write_bytes(b"")
    (root / "notes.jpg").write_text("this is not a JPEG\n", encoding="utf-8")
    (root / "huge_header.png").write_bytes(png_claiming_size(100_000, 100_000))  # Pillow's bomb error
    (root / "bomb_warning.png").write_bytes(png_claiming_size(10_000, 10_000))  # Pillow's bomb *warning*
    (root / "over_limit.png").write_bytes(png_claiming_size(9_000, 9_000))  # our own 64 MP limit
    (root / "x.png").mkdir()
    solid(RED).save(root / "x.png" / "inside.png")  # a real image inside a folder named like one
    (root / "readme.txt").write_text("not an image extension: ignored, not reported\n", encoding="utf-8")
    return p


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("images") / "my pictures"
    paths = make_bad_folder(root)
    yield root, paths
    paths["locked"].chmod(0o644)  # so pytest can clean up


@pytest.fixture(scope="module")
def loaded(bad_folder):
    root, _ = bad_folder
    return load_image_folder(root, S)


def rel(root: Path, path: str) -> str:
    return Path(path).relative_to(root).as_posix()


def locked_is_readable(path: Path) -> bool:
    """Root (as in CI containers) reads a chmod 000 file anyway; an ordinary user cannot."""
    return os.access(path, os.R_OK)


def test_folder_loads_usable_images_as_one_array(bad_folder, loaded):
    root, paths = bad_folder
    images, report = loaded
    expected = set(GOOD) | {"x.png/inside.png"} | ({"locked.png"} if locked_is_readable(paths["locked"]) else set())
    assert {rel(root, p) for p in report.used} == expected
    assert images.shape == (len(expected), S, S, 3)
    assert images.dtype == np.uint8
    assert report.image_size == S
    assert report.summary() == {"folder": str(root), "images": len(expected), "skipped": len(report.skipped),
                                "image_size": S}


def test_report_lists_every_bad_file_with_a_reason(bad_folder, loaded):
    root, paths = bad_folder
    _, report = loaded
    reasons = {rel(root, s.path): s.reason for s in report.skipped}
    expected = set(BAD) | (set() if locked_is_readable(paths["locked"]) else {"locked.png"})
    assert set(reasons) == expected
    for name, words in BAD.items():
        assert any(w in reasons[name].lower() for w in words), (name, reasons[name])
    if "locked.png" in reasons:
        assert "permission" in reasons["locked.png"]
    assert "readme.txt" not in {rel(root, p) for p in report.used} | set(reasons)
    assert report.found == len(report.used) + len(report.skipped)

    text = report.to_text()
    assert f"{len(report.used)} usable, {len(report.skipped)} skipped" in text
    for skipped in report.skipped:
        assert skipped.path in text and skipped.reason in text


def test_report_text_caps_the_list(bad_folder, loaded):
    _, report = loaded
    text = report.to_text(max_listed=2)
    assert text.count("  skipped ") == 2
    assert f"... and {len(report.skipped) - 2} more skipped" in text


def test_folder_rows_match_single_file_loads(bad_folder, loaded):
    images, report = loaded
    for row, path in zip(images, report.used, strict=True):
        np.testing.assert_array_equal(row, load_image(path, S))


@pytest.mark.parametrize("width,height", [(100_000, 100_000), (10_000, 10_000), (9_000, 9_000)])
def test_huge_header_is_refused_before_decoding(tmp_path, width, height):
    path = tmp_path / "big.png"
    path.write_bytes(png_claiming_size(width, height))
    with pytest.raises(ValueError, match="too large"):
        load_image(path)


def test_sixteen_bit_is_scaled_not_clipped(bad_folder):
    arr = load_image(bad_folder[1]["gray16"])
    assert arr.shape == (S, S, 3) and arr.dtype == np.uint8
    assert (arr[:4] == 255).all()
    assert (np.abs(arr[4:8].astype(int) - 128) <= 1).all()
    assert (arr[8:12] == 1).all()
    assert (arr[12:] == 0).all()


def test_cmyk_becomes_rgb(bad_folder):
    arr = load_image(bad_folder[1]["cmyk"])
    assert arr.shape == (S, S, 3)
    np.testing.assert_allclose(arr.reshape(-1, 3).mean(0), (0, 255, 255), atol=8)


def test_exif_orientation_is_applied(bad_folder):
    arr = load_image(bad_folder[1]["exif"])
    assert arr.shape == (2 * S, S, 3)  # stored landscape, shown portrait
    top_right, top_left = arr[1, -2].astype(int), arr[1, 1].astype(int)
    assert top_right[0] > 200 and top_right[2] < 60, top_right  # the red corner moved here
    assert top_left[2] > 200 and top_left[0] < 60, top_left


def test_palette_transparency_composited_on_white(bad_folder):
    arr = load_image(bad_folder[1]["palette"])
    assert (arr[:, : S // 2] == WHITE).all()
    assert (arr[:, S // 2:] == RED).all()


def test_rgba_composited_on_white(bad_folder):
    arr = load_image(bad_folder[1]["rgba"]).astype(int)
    assert (arr[:, : S // 2] == 255).all()
    right = arr[:, S // 2:].reshape(-1, 3)
    assert (right[:, 0] == 255).all()
    assert (np.abs(right[:, 1:] - 127) <= 1).all()


def test_gif_uses_first_frame(bad_folder):
    arr = load_image(bad_folder[1]["gif"])
    assert (arr == RED).all()


@pytest.mark.parametrize("key,color", [("webp", (10, 20, 200)), ("tif", (200, 100, 50))])
def test_webp_and_tif(bad_folder, key, color):
    arr = load_image(bad_folder[1][key])
    assert arr.shape == (S, S, 3)
    assert (arr == color).all()


def test_unreadable_file(bad_folder):
    path = bad_folder[1]["locked"]
    if locked_is_readable(path):  # running as root: permissions do not apply, it is an ordinary image
        assert (load_image(path) == 9).all()
    else:
        with pytest.raises(ValueError, match="permission denied"):
            load_image(path)


def test_non_square_is_center_cropped(tmp_path):
    img = np.zeros((S, 3 * S, 3), np.uint8)
    img[:, S:2 * S] = RED  # only the middle third survives a centre crop
    Image.fromarray(img).save(tmp_path / "wide.png")
    arr = load_image(tmp_path / "wide.png", S)
    assert arr.shape == (S, S, 3)
    assert (arr[:, 2:-2] == RED).all()


def test_empty_folder_is_a_dataset_error(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no images here")
    with pytest.raises(DatasetError, match="no image files"):
        load_image_folder(tmp_path / "empty", S)


def test_all_bad_folder_is_a_dataset_error_listing_the_files(tmp_path):
    root = tmp_path / "bad"
    root.mkdir()
    (root / "empty.png").write_bytes(b"")
    (root / "notes.jpg").write_text("not a jpeg")
    with pytest.raises(DatasetError) as info:
        load_image_folder(root, S)
    message = str(info.value)
    assert "no usable images" in message
    assert "empty.png" in message and "notes.jpg" in message
    assert "Traceback" not in message


def test_missing_path_and_file_path_are_dataset_errors(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        load_image_folder(tmp_path / "nope", S)
    solid(RED).save(tmp_path / "one.png")
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        load_image_folder(tmp_path / "one.png", S)
