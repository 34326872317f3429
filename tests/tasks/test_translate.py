"""Translation: seamless tiles, grayscale models, batches with bad files, and the CLI command."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from genstudio.cli import main
from genstudio.core.errors import GenStudioError
from genstudio.core.events import Progress, drive
from genstudio.core.registry import get
from genstudio.tasks import translate as translation
from genstudio.tasks.images import read_png_params
from genstudio.tasks.translate import (
    TranslateRequest,
    crossfade,
    edge_ramps,
    list_inputs,
    tile_starts,
    translate_files,
    translate_image,
)
from tests.util import save_tiny_model

CPU = torch.device("cpu")


def tiny_model(**overrides):
    """The tiny preset with weights perturbed as save_tiny_model does (strong, far from the identity)."""
    spec = get("cyclegan")
    torch.manual_seed(0)
    model = spec.build(spec.model_config("tiny", overrides)).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return model


def picture(h: int, w: int, seed: int = 0) -> np.ndarray:
    """Smooth colour waves plus pixel noise: structure at every scale, as a photo has."""
    yy, xx = np.mgrid[0:h, 0:w]
    waves = np.stack([128 + 100 * np.sin(xx / 13 + c) * np.cos(yy / 17 - c) for c in range(3)], -1)
    noise = np.random.default_rng(seed).integers(-20, 21, (h, w, 3))
    return np.clip(waves + noise, 0, 255).astype(np.uint8)


def difference(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.abs(a.astype(int) - b.astype(int))


@pytest.mark.parametrize("tile,overlap", [(80, 16), (64, 8), (96, 32)])
def test_tiles_match_the_untiled_translation(tile, overlap):
    """Tiles share the whole image's norm statistics and are cross-faded past the model's context
    margin, so the result matches one pass over the image to within a grey level or two (rounding
    of the blend), where tiles that each normalised themselves differ by tens of levels."""
    model, image = tiny_model(), picture(90, 118)
    whole = drive(translate_image(model, image, "a2b", tile=1024))
    events = []
    tiled = drive(translate_image(model, image, "a2b", tile=tile, overlap=overlap), events.append)
    assert len(events) >= 2 and [e.step for e in events] == list(range(1, len(events) + 1))
    assert tiled.shape == image.shape and difference(tiled, whole).max() <= 2


def test_without_shared_statistics_the_tiles_disagree(monkeypatch):
    """What the shared statistics are for: the same tiling with each tile normalised on its own."""
    model, image = tiny_model(), picture(90, 118)
    whole = drive(translate_image(model, image, "a2b", tile=1024))
    monkeypatch.setattr(translation, "shared_statistics", lambda *args: None)
    assert difference(drive(translate_image(model, image, "a2b", tile=80, overlap=16)), whole).max() > 20


def test_statistics_from_a_scaled_down_image_still_leave_no_seams(monkeypatch):
    """An image larger than the tile and STATS_SIDE gets its statistics from a copy scaled down to the
    tile: colours shift against the exact whole-image pass, but every tile shifts alike, so the tiles
    agree with one pass that uses the same statistics."""
    monkeypatch.setattr(translation, "STATS_SIDE", 60)
    model, image = tiny_model(), picture(90, 118)
    tiled = drive(translate_image(model, image, "b2a", tile=80, overlap=16))
    x = translation.model_input(image, 3)
    assert translation.scaled_down(x, 80).shape == (60, 80, 3)
    stats = translation.shared_statistics(model, x, "b2a", CPU, 80)
    assert stats[0][0].shape == (1, 8, 1, 1)
    from genstudio.models.common import from_uint8, to_uint8

    with torch.no_grad():
        same_stats = to_uint8(model.translate(from_uint8(x[None]), "b2a", stats))[0][:90, :118]
    assert difference(tiled, same_stats).max() <= 2


def test_tile_layout_and_crossfade_weights():
    assert tile_starts(100, 128, 40) == [0]
    starts = tile_starts(300, 96, 56)
    assert starts[0] == 0 and starts[-1] == 300 - 96 and all(s % 4 == 0 for s in starts)
    assert all(b - a <= 96 - 56 for a, b in zip(starts, starts[1:]))  # neighbours share at least 56 px
    fade = crossfade(56, 16)
    assert np.allclose(fade + fade[::-1], 1) and fade[:20].max() == 0 and fade[36:].min() == 1
    ramps = edge_ramps(starts, 96, 16)
    total = np.zeros(300)
    for start, ramp in zip(starts, ramps):
        total[start:start + 96] += ramp
    assert np.allclose(total, 1)  # a partition of unity: flat images stay flat
    assert ramps[0][0] == 1 and ramps[0][-1] == 0 and ramps[1][0] == 0  # zero only at cut edges


def test_any_size_and_grayscale_models():
    gray = tiny_model(channels=1)
    for h, w in ((37, 53), (90, 118)):
        out = drive(translate_image(gray, picture(h, w), "a2b", tile=64, overlap=8))
        assert out.shape == (h, w, 3) and np.array_equal(out[..., 0], out[..., 2])


@pytest.mark.parametrize("tile,overlap,message", [(16, 8, "at least 32"), (64, 40, "too small"),
                                                  (64, -4, "negative")])
def test_bad_tiling_is_explained(tile, overlap, message):
    with pytest.raises(GenStudioError, match=message):
        drive(translate_image(tiny_model(), picture(40, 40), "a2b", tile=tile, overlap=overlap))


def bad_folder(folder):
    """Three good pictures and every kind of bad file, plus a subfolder."""
    folder.mkdir()
    for i in range(2):
        Image.fromarray(picture(40, 56, seed=i)).save(folder / f"photo{i}.png")
    (folder / "sub").mkdir()
    Image.fromarray(picture(36, 36, seed=5)).save(folder / "sub" / "deep.jpg")
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("hello, I am not a picture")
    Image.fromarray(picture(64, 64)).save(folder / "whole.png")
    data = (folder / "whole.png").read_bytes()
    (folder / "truncated.png").write_bytes(data[: len(data) // 2])
    (folder / "whole.png").unlink()
    (folder / "corrupt.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4)
    (folder / "readme.txt").write_text("not an image extension: ignored")
    return folder


def test_a_folder_with_bad_files_reports_them_and_writes_the_rest(tmp_path):
    save_tiny_model("cyclegan", "h2z")
    source = bad_folder(tmp_path / "in")
    out = source / "out"  # inside the input folder: must not be read back on a second run
    request = TranslateRequest("h2z", direction="b2a", inputs=[str(source)], output_dir=str(out), tile=64, overlap=8)
    events = []
    report = drive(translate_files(request, CPU), events.append)
    assert sorted(p.name for p in report.written) == ["deep_b2a.png", "photo0_b2a.png", "photo1_b2a.png"]
    reasons = {p.name: reason for p, reason in report.skipped}
    assert set(reasons) == {"empty.png", "text.png", "truncated.png", "corrupt.jpg"}
    assert "empty" in reasons["empty.png"] and "truncated" in reasons["truncated.png"]
    assert "not an image" in reasons["text.png"]
    files = [e for e in events if isinstance(e, Progress) and e.stage == "translate"]
    assert [e.step for e in files] == list(range(8)) and files[-1].total == 7
    assert any(e.stage == "tile" for e in events if isinstance(e, Progress))
    written = Image.open(out / "photo1_b2a.png")
    assert written.size == (56, 40) and written.mode == "RGB"
    params = read_png_params(out / "photo1_b2a.png")
    assert params["direction"] == "b2a" and params["source"] == "photo1.png" and params["tool"] == "translate"
    assert not list(out.glob(".*.tmp"))  # atomic writes leave nothing behind
    again = drive(translate_files(request, CPU))
    assert len(again.written) == 3 and len(again.skipped) == 4  # the results inside it are not inputs


def test_inputs_listing_and_request_errors(tmp_path):
    save_tiny_model("cyclegan", "h2z")
    save_tiny_model("dcgan", "faces")
    folder = bad_folder(tmp_path / "in")
    (folder / "sub" / "empty").mkdir()
    listed = list_inputs([str(folder), str(folder / "photo0.png"), str(tmp_path / "missing.png")])
    assert listed == sorted(listed) and len(listed) == len(set(listed)) == 8
    assert (tmp_path / "missing.png") in listed and not any(p.suffix == ".txt" for p in listed)
    given_twice = TranslateRequest("h2z", inputs=[str(folder / "photo0.png"), str(tmp_path / "missing.png")],
                                   output_dir=str(tmp_path))  # a file whose own folder is the output: fine
    report = drive(translate_files(given_twice, CPU))
    assert [p.name for p in report.written] == ["photo0_a2b.png"] and report.skipped[0][1] == "file not found"
    for request, message in [
        (TranslateRequest("faces", inputs=[str(folder)], output_dir=str(tmp_path / "o")), "does not translate"),
        (TranslateRequest("h2z", inputs=[str(folder)], output_dir=str(folder)), "one of the input folders"),
        (TranslateRequest("h2z", direction="up", inputs=[str(folder)], output_dir=str(tmp_path)), "a2b"),
        (TranslateRequest("h2z", inputs=[str(folder / "sub" / "empty")], output_dir=str(tmp_path / "o")),
         "No image files"),
        (TranslateRequest("h2z", inputs=[str(folder)], output_dir=""), "output folder"),
    ]:
        with pytest.raises(GenStudioError, match=message):
            drive(translate_files(request, CPU))


def test_same_names_from_two_folders_do_not_overwrite_each_other(tmp_path):
    save_tiny_model("cyclegan", "h2z")
    for side in ("left", "right"):
        (tmp_path / side).mkdir()
        Image.fromarray(picture(32, 32)).save(tmp_path / side / "cat.png")
    request = TranslateRequest("h2z", inputs=[str(tmp_path / "left"), str(tmp_path / "right")],
                               output_dir=str(tmp_path / "out"))
    report = drive(translate_files(request, CPU))
    assert [p.name for p in report.written] == ["cat_a2b.png", "cat_a2b_2.png"]


def test_cli_translates_a_folder_and_lists_what_it_skipped(tmp_path, capsys):
    save_tiny_model("cyclegan", "h2z")
    folder = bad_folder(tmp_path / "in")
    out = tmp_path / "results"
    assert main(["translate", "--model", "h2z", "--direction", "a2b", str(folder), str(folder / "photo0.png"),
                 "-o", str(out), "--tile", "64", "--overlap", "8"]) == 0
    printed = capsys.readouterr()
    assert f"Wrote 3 image(s) to {out}" in printed.out
    last = printed.err.strip().splitlines()[-1]
    assert last.startswith("Skipped 4 file(s):") and "text.png" in last and "truncated.png" in last
    assert sorted(p.name for p in out.iterdir()) == ["deep_a2b.png", "photo0_a2b.png", "photo1_a2b.png"]
    assert main(["translate", "--model", "h2z", str(folder), "-o", str(out), "--tile", "8"]) == 1
    assert "error: The tile size must be at least 32" in capsys.readouterr().err
    assert main(["translate", "--model", "nope", str(folder), "-o", str(out)]) == 1
    assert "No model named 'nope'" in capsys.readouterr().err
