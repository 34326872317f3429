"""The library panel over a real ModelStore: listing, rename, delete, export/import, filter, empty state."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("PySide6")

from genstudio.core import config as configlib  # noqa: E402
from genstudio.core.registry import get  # noqa: E402
from genstudio.core.store import ModelStore, new_card  # noqa: E402
from genstudio.ui.widgets import dialogs  # noqa: E402
from genstudio.ui.widgets.library_panel import LibraryPanel, format_duration, summary_rows  # noqa: E402

STARTER_SAMPLES = Path(__file__).resolve().parents[2] / "resources" / "models" / "starter-emoji" / "samples.png"


@pytest.fixture(scope="module")
def tiny_ddpm():
    spec = get("ddpm")
    cfg = spec.model_config("tiny")
    return configlib.to_dict(cfg), spec.build(cfg).state_dict()


@pytest.fixture
def make_model(tiny_ddpm):
    config, tensors = tiny_ddpm

    def make(store: ModelStore, name: str, created: str | None = None):
        card = new_card(name, "ddpm", config, steps=3, family="diffusion", preset="tiny")
        if created:
            card["created"] = created
        return store.save(card, tensors, samples_png=STARTER_SAMPLES.read_bytes())

    return make


@pytest.fixture
def warnings(monkeypatch):
    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(dialogs, "warn", lambda parent, title, text: shown.append((title, text)))
    return shown


def names(panel: LibraryPanel, visible_only: bool = False) -> list[str]:
    items = [panel.models.item(row) for row in range(panel.models.count())]
    return [item.text().splitlines()[0] for item in items if not (visible_only and item.isHidden())]


def new_panel(qtbot, store: ModelStore) -> LibraryPanel:
    panel = LibraryPanel(store)
    qtbot.addWidget(panel)
    return panel


def test_lists_user_models_newest_first_then_bundled(qtbot, make_model):
    store = ModelStore()
    make_model(store, "older", "2024-01-02T10:00:00+00:00")
    make_model(store, "newer", "2025-03-04T10:00:00+00:00")
    panel = new_panel(qtbot, store)
    assert names(panel) == ["newer", "older", "starter-emoji"]
    assert "ddpm · 3 steps · " in panel.models.item(0).text() and "MB · 2025-03-04" in panel.models.item(0).text()
    assert panel.models.item(2).text().endswith("\nbundled")
    assert all(not panel.models.item(row).icon().isNull() for row in range(3))
    assert panel.current_name() == "newer"
    assert json.loads(panel.card_view.toPlainText())["name"] == "newer"
    assert panel.pages.currentIndex() == 0 and panel.error_label.isHidden()


def test_details_summary_reads_the_card(qtbot):
    panel = new_panel(qtbot, ModelStore())
    assert panel.select("starter-emoji")
    rows = dict(summary_rows(panel._models["starter-emoji"]))
    assert rows["Architecture"] == "ddpm" and rows["Family"] == "diffusion" and rows["Preset"] == "small"
    assert rows["Steps"] == "6,000" and rows["Data images"] == "285" and rows["Training time"] == "1 h 58 min"
    assert rows["Final loss"] == "0.05751" and "Parent model" not in rows
    assert panel.summary.rowCount() == len(rows)
    assert not panel.preview.pixmap().isNull() and panel.preview.pixmap().width() == 268  # 134 px × 2
    assert format_duration(42) == "42 s" and format_duration(600) == "10 min"


def test_rename_through_the_dialog(qtbot, monkeypatch, make_model, warnings):
    store = ModelStore()
    make_model(store, "mine")
    panel = new_panel(qtbot, store)
    monkeypatch.setattr(dialogs, "ask_text", lambda *args: "renamed")
    with qtbot.waitSignal(panel.changed):
        panel.rename_button.click()
    assert store.exists("renamed") and not store.exists("mine")
    assert panel.current_name() == "renamed" and names(panel)[0] == "renamed"
    assert warnings == []


def test_rename_to_a_bad_name_warns_and_keeps_the_model(qtbot, monkeypatch, make_model, warnings):
    store = ModelStore()
    make_model(store, "mine")
    panel = new_panel(qtbot, store)
    monkeypatch.setattr(dialogs, "ask_text", lambda *args: "../escape")
    panel.rename_button.click()
    assert len(warnings) == 1 and "not a usable model name" in warnings[0][1]
    assert store.exists("mine") and names(panel)[0] == "mine"


def test_delete_asks_first(qtbot, monkeypatch, make_model):
    store = ModelStore()
    make_model(store, "mine")
    panel = new_panel(qtbot, store)
    questions = []
    monkeypatch.setattr(dialogs, "confirm", lambda parent, title, text, ok="OK": questions.append(text) or False)
    panel.delete_button.click()
    assert store.exists("mine") and "mine" in questions[0] and names(panel)[0] == "mine"
    monkeypatch.setattr(dialogs, "confirm", lambda *args: True)
    with qtbot.waitSignal(panel.changed):
        panel.delete_button.click()
    assert not store.exists("mine") and names(panel) == ["starter-emoji"]
    assert panel.current_name() == "starter-emoji"


def test_bundled_models_are_read_only(qtbot, monkeypatch, make_model):
    store = ModelStore()
    make_model(store, "mine")
    panel = new_panel(qtbot, store)
    assert panel.rename_button.isEnabled() and panel.delete_button.isEnabled()
    assert panel.select("starter-emoji")
    assert not panel.rename_button.isEnabled() and not panel.delete_button.isEnabled()
    assert panel.export_button.isEnabled() and panel.use_button.isEnabled()
    monkeypatch.setattr(dialogs, "confirm", lambda *args: pytest.fail("asked to delete a bundled model"))
    panel._delete_current()  # e.g. the Delete key: still refused
    assert "starter-emoji" in names(panel)


def test_use_in_generate_and_open_folder(qtbot, monkeypatch, make_model):
    store = ModelStore()
    make_model(store, "mine")
    panel = new_panel(qtbot, store)
    with qtbot.waitSignal(panel.use_model) as blocker:
        panel.use_button.click()
    assert blocker.args == ["mine"]
    opened = []
    monkeypatch.setattr("genstudio.ui.widgets.library_panel.QDesktopServices.openUrl", opened.append)
    panel.folder_button.click()
    assert Path(opened[0].toLocalFile()) == store.root / "mine"


def test_export_then_import_round_trip(qtbot, monkeypatch, tmp_path, make_model, warnings):
    store = ModelStore()
    make_model(store, "mine")
    panel = new_panel(qtbot, store)
    monkeypatch.setattr(dialogs, "save_file", lambda *args: str(tmp_path / "shared"))
    panel.export_button.click()
    archive = tmp_path / "shared.zip"  # the suffix is added when the user leaves it out
    assert zipfile.is_zipfile(archive)

    assert not panel.import_zip(archive)  # same name as a model in the library
    assert len(warnings) == 1 and "'mine' is already in your library" in warnings[0][1]
    assert names(panel) == ["mine", "starter-emoji"]

    store.delete("mine")
    panel.refresh()
    monkeypatch.setattr(dialogs, "open_file", lambda *args: str(archive))
    with qtbot.waitSignal(panel.changed):
        panel.import_button.click()
    assert store.exists("mine") and panel.current_name() == "mine" and len(warnings) == 1


def _zip(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return path


@pytest.mark.parametrize("kind, expected", [
    ("random bytes", "is not a GenStudio model archive"),
    ("pickle weights", "is a pickle/torch.save file"),
    ("missing weights", "it needs card.json and weights.safetensors"),
    ("extra file", "holds an unexpected file 'x/run_me.py'"),
])
def test_a_bad_archive_is_refused_readably(qtbot, tmp_path, make_model, warnings, kind, expected):
    store = ModelStore()
    source = make_model(ModelStore(root=tmp_path / "elsewhere"), "incoming")
    card = (source.path / "card.json").read_bytes()
    weights = (source.path / "weights.safetensors").read_bytes()
    archive = tmp_path / "bad.zip"
    if kind == "random bytes":
        archive.write_bytes(bytes(range(256)) * 8)
    elif kind == "pickle weights":
        _zip(archive, {"x/card.json": card, "x/weights.safetensors": pickle.dumps({"w": [1, 2, 3]})})
    elif kind == "missing weights":
        _zip(archive, {"x/card.json": card})
    else:
        _zip(archive, {"x/card.json": card, "x/weights.safetensors": weights, "x/run_me.py": b"print(1)"})
    panel = new_panel(qtbot, store)
    before = names(panel)
    with qtbot.assertNotEmitted(panel.changed):
        assert not panel.import_zip(archive)
    assert len(warnings) == 1 and expected in warnings[0][1] and "Traceback" not in warnings[0][1]
    assert names(panel) == before and store.list()[0][0].name == "starter-emoji"
    assert not list(store.root.glob(".staging*"))


def test_filter_by_name_or_architecture(qtbot, make_model):
    store = ModelStore()
    make_model(store, "cats")
    panel = new_panel(qtbot, store)
    panel.filter_edit.setText("STARTER")
    assert names(panel, visible_only=True) == ["starter-emoji"] and panel.current_name() == "starter-emoji"
    panel.filter_edit.setText("ddpm")
    assert names(panel, visible_only=True) == ["cats", "starter-emoji"]
    panel.filter_edit.setText("gan")
    assert names(panel, visible_only=True) == [] and panel.current_name() is None
    assert not panel.no_match.isHidden() and not panel.use_button.isEnabled()
    assert panel.card_view.toPlainText() == ""
    assert panel.select("cats") and panel.filter_edit.text() == ""  # selecting a hidden model clears the filter
    assert names(panel, visible_only=True) == ["cats", "starter-emoji"]


def test_empty_library_says_how_to_get_a_model(qtbot, tmp_path, make_model, monkeypatch):
    store = ModelStore(root=tmp_path / "library", bundled=tmp_path / "no-bundled")
    (tmp_path / "no-bundled").mkdir()
    panel = new_panel(qtbot, store)
    assert panel.pages.currentIndex() == 1 and panel.current_name() is None
    assert "No models yet" in panel.empty_label.text() and "Train" in panel.empty_label.text()
    assert "import" in panel.empty_label.text()
    with qtbot.waitSignal(panel.go_train):
        panel.train_button.click()

    other = ModelStore(root=tmp_path / "other")
    make_model(other, "gift")
    archive = other.export_zip("gift", tmp_path / "gift.zip")
    assert panel.import_zip(archive)
    assert panel.pages.currentIndex() == 0 and names(panel) == ["gift"]


def test_unreadable_folders_are_listed_under_the_models(qtbot):
    store = ModelStore()
    (store.root / "broken").mkdir(parents=True)
    (store.root / "broken" / "card.json").write_text("{not json")
    panel = new_panel(qtbot, store)
    assert not panel.error_label.isHidden()
    assert "broken: card.json is not valid JSON" in panel.error_label.text()
    assert names(panel) == ["starter-emoji"]


def test_a_replaced_store_shows_after_refresh(qtbot, tmp_path, make_model):
    panel = new_panel(qtbot, ModelStore())
    other = ModelStore(root=tmp_path / "other")
    make_model(other, "elsewhere")
    panel.store = other
    panel.refresh()
    assert names(panel) == ["elsewhere", "starter-emoji"]
    assert panel.current_name() == "starter-emoji"  # the selection survives a refresh when it can
    assert not panel.select("nope") and panel.current_name() == "starter-emoji"


def test_importing_the_panel_does_not_import_torch():
    code = ("import sys, genstudio.ui.widgets.library_panel, genstudio.ui.widgets.settings_dialog; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_text_model_shows_its_texts_tokenizer_and_validation_loss():
    from types import SimpleNamespace

    card = {"family": "transformer", "steps": 2000, "metrics": {"loss": 1.5, "val_loss": 1.8812},
            "data": {"files": 3, "characters": 1115394, "tokenizer": "char", "vocab_size": 69}}
    info = SimpleNamespace(card=card, arch="gpt", size_bytes=3_000_000, bundled=False, path=Path("/m/gpt"))
    rows = dict(summary_rows(info))
    assert rows["Data texts"] == "3 file(s), 1,115,394 characters"
    assert rows["Tokenizer"] == "char (69 tokens)" and rows["Validation loss"] == "1.881"
    assert "Data images" not in rows


def test_a_music_model_shows_its_midi_files_notes_length_and_encoding():
    from types import SimpleNamespace

    card = {"family": "music-transformer", "steps": 3000, "metrics": {"loss": 1.2, "val_loss": 1.4},
            "data": {"midi_files": 229, "notes": 41000, "seconds": 7260.0, "encoding": "performance"}}
    info = SimpleNamespace(card=card, arch="music-transformer", size_bytes=4_000_000, bundled=False,
                           path=Path("/m/mt"))
    rows = dict(summary_rows(info))
    assert rows["Data music"] == "229 MIDI file(s), 41,000 notes, 2 h 01 min"
    assert rows["Encoding"] == "performance" and rows["Validation loss"] == "1.4"
    assert "Data texts" not in rows and "Data images" not in rows
