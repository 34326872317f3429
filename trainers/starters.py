"""Train the models GenStudio ships, from the sample folders it ships: ``python -m trainers.starters``.

Each starter is a recipe in ``resources/starters/<name>.toml`` plus a sample folder. Runs live in
``build/starters`` (so Ctrl-C and ``--resume`` work as for any training), and the finished model is
copied into ``resources/models/<name>`` with its card pointing at the sample folder.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STARTERS = {  # name -> (architecture, sample folder relative to the repo)
    "starter-emoji": ("ddpm", "resources/samples/emoji"),
}


def install(name: str, home: Path, dest_root: Path) -> Path:
    """Copy a trained model into the bundled models folder, atomically, with a repo-relative data path."""
    src = home / "models" / name
    staging = dest_root / f".{name}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(src, staging)
    card = json.loads((staging / "card.json").read_text(encoding="utf-8"))
    card["data"]["folder"] = STARTERS[name][1]
    card["bundled"] = True
    (staging / "card.json").write_text(json.dumps(card, indent=2), encoding="utf-8")
    final = dest_root / name
    if final.exists():
        shutil.rmtree(final)
    os.replace(staging, final)
    return final


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m trainers.starters", description=__doc__.splitlines()[0])
    p.add_argument("--name", default="starter-emoji", choices=sorted(STARTERS))
    p.add_argument("--steps", type=int, help="override the recipe's step count")
    p.add_argument("--resume", action="store_true", help="continue an interrupted starter run")
    p.add_argument("--device", default="auto")
    p.add_argument("--events", action="store_true")
    args = p.parse_args(argv)

    home = REPO / "build" / "starters"
    os.environ["GENSTUDIO_HOME"] = str(home)
    arch, data = STARTERS[args.name]
    train_args = [arch, "--name", args.name, "--data", str(REPO / data), "--device", args.device,
                  "--config", str(REPO / "resources" / "starters" / f"{args.name}.toml")]
    train_args += ["--resume"] if args.resume else ["--overwrite"]
    train_args += ["--steps", str(args.steps)] if args.steps else []
    train_args += ["--events"] if args.events else []

    from trainers.__main__ import main as train_main

    code = train_main(train_args)
    if code == 0:
        final = install(args.name, home, REPO / "resources" / "models")
        print(f"Installed {final.relative_to(REPO)}")
    return code


if __name__ == "__main__":
    sys.exit(main())
