"""Reference cycles that hold Qt objects are collected on the GUI thread, never on a worker's.

A Qt object must be destroyed on its own thread; left to CPython, a cycle is collected on whichever
thread allocates when a threshold is crossed (the sync worker, a metrics job), and the Qt objects in it
are destroyed there. The console therefore collects from its event loop (ui/gui_thread_gc.py)."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication

from services.storage.paths import Paths
from ui.gui_thread_gc import GuiThreadCollector


class _Cycle:
    """A Qt object in a reference cycle: only the cycle collector can free it."""

    def __init__(self) -> None:
        self.qt = QObject()
        self.me = self


@pytest.fixture
def automatic_gc():
    """CPython's default (automatic collection on), for this test; the session's own policy after it."""
    was = gc.isenabled()
    gc.collect()  # every generation's count from zero: nothing is collected while the test sets up
    gc.enable()
    yield
    if not was:
        gc.disable()


def _garbage_cycle(died_on: list) -> None:
    cycle = _Cycle()
    weakref.finalize(cycle, lambda: died_on.append(threading.current_thread()))


def _allocate_on_a_worker(kept: list) -> None:
    """Far past the first generation's threshold, on another thread (kept alive: a count that falls
    back as objects are freed would not stay past it)."""

    def allocate() -> None:
        kept.append([[] for _ in range(20_000)])

    worker = threading.Thread(target=allocate, name="allocating-worker")
    worker.start()
    worker.join()


def test_without_the_collector_a_worker_thread_collects_the_qt_object(automatic_gc):
    died_on: list = []
    kept: list = []
    _garbage_cycle(died_on)
    _allocate_on_a_worker(kept)
    # What the collector exists for: CPython collected the cycle, and so destroyed its QObject, there.
    assert [t.name for t in died_on] == ["allocating-worker"]


def test_with_the_collector_the_gui_thread_collects_it(qtbot, automatic_gc):
    collector = GuiThreadCollector(interval_ms=20)
    collector.start()
    try:
        assert not gc.isenabled() and collector.active
        died_on: list = []
        kept: list = []
        _garbage_cycle(died_on)
        _allocate_on_a_worker(kept)
        assert died_on == []  # the worker crossed every threshold and collected nothing
        qtbot.waitUntil(lambda: bool(died_on), timeout=5000)  # the event loop's next tick did
        assert died_on == [threading.main_thread()]
    finally:
        collector.stop()
    assert gc.isenabled() and not collector.active  # automatic collection is back as it was


def test_the_console_collects_on_the_gui_thread_while_it_runs(
    sitrep, data_dir, qtbot, monkeypatch, automatic_gc
):
    from ui import console

    seen = {}

    def exec_then_close():
        seen["automatic"] = gc.isenabled()
        for w in QApplication.topLevelWidgets():
            if w.objectName() == "sitrep-main":
                w.close()
        return 0

    monkeypatch.setattr(QApplication, "exec", staticmethod(exec_then_close))
    paths = Paths(data_dir, data_dir / "config", data_dir / "logs", data_dir / "backups")
    paths.create()
    assert console.run_console(sitrep, paths=paths, author="tester") == 0
    assert seen == {"automatic": False}
    assert gc.isenabled()
