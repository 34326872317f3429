"""The Translate canvas: which models it offers, directions named after the model's domains, translating a
selected picture in the worker, batch mode with skipped files, cancel, save, drops, bad files.

The translation itself is faked (a colour inversion that reports progress) except in the last test,
which runs a real tiny CycleGAN end to end.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PIL import Image  # noqa: E402
from PySide6.QtCore import QMimeData, QPointF, Qt, QThreadPool, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402

from genstudio.core.events import Preview, Progress  # noqa: E402
from genstudio.core.registry import ArchSpec, Capability  # noqa: E402
from genstudio.core.store import ModelInfo  # noqa: E402
from tests.util import make_image_folder  # noqa: E402

TIMEOUT = 30_000


def spec(name: str, capability: Capability) -> ArchSpec:
    return ArchSpec(name=name, family="test", modality="image", config_cls=dict, builder=lambda cfg: None,
                    capabilities=frozenset({capability}), trainer="")


TRANSLATOR, GENERATOR = spec("cyclegan", Capability.TRANSLATE), spec("ddpm", Capability.GENERATE)


def model(name: str, domains=("horse", "zebra"), arch="cyclegan") -> ModelInfo:
    config = {"image_size": 32, **({"domains": list(domains)} if domains else {})}
    return ModelInfo(name, Path("/nowhere") / name, {"arch": arch, "steps": 200, "config": config}, False)


class FakeTranslation:
    """Stands in for the translate task: inverts the colours, one Progress per step (optionally slowly)."""

    def __init__(self, steps: int = 3, delay: float = 0.0):
        self.steps, self.delay, self.calls, self.done_steps = steps, delay, [], 0
        self.release = threading.Event()
        self.release.set()

    def __call__(self, model_name, path, direction, tile, device):
        self.calls.append((model_name, Path(path).name, direction, tile))
        image = np.asarray(Image.open(path).convert("RGB"))
        yield Preview(0, image=image)
        for step in range(1, self.steps + 1):
            self.release.wait(10)
            time.sleep(self.delay)
            self.done_steps += 1
            yield Progress(step, self.steps)
        return image, 255 - image


@pytest.fixture
def canvas(qtbot, answers):
    from genstudio.ui.canvases.translate import TranslateCanvas
    from genstudio.ui.settings import Settings

    canvas = TranslateCanvas(Settings())
    qtbot.addWidget(canvas)
    canvas.resize(1100, 700)
    canvas.show()
    canvas.fake = FakeTranslation()
    canvas.translate_one = canvas.fake
    canvas.set_models([(model("horse2zebra"), TRANSLATOR)])
    yield canvas
    worker = canvas.worker
    if worker is not None:  # pytest-qt has deleted the canvas by now: stop the thread itself
        canvas.fake.release.set()
        worker.cancel()
        assert QThreadPool.globalInstance().waitForDone(TIMEOUT)


def idle(canvas) -> bool:
    return canvas.worker is None and not canvas.pending


def pictures(folder: Path, n: int = 3) -> Path:
    return make_image_folder(folder, n=n, size=40)


def test_without_a_translation_model_the_canvas_says_how_to_get_one(canvas, qtbot):
    canvas.set_models([(model("cats", arch="ddpm"), GENERATOR)])
    assert canvas.model_box.count() == 0 and canvas.view.currentWidget() is canvas.empty
    assert canvas.empty_label.text() == "No translation model yet — train a CycleGAN on two folders in Train."
    assert canvas.empty_button.isVisible() and not canvas.controls.isVisible()
    with qtbot.waitSignal(canvas.go_train, timeout=1000):
        qtbot.mouseClick(canvas.empty_button, Qt.MouseButton.LeftButton)


def test_only_translation_models_are_listed_and_directions_are_named_after_their_domains(canvas):
    canvas.set_models([(model("cats", arch="ddpm"), GENERATOR), (model("horse2zebra"), TRANSLATOR),
                       (model("photo2art", ("photo", "painting")), TRANSLATOR), (model("plain", None), TRANSLATOR)])
    assert [canvas.model_box.itemText(i) for i in range(canvas.model_box.count())] == \
        ["horse2zebra", "photo2art", "plain"]
    assert canvas.view.currentWidget() is canvas.compare_page and canvas.controls.isVisible()

    def directions():
        return [(canvas.direction_box.itemText(i), canvas.direction_box.itemData(i))
                for i in range(canvas.direction_box.count())]

    assert directions() == [("horse → zebra", "a2b"), ("zebra → horse", "b2a")]
    canvas.direction_box.setCurrentIndex(1)
    assert canvas.select_model("photo2art")
    assert directions() == [("photo → painting", "a2b"), ("painting → photo", "b2a")]
    assert canvas.direction_box.currentData() == "b2a"  # the direction chosen stays chosen
    assert "photo ↔ painting" in canvas.model_note.text()
    canvas.select_model("plain")
    assert directions() == [("A → B", "a2b"), ("B → A", "b2a")]


def test_a_selected_picture_is_translated_and_compared_and_saved(canvas, qtbot, tmp_path, answers):
    from genstudio.tasks.images import read_png_params

    folder = pictures(tmp_path / "horses")
    assert canvas.add_inputs([str(folder)]) == 3
    assert [canvas.input_list.item(i).text() for i in range(3)] == ["blob_000.png", "blob_001.png", "blob_002.png"]
    qtbot.waitUntil(lambda: idle(canvas) and canvas.shown is not None, timeout=TIMEOUT)  # the first is selected
    original = np.asarray(Image.open(folder / "blob_000.png").convert("RGB"))
    assert canvas.fake.calls == [("horse2zebra", "blob_000.png", "a2b", 0)]
    assert np.array_equal(canvas.shown.original, original) and np.array_equal(canvas.shown.translated, 255 - original)
    assert canvas.compare.after is not None and canvas.compare.captions == ("Original (horse)", "Translated (zebra)")
    assert "blob_000.png · 40×40 px · horse → zebra" in canvas.result_info.text()
    assert canvas.progress.maximum() == 1 and "Done in" in canvas.progress_label.text()
    canvas.set_models([(model("horse2zebra"), TRANSLATOR)])  # a library refresh that changes nothing
    assert canvas.worker is None and len(canvas.fake.calls) == 1

    canvas.tile_box.setCurrentIndex(canvas.tile_box.findData(256))
    qtbot.waitUntil(lambda: idle(canvas) and len(canvas.fake.calls) == 2, timeout=TIMEOUT)
    canvas.direction_box.setCurrentIndex(canvas.direction_box.findData("b2a"))  # translated again
    qtbot.waitUntil(lambda: idle(canvas) and len(canvas.fake.calls) == 3 and canvas.shown is not None,
                    timeout=TIMEOUT)
    assert canvas.fake.calls[1:] == [("horse2zebra", "blob_000.png", "a2b", 256),
                                     ("horse2zebra", "blob_000.png", "b2a", 256)]
    assert canvas.compare.captions == ("Original (zebra)", "Translated (horse)")

    answers.replies["save_file"] = str(tmp_path / "saved")
    saved = canvas.save()
    assert saved == tmp_path / "saved.png"
    assert np.array_equal(np.asarray(Image.open(saved).convert("RGB")), 255 - original)
    params = read_png_params(saved)
    assert (params["model"], params["tool"], params["direction"], params["source"]) == \
        ("horse2zebra", "translate", "b2a", "blob_000.png")
    canvas.set_mode("side")
    assert canvas.compare.mode == "side" and canvas.settings.get("translate/compare") == "side"


def test_choosing_another_picture_mid_translation_switches_to_it(canvas, qtbot, tmp_path):
    canvas.fake.release.clear()  # the first translation waits until told
    canvas.add_inputs([str(pictures(tmp_path / "horses"))])
    qtbot.waitUntil(lambda: canvas.fake.calls != [], timeout=TIMEOUT)
    canvas.input_list.setCurrentRow(2)
    assert canvas.pending
    canvas.fake.release.set()
    qtbot.waitUntil(lambda: idle(canvas) and canvas.shown is not None, timeout=TIMEOUT)
    assert [call[1] for call in canvas.fake.calls] == ["blob_000.png", "blob_002.png"]
    assert canvas.shown.path.name == "blob_002.png"


def test_cancel_stops_a_translation_between_steps(canvas, qtbot, tmp_path):
    canvas.fake.steps, canvas.fake.delay = 400, 0.01
    canvas.add_inputs([str(pictures(tmp_path / "horses", n=1))])
    qtbot.waitUntil(lambda: canvas.fake.done_steps >= 3, timeout=TIMEOUT)
    assert canvas.cancel_button.isEnabled()
    qtbot.mouseClick(canvas.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: canvas.worker is None, timeout=TIMEOUT)
    assert canvas.fake.done_steps < 400 and canvas.progress_label.text() == "Cancelled."
    assert canvas.shown is None and not canvas.save_button.isEnabled() and not canvas.cancel_button.isEnabled()


def test_a_picture_that_cannot_be_read_says_why(canvas, qtbot, tmp_path, answers):
    from genstudio.ui.canvases.translate import translate_one

    canvas.translate_one = translate_one  # the real task: it decodes the file before it needs a model
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    canvas.add_inputs([str(folder)])
    qtbot.waitUntil(lambda: idle(canvas) and bool(answers.warnings), timeout=TIMEOUT)
    title, text = answers.warnings[0]
    assert title == "Cannot translate" and text.startswith("Cannot translate broken.png: ")
    assert "Traceback" not in text and canvas.shown is None and canvas.progress_label.text() == "Failed."


def test_drops_and_open_add_files_and_folders_and_a_folder_without_pictures_is_refused(canvas, qtbot, tmp_path,
                                                                                       answers):
    folder = pictures(tmp_path / "horses", n=2)
    single = pictures(tmp_path / "more", n=1) / "blob_000.png"
    empty = tmp_path / "notes"
    empty.mkdir()
    (empty / "notes.txt").write_text("no picture")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder)), QUrl.fromLocalFile(str(single))])
    canvas.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier))
    assert sorted(str(p) for p in canvas.inputs) == sorted([str(folder / "blob_000.png"), str(folder / "blob_001.png"),
                                                             str(single)])
    assert canvas.add_inputs([str(folder)]) == 0  # already listed: not twice
    assert canvas.add_inputs([str(empty)]) == 0
    assert answers.warnings[-1] == ("No pictures there", "notes: no image files (PNG, JPEG, WebP, BMP, TIFF or GIF).")
    canvas.clear_inputs()
    assert canvas.inputs == [] and canvas.input_list.count() == 0 and not canvas.batch_button.isEnabled()
    answers.replies["open_folder"], answers.replies["open_files"] = str(folder), [str(single)]
    qtbot.mouseClick(canvas.open_folder_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(canvas.open_file_button, Qt.MouseButton.LeftButton)
    assert [p.name for p in canvas.inputs] == ["blob_000.png", "blob_001.png", "blob_000.png"]
    assert canvas.inputs[-1] == single


class FakeBatch:
    """Stands in for translate_files: 'writes' the good inputs, skips those named bad*, slowly if asked;
    its events are the real task's: two tiles' progress per picture, then the picture's."""

    def __init__(self, delay: float = 0.0):
        self.delay, self.requests, self.done = delay, [], 0

    def __call__(self, request, device):
        self.requests.append(request)
        written, skipped = [], []
        for i, name in enumerate(request.inputs, start=1):
            time.sleep(self.delay)
            if Path(name).name.startswith("bad"):
                skipped.append((Path(name), "not an image Pillow can read (wrong extension or corrupt)"))
            else:
                written.append(Path(request.output_dir) / Path(name).name)
            yield Progress(1, 2, stage="tile")
            yield Progress(2, 2, stage="tile")
            self.done = i
            yield Progress(i, len(request.inputs), stage="translate")
        return SimpleNamespace(written=written, skipped=skipped)


