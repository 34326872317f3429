"""The `genstudio` command: architecture listing and library commands."""

from __future__ import annotations

import json
import subprocess
import sys

from genstudio.cli import main
from genstudio.core.registry import specs


def test_archs_json_lists_every_spec(capsys):
    assert main(["archs", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["name"] for r in rows] == [s.name for s in specs()]
    for row in rows:
        assert set(row) == {"name", "family", "modality", "capabilities"}
        assert isinstance(row["capabilities"], list)


def test_archs_table(capsys):
    assert main(["archs"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["name", "family", "modality"]
    assert any(line.startswith("ddpm ") for line in out)


def test_user_errors_are_one_line_not_tracebacks(capsys):
    assert main(["generate", "--model", "no-such-model", "-o", "x.png"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: No model named 'no-such-model'") and "Traceback" not in err


def test_console_script_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "genstudio.cli", "archs"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0 and "ddpm" in proc.stdout


def test_models_lists_bundled_starter(capsys):
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert any(r["name"] == "starter-emoji" and r["bundled"] for r in rows)


def test_generate_a_named_class_and_a_prompt(tmp_path, capsys):
    from PIL import Image

    from genstudio.tasks.images import read_png_params
    from tests.util import save_tiny_model

    save_tiny_model("ddpm", "pets", classes=("cats", "dogs"))
    out = tmp_path / "dogs.png"
    assert main(["generate", "--model", "pets", "-n", "2", "--steps", "2", "--class", "dogs", "--guidance", "2",
                 "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "image 0 (seed 0): dogs" in printed and "image 1 (seed 1): dogs" in printed
    params = read_png_params(out)
    assert params["label"] == 1 and params["guidance"] == 2.0 and Image.open(out).size[0] > 32
    assert main(["generate", "--model", "pets", "--class", "birds", "-o", str(out)]) == 1
    assert "no class 'birds'" in capsys.readouterr().err

    save_tiny_model("latent-diffusion", "shapes", vocab=("red", "circle"))
    assert main(["generate", "--model", "shapes", "-n", "1", "--steps", "2", "--prompt", "a red star",
                 "--negative-prompt", "blue", "-o", str(tmp_path / "red.png")]) == 0
    assert "not in this model's vocabulary (ignored): a, star" in capsys.readouterr().err
    params = read_png_params(tmp_path / "red.png")
    assert params["prompt"] == "a red star" and params["negative_prompt"] == "blue" and "label" not in params
