#!/usr/bin/env python
"""Start-up time: from process start to the main window shown and painted, the way ``python main.py``
opens it (genstudio.app.main -> genstudio.ui.app.run_app). Target: 1.5 s, torch imported lazily
(docs/BENCHMARKS.md). Every run is a fresh interpreter (subprocess) with a fresh GENSTUDIO_HOME.

The child (this script with --child) creates the QApplication first, with an event filter on it, and
then calls ``genstudio.app.main([])``; run_app reuses that application (``QApplication.instance() or
...``), so every other start-up step is the app's own. The filter notes the main window's first Show,
Expose and Paint; a zero-delay timer queued at the first paint marks "painted" once that paint pass is
done. At the marker it records whether torch was imported, and by which thread its import began (the
window loads the model registry, and with it torch, in a background thread after it is shown). With
--until-ready (default) it then waits until the registry has loaded and the Generate canvas lists
models, noting the longest UI-thread heartbeat gap meanwhile. The child then exits at once.

    python benchmarks/ui_startup.py [--repeats 5] [--platform xvfb|offscreen]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_S = 1.5
T0_ENV = "GENSTUDIO_BENCH_T0"
WATCHED = ("torch", "numpy", "PIL", "pyqtgraph", "safetensors", "platformdirs")


def now() -> float:
    return time.clock_gettime(time.CLOCK_MONOTONIC)  # one clock for parent and child (Linux)


# -- child ------------------------------------------------------------------------------------------
class ImportWatch:
    """A meta-path finder that finds nothing: it only notes when (and on which thread) a module's
    import begins. Cheap: a dict lookup per import."""

    def __init__(self, names):
        self.names, self.seen = set(names), {}

    def find_spec(self, name, path=None, target=None):
        if name in self.names and name not in self.seen:
            self.seen[name] = (now(), threading.current_thread() is threading.main_thread())
        return None


def child(args) -> None:
    t0 = float(os.environ[T0_ENV])
    t_child = now()
    watch = ImportWatch(WATCHED)
    sys.meta_path.insert(0, watch)
    proto = os.fdopen(os.dup(1), "w", buffering=1)  # results on the real stdout; the app's prints -> stderr
    os.dup2(2, 1)
    sys.path.insert(0, ROOT)

    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication, QMainWindow, QWidget

    state: dict = {}

    def report():
        t = now()
        window = state["window"]
        result = {
            "interpreter_start_s": round(t_child - t0, 3),
            "shown_s": round(state["show"] - t0, 3), "exposed_s": round(state.get("expose", t) - t0, 3),
            "first_paint_s": round(state["paint"] - t0, 3), "painted_s": round(t - t0, 3),
            "torch_in_sys_modules": "torch" in sys.modules,
            "modules_at_marker": {m: m in sys.modules for m in WATCHED},
            "torch_import_began_s": round(watch.seen["torch"][0] - t0, 3) if "torch" in watch.seen else None,
            "torch_import_thread": ("main" if watch.seen["torch"][1] else "background") if "torch" in watch.seen else None,
            "window_size": [window.width(), window.height()], "platform": QApplication.platformName(),
        }
        if not args.until_ready:
            return finish(result)
        ticks = [now()]
        beat = QTimer(interval=10)
        beat.timeout.connect(lambda: ticks.append(now()))
        beat.start()
        state["beat"] = beat  # keep it alive

        def poll():
            if window.generate.model_box.count() > 0:
                ticks.append(now())
                result["ready_s"] = round(ticks[-1] - t0, 3)
                result["ready_max_gap_ms"] = round(max(b - a for a, b in zip(ticks, ticks[1:])) * 1000, 1)
                finish(result)

        state["poll"] = poll_timer = QTimer(interval=10)
        poll_timer.timeout.connect(poll)
        poll_timer.start()

    def finish(result):
        result["torch_import_thread_final"] = (("main" if watch.seen["torch"][1] else "background")
                                               if "torch" in watch.seen else None)
        proto.write(json.dumps(result) + "\n")
        proto.flush()
        os._exit(0)  # no teardown (closeEvent, thread pool): the measurement is done

    class FirstPaint(QObject):
        def eventFilter(self, obj, event):
            kind = event.type()
            if kind == QEvent.Type.Show and isinstance(obj, QMainWindow) and "show" not in state:
                state["show"], state["window"] = now(), obj
            elif kind == QEvent.Type.Expose and "show" in state and "expose" not in state:
                state["expose"] = now()
            elif (kind == QEvent.Type.Paint and "show" in state and "paint" not in state
                  and isinstance(obj, QWidget) and obj.window() is state["window"]):
                state["paint"] = now()
                QApplication.instance().removeEventFilter(self)
                QTimer.singleShot(0, report)  # after this paint pass (and its flush) is complete
            return False

    app = QApplication(sys.argv[:1])  # run_app takes this instance instead of making its own
    spy = FirstPaint()
    app.installEventFilter(spy)
    QTimer.singleShot(args.timeout * 1000, lambda: finish({"error": f"no paint within {args.timeout} s"}))

    from genstudio.app import main as app_main

    app_main([])  # exactly what `python main.py` does with no arguments
    finish({"error": "the app's event loop returned before the window painted"})


# -- parent -----------------------------------------------------------------------------------------
def start_xvfb():
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as fh:
        return proc, ":" + fh.readline().strip()


def one_run(args, env) -> dict:
    home = tempfile.mkdtemp(prefix="genstudio-bench-startup-")
    try:
        t0 = now()
        proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", f"--timeout={args.timeout}",
                                 *([] if args.until_ready else ["--no-until-ready"])],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**env, "GENSTUDIO_HOME": home, T0_ENV: repr(t0)})
        try:
            out, err = proc.communicate(timeout=args.timeout + 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
        lines = [line for line in out.splitlines() if line.startswith("{")]
        result = json.loads(lines[-1]) if lines else {"error": f"child exited {proc.returncode}: {err[-1500:]}"}
        result["process_exit_s"] = round(now() - t0, 3)
        return result
    finally:
        shutil.rmtree(home, ignore_errors=True)


def stats(values):
    return {"median": round(statistics.median(values), 3), "min": round(min(values), 3), "max": round(max(values), 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=1, help="untimed runs first (file cache), default 1")
    ap.add_argument("--platform", choices=("xvfb", "offscreen"),
                    default="xvfb" if shutil.which("Xvfb") else "offscreen",
                    help="default: xvfb when Xvfb is installed, else Qt's offscreen platform")
    ap.add_argument("--no-until-ready", dest="until_ready", action="store_false",
                    help="stop at the first paint (do not wait for the registry)")
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(args)
    env = {k: v for k, v in os.environ.items() if k not in ("GENSTUDIO_MODELS", "QT_QPA_PLATFORM", "DISPLAY")}
    xvfb = None
    if args.platform == "xvfb":
        xvfb, display = start_xvfb()
        env.update(DISPLAY=display, QT_QPA_PLATFORM="xcb")
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    load_start = os.getloadavg()
    try:
        for _ in range(args.warmup):
            one_run(args, env)
        runs = [one_run(args, env) for _ in range(args.repeats)]
    finally:
        if xvfb is not None:
            xvfb.terminate()
            xvfb.wait()
    good = [r for r in runs if "error" not in r]
    result = {"benchmark": "ui_startup: process start -> main window shown and painted (python main.py path)",
              "target_s": TARGET_S, "platform": args.platform, "repeats": args.repeats, "warmup": args.warmup,
              "cpu_count": os.cpu_count(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
              "loadavg_1m": {"start": load_start[0], "end": os.getloadavg()[0]}, "errors": [r["error"] for r in runs
                                                                                           if "error" in r]}
    if good:
        painted = [r["painted_s"] for r in good]
        torch_on_ui = [r["torch_in_sys_modules"] and r["torch_import_thread"] == "main" for r in good]
        result.update({
            "painted_s": stats(painted), "shown_s": stats([r["shown_s"] for r in good]),
            "first_paint_s": stats([r["first_paint_s"] for r in good]),
            "interpreter_start_s": stats([r["interpreter_start_s"] for r in good]),
            "torch_imported_at_paint": [r["torch_in_sys_modules"] for r in good],
            "torch_on_startup_path": any(torch_on_ui),
            "verdict": "PASS" if statistics.median(painted) <= TARGET_S and not any(torch_on_ui) else "FAIL",
        })
        if args.until_ready:
            result["ready_s"] = stats([r["ready_s"] for r in good])
            result["ready_max_gap_ms"] = stats([r["ready_max_gap_ms"] for r in good])
    else:
        result["verdict"] = "ERROR"
    result["runs"] = runs
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
