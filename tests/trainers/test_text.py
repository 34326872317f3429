"""The text trainer: a folder of writing becomes a GPT through the one loop, with validation loss,
text previews, an exact resume, and bad folders reported."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from genstudio.core.events import Preview, from_json, to_json
from genstudio.core.registry import get
from genstudio.core.store import ModelStore
from genstudio.models.tokenizer import UNK_ID, tokenizer_from_json
from tests.trainers.test_loop import tensors_equal, train_in_process
from trainers import text as textlib

WORDS = ("the sea was grey and quiet under a low sky while gulls turned over the harbour wall "
         "she wrote slowly of rain and salt and the long light of evening").split()


def make_text_folder(folder: Path, files: int = 3, chars: int = 1500, seed: int = 0) -> Path:
    """``files`` UTF-8 files of made-up sentences from a small vocabulary (learnable, not random)."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        lines = []
        while sum(map(len, lines)) < chars:
            words = [rng.choice(WORDS) for _ in range(rng.randint(4, 12))]
            lines.append(" ".join(words).capitalize() + rng.choice(".!?") + "\n")
        (folder / f"chapter_{i:02d}.txt").write_text("".join(lines), encoding="utf-8")
    return folder


def tiny(arch="gpt", *extra):
    return [arch, "--preset", "tiny", "--device", "cpu", *extra]


def metrics_of(home: Path, name: str) -> list[dict]:
    return [json.loads(line) for line in (home / "runs" / name / "metrics.jsonl").read_text().splitlines()]


@pytest.mark.parametrize("tokenizer", ["char", "bpe"])
def test_a_few_steps_train_with_validation_loss_and_text_previews(tmp_path, tokenizer):
    data = make_text_folder(tmp_path / "texts")
    (data / "last.txt").write_text("Zebra jumps.\n" * 20)  # only in the held-out last 10%
    home = tmp_path / "home"
    code, events = train_in_process(home, tiny("gpt", "--data", str(data), "--name", "m", "--tokenizer", tokenizer,
                                               "--steps", "8", "--preview-every", "4", "--config",
                                               str(write_config(tmp_path, eval_every=3))))
    assert code == 0, [e for e in events if e.type == "failed"]
    assert [m["step"] for m in metrics_of(home, "m") if "val_loss" in m] == [3, 6, 8]  # every 3 and the last
    val = [e for e in events if e.type == "progress" and "val_loss" in e.metrics]
    assert [e.step for e in val] == [3, 6, 8] and all(e.metrics["val_loss"] > 0 for e in val)
    assert [e.message for e in events if e.type == "log" and "val loss" in e.message][0].startswith("step 3: val loss ")
    previews = [e for e in events if e.type == "preview"]
    prompt = textlib.preview_prompt((data / "chapter_00.txt").read_text(encoding="utf-8"))
    assert [p.step for p in previews] == [4, 8] and all(p.text.startswith(prompt) for p in previews)
    assert Path(previews[0].path).read_text(encoding="utf-8") == previews[0].text
    card, tensors = ModelStore().load("m")
    data_summary = card["data"]
    assert data_summary["files"] == 4 and data_summary["tokenizer"] == tokenizer
    assert data_summary["train_tokens"] + data_summary["val_tokens"] == data_summary["tokens"]
    assert data_summary["vocab_size"] == card["config"]["vocab_size"] == tensors["tok_emb.weight"].shape[0]
    assert card["metrics"]["val_loss"] > 0 and card["sample_text"]
    assert not (home / "models" / "m" / "samples.png").exists()
    tok = tokenizer_from_json(card["config"]["tokenizer"])
    assert tok.kind == tokenizer
    if tokenizer == "char":  # fitted on the training split only: the held-out words' letters are unknown
        assert not set("Zjm") & set(tok.chars) and UNK_ID in tok.encode("Zebra")
    assert tok.decode(tok.encode("the sea was grey")) == "the sea was grey"


