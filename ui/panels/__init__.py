"""The console's panels. Adding one is one new module here and one line in PANEL_MODULES.

A panel module defines `PANEL = PanelSpec(...)`. Its factory gets the UiContext and returns a
QWidget; if the widget has `set_incident(incident_or_none)`, the main window calls it whenever
the commander switches incidents (or the current one changes state). Modules are imported when
the window is built, so heavy imports (pyqtgraph) belong inside the factory or the widget.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QWidget

# Order is the order of the View menu.
PANEL_MODULES: tuple[str, ...] = (
    "ui.panels.header",
    "ui.panels.incidents",
    "ui.panels.timeline",
    "ui.panels.roles",
    "ui.panels.comms",
    "ui.panels.stakeholder_log",
    "ui.panels.regulatory",
    "ui.panels.sync",
    "ui.panels.charts",
    "ui.panels.maintenance",
)


@dataclass(frozen=True)
class PanelSpec:
    id: str  # stable: the saved layout refers to it
    title: str
    factory: Callable[..., QWidget]  # (ctx) -> QWidget
    # Default place: Top and Bottom docks are tabbed; Left docks stand side by side (the working
    # columns); Right docks are tabbed together. The user's own arrangement is saved and restored.
    area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea
    default_width: int | None = None
    shortcut: str | None = None  # focuses (and shows) the panel
    visible_by_default: bool = True


def load_panels(modules: tuple[str, ...] = PANEL_MODULES) -> list[PanelSpec]:
    specs = []
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:  # a panel not written yet; the rest of the console still opens
                continue
            raise
        specs.append(module.PANEL)
    return specs
