"""The model library: round trips, read-only bundled models, hostile archives, crash-safe writes."""

from __future__ import annotations

import json
import os
import pickle
import zipfile
from pathlib import Path

import pytest
import safetensors.torch
import torch

import genstudio.core.config
from genstudio.core import store as storelib
from genstudio.core.errors import ModelFileError, ModelNotFound
from genstudio.core.registry import get
from genstudio.core.store import ModelStore, new_card, sha256_file


@pytest.fixture(scope="module")
def tiny():
    """(config dict, state dict) of a tiny DDPM, built once for the module."""
    spec = get("ddpm")
    cfg = spec.model_config("tiny")
    model = spec.build(cfg)
    return genstudio.core.config.to_dict(cfg), model.state_dict()


@pytest.fixture
def store(tmp_path):
    return ModelStore(tmp_path / "s" / "library", bundled=tmp_path / "s" / "bundled")


def card_for(name: str, config: dict, **extra) -> dict:
    return new_card(name, "ddpm", config, steps=1, **extra)


def names(store: ModelStore) -> list[str]:
    return [m.name for m in store.list()[0]]


def leftovers(store: ModelStore) -> list[str]:
    if not store.root.exists():
        return []
    return sorted(p.name for p in store.root.iterdir() if p.name.startswith((".staging-", ".trash-")))


def assert_tensors_equal(a: dict, b: dict) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def test_save_list_get_load_round_trip(store, tiny):
    config, state = tiny
    info = store.save(card_for("m1", config, data={"images": 3}), state, samples_png=b"\x89PNG fake")
    assert info.name == "m1" and info.path == store.root / "m1" and not info.bundled
    assert sorted(p.name for p in info.path.iterdir()) == ["card.json", "samples.png", "weights.safetensors"]
    assert info.card["weights_sha256"] == sha256_file(info.path / "weights.safetensors")

    models, problems = store.list()
    assert [m.name for m in models] == ["m1"] and problems == []
    got = store.get("m1")
    assert got.arch == "ddpm" and got.card["data"] == {"images": 3} and got.samples_path is not None
    assert got.size_bytes > 0 and store.exists("m1")

    card, tensors = store.load("m1")
    assert card["config"] == config and card["steps"] == 1
    assert_tensors_equal(tensors, state)


def test_save_refuses_to_overwrite_unless_asked(store, tiny):
    config, state = tiny
    store.save(card_for("m1", config), state)
    with pytest.raises(ModelFileError, match="already exists"):
        store.save(card_for("m1", config, steps_note="second"), state)
    assert store.get("m1").card.get("steps_note") is None
    store.save(card_for("m1", config, steps_note="second"), state, overwrite=True)
    assert store.get("m1").card["steps_note"] == "second"
    assert names(store) == ["m1"] and leftovers(store) == []


def test_rename(store, tiny):
    config, state = tiny
    store.save(card_for("m1", config), state)
    info = store.rename("m1", "new name")
    assert info.name == "new name" and info.card["name"] == "new name"
    assert json.loads((store.root / "new name" / "card.json").read_text())["name"] == "new name"
    assert names(store) == ["new name"]
    with pytest.raises(ModelNotFound):
        store.get("m1")
    assert_tensors_equal(store.load("new name")[1], state)


def test_update_card_merges_validates_and_keeps_the_weights(store, tiny):
    config, state = tiny
    store.save(card_for("m1", config), state)
    info = store.update_card("m1", {"threshold": {"value": 1.5, "how": "manual"}})
    assert info.card["threshold"] == {"value": 1.5, "how": "manual"} and info.card["config"] == config
    assert json.loads((store.root / "m1" / "card.json").read_text())["threshold"]["value"] == 1.5
    assert_tensors_equal(store.load("m1")[1], state)  # the weights hash still matches
    with pytest.raises(ModelFileError):
        store.update_card("m1", {"config": "not a config"})
    assert store.get("m1").card["config"] == config and leftovers(store) == []


def test_rename_onto_an_existing_name_is_refused(store, tiny):
    config, state = tiny
    store.save(card_for("a", config), state)
    store.save(card_for("b", config), state)
    with pytest.raises(ModelFileError, match="already exists"):
        store.rename("a", "b")
    assert names(store) == ["a", "b"] and store.get("a").card["name"] == "a"


def test_delete(store, tiny):
    config, state = tiny
    store.save(card_for("m1", config), state)
    store.delete("m1")
    assert names(store) == [] and not store.exists("m1") and leftovers(store) == []
    with pytest.raises(ModelNotFound):
        store.delete("m1")


