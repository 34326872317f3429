"""The inpaint task: crop, scale, blend and outpaint around a model that works at its own size.

A fake model (fills the area it is told to repaint with a grey level drawn from its seed) keeps these
tests about the task; one test at the end runs a real tiny DDPM through it.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
import torch

from genstudio.core.errors import GenStudioError
from genstudio.core.events import Preview, Progress, drive
from genstudio.core.registry import Capability
from genstudio.tasks import inpaint as task
from genstudio.tasks.images import read_png_params, save_png
from genstudio.tasks.inpaint import InpaintRequest, distance_to, extend_canvas, inpaint

CPU = torch.device("cpu")


def seed_level(seed: int) -> int:
    return 40 + (seed * 37) % 180


class FakeModel:
    """``inpaint`` as the brief fixes it: each candidate's repaint area (mask >= 0.5) becomes its seed's
    grey level; ``fill_all`` paints every pixel (to see the blend weight itself)."""

    def __init__(self, size: int = 32, channels: int = 3, fill_all: bool = False):
        self.config = SimpleNamespace(image_size=size, channels=channels, classes=None)
        self.fill_all, self.calls, self.closed = fill_all, [], 0

    def inpaint(self, image, mask, n=1, seed=0, steps=25, strength=1.0, preview_every=0, seeds=None, harmonize=2):
        seeds = list(seeds) if seeds is not None else [seed + i for i in range(n)]
        self.calls.append({"image": image.copy(), "mask": mask.copy(), "seeds": seeds, "steps": steps,
                           "strength": strength, "harmonize": harmonize})
        out = np.repeat(image[None], len(seeds), axis=0)
        for k, s in enumerate(seeds):
            out[k][(mask >= 0.5) | self.fill_all] = seed_level(s)
        try:
            for step in range(1, steps + 1):
                yield Progress(step, steps, stage="inpaint")
                if preview_every and step % preview_every == 0:
                    yield Preview(step, image=out)
        finally:
            self.closed += 1
        return out


@pytest.fixture
def fake(monkeypatch):
    """Install a fake model under any name; returns a function that sets it (and its capabilities)."""
    state = {}

    def install(model: FakeModel, can_inpaint: bool = True, classes=None):
        card = {"arch": "fake", "config": {"classes": classes}, "weights_sha256": "ab" * 32, "name": "fake"}
        state["model"], state["card"] = model, card
        monkeypatch.setattr(task, "load_model", lambda name, device, store=None: (card, model))
        spec = SimpleNamespace(can=lambda cap: can_inpaint and cap == Capability.INPAINT)
        monkeypatch.setattr(task, "get", lambda arch: spec)
        return model

    return install


def noise_image(height: int, width: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def box_mask(height: int, width: int, x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    mask = np.zeros((height, width), np.uint8)
    mask[y0:y1, x0:x1] = 255
    return mask


def brute_distance(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance from every pixel to the nearest masked one, by brute force."""
    ys, xs = np.nonzero(mask)
    gy, gx = np.mgrid[0:mask.shape[0], 0:mask.shape[1]]
    best = np.full(mask.shape, np.inf)
    for start in range(0, len(ys), 256):
        dy = gy[..., None] - ys[None, None, start:start + 256]
        dx = gx[..., None] - xs[None, None, start:start + 256]
        best = np.minimum(best, np.sqrt(dy**2 + dx**2).min(axis=-1))
    return best


def run(request, image, mask):
    events = []
    return drive(inpaint(request, image, mask, CPU), events.append), events


def test_pixels_beyond_the_feather_are_byte_identical(fake):
    fake(FakeModel(size=32))
    image = noise_image(110, 150)
    yy, xx = np.mgrid[0:110, 0:150]
    mask = (((yy - 50) ** 2 / 400 + (xx - 80) ** 2 / 900) < 1).astype(np.uint8) * 255  # an ellipse
    result, _ = run(InpaintRequest("fake", n=3, seed=4, steps=2, feather=8), image, mask)
    distance = brute_distance(mask > 127)
    inner = ((yy - 50) ** 2 / 8**2 + (xx - 80) ** 2 / 18**2) < 1  # 12 px inside (beyond Lanczos ringing)
    for i, candidate in enumerate(result.candidates):
        assert candidate.shape == image.shape and candidate.dtype == np.uint8
        assert np.array_equal(candidate[distance > 8], image[distance > 8])
        assert (candidate[inner] == seed_level(4 + i)).all()
        changed = (candidate != image).any(axis=2)
        assert changed[(distance > 0) & (distance <= 8)].any()  # the feather blends just outside
    x0, y0, x1, y1 = result.box
    outside_box = np.ones(mask.shape, bool)
    outside_box[y0:y1, x0:x1] = False
    assert np.array_equal(result.candidates[0][outside_box], image[outside_box])


