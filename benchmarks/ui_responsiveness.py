#!/usr/bin/env python
"""Is the UI thread free while a job runs? A QTimer heartbeat on the UI thread records the gaps
between its ticks while the real window works: no gap may exceed 50 ms (docs/BENCHMARKS.md).

Scenarios, each in a fresh child process (this script with --child) with a throwaway GENSTUDIO_HOME:

- ``generate``: the real MainWindow's Generate canvas makes 16 images with the bundled
  ``starter-emoji`` (DDIM, 50 steps) in its GeneratorWorker, ``--repeats`` times (the first one
  loads the model); measured from the Generate click until the results are shown (+ --tail-ms).
- ``train``: the Train canvas checks an image folder (resources/samples/emoji) and starts its
  trainer child process (QProcess) on the ``small`` ddpm preset, with ``--train-steps`` steps and a
  preview every ``--preview-every`` steps (a ``--config`` TOML over the preset), so the loss plot,
  the log, previews, checkpoints and the final publish to the library all happen while measured;
  from the launch until the run has ended (+ --tail-ms).
- ``startup``: informational: from ``window.show()`` until the registry (torch, every model family)
  has loaded in the background and the models are listed, then the first switch to the Train
  canvas (it builds the pyqtgraph loss plot).

The window is offscreen by default (Qt's offscreen platform still paints into a backing store);
``--platform xvfb`` runs it on an Xvfb display instead. ``--stacks`` adds a watchdog thread that
captures the UI thread's Python stack during each stall (diagnosis; it perturbs the timing a little).
Prints one JSON object: per scenario max gap, p99 gap, gaps over the target, duration, PASS/FAIL.

    python benchmarks/ui_responsiveness.py [--scenarios generate,train,startup] [--stacks]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET_MS = 50.0
SCENARIOS = ("generate", "train", "startup")


# -- the heartbeat (child side) ----------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100): an actual gap, never an interpolation."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(-(-q * len(ordered) // 100)) - 1))]


def _frames(frame, keep: int = 8) -> list[str]:
    def where(f):
        return os.path.relpath(f.filename, ROOT) if f.filename.startswith(ROOT) else os.path.basename(f.filename)
    return [f"{where(f)}:{f.lineno} {f.name}" for f in traceback.extract_stack(frame)][-keep:]


class Heartbeat:
    """A precise QTimer on the UI thread; every tick's time is kept, gaps are what matter.

    ``mark(label)`` notes what the window was doing (an event arrived, a job ended), so each long gap
    can be attributed to the last thing that happened before it closed. With ``stacks`` a watchdog
    thread grabs the UI thread's Python stack once per stall longer than ``stack_after_ms``."""

    def __init__(self, interval_ms: int = 10, stacks: bool = False, stack_after_ms: float = 40.0):
        from PySide6.QtCore import Qt, QTimer

        self.interval_ms = interval_ms
        self.timer = QTimer()
        self.timer.setTimerType(Qt.TimerType.PreciseTimer)
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self._tick)
        self.ticks: list[float] = []
        self.marks: list[tuple[float, str]] = []
        self.stacks_on, self.stack_after = stacks, stack_after_ms / 1000
        self.stacks: list[tuple[float, dict]] = []  # (stall start, {thread: frames}) when the stall ended
        self._ui_thread = threading.get_ident()
        self._watch: threading.Thread | None = None
        self._running = False

    def start(self) -> None:
        self.none_refs = [sys.getrefcount(None)]  # see summary(): a drain here ends in a fatal error
        self.ticks, self.marks, self.stacks = [time.perf_counter()], [], []
        self._running = True
        self.timer.start()
        if self.stacks_on:
            self._watch = threading.Thread(target=self._watchdog, daemon=True)
            self._watch.start()

    def stop(self) -> None:
        self._tick()
        self.none_refs.append(sys.getrefcount(None))
        self.timer.stop()
        self._running = False
        if self._watch is not None:
            self._watch.join()

    def mark(self, label: str) -> None:
        self.marks.append((time.perf_counter(), label))

    def _tick(self) -> None:
        self.ticks.append(time.perf_counter())

    def _watchdog(self) -> None:
        grabbed_for = None
        while self._running:
            time.sleep(0.005)
            last = self.ticks[-1]
            if time.perf_counter() - last > self.stack_after and grabbed_for != last:
                frames = sys._current_frames()  # taken once this thread has the GIL again
                if self._ui_thread in frames:
                    grabbed_for = last
                    names = {t.ident: t.name for t in threading.enumerate()}
                    self.stacks.append((last, {
                        ("ui_thread" if ident == self._ui_thread else names.get(ident, str(ident))): _frames(frame)
                        for ident, frame in frames.items() if ident != threading.get_ident()}))

    def summary(self, target_ms: float = TARGET_MS, top: int = 5) -> dict:
        ticks = self.ticks
        gaps = [(b - a) * 1000 for a, b in zip(ticks, ticks[1:])]
        t0 = ticks[0]
        worst = sorted(range(len(gaps)), key=lambda i: gaps[i], reverse=True)[:top]
        over = [g for g in gaps if g > target_ms]
        out = {
            "duration_s": round(ticks[-1] - t0, 2), "ticks": len(ticks), "interval_ms": self.interval_ms,
            "max_gap_ms": round(max(gaps, default=0.0), 1), "p99_gap_ms": round(percentile(gaps, 99), 1),
            "p50_gap_ms": round(percentile(gaps, 50), 1), f"gaps_over_{target_ms:g}ms": len(over),
            "ms_lost_in_gaps_over_target": round(sum(over), 1),
            "verdict": "PASS" if not over else "FAIL",
            "worst_gaps": [{"gap_ms": round(gaps[i], 1), "at_s": round(ticks[i] - t0, 3),
                            "during": self._label_at(ticks[i + 1])} for i in worst if gaps[i] > target_ms],
        }
        # Python < 3.12 only (None is immortal from 3.12 on): a binding that returns None without a
        # new reference drains None's count, and at zero the interpreter aborts ("none_dealloc").
        out["none_refcount"] = {"start": self.none_refs[0], "end": self.none_refs[-1]}
        if self.stacks_on:
            worst_starts = {ticks[i] for i in worst}
            out["stall_stacks"] = [{"at_s": round(start - t0, 3), "threads": frames}
                                   for start, frames in self.stacks if start in worst_starts]
        return out

    def _label_at(self, t: float) -> str:
        label = "(nothing yet)"
        for when, text in self.marks:
            if when > t:
                break
            label = text
        return label


