"""The inspect task: a ranked scan with heatmaps, bad files listed, cancel; thresholds (percentile, best
F1, saved in the card, trained in the weights); CSV, JSON and heatmap reports that match the list."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from genstudio.core import config as configlib
from genstudio.core.errors import GenStudioError, ModelFileError
from genstudio.core.events import Progress, drive
from genstudio.core.store import ModelStore, new_card
from genstudio.tasks.inspect import (
    FLAGGED,
    PASS,
    InspectRequest,
    Threshold,
    calibrate,
    comparison,
    f1_at,
    inspect,
    load_threshold,
    save_threshold,
    threshold_best_f1,
    threshold_from_normals,
    write_csv,
    write_heatmaps,
    write_json,
)
from tests.models.test_detector import plant_squares, stripes, tiny_config, train_detector
from tests.util import save_tiny_model


@pytest.fixture(scope="module")
def detector_state():
    torch.set_num_threads(1)
    model = train_detector(tiny_config(), stripes(48, seed=0))
    model.set_trained_threshold(torch.from_numpy(stripes(8, seed=11)).permute(0, 3, 1, 2).float() / 127.5 - 1)
    return configlib.to_dict(model.config), model.state_dict()


@pytest.fixture
def store(tmp_path, detector_state):
    store = ModelStore(tmp_path / "models", bundled=tmp_path / "bundled")
    config, state = detector_state
    store.save(new_card("det", "feature-detector", config, steps=25), state)
    return store


@pytest.fixture
def folder(tmp_path):
    """6 normal stripes, 3 with a planted square, and three bad files."""
    root = tmp_path / "scan"
    (root / "sub").mkdir(parents=True)
    defects, _ = plant_squares(stripes(3, seed=2), seed=3)
    for i, img in enumerate(stripes(6, seed=1)):
        Image.fromarray(img[..., 0]).save(root / f"normal_{i}.png")
    for i, img in enumerate(defects):
        Image.fromarray(img[..., 0]).save(root / "sub" / f"defect_{i}.png")
    (root / "empty.png").write_bytes(b"")
    (root / "notes.jpg").write_text("not a picture")
    (root / "folder.png").mkdir()
    return root


def test_a_scan_ranks_planted_defects_first_lists_bad_files_and_reports_progress(store, folder):
    events = []
    result = drive(inspect(InspectRequest("det", folder=str(folder), batch=4), "cpu", store), events.append)
    assert len(result.items) == 9 and {s.path.split("/")[-1] for s in result.skipped} == {
        "empty.png", "notes.jpg", "folder.png"}
    assert all(s.reason for s in result.skipped)
    assert [item.path.split("/")[-1][:6] for item in result.ranked()[:3]] == ["defect"] * 3
    steps = [e.step for e in events if isinstance(e, Progress)]
    assert steps[0] == 0 and steps == sorted(steps) and steps[-1] == events[-1].total == 11  # 9 + empty + notes
    item = result.items[0]
    assert item.heatmap.shape == (32, 32) and item.heatmap.dtype == np.float32 and item.image.shape == (32, 32, 1)
    assert item.reconstruction is None  # a detector has no reconstruction
    heat = result.heatmap01(item)
    assert heat.min() >= 0 and heat.max() <= 1
    # the trained threshold (from the weights) judges the scan: the defects are flagged, no normal is
    assert result.threshold is not None and "held-out" in result.threshold.how
    assert {i.path.split("/")[-1][:6] for i in result.flagged} == {"defect"}
    assert len(result.passed) == 6


def test_thresholds_from_normals_and_from_marked_examples():
    assert threshold_from_normals(np.arange(101.0), 99) == pytest.approx(99.0)
    assert threshold_from_normals([3.0], 50) == 3.0
    with pytest.raises(GenStudioError):
        threshold_from_normals([], 99)
    scores = np.array([0.1, 0.2, 0.3, 0.9, 0.35, 0.8])
    labels = np.array([0, 0, 0, 1, 0, 1])
    t = threshold_best_f1(scores, labels)
    assert t == pytest.approx((0.8 + 0.35) / 2) and f1_at(scores, labels, t) == 1.0
    # overlapping: flagging {0.9, 0.8, 0.5} catches 2 of 3 with one false alarm (F1 2/3); flagging all six
    # ties (3 of 3, three false alarms) but flags more; the top two alone give 0.4
    scores = np.array([0.9, 0.8, 0.5, 0.4, 0.3, 0.2])
    labels = np.array([0, 1, 1, 0, 0, 1])
    assert threshold_best_f1(scores, labels) == pytest.approx(0.45)
    assert threshold_best_f1([1.0, 2.0], [1, 1]) < 1.0  # all marked anomalous: flag everything
    with pytest.raises(GenStudioError):
        threshold_best_f1([1.0, 2.0], [0, 0])


def test_a_threshold_round_trips_through_the_card_and_the_model_still_loads(store, detector_state):
    trained = load_threshold("det", store)
    assert trained is not None and trained.value == pytest.approx(float(detector_state[1]["trained_threshold"]))
    saved = save_threshold("det", 1.25, "best F1 (1.00) on 8 marked images", store)
    again = load_threshold("det", store)
    assert again == saved and again.value == 1.25 and again.how.startswith("best F1") and again.saved
    card, _ = store.load("det")  # hash and tensors still check out
    assert card["threshold"]["value"] == 1.25
    assert not [p for p in store.root.joinpath("det").iterdir() if p.name.startswith(".")]  # no temp files left
    with pytest.raises(GenStudioError):
        save_threshold("det", float("nan"), "x", store)


def test_bundled_models_keep_their_threshold(tmp_path, detector_state):
    config, state = detector_state
    bundled = ModelStore(tmp_path / "bundled-root")
    bundled.save(new_card("shipped", "feature-detector", config, steps=1), state)
    store = ModelStore(tmp_path / "user", bundled=tmp_path / "bundled-root")
    with pytest.raises(ModelFileError, match="bundled"):
        save_threshold("shipped", 1.0, "by hand", store)


def test_a_given_threshold_and_moving_it_rejudge_the_scan(store, folder):
    result = drive(inspect(InspectRequest("det", folder=str(folder), threshold=-1.0), "cpu", store))
    assert result.threshold.how == "given for this scan" and len(result.flagged) == 9
    result.apply_threshold(max(result.scores()) + 1)
    assert result.flagged == [] and all(i.verdict == PASS for i in result.items)
    result.apply_threshold(None)
    assert all(i.flagged is None for i in result.items)


def test_reports_parse_and_match_the_ranked_list(store, folder, tmp_path):
    result = drive(inspect(InspectRequest("det", folder=str(folder)), "cpu", store))
    csv_path = write_csv(result, tmp_path / "out" / "report.csv")
    json_path = write_json(result, tmp_path / "out" / "report.json")
    with open(csv_path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    ranked = result.ranked()
    assert [r["file"] for r in rows] == [i.path for i in ranked]
    assert [float(r["score"]) for r in rows] == [i.score for i in ranked]
    assert [r["verdict"] for r in rows] == [i.verdict for i in ranked] and rows[0]["verdict"] == FLAGGED
    assert {r["model"] for r in rows} == {"det"} and float(rows[0]["threshold"]) == result.threshold.value
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert [(r["file"], r["score"], r["verdict"]) for r in data["images"]] == [(i.path, i.score, i.verdict)
                                                                              for i in ranked]
    assert data["threshold"] == result.threshold.value and data["counts"]["flagged"] == len(result.flagged)
    assert len(data["skipped"]) == 3 and data["model"] == "det" and data["arch"] == "feature-detector"
    pngs = write_heatmaps(result, tmp_path / "heat", size=64)
    assert [p.name[:4] for p in pngs] == [f"{i:04d}" for i in range(1, 10)] and "defect" in pngs[0].name
    with Image.open(pngs[0]) as img:
        assert img.size == (64, 64) and img.mode == "RGB"
    strips = write_heatmaps(result, tmp_path / "strips", size=32, side_by_side=True)
    with Image.open(strips[0]) as img:
        assert img.size == (96, 32)
    assert not list((tmp_path / "out").glob(".*"))  # atomic: no temporary files left


def test_cancel_stops_between_images(store, folder):
    asked = []

    def stop_after_three():
        asked.append(1)
        return len(asked) > 3

    result = drive(inspect(InspectRequest("det", folder=str(folder), batch=1), "cpu", store, should_stop=stop_after_three))
    assert result.cancelled and len(result.items) + len(result.skipped) - 1 <= 3  # folder.png is skipped by the scan
    gen = inspect(InspectRequest("det", folder=str(folder), batch=1), "cpu", store)
    assert next(gen).step == 0 and next(gen).step == 1
    gen.close()  # a worker that stops iterating stops the scan


def test_images_in_memory_and_an_autoencoder_with_reconstructions(tmp_path):
    store = ModelStore(tmp_path / "models", bundled=tmp_path / "none")
    save_tiny_model("ae", "ae-model", store=store)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (40, 40, 3), dtype=np.uint8), rng.integers(0, 256, (28, 28, 1), dtype=np.uint8)]
    result = drive(inspect(InspectRequest("ae-model", images=images, names=["first"]), "cpu", store))
    assert [i.path for i in result.items] == ["first", "generated_001"] and result.threshold is None
    assert all(i.reconstruction.shape == (28, 28, 1) and i.verdict == "no threshold" for i in result.items)
    assert comparison(result, result.items[0]).shape == (28, 84, 3)
    bad = drive(inspect(InspectRequest("ae-model", images=[np.zeros((4, 4, 2), np.uint8)]), "cpu", store))
    assert bad.items == [] and "not an H×W×3 image" in bad.skipped[0].reason


def test_calibrate_saves_a_percentile_of_a_normal_folder(tmp_path, folder):
    store = ModelStore(tmp_path / "models", bundled=tmp_path / "none")
    save_tiny_model("ae", "ae-model", store=store)
    normals = tmp_path / "normals"
    normals.mkdir()
    for i, img in enumerate(stripes(5, seed=4)):
        Image.fromarray(img[..., 0]).save(normals / f"n{i}.png")
    saved = drive(calibrate("ae-model", str(normals), "cpu", percentile=80, store=store))
    assert isinstance(saved, Threshold) and load_threshold("ae-model", store) == saved and "80th" in saved.how


def test_models_that_cannot_inspect_and_empty_requests_are_refused(tmp_path, store):
    other = ModelStore(tmp_path / "other", bundled=tmp_path / "none")
    save_tiny_model("ddpm", "gen", store=other)
    with pytest.raises(GenStudioError, match="cannot inspect"):
        drive(inspect(InspectRequest("gen", images=[np.zeros((8, 8, 3), np.uint8)]), "cpu", other))
    with pytest.raises(GenStudioError, match="nothing to inspect"):
        drive(inspect(InspectRequest("det"), "cpu", store))
    with pytest.raises(GenStudioError, match="does not exist"):
        drive(inspect(InspectRequest("det", folder=str(tmp_path / "nope")), "cpu", store))


def test_a_freshly_trained_detector_has_its_bank_and_a_threshold(tmp_path, genstudio_home):
    from genstudio.tasks.generate import load_model
    from tests.trainers.test_loop import train_in_process
    from tests.util import make_image_folder

    data = make_image_folder(tmp_path / "data", n=10)
    code, events = train_in_process(genstudio_home, ["feature-detector", "--preset", "tiny", "--device", "cpu",
                                                     "--data", str(data), "--name", "fresh", "--steps", "4"])
    assert code == 0, [e for e in events if e.type == "failed"]
    assert any(e.type == "log" and "held out to choose the threshold" in e.message for e in events)
    _, model = load_model("fresh", "cpu")
    assert model.is_fitted and int(model.held_out_count) == 1
    threshold = load_threshold("fresh")
    assert threshold is not None and threshold.value == pytest.approx(model.trained_threshold_value)
    assert "99th percentile of 1 held-out" in threshold.how
