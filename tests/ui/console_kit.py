"""Helpers for console tests: a real UiContext over the test's store, and a main window with chosen panels."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QApplication

from services.core import Sitrep
from services.storage.paths import Paths
from ui.console import build_context
from ui.context import UiContext
from ui.panels import load_panels


def console_context(sitrep: Sitrep, data_dir: Path, author: str = "tester") -> UiContext:
    paths = Paths(data_dir, data_dir / "config", data_dir / "logs", data_dir / "backups")
    paths.create()
    return build_context(sitrep, paths=paths, author=author)


def main_window(ctx: UiContext, qtbot, *modules: str):
    """The real MainWindow with only these panel modules (all of them when none are named)."""
    from ui.main_window import MainWindow

    specs = load_panels(modules) if modules else None
    window = MainWindow(ctx, specs)
    qtbot.addWidget(window)
    return window


def add_people(sitrep: Sitrep) -> None:
    sitrep.people.add("Ana Ruiz", "ana", email="ana@example.com", timezone="Europe/Madrid")
    sitrep.people.add("Bob Chen", "bob", timezone="America/New_York")
    sitrep.people.add("Chidi Okafor", "chidi", phone="+44 20 7946 0000", timezone="Europe/London")


def open_window(ctx: UiContext, qtbot, size: tuple[int, int], specs=None):
    """The real MainWindow shown and then sized by hand (the offscreen screen is 800×800), laid out as a
    first run at that size would be once its layout is restored or its default widths applied."""
    from ui.main_window import MainWindow

    window = MainWindow(ctx, specs)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    if not window._layout_restored:
        qtbot.waitUntil(lambda: window._widths_applied)
    window.setWindowState(Qt.WindowState.WindowNoState)
    window.resize(*size)
    qtbot.waitUntil(lambda: window.size() == QSize(*size))
    settle()  # a restored layout is applied again once the window has its size
    return window


def settle() -> None:
    for _ in range(5):
        QApplication.processEvents()
