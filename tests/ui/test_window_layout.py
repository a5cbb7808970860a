"""The console's first-run layout: it fits the screen, and the timeline keeps a readable width."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from console_kit import console_context, main_window
from PySide6.QtWidgets import QApplication

from services.demo import seed_demo
from ui.main_window import MIN_MAIN_COLUMN, plan_columns
from ui.panels.header import HeaderPanel
from ui.timefmt import humanise_times, viewer_zone


@pytest.fixture
def ctx(sitrep, data_dir):
    sitrep.incidents.declare("Checkout down", "SEV1", author="tester")
    ctx = console_context(sitrep, data_dir)
    yield ctx
    ctx.notifier.close()


COLUMNS = [("incidents", 300, False), ("timeline", None, False), ("roles", 380, True)]


def test_a_wide_screen_gives_every_panel_its_own_column():
    plan = plan_columns(2560, COLUMNS, MIN_MAIN_COLUMN)
    assert plan.tab_into is None and plan.tabbed == []
    assert plan.widths == {"incidents": 300, "timeline": 2560 - 300 - 380 - 24, "roles": 380}


def test_a_laptop_screen_puts_the_left_panels_in_tabs_beside_the_right_one():
    plan = plan_columns(1366, COLUMNS, MIN_MAIN_COLUMN)  # 3 columns would leave the timeline 662 px
    assert plan.tab_into == "roles" and plan.tabbed == ["incidents"]
    assert plan.widths == {"timeline": 1366 - 380 - 16, "roles": 380}
    assert plan.widths["timeline"] >= MIN_MAIN_COLUMN


def test_nothing_to_tab_into_keeps_the_columns():
    plan = plan_columns(900, COLUMNS[:2], MIN_MAIN_COLUMN)
    assert plan.tab_into is None and plan.widths == {"incidents": 300, "timeline": 900 - 300 - 16}


def test_the_real_window_fits_its_screen_and_follows_the_plan(ctx, qtbot):
    window = main_window(ctx, qtbot)
    window.show()
    qtbot.waitExposed(window)
    qtbot.waitUntil(lambda: window._widths_applied)
    # The screen is narrow: the incidents list is a tab beside the role board.
    qtbot.waitUntil(lambda: window.docks["incidents"] in window.tabifiedDockWidgets(window.docks["roles"]))
    assert window.docks["timeline"].width() > window.docks["roles"].width()
    assert window.docks["header"].height() < 120  # two lines, not a third of the screen


def test_iso_times_in_messages_are_shown_on_the_viewers_clock():
    value = datetime(2026, 3, 14, 9, 5, 7, 123456, tzinfo=UTC)
    text = "Clock breached: Bridge open was due 2026-03-14T09:05:07.123456Z (SEV1)"
    local = value.astimezone(viewer_zone())
    same_day = humanise_times(text, now=value)
    assert same_day == f"Clock breached: Bridge open was due {local.strftime('%H:%M:%S %Z')} (SEV1)"
    other_day = humanise_times(text, now=datetime(2026, 3, 20, tzinfo=UTC))
    assert local.strftime("%a %d %b %H:%M:%S") in other_day
    assert not re.search(r"\dT\d", other_day)
    assert humanise_times("no times here") == "no times here"


def test_the_header_has_no_dock_title_line(ctx, qtbot):
    window = main_window(ctx, qtbot)
    window.show()
    qtbot.waitExposed(window)
    dock, header = window.docks["header"], window.panels["header"]
    assert dock.titleBarWidget() is not None and dock.titleBarWidget().sizeHint().height() <= 0
    assert dock.height() <= header.height() + 4  # all of it is the header
    assert not dock.features() & dock.DockWidgetFeature.DockWidgetFloatable  # it could not be moved back
    window.close()


def test_the_header_is_one_line_when_everything_fits_and_two_on_a_laptop(ctx, qtbot):
    sev1 = seed_demo(ctx.sitrep)  # a long title, services, a commander, three clocks
    header = HeaderPanel(ctx)
    qtbot.addWidget(header)
    header.resize(1366, 200)
    header.show()
    qtbot.waitExposed(header)
    header.set_incident(sev1)
    qtbot.waitUntil(lambda: not header.is_one_line() and header.title_label.text() == sev1.title)
    assert header.commander_label.text().startswith("IC ")
    # What a top dock gives it: its lines, no more (measured once the new text is laid out).
    qtbot.waitUntil(lambda: header.maximumHeight() == header.layout().sizeHint().height())
    two_lines = header.maximumHeight()
    assert header.one_line_width() > 1366

    header.resize(header.one_line_width() + 60, 200)
    qtbot.waitUntil(header.is_one_line)
    qtbot.waitUntil(lambda: header.maximumHeight() < two_lines * 0.75)
    for label in (header.title_label, header.commander_label):  # shown whole, not shortened
        assert label.width() >= label.fontMetrics().horizontalAdvance(label.text())
    chips = [c.geometry() for c in header.chips]
    assert chips and all(c.top() < header.title_label.geometry().bottom() for c in chips)  # same line

    header.resize(header.one_line_width() + 10, 200)  # a countdown's width changing: no flip back
    QApplication.processEvents()
    assert header.is_one_line()
    header.resize(header.one_line_width() - 40, 200)
    qtbot.waitUntil(lambda: not header.is_one_line())
    header.shutdown()
