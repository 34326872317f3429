"""The Anomaly canvas: detectors listed by capability, a folder scanned into a ranked gallery with its bad
files listed, the threshold dragged on the histogram, chosen from marked images (best F1) or normal ones,
saved with the model (bundled ones refuse), reports that match the gallery, Stop keeping a partial scan,
the Generate canvas's images scanned, and one real tiny feature detector end to end."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("PySide6")

from PIL import Image  # noqa: E402
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl  # noqa: E402
from PySide6.QtGui import QDropEvent  # noqa: E402

from genstudio.core.data.images import SkippedFile  # noqa: E402
from genstudio.core.events import Progress  # noqa: E402
from genstudio.core.registry import ArchSpec, Capability  # noqa: E402
from genstudio.core.store import ModelInfo, ModelStore  # noqa: E402
from genstudio.tasks.inspect import (  # noqa: E402
    InspectedImage,
    InspectResult,
    Threshold,
    load_threshold,
    read_one,
    scan_inputs,
    threshold_best_f1,
    threshold_from_normals,
)
from genstudio.ui.widgets.anomaly_gallery import ANOMALOUS, NORMAL  # noqa: E402

SIZE = 16


def spec(name: str, *capabilities: Capability, modality: str = "image") -> ArchSpec:
    return ArchSpec(name=name, family="detector", modality=modality, config_cls=object, builder=lambda c: None,
                    capabilities=frozenset(capabilities), trainer="trainers.detector")


DETECTOR = spec("feature-detector", Capability.ANOMALY)
AE = spec("ae", Capability.GENERATE, Capability.RECONSTRUCT, Capability.ANOMALY)
DDPM = spec("ddpm", Capability.GENERATE, Capability.INPAINT)
GPT = spec("gpt", Capability.TEXT, modality="text")


def entry(name: str, arch: ArchSpec, bundled: bool = False):
    card = {"arch": arch.name, "steps": 600, "config": {"image_size": SIZE}}
    return ModelInfo(name, Path("/nowhere") / name, card, bundled), arch


TRAINED = Threshold(2.0, "99th percentile of 10 held-out normal images (chosen in training)")


def fake_score(name: str) -> float:
    """Defects score 3 and up, normals about 1, each a little apart (no ties)."""
    digits = "".join(c for c in Path(name).stem if c.isdigit()) or "0"
    return (3.0 if "defect" in name else 1.0) + 0.1 * int(digits)


class FakeInspect:
    """Stands in for ``tasks.inspect.inspect``: the real input listing and decoding (bad files skipped with
    their reasons), a made-up score per name and a heatmap hot where the score says."""

    def __init__(self, threshold: Threshold | None = TRAINED, delay: float = 0.0, reconstruct: bool = False):
        self.threshold, self.delay, self.reconstruct = threshold, delay, reconstruct
        self.requests = []

    def __call__(self, request, device, store=None, should_stop=None):
        self.requests.append(request)
        inputs, skipped = scan_inputs(request)
        result = InspectResult(request.model, "feature-detector", [], list(skipped))
        yield Progress(0, len(inputs), stage="scan")
        for step, (name, source) in enumerate(inputs, 1):
            if should_stop is not None and should_stop():
                result.cancelled = True
                break
            time.sleep(self.delay)
            try:
                image = read_one(source, SIZE, 3)
            except ValueError as err:
                result.skipped.append(SkippedFile(name, str(err)))
            else:
                score = fake_score(name)
                heat = np.zeros((SIZE, SIZE), np.float32)
                heat[4:8, 4:8] = score
                result.items.append(InspectedImage(name, score, heat, image, 255 - image if self.reconstruct else None))
            yield Progress(step, len(inputs), stage="scan")
        result.apply_threshold(request.threshold if request.threshold is not None else self.threshold)
        return result


@pytest.fixture
def folder(tmp_path):
    """5 normal images, 3 defects (in a subfolder), 2 files that are not pictures."""
    root = tmp_path / "batch"
    (root / "sub").mkdir(parents=True)
    for i in range(5):
        Image.fromarray(np.full((SIZE, SIZE, 3), 100 + i, np.uint8)).save(root / f"normal_{i}.png")
    for i in range(3):
        Image.fromarray(np.full((SIZE, SIZE, 3), 250, np.uint8)).save(root / "sub" / f"defect_{i}.png")
    (root / "empty.png").write_bytes(b"")
    (root / "notes.jpg").write_text("not a picture")
    return root


@pytest.fixture
def canvas(qtbot, answers):
    from genstudio.ui.canvases.anomaly import AnomalyCanvas
    from genstudio.ui.settings import Settings

    widget = AnomalyCanvas(Settings())
    qtbot.addWidget(widget)
    widget.resize(1280, 760)
    widget.show()
    qtbot.waitExposed(widget)
    widget.set_models([entry("det", DETECTOR), entry("my-ae", AE), entry("my-ddpm", DDPM), entry("gpt", GPT),
                       entry("starter-det", DETECTOR, bundled=True)])
    widget.run_inspect = FakeInspect()
    return widget


def finish(qtbot, canvas) -> None:
    qtbot.waitUntil(lambda: canvas.worker is None, timeout=30_000)


def scanned(qtbot, canvas, folder):
    assert canvas.scan(folder=str(folder))
    finish(qtbot, canvas)
    return canvas.result


def test_only_models_that_inspect_images_are_listed_and_the_empty_page_trains_one(canvas, qtbot, answers, folder):
    names = [canvas.model_box.itemData(i) for i in range(canvas.model_box.count())]
    assert names == ["det", "my-ae", "starter-det"]
    assert not canvas.select_model("my-ddpm") and canvas.select_model("my-ae")
    assert "shows reconstructions" in canvas.model_note.text()
    canvas.set_models([entry("gpt", GPT), entry("my-ddpm", DDPM)])
    assert canvas.view.currentWidget() is canvas.empty and canvas.controls.isHidden()
    assert canvas.empty_button.text() == "Train a detector…" and "normal images" in canvas.empty_label.text()
    answers.replies["open_folder"] = str(folder)
    with qtbot.waitSignal(canvas.train_detector, timeout=1000) as signal:
        qtbot.mouseClick(canvas.empty_button, Qt.MouseButton.LeftButton)
    assert signal.args == [str(folder)]
    canvas.set_models([entry("det", DETECTOR)])
    assert canvas.view.currentWidget() is canvas.work and canvas.pages.currentWidget() is canvas.start_page


def test_a_scan_fills_the_ranked_gallery_lists_bad_files_and_shows_the_worst_first(canvas, qtbot, folder):
    events = []
    canvas.busy.connect(events.append)
    result = scanned(qtbot, canvas, folder)
    gallery = canvas.gallery
    scores = [item.score for item in gallery.items]
    assert len(scores) == 8 and scores == sorted(scores, reverse=True)
    assert [Path(item.path).stem for item in gallery.items[:3]] == ["defect_2", "defect_1", "defect_0"]
    assert [gallery.ranks[id(item)] for item in gallery.items] == list(range(1, 9))
    assert canvas.pages.currentWidget() is canvas.results
    assert canvas.inspector.item is gallery.items[0] and canvas.inspector.title.text() == "defect_2.png"
    assert "rank 1 of 8" in canvas.inspector.facts.text() and "Flagged" in canvas.inspector.facts.text()
    # the bad files: listed with their reasons, in a list that opens
    assert not canvas.skipped.isHidden() and canvas.skipped.toggle.text() == "2 files skipped"
    assert canvas.skipped.list.isHidden()
    canvas.skipped.toggle.setChecked(True)
    reasons = [canvas.skipped.list.item(i).text() for i in range(canvas.skipped.list.count())]
    assert {r.split(" — ")[0] for r in reasons} == {"empty.png", "notes.jpg"} and all(" — " in r for r in reasons)
    # the split, the summary, the readout of the model's own threshold
    assert len(result.flagged) == 3 and canvas.histogram.counts() == (5, 3)
    assert "3 flagged" in canvas.summary.text() and "5 pass" in canvas.summary.text()
    assert canvas.threshold_panel.value_label.text() == "2"
    assert "chosen in training" in canvas.threshold_panel.how_label.text()
    assert not canvas.threshold_panel.save_button.isEnabled()  # nothing new to keep
    assert "Scanned 8 images" in canvas.progress_label.text()
    assert any(e.startswith("Scanning") for e in events) and events[-1] == ""
    assert canvas.gallery.filter_buttons["flagged"].text() == "Flagged 3"


def test_dragging_the_threshold_resplits_pass_and_flagged_live(canvas, qtbot, folder):
    result = scanned(qtbot, canvas, folder)
    histogram = canvas.histogram
    moved = []
    histogram.moved.connect(moved.append)
    histogram.line.setValue(1.15)  # as a drag does: sigPositionChanged for each move
    assert moved == [1.15]
    assert len(result.flagged) == 6 and len(result.passed) == 2 and histogram.counts() == (2, 6)
    assert canvas.gallery.filter_buttons["flagged"].text() == "Flagged 6"
    assert canvas.threshold_panel.value_label.text() == "1.15" and "not saved" in canvas.threshold_panel.how_label.text()
    histogram.line.sigPositionChangeFinished.emit(histogram.line)
    assert canvas.threshold_panel.save_button.isEnabled()
    canvas.gallery.set_filter("pass")
    shown = canvas.gallery.visible_items()
    assert [Path(i.path).stem for i in shown] == ["normal_1", "normal_0"] and all(i.verdict == "pass" for i in shown)
    assert canvas.inspector.item is shown[0]
    histogram.line.setValue(3.05)  # the filter follows the line
    qtbot.waitUntil(lambda: len(canvas.gallery.visible_items()) == 6, timeout=2000)
    assert canvas.gallery.filter_buttons["pass"].text() == "Pass 6"
    canvas.gallery.set_filter("all")
    # the same threshold judges the next scan of this model until it is saved or replaced
    result = scanned(qtbot, canvas, folder)
    assert result.threshold.value == 3.05 and len(result.flagged) == 2


def test_best_f1_from_marked_images_sets_the_threshold_that_separates_them(canvas, qtbot, folder):
    scanned(qtbot, canvas, folder)
    gallery, panel = canvas.gallery, canvas.threshold_panel
    assert not panel.f1_button.isEnabled()
    by_name = {Path(item.path).stem: item for item in gallery.items}
    gallery.list.setCurrentRow(gallery.row_of(by_name["defect_1"]))
    gallery.list.setFocus()
    qtbot.keyClick(gallery.list, Qt.Key.Key_A)  # A marks the selected image anomalous
    assert gallery.marks[by_name["defect_1"].path] == ANOMALOUS and canvas.inspector.mark_buttons[ANOMALOUS].isChecked()
    assert not panel.f1_button.isEnabled()  # one normal is needed too
    gallery.mark(ANOMALOUS, [by_name["normal_4"]])  # a "normal" the user thinks is off
    gallery.mark(NORMAL, [by_name["normal_0"], by_name["normal_1"], by_name["defect_0"]])
    assert panel.f1_button.isEnabled()
    assert len(canvas.histogram.marks.data) == 5
    qtbot.mouseClick(panel.f1_button, Qt.MouseButton.LeftButton)
    marked = [by_name[n] for n in ("defect_1", "normal_4", "normal_0", "normal_1", "defect_0")]
    expected = threshold_best_f1([i.score for i in marked], [1, 1, 0, 0, 0])
    assert canvas.result.threshold.value == pytest.approx(expected)
    assert canvas.histogram.line.value() == pytest.approx(expected) and canvas.histogram.threshold == expected
    assert "Best F1" in panel.how_label.text() and "5 marked images" in panel.how_label.text()
    assert panel.save_button.isEnabled()
    gallery.mark("", [by_name["normal_4"]])
    assert gallery.marks.get(by_name["normal_4"].path) is None


def test_a_threshold_from_normals_from_this_scan_or_a_folder(canvas, qtbot, answers, folder, tmp_path):
    result = scanned(qtbot, canvas, folder)
    canvas.threshold_panel.percentile_box.setValue(90.0)
    answers.replies["choose"] = "Every image in this scan is normal"
    canvas.threshold_from_normals()
    assert result.threshold.value == pytest.approx(threshold_from_normals(result.scores(), 90.0))
    assert "90th percentile of 8 images" in result.threshold.how
    calls = []

    def fake_calibrate(model, folder, device, percentile=99.0, store=None):
        calls.append((model, folder, percentile))
        yield Progress(1, 1, stage="scan")
        return Threshold(1.23, f"{percentile:g}th percentile of 5 normal images in good", "2026-01-01T00:00:00")

    canvas.run_calibrate = fake_calibrate
    answers.replies["choose"] = "Choose a folder…"
    answers.replies["open_folder"] = str(tmp_path)
    canvas.threshold_from_normals()
    finish(qtbot, canvas)
    assert calls == [("det", str(tmp_path), 90.0)]
    assert result.threshold.value == 1.23 and canvas.histogram.line.value() == 1.23
    assert "saved with the model 2026-01-01" in canvas.threshold_panel.how_label.text()
    assert not canvas.threshold_panel.save_button.isEnabled()
    # a bundled model's card cannot change: the folder is scored here and the threshold kept for the session
    canvas.select_model("starter-det")
    canvas.threshold_from_normals()  # no scan of this model yet: only the folder is offered
    finish(qtbot, canvas)
    assert canvas.run_inspect.requests[-1].folder == str(tmp_path) and not calls[1:]


def test_save_threshold_round_trips_through_the_store_and_a_bundled_model_refuses(qtbot, answers, tmp_path, folder):
    from genstudio.ui.canvases.anomaly import AnomalyCanvas
    from genstudio.ui.settings import Settings
    from tests.util import save_tiny_model

    save_tiny_model("feature-detector", "packaged", ModelStore(root=tmp_path / "bundled"))
    store = ModelStore(root=tmp_path / "models", bundled=tmp_path / "bundled")
    save_tiny_model("feature-detector", "mine", store)
    canvas = AnomalyCanvas(Settings(), store)
    qtbot.addWidget(canvas)
    canvas.run_inspect = FakeInspect(threshold=None)
    canvas.set_models([(info, DETECTOR) for info in store.list()[0]])
    assert canvas.select_model("mine")
    result = scanned(qtbot, canvas, folder)
    assert result.threshold is None and canvas.threshold_panel.value_label.text() == "none yet"
    assert "no threshold yet" in canvas.summary.text()
    canvas.histogram.line.setValue(2.5)
    assert canvas.save_threshold()
    saved = load_threshold("mine", store)
    assert saved.value == 2.5 and saved.how == "set by hand on the histogram" and saved.saved
    assert "saved with the model" in canvas.threshold_panel.how_label.text()
    assert not canvas.threshold_panel.save_button.isEnabled()
    canvas.select_model("packaged")
    assert "bundled" in canvas.model_note.text()
    scanned(qtbot, canvas, folder)
    canvas.histogram.line.setValue(1.5)
    assert not canvas.save_threshold()
    assert answers.warnings and "bundled model" in answers.warnings[-1][1]
    assert load_threshold("packaged", store) is None


def test_exports_write_reports_whose_rows_follow_the_gallery(canvas, qtbot, answers, folder, tmp_path):
    scanned(qtbot, canvas, folder)
    order = [item.path for item in canvas.gallery.items]
    answers.replies["save_file"] = str(tmp_path / "report")  # no extension typed: .csv is added
    path = canvas.report.export("csv")
    assert path == tmp_path / "report.csv"
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"] for r in rows] == order and [r["rank"] for r in rows] == [str(i) for i in range(1, 9)]
    assert rows[0]["verdict"] == "flagged" and rows[-1]["verdict"] == "pass" and rows[0]["model"] == "det"
    assert all(float(r["threshold"]) == 2.0 for r in rows)
    answers.replies["save_file"] = str(tmp_path / "report.json")
    data = json.loads(canvas.report.export("json").read_text(encoding="utf-8"))
    assert [r["file"] for r in data["images"]] == order and data["counts"]["skipped"] == 2
    assert data["counts"]["flagged"] == 3 and {Path(s["file"]).name for s in data["skipped"]} == {"empty.png",
                                                                                                    "notes.jpg"}
    heat = tmp_path / "heat"
    answers.replies["open_folder"] = str(heat)
    canvas.report.export("heatmaps")
    qtbot.waitUntil(lambda: "heatmap PNGs" in canvas.progress_label.text(), timeout=60_000)
    written = sorted(p.name for p in heat.glob("*.png"))
    assert len(written) == 8 and written[0] == "0001_defect_2.png"


def test_stop_cancels_mid_scan_and_keeps_the_partial_result(canvas, qtbot, folder):
    canvas.run_inspect = FakeInspect(delay=0.15)
    canvas.scan(folder=str(folder))
    assert canvas.progress.isVisible() and canvas.stop_button.isEnabled() and not canvas.scan_button.isEnabled()
    qtbot.waitUntil(lambda: canvas.progress.value() >= 2, timeout=10_000)
    assert canvas.progress.maximum() == 10 and "Esc stops" in canvas.progress_label.text()
    qtbot.keyClick(canvas.gallery.list, Qt.Key.Key_Escape)
    finish(qtbot, canvas)
    result = canvas.result
    assert result.cancelled and 0 < len(result.items) < 8
    assert len(canvas.gallery.items) == len(result.items) and "stopped early" in canvas.summary.text()
    assert canvas.progress_label.text().startswith("Stopped")
    assert canvas.scan_button.isEnabled() and not canvas.progress.isVisible()


def test_dropped_folders_and_files_are_scanned(canvas, qtbot, folder):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(folder / "normal_0.png")), QUrl.fromLocalFile(str(folder / "sub"))])
    canvas.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime, Qt.MouseButton.NoButton,
                                Qt.KeyboardModifier.NoModifier))
    finish(qtbot, canvas)
    request = canvas.run_inspect.requests[-1]
    assert request.folder == str(folder / "sub") and request.files == [str(folder / "normal_0.png")]
    assert len(canvas.gallery.items) == 4


def test_the_view_shows_reconstructions_side_by_side_and_remembers_its_choices(canvas, qtbot, folder):
    from genstudio.ui.canvases.anomaly import AnomalyCanvas

    canvas.select_model("my-ae")
    canvas.run_inspect = FakeInspect(reconstruct=True)
    scanned(qtbot, canvas, folder)
    view = canvas.inspector
    view.set_mode("side")
    assert [c.text() for c in view.panel_captions] == ["Image", "Reconstruction", "Difference |x − x̂|"]
    assert not view.panels[1].source.isNull()
    before = canvas.gallery.thumbnail(0).toImage()
    view.set_opacity(0.9)
    assert canvas.gallery.opacity == 0.9 and canvas.gallery.thumbnail(0).toImage() != before
    canvas.save_choices()
    again = AnomalyCanvas(canvas.settings)
    qtbot.addWidget(again)
    assert again.inspector.opacity == 0.9 and again.inspector.mode == "side"


def test_images_from_the_generate_canvas_arrive_and_get_scanned(window, qtbot, tmp_path):
    from tests.util import save_tiny_model

    save_tiny_model("feature-detector", "checker", ModelStore())
    window.refresh_library()
    anomaly, generate = window.anomaly, window.generate
    assert anomaly.model_box.findData("checker") >= 0 and generate.model_box.findData("checker") < 0
    window.library.use_model.emit("checker")  # Library ▸ Use: a detector opens the Anomaly canvas
    assert window.stack.currentWidget() is anomaly
    anomaly.run_inspect = FakeInspect()
    images = np.stack([np.full((SIZE, SIZE, 3), 40 * i, np.uint8) for i in range(4)])
    generate.grid.show_result(images, [{"model": "starter-emoji", "seed": 10 + i} for i in range(4)])
    window.show_canvas("Generate")
    assert not generate.inspect_button.isHidden()
    qtbot.mouseClick(generate.inspect_button, Qt.MouseButton.LeftButton)
    assert window.stack.currentWidget() is anomaly
    finish(qtbot, anomaly)
    request = anomaly.run_inspect.requests[-1]
    assert request.model == "checker" and len(request.images) == 4
    assert request.names == [f"starter-emoji-seed{10 + i}" for i in range(4)]
    assert {item.path for item in anomaly.gallery.items} == set(request.names)
    assert "4 generated images" in anomaly.summary.text()
    # Train a detector…: the Train canvas, a detector architecture, the folder being checked
    anomaly.train_detector.emit(str(tmp_path))
    assert window.stack.currentWidget() is window.train
    assert window.train.arch_box.currentData() == "feature-detector"
    assert window.train.images.folder() == str(tmp_path)


def test_a_real_tiny_detector_flags_planted_defects_with_heat_on_them(qtbot, answers, tmp_path):
    """No fakes: a feature detector trained here, scanned through the canvas's own worker."""
    import torch

    from genstudio.core import config as configlib
    from genstudio.core.store import new_card
    from genstudio.ui.canvases.anomaly import AnomalyCanvas
    from genstudio.ui.settings import Settings
    from tests.models.test_detector import plant_squares, stripes, tiny_config, train_detector

    torch.set_num_threads(1)
    model = train_detector(tiny_config(), stripes(32, seed=0), steps=15)
    model.set_trained_threshold(torch.from_numpy(stripes(8, seed=11)).permute(0, 3, 1, 2).float() / 127.5 - 1)
    store = ModelStore(tmp_path / "models", bundled=tmp_path / "bundled")
    store.save(new_card("stripes", "feature-detector", configlib.to_dict(model.config), steps=15), model.state_dict())
    root = tmp_path / "mixed"
    root.mkdir()
    defects, boxes = plant_squares(stripes(2, seed=2), seed=3)
    for i, img in enumerate(stripes(4, seed=1)):
        Image.fromarray(img[..., 0]).save(root / f"normal_{i}.png")
    for i, img in enumerate(defects):
        Image.fromarray(img[..., 0]).save(root / f"defect_{i}.png")
    (root / "broken.png").write_bytes(b"\x89PNG nope")
    canvas = AnomalyCanvas(Settings(), store)
    qtbot.addWidget(canvas)
    from genstudio.core.registry import get

    canvas.set_models([(info, get(info.arch)) for info in store.list()[0]])
    assert canvas.scan(folder=str(root))
    qtbot.waitUntil(lambda: canvas.worker is None, timeout=120_000)
    items = canvas.gallery.items
    assert not answers.warnings and len(items) == 6 and canvas.skipped.toggle.text() == "1 file skipped"
    assert {Path(i.path).stem for i in items[:2]} == {"defect_0", "defect_1"}
    assert {Path(i.path).stem for i in canvas.result.flagged} >= {"defect_0", "defect_1"}
    for item in items[:2]:
        y0, x0, y1, x1 = boxes[int(Path(item.path).stem[-1])]
        hot_y, hot_x = np.unravel_index(np.argmax(item.heatmap), item.heatmap.shape)
        assert y0 - 4 <= hot_y < y1 + 4 and x0 - 4 <= hot_x < x1 + 4
