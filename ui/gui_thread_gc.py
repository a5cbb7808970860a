"""Python's cycle collector, run on the GUI thread only.

CPython collects reference cycles on whichever thread happens to cross an allocation threshold. In the
console that is as often the sync worker, a metrics job or a backend request on a pool thread as the GUI
thread. When a cycle holds the last reference to a Qt object that Python owns (a ChangeNotifier whose
context also holds the window, a chart item tied to its own callbacks), Qt then destroys that object on
the collecting thread, and Qt objects may only be destroyed on their own thread: a QFileSystemWatcher
torn down on a pool thread leaves its inotify notifier registered with the GUI thread's event loop, which
then says "QSocketNotifier: Invalid socket ... disabling" on every iteration, for ever, and the heap is
corrupted (an abort or a segfault some time later, somewhere else).

So while the console runs, automatic collection is off and the GUI thread collects on a timer, one
generation at a time with CPython's own thresholds: as much collecting as before, only on this thread.
"""

from __future__ import annotations

import gc

from PySide6.QtCore import QObject, QTimer

INTERVAL_MS = 500


def collect_due() -> int:
    """The collection CPython would have made by now: the oldest generation past its threshold (none if no
    generation is). Returns the number of unreachable objects found."""
    counts = gc.get_count()
    thresholds = gc.get_threshold()
    for generation in (2, 1, 0):
        if thresholds[generation] and counts[generation] > thresholds[generation]:
            return gc.collect(generation)
    return 0


class GuiThreadCollector(QObject):
    """Switches automatic collection off on `start()` and collects from the GUI thread's event loop;
    `stop()` collects what is garbage now, here, and puts automatic collection back as it was."""

    def __init__(self, parent: QObject | None = None, interval_ms: int = INTERVAL_MS) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(collect_due)
        self._was_enabled: bool | None = None

    def start(self) -> None:
        if self._was_enabled is None:
            self._was_enabled = gc.isenabled()
        gc.disable()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
        gc.collect()
        if self._was_enabled:
            gc.enable()
        self._was_enabled = None

    @property
    def active(self) -> bool:
        return self._timer.isActive()