def test_feather_ramps_smoothly_to_zero(fake):
    fake(FakeModel(size=64, fill_all=True))
    image = np.zeros((64, 64, 3), np.uint8)
    result, _ = run(InpaintRequest("fake", n=1, seed=0, steps=1, feather=8), image, box_mask(64, 64, 20, 20, 44, 44))
    level = seed_level(0)
    row = result.candidates[0][32, :, 0].astype(int)  # a row through the mask's middle
    assert (row[20:44] == level).all()
    ramp = row[44:52]  # distances 1..8 right of the mask
    assert ramp[0] < level and (np.diff(ramp) < 0).all() and 0 < ramp[-2] and ramp[-1] == 0
    assert (row[52:] == 0).all() and (row[:12] == 0).all()
    assert np.array_equal(row[12:20], row[44:52][::-1])  # the same ramp on the left

    hard, _ = run(InpaintRequest("fake", n=1, steps=1, feather=0), image, box_mask(64, 64, 20, 20, 44, 44))
    assert hard.candidates[0][32, 44, 0] == 0 and hard.candidates[0][32, 43, 0] == level


def test_distance_matches_brute_force():
    mask = np.random.default_rng(3).random((40, 50)) > 0.97
    exact = brute_distance(mask)
    fast = distance_to(mask, 6)
    assert np.allclose(fast[exact <= 6], exact[exact <= 6], atol=1e-5)
    assert (fast[exact > 6] >= 6).all()


def test_large_image_small_mask_keeps_the_models_resolution(fake):
    model = fake(FakeModel(size=32))
    image = noise_image(300, 400)
    mask = box_mask(300, 400, 200, 150, 206, 156)
    result, _ = run(InpaintRequest("fake", n=1, steps=1, feather=4), image, mask)
    call = model.calls[0]
    assert call["image"].shape == (32, 32, 3) and call["mask"].shape == (32, 32)
    assert call["mask"].dtype == np.float32 and 0 <= call["mask"].min() and call["mask"].max() == 1
    # 6 px mask + 16 px context each side = 38 px window, scaled to 32: the mask stays near the middle
    ys, xs = np.nonzero(call["mask"] >= 0.5)
    assert 10 <= ys.min() and ys.max() <= 21 and 10 <= xs.min() and xs.max() <= 21
    assert np.array_equal(result.candidates[0][:, :190], image[:, :190])
    assert result.candidates[0].shape == (300, 400, 3)


def test_large_mask_on_large_non_square_image_is_scaled_down(fake):
    model = fake(FakeModel(size=32))
    image = noise_image(240, 500)
    result, _ = run(InpaintRequest("fake", n=2, steps=1), image, box_mask(240, 500, 100, 60, 260, 180))
    call = model.calls[0]
    assert call["image"].shape == (32, 32, 3) and call["seeds"] == [0, 1]
    fraction = (call["mask"] >= 0.5).mean()  # 160×120 of a 320 px window, plus 80 rows of padding past the image
    assert 0.4 < fraction < 0.7
    assert all(c.shape == (240, 500, 3) for c in result.candidates)
    assert np.abs(result.candidates[1][120, 180].astype(int) - seed_level(1)).max() <= 2