def wait_until(app, condition, timeout_s: float, what: str, poll_ms: int = 20) -> float:
    """Run the event loop (no busy spinning) until ``condition()``; returns the seconds it took."""
    from PySide6.QtCore import QEventLoop, QTimer

    t0 = time.perf_counter()
    if condition():
        return 0.0
    loop = QEventLoop()
    poll = QTimer(interval=poll_ms)

    def check():
        if condition() or time.perf_counter() - t0 > timeout_s:
            loop.quit()

    poll.timeout.connect(check)
    poll.start()
    loop.exec()
    poll.stop()
    if not condition():
        raise TimeoutError(f"timed out after {timeout_s:.0f} s waiting for {what}")
    return time.perf_counter() - t0


def idle(app, ms: int) -> None:
    from PySide6.QtCore import QEventLoop, QTimer

    loop = QEventLoop()
    QTimer.singleShot(ms, loop.quit)
    loop.exec()


def open_window(args):
    """What genstudio.ui.app.run_app does before app.exec(): application, settings, theme, window."""
    from PySide6.QtWidgets import QApplication

    from genstudio.ui.main_window import MainWindow
    from genstudio.ui.settings import Settings
    from genstudio.ui.theme import apply_theme
    from genstudio.ui.widgets import dialogs

    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName("GenStudio")
    app.setOrganizationName("GenStudio")
    settings = Settings()
    if args.threads:
        settings.threads = args.threads  # the window's worker and its trainer children both use it
    settings.apply_environment()
    apply_theme(app, settings.theme)
    warnings: list[str] = []
    dialogs.warn = lambda parent, title, text: warnings.append(f"{title}: {text}")  # never block on a modal box
    window = MainWindow(settings)
    window.show()
    return app, window, warnings


