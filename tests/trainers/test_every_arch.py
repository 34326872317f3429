"""Every registered image, text and music architecture trains through the one CLI trainer on a dropped folder."""

from __future__ import annotations

import numpy as np
import pytest

from genstudio.core.registry import Capability, specs
from genstudio.core.store import ModelStore
from tests.trainers.test_loop import train_in_process
from tests.trainers.test_music import make_midi_folder
from tests.trainers.test_text import make_text_folder
from tests.util import make_image_folder

TRAINED_SPECS = [s for s in specs() if s.modality in ("image", "text", "music") and s.trainer]


@pytest.mark.parametrize("spec", TRAINED_SPECS, ids=lambda s: s.name)
def test_a_few_steps_from_the_cli_entry_point_publish_a_model(spec, tmp_path):
    data = ["--data", str(make_image_folder(tmp_path / "data", n=6))]
    if spec.can(Capability.TRANSLATE):  # two domains, one folder each (the loop runs over A's 6 images)
        data = ["--data-a", str(make_image_folder(tmp_path / "a", n=6)),
                "--data-b", str(make_image_folder(tmp_path / "b", n=5, seed=1))]
    if spec.modality == "text":  # six files of writing
        data = ["--data", str(make_text_folder(tmp_path / "texts", files=6, chars=300))]
    if spec.modality == "music":  # six MIDI files (and one broken file, skipped)
        data = ["--data", str(make_midi_folder(tmp_path / "midi", files=6))]
    code, events = train_in_process(tmp_path / "home", [spec.name, "--preset", "tiny", "--device", "cpu", *data,
                                                        "--name", "m", "--steps", "3", "--preview-every", "3"])
    assert code == 0, [e for e in events if e.type == "failed"]
    assert [e.type for e in events if e.type == "preview"] == ["preview"]
    done = events[-1]
    assert done.type == "done" and done.steps == 3
    card, tensors = ModelStore().load("m")
    files = next(card["data"][k] for k in ("images_a", "images", "files", "midi_files") if k in card["data"])
    assert card["arch"] == spec.name and files == 6 and tensors


def test_colour_follows_the_folder_unless_chosen(tmp_path):
    from PIL import Image

    gray = tmp_path / "gray"
    gray.mkdir()
    for i in range(4):
        Image.fromarray(np.full((30, 30), i * 60 + 10, np.uint8)).save(gray / f"{i}.png")
    common = ["vae", "--preset", "tiny", "--device", "cpu", "--data", str(gray), "--steps", "1"]
    code, events = train_in_process(tmp_path / "home", [*common, "--name", "auto"])
    assert code == 0 and any(e.type == "log" and "grayscale" in e.message for e in events)
    assert ModelStore().get("auto").card["config"]["channels"] == 1
    code, _ = train_in_process(tmp_path / "home", [*common, "--name", "forced", "--color", "rgb",
                                                   "--image-size", "32"])
    card = ModelStore().get("forced").card
    assert code == 0 and card["config"]["channels"] == 3 and card["config"]["image_size"] == 32
    code, events = train_in_process(tmp_path / "home", ["ddpm", "--preset", "tiny", "--data", str(gray),
                                                        "--name", "bad", "--image-size", "30"])
    assert code == 1 and "image_size" in events[-1].message