def test_bundled_models_are_listed_and_read_only(tmp_path, tiny):
    config, state = tiny
    bundled_dir = tmp_path / "bundled"
    ModelStore(bundled_dir, bundled=tmp_path / "none").save(card_for("starter", config), state)
    store = ModelStore(tmp_path / "library", bundled=bundled_dir)
    store.save(card_for("mine", config), state)

    models = {m.name: m for m in store.list()[0]}
    assert set(models) == {"mine", "starter"}
    assert models["starter"].bundled and not models["mine"].bundled
    assert store.get("starter").bundled and not store.exists("starter")
    assert_tensors_equal(store.load("starter")[1], state)

    with pytest.raises(ModelFileError, match="bundled"):
        store.rename("starter", "mine2")
    with pytest.raises(ModelFileError, match="bundled"):
        store.delete("starter")
    with pytest.raises(ModelFileError, match="bundled"):
        store.update_card("starter", {"threshold": {"value": 1.0}})
    assert (bundled_dir / "starter" / "card.json").is_file()
    assert json.loads((bundled_dir / "starter" / "card.json").read_text())["name"] == "starter"


def test_user_model_shadows_bundled_one(tmp_path, tiny):
    config, state = tiny
    bundled_dir = tmp_path / "bundled"
    ModelStore(bundled_dir, bundled=tmp_path / "none").save(card_for("same", config), state)
    store = ModelStore(tmp_path / "library", bundled=bundled_dir)
    store.save(card_for("same", config, origin="user"), state)
    models = store.list()[0]
    assert [(m.name, m.bundled) for m in models] == [("same", False)]
    assert store.get("same").card["origin"] == "user"


def test_export_import_round_trip_under_new_name(store, tiny, tmp_path):
    config, state = tiny
    store.save(card_for("m1", config), state, samples_png=b"png")
    archive = store.export_zip("m1", tmp_path / "m1.zip")
    with zipfile.ZipFile(archive) as zf:
        assert sorted(zf.namelist()) == ["m1/card.json", "m1/samples.png", "m1/weights.safetensors"]

    info = store.import_zip(archive, name="copy")
    assert info.name == "copy" and info.card["name"] == "copy"
    assert names(store) == ["copy", "m1"] and leftovers(store) == []
    assert (store.root / "copy" / "samples.png").read_bytes() == b"png"
    assert_tensors_equal(store.load("copy")[1], state)

    with pytest.raises(ModelFileError, match="already in your library"):
        store.import_zip(archive)  # same name as the original
    assert names(store) == ["copy", "m1"] and leftovers(store) == []


# -- hostile or broken archives -----------------------------------------------------------------------

def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def card_bytes(card: dict) -> bytes:
    return json.dumps(card).encode()


def safetensors_bytes(state: dict, tmp_path: Path) -> bytes:
    path = tmp_path / "w.safetensors"
    safetensors.torch.save_file({k: v.contiguous() for k, v in state.items()}, str(path))
    return path.read_bytes()


def model_zip(tmp_path: Path, card: dict, weights: bytes, name: str = "evil.zip", extra=None) -> Path:
    return write_zip(tmp_path / name, {"m/card.json": card_bytes(card), "m/weights.safetensors": weights,
                                       **(extra or {})})


def assert_refused(store: ModelStore, archive: Path, match: str, **kwargs) -> None:
    before = names(store)
    with pytest.raises(ModelFileError, match=match):
        store.import_zip(archive, **kwargs)
    assert names(store) == before
    assert leftovers(store) == []


@pytest.fixture
def valid_parts(tiny, tmp_path):
    """(card with a correct hash, safetensors bytes) for a model named 'm'."""
    config, state = tiny
    weights = safetensors_bytes(state, tmp_path)
    card = {**card_for("m", config), "weights_sha256": storelib.hashlib.sha256(weights).hexdigest()}
    return card, weights


def test_valid_handmade_archive_imports(store, tmp_path, valid_parts):
    card, weights = valid_parts
    info = store.import_zip(model_zip(tmp_path, card, weights))
    assert info.name == "m" and names(store) == ["m"]


@pytest.mark.parametrize("how", ["torch.save", "pickle.dump"])
def test_import_refuses_pickle_weights(store, tmp_path, tiny, how):
    config, state = tiny
    path = tmp_path / "weights.pt"
    if how == "torch.save":
        torch.save(state, path)
    else:
        with open(path, "wb") as fh:
            pickle.dump({k: v.numpy() for k, v in state.items()}, fh)
    weights = path.read_bytes()
    card = {**card_for("m", config), "weights_sha256": sha256_file(path)}  # the hash matches: only pickle is wrong
    assert_refused(store, model_zip(tmp_path, card, weights), "pickle")