def scenario_generate(args, app, window, warnings) -> dict:
    wait_until(app, lambda: window.generate.model_box.count() > 0, 300, "the registry to load")
    canvas = window.generate
    window.show_canvas("Generate")
    if not canvas.select_model("starter-emoji"):
        raise RuntimeError("starter-emoji is not listed in the Generate canvas")
    canvas.count_box.setValue(args.images)
    canvas.steps_box.setValue(args.gen_steps)
    canvas.sampler_box.setCurrentIndex(canvas.sampler_box.findData("ddim"))
    canvas.eta_box.setValue(0.0)
    canvas.random_seed.setChecked(False)
    idle(app, 500)
    runs = []
    for r in range(args.repeats):
        hb = Heartbeat(args.interval, args.stacks)
        hb.start()
        canvas.generate_button.click()  # what a click does: GenerateCanvas.generate()
        hb.mark("clicked; the worker loads the model" if r == 0 else "clicked")
        worker = canvas.worker
        if worker is None:
            raise RuntimeError(f"generation did not start (warnings: {warnings})")
        events = {"progress": 0, "preview": 0}

        def on_event(event, events=events, hb=hb):
            kind = type(event).__name__.lower()
            events[kind] = events.get(kind, 0) + 1
            hb.mark(f"{kind} {getattr(event, 'step', '')}".strip())

        worker.signals.event.connect(on_event)
        worker.signals.finished.connect(lambda _result, hb=hb: hb.mark("finished: result grid shown"))
        worker.signals.ended.connect(lambda hb=hb: hb.mark("ended"))
        seconds = wait_until(app, lambda: canvas.worker is None, args.timeout, "the generation to end")
        hb.mark("tail")
        idle(app, args.tail_ms)
        hb.stop()
        grid = canvas.grid.count()
        runs.append({"run": r + 1, "note": "loads the model" if r == 0 else "model cached",
                     "job_seconds": round(seconds, 2), "images_in_grid": grid, "events": events, **hb.summary(args.target_ms)})
        if grid != args.images:
            raise RuntimeError(f"expected {args.images} images in the grid, got {grid} (warnings: {warnings})")
        idle(app, 300)
    return {"setting": {"model": "starter-emoji", "images": args.images, "steps": args.gen_steps, "sampler": "ddim",
                        "eta": 0.0}, "runs": runs}


def scenario_train(args, app, window, warnings) -> dict:
    from dataclasses import asdict, dataclass

    from genstudio.tasks.train import TrainRequest

    wait_until(app, lambda: "ddpm" in window.train.specs, 300, "the registry to load")
    canvas = window.train
    canvas.arch_box.setCurrentIndex(canvas.arch_box.findData("ddpm"))
    canvas.preset_box.setCurrentIndex(canvas.preset_box.findData(args.train_preset))
    canvas.steps_box.setValue(args.train_steps)
    if hasattr(canvas, "preview_box"):  # the canvas's own "Preview every" control, where it has one
        canvas.preview_box.setValue(args.preview_every)
    canvas.name_edit.setText("bench-ui")
    window.show_canvas("Train")
    canvas.set_folder(args.data)
    wait_until(app, lambda: canvas.start_button.isEnabled(), 120, "the folder check")
    idle(app, 500)

    config = os.path.join(os.environ["GENSTUDIO_HOME"], "bench-train.toml")
    with open(config, "w") as fh:
        fh.write(f"[train]\npreview_every = {args.preview_every}\ncheckpoint_every = {args.checkpoint_every}\n"
                 + (f"batch_size = {args.batch_size}\n" if args.batch_size else ""))

    @dataclass
    class ConfigRequest(TrainRequest):  # the canvas's request plus --config (checkpoints within a short run)
        config: str = ""

        def args(self) -> list[str]:
            return [*super().args(), "--config", self.config]

    request = ConfigRequest(**asdict(canvas.request()), config=config)
    hb = Heartbeat(args.interval, args.stacks)
    counts = {"progress": 0, "preview": 0, "log": 0, "lines": 0}
    outcome = {}
    hb.start()
    t0 = time.perf_counter()
    canvas._launch(request, resume=False)  # what Start training does after its checks
    hb.mark("launched; the trainer process starts")
    run = canvas.run
    if run is None:
        raise RuntimeError(f"training did not start (warnings: {warnings})")
    first_progress = []

    def on_event(event):
        kind = type(event).__name__.lower()
        counts[kind] = counts.get(kind, 0) + 1
        if kind == "progress" and not first_progress:
            first_progress.append(time.perf_counter() - t0)
        hb.mark(f"{kind} {getattr(event, 'step', '')}".strip())

    run.event.connect(on_event)
    run.line.connect(lambda text: (counts.__setitem__("lines", counts["lines"] + 1), hb.mark("stderr line")))
    run.ended.connect(lambda o: (outcome.update(kind=o.kind, message=o.message), hb.mark(f"ended: {o.kind}")))
    canvas.model_published.connect(lambda name: hb.mark("model published: library refreshed"))
    seconds = wait_until(app, lambda: canvas.run is None, args.timeout, "the training to end")
    hb.mark("tail")
    idle(app, args.tail_ms)
    hb.stop()
    if outcome.get("kind") != "finished":
        raise RuntimeError(f"training did not finish: {outcome} (warnings: {warnings}; log: "
                           f"{canvas.log.toPlainText()[-800:]})")
    return {"setting": {"arch": "ddpm", "preset": args.train_preset, "steps": args.train_steps,
                        "preview_every": args.preview_every, "checkpoint_every": args.checkpoint_every,
                        "batch_size": args.batch_size or "preset", "data": os.path.relpath(args.data, ROOT),
                        "trainer_args": request.args()},
            "runs": [{"run": 1, "job_seconds": round(seconds, 2), "trainer_first_progress_s":
                      round(first_progress[0], 2) if first_progress else None, "events": counts,
                      "outcome": outcome.get("message"), "loss_points_plotted": len(canvas.plot.steps),
                      **hb.summary(args.target_ms)}]}


