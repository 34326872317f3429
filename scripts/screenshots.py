"""Screenshots of every canvas and dialog in both themes, for docs/screenshots/ and the README.

Run under a real X server (``make screenshots`` uses Xvfb) so Qt renders through xcb as on a desktop:
    xvfb-run -s "-screen 0 1600x1000x24" python scripts/screenshots.py [OUT_DIR] [--only GROUP,...]
``--only`` shoots some groups alone: static, empty, tools, conditioned, captions, translate, inpaint, text,
train-text, music, train-music, anomaly, train (e.g. ``--only music`` for the Music canvas in both themes).
It uses a throwaway GenStudio home, generates with the bundled starter model, and fine-tunes it for a
few steps on the bundled emoji samples so the Train canvas shows a real loss curve and previews.
The Music canvas continues a Bach chorale with a small Music Transformer trained on the JSB chorales
(../shared/data/jsb) the first time, about five minutes on a laptop CPU, and kept in build/music-demo.
The Anomaly canvas scans a mixed batch of MNIST digits with a feature detector trained on zeros alone
(../shared/data/mnist), trained the first time (a few minutes) and kept in build/anomaly-demo.
The likelihood and latent tools are shown with the demo models of ``scripts/demo_models.py``
(trained once into build/demo-home; run it first, or those screens are skipped).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_parser = argparse.ArgumentParser(description="Screenshots of every canvas, light and dark.")
_parser.add_argument("out", nargs="?", default=str(REPO / "docs" / "screenshots"), help="where the PNGs go")
_parser.add_argument("--only", default="", help="comma-separated groups to shoot (default: all)")
_args = _parser.parse_args()
OUT = Path(_args.out)
ONLY = {group for group in _args.only.split(",") if group}
os.environ["GENSTUDIO_HOME"] = tempfile.mkdtemp(prefix="genstudio-shots-")
os.environ.pop("GENSTUDIO_MODELS", None)
sys.path.insert(0, str(REPO))

from PySide6.QtCore import QEventLoop  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from genstudio.core.store import ModelStore  # noqa: E402
from genstudio.ui.main_window import MainWindow  # noqa: E402
from genstudio.ui.settings import Settings  # noqa: E402
from genstudio.ui.theme import apply_theme  # noqa: E402
from genstudio.ui.widgets.image_viewer import ImageViewer  # noqa: E402
from genstudio.ui.widgets.settings_dialog import SettingsDialog  # noqa: E402

SIZE = (1280, 800)
DEMO_MODELS = REPO / "build" / "demo-home" / "models"
EMOJI = REPO / "resources" / "samples" / "emoji"
JSB = REPO.parent / "shared" / "data" / "jsb"
MUSIC_HOME = REPO / "build" / "music-demo"  # the chorale model, trained once
MUSIC_MODEL = "bach-chorales"
MUSIC_STEPS = 700
MUSIC_CONFIG = """[model]
encoding = "grid"
block_size = 128
n_layer = 3
n_head = 4
n_embd = 96
dropout = 0.1
transpose = 2

