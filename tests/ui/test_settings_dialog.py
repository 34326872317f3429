"""The settings dialog: values round-trip through Settings; a folder that cannot be used keeps it open."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("PySide6")

from genstudio.core.paths import home_dir  # noqa: E402
from genstudio.ui.settings import Settings  # noqa: E402
from genstudio.ui.widgets import dialogs  # noqa: E402
from genstudio.ui.widgets.settings_dialog import SettingsDialog  # noqa: E402


@pytest.fixture
def settings(tmp_path):
    return Settings(tmp_path / "settings.ini")


def new_dialog(qtbot, settings, devices=("cpu",)) -> SettingsDialog:
    dialog = SettingsDialog(settings, list(devices))
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def combo_labels(box) -> list[str]:
    return [box.itemText(i) for i in range(box.count())]


def test_defaults_and_device_labels(qtbot, settings):
    dialog = new_dialog(qtbot, settings, ["cpu", "cuda"])
    assert combo_labels(dialog.device_box) == ["Automatic (best available)", "CPU", "NVIDIA GPU (CUDA)"]
    assert dialog.device_box.currentData() == "auto"
    assert dialog.threads_box.value() == 0 and dialog.threads_box.text() == "Automatic"
    assert dialog.threads_box.maximum() == (os.cpu_count() or 1)
    assert dialog.folder_edit.text() == "" and dialog.folder_edit.placeholderText() == str(home_dir() / "models")
    assert combo_labels(dialog.theme_box) == ["Light", "Dark"]


def test_values_round_trip(qtbot, settings, tmp_path):
    dialog = new_dialog(qtbot, settings, ["cpu", "cuda"])
    dialog.device_box.setCurrentIndex(dialog.device_box.findData("cuda"))
    dialog.threads_box.setValue(1)
    dialog.folder_edit.setText(str(tmp_path / "my models"))
    dialog.theme_box.setCurrentIndex(dialog.theme_box.findData("dark"))
    dialog.ok_button.click()
    assert not dialog.isVisible()
    assert dialog.changed == {"device", "threads", "model_folder", "theme"}
    assert (tmp_path / "my models").is_dir() and list((tmp_path / "my models").iterdir()) == []  # probe removed

    reread = Settings(settings.path)
    assert (reread.device, reread.threads, reread.model_folder, reread.theme) == (
        "cuda", 1, str(tmp_path / "my models"), "dark")
    again = new_dialog(qtbot, reread, ["cpu", "cuda"])
    assert again.device_box.currentData() == "cuda" and again.threads_box.value() == 1
    assert again.folder_edit.text() == str(tmp_path / "my models") and again.theme_box.currentData() == "dark"
    again.ok_button.click()
    assert again.changed == set()


def test_a_saved_device_missing_here_stays_visible(qtbot, settings):
    settings.device = "cuda"
    dialog = new_dialog(qtbot, settings, ["cpu"])
    assert dialog.device_box.currentText() == "NVIDIA GPU (CUDA) (not available here)"
    dialog.accept()
    assert settings.device == "cuda" and "device" not in dialog.changed


def test_cancel_changes_nothing(qtbot, settings):
    dialog = new_dialog(qtbot, settings)
    dialog.theme_box.setCurrentIndex(dialog.theme_box.findData("dark"))
    dialog.reject()
    assert settings.theme == "light" and dialog.changed == set()


def test_browse_and_default_folder(qtbot, settings, tmp_path, monkeypatch):
    dialog = new_dialog(qtbot, settings)
    monkeypatch.setattr(dialogs, "open_folder", lambda parent, title, start="": str(tmp_path / "picked"))
    browse, reset = (b for b in dialog.findChildren(type(dialog.ok_button)) if b.text() in ("Browse…", "Default"))
    browse.click()
    assert dialog.folder_edit.text() == str(tmp_path / "picked")
    reset.click()
    assert dialog.folder_edit.text() == ""
    dialog.folder_edit.setText(str(home_dir() / "models"))  # the default typed out is still the default
    dialog.accept()
    assert settings.model_folder == "" and dialog.changed == set()


def test_a_folder_that_cannot_be_written_keeps_the_dialog_open(qtbot, settings, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    dialog = new_dialog(qtbot, settings)
    dialog.theme_box.setCurrentIndex(dialog.theme_box.findData("dark"))
    dialog.folder_edit.setText(str(blocker / "models"))
    dialog.ok_button.click()
    assert dialog.isVisible() and not dialog.error_label.isHidden()
    assert "cannot keep models in" in dialog.error_label.text() and str(blocker / "models") in dialog.error_label.text()
    assert settings.model_folder == "" and settings.theme == "light" and dialog.changed == set()

    dialog.folder_edit.setText(str(tmp_path / "fine"))
    dialog.ok_button.click()
    assert not dialog.isVisible() and settings.model_folder == str(tmp_path / "fine")
    assert dialog.changed == {"model_folder", "theme"}