def scenario_startup(args, app, window, warnings, hb) -> dict:
    """From show() until the models are listed (torch imported in the background), then Train."""
    seconds = wait_until(app, lambda: window.generate.model_box.count() > 0, 300, "the registry to load")
    hb.mark("registry loaded")
    idle(app, 300)
    hb.stop()
    load = {"run": 1, "what": "show() until the registry has loaded in the background",
            "registry_seconds": round(seconds, 2), **hb.summary(args.target_ms)}
    hb2 = Heartbeat(args.interval, args.stacks)
    hb2.start()
    hb2.mark("switch to Train")
    window.show_canvas("Train")
    idle(app, 500)
    hb2.stop()
    switch = {"run": 2, "what": "first switch to the Train canvas (builds the loss plot)", **hb2.summary(args.target_ms)}
    return {"setting": {}, "runs": [load, switch]}


def child(args) -> None:
    proto = os.fdopen(os.dup(1), "w", buffering=1)  # the result on the real stdout; stray prints -> stderr
    os.dup2(2, 1)
    sys.path.insert(0, ROOT)
    result: dict
    window = None
    try:
        hb = None
        if args.child == "startup":  # the heartbeat needs the application; start it before the window
            from PySide6.QtWidgets import QApplication
            QApplication.instance() or QApplication(sys.argv[:1])
            hb = Heartbeat(args.interval, args.stacks)
        app, window, warnings = open_window(args)
        if hb is not None:
            hb.start()
            hb.mark("window shown, registry loading")
            result = scenario_startup(args, app, window, warnings, hb)
        elif args.child == "generate":
            result = scenario_generate(args, app, window, warnings)
        else:
            result = scenario_train(args, app, window, warnings)
        result["warnings"] = warnings
        import torch
        result["torch_threads"] = torch.get_num_threads()
        result["qt_platform"] = app.platformName()
    except Exception as err:  # noqa: BLE001 - the parent reports it
        result = {"error": f"{type(err).__name__}: {err}"[:2000], "traceback": traceback.format_exc()[-3000:]}
    if window is not None and window.train.run is not None:  # never leave a trainer behind
        window.train.run.kill()
        if hasattr(window.train.run, "process"):
            window.train.run.process.waitForFinished(10_000)
    proto.write(json.dumps(result) + "\n")
    proto.flush()
    os._exit(0)  # no teardown: a trainer or worker thread must not hold the benchmark up


# -- parent ---------------------------------------------------------------------------------------
class Xvfb:
    def __init__(self):
        if not shutil.which("Xvfb"):
            raise RuntimeError("Xvfb is not installed (apt-get install xvfb), use --platform offscreen")
        read, write = os.pipe()
        self.proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1920x1080x24", "-nolisten", "tcp"],
                                     pass_fds=(write,), stderr=subprocess.DEVNULL)
        os.close(write)
        with os.fdopen(read) as fh:
            self.display = ":" + fh.readline().strip()

    def close(self):
        self.proc.terminate()
        self.proc.wait()