def test_translate_all_writes_into_a_folder_and_lists_the_skipped_files(canvas, qtbot, tmp_path, answers):
    folder = pictures(tmp_path / "horses")
    (folder / "bad.png").write_bytes(b"garbage")
    canvas.add_inputs([str(folder)])
    qtbot.waitUntil(lambda: idle(canvas), timeout=TIMEOUT)
    canvas.translate_files = batch = FakeBatch()
    answers.replies["open_folder"] = str(folder)  # the inputs' own folder: refused, nothing overwritten
    canvas.translate_all()
    assert batch.requests == [] and answers.warnings[-1][0] == "Choose another folder"

    out = tmp_path / "zebras"
    answers.replies["open_folder"] = str(out)
    canvas.tile_box.setCurrentIndex(canvas.tile_box.findData(512))
    qtbot.waitUntil(lambda: idle(canvas), timeout=TIMEOUT)
    canvas.translate_all()
    qtbot.waitUntil(lambda: idle(canvas) and canvas.report is not None, timeout=TIMEOUT)
    (request,) = batch.requests
    assert (request.model, request.direction, request.tile, Path(request.output_dir)) == \
        ("horse2zebra", "a2b", 512, out.resolve())
    assert [Path(p).name for p in request.inputs] == ["bad.png", "blob_000.png", "blob_001.png", "blob_002.png"]
    assert canvas.view.currentWidget() is canvas.batch_page
    assert canvas.batch_summary.text() == "3 written, 1 skipped"
    assert [canvas.skipped_list.item(i).text() for i in range(canvas.skipped_list.count())] == \
        ["bad.png — not an image Pillow can read (wrong extension or corrupt)"]
    assert canvas.skipped_list.isVisibleTo(canvas) and canvas.progress.maximum() == 1
    assert canvas.progress_label.text().startswith("3 written, 1 skipped")