def test_import_refuses_config_that_does_not_fit_the_weights(store, tmp_path, valid_parts):
    card, weights = valid_parts
    card = {**card, "config": {**card["config"], "base_width": 32}}
    assert_refused(store, model_zip(tmp_path, card, weights), "do not fit")


def test_import_refuses_wrong_hash(store, tmp_path, valid_parts):
    card, weights = valid_parts
    card = {**card, "weights_sha256": "0" * 64}
    assert_refused(store, model_zip(tmp_path, card, weights), "do not match the hash")


@pytest.mark.parametrize("card,match", [
    (b"{not json", "not valid JSON"),
    (b"\xff\xfe\x00", "not valid JSON"),
    (b"[1, 2]", "not a JSON object"),
    ("missing arch", "malformed"),
    ("steps as text", "malformed"),
    ("other format", "unknown model format"),
    ("bad hash text", "weights_sha256"),
])
def test_import_refuses_malformed_card(store, tmp_path, valid_parts, card, match):
    good, weights = valid_parts
    if card == "missing arch":
        card = card_bytes({k: v for k, v in good.items() if k != "arch"})
    elif card == "steps as text":
        card = card_bytes({**good, "steps": "one"})
    elif card == "other format":
        card = card_bytes({**good, "format": "something.else/9"})
    elif card == "bad hash text":
        card = card_bytes({**good, "weights_sha256": "xyz"})
    archive = write_zip(tmp_path / "bad.zip", {"m/card.json": card, "m/weights.safetensors": weights})
    assert_refused(store, archive, match)


@pytest.mark.parametrize("extra", ["m/readme.txt", "../evil", "../card.json", "m/../../card.json", "a/b/c/card.json"])
def test_import_refuses_unexpected_or_traversing_members(store, tmp_path, valid_parts, extra):
    card, weights = valid_parts
    assert_refused(store, model_zip(tmp_path, card, weights, extra={extra: b"x"}), "unexpected file")
    assert not (tmp_path / "evil").exists() and not (store.root.parent / "evil").exists()


def test_import_refuses_duplicate_and_missing_files(store, tmp_path, valid_parts):
    card, weights = valid_parts
    twice = model_zip(tmp_path, card, weights, name="twice.zip", extra={"other/card.json": card_bytes(card)})
    assert_refused(store, twice, "twice")
    only_card = write_zip(tmp_path / "card-only.zip", {"m/card.json": card_bytes(card)})
    assert_refused(store, only_card, "needs card.json and weights.safetensors")


def test_import_refuses_non_zip_and_missing_file(store, tmp_path):
    (tmp_path / "model.zip").write_bytes(b"definitely not a zip file")
    assert_refused(store, tmp_path / "model.zip", "not a GenStudio model archive")
    assert_refused(store, tmp_path / "absent.zip", "not a GenStudio model archive")