def write_config(folder: Path, **train) -> Path:
    path = folder / "settings.toml"
    path.write_text("[train]\n" + "".join(f"{k} = {v}\n" for k, v in train.items()))
    return path


@pytest.mark.parametrize("arch", ["gpt", "infill"])
def test_stop_and_resume_equals_an_uninterrupted_run(tmp_path, arch):
    """Windows come from the DataStream's offsets and FIM cuts from the run's generator; validation and
    previews draw nothing from either."""
    data = make_text_folder(tmp_path / "texts")
    args = tiny(arch, "--data", str(data), "--steps", "12", "--preview-every", "5", "--name", "run")
    assert train_in_process(tmp_path / "a", args)[0] == 0
    code, events = train_in_process(tmp_path / "b", args, stop_at=7)
    assert code == 0 and events[-1].stopped and events[-1].steps == 7
    code, events = train_in_process(tmp_path / "b", tiny(arch, "--name", "run", "--resume"))
    assert code == 0 and events[-1].steps == 12
    for part in ("runs/run/checkpoint/tensors.safetensors", "models/run/weights.safetensors"):
        assert tensors_equal(load_file(tmp_path / "a" / part), load_file(tmp_path / "b" / part)), part
    assert metrics_of(tmp_path / "a", "run") == metrics_of(tmp_path / "b", "run")  # val_loss included


