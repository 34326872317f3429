"""Train the small demo models the screenshots show, into build/demo-home (not committed): β-VAE,
DAE, Glow, PixelCNN, RBM and VAE-GAN on the bundled emoji; a class-conditional DCGAN on MNIST digits
sorted into one subfolder per digit and a StyleGAN on 2,000 digits in one folder, its `small`
preset's full 12,000 steps (from ../shared/data, written to build/, never committed); a text-to-image model on generated captioned shapes; a CycleGAN between "daylight" and
"night" emoji (two unpaired halves of the set, one darkened and tinted blue); a character-level GPT
and an infilling model on tiny shakespeare (../shared/data/text); a Music Transformer and a MusicVAE on
the JSB chorales' training split written as MIDI files (../shared/data/jsb). Each run is capped in wall
time: a trainer stopped by SIGTERM still saves and publishes what it learned.

    python scripts/demo_models.py [--minutes-each 4] [--only NAME,...]
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
HOME = REPO / "build" / "demo-home"
EMOJI = REPO / "resources" / "samples" / "emoji"
DIGITS = REPO / "build" / "demo-data" / "digits"  # MNIST test digits, one subfolder per class
FLAT_DIGITS = REPO / "build" / "demo-data" / "digits-flat"  # the first 2,000, padded to 32 px, no classes
SHAPES = REPO / "build" / "demo-data" / "shapes"  # "a red circle", ... in sidecar .txt captions
DAYLIGHT = REPO / "build" / "demo-data" / "daylight"  # every other emoji as drawn
NIGHT = REPO / "build" / "demo-data" / "night"  # the others, darkened and shifted to blue (unpaired)
MNIST = REPO.parent / "shared" / "data" / "mnist"
TEXT = REPO.parent / "shared" / "data" / "text"  # tiny shakespeare (nanoGPT's character-level data)
JSB = REPO.parent / "shared" / "data" / "jsb"
CHORALES = REPO / "build" / "demo-data" / "chorales"  # the 229 training chorales as .mid files
# name, arch, extra trainer arguments (--data defaults to the emoji)
MINUTES = {"digits-stylegan": 60}  # StyleGAN learns variety late: its whole run (~35 min on one core)
DEMOS = [
    ("emoji-beta-vae", "beta-vae", ["--image-size", "32", "--color", "rgb", "--steps", "3000"]),
    ("emoji-glow", "glow", ["--image-size", "32", "--color", "rgb", "--steps", "2000"]),
    ("emoji-dae", "dae", ["--image-size", "32", "--color", "rgb", "--steps", "2000"]),
    ("emoji-pixelcnn", "pixelcnn", ["--image-size", "28", "--color", "rgb", "--steps", "1500"]),
    ("emoji-rbm", "rbm", ["--image-size", "28", "--color", "gray", "--steps", "3000"]),
    ("digits-stylegan", "stylegan", ["--data", str(FLAT_DIGITS)]),  # the preset as an artist gets it
    ("emoji-vae-gan", "vae-gan", ["--image-size", "32", "--color", "rgb"]),
    ("digits-dcgan", "dcgan", ["--data", str(DIGITS), "--image-size", "32", "--color", "gray", "--steps", "2000",
                               "--config", str(REPO / "build" / "demo-data" / "no-flips.toml")]),  # a mirrored 7 is no 7
    ("shapes-t2i", "latent-diffusion", ["--data", str(SHAPES)]),
    ("shakespeare-gpt", "gpt", ["--data", str(TEXT), "--steps", "2000"]),
    ("shakespeare-infill", "infill", ["--data", str(TEXT), "--steps", "12000"]),
    ("chorales-transformer", "music-transformer", ["--data", str(CHORALES), "--steps", "3000"]),
    ("chorales-vae", "music-vae", ["--data", str(CHORALES), "--steps", "4000"]),
    ("day2night", "cyclegan", ["--data-a", str(DAYLIGHT), "--data-b", str(NIGHT), "--image-size", "32",
                               "--steps", "3000", "--config", str(REPO / "build" / "demo-data" / "cyclegan-cpu.toml")]),
]


def write_demo_data() -> None:
    """The digit and shape folders, once."""
    (REPO / "build" / "demo-data").mkdir(parents=True, exist_ok=True)
    (REPO / "build" / "demo-data" / "no-flips.toml").write_text("[train]\nhflip = false\n", encoding="utf-8")
    if not (DIGITS.exists() and FLAT_DIGITS.exists()) and (MNIST / "t10k-images-idx3-ubyte.gz").exists():
        import gzip

        import numpy as np
        from PIL import Image

        with gzip.open(MNIST / "t10k-images-idx3-ubyte.gz") as fh:
            images = np.frombuffer(fh.read(), np.uint8, offset=16).reshape(-1, 28, 28)
        with gzip.open(MNIST / "t10k-labels-idx1-ubyte.gz") as fh:
            labels = np.frombuffer(fh.read(), np.uint8, offset=8)
        for i in range(3000):
            folder = DIGITS / str(labels[i])
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[i]).save(folder / f"{i:05d}.png")
        FLAT_DIGITS.mkdir(parents=True, exist_ok=True)
        for i in range(2000):
            Image.fromarray(np.pad(images[i], 2)).save(FLAT_DIGITS / f"{i:04d}.png")
    if not DAYLIGHT.exists():
        write_day_and_night()
    (REPO / "build" / "demo-data" / "cyclegan-cpu.toml").write_text(
        "[model]\ng_width = 16\nd_width = 32\nn_res_blocks = 4\n", encoding="utf-8")  # ~7 steps/s on one core
    if not CHORALES.exists() and JSB.exists():
        write_chorales()
    if not SHAPES.exists():
        sys.path.insert(0, str(REPO))
        from scripts.captioned_shapes import make_captioned_shapes

        make_captioned_shapes(SHAPES, 360, size=32, seed=0)


def write_chorales(tempo: float = 100.0) -> None:
    """The JSB training chorales as MIDI files (four voices on a 16th grid, at ``tempo``)."""
    sys.path.insert(0, str(REPO))
    from genstudio.core.data.midi import write_midi
    from genstudio.core.data.music_events import grid_to_sequence, load_jsb

    CHORALES.mkdir(parents=True, exist_ok=True)
    for i, chorale in enumerate(load_jsb(JSB)["train"]):
        write_midi(grid_to_sequence(chorale, tempo=tempo, program=19), CHORALES / f"chorale_{i:03d}.mid")  # organ


def write_day_and_night() -> None:
    """Two unpaired domains for the CycleGAN demo: the even-numbered emoji as drawn (on white), the
    odd-numbered ones as at night (darker, bluer). The model must learn the look, not a pairing."""
    import numpy as np
    from PIL import Image

    DAYLIGHT.mkdir(parents=True, exist_ok=True)
    NIGHT.mkdir(parents=True, exist_ok=True)
    tint, moon = np.array([0.45, 0.6, 1.0], np.float32), np.array([0.3, 0.4, 0.9], np.float32)
    for i, path in enumerate(sorted(EMOJI.glob("*.png"))):
        picture = Image.new("RGBA", Image.open(path).size, "white")
        picture.alpha_composite(Image.open(path).convert("RGBA"))
        rgb = np.asarray(picture.convert("RGB"), np.float32) / 255
        if i % 2 == 0:
            Image.fromarray((rgb * 255).astype(np.uint8)).save(DAYLIGHT / path.name)
        else:
            luminance = rgb @ np.array([0.299, 0.587, 0.114], np.float32)
            night = 0.55 * rgb * tint + 0.25 * luminance[..., None] * moon
            Image.fromarray((np.clip(night, 0, 1) * 255).astype(np.uint8)).save(NIGHT / path.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes-each", type=float, default=4.0)
    parser.add_argument("--only", help="comma-separated demo names")
    args = parser.parse_args()
    env = {**os.environ, "GENSTUDIO_HOME": str(HOME)}
    env.pop("GENSTUDIO_MODELS", None)
    write_demo_data()
    for name, arch, extra in DEMOS:
        if args.only and name not in args.only.split(","):
            continue
        if (HOME / "models" / name).exists():
            print(f"{name}: already trained", file=sys.stderr)
            continue
        data = [] if any(a.startswith("--data") for a in extra) else ["--data", str(EMOJI)]
        cmd = [sys.executable, "-m", "trainers", arch, *data, "--name", name, "--preset", "small",
               "--overwrite", "--preview-every", "0", "--device", "cpu", *extra]
        print(" ".join(cmd[1:]), file=sys.stderr)
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL)
        try:
            proc.wait(timeout=MINUTES.get(name, args.minutes_each) * 60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)  # saves a checkpoint and publishes the model so far
            proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
