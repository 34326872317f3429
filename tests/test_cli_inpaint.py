"""`genstudio inpaint`: mask files, outpainting, numbered candidates, PNG parameters and clear errors."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from genstudio.cli import main, parse_outpaint
from genstudio.core.errors import GenStudioError
from genstudio.tasks.images import read_png_params
from genstudio.tasks.inpaint import InpaintRequest
from tests.util import save_tiny_model


@pytest.fixture
def files(tmp_path):
    """A tiny inpainting model, a 40×48 picture and a mask painting a square in it."""
    save_tiny_model("ddpm", "painter")
    image = np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8)
    Image.fromarray(image).save(tmp_path / "photo.png")
    mask = np.zeros((40, 48), np.uint8)
    mask[10:22, 14:30] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    return tmp_path, image, mask


def test_inpaint_writes_numbered_candidates_with_their_parameters(files, capsys):
    tmp, image, mask = files
    out = tmp / "out.png"
    assert main(["inpaint", "--model", "painter", str(tmp / "photo.png"), "--mask", str(tmp / "mask.png"),
                 "-n", "2", "--seed", "3", "--steps", "2", "--harmonize", "0", "--feather", "4", "-o", str(out)]) == 0
    written = capsys.readouterr().out.split()
    assert written == [str(tmp / "out-1.png"), str(tmp / "out-2.png")] and not out.exists()
    keep = np.ones(mask.shape, bool)
    keep[10 - 5:22 + 5, 14 - 5:30 + 5] = False  # beyond the 4 px feather
    results = [np.asarray(Image.open(path)) for path in written]
    for result in results:
        assert result.shape == image.shape and np.array_equal(result[keep], image[keep])
    assert not np.array_equal(results[0], results[1])
    params = read_png_params(written[1])
    assert params["tool"] == "inpaint" and params["seed"] == 4 and params["n"] == 1 and params["feather"] == 4
    assert InpaintRequest.from_params(params).harmonize == 0


def test_outpaint_without_a_mask_fills_only_the_new_area(files, capsys):
    tmp, image, _ = files
    out = tmp / "wider.png"
    assert main(["inpaint", "-m", "painter", str(tmp / "photo.png"), "--outpaint", "left:16",
                 "--outpaint", "up:8,right:4", "--steps", "2", "--harmonize", "0", "--feather", "3",
                 "-o", str(out)]) == 0
    result = np.asarray(Image.open(out))
    assert result.shape == (48, 68, 3)
    assert np.array_equal(result[8 + 3:, 16 + 3:64 - 3], image[3:, 3:48 - 3])
    assert read_png_params(out)["outpaint"] == {"left": 16, "top": 8, "right": 4}


def test_a_transparent_mask_counts_as_black(files):
    tmp, image, mask = files
    rgba = np.zeros((40, 48, 4), np.uint8)
    rgba[..., :3] = 255  # white everywhere, but transparent outside the painted square
    rgba[..., 3] = mask
    Image.fromarray(rgba).save(tmp / "mask-rgba.png")
    assert main(["inpaint", "-m", "painter", str(tmp / "photo.png"), "--mask", str(tmp / "mask-rgba.png"),
                 "--steps", "1", "--harmonize", "0", "--feather", "2", "-o", str(tmp / "o.png")]) == 0
    result = np.asarray(Image.open(tmp / "o.png"))
    assert np.array_equal(result[:7], image[:7]) and not np.array_equal(result[10:22, 14:30], image[10:22, 14:30])


@pytest.mark.parametrize("extra,message", [
    (["--mask", "small.png"], "The mask is 20×20 pixels but the image is 48×40: they must be the same size."),
    ([], "Give a --mask MASK.png (white = repaint) or --outpaint SIDE:PIXELS."),
    (["--outpaint", "north:10"], "Cannot outpaint 'north'"),
    (["--outpaint", "left"], "--outpaint takes SIDE:PIXELS"),
    (["--outpaint", "left:9000"], "Outpaint by 0 to 4096 pixels per side"),
    (["--mask", "nothing.png"], "No such mask"),
])
def test_mistakes_are_one_sentence(files, capsys, extra, message):
    tmp, _, _ = files
    Image.new("L", (20, 20)).save(tmp / "small.png")
    extra = [str(tmp / e) if e.endswith(".png") else e for e in extra]
    assert main(["inpaint", "-m", "painter", str(tmp / "photo.png"), *extra, "-o", str(tmp / "x.png")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_missing_image_and_model(files, capsys):
    tmp, _, _ = files
    assert main(["inpaint", "-m", "painter", str(tmp / "gone.png"), "--mask", str(tmp / "mask.png")]) == 1
    assert "No such image" in capsys.readouterr().err
    assert main(["inpaint", "-m", "nobody", str(tmp / "photo.png"), "--mask", str(tmp / "mask.png")]) == 1
    assert "No model named 'nobody'" in capsys.readouterr().err


def test_parse_outpaint():
    assert parse_outpaint(["left:128", "up:64, down:2"]) == {"left": 128, "up": 64, "down": 2}
    assert parse_outpaint(None) == {}
    with pytest.raises(GenStudioError, match="twice"):
        parse_outpaint(["left:1,left:2"])
    with pytest.raises(GenStudioError, match="SIDE:PIXELS"):
        parse_outpaint(["left:-5"])
