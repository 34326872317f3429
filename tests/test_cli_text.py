"""`genstudio generate` with a text model and `genstudio infill`: streaming, files, byte-for-byte gaps."""

from __future__ import annotations

import torch

from genstudio import cli
from genstudio.cli import main
from genstudio.core.events import drive
from genstudio.core.store import ModelStore
from genstudio.tasks.write import WriteRequest, continue_text
from tests.tasks.test_write import save_text_model


def test_generate_streams_text_and_writes_the_file(tmp_path, capsys):
    save_text_model(ModelStore())
    out = tmp_path / "story.txt"
    assert main(["generate", "--model", "writer", "--prompt", "The quick", "--max-tokens", "30", "--seed", "2",
                 "--temperature", "0.9", "--top-k", "20", "--top-p", "0.9", "--repetition-penalty", "1.2",
                 "-o", str(out)]) == 0
    captured = capsys.readouterr()
    expected = drive(continue_text(WriteRequest("writer", prompt="The quick", max_tokens=30, seed=2, temperature=0.9,
                                                top_k=20, top_p=0.9, repetition_penalty=1.2), torch.device("cpu")))
    assert out.read_text(encoding="utf-8") == "The quick" + expected.text
    assert captured.out == "The quick" + expected.text + "\n"
    assert f"{expected.tokens} tokens in" in captured.err


def test_generate_stops_at_a_stop_sequence(tmp_path, capsys):
    save_text_model(ModelStore())
    base = ["generate", "--model", "writer", "--prompt", "The", "--max-tokens", "60", "--temperature", "0"]
    assert main(base) == 0
    free = capsys.readouterr().out[len("The"):-1]
    stop = free[25:28]
    assert main([*base, "--stop", "zzz-absent", "--stop", stop]) == 0
    captured = capsys.readouterr()
    assert captured.out == "The" + free[:free.find(stop)] + "\n" and "stop sequence" in captured.err


def test_image_flags_on_a_text_model_and_text_flags_on_an_image_model_are_refused(capsys):
    from tests.util import save_tiny_model

    save_text_model(ModelStore(), steps=0)
    save_tiny_model("ddpm", "painter")
    assert main(["generate", "--model", "writer", "-n", "4", "--steps", "3"]) == 1
    assert "-n, --steps are for image models" in capsys.readouterr().err
    assert main(["generate", "--model", "painter", "--max-tokens", "5"]) == 1
    assert "--max-tokens is for text models" in capsys.readouterr().err


def test_ctrl_c_keeps_the_text_written_so_far(tmp_path, capsys, monkeypatch):
    save_text_model(ModelStore())
    calls = []

    def interrupted_echo(text):
        calls.append(text)
        if len(calls) == 4:  # the prompt, then three chunks
            raise KeyboardInterrupt

    monkeypatch.setattr(cli, "echo", interrupted_echo)
    out = tmp_path / "partial.txt"
    assert main(["generate", "--model", "writer", "--prompt", "The", "--max-tokens", "50", "-o", str(out)]) == 130
    assert out.read_text(encoding="utf-8") == "".join(calls) and len(calls) == 4


def test_infill_files_keep_the_text_around_the_gap_byte_for_byte(tmp_path, capsys):
    save_text_model(ModelStore(), arch="infill", name="filler")
    before = "\ufeffThe quick brown \r\n\tfox "  # a BOM, CRLF, a tab, trailing space: all must survive
    after = "  over the lazy dog 🎉\r\n\r\n"
    (tmp_path / "before.txt").write_bytes(before.encode("utf-8"))
    (tmp_path / "after.txt").write_bytes(after.encode("utf-8"))
    out = tmp_path / "filled.txt"
    assert main(["infill", "--model", "filler", "--before-file", str(tmp_path / "before.txt"),
                 "--after-file", str(tmp_path / "after.txt"), "-n", "2", "--max-tokens", "10", "--seed", "4",
                 "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "--- alternative 1 (seed 4) ---" in printed and "--- alternative 2 (seed 5) ---" in printed
    for i in (1, 2):
        data = (tmp_path / f"filled-{i}.txt").read_bytes()
        head, tail = before.encode("utf-8"), after.encode("utf-8")
        assert data.startswith(head) and data.endswith(tail) and len(data) >= len(head) + len(tail)
        middle = data[len(head):len(data) - len(tail)].decode("utf-8")
        assert middle in printed  # the middle shown is the middle written


def test_infill_refusals(tmp_path, capsys):
    save_text_model(ModelStore(), steps=0)
    save_text_model(ModelStore(), arch="infill", name="filler", steps=0)
    (tmp_path / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    cases = [
        (["--model", "writer", "--before", "a", "--after", "b"], "not trained to fill gaps"),
        (["--model", "filler", "--before", "a", "--before-file", "x.txt"], "not both"),
        (["--model", "filler", "--before-file", str(tmp_path / "latin1.txt")], "not UTF-8"),
        (["--model", "filler", "--before-file", str(tmp_path / "missing.txt")], "No such file"),
        (["--model", "filler", "--before", "a", "-n", "9"], "alternatives"),
    ]
    for args, message in cases:
        assert main(["infill", *args]) == 1
        assert message in capsys.readouterr().err
