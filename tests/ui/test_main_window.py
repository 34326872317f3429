"""The main window: rail, library wiring, zip drops, settings, themes, damaged folders."""

from __future__ import annotations

import zipfile

import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QCloseEvent, QDropEvent  # noqa: E402

from genstudio.core.store import ModelStore  # noqa: E402
from tests.util import save_tiny_model  # noqa: E402


def drop(widget, path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    widget.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier))


def test_rail_switches_canvases_and_the_status_bar_shows_the_device(window):
    from genstudio.ui.main_window import CANVASES

    canvases = (window.generate, window.inpaint, window.translate, window.text, window.music, window.anomaly,
                window.train, window.library)
    assert CANVASES == ("Generate", "Inpaint", "Translate", "Text", "Music", "Anomaly", "Train", "Library")
    for i, canvas in enumerate(canvases):
        window.rail.setCurrentRow(i)
        assert window.stack.currentWidget() is canvas
    shortcuts = {a.text().replace("&", ""): a.shortcut().toString() for a in window.menuBar().actions()[2].menu().actions()}
    assert shortcuts["Anomaly"] == "Ctrl+6" and shortcuts["Library"] == "Ctrl+8"
    assert window.device_label.text().startswith("Device: CPU")
    assert window.statusBar().currentMessage().startswith("0 of your models, 1 bundled")


def test_a_model_saved_elsewhere_appears_everywhere_on_refresh(window):
    save_tiny_model("ddpm", "mine", ModelStore(), steps=3)
    window.refresh_library()
    assert window.library.select("mine")
    assert window.generate.model_box.findData("mine") >= 0
    assert window.anomaly.model_box.findData("mine") < 0  # a DDPM does not score anomalies
    window.train.arch_box.setCurrentIndex(window.train.arch_box.findData("ddpm"))
    assert window.train.from_box.findData("mine") >= 0  # can fine-tune from it
    assert window.inpaint.model_box.findData("mine") >= 0  # a DDPM inpaints
    assert window.translate.model_box.findData("mine") < 0  # and does not translate


def test_a_music_model_is_offered_in_music_and_used_there(window):
    from genstudio.core.data.music_events import ENCODINGS

    enc = ENCODINGS["performance"]
    save_tiny_model("music-transformer", "tunes", ModelStore(), steps=3, vocab_size=enc.vocab_size,
                    start_token=enc.start, end_token=enc.end)
    window.refresh_library()
    assert window.music.model_box.findData("tunes") >= 0 and window.music.view.currentWidget() is window.music.work
    assert window.generate.model_box.findData("tunes") < 0 and window.text.model_box.findData("tunes") < 0
    window.library.use_model.emit("tunes")
    assert window.stack.currentWidget() is window.music and window.music.model_box.currentData() == "tunes"
    window.show_canvas("Library")
    window.close()  # the canvas is remembered by name, not by its place in the rail
    assert window.settings.get("window/canvas_name") == "Library"


def test_a_damaged_model_folder_is_reported_not_fatal(window):
    store = window.store
    (store.root / "broken").mkdir(parents=True)
    (store.root / "broken" / "card.json").write_text("{not json")
    window.refresh_library()
    assert "1 unreadable folder(s): broken: card.json is not valid JSON" in window.statusBar().currentMessage()
    assert window.generate.model_box.findData("starter-emoji") >= 0


def test_dropping_a_bad_zip_on_the_window_gives_a_message_and_changes_nothing(window, tmp_path, answers):
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip")
    drop(window, bad)
    assert window.stack.currentWidget() is window.library
    assert answers.warnings and "zip" in answers.warnings[-1][1].lower()
    empty = tmp_path / "empty.zip"
    with zipfile.ZipFile(empty, "w") as zf:
        zf.writestr("readme.txt", "hello")
    drop(window, empty)
    assert len(answers.warnings) == 2
    assert window.store.list()[0][0].name == "starter-emoji"  # only the bundled model, as before