def test_image_smaller_than_the_model_is_scaled_up_and_padding_is_repainted(fake):
    model = fake(FakeModel(size=32))
    image = noise_image(12, 20)
    result, _ = run(InpaintRequest("fake", n=1, steps=1, feather=2), image, box_mask(12, 20, 8, 4, 12, 8))
    call = model.calls[0]
    assert call["image"].shape == (32, 32, 3)
    # the window is the whole 20-px-wide image, 4 rows of padding above and below: repainted, not context
    assert (call["mask"][:5] == 1).all() and (call["mask"][-5:] == 1).all()
    assert (call["mask"][10:22, :6] == 0).all()
    out = result.candidates[0]
    assert out.shape == (12, 20, 3)
    far = brute_distance(box_mask(12, 20, 8, 4, 12, 8) > 0) > 2
    assert np.array_equal(out[far], image[far])


def test_mask_at_the_corner_keeps_the_window_inside_the_image(fake):
    model = fake(FakeModel(size=32))
    image = noise_image(100, 100)
    mask = box_mask(100, 100, 0, 0, 10, 10)
    result, _ = run(InpaintRequest("fake", n=1, steps=1, feather=3), image, mask)
    from PIL import Image

    window = np.asarray(Image.fromarray(image[:42, :42]).resize((32, 32), Image.Resampling.BOX))
    assert np.array_equal(model.calls[0]["image"], window)  # 10 px + 16 px margin each side, shifted to 0
    far = brute_distance(mask > 0) > 3
    assert np.array_equal(result.candidates[0][far], image[far])
    assert (result.candidates[0][:6, :6] == seed_level(0)).all()  # inside, beyond the upscaling kernel's reach


def test_grayscale_model_on_an_rgb_image(fake):
    model = fake(FakeModel(size=32, channels=1))
    image = noise_image(64, 48)
    mask = box_mask(64, 48, 10, 20, 30, 40)
    result, _ = run(InpaintRequest("fake", n=1, steps=1, feather=4), image, mask)
    assert model.calls[0]["image"].shape == (32, 32, 1)
    out = result.candidates[0]
    assert out.shape == (64, 48, 3)
    inner = out[24:36, 14:26]
    assert (inner == seed_level(0)).all()  # grey: R = G = B
    far = brute_distance(mask > 0) > 4
    assert np.array_equal(out[far], image[far])


def test_outpaint_extends_the_canvas_and_fills_only_the_new_strips(fake):
    fake(FakeModel(size=32))
    image = noise_image(30, 40)
    request = InpaintRequest("fake", n=2, seed=7, steps=1, feather=4, outpaint={"left": 16, "down": 8})
    result, _ = run(request, image, np.zeros((30, 40), np.uint8))
    for i, out in enumerate(result.candidates):
        assert out.shape == (38, 56, 3)
        assert (out[:28, :12] == seed_level(7 + i)).all()  # the first window of the left strip
        # the strips' windows are 32 px, the model's own size: the known pixels come back exactly, so
        # even the feather leaves the old picture as it was
        assert np.array_equal(out[:30, 16:], image)
        bottom = out[34:, 20:]  # the new bottom strip, beyond the feather: the grey fills, no noise left
        assert (bottom[..., 0] == bottom[..., 1]).all() and (bottom[..., 1] == bottom[..., 2]).all()
    assert result.params["outpaint"] == {"left": 16, "down": 8}


def test_long_outpaint_strip_is_filled_window_by_window(fake):
    model = fake(FakeModel(size=32))
    image = noise_image(200, 50)
    request = InpaintRequest("fake", n=2, seed=3, steps=2, feather=4, outpaint={"left": 40})
    result, events = run(request, image, np.zeros((200, 50), np.uint8))
    # 200 px along, 80 px windows overlapping by half: 4 windows; the first for both candidates at once
    assert [c["seeds"] for c in model.calls][:3] == [[3, 4], [3 + 1_000_003], [4 + 1_000_003]]
    assert len(model.calls) == 1 + 3 * 2
    later = model.calls[1]
    assert (later["mask"][:, 25:] == 0).all() and (later["mask"][:, :8] >= 0.5).any()  # known context at right
    for out in result.candidates:
        assert out.shape == (200, 90, 3)
        assert np.array_equal(out[:, 44:], image[:, 4:])
        strip = out[:, :30]  # the fills are grey, the edge-replicated start was coloured noise: none of it is left
        assert (strip[..., 0] == strip[..., 1]).all() and (strip[..., 1] == strip[..., 2]).all()
    for i, out in enumerate(result.candidates):  # the first window, rows 0-79 of the strip, from each candidate's seed
        assert (out[:70, :30] == seed_level(3 + i)).all()
    progress = [e for e in events if isinstance(e, Progress)]
    assert progress[-1].step == progress[-1].total == 7 * 2
    assert [e.step for e in progress] == list(range(1, 15)) and {e.stage for e in progress} == {"inpaint"}