[train]
preview_every = 0
checkpoint_every = 1000
eval_every = 350
"""


ANOMALY_HOME = REPO / "build" / "anomaly-demo"  # the zeros detector and its folders, made once
ANOMALY_MODEL = "mnist-zeros"
ANOMALY_STEPS = 400
MNIST = REPO.parent / "shared" / "data" / "mnist"


def wanted(group: str) -> bool:
    return not ONLY or group in ONLY


def wait(app, predicate, timeout=600.0, what="condition"):
    end = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > end:
            raise TimeoutError(f"timed out waiting for {what}")
        app.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 50)
        time.sleep(0.02)


def settle(app, seconds=0.4):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.02)


def save(widget, name, theme):
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}-{theme}.png"
    widget.grab().save(str(path))
    print("wrote", path.relative_to(REPO) if path.is_relative_to(REPO) else path)


def shoot_static(app, window, theme):
    window.show_canvas("Generate")
    settle(app)
    save(window, "generate", theme)
    viewer = ImageViewer(window.generate.grid, 5, window)
    viewer.show()
    settle(app)
    save(viewer, "image-viewer", theme)
    viewer.close()
    window.show_canvas("Library")
    window.library.select("starter-emoji")
    settle(app)
    save(window, "library", theme)
    dialog = SettingsDialog(window.settings, window.devices, window)
    dialog.show()
    settle(app)
    save(dialog, "settings", theme)
    dialog.close()


def shoot_empty(app, settings, theme):
    empty = Path(os.environ["GENSTUDIO_HOME"]) / "nothing"
    window = MainWindow(settings, ModelStore(root=empty / "models", bundled=empty / "bundled"))
    window.resize(*SIZE)
    window.show()
    wait(app, lambda: bool(window.specs), what="registry")
    window.show_canvas("Generate")
    settle(app)
    save(window, "empty-state", theme)
    window.hide()
    window.deleteLater()


def install_demo_models() -> list[str]:
    """Copy the demo models (if trained) into the throwaway home's library."""
    if not DEMO_MODELS.is_dir():
        print("no demo models in build/demo-home: run scripts/demo_models.py for the tool screens")
        return []
    target = Path(os.environ["GENSTUDIO_HOME"]) / "models"
    names = []
    for folder in sorted(DEMO_MODELS.iterdir()):
        if (folder / "card.json").is_file():
            shutil.copytree(folder, target / folder.name)
            names.append(folder.name)
    return names


def shoot_tools(app, window, demos, theme):
    """Per-sample likelihoods, pixel-by-pixel sampling, the latent explorer, traversal and Denoise."""
    gen = window.generate
    window.show_canvas("Generate")
    if "emoji-glow" in demos:
        gen.select_model("emoji-glow")
        gen.count_box.setValue(18)
        gen.seed_box.setValue(11)
        gen.temperature_box.setValue(0.7)
        gen.generate()
        wait(app, lambda: gen.worker is None, what="glow generation")
        settle(app)
        save(window, "generate-likelihood", theme)
    if "emoji-pixelcnn" in demos and theme == "light":
        gen.select_model("emoji-pixelcnn")
        gen.count_box.setValue(9)
        gen.generate()
        wait(app, lambda: gen.progress.maximum() > 1 and gen.progress.value() >= gen.progress.maximum() // 2,
             what="pixelcnn half way")
        settle(app, 0.3)
        save(window, "pixel-by-pixel", theme)
        wait(app, lambda: gen.worker is None, what="pixelcnn generation")
    if "emoji-beta-vae" in demos:
        gen.select_model("emoji-beta-vae")
        gen.show_tool("Latent explorer")
        gen.explorer.b.load(str(EMOJI / sorted(p.name for p in EMOJI.glob("*.png"))[40]))
        wait(app, lambda: not gen.explorer.jobs.running and not gen.explorer.frame_jobs.running, what="explorer")
        settle(app, 1.0)
        save(window, "latent-explorer", theme)
        gen.show_tool("Latent traversal")
        wait(app, lambda: gen.traversal.result is not None and not gen.traversal.jobs.running, what="traversal")
        settle(app, 1.0)
        save(window, "latent-traversal", theme)
    if "emoji-dae" in demos:
        gen.select_model("emoji-dae")
        gen.show_tool("Denoise")
        gen.denoise.add_noise.setChecked(True)
        gen.denoise.load(str(EMOJI / sorted(p.name for p in EMOJI.glob("*.png"))[12]))
        wait(app, lambda: gen.denoise.save_button.isEnabled() and not gen.denoise.jobs.running, what="denoise")
        settle(app, 1.0)
        save(window, "denoise", theme)
    gen.tabs.setCurrentIndex(0)
    gen.select_model("starter-emoji")


def generate_with(app, gen, model: str, count: int, seed: int, **options) -> None:
    gen.tabs.setCurrentIndex(0)
    gen.select_model(model)
    gen.count_box.setValue(count)
    gen.seed_box.setValue(seed)
    gen.options.apply(options)
    gen.generate()
    wait(app, lambda: gen.worker is None, what=f"{model} generation")
    settle(app)


