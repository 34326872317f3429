"""Build the one-folder app with PyInstaller, then prove it works: ``dist/GenStudio/GenStudio --selftest``.

    python packaging/build.py               # build (clean) + selftest; `make package` runs this
    python packaging/build.py --skip-build  # selftest the existing dist/GenStudio only

The selftest runs headless (QT_QPA_PLATFORM=offscreen) against a throwaway GENSTUDIO_HOME, from a
temporary working directory so that nothing can be picked up from the source tree. Exits non-zero
if the build or any selftest check fails. Prints the bundle size and the selftest's cold-start time.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "packaging" / "genstudio.spec"
DIST = ROOT / "dist"
WORK = ROOT / "build" / "pyinstaller"
APP_DIR = DIST / "GenStudio"
EXE = APP_DIR / ("GenStudio.exe" if sys.platform == "win32" else "GenStudio")


def build() -> None:
    cmd = [sys.executable, "-m", "PyInstaller", str(SPEC), "--noconfirm", "--clean",
           "--distpath", str(DIST), "--workpath", str(WORK), "--log-level", "WARN"]
    print("$", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=ROOT, check=True)
    print(f"build: {time.perf_counter() - t0:.0f}s", flush=True)


def bundle_mb(folder: Path) -> float:
    total = 0
    for dirpath, _dirs, files in os.walk(folder):
        for name in files:
            path = Path(dirpath) / name
            if not path.is_symlink():
                total += path.stat().st_size
    return total / 1e6


def selftest() -> int:
    if not EXE.is_file():
        print(f"error: {EXE} not found; build first (drop --skip-build).", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="genstudio-package-") as tmp:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "GENSTUDIO_HOME": str(Path(tmp) / "home")}
        for var in ("GENSTUDIO_RESOURCES", "PYTHONPATH", "PYTHONHOME"):
            env.pop(var, None)  # the frozen app must find everything inside the bundle
        print(f"$ {EXE} --selftest", flush=True)
        t0 = time.perf_counter()
        proc = subprocess.run([str(EXE), "--selftest"], cwd=tmp, env=env, stdin=subprocess.DEVNULL, timeout=1800)
        wall = time.perf_counter() - t0
    print(f"bundle: {bundle_mb(APP_DIR):.0f} MB in {APP_DIR}")
    print(f"selftest (cold start): {wall:.1f}s, exit {proc.returncode}")
    return proc.returncode


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--skip-build", action="store_true", help="only run the selftest on the existing dist/")
    args = p.parse_args(argv)
    if not args.skip_build:
        try:
            build()
        except subprocess.CalledProcessError as err:
            print(f"error: PyInstaller failed (exit {err.returncode})", file=sys.stderr)
            return err.returncode or 1
    code = selftest()
    if code != 0:
        print("error: the frozen app's selftest failed", file=sys.stderr)
    return 0 if code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