def test_import_refuses_damaged_archive(store, tmp_path, tiny):
    """A flipped byte inside the stored weights fails the zip CRC: a user-facing error, not BadZipFile."""
    config, state = tiny
    store.save(card_for("m1", config), state)
    archive = store.export_zip("m1", tmp_path / "m1.zip")
    with zipfile.ZipFile(archive) as zf:
        member = zf.getinfo("m1/weights.safetensors")
    data = bytearray(archive.read_bytes())
    data[member.header_offset + 30 + len(member.filename) + len(member.extra) + member.file_size // 2] ^= 0xFF
    archive.write_bytes(bytes(data))
    assert_refused(store, archive, "damaged", name="m2")


def test_import_refuses_invalid_new_name(store, tmp_path, valid_parts):
    card, weights = valid_parts
    assert_refused(store, model_zip(tmp_path, card, weights), "not a usable model name", name="../x")


# -- names --------------------------------------------------------------------------------------------

BAD_NAMES = ["", "   ", "../x", "a/b", ".hidden", "con", "LPT1", "x" * 70, "trailing.", "tab\tname"]


@pytest.mark.parametrize("bad", BAD_NAMES)
def test_invalid_names_are_refused(store, tiny, bad):
    config, state = tiny
    with pytest.raises(ModelFileError, match="not a usable model name"):
        store.save(card_for(bad, config), state)
    store.save(card_for("ok", config), state)
    with pytest.raises(ModelFileError, match="not a usable model name"):
        store.rename("ok", bad)
    assert names(store) == ["ok"] and leftovers(store) == []
    assert sorted(p.name for p in store.root.parent.iterdir()) == ["library"]  # nothing written beside it


def test_good_names_are_accepted(store, tiny):
    config, state = tiny
    for good in ["a", "My model (v2)", "ünïcødé 猫", "x" * 64]:
        store.save(card_for(good, config), state)
    assert sorted(names(store)) == sorted(["a", "My model (v2)", "ünïcødé 猫", "x" * 64])


def test_get_does_not_reach_outside_the_library(store, tiny):
    """A name with a path in it never resolves to a folder outside the library (or rename would move it in)."""
    config, state = tiny
    store.save(card_for("m1", config), state)
    ModelStore(store.root.parent / "outside", bundled=store.bundled).save(card_for("victim", config), state)
    for sneaky in ["m1/../../outside/victim", str(store.root.parent / "outside" / "victim")]:
        with pytest.raises(ModelNotFound):
            store.get(sneaky)
        with pytest.raises(ModelNotFound):
            store.rename(sneaky, "stolen")
        with pytest.raises(ModelNotFound):
            store.delete(sneaky)
    assert (store.root.parent / "outside" / "victim" / "card.json").is_file()
    assert names(store) == ["m1"]


# -- crash safety -------------------------------------------------------------------------------------

def test_crash_while_writing_weights_leaves_nothing(store, tiny, monkeypatch):
    config, state = tiny

    def disk_full(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safetensors.torch, "save_file", disk_full)
    with pytest.raises(OSError, match="No space"):
        store.save(card_for("m1", config), state)
    assert names(store) == [] and store.list()[1] == [] and leftovers(store) == []
    assert not store.exists("m1")


@pytest.mark.parametrize("crash_on", ["card", "commit"])
def test_crash_during_rename_into_place_leaves_nothing(store, tiny, monkeypatch, crash_on):
    config, state = tiny
    real_replace = os.replace

    def flaky_replace(src, dst):
        src = Path(src)
        if (crash_on == "card" and src.name.endswith(".tmp")) or (crash_on == "commit" and src.name.startswith(".staging-")):
            raise OSError("simulated crash")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    with pytest.raises(OSError, match="simulated crash"):
        store.save(card_for("m1", config), state)
    monkeypatch.undo()
    assert names(store) == [] and store.list()[1] == [] and leftovers(store) == []


def test_crash_while_overwriting_keeps_the_old_model(store, tiny, monkeypatch):
    config, state = tiny
    store.save(card_for("m1", config, version="old"), state)
    real_replace = os.replace

    def flaky_replace(src, dst):
        if Path(src).name.startswith(".staging-"):
            raise OSError("simulated crash")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", flaky_replace)
    with pytest.raises(OSError, match="simulated crash"):
        store.save(card_for("m1", config, version="new"), state, overwrite=True)
    monkeypatch.undo()
    assert names(store) == ["m1"] and store.get("m1").card["version"] == "old"
    assert_tensors_equal(store.load("m1")[1], state)
    assert leftovers(store) == []


def test_hidden_and_broken_folders_in_the_root(store, tiny):
    config, state = tiny
    store.save(card_for("m1", config), state)
    stray = store.root / ".staging-xyz"
    (store.root / "m1").rename(stray)  # a complete model left behind in a staging folder
    (store.root / ".trash-old-1234").mkdir()
    (store.root / "not a model").mkdir()
    (store.root / "loose-file.txt").write_text("hi")
    models, problems = store.list()
    assert models == []
    assert len(problems) == 1 and "not a model" in problems[0] and "card.json is missing" in problems[0]
    with pytest.raises(ModelNotFound):
        store.get(".staging-xyz")


def test_load_refuses_weights_changed_after_saving(store, tiny):
    config, state = tiny
    info = store.save(card_for("m1", config), state)
    changed = {k: v.clone() for k, v in state.items()}
    first = next(iter(changed))
    changed[first] += 1
    safetensors.torch.save_file({k: v.contiguous() for k, v in changed.items()}, str(info.path / "weights.safetensors"))
    with pytest.raises(ModelFileError, match="do not match the hash"):
        store.load("m1")


def test_load_refuses_pickle_in_place_of_weights(store, tiny):
    config, state = tiny
    info = store.save(card_for("m1", config), state)
    torch.save(state, info.path / "weights.safetensors")
    with pytest.raises(ModelFileError, match="pickle"):
        store.load("m1")


def test_default_root_is_under_genstudio_home(genstudio_home, tiny):
    config, state = tiny
    store = ModelStore()
    store.save(card_for("m1", config), state)
    assert (genstudio_home / "models" / "m1" / "card.json").is_file()
