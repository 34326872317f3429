"""Class labels from subfolders, through the real trainer entry: what a new run, a resumed run and a
fine-tune learn from a folder, what they skip, and what the model card records."""

from __future__ import annotations

import json

import pytest

from genstudio.core.store import ModelStore
from tests.trainers.test_loop import train_in_process
from tests.util import make_image_folder


def tiny(arch: str, *args: str) -> list[str]:
    return [arch, "--preset", "tiny", "--device", "cpu", "--steps", "2", *args]


def class_folder(root, counts: dict[str, int], loose: int = 0):
    """``root/<class>/`` with ``counts[class]`` images each, and ``loose`` images in the root itself."""
    for i, (name, n) in enumerate(counts.items()):
        make_image_folder(root / name, n=n, seed=i + 1)
    if loose:
        make_image_folder(root, n=loose, seed=99)
    return root


def logged(events) -> str:
    return "\n".join(e.message for e in events if e.type == "log")


def skipped(home, run: str) -> list[dict]:
    return json.loads((home / "runs" / run / "dataset_report.json").read_text(encoding="utf-8"))["skipped_files"]


@pytest.mark.parametrize("arch", ["ddpm", "dit"])
def test_subfolders_become_classes_and_loose_images_are_skipped(tmp_path, arch):
    data = class_folder(tmp_path / "data", {"a": 4, "b": 3}, loose=2)
    home = tmp_path / "home"
    code, events = train_in_process(home, tiny(arch, "--data", str(data), "--name", "m"))
    assert code == 0, [e for e in events if e.type == "failed"]
    card, tensors = ModelStore().load("m")
    assert card["config"]["classes"] == ["a", "b"]
    assert tensors["net.class_emb.weight"].shape[0] == 3  # two classes and the null class
    assert card["data"]["images"] == 7 and card["data"]["classes"] == ["a", "b"]
    assert "2 classes from subfolders: a (4), b (3)." in logged(events)
    loose = skipped(home, "m")
    assert len(loose) == 2 and all(s["reason"] == "not in a class subfolder" for s in loose)
    assert all("/data/a/" not in s["path"] and "/data/b/" not in s["path"] for s in loose)
    assert "skipped" in logged(events) and "not in a class subfolder" in logged(events)


@pytest.mark.parametrize("arch", ["ddpm", "dit"])
def test_a_folder_without_subfolders_trains_an_unconditional_model(tmp_path, arch):
    data = make_image_folder(tmp_path / "data", n=5)
    code, events = train_in_process(tmp_path / "home", tiny(arch, "--data", str(data), "--name", "u"))
    assert code == 0, [e for e in events if e.type == "failed"]
    card = ModelStore().get("u").card
    assert card["config"]["classes"] == [] and card["data"]["images"] == 5
    assert "classes from subfolders" not in logged(events)


def test_one_subfolder_is_not_a_class(tmp_path):
    data = class_folder(tmp_path / "data", {"only": 4}, loose=1)
    code, _ = train_in_process(tmp_path / "home", tiny("dit", "--data", str(data), "--name", "one"))
    assert code == 0
    card = ModelStore().get("one").card
    assert card["config"]["classes"] == [] and card["data"]["images"] == 5


def test_resume_keeps_the_classes_of_the_run(tmp_path):
    data = class_folder(tmp_path / "data", {"a": 3, "b": 3})
    home = tmp_path / "home"
    code, events = train_in_process(home, tiny("dit", "--data", str(data), "--name", "r", "--steps", "4"),
                                    stop_at=2)
    assert code == 0 and events[-1].stopped
    make_image_folder(data / "c", n=2, seed=5)  # a class that appeared since: not the model's
    code, events = train_in_process(home, ["dit", "--name", "r", "--resume"])
    assert code == 0 and events[-1].steps == 4, [e for e in events if e.type == "failed"]
    assert ModelStore().get("r").card["config"]["classes"] == ["a", "b"]
    extra = skipped(home, "r")
    assert len(extra) == 2 and all("/c/" in s["path"] and "model's classes (a, b)" in s["reason"] for s in extra)


def test_fine_tune_keeps_the_classes_and_skips_unknown_ones(tmp_path):
    home = tmp_path / "home"
    base = class_folder(tmp_path / "base", {"a": 3, "b": 3})
    assert train_in_process(home, tiny("ddpm", "--data", str(base), "--name", "base"))[0] == 0
    # the new folder has "b" and an unknown "z": the model keeps (a, b), z's images are skipped
    new = class_folder(tmp_path / "new", {"b": 3, "z": 2}, loose=1)
    code, events = train_in_process(home, tiny("ddpm", "--data", str(new), "--name", "ft", "--from", "base"))
    assert code == 0, [e for e in events if e.type == "failed"]
    card = ModelStore().get("ft").card
    assert card["config"]["classes"] == ["a", "b"] and card["data"]["images"] == 3
    assert "2 classes from subfolders: a (0), b (3)." in logged(events)
    reasons = {s["path"].split("/")[-2]: s["reason"] for s in skipped(home, "ft")}
    assert set(reasons) == {"z", "new"} and all("model's classes (a, b)" in r for r in reasons.values())


def test_fine_tune_on_a_folder_with_no_known_class_fails_with_a_message(tmp_path):
    home = tmp_path / "home"
    base = class_folder(tmp_path / "base", {"a": 3, "b": 3})
    assert train_in_process(home, tiny("dit", "--data", str(base), "--name", "base"))[0] == 0
    other = class_folder(tmp_path / "other", {"x": 2, "y": 2})
    code, events = train_in_process(home, tiny("dit", "--data", str(other), "--name", "ft", "--from", "base"))
    assert code == 1 and events[-1].type == "failed"
    assert "No images are in the classes this model knows (a, b)" in events[-1].message
    assert events[-1].detail == ""  # a sentence for a person, not a traceback
    assert not ModelStore().exists("ft")


def test_an_unconditional_model_fine_tuned_on_class_folders_stays_unconditional(tmp_path):
    home = tmp_path / "home"
    plain = make_image_folder(tmp_path / "plain", n=4)
    assert train_in_process(home, tiny("dit", "--data", str(plain), "--name", "base"))[0] == 0
    classes = class_folder(tmp_path / "classes", {"a": 2, "b": 2})
    code, events = train_in_process(home, tiny("dit", "--data", str(classes), "--name", "ft", "--from", "base"))
    assert code == 0
    assert ModelStore().get("ft").card["config"]["classes"] == []
    assert "The model is unconditional" in logged(events)
