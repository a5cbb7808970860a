"""Starting the console: the QApplication, the crash handler, the window."""

from __future__ import annotations

import logging
import sys

from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QPixmap
from PySide6.QtWidgets import QApplication, QMessageBox, QSplashScreen

from services.core import Sitrep
from services.demo import demo_commander, open_demo
from services.storage.paths import Paths
from ui import startup
from ui.context import ChangeNotifier, IncidentSelection, UiContext
from ui.crash import CrashHandler
from ui.gui_thread_gc import GuiThreadCollector
from ui.identity import ask_who_is_at_the_keyboard, remembered_person

log = logging.getLogger(__name__)


def build_context(sitrep: Sitrep, *, paths: Paths, author: str) -> UiContext:
    settings = QSettings(str(paths.config / "ui.ini"), QSettings.Format.IniFormat)
    return UiContext(
        sitrep=sitrep,
        author=author,
        paths=paths,
        notifier=ChangeNotifier(sitrep),
        selection=IncidentSelection(),
        settings=settings,
    )


def run_console(sitrep: Sitrep, *, paths: Paths, author: str | None, login: str = "", demo: bool = False) -> int:
    """`author` is who `--as` / SITREP_USER named, or None: then the person remembered at this
    workstation, or asked (the demo's person at the keyboard is its commander)."""
    app = startup.application()
    # Before any window or worker exists: from here on, Qt objects left in reference cycles are
    # collected (and so destroyed) on this thread, never on the sync worker's or a pool thread.
    collector = GuiThreadCollector(app)
    collector.start()
    try:
        return _run_window(app, sitrep, paths=paths, author=author, login=login, demo=demo)
    finally:
        collector.stop()
        collector.deleteLater()


def _run_window(app: QApplication, sitrep: Sitrep, *, paths: Paths, author: str | None, login: str,
                demo: bool) -> int:
    splash = _starting(app, "Seeding the demo incident…" if demo else "Opening the console…")
    shown = open_console_window(sitrep, paths=paths, author=author, login=login, demo=demo, splash=splash)
    try:
        return app.exec()
    finally:
        shown.close()


class ShownConsole:
    """The console window on screen, with what must be undone when the event loop ends."""

    def __init__(self, window, ctx: UiContext, crash: CrashHandler, sitrep: Sitrep) -> None:
        self.window, self.ctx, self.crash, self.sitrep = window, ctx, crash, sitrep

    def close(self) -> None:
        # The window is gone; an answer still on its way is not waited for long: the item stays in
        # flight and is looked up at the next start.
        self.sitrep.sync.stop(timeout=3.0)
        self.crash.uninstall()
        self.ctx.notifier.close()


def open_console_window(sitrep: Sitrep, *, paths: Paths, author: str | None, login: str = "", demo: bool = False,
                        splash: QSplashScreen | None = None, first_paint=None, panels=None) -> ShownConsole:
    """Build and show the console window. `first_paint` (ui.startup.FirstPaint) is the window shown while
    the services loaded: the console takes its place and runs what was asked there."""
    demo_incident = None
    if demo:
        demo_incident = open_demo(sitrep)
        author = author or demo_commander(sitrep, demo_incident)
    # Deferred start-up cost: show_startup_error (a store that cannot be opened) needs this module
    # only, not every panel the window loads.
    from ui.main_window import MainWindow

    ctx = build_context(sitrep, paths=paths, author=author or login)
    if author is None:
        remembered = remembered_person(ctx.settings)
        if remembered is None and splash is not None:
            splash.hide()  # the question must not sit behind it
        ctx.author = remembered or ask_who_is_at_the_keyboard(ctx, login)
    window = MainWindow(ctx, panels)
    if demo_incident is not None:
        window.reload_incidents(select=demo_incident.id)
    crash = CrashHandler(lambda: window)
    for panel in window.panels.values():
        saver = getattr(panel, "save_draft", None)
        if callable(saver):
            crash.savers.append(saver)
    crash.install()
    if first_paint is not None:
        timeline = window.panels.get("timeline")
        first_paint.hand_over(window, getattr(timeline, "entry", None), getattr(timeline, "submit", lambda: None))
    window.show()
    if splash is not None:
        splash.finish(window)
    if first_paint is not None:
        first_paint.close()
        first_paint.deleteLater()
    # Sync runs beside the window on its own thread, connections and database session; a read-only
    # store has nothing it could record an answer in.
    if not sitrep.read_only:
        sitrep.sync.start()
    return ShownConsole(window, ctx, crash, sitrep)


def _starting(app: QApplication, what: str) -> QSplashScreen:
    """A sign of life at once: building the window (and a demo's story) takes seconds on a busy laptop."""
    pixmap = QPixmap(460, 140)
    pixmap.fill(QColor("#1f2a44"))
    splash = QSplashScreen(pixmap)
    splash.setObjectName("startup-splash")
    font = splash.font()
    font.setPointSizeF(font.pointSizeF() * 1.3)
    splash.setFont(font)
    splash.showMessage(f"Sitrep\n\n{what}", Qt.AlignmentFlag.AlignCenter, QColor("white"))
    splash.show()
    app.processEvents()
    return splash


def show_startup_error(message: str) -> None:
    """The store could not be opened: say why in a window (and on stderr for whoever started us)."""
    print(f"sitrep: error: {message}", file=sys.stderr)
    try:
        startup.application()
        QMessageBox.critical(None, "Sitrep cannot start", message)
    except Exception:  # no display at all: stderr already has it
        log.exception("could not show the start-up error dialog")