def shoot_conditioned(app, window, demos, theme):
    """Issue 5's screens: a class picker, text-to-image with a prompt, StyleGAN's truncation and style mixing."""
    gen = window.generate
    window.show_canvas("Generate")
    if "shapes-t2i" in demos:
        generate_with(app, gen, "shapes-t2i", 16, 100, prompt="a blue triangle", negative_prompt="",
                      guidance=3.0, steps=25)
        save(window, "text-to-image", theme)
    if theme == "dark":
        return
    if "digits-dcgan" in demos:
        generate_with(app, gen, "digits-dcgan", 24, 5, label=7, temperature=1.0)
        save(window, "generate-class", theme)
    if "digits-stylegan" in demos:
        generate_with(app, gen, "digits-stylegan", 24, 3, truncation=0.7)
        save(window, "stylegan-truncation", theme)
        gen.show_tool("Style mixing")
        gen.style_mix.row_seeds.setText("1, 2, 3, 4")
        gen.style_mix.column_seeds.setText("21, 22, 23, 24, 25")
        gen.style_mix.refresh()
        wait(app, lambda: gen.style_mix.picture_array is not None and not gen.style_mix.jobs.running,
             what="style mixing")
        settle(app, 1.0)
        save(window, "style-mixing", theme)
    gen.tabs.setCurrentIndex(0)
    gen.select_model("starter-emoji")


def shoot_caption_report(app, window, theme):
    """The Train canvas's dataset report for a captioned folder (where each caption came from)."""
    shapes = REPO / "build" / "demo-data" / "shapes"
    if not shapes.is_dir():
        return
    train = window.train
    window.show_canvas("Train")
    train.arch_box.setCurrentIndex(train.arch_box.findData("latent-diffusion"))
    train.set_folder(str(shapes))
    wait(app, lambda: "Captions" in train.report_label.text(), what="caption report")
    train.name_edit.setText("my-shapes")
    settle(app, 1.0)
    save(window, "train-captions", theme)


def emoji_sheet(size: int = 96):
    """Six bundled emoji on white, three by two: a picture for the Inpaint canvas."""
    import numpy as np
    from PIL import Image

    files = sorted(EMOJI.glob("*.png"))[10:16]
    tiles = []
    for path in files:
        rgba = Image.open(path).convert("RGBA").resize((size, size), Image.Resampling.LANCZOS)
        tiles.append(np.asarray(Image.alpha_composite(Image.new("RGBA", rgba.size, "white"), rgba).convert("RGB")))
    return np.concatenate([np.concatenate(tiles[:3], 1), np.concatenate(tiles[3:], 1)], 0)


def shoot_inpaint(app, window):
    """The Inpaint canvas: the starter model repaints one emoji of a sheet; four candidates, one previewed."""
    import numpy as np

    from genstudio.ui.widgets.mask_ops import fill_polygon

    canvas = getattr(window, "inpaint", None)
    if canvas is None:
        print("this window has no Inpaint canvas: its screenshot is skipped")
        return
    window.set_theme("light")
    window.show_canvas("Inpaint")
    canvas.select_model("starter-emoji")
    canvas.load_picture(emoji_sheet(), "emoji-sheet.png")
    mask = np.zeros((192, 288), np.uint8)
    fill_polygon(mask, [(104, 6), (186, 8), (190, 90), (100, 92)], 255)  # around the top middle emoji
    canvas.editor.set_mask(mask)
    canvas.count_box.setValue(4)
    canvas.seed_box.setValue(3)
    canvas.steps_box.setValue(25)
    canvas.inpaint()
    wait(app, lambda: canvas.worker is None, what="inpainting")
    canvas.candidates.pick(1)
    for theme in ("light", "dark"):
        window.set_theme(theme)
        settle(app, 1.0)
        save(window, "inpaint", theme)