def test_a_real_tiny_cyclegan_translates_a_picture_and_a_folder_with_a_bad_file(canvas, qtbot, tmp_path, answers):
    from genstudio.core.registry import get
    from genstudio.core.store import ModelStore
    from genstudio.tasks.translate import translate_files
    from genstudio.ui.canvases.translate import translate_one
    from tests.util import save_tiny_model

    name = save_tiny_model("cyclegan", "h2z", domains=("horse", "zebra"))
    canvas.translate_one, canvas.translate_files = translate_one, translate_files
    canvas.set_models([(ModelStore().get(name), get("cyclegan"))])
    assert canvas.direction_box.itemText(0) == "horse → zebra"
    canvas.tile_box.setCurrentIndex(canvas.tile_box.findData(128))
    folder = make_image_folder(tmp_path / "horses", n=2, size=150)  # 150 px: 4 tiles of 128, padded to 152
    (folder / "zz-broken.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    canvas.add_inputs([str(folder)])
    qtbot.waitUntil(lambda: idle(canvas) and canvas.shown is not None, timeout=60_000)
    shown = canvas.shown
    assert shown.translated.shape == shown.original.shape == (150, 150, 3) and shown.translated.dtype == np.uint8
    assert not np.array_equal(shown.translated, shown.original) and not answers.warnings

    answers.replies["open_folder"] = str(tmp_path / "zebras")
    canvas.translate_all()
    qtbot.waitUntil(lambda: idle(canvas) and canvas.report is not None, timeout=60_000)
    assert canvas.batch_summary.text() == "2 written, 1 skipped"
    assert sorted(p.name for p in (tmp_path / "zebras").iterdir()) == ["blob_000_a2b.png", "blob_001_a2b.png"]
    assert canvas.skipped_list.item(0).text().startswith("zz-broken.png — ")


def test_translate_all_can_be_cancelled(canvas, qtbot, tmp_path, answers):
    canvas.add_inputs([str(pictures(tmp_path / "horses", n=12))])
    qtbot.waitUntil(lambda: idle(canvas), timeout=TIMEOUT)
    canvas.translate_files = batch = FakeBatch(delay=0.05)
    answers.replies["open_folder"] = str(tmp_path / "out")
    canvas.translate_all()
    assert not canvas.input_list.isEnabled() and not canvas.batch_button.isEnabled()  # one batch at a time
    qtbot.waitUntil(lambda: batch.done >= 2, timeout=TIMEOUT)
    canvas.cancel()
    qtbot.waitUntil(lambda: canvas.worker is None, timeout=TIMEOUT)
    assert batch.done < 12 and canvas.progress_label.text().startswith("Cancelled. The pictures already written")
    assert canvas.report is None and canvas.input_list.isEnabled() and canvas.batch_button.isEnabled()
