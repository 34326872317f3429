"""Cyclic garbage is collected on the UI thread by a timer, never by a worker thread's allocations."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

pytest.importorskip("PySide6")


class Node:
    pass


def cycle() -> weakref.ref:
    node = Node()
    node.self = node  # unreachable once dropped: only the cyclic collector frees it
    return weakref.ref(node)


def test_a_worker_thread_never_collects_and_the_ui_timer_does(qtbot, main_thread_gc):
    assert not gc.isenabled()
    ref = cycle()
    seen_in_worker, kept = [], []

    def allocate():  # far past generation 0's threshold: an enabled collector would run right here
        kept.append([[] for _ in range(5 * gc.get_threshold()[0])])
        seen_in_worker.append(ref() is not None)

    worker = threading.Thread(target=allocate)
    worker.start()
    worker.join()
    assert seen_in_worker == [True]  # the worker's allocations did not free the cycle
    qtbot.waitUntil(lambda: ref() is None, timeout=5000)  # the UI thread's timer did


def test_collect_takes_the_oldest_generation_over_its_threshold(main_thread_gc):
    gc.collect()
    assert main_thread_gc.collect() == 0  # nothing over any threshold: nothing done
    ref = cycle()
    _junk = [[] for _ in range(2 * gc.get_threshold()[0])]
    main_thread_gc.collect()
    assert ref() is None
