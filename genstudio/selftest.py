"""``genstudio selftest`` / ``GenStudio --selftest``: prove an installation works, headless.

Loads every bundled model and generates one image from each, trains a ``tiny`` model for two steps
through the same child-process path the window uses (the frozen app re-launches itself), loads
that model back, and opens the main window offscreen. Prints one line per check; exit 0 if all pass.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np


def _check_bundled_models() -> str:
    from genstudio.core.devices import resolve_device
    from genstudio.core.events import drive
    from genstudio.core.store import ModelStore
    from genstudio.tasks.generate import GenerateRequest, generate

    models = [m for m in ModelStore().list()[0] if m.bundled]
    if not models:
        raise RuntimeError("no bundled models found in resources/models")
    for info in models:
        result = drive(generate(GenerateRequest(info.name, n=1, steps=4), resolve_device("cpu")))
        if result.images.shape[0] != 1 or result.images.std() < 1:
            raise RuntimeError(f"{info.name} produced no usable image")
    return ", ".join(m.name for m in models)


def _check_architectures() -> str:
    """Every registered architecture builds its tiny preset and samples, or translates (proves the
    bundle has them)."""
    import torch

    from genstudio.core.events import drive
    from genstudio.core.registry import Capability, specs

    names = []
    for spec in specs():
        torch.manual_seed(0)
        if spec.modality == "text":  # the vocabulary comes from a fitted tokenizer: write a few tokens
            names.append(_check_text_architecture(spec))
            continue
        if spec.modality == "music":  # the vocabulary comes from an encoding: notes -> MIDI -> audio
            names.append(_check_music_architecture(spec))
            continue
        model = spec.build(spec.model_config("tiny")).eval()
        if not spec.can(Capability.GENERATE) and not spec.can(Capability.TRANSLATE):  # a detector: one image scored
            size = model.config.image_size
            _, maps = model.anomaly_map(torch.zeros(1, model.config.channels, size, size))
            if maps.shape != (1, size, size):
                raise RuntimeError(f"{spec.name} gave an anomaly map of shape {tuple(maps.shape)}")
            names.append(spec.name)
            continue
        if not spec.can(Capability.GENERATE):  # a translator (CycleGAN): one image through A→B
            with torch.inference_mode():
                out = model.translate(torch.zeros(1, model.config.channels, 32, 32), "a2b")
            if out.shape != (1, model.config.channels, 32, 32):
                raise RuntimeError(f"{spec.name} translated to {tuple(out.shape)}")
            names.append(spec.name)
            continue
        options = {"steps": 2} if "steps" in spec.sampler_options else {}
        images = drive(model.sample(n=1, seed=0, **options))
        if images.shape[0] != 1 or images.dtype != np.uint8:
            raise RuntimeError(f"{spec.name} sampled {images.shape} {images.dtype}")
        names.append(spec.name)
    return f"{len(names)} architectures: {', '.join(names)}"


def _check_text_architecture(spec) -> str:
    from genstudio.models.tokenizer import fit_tokenizer

    tokenizer = fit_tokenizer("char", ["GenStudio self-test."])
    config = spec.model_config("tiny", {"tokenizer": tokenizer.to_json(), "vocab_size": tokenizer.vocab_size})
    model = spec.build(config).eval()
    tokens = list(model.generate_tokens(tokenizer.encode("Gen"), 4, seed=0))
    if not tokens or not all(0 <= t < tokenizer.vocab_size for t in tokens):
        raise RuntimeError(f"{spec.name} wrote {tokens}")
    return spec.name


def _check_music_architecture(spec) -> str:
    """A tiny music model composes a bar after a primer; the result is written as MIDI and rendered
    (proves mido, the encodings and the synthesizer are bundled)."""
    import tempfile

    from genstudio.core.data import music_events as ev
    from genstudio.core.data.midi import read_midi, write_midi
    from genstudio.core.events import drive
    from genstudio.core.notes import Note, NoteSequence
    from genstudio.core.synth import render

    if spec.has_setting("encoding"):
        enc = ev.ENCODINGS["performance"]
        config = spec.model_config("tiny", {"vocab_size": enc.vocab_size, "start_token": enc.start,
                                            "end_token": enc.end})
        model = spec.build(config).eval()
        primer = [enc.start, *enc.encode(NoteSequence([Note(60, 0.0, 0.5), Note(64, 0.5, 1.0)]))]
        tokens = drive(model.sample(primer=primer, steps=16, seed=0))
        notes = enc.decode([t for t in tokens if t not in (enc.start, enc.end)], 120.0)
    else:
        model = spec.build(spec.model_config("tiny", {"vocab_size": ev.MELODY_VOCAB})).eval()
        phrases = drive(model.sample(n=1, seed=0))
        notes = ev.phrase_to_sequence(phrases[0], tempo=120.0)
    with tempfile.TemporaryDirectory() as tmp:
        back = read_midi(write_midi(notes.with_notes(notes.notes or [Note(60, 0.0, 0.5)]), Path(tmp) / "t.mid"))
    audio = render(back, 8000)
    if not np.isfinite(audio).all() or len(audio) < 8000:
        raise RuntimeError(f"{spec.name} rendered {len(audio)} samples")
    return spec.name


def _write_tiny_folder(folder: Path) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    for i in range(6):
        Image.fromarray(rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)).save(folder / f"img{i}.png")


def _check_training_process(workdir: Path) -> str:
    from genstudio.core.events import from_json
    from genstudio.core.launch import trainer_command

    data = workdir / "data"
    _write_tiny_folder(data)
    env = {**os.environ, "GENSTUDIO_HOME": str(workdir / "home")}
    cmd = trainer_command(["ddpm", "--data", str(data), "--name", "selftest", "--preset", "tiny",
                           "--steps", "2", "--device", "cpu", "--events"])
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL)
    events = [from_json(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    done = [e for e in events if e.type == "done"]
    if proc.returncode != 0 or not done:
        failed = [e.message for e in events if e.type == "failed"]
        raise RuntimeError(f"trainer exited {proc.returncode}: {failed or proc.stderr[-800:]}")
    os.environ["GENSTUDIO_HOME"], old = env["GENSTUDIO_HOME"], os.environ.get("GENSTUDIO_HOME")
    try:
        from genstudio.core.store import ModelStore

        ModelStore().load("selftest")  # validates hash and tensor shapes
    finally:
        if old is None:
            os.environ.pop("GENSTUDIO_HOME", None)
        else:
            os.environ["GENSTUDIO_HOME"] = old
    return f"{done[0].steps} steps via {'frozen app' if getattr(sys, 'frozen', False) else 'python -m trainers'}"


def _check_window() -> str:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from genstudio.ui.main_window import MainWindow

    app = QApplication.instance() or QApplication([sys.argv[0]])
    window = MainWindow()
    window.show()
    deadline = time.monotonic() + 120
    while not window.specs and time.monotonic() < deadline:  # the registry loads in the background
        app.processEvents()
        time.sleep(0.02)
    if not window.specs:
        raise RuntimeError("the model registry did not load within 120 s")
    window.show_canvas("Train")  # builds the pyqtgraph loss plot: proves it is bundled
    app.processEvents()
    count = window.generate.model_box.count()
    plot_ok = window.train.plot is not None
    window.close()
    if not count or not plot_ok:
        raise RuntimeError(f"window incomplete: {count} generate models, loss plot {'ok' if plot_ok else 'missing'}")
    return f"main window opened offscreen ({count} model(s) ready to generate, loss plot ok)"


def run_selftest() -> int:
    failures = 0
    with tempfile.TemporaryDirectory(prefix="genstudio-selftest-") as tmp:
        checks = [("bundled models generate", _check_bundled_models),
                  ("every architecture builds and samples", _check_architectures),
                  ("training child process", lambda: _check_training_process(Path(tmp))),
                  ("window", _check_window)]
        for label, check in checks:
            t0 = time.perf_counter()
            try:
                detail = check()
                print(f"ok    {label} ({time.perf_counter() - t0:.1f}s): {detail}", flush=True)
            except Exception as err:  # noqa: BLE001 - a self-test reports every failure, then exits 1
                failures += 1
                print(f"FAIL  {label}: {err}", flush=True)
                traceback.print_exc()
    print("selftest passed" if not failures else f"selftest FAILED ({failures} check(s))", flush=True)
    return 0 if not failures else 1
