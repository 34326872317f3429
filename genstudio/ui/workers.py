"""Background work for the UI: a worker thread drives a task's event generator.

The task (``tasks.generate.generate`` and the like) is a plain generator of core events that returns
its result; the worker iterates it off the UI thread, checks for cancel between steps, and hands
events and the result to the UI thread through queued signals (numpy arrays, never Qt pixmaps: those
belong to the UI thread). The superqt/napari pattern, without Qt in the task.
"""

from __future__ import annotations

import gc
import logging
import threading
import traceback
from collections.abc import Callable, Generator
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from genstudio.core.errors import GenStudioError

log = logging.getLogger(__name__)


class WorkerSignals(QObject):
    event = Signal(object)  # a core event: Progress, Preview, Log
    finished = Signal(object)  # the generator's return value
    failed = Signal(str)  # a sentence for the user
    cancelled = Signal()
    ended = Signal()  # always last: finished, failed or cancelled


class GeneratorWorker(QRunnable):
    """Runs ``make_generator()`` on the pool; ``cancel()`` stops it at the next yield."""

    def __init__(self, make_generator: Callable[[], Generator[Any, None, Any]]):
        super().__init__()
        self.make_generator = make_generator
        self.signals = WorkerSignals()
        self._cancel = threading.Event()
        self.setAutoDelete(False)  # the UI keeps a reference until `ended`

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def is_cancelled(self) -> bool:
        return self._cancel.is_set()

    def run(self) -> None:
        signals = self.signals
        try:
            result = self._drive()
        except GenStudioError as err:
            signals.failed.emit(str(err))
        except MemoryError:
            signals.failed.emit("Out of memory: generate fewer images at once, or use a smaller model.")
        except Exception as err:  # noqa: BLE001 - the user gets a sentence, the log the traceback
            log.error("worker failed:\n%s", traceback.format_exc())
            signals.failed.emit(f"Something went wrong: {err}")
        else:
            if self._cancel.is_set():
                signals.cancelled.emit()
            else:
                signals.finished.emit(result)
        finally:
            signals.ended.emit()

    def _drive(self) -> Any:
        gen = self.make_generator()
        try:
            while True:
                if self._cancel.is_set():
                    return None
                try:
                    event = next(gen)
                except StopIteration as stop:
                    return stop.value
                self.signals.event.emit(event)
        finally:
            gen.close()  # runs the generator's cleanup (no_grad contexts, files) on cancel too


_running: set[GeneratorWorker] = set()  # Python must not collect a worker the pool still runs


def bind(worker: GeneratorWorker, owner, on_finished: Callable[[Any], None] | None = None) -> GeneratorWorker:
    """Connect ``worker`` to a canvas's handlers ``_on_event``, ``_on_finished`` (or ``on_finished``),
    ``_on_failed``, ``_on_cancelled`` and ``_on_ended``: the wiring every canvas's job uses."""
    signals = worker.signals
    signals.event.connect(owner._on_event)
    signals.finished.connect(on_finished or owner._on_finished)
    signals.failed.connect(owner._on_failed)
    signals.cancelled.connect(owner._on_cancelled)
    signals.ended.connect(owner._on_ended)
    return worker


def device_worker(task: Callable[[Any], Generator[Any, None, Any]], device: str, threads: int) -> GeneratorWorker:
    """A worker that sets the thread count and resolves ``device`` off the UI thread (both may import
    torch), then runs ``task(device)``: how a canvas starts a job with a model."""

    def work():
        from genstudio.core.devices import resolve_device, set_threads

        set_threads(threads)
        return (yield from task(resolve_device(device)))

    return GeneratorWorker(work)


def start(worker: GeneratorWorker, pool: QThreadPool | None = None) -> GeneratorWorker:
    _running.add(worker)
    worker.signals.ended.connect(lambda: _running.discard(worker))
    (pool or QThreadPool.globalInstance()).start(worker)
    return worker


def run_in_background(fn: Callable[[], Any], on_done: Callable[[Any], None],
                      on_error: Callable[[str], None] | None = None) -> GeneratorWorker:
    """Run a plain function off the UI thread (a folder scan, importing torch); results by signal."""

    def as_generator():
        return fn()
        yield  # noqa: B901 - makes this a generator whose return value is fn()'s

    worker = GeneratorWorker(as_generator)
    worker.signals.finished.connect(on_done)
    if on_error is not None:
        worker.signals.failed.connect(on_error)
    return start(worker)


class MainThreadGarbageCollector(QObject):
    """Python's cyclic garbage collector runs in whichever thread happens to allocate. When that is a
    worker thread and the garbage holds Qt objects (a closed dialog, a replaced widget), Qt destroys them
    off their thread and the process crashes (seen: a segfault while a worker built a model). So the
    automatic collector is switched off and this timer runs the same generational collections on the UI
    thread instead, by the collector's own thresholds."""

    def __init__(self, interval_ms: int = 500, parent: QObject | None = None):
        super().__init__(parent)
        self.thresholds = gc.get_threshold()
        self.was_enabled = gc.isenabled()
        gc.disable()
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.collect)
        self.timer.start(interval_ms)

    def collect(self) -> int:
        """Collect the oldest generation whose count is over its threshold (and the younger ones)."""
        counts, generation = gc.get_count(), -1
        for g in range(3):
            if counts[g] <= self.thresholds[g]:
                break
            generation = g
        return gc.collect(generation) if generation >= 0 else 0

    def stop(self) -> None:
        self.timer.stop()
        gc.collect()
        if self.was_enabled:
            gc.enable()

