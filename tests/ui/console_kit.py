"""Helpers for console tests: a real UiContext over the test's store, and a main window with chosen panels."""

from __future__ import annotations

from pathlib import Path

from services.core import Sitrep
from services.paths import Paths
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