def shoot_translate(app, window, theme):
    """The Translate canvas: a picture and its translation under the swipe divider. Needs a model that
    translates (a CycleGAN demo model in build/demo-home) and the canvas in the window."""
    from PIL import Image

    from genstudio.core.data.images import load_image
    from genstudio.core.registry import Capability, get

    canvas = getattr(window, "translate", None)
    translators = [m.name for m in ModelStore().list()[0] if get(m.arch).can(Capability.TRANSLATE)]
    if canvas is None or not translators:
        print("no translation model in the demo models (or no Translate canvas): translate screen skipped")
        return
    window.show_canvas("Translate")
    canvas.select_model(translators[0])
    pictures = Path(os.environ["GENSTUDIO_HOME"]) / "translate-inputs"
    pictures.mkdir(exist_ok=True)
    for name in sorted(p.name for p in EMOJI.glob("*.png"))[100:104]:  # enlarged: bigger than a tile
        picture = Image.fromarray(load_image(EMOJI / name))  # transparency on white
        picture.resize((384, 384), Image.Resampling.LANCZOS).save(pictures / name)
    canvas.add_inputs([str(pictures)])
    wait(app, lambda: canvas.worker is None and canvas.shown is not None, what="translation")
    canvas.set_mode("swipe")
    canvas.compare.set_divider(0.5)
    settle(app, 1.0)
    save(window, "translate", theme)


def shoot_text(app, window):
    """The Text canvas: the demo GPT continues a passage from the cursor, then the demo infilling model
    offers three versions of a selected phrase (both real runs; skipped without the demo models)."""
    from genstudio.ui.widgets.text_files import Document  # noqa: F401 - the canvas's own file support

    canvas = getattr(window, "text", None)
    names = {m.name for m in ModelStore().list()[0]}
    if canvas is None or not {"shakespeare-gpt", "shakespeare-infill"} <= names:
        print("no demo text models (scripts/demo_models.py): Text screen skipped")
        return
    window.set_theme("light")
    window.show_canvas("Text")
    passage = (REPO.parent / "shared" / "data" / "text" / "tinyshakespeare_input.txt").read_text("utf-8")
    start = passage.index("First Citizen:\nWe are accounted poor citizens")
    canvas.editor.set_text(passage[start:start + 520])
    canvas.select_model("shakespeare-gpt")
    canvas.options.max_tokens_box.setValue(160)
    cursor = canvas.editor.textCursor()
    cursor.movePosition(cursor.MoveOperation.End)
    canvas.editor.setTextCursor(cursor)
    canvas.continue_from_cursor()
    wait(app, lambda: canvas.worker is None, what="text continuation")
    canvas.select_model("shakespeare-infill")
    text = canvas.editor.text()
    phrase = "poor citizens"
    at = text.index(phrase)
    canvas.editor.select_span(at, at + len(phrase))
    canvas.fill_selection()
    wait(app, lambda: canvas.worker is None, what="infilling")
    canvas.preview_alternative(0)
    settle(app, 1.0)
    save(window, "text", "light")


def music_demo_model() -> str | None:
    """The chorale model in this run's library: trained into build/music-demo the first time (a 4-voice
    16th-note grid Music Transformer, 3 layers, on the JSB training and validation chorales as MIDI files)."""
    cached = MUSIC_HOME / "models" / MUSIC_MODEL
    if not (cached / "card.json").is_file():
        if not JSB.is_dir():
            print("no JSB chorales in ../shared/data/jsb: Music screen skipped")
            return None
        from genstudio.core.data.midi import write_midi
        from genstudio.core.data.music_events import grid_to_sequence, load_jsb

        chorales = MUSIC_HOME / "chorales"
        chorales.mkdir(parents=True, exist_ok=True)
        splits = load_jsb(JSB)
        for i, chorale in enumerate(splits["train"] + splits["valid"]):
            write_midi(grid_to_sequence(chorale, tempo=90), chorales / f"chorale_{i:03d}.mid")
        (MUSIC_HOME / "config.toml").write_text(MUSIC_CONFIG, encoding="utf-8")
        print(f"training {MUSIC_MODEL} for {MUSIC_STEPS} steps (once; kept in {MUSIC_HOME.relative_to(REPO)})")
        subprocess.run([sys.executable, "-m", "trainers", "music-transformer", "--data", str(chorales),
                        "--name", MUSIC_MODEL, "--preset", "small", "--config", str(MUSIC_HOME / "config.toml"),
                        "--steps", str(MUSIC_STEPS), "--overwrite"], cwd=REPO, check=True,
                       env={**os.environ, "GENSTUDIO_HOME": str(MUSIC_HOME)})
    target = Path(os.environ["GENSTUDIO_HOME"]) / "models" / MUSIC_MODEL
    if not target.exists():
        shutil.copytree(cached, target)
    return MUSIC_MODEL