def test_a_candidate_repeats_alone_from_its_seed(fake):
    fake(FakeModel(size=32))
    image = noise_image(120, 60)
    request = InpaintRequest("fake", n=3, seed=10, steps=1, outpaint={"right": 30, "top": 20})
    many, _ = run(request, image, box_mask(120, 60, 10, 50, 30, 70))
    one, _ = run(InpaintRequest.from_params(many.image_params(2)), image, box_mask(120, 60, 10, 50, 30, 70))
    assert np.array_equal(one.candidates[0], many.candidates[2])
    assert not np.array_equal(many.candidates[0], many.candidates[2])


def test_progress_and_full_size_previews_pass_through(fake):
    model = fake(FakeModel(size=32))
    image = noise_image(50, 70)
    request = InpaintRequest("fake", n=2, steps=20, strength=0.6, harmonize=5)
    _, events = run(request, image, box_mask(50, 70, 20, 20, 30, 30))
    assert model.calls[0]["steps"] == 20 and model.calls[0]["strength"] == 0.6 and model.calls[0]["harmonize"] == 5
    previews = [e for e in events if isinstance(e, Preview)]
    assert len(previews) == 10 and previews[0].image.shape == (2, 50, 70, 3)
    assert [e.step for e in events if isinstance(e, Progress)] == list(range(1, 21))


def test_extend_canvas():
    image = noise_image(5, 4)
    mask = box_mask(5, 4, 1, 1, 2, 2)
    big, big_mask = extend_canvas(image, mask, left=2, right=1, top=3, bottom=0)
    assert big.shape == (8, 7, 3) and big_mask.shape == (8, 7)
    assert np.array_equal(big[3:, 2:6], image) and np.array_equal(big_mask[3:, 2:6], mask)
    assert np.array_equal(big[0, 0], image[0, 0]) and np.array_equal(big[5, 6], image[2, 3])
    assert (big_mask[:3] == 255).all() and (big_mask[:, :2] == 255).all() and (big_mask[:, 6] == 255).all()


@pytest.mark.parametrize("change,message", [
    ({"n": 0}, "between 1 and 16"),
    ({"n": 17}, "between 1 and 16"),
    ({"strength": 0.0}, "Strength"),
    ({"strength": 1.5}, "Strength"),
    ({"outpaint": {"north": 10}}, "the sides are left, right, top (up) and bottom (down)"),
    ({"outpaint": {"left": 5000}}, "0 to 4096 pixels"),
    ({"outpaint": {"left": -3}}, "0 to 4096 pixels"),
    ({"outpaint": {"up": 3, "top": 4}}, "given twice"),
    ({"feather": -1}, "feather"),
])
def test_bad_requests_are_refused_with_a_sentence(fake, change, message):
    fake(FakeModel())
    request = InpaintRequest("fake", **change)
    with pytest.raises(GenStudioError, match=message.replace("(", r"\(").replace(")", r"\)")):
        run(request, noise_image(40, 40), box_mask(40, 40, 5, 5, 10, 10))


def test_bad_inputs_are_refused_with_a_sentence(fake):
    fake(FakeModel())
    image = noise_image(40, 30)
    with pytest.raises(GenStudioError, match=r"^The mask is empty: paint the area to repaint\.$"):
        run(InpaintRequest("fake"), image, np.zeros((40, 30), np.uint8))
    with pytest.raises(GenStudioError, match="8-bit"):
        run(InpaintRequest("fake"), image, np.ones((40, 30), np.float32))
    with pytest.raises(GenStudioError, match="The mask is 31×40 pixels but the image is 30×40"):
        run(InpaintRequest("fake"), image, np.zeros((40, 31), np.uint8))
    huge = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (9000, 8000, 3))
    with pytest.raises(GenStudioError, match="at most 64 megapixels"):
        run(InpaintRequest("fake"), huge, np.broadcast_to(np.uint8(255), (9000, 8000)))
    big = np.broadcast_to(np.zeros((1, 1, 3), np.uint8), (7000, 8000, 3))
    with pytest.raises(GenStudioError, match="at most 64 megapixels"):
        run(InpaintRequest("fake", outpaint={"down": 2000}), big, np.broadcast_to(np.uint8(0), (7000, 8000)))


