"""The Inpaint canvas: paint with real mouse events, run a task in the worker, pick, accept, undo, save."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent, QGuiApplication  # noqa: E402

from genstudio.core.errors import GenStudioError  # noqa: E402
from genstudio.core.events import Preview, Progress  # noqa: E402
from genstudio.core.registry import get  # noqa: E402
from genstudio.core.store import ModelInfo  # noqa: E402
from genstudio.tasks.images import read_png_params  # noqa: E402
from genstudio.tasks.inpaint import InpaintResult, extend_canvas  # noqa: E402
from genstudio.ui.widgets.images import to_qimage  # noqa: E402
from tests.ui.test_mask_editor import CTRL, drag  # noqa: E402

PICTURE = np.random.default_rng(5).integers(0, 256, (90, 140, 3), dtype=np.uint8)


def entry(name: str, arch: str, **config):
    card = {"arch": arch, "steps": 1000, "config": {"image_size": 32, **config}}
    return ModelInfo(name, Path("/nowhere") / name, card, False), get(arch)


class FakeTask:
    """Stands in for ``tasks.inpaint.inpaint``: records what it got, fills the mask with one colour per
    candidate, steps slowly when asked (to be cancelled), or fails."""

    def __init__(self, steps: int = 3, delay: float = 0.0, error: str = ""):
        self.steps, self.delay, self.error = steps, delay, error
        self.calls = []

    def __call__(self, request, image, mask, device, store=None):
        self.calls.append((request, image.copy(), mask.copy()))
        image, mask = extend_canvas(image, mask, **request.outpaint)
        repaint = mask > 127
        candidates = []
        for i in range(request.n):
            candidate = image.copy()
            candidate[repaint] = (40 * (i + 1), 255 - 30 * i, 7 * i)
            candidates.append(candidate)
        for step in range(1, self.steps + 1):
            time.sleep(self.delay)
            if self.error:
                raise GenStudioError(self.error)
            yield Progress(step, self.steps, stage="inpaint")
            yield Preview(step, image=np.stack(candidates))
        rows, cols = np.nonzero(repaint)
        return InpaintResult(candidates, {**request.to_params(), "tool": "inpaint"},
                             (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1))


@pytest.fixture
def canvas(qtbot, answers):
    from genstudio.ui.canvases.inpaint import InpaintCanvas
    from genstudio.ui.settings import Settings

    widget = InpaintCanvas(Settings())
    qtbot.addWidget(widget)
    widget.resize(1100, 760)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_models([entry("my-ddpm", "ddpm"), entry("my-glow", "glow"), entry("my-vae", "vae")])
    widget.run_inpaint = FakeTask()
    assert widget.load_picture(PICTURE, "test.png")
    return widget


def run(qtbot, canvas) -> None:
    canvas.inpaint()
    assert canvas.worker is not None
    qtbot.waitUntil(lambda: canvas.worker is None, timeout=30_000)


def paint_square(qtbot, canvas) -> None:
    canvas.editor.set_tool("rect")
    drag(qtbot, canvas.editor, [(30, 20), (70, 50)])


def test_only_inpainting_models_are_listed_with_their_controls(canvas):
    names = [canvas.model_box.itemData(i) for i in range(canvas.model_box.count())]
    assert names == ["my-ddpm", "my-vae"]  # the flow cannot inpaint
    assert canvas.select_model("my-ddpm")
    assert not canvas.harmonize_box.isHidden() and canvas.options.prompt_edit.isHidden()
    assert canvas.options.label_box.isHidden()  # no classes on this card
    canvas.select_model("my-vae")
    assert canvas.harmonize_box.isHidden() and canvas.steps_box.value() == 100  # optimisation steps
    canvas.set_models([entry("shapes", "latent-diffusion", vocab=["a", "red", "circle"]),
                       entry("digits", "ddpm", classes=["zero", "one"])])
    canvas.select_model("shapes")
    assert not canvas.options.prompt_edit.isHidden() and not canvas.options.guidance_box.isHidden()
    canvas.select_model("digits")
    assert canvas.options.prompt_edit.isHidden() and not canvas.options.label_box.isHidden()
    canvas.options.label_box.setCurrentIndex(2)
    assert canvas.request().label == 1


def test_empty_state_without_inpainting_models(canvas, qtbot):
    canvas.set_models([entry("my-glow", "glow")])
    assert canvas.view.currentWidget() is canvas.empty and canvas.controls.isHidden()
    assert canvas.empty_label.text().startswith("No inpainting model yet — train a DDPM, DiT, latent-diffusion or VAE")
    with qtbot.waitSignal(canvas.go_train, timeout=1000):
        qtbot.mouseClick(canvas.empty_button, Qt.MouseButton.LeftButton)


def test_paint_run_pick_accept_undo_and_save(canvas, qtbot, tmp_path, answers):
    paint_square(qtbot, canvas)
    mask = canvas.editor.mask()
    canvas.count_box.setValue(3)
    canvas.seed_box.setValue(11)
    canvas.strength_box.setValue(0.6)
    run(qtbot, canvas)
    request, image, sent_mask = canvas.run_inpaint.calls[0]
    assert (request.n, request.seed, request.strength, request.model) == (3, 11, 0.6, "my-ddpm")
    assert np.array_equal(image, PICTURE) and np.array_equal(sent_mask, mask) and request.outpaint == {}
    assert canvas.candidates.count() == 3 and not canvas.candidates.isHidden() and not answers.warnings
    assert canvas.editor.previewing and np.array_equal(canvas.editor.image(), PICTURE)  # a preview changes nothing
    canvas.candidates.pick(2)
    assert canvas.accept()
    accepted = canvas.editor.image()
    assert np.array_equal(accepted, canvas.result.candidates[2]) and not np.array_equal(accepted, PICTURE)
    outside = mask == 0
    assert np.array_equal(accepted[outside], PICTURE[outside])

    answers.replies["save_file"] = str(tmp_path / "kept")
    saved = canvas.save()
    params = read_png_params(saved)
    assert saved.name == "kept.png" and params["seed"] == 13 and params["n"] == 1 and params["model"] == "my-ddpm"
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(saved).convert("RGB")), accepted)

    qtbot.keyClick(canvas.editor, Qt.Key.Key_Z, CTRL)
    assert np.array_equal(canvas.editor.image(), PICTURE) and np.array_equal(canvas.editor.mask(), mask)
    qtbot.keyClick(canvas.editor, Qt.Key.Key_Z, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(canvas.editor.image(), accepted)


def test_the_picture_is_locked_while_a_run_uses_it_and_cancel_frees_it(canvas, qtbot):
    paint_square(qtbot, canvas)
    canvas.run_inpaint = FakeTask(steps=400, delay=0.01)
    canvas.inpaint()
    qtbot.waitUntil(lambda: canvas.progress.maximum() == 400 and canvas.progress.value() >= 2, timeout=10_000)
    assert not canvas.inpaint_button.isEnabled() and canvas.cancel_button.isEnabled()
    mask = canvas.editor.mask()
    canvas.editor.set_tool("brush")
    drag(qtbot, canvas.editor, [(100, 70), (120, 80)])
    assert np.array_equal(canvas.editor.mask(), mask)  # no painting under a running job
    qtbot.keyClick(canvas.editor, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: canvas.worker is None, timeout=10_000)
    assert canvas.progress_label.text() == "Cancelled." and canvas.candidates.count() == 0
    assert not canvas.editor.previewing and canvas.inpaint_button.isEnabled()
    drag(qtbot, canvas.editor, [(100, 70), (120, 80)])
    assert not np.array_equal(canvas.editor.mask(), mask)


def test_outpaint_extends_undoably_and_sends_the_strip_as_outpaint(canvas, qtbot):
    canvas.extend_box.setValue(32)
    qtbot.mouseClick(canvas.extend_buttons["left"], Qt.MouseButton.LeftButton)
    qtbot.mouseClick(canvas.extend_buttons["bottom"], Qt.MouseButton.LeftButton)
    assert canvas.editor.picture_size() == (172, 122)
    run(qtbot, canvas)
    request, image, mask = canvas.run_inpaint.calls[0]
    assert request.outpaint == {"left": 32, "bottom": 32}
    assert np.array_equal(image, PICTURE) and not mask.any()  # the task re-adds the strips and fills them
    assert canvas.accept()
    grown = canvas.editor.image()
    assert grown.shape == (122, 172, 3) and np.array_equal(grown[:90, 32:], PICTURE)
    assert canvas.editor.pending_extension() == {}  # filled: the next run inpaints only what is painted
    for _ in range(3):
        canvas.editor.undo()
    assert np.array_equal(canvas.editor.image(), PICTURE) and not canvas.editor.mask().any()


def test_a_partly_unmasked_strip_is_inpainted_as_painted(canvas, qtbot):
    canvas.extend(side="right")
    canvas.editor.set_tool("eraser")
    canvas.editor.set_brush(size=20)
    width = canvas.editor.picture_size()[0]
    drag(qtbot, canvas.editor, [(width - 10, 10), (width - 10, 40)])
    run(qtbot, canvas)
    request, image, mask = canvas.run_inpaint.calls[0]
    assert request.outpaint == {} and image.shape[1] == width and mask[:, 140:].any()


def test_an_empty_mask_or_no_picture_gets_a_sentence_not_a_run(canvas, qtbot):
    canvas.inpaint()
    assert canvas.worker is None and "mask is empty" in canvas.progress_label.text()
    assert not canvas.run_inpaint.calls


def test_a_failed_run_says_why_and_keeps_the_picture(canvas, qtbot, answers):
    paint_square(qtbot, canvas)
    canvas.run_inpaint = FakeTask(error="The model ran out of patience.")
    run(qtbot, canvas)
    assert answers.warnings[-1] == ("Inpainting failed", "The model ran out of patience.")
    assert np.array_equal(canvas.editor.image(), PICTURE) and not canvas.editor.locked


def drop(canvas, mime: QMimeData) -> None:
    canvas.dropEvent(QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier))


def test_dropped_files_load_and_bad_ones_are_refused_with_a_message(canvas, qtbot, tmp_path, answers):
    from PIL import Image

    paint_square(qtbot, canvas)
    mask = canvas.editor.mask()
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"this is not a picture")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(bad))])
    drop(canvas, mime)
    assert answers.warnings[-1][0] == "Cannot use this file" and "broken.png" in answers.warnings[-1][1]
    assert np.array_equal(canvas.editor.image(), PICTURE) and np.array_equal(canvas.editor.mask(), mask)

    other = np.random.default_rng(9).integers(0, 256, (40, 64, 3), dtype=np.uint8)
    Image.fromarray(other).save(tmp_path / "other.png")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(tmp_path / "other.png"))])
    drop(canvas, mime)  # the painted mask is an unsaved edit: asked first, and "Cancel" keeps it
    assert np.array_equal(canvas.editor.mask(), mask)
    answers.replies["confirm"] = True
    drop(canvas, mime)
    assert np.array_equal(canvas.editor.image(), other) and not canvas.editor.mask().any()
    assert "other.png" in canvas.picture_info.toolTip()


def test_paste_takes_clipboard_pictures(canvas):
    pasted = np.random.default_rng(3).integers(0, 256, (33, 47, 3), dtype=np.uint8)
    QGuiApplication.clipboard().setImage(to_qimage(pasted))
    assert canvas.paste()
    assert np.array_equal(canvas.editor.image(), pasted)
    QGuiApplication.clipboard().setText("just words")
    assert not canvas.paste() and "no picture" in canvas.progress_label.text()


def test_a_tiny_real_model_inpaints_only_inside_the_mask_and_feather(qtbot, answers):
    from genstudio.core.store import ModelStore
    from genstudio.ui.canvases.inpaint import InpaintCanvas
    from genstudio.ui.settings import Settings
    from tests.util import save_tiny_model

    name = save_tiny_model("ddpm", "tiny-inpainter")
    info = ModelStore().get(name)
    canvas = InpaintCanvas(Settings())
    qtbot.addWidget(canvas)
    canvas.resize(1000, 700)
    canvas.show()
    canvas.set_models([(info, get(info.arch))])
    canvas.load_picture(PICTURE, "test.png")
    paint_square(qtbot, canvas)
    canvas.count_box.setValue(2)
    canvas.steps_box.setValue(3)
    canvas.harmonize_box.setValue(0)
    canvas.feather_box.setValue(4)
    run(qtbot, canvas)
    assert not answers.warnings and canvas.candidates.count() == 2
    assert canvas.accept()
    result = canvas.editor.image()
    near = np.zeros(PICTURE.shape[:2], bool)
    near[20 - 5:50 + 5, 30 - 5:70 + 5] = True  # the mask and its feather
    assert np.array_equal(result[~near], PICTURE[~near]) and not np.array_equal(result[near], PICTURE[near])


def test_in_the_main_window_its_keys_reach_the_editor_and_the_starter_is_listed(window, qtbot, answers):
    window.show_canvas("Inpaint")
    canvas = window.inpaint
    assert canvas.model_box.findData("starter-emoji") >= 0 and canvas.view.currentWidget() is canvas.work
    canvas.load_picture(PICTURE, "test.png")
    window.activateWindow()
    canvas.editor.setFocus()
    paint_square(qtbot, canvas)
    mask = canvas.editor.mask()
    for keys, expected in ((CTRL, np.zeros_like(mask)), (CTRL | Qt.KeyboardModifier.ShiftModifier, mask)):
        qtbot.keyClick(canvas.editor, Qt.Key.Key_Z, keys)
        assert np.array_equal(canvas.editor.mask(), expected)
    qtbot.keyClick(canvas.editor, Qt.Key.Key_I, CTRL | Qt.KeyboardModifier.ShiftModifier)
    assert np.array_equal(canvas.editor.mask(), 255 - mask)
    pasted = np.random.default_rng(4).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    QGuiApplication.clipboard().setImage(to_qimage(pasted))
    answers.replies["confirm"] = True  # the painted mask is an unsaved edit
    qtbot.keyClick(canvas.editor, Qt.Key.Key_V, CTRL)
    assert np.array_equal(canvas.editor.image(), pasted)
