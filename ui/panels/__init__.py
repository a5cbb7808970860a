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
    "ui.panels.alerts",
    "ui.panels.exercise",
    "ui.panels.review",
    "ui.panels.action_items",
    "ui.panels.runbooks",
    "ui.panels.checklists",
    "ui.panels.delegations",
    "ui.panels.problems",
    "ui.panels.vendors",
    "ui.panels.rotation",
    "ui.panels.assessment",
)


@dataclass(frozen=True)
class PanelSpec:
    """One panel and where it goes by default. The user's own arrangement is saved and restored.

    Default places, decided from these attributes only (so a new panel needs no change to the window):
    - Panels shown from the start (`visible_by_default`) form the working layout. Top docks span the
      window (the header); Left docks stand side by side as working columns; Right docks are tabbed
      together; Bottom docks sit under the main column, so the side columns keep their full height.
      The main column is the first Left or Right panel without a `default_width` (the timeline).
    - Panels opened on demand (`visible_by_default=False`: communications, sync queue, metrics…)
      share one tab group. The first one opened goes under the main column when an even split of
      that column leaves both their `readable_height` (a big monitor), else it becomes a tab beside
      it (a laptop); the ones opened after it join its tabs and are raised. `area` is only their
      fallback when the main column is hidden or floating. A panel the user has dragged somewhere
      stays where they put it.
    """

    id: str  # stable: the saved layout refers to it
    title: str
    factory: Callable[..., QWidget]  # (ctx) -> QWidget
    area: Qt.DockWidgetArea = Qt.DockWidgetArea.RightDockWidgetArea
    default_width: int | None = None
    shortcut: str | None = None  # focuses (and shows) the panel
    visible_by_default: bool = True
    # The least height (px, without the dock's title) at which the panel still does its job: a
    # table's first rows, a form's fields. None: the panel's own minimum size hint.
    readable_height: int | None = None
    # In a dock smaller than the panel's minimum size, scroll it rather than force the window past
    # the screen. None: panels opened on demand do (they go wherever there is room); the working
    # panels are sized by the window's column plan.
    scrolls_when_cramped: bool | None = None
    # The dock's title line (its name, float and close buttons). A panel that names itself, like the
    # header, can give the line back; it then stays docked (View menu shows and hides it).
    title_bar: bool = True

    @property
    def on_demand(self) -> bool:
        return not self.visible_by_default

    @property
    def scrolls(self) -> bool:
        return self.on_demand if self.scrolls_when_cramped is None else self.scrolls_when_cramped


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