def test_model_without_inpaint_or_classes(fake):
    fake(FakeModel(), can_inpaint=False)
    with pytest.raises(GenStudioError, match="cannot inpaint"):
        run(InpaintRequest("fake"), noise_image(40, 40), box_mask(40, 40, 5, 5, 10, 10))
    fake(FakeModel())
    with pytest.raises(GenStudioError, match="not trained with classes"):
        run(InpaintRequest("fake", label=2), noise_image(40, 40), box_mask(40, 40, 5, 5, 10, 10))


def test_png_params_round_trip(fake, tmp_path):
    from PIL import Image

    fake(FakeModel())
    request = InpaintRequest("fake", n=2, seed=5, steps=3, strength=0.8, harmonize=4, feather=6, prompt="a cat",
                             outpaint={"right": 8})
    result, _ = run(request, noise_image(40, 40), box_mask(40, 40, 5, 5, 10, 10))
    path = save_png(Image.fromarray(result.candidates[1]), tmp_path / "out.png", result.image_params(1))
    params = read_png_params(path)
    assert params["tool"] == "inpaint" and params["arch"] == "fake" and params["model_sha256"] == "ab" * 32
    assert params["seed"] == 6 and params["n"] == 1 and params["harmonize"] == 4 and params["strength"] == 0.8
    assert "prompt" not in params and "label" not in params  # the fake model takes no prompt, has no classes
    again = InpaintRequest.from_params(params)
    assert again == InpaintRequest("fake", n=1, seed=6, steps=3, strength=0.8, harmonize=4, feather=6,
                                   outpaint={"right": 8})


def test_real_tiny_ddpm_keeps_the_outside_and_varies_by_seed():
    from genstudio.models.diffusion import DiffusionModel
    from tests.util import save_tiny_model

    if not hasattr(DiffusionModel, "inpaint"):
        pytest.skip("the diffusion models do not inpaint yet")
    name = save_tiny_model("ddpm", "tiny-inpaint")
    image = noise_image(48, 40)
    mask = box_mask(48, 40, 12, 16, 28, 30)
    request = InpaintRequest(name, n=2, seed=1, steps=3, harmonize=1, feather=4)
    result, events = run(request, image, mask)
    far = brute_distance(mask > 0) > 4
    for out in result.candidates:
        assert out.shape == (48, 40, 3) and np.array_equal(out[far], image[far])
    assert not np.array_equal(result.candidates[0], result.candidates[1])
    assert any(isinstance(e, Progress) and e.stage == "inpaint" for e in events)
    alone, _ = run(InpaintRequest.from_params(result.image_params(1)), image, mask)
    assert np.array_equal(alone.candidates[0], result.candidates[1])
    assert result.params["arch"] == "ddpm" and result.params["harmonize"] == 1


def test_what_is_under_the_mask_does_not_leak_into_the_known_pixels(fake):
    model = fake(FakeModel(size=32))
    image = np.full((150, 130, 3), 100, np.uint8)
    mask = box_mask(150, 130, 50, 60, 83, 97)
    image[mask > 0] = 255  # the object to remove
    run(InpaintRequest("fake", n=1, steps=1), image, mask)
    call = model.calls[0]
    assert (call["image"][call["mask"] == 0] == 100).all()  # every known model pixel: the surroundings alone
    assert (call["mask"] == 1).sum() < 0.4 * call["mask"].size


def test_cancel_stops_the_models_sampler(fake):
    model = fake(FakeModel(size=32))
    gen = inpaint(InpaintRequest("fake", n=2, steps=50), noise_image(40, 40), box_mask(40, 40, 5, 5, 20, 20), CPU)
    events = [next(gen) for _ in range(3)]
    assert all(isinstance(e, Progress) for e in events) and model.closed == 0
    gen.close()  # what the UI worker does on Cancel
    assert model.closed == 1
