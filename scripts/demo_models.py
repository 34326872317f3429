"""Train the small demo models the screenshots show (β-VAE, DAE, Glow, PixelCNN, RBM) on the
bundled emoji, into build/demo-home (not committed). Each run is capped in wall time: a trainer
stopped by SIGTERM still saves and publishes what it learned.

    python scripts/demo_models.py [--minutes-each 4]
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
# name, arch, extra trainer arguments
DEMOS = [
    ("emoji-beta-vae", "beta-vae", ["--image-size", "32", "--color", "rgb", "--steps", "3000"]),
    ("emoji-glow", "glow", ["--image-size", "32", "--color", "rgb", "--steps", "2000"]),
    ("emoji-dae", "dae", ["--image-size", "32", "--color", "rgb", "--steps", "2000"]),
    ("emoji-pixelcnn", "pixelcnn", ["--image-size", "28", "--color", "rgb", "--steps", "1500"]),
    ("emoji-rbm", "rbm", ["--image-size", "28", "--color", "gray", "--steps", "3000"]),
]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes-each", type=float, default=4.0)
    parser.add_argument("--only", help="comma-separated demo names")
    args = parser.parse_args()
    env = {**os.environ, "GENSTUDIO_HOME": str(HOME)}
    env.pop("GENSTUDIO_MODELS", None)
    for name, arch, extra in DEMOS:
        if args.only and name not in args.only.split(","):
            continue
        if (HOME / "models" / name).exists():
            print(f"{name}: already trained", file=sys.stderr)
            continue
        cmd = [sys.executable, "-m", "trainers", arch, "--data", str(EMOJI), "--name", name, "--preset", "small",
               "--overwrite", "--preview-every", "0", "--device", "cpu", *extra]
        print(" ".join(cmd[1:]), file=sys.stderr)
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdin=subprocess.DEVNULL)
        try:
            proc.wait(timeout=args.minutes_each * 60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGTERM)  # saves a checkpoint and publishes the model so far
            proc.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