def shoot_music(app, window):
    """The Music canvas: a chorale's first four bars opened as the primer, four more bars composed by the
    chorale model (a real run), the legend, the transport; this machine has no sound device, so the
    transport says playback is unavailable and WAV export works."""
    from genstudio.core.data.midi import write_midi
    from genstudio.core.data.music_events import grid_to_sequence, load_jsb

    canvas = getattr(window, "music", None)
    name = music_demo_model() if canvas is not None else None
    if name is None:
        return
    window.refresh_library()
    window.set_theme("light")
    window.show_canvas("Music")
    canvas.select_model(name)
    primer = Path(os.environ["GENSTUDIO_HOME"]) / "Chorale primer.mid"
    write_midi(grid_to_sequence(load_jsb(JSB)["test"][8][:64], tempo=90), primer)  # 4 bars of 16ths
    canvas.open_path(primer)
    wait(app, lambda: canvas.loading is None and not canvas.roll.is_empty(), what="primer")
    canvas.options.unit_box.setCurrentIndex(0)
    canvas.options.length_box.setValue(4)
    canvas.options.temperature_box.setValue(1.0)
    canvas.options.top_p_box.setValue(0.95)
    canvas.options.seed_box.setValue(7)
    canvas.compose()
    wait(app, lambda: canvas.worker is None, what="composing")
    wait(app, lambda: canvas.transport.play_button.toolTip() != "Checking for a sound device…", what="audio check")
    canvas.roll.zoom_to_fit()
    canvas.roll.set_loop_range(4 * canvas.roll.meta.seconds_per_bar, 8 * canvas.roll.meta.seconds_per_bar)
    canvas.roll.set_playhead(4 * canvas.roll.meta.seconds_per_bar + 1.0)
    canvas.transport.loop_button.setChecked(True)
    canvas.transport._show_time()
    for theme in ("light", "dark"):
        window.set_theme(theme)
        settle(app, 1.0)
        save(window, "music", theme)
    window.set_theme("light")
    canvas.transport.loop_button.setChecked(False)
    canvas.roll.undo_stack.setClean()  # no "export the changes?" question at the end


def anomaly_demo_data() -> Path | None:
    """Folders of MNIST test digits as PNGs in build/anomaly-demo: ``zeros`` (600 zeros to train on) and
    ``batch`` (a batch to check: 40 other zeros, 6 other digits, 4 zeros with an ink scribble across them,
    and a damaged file), named like scans, in shuffled order."""
    import gzip
    import json

    import numpy as np
    from PIL import Image

    batch = ANOMALY_HOME / "batch"
    if batch.is_dir():
        return batch
    if not (MNIST / "t10k-images-idx3-ubyte.gz").is_file():
        print("no MNIST in ../shared/data/mnist: Anomaly screen skipped")
        return None
    with gzip.open(MNIST / "t10k-images-idx3-ubyte.gz") as fh:
        images = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 28, 28)
    with gzip.open(MNIST / "t10k-labels-idx1-ubyte.gz") as fh:
        labels = np.frombuffer(fh.read(), np.uint8, offset=8)
    zeros = np.flatnonzero(labels == 0)
    (ANOMALY_HOME / "zeros").mkdir(parents=True, exist_ok=True)
    for i, index in enumerate(zeros[:600]):
        Image.fromarray(images[index]).save(ANOMALY_HOME / "zeros" / f"zero_{i:03d}.png")
    rng = np.random.default_rng(7)
    pictures = [images[i] for i in zeros[600:640]]
    pictures += [images[np.flatnonzero(labels == d)[3]] for d in (2, 4, 5, 6, 8, 9)]
    kinds = ["zero"] * 40 + [f"digit {d}" for d in (2, 4, 5, 6, 8, 9)] + ["scribbled zero"] * 4
    for index in zeros[640:644]:  # a bold stroke of ink through a zero, a little different each time
        picture = images[index].copy()
        y, x = (int(v) for v in rng.integers(7, 12, 2))
        slope = float(rng.uniform(0.3, 1.0))
        for t in range(12):
            row = y + round(t * slope)
            picture[row:row + 3, x + t:x + t + 2] = 255
        pictures.append(picture)
    batch.mkdir(parents=True, exist_ok=True)
    key = {}
    for number, k in enumerate(rng.permutation(len(pictures)), 1):
        Image.fromarray(pictures[k]).save(batch / f"scan_{number:03d}.png")
        key[f"scan_{number:03d}.png"] = kinds[k]
    (ANOMALY_HOME / "batch-key.json").write_text(json.dumps(key, indent=1), encoding="utf-8")  # what each file is
    (batch / f"scan_{len(pictures) + 1:03d}.png").write_bytes(b"\x89PNG\r\n cut off in transfer")
    return batch


