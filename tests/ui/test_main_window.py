"""The window over the library: models listed with their details (offscreen)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("PySide6")

from genstudio.core import config as configlib  # noqa: E402
from genstudio.core.registry import get  # noqa: E402
from genstudio.core.store import ModelStore, new_card  # noqa: E402


def test_window_lists_user_and_bundled_models(qtbot, tmp_path):
    from genstudio.ui.main_window import MainWindow

    spec = get("ddpm")
    cfg = spec.model_config("tiny")
    store = ModelStore()
    store.save(new_card("mine", "ddpm", configlib.to_dict(cfg), steps=3), spec.build(cfg).state_dict())
    window = MainWindow(store)
    qtbot.addWidget(window)
    window.show()
    names = [window.models.item(i).text().splitlines()[0] for i in range(window.models.count())]
    assert names[0] == "mine" and "starter-emoji" in names
    window.models.setCurrentRow(0)
    assert json.loads(window.details.toPlainText())["name"] == "mine"
    assert window.statusBar().currentMessage().startswith(f"1 of your models in {store.root}, 1 bundled")


def test_a_damaged_model_folder_is_reported_not_fatal(qtbot):
    from genstudio.ui.main_window import MainWindow

    store = ModelStore()
    (store.root / "broken").mkdir(parents=True)
    (store.root / "broken" / "card.json").write_text("{not json")
    window = MainWindow(store)
    qtbot.addWidget(window)
    message = window.statusBar().currentMessage()
    assert "1 unreadable folder(s): broken: card.json is not valid JSON" in message
    assert window.models.count() == 1  # the bundled starter is still there
