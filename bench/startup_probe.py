"""Runs inside the start-up benchmark's child process: says when the main window is shown and idle.

"Shown and idle": a visible top-level QMainWindow whose native window is exposed has painted, and
the event loop is about to block because nothing is left to do (QAbstractEventDispatcher's
aboutToBlock). Work an app queues for "right after show" (a zero timer) runs before that moment, so
deferring work that way does not flatter the figure. The child prints `READY <time.monotonic()>`
and quits; the parent took its own time.monotonic() just before it started the process.

The probe watches the main windows alone, from the moment they are shown (QMainWindow's show methods are
wrapped for both subject and floor). It used to filter every event of the application from Python: PySide
then made a Python type for every Qt class any event touched (a combo box's private container, its list
view, layouts...), 1,287 events and ~35-70 ms in Sitrep's first paint against 53 events in the bare window,
an observer's cost charged to the subject alone (docs/performance.md).

Kept to PySide6.QtCore and QtWidgets, which both the subject and the floor import anyway.
"""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QAbstractEventDispatcher, QEvent, QObject
from PySide6.QtWidgets import QApplication, QMainWindow

LIVE_WINDOW = "sitrep-main"  # ui/main_window.py: the console with every panel built on the services


class _ReadyProbe(QObject):
    def __init__(self, app: QApplication, wait_for_live: bool) -> None:
        super().__init__(app)
        self.app = app
        self.painted: set[int] = set()
        self.ready = False
        self.done = False
        self.wait_for_live = wait_for_live
        self.watched: set[int] = set()
        QAbstractEventDispatcher.instance().aboutToBlock.connect(self._about_to_block)

    def watch_window(self, window: QMainWindow) -> None:
        """Before it is shown: its Paint events reach `eventFilter` (its own, not its children's)."""
        if id(window) not in self.watched:
            self.watched.add(id(window))
            window.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.Paint:
            self.painted.add(id(obj))
        return False

    def _about_to_block(self) -> None:
        """READY: the first main window painted and idle (the first paint). LIVE: the console window with
        every panel painted and idle; the same moment when a start has no separate first paint."""
        if self.done:
            return
        for w in self.app.topLevelWidgets():
            if isinstance(w, QMainWindow) and w.isVisible() and id(w) not in self.watched:
                # Shown some other way than its show methods (none of Sitrep's are): watch it from now on
                # and have it paint again, so a paint is seen rather than assumed.
                self.watch_window(w)
                w.update()
            if (
                isinstance(w, QMainWindow)
                and w.isVisible()
                and id(w) in self.painted
                and w.windowHandle() is not None
                and w.windowHandle().isExposed()
            ):
                now = time.monotonic()
                if not self.ready:
                    self.ready = True
                    sys.stdout.write(f"READY {now:.6f}\n")
                if not self.wait_for_live or w.objectName() == LIVE_WINDOW:
                    self.done = True
                    sys.stdout.write(f"LIVE {now:.6f}\n")
                    sys.stdout.flush()
                    self.app.quit()
                    return
                sys.stdout.flush()


_SHOW_METHODS = ("show", "showMaximized", "showNormal", "showFullScreen")


def watch(app: QApplication, wait_for_live: bool = False) -> None:
    probe = _ReadyProbe(app, wait_for_live)
    app._bench_ready_probe = probe  # kept alive with the application
    for name in _SHOW_METHODS:
        shown = getattr(QMainWindow, name)

        def show(window: QMainWindow, _shown=shown) -> None:
            probe.watch_window(window)
            _shown(window)

        setattr(QMainWindow, name, show)


def run_floor() -> int:
    """The floor: a bare PySide6 QMainWindow, the console's size, shown."""
    app = QApplication(sys.argv[:1])
    watch(app)
    window = QMainWindow()
    window.resize(1400, 880)
    window.show()
    return app.exec()


def run_sitrep(argv: list[str]) -> int:
    """The subject: Sitrep's own entry point, with the probe attached to the QApplication it makes."""
    import ui.startup

    make_application = ui.startup.application

    def application(*args, **kwargs) -> QApplication:
        app = make_application(*args, **kwargs)
        watch(app, wait_for_live=True)
        return app

    ui.startup.application = application
    from app.__main__ import main

    return main(argv)