def anomaly_demo_model() -> str | None:
    """The zeros detector in this run's library: a ``small`` feature detector trained on the zeros once."""
    cached = ANOMALY_HOME / "models" / ANOMALY_MODEL
    if anomaly_demo_data() is None:
        return None
    if not (cached / "card.json").is_file():
        print(f"training {ANOMALY_MODEL} for {ANOMALY_STEPS} steps (once; kept in {ANOMALY_HOME.relative_to(REPO)})")
        subprocess.run([sys.executable, "-m", "trainers", "feature-detector", "--data", str(ANOMALY_HOME / "zeros"),
                        "--name", ANOMALY_MODEL, "--preset", "small", "--steps", str(ANOMALY_STEPS), "--overwrite"],
                       cwd=REPO, check=True, env={**os.environ, "GENSTUDIO_HOME": str(ANOMALY_HOME)})
    target = Path(os.environ["GENSTUDIO_HOME"]) / "models" / ANOMALY_MODEL
    if not target.exists():
        shutil.copytree(cached, target)
    return ANOMALY_MODEL


def shoot_anomaly(app, window):
    """The Anomaly canvas: the zeros detector scans the mixed batch (a real run); the other digits and the
    scribbled zeros come first, flagged, with their heatmaps; one is selected, a few are marked."""
    canvas = getattr(window, "anomaly", None)
    name = anomaly_demo_model() if canvas is not None else None
    if name is None:
        return
    window.refresh_library()
    window.set_theme("light")
    window.show_canvas("Anomaly")
    canvas.select_model(name)
    canvas.scan(folder=str(ANOMALY_HOME / "batch"))
    wait(app, lambda: canvas.worker is None, what="anomaly scan")
    import json

    key = json.loads((ANOMALY_HOME / "batch-key.json").read_text(encoding="utf-8"))
    gallery = canvas.gallery
    kind = {id(item): key.get(Path(item.path).name, "") for item in gallery.items}
    gallery.mark("anomalous", [item for item in gallery.items if kind[id(item)].startswith("digit")][:2])
    gallery.mark("normal", gallery.items[-2:])
    gallery.select(next((row for row, item in enumerate(gallery.items) if kind[id(item)] == "scribbled zero"), 0))
    canvas.inspector.set_opacity(0.6)
    canvas.skipped.toggle.setChecked(True)
    for theme in ("light", "dark"):
        window.set_theme(theme)
        settle(app, 1.0)
        save(window, "anomaly", theme)
    window.set_theme("light")


def shoot_train_text(app, window):
    """The Train canvas on a text folder: the folder check (encodings, split), then a short real `gpt`
    run with its validation loss beside the training loss and a text preview."""
    train = window.train
    window.set_theme("light")
    window.show_canvas("Train")
    train.arch_box.setCurrentIndex(train.arch_box.findData("gpt"))
    train.set_folder(str(REPO.parent / "shared" / "data" / "text"))
    wait(app, lambda: train.scan is not None, what="text folder check")
    train.name_edit.setText("shakespeare-short")
    train.steps_box.setValue(750)
    train.preview_box.setValue(250)
    train.start()
    wait(app, lambda: train.run is None, what="text training")
    settle(app, 1.0)
    save(window, "train-text", "light")


