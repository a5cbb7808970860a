"""Where panels opened on demand go, at laptop and monitor sizes, and what a saved layout keeps.

The window is sized by hand (the offscreen screen is 800×800) and laid out as on a first run at
that size with Reset layout, which is what a new user on that screen sees.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from console_kit import console_context, open_window, settle
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import QLabel, QTableWidget, QVBoxLayout, QWidget

from services.demo import seed_demo
from ui.main_window import PLACED_BY_USER_KEY, MainWindow, PanelScroll
from ui.panels import PanelSpec, load_panels

# Opening an incident raises the main window; the offscreen platform cannot, and says so.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support raise")

ON_DEMAND = ["comms", "stakeholder_log", "sync", "charts"]
OLD_INI = Path(__file__).parent / "data" / "ui-before-panel-placement.ini"
# A maximized window's inside on a 1366×768 laptop and a 2560×1440 monitor (less the title bar).
LAPTOP = (1366, 745)
SMALL_LAPTOP = (1280, 697)
MONITOR = (2560, 1380)
FULL_HD_FIRST_RUN = (1632, 918)  # 85% of 1920×1080: the incidents list keeps its own column


@pytest.fixture
def demo(sitrep):
    return seed_demo(sitrep)


@pytest.fixture
def ctx(sitrep, data_dir, demo):
    ctx = console_context(sitrep, data_dir)
    yield ctx
    ctx.notifier.close()


def first_run_window(ctx, qtbot, size, specs=None) -> MainWindow:
    window = open_window(ctx, qtbot, size, specs)
    window.reset_layout()
    settle()
    return window


@pytest.fixture
def windows(ctx, qtbot):
    opened: list[MainWindow] = []

    def make(size, specs=None, *, first_run=True) -> MainWindow:
        window = (first_run_window if first_run else open_window)(ctx, qtbot, size, specs)
        opened.append(window)
        return window

    yield make
    for window in opened:
        window.close()  # saves the layout and stops the panels' workers


def rows_in_view(view) -> int:
    model, port = view.model(), view.viewport().rect()
    return sum(port.contains(view.visualRect(model.index(r, 0))) for r in range(model.rowCount()))


def in_front(dock) -> bool:
    return dock.isVisible() and not dock.visibleRegion().isEmpty()


def group_of(window, panel_id: str) -> set[str]:
    dock = window.docks[panel_id]
    return {panel_id} | {window._panel_id(d) for d in window.tabifiedDockWidgets(dock)}


def go_to(window, panel_id: str) -> None:
    """What Alt+5…8 do: the panel's "Go to" command (or the View menu's "Show …" without a shortcut)."""
    title = window.docks[panel_id].windowTitle()
    go = next((a for a in window.commands if a.text() == f"Go to {title}"), None)
    if go is None:
        go = next(a for a in window.menus["View"].actions() if a.text() == f"Show {title}")
        assert not go.isChecked()
    go.trigger()
    settle()


def assert_readable(window, panel_id: str) -> None:
    dock, panel = window.docks[panel_id], window.panels[panel_id]
    assert in_front(dock)
    scroll = dock.widget()
    assert isinstance(scroll, PanelScroll)
    # The panel has its whole minimum size on screen: nothing to scroll to.
    assert not scroll.horizontalScrollBar().isVisible() and not scroll.verticalScrollBar().isVisible()
    least = panel.minimumSizeHint()
    assert panel.width() >= least.width() and panel.height() >= least.height()


# -- a laptop: the role board keeps its column, the opened panel takes the timeline's place ------------
@pytest.mark.parametrize("size", [LAPTOP, SMALL_LAPTOP], ids=["1366x768", "1280x720"])
def test_on_a_laptop_each_panel_opens_as_a_tab_beside_the_timeline_and_the_role_board_keeps_its_rows(
    windows, qtbot, size
):
    window = windows(size)
    board = window.panels["roles"].view
    all_roles = board.model().rowCount()
    assert all_roles >= 8 and rows_in_view(board) == all_roles
    column = window.docks["roles"].geometry()

    opened = {"timeline"}
    for panel_id in ON_DEMAND:
        go_to(window, panel_id)
        if panel_id == "charts":
            qtbot.waitUntil(lambda: window.panels["charts"].dashboard is not None, timeout=20_000)
            settle()
        opened.add(panel_id)
        assert group_of(window, panel_id) == opened  # one tab group, with the timeline one tab away
        assert_readable(window, panel_id)
        assert rows_in_view(board) == all_roles
        assert window.docks["roles"].geometry() == column
        assert window.size() == QSize(*size)  # nothing pushed the window past the screen

    go_to(window, "timeline")
    assert in_front(window.docks["timeline"]) and not in_front(window.docks["charts"])


def test_beside_the_incidents_column_of_a_full_hd_window_every_panel_still_fits(windows, qtbot):
    window = windows(FULL_HD_FIRST_RUN)
    assert window.docks["incidents"] not in window.tabifiedDockWidgets(window.docks["roles"])
    for panel_id in ON_DEMAND:
        go_to(window, panel_id)
        if panel_id == "charts":
            qtbot.waitUntil(lambda: window.panels["charts"].dashboard is not None, timeout=20_000)
            settle()
        assert_readable(window, panel_id)
    # The message buttons went to two rows rather than widen the panel.
    assert not window.panels["comms"].message_buttons.is_one_row()


def test_the_view_menu_opens_a_panel_in_the_same_place(windows):
    window = windows(LAPTOP)
    show = next(a for a in window.menus["View"].actions() if a.text() == "Show Communications")
    show.trigger()
    settle()
    assert group_of(window, "comms") == {"timeline", "comms"} and in_front(window.docks["comms"])
    assert show.isChecked()
    show.trigger()  # and closes it
    settle()
    assert window.docks["comms"].isHidden() and not show.isChecked()


def test_a_panel_shown_by_its_own_code_is_placed_too(windows, qtbot):
    window = windows(LAPTOP)
    window.docks["sync"].show()  # as the sync indicator's click or a plug-in might
    qtbot.waitUntil(lambda: group_of(window, "sync") == {"timeline", "sync"})
    assert rows_in_view(window.panels["roles"].view) == window.panels["roles"].view.model().rowCount()


def test_a_window_too_small_for_a_panel_scrolls_the_panel_instead_of_growing(windows):
    window = windows((1280, 500))
    go_to(window, "comms")
    assert window.size() == QSize(1280, 500)
    scroll = window.docks["comms"].widget()
    assert scroll.verticalScrollBar().isVisible()
    assert window.panels["comms"].height() >= window.panels["comms"].minimumSizeHint().height()


# -- a monitor: room for the timeline and the opened panel one above the other -----------------------
def test_on_a_monitor_the_first_panel_opens_under_the_timeline_and_the_next_ones_join_its_tabs(windows):
    window = windows(MONITOR)
    timeline = window.docks["timeline"]
    go_to(window, "comms")
    comms = window.docks["comms"]
    assert group_of(window, "comms") == {"comms"}  # not a tab: both are in view
    assert in_front(timeline) and in_front(comms)
    assert comms.geometry().top() > timeline.geometry().bottom()
    assert abs(comms.geometry().left() - timeline.geometry().left()) <= 2
    assert timeline.height() >= window.specs["timeline"].readable_height
    assert_readable(window, "comms")
    board = window.panels["roles"].view
    assert rows_in_view(board) == board.model().rowCount()
    assert window.docks["roles"].height() > timeline.height() + comms.height() - 40  # its full column

    go_to(window, "stakeholder_log")
    assert group_of(window, "stakeholder_log") == {"comms", "stakeholder_log"}
    assert in_front(window.docks["stakeholder_log"]) and in_front(timeline)
    assert_readable(window, "stakeholder_log")

    window.docks["comms"].close()
    window.docks["stakeholder_log"].close()
    settle()
    go_to(window, "sync")  # the group is closed: under the timeline again, not a third row
    assert group_of(window, "sync") == {"sync"} and in_front(timeline) and in_front(window.docks["sync"])
    assert window.docks["sync"].geometry().top() > timeline.geometry().bottom()


# -- a panel added on another branch: placed by its attributes alone ---------------------------------
class _ChecklistPanel(QWidget):
    def __init__(self, ctx) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Maintenance windows", self))
        layout.addWidget(QTableWidget(30, 4, self))


def _extra_specs() -> list[PanelSpec]:
    return [
        PanelSpec(
            id="planned-work",
            title="Planned work",
            factory=_ChecklistPanel,
            area=Qt.DockWidgetArea.BottomDockWidgetArea,
            visible_by_default=False,
        ),
        PanelSpec(
            id="clocks-board",
            title="Clock board",
            factory=_ChecklistPanel,
            area=Qt.DockWidgetArea.RightDockWidgetArea,
            visible_by_default=False,
        ),
    ]


@pytest.mark.parametrize("size", [LAPTOP, MONITOR], ids=["laptop", "monitor"])
def test_a_new_on_demand_panel_joins_the_group_whatever_its_area(windows, size):
    window = windows(size, load_panels() + _extra_specs())
    board = window.panels["roles"].view
    go_to(window, "planned-work")
    go_to(window, "clocks-board")
    go_to(window, "sync")
    group = group_of(window, "planned-work")
    assert {"planned-work", "clocks-board", "sync"} <= group
    assert ("timeline" in group) == (size == LAPTOP)
    assert in_front(window.docks["sync"])
    assert rows_in_view(board) == board.model().rowCount()


def test_a_visible_bottom_panel_sits_under_the_timeline_not_under_the_role_board(windows):
    bottom_visible = PanelSpec(
        id="clocks-board",
        title="Clock board",
        factory=_ChecklistPanel,
        area=Qt.DockWidgetArea.BottomDockWidgetArea,
    )
    window = windows(MONITOR, load_panels() + [bottom_visible])
    clocks, roles, timeline = (window.docks[i] for i in ("clocks-board", "roles", "timeline"))
    assert in_front(clocks) and in_front(timeline)
    assert clocks.geometry().top() > timeline.geometry().bottom()
    assert clocks.geometry().right() < roles.geometry().left()  # the role board keeps its full height


# -- what the user arranged stays theirs -----------------------------------------------------------
def test_a_panel_the_user_moved_keeps_its_place_across_runs_until_reset(ctx, windows):
    window = windows(LAPTOP)
    go_to(window, "sync")
    sync = window.docks["sync"]
    # The user drags it to the right column (a drop ends in the same call as this).
    window.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, sync)
    settle()
    assert "sync" in window._placed_by_user
    sync.close()
    go_to(window, "sync")
    assert window.dockWidgetArea(sync) == Qt.DockWidgetArea.RightDockWidgetArea
    assert "timeline" not in group_of(window, "sync")
    window.close()
    assert ctx.settings.value(PLACED_BY_USER_KEY) == "sync"

    again = windows(LAPTOP, first_run=False)
    assert again._layout_restored and again._placed_by_user == {"sync"}
    again.docks["sync"].close()
    go_to(again, "sync")
    assert again.dockWidgetArea(again.docks["sync"]) == Qt.DockWidgetArea.RightDockWidgetArea

    again.reset_layout()
    assert again._placed_by_user == set() and again.docks["sync"].isHidden()
    go_to(again, "sync")
    assert group_of(again, "sync") == {"timeline", "sync"}


def test_a_floated_panel_is_left_floating(windows):
    window = windows(LAPTOP)
    go_to(window, "stakeholder_log")
    window.docks["stakeholder_log"].setFloating(True)
    window.docks["stakeholder_log"].close()
    go_to(window, "stakeholder_log")
    assert window.docks["stakeholder_log"].isFloating()
    go_to(window, "comms")  # it does not pull the next one out with it
    assert not window.docks["comms"].isFloating() and group_of(window, "comms") == {"timeline", "comms"}


def test_a_layout_saved_by_the_previous_version_restores(ctx, windows):
    """ui.ini written by the console before this placement existed (comms lead's arrangement:
    Communications and the stakeholder log open at the bottom, the metrics floated)."""
    shutil.copy(OLD_INI, ctx.paths.config / "ui.ini")
    ctx.settings.sync()
    window = windows(LAPTOP, first_run=False)
    assert window._layout_restored
    assert window._placed_by_user == set()  # the old file has no such key: the rule applies
    comms, log, charts = (window.docks[i] for i in ("comms", "stakeholder_log", "charts"))
    assert not comms.isHidden() and not log.isHidden() and log in window.tabifiedDockWidgets(comms)
    assert window.dockWidgetArea(comms) == Qt.DockWidgetArea.BottomDockWidgetArea  # as they had it
    assert charts.isFloating() and not charts.isHidden()
    assert window.docks["sync"].isHidden()

    go_to(window, "sync")  # joins the open on-demand panels rather than splitting anything
    assert group_of(window, "sync") == {"comms", "stakeholder_log", "sync"}
    assert in_front(window.docks["sync"])

    window.reset_layout()
    assert all(window.docks[i].isHidden() for i in ON_DEMAND)
    assert not charts.isFloating()
    board = window.panels["roles"].view
    assert rows_in_view(board) == board.model().rowCount()
