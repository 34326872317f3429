"""`genstudio inspect`: a ranked table, the flagged count, bad files listed, reports written, exit 0."""

from __future__ import annotations

import csv
import json

import pytest
import torch

from genstudio.cli import main
from genstudio.core import config as configlib
from genstudio.core.store import ModelStore, new_card
from tests.models.test_detector import stripes, tiny_config, train_detector
from tests.tasks.test_inspect import folder  # noqa: F401 - the scanned folder fixture


@pytest.fixture
def detector():
    torch.set_num_threads(1)
    model = train_detector(tiny_config(), stripes(32, seed=0), steps=10)
    model.set_trained_threshold(torch.from_numpy(stripes(8, seed=11)).permute(0, 3, 1, 2).float() / 127.5 - 1)
    ModelStore().save(new_card("det", "feature-detector", configlib.to_dict(model.config), steps=10),
                      model.state_dict())
    return "det"


def test_inspect_prints_a_ranked_table_and_writes_the_reports(detector, folder, tmp_path, capsys):  # noqa: F811
    out = tmp_path / "out"
    code = main(["inspect", "--model", detector, str(folder), "--report", str(out / "r.csv"), "--json",
                 str(out / "r.json"), "--heatmaps", str(out / "heat"), "--device", "cpu", "--threads", "1"])
    captured = capsys.readouterr()
    assert code == 0
    lines = captured.out.splitlines()
    assert lines[0].split() == ["rank", "score", "verdict", "file"]
    table = [line.split() for line in lines[1:10]]
    assert [row[0] for row in table] == [str(i) for i in range(1, 10)]
    assert all(row[3].startswith("sub/defect") for row in table[:3]) and table[0][2] == "flagged"
    summary = next(line for line in lines if "flagged (score >" in line)
    assert summary.startswith("3 of 9 image(s) flagged") and "held-out" in summary
    assert "Skipped 3 file(s)" in captured.err and "empty.png: empty file" in captured.err
    with open(out / "r.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"].split("/")[-1] for r in rows][:3] == [row[3].split("/")[-1] for row in table[:3]]
    assert len(json.loads((out / "r.json").read_text())["images"]) == 9
    assert len(list((out / "heat").glob("*.png"))) == 9


def test_a_given_threshold_flags_everything_above_it(detector, folder, capsys):  # noqa: F811
    assert main(["inspect", "-m", detector, str(folder), "--threshold", "0", "--top", "2", "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "... and 7 more" in out and "9 of 9 image(s) flagged (score > 0; given for this scan)" in out


def test_a_missing_model_or_folder_is_one_line(detector, tmp_path, capsys):
    assert main(["inspect", "--model", "nope", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("error: No model named 'nope'")
    assert main(["inspect", "--model", detector, str(tmp_path / "missing"), "--device", "cpu"]) == 1
    assert "does not exist" in capsys.readouterr().err