def test_a_folder_with_nothing_readable_is_a_clear_failure(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.txt").write_bytes(b"")
    (bad / "blob.md").write_bytes(bytes(range(256)))
    code, events = train_in_process(tmp_path / "home", tiny("gpt", "--data", str(bad), "--name", "m"))
    assert code == 1 and events[-1].type == "failed"
    message = events[-1].message
    assert "has no usable text files" in message and "empty.txt: empty file" in message and "blob.md: binary" in message


def test_bad_files_are_listed_and_the_rest_trains(tmp_path):
    data = make_text_folder(tmp_path / "texts", files=2)
    (data / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (data / "old_letter.txt").write_bytes("Chère amie, à bientôt.\n".encode("latin-1") * 10)
    home = tmp_path / "home"
    code, events = train_in_process(home, tiny("gpt", "--data", str(data), "--name", "m", "--steps", "2"))
    assert code == 0
    report = next(e.message for e in events if e.type == "log" and e.message.startswith("Text folder"))
    assert "4 text file(s) found, 3 usable, 1 skipped" in report
    assert "photo.txt: binary file: a PNG image" in report and "read as Latin-1" in report
    saved = json.loads((home / "runs" / "m" / "dataset_report.json").read_text(encoding="utf-8"))
    assert saved["files"] == 3 and saved["encodings"] == {"Latin-1": 1, "UTF-8": 2}
    assert [Path(s["path"]).name for s in saved["skipped_files"]] == ["photo.txt"]


def test_text_shorter_than_a_window_says_how_much_is_needed(tmp_path):
    data = tmp_path / "short"
    data.mkdir()
    (data / "note.txt").write_text("Too short.")
    code, events = train_in_process(tmp_path / "home", tiny("gpt", "--data", str(data), "--name", "m"))
    assert code == 1
    message = events[-1].message
    assert message.startswith("The texts have 10 tokens (9 for training") and "at least 17" in message
    assert "lower block_size" in message


@pytest.mark.parametrize(("args", "words"), [
    (tiny("gpt", "--image-size", "32"), "learns from text, not images; drop --image-size"),
    (tiny("gpt", "--color", "gray"), "drop --color"),
    (tiny("ddpm", "--tokenizer", "bpe"), "has no tokenizer to choose"),
])
def test_options_of_the_other_modality_are_refused(tmp_path, args, words):
    data = make_text_folder(tmp_path / "texts", files=1)
    code, events = train_in_process(tmp_path / "home", [*args, "--data", str(data), "--name", "m"])
    assert code == 1 and words in events[-1].message


def test_fine_tuning_keeps_the_models_tokenizer_and_a_resume_refuses_another(tmp_path):
    home = tmp_path / "home"
    base = make_text_folder(tmp_path / "base", files=1)
    assert train_in_process(home, tiny("gpt", "--data", str(base), "--name", "base", "--steps", "2"))[0] == 0
    other = make_text_folder(tmp_path / "other", files=1, seed=3)
    (other / "new.txt").write_text("Xylophones! " * 40)
    code, events = train_in_process(home, tiny("gpt", "--data", str(other), "--name", "tuned", "--steps", "2",
                                               "--from", "base"))
    assert code == 0
    store = ModelStore()
    assert store.get("tuned").card["config"]["tokenizer"] == store.get("base").card["config"]["tokenizer"]
    report = next(e.message for e in events if e.type == "log" and e.message.startswith("Text folder"))
    assert "characters are not in the tokenizer's vocabulary" in report  # the base text has no X
    code, events = train_in_process(home, tiny("gpt", "--name", "tuned", "--resume", "--tokenizer", "bpe"))
    assert code == 1 and "keeps the tokenizer" in events[-1].message


def test_windows_and_validation_are_deterministic_and_leave_the_mode_alone():
    tok_ids = torch.arange(100, dtype=torch.int32)
    data = textlib.TextData(tok_ids[:80], tok_ids[80:], block_size=8, tokenizer=None, prompt="")
    assert len(data) == 72  # start offsets of 9-token windows in 80 tokens
    batch = textlib.make_batch(data, torch.tensor([0, 71]), torch.Generator(), None, torch.device("cpu"))
    assert batch.dtype == torch.long and batch.tolist() == [list(range(9)), list(range(71, 80))]
    val = textlib.validation_windows(data)
    assert val.shape == (12, 9) and val[0, 0] == 80 and val[-1, -1] == 99  # every start 80..91, once
    short = textlib.TextData(tok_ids[:80], tok_ids[80:84], block_size=8, tokenizer=None, prompt="")
    assert textlib.validation_windows(short).tolist() == [[80, 81, 82, 83]]
    none = textlib.TextData(tok_ids[:80], tok_ids[:0], block_size=8, tokenizer=None, prompt="")
    assert textlib.validation_loss(torch.nn.Identity(), none, None, "cpu") is None

    cfg = get("gpt").model_config("tiny", {"vocab_size": 100, "block_size": 8, "dropout": 0.5})
    torch.manual_seed(0)
    model = get("gpt").build(cfg).train()
    first = textlib.validation_loss(model, data, None, torch.device("cpu"))
    assert model.training and first == textlib.validation_loss(model, data, None, torch.device("cpu"))
    expected = float(model.eval().validation_loss(val))  # all twelve windows at once, no dropout
    assert first == pytest.approx(expected, rel=1e-5)


def test_a_text_preview_survives_the_json_line():
    event = Preview(step=5, path="/runs/m/previews/step_0000005.txt", text="Ünïcode\nline two", caption="c")
    assert from_json(to_json(event)) == event
    image = Preview(step=5, path="p.png")
    assert "text" not in json.loads(to_json(image)) and from_json(to_json(image)) == image


@pytest.mark.parametrize("kind", ["char", "bpe"])
def test_encoding_a_chunk_at_a_time_gives_the_tokens_of_the_whole_text(kind):
    from genstudio.models.tokenizer import fit_tokenizer

    rng = random.Random(1)
    text = "".join(" ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 9))) + rng.choice(["\n", "\n\n", " \n"])
                   for _ in range(400))
    tokenizer = fit_tokenizer(kind, [text], vocab_size=300)
    whole = tokenizer.encode(text)
    chunked = textlib.encode(tokenizer, text, chunk_chars=50)
    assert chunked.dtype == torch.int32 and chunked.tolist() == whole
    assert textlib.encode(tokenizer, "").tolist() == []