def test_dropping_a_good_zip_imports_it(window, tmp_path, answers):
    store = ModelStore()
    save_tiny_model("ddpm", "shared", store, steps=3)
    exported = store.export_zip("shared", tmp_path / "shared.zip")
    store.delete("shared")
    window.refresh_library()
    drop(window, exported)
    assert not answers.warnings
    assert window.generate.model_box.findData("shared") >= 0


def test_settings_dialog_changes_the_model_folder_and_theme(window, qtbot, tmp_path, monkeypatch):
    from genstudio.ui.widgets import settings_dialog

    elsewhere = tmp_path / "elsewhere"
    save_tiny_model("ddpm", "away", ModelStore(root=elsewhere), steps=3)

    def fake_exec(dialog):
        dialog.folder_edit.setText(str(elsewhere))
        dialog.theme_box.setCurrentIndex(dialog.theme_box.findData("dark"))
        dialog.accept()
        return True

    monkeypatch.setattr(settings_dialog.SettingsDialog, "exec", fake_exec)
    window.open_settings()
    assert window.store.root == elsewhere and window.library.select("away")
    assert window.generate.model_box.findData("away") >= 0
    assert window.settings.theme == "dark" and window.dark_action.isChecked()
    import os

    assert os.environ["GENSTUDIO_MODELS"] == str(elsewhere)  # trainers started now save there too


def test_theme_toggle_keeps_the_loss_curve(window):
    from genstudio.ui.theme import theme_colors

    window.set_theme("light")
    plot = window.train.ensure_plot()
    plot.set_history([1, 2, 3], [1.0, 0.5, 0.25])
    light = plot.plot.backgroundBrush().color().name()
    window.set_theme("dark")
    assert plot.plot.backgroundBrush().color().name() == theme_colors("dark")["base"] != light
    assert plot.smooth_curve.opts["pen"].color().name() == theme_colors("dark")["plot_smooth"]
    assert window.train.plot.steps == [1, 2, 3]
    window.set_theme("light")


def test_the_loss_plot_smooths_resumes_and_coalesces_redraws(qtbot):
    from genstudio.ui.widgets.loss_plot import LossPlot, smooth

    assert smooth([2.0]) == [2.0]  # bias-corrected: the line starts at the data
    plot = LossPlot()
    qtbot.addWidget(plot)
    for step, loss in enumerate([1.0, 0.8, 0.6, 0.4], start=1):
        plot.add(step, loss)
    assert plot.smoothed == pytest.approx(smooth([1.0, 0.8, 0.6, 0.4]))
    assert plot.raw_curve.xData is None or len(plot.raw_curve.xData) < 4  # drawn later, together
    qtbot.waitUntil(lambda: plot.raw_curve.xData is not None and len(plot.raw_curve.xData) == 4, timeout=3000)
    plot.add(3, 0.9)  # a resumed run reports again from its checkpoint's step
    assert plot.steps == [1, 2, 3] and plot.losses[-1] == 0.9
    plot.add(4, float("nan"))
    assert plot.steps == [1, 2, 3]


def test_closing_with_unsaved_writing_asks_first(window, answers):
    window.text.editor.setPlainText("A draft worth keeping.")
    window.text.editor.document().setModified(True)
    answers.replies["choose"] = None  # the question is dismissed: the window stays open, the text with it
    event = QCloseEvent()
    window.closeEvent(event)
    assert not event.isAccepted() and window.text.editor.toPlainText() == "A draft worth keeping."
    answers.replies["choose"] = "Don't save"
    event = QCloseEvent()
    window.closeEvent(event)
    assert event.isAccepted()


def test_closing_with_unexported_notes_asks_first(window, answers):
    from genstudio.core.notes import Note

    window.music.roll.edit_notes([], [Note(60, 0.0, 1.0)], "Add note")
    answers.replies["choose"] = None
    event = QCloseEvent()
    window.closeEvent(event)
    assert not event.isAccepted() and len(window.music.roll.sequence().notes) == 1
    answers.replies["choose"] = "Don't export"
    event = QCloseEvent()
    window.closeEvent(event)
    assert event.isAccepted()