def shoot_train_music(app, window):
    """The Train canvas on a folder of MIDI files (the JSB chorales written by the Music screen): the folder
    check (files, notes, length, split), then a short real `music-transformer` run with its validation
    loss and a preview piece described in words."""
    if music_demo_model() is None:
        return
    train = window.train
    window.set_theme("light")
    window.show_canvas("Train")
    train.arch_box.setCurrentIndex(train.arch_box.findData("music-transformer"))
    train.set_folder(str(MUSIC_HOME / "chorales"))
    wait(app, lambda: train.scan is not None, what="MIDI folder check")
    train.name_edit.setText("chorales-short")
    train.steps_box.setValue(80)
    train.preview_box.setValue(40)
    train.start()
    wait(app, lambda: train.run is None, timeout=1800, what="music training")
    settle(app, 1.0)
    save(window, "train-music", "light")


def main() -> int:
    demos = install_demo_models()
    app = QApplication(sys.argv[:1])
    settings = Settings()
    apply_theme(app, "light")
    window = MainWindow(settings)
    window.resize(*SIZE)
    window.show()
    wait(app, lambda: bool(window.specs), what="registry")
    if wanted("static"):
        gen = window.generate
        gen.select_model("starter-emoji")
        gen.count_box.setValue(24)
        gen.seed_box.setValue(2026)
        gen.steps_box.setValue(30)
        gen.generate()
        wait(app, lambda: gen.worker is None, what="generation")
    for theme in ("light", "dark"):
        window.set_theme(theme)
        if wanted("static"):
            shoot_static(app, window, theme)
        if wanted("empty"):
            shoot_empty(app, settings, theme)
    for theme in ("light", "dark"):  # after the starter's screens: these replace its grid
        window.set_theme(theme)
        if wanted("tools"):
            shoot_tools(app, window, demos, theme)
        if wanted("conditioned"):
            shoot_conditioned(app, window, demos, theme)
    window.set_theme("light")
    for group, shoot in (("captions", lambda: shoot_caption_report(app, window, "light")),
                         ("translate", lambda: shoot_translate(app, window, "light")),
                         ("inpaint", lambda: shoot_inpaint(app, window)), ("text", lambda: shoot_text(app, window)),
                         ("train-text", lambda: shoot_train_text(app, window)),
                         ("music", lambda: shoot_music(app, window)),
                         ("train-music", lambda: shoot_train_music(app, window)),
                         ("anomaly", lambda: shoot_anomaly(app, window))):
        if wanted(group):
            shoot()
    if not wanted("train"):
        return finish(window)

    # Train: fine-tune the starter on the bundled emoji for a few steps, with previews.
    window.set_theme("light")
    train = window.train
    window.show_canvas("Train")
    train.arch_box.setCurrentIndex(train.arch_box.findData("ddpm"))
    train.set_folder(str(EMOJI))
    wait(app, lambda: train.scan is not None, what="dataset scan")
    train.name_edit.setText("emoji-finetune")
    train.from_box.setCurrentIndex(train.from_box.findData("starter-emoji"))
    train.steps_box.setValue(400)
    train.preview_box.setValue(25)
    train.start()
    wait(app, lambda: train.progress.value() >= 80 and train.preview_path is not None, what="training")
    for theme in ("light", "dark"):
        window.set_theme(theme)
        window.show_canvas("Train")
        settle(app, 1.5)
        save(window, "train", theme)
    train.stop()
    wait(app, lambda: train.run is None, what="trainer to stop")
    return finish(window)


def finish(window) -> int:
    window.set_theme("light")
    window.settings.theme = "light"
    if getattr(window, "text", None) is not None:
        window.text.editor.document().setModified(False)  # the demo text needs no "save changes?" question
    window.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