def run_child(scenario: str, args, env: dict) -> dict:
    home = tempfile.mkdtemp(prefix="genstudio-bench-ui-")
    try:
        cmd = [sys.executable, os.path.abspath(__file__), "--child", scenario, *forwarded(args)]
        # Its own process group: on a timeout or a crash the group goes, trainer child included.
        proc = subprocess.Popen(cmd, cwd=ROOT, env={**env, "GENSTUDIO_HOME": home}, stdout=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            out, _ = proc.communicate(timeout=args.timeout + 300)
        except subprocess.TimeoutExpired:
            out = ""
        finally:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
        lines = [line for line in out.splitlines() if line.startswith("{")]
        if lines:
            return json.loads(lines[-1])
        return {"error": f"child exited {proc.returncode} without a result"
                         + (" (SIGABRT: see its stderr above, e.g. a fatal Python error)" if proc.returncode == -6 else "")}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def forwarded(args) -> list[str]:
    out = []
    for key in ("images", "gen_steps", "repeats", "train_preset", "train_steps", "preview_every", "checkpoint_every",
                "batch_size", "data", "interval", "target_ms", "tail_ms", "threads", "timeout"):
        value = getattr(args, key)
        if value is not None:
            out.append(f"--{key.replace('_', '-')}={value}")
    return out + (["--stacks"] if args.stacks else [])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenarios", default="generate,train", help=f"comma-separated, of {', '.join(SCENARIOS)} "
                    "(default generate,train; startup is informational)")
    ap.add_argument("--platform", choices=("offscreen", "xvfb"), default="offscreen")
    ap.add_argument("--images", type=int, default=16)
    ap.add_argument("--gen-steps", type=int, default=50)
    ap.add_argument("--repeats", type=int, default=2, help="generations in a row (the first loads the model)")
    ap.add_argument("--train-preset", default="small")
    ap.add_argument("--train-steps", type=int, default=20)
    ap.add_argument("--preview-every", type=int, default=5)
    ap.add_argument("--checkpoint-every", type=int, default=10)
    ap.add_argument("--batch-size", type=int, help="override the preset's batch size (default: the preset's)")
    ap.add_argument("--data", default=os.path.join(ROOT, "resources", "samples", "emoji"))
    ap.add_argument("--interval", type=int, default=10, help="heartbeat interval, ms")
    ap.add_argument("--target-ms", type=float, default=TARGET_MS)
    ap.add_argument("--tail-ms", type=int, default=300, help="keep measuring this long after the job ends")
    ap.add_argument("--threads", type=int, default=0, help="the app's CPU threads setting (0 = torch default)")
    ap.add_argument("--timeout", type=int, default=900, help="seconds per job")
    ap.add_argument("--stacks", action="store_true", help="capture the UI thread's stack during each stall")
    ap.add_argument("--child", choices=SCENARIOS, help=argparse.SUPPRESS)
    args = ap.parse_args()
    args.data = os.path.abspath(args.data)
    if args.child:
        return child(args)
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    if bad := set(scenarios) - set(SCENARIOS):
        ap.error(f"unknown scenario(s): {', '.join(sorted(bad))}")
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("GENSTUDIO_MODELS", None)
    xvfb = None
    if args.platform == "xvfb":
        xvfb = Xvfb()
        env.update(DISPLAY=xvfb.display, QT_QPA_PLATFORM="xcb")
    else:
        env["QT_QPA_PLATFORM"] = "offscreen"
    load_start, t_start = os.getloadavg(), time.perf_counter()
    results = {}
    try:
        for scenario in scenarios:
            results[scenario] = run_child(scenario, args, env)
    finally:
        if xvfb:
            xvfb.close()
    verdicts = {}
    for name, res in results.items():
        runs = res.get("runs", [])
        if "error" in res:
            verdicts[name] = "ERROR"
            continue
        res["max_gap_ms"] = max(r["max_gap_ms"] for r in runs)
        res["p99_gap_ms"] = max(r["p99_gap_ms"] for r in runs)
        res[f"gaps_over_{args.target_ms:g}ms"] = sum(r[f"gaps_over_{args.target_ms:g}ms"] for r in runs)
        res["duration_s"] = round(sum(r["duration_s"] for r in runs), 2)
        res["verdict"] = verdicts[name] = "PASS" if all(r["verdict"] == "PASS" for r in runs) else "FAIL"
    print(json.dumps({
        "benchmark": "ui_responsiveness: UI-thread heartbeat gaps while jobs run",
        "target": f"no heartbeat gap > {args.target_ms:g} ms", "heartbeat_interval_ms": args.interval,
        "platform": args.platform, "threads_setting": args.threads or "torch default",
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"), "cpu_count": os.cpu_count(), "device": "cpu",
        "loadavg_1m": {"start": load_start[0], "end": os.getloadavg()[0]},
        "wall_seconds": round(time.perf_counter() - t_start, 1),
        "verdicts": verdicts, "scenarios": results,
    }, indent=1))


if __name__ == "__main__":
    main()
