"""The incidents list: order, filters, opening an incident, live refresh, against a real store."""

from __future__ import annotations

import threading

import pytest
from console_kit import add_people, console_context, main_window
from PySide6.QtCore import Qt
from sqlalchemy import event

from models.enums import Status
from services.changes import Change, Topic
from services.core import Sitrep
from services.record.incident_index import IncidentIndex
from ui.panels.incidents import CLOSED, OPEN, IncidentFilter, IncidentListModel


def declare(sitrep, clock, title, sev, *services, minutes=5):
    clock.advance(minutes=minutes)
    return sitrep.incidents.declare(title, sev, author="tester", services=list(services))


@pytest.fixture
def incidents(sitrep, clock):
    made = {
        "checkout": declare(sitrep, clock, "Checkout failing in EU", "SEV1", "checkout", "payments"),
        "search": declare(sitrep, clock, "Search results slow", "SEV3", "search"),
        "login": declare(sitrep, clock, "Login errors for SSO users", "SEV2", "auth"),
        "cdn": declare(sitrep, clock, "CDN cache misses", "SEV4", "cdn"),
    }
    sitrep.incidents.set_status(made["search"].id, Status.RESOLVED, author="tester")
    add_people(sitrep)
    return made


@pytest.fixture
def ctx(sitrep, data_dir, incidents):
    ctx = console_context(sitrep, data_dir)
    yield ctx
    ctx.notifier.close()


@pytest.fixture
def window(ctx, qtbot):
    w = main_window(ctx, qtbot, "ui.panels.incidents", "ui.panels.timeline")
    w.show()
    qtbot.waitExposed(w)
    return w


@pytest.fixture
def panel(window):
    return window.panels["incidents"]


# Opening an incident raises the main window; the offscreen platform cannot, and says so.
pytestmark = pytest.mark.qt_log_ignore("This plugin does not support raise")


def keys(model) -> list[str]:
    return [model.summary(r).key for r in range(model.rowCount())]


def test_model_passes_the_model_tester_through_filters_and_sorts(qtmodeltester, sitrep, incidents, clock):
    model = IncidentListModel(clock)
    qtmodeltester.check(model)
    model.set_summaries(IncidentIndex(sitrep.store).summaries())
    qtmodeltester.check(model)
    model.set_filter(IncidentFilter(status=OPEN))
    qtmodeltester.check(model)
    model.sort(IncidentListModel.COL_SEV, Qt.SortOrder.DescendingOrder)
    qtmodeltester.check(model)
    model.set_filter(IncidentFilter(text="nothing matches this"))
    qtmodeltester.check(model)
    assert model.rowCount() == 0


def test_open_incidents_come_first_then_the_newest(panel, incidents):
    # INC-0002 (search) is resolved: last, though not the oldest.
    assert keys(panel.model) == ["INC-0004", "INC-0003", "INC-0001", "INC-0002"]
    assert panel.count_label.text() == "3 open · 4 in all"
    m = panel.model
    resolved_row = keys(m).index("INC-0002")
    # Declared by hand with no alert on its record: resolving it opened its post-incident review.
    assert m.data(m.index(resolved_row, m.COL_STATUS)) == "Resolved · review Draft"
    assert "UTC" in m.data(m.index(0, m.COL_DECLARED), Qt.ItemDataRole.ToolTipRole)


def test_filters_by_status_severity_service_and_text(panel, qtbot):
    panel.set_status_filter(CLOSED)
    assert keys(panel.model) == ["INC-0002"]
    panel.set_status_filter(OPEN)
    assert keys(panel.model) == ["INC-0004", "INC-0003", "INC-0001"]
    panel.severity_filter.setCurrentIndex(panel.severity_filter.findData("SEV1"))
    assert keys(panel.model) == ["INC-0001"]
    assert panel.count_label.text() == "1 shown · 3 open · 4 in all"
    panel.clear_filters()
    services = [panel.service_filter.itemText(i) for i in range(panel.service_filter.count())]
    assert services == ["Any service", "auth", "cdn", "checkout", "payments", "search"]
    panel.service_filter.setCurrentIndex(panel.service_filter.findData("payments"))
    assert keys(panel.model) == ["INC-0001"]
    panel.clear_filters()
    qtbot.keyClicks(panel.text_filter, "sso login")  # every word, any order
    qtbot.waitUntil(lambda: keys(panel.model) == ["INC-0003"])
    panel.text_filter.setText("inc-000")
    qtbot.waitUntil(lambda: len(keys(panel.model)) == 4)


def test_enter_opens_the_incident_in_the_console(panel, window, ctx, incidents, qtbot):
    assert ctx.selection.current.key != "INC-0003"
    panel.view.setFocus()
    panel.view.setCurrentIndex(panel.model.index(keys(panel.model).index("INC-0003"), 0))
    qtbot.keyClick(panel.view, Qt.Key.Key_Return)
    assert ctx.selection.current.id == incidents["login"].id
    assert "INC-0003" in window.windowTitle()
    m = panel.model
    assert m.data(m.index(m.row_of(incidents["login"].id), 0), Qt.ItemDataRole.FontRole).bold()


def test_double_click_opens_the_incident(panel, ctx, incidents, qtbot):
    row = keys(panel.model).index("INC-0001")
    rect = panel.view.visualRect(panel.model.index(row, panel.model.COL_TITLE))
    qtbot.mouseClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert ctx.selection.current.id != incidents["checkout"].id  # one click selects, opens nothing
    qtbot.mouseDClick(panel.view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert ctx.selection.current.id == incidents["checkout"].id


def test_typing_a_filter_then_enter_opens_the_only_match(panel, ctx, incidents, qtbot):
    panel.focus_filter()
    qtbot.keyClicks(panel.text_filter, "cdn")
    qtbot.keyClick(panel.text_filter, Qt.Key.Key_Return)
    assert ctx.selection.current.id == incidents["cdn"].id


def test_down_arrow_in_the_filter_moves_into_the_list(panel, qtbot):
    panel.focus_filter()
    qtbot.keyClick(panel.text_filter, Qt.Key.Key_Down)
    assert panel.view.currentIndex().isValid()


def test_a_new_incident_appears_and_a_change_repaints_in_place(panel, sitrep, clock, incidents, qtbot):
    panel.view.setCurrentIndex(panel.model.index(keys(panel.model).index("INC-0001"), 0))
    resets = []
    panel.model.modelReset.connect(lambda: resets.append(1))
    sitrep.incidents.set_severity(
        incidents["checkout"].id, "SEV2", author="tester", reason="contained to one region"
    )
    qtbot.waitUntil(lambda: panel.model.summary(panel.view.currentIndex().row()).severity == "SEV2")
    assert resets == []  # same place in the list: no reset, the selection stays
    assert panel.model.summary(panel.view.currentIndex().row()).key == "INC-0001"

    for i in range(20):  # a burst of changes is one refresh
        declare(sitrep, clock, f"Burst {i}", "SEV4", "burst", minutes=1)
    qtbot.waitUntil(lambda: panel.model.total() == 24)
    assert len(resets) == 1
    assert keys(panel.model)[0] == "INC-0024"
    assert panel.service_filter.findData("burst") > 0
    assert panel.model.summary(panel.view.currentIndex().row()).key == "INC-0001"  # selection kept


def test_resolving_moves_an_incident_below_the_open_ones(panel, sitrep, incidents, qtbot):
    sitrep.incidents.set_status(incidents["cdn"].id, Status.RESOLVED, author="tester")
    qtbot.waitUntil(lambda: keys(panel.model)[-2:] == ["INC-0004", "INC-0002"])
    assert panel.count_label.text() == "2 open · 4 in all"


def test_changes_from_another_process_appear(panel, data_dir, qtbot):
    other = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}")  # as `sitrep declare` in a terminal would
    try:
        other.incidents.declare("Queue backlog", "SEV2", author="cli", services=["queue"])
    finally:
        other.close()
    qtbot.waitUntil(lambda: panel.model.total() == 5, timeout=5000)
    assert "Queue backlog" in [panel.model.summary(r).title for r in range(panel.model.rowCount())]


def test_an_unchanged_incidents_table_is_not_reread(panel, sitrep, incidents, qtbot):
    resets = []
    panel.model.modelReset.connect(lambda: resets.append(1))
    sitrep.roles.assign(incidents["login"].id, "IC", "ana", author="tester")  # stamps updated_at
    sitrep.timeline.log(incidents["login"].id, "Rolled back the SSO config", author="tester")
    panel._on_change(Change(Topic.EXTERNAL, None, None))  # what the store watcher says ~1 s later
    panel.flush()
    assert resets == []
    assert panel.model.fingerprint() == IncidentIndex(sitrep.store).fingerprint()


def test_sorting_by_a_column_and_back_to_open_first(panel):
    header = panel.view.horizontalHeader()
    panel.view.sortByColumn(IncidentListModel.COL_KEY, Qt.SortOrder.AscendingOrder)
    assert keys(panel.model) == ["INC-0001", "INC-0002", "INC-0003", "INC-0004"]
    panel.view.sortByColumn(IncidentListModel.COL_SEV, Qt.SortOrder.AscendingOrder)
    assert keys(panel.model)[0] == "INC-0001"  # SEV1
    header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
    assert keys(panel.model) == ["INC-0004", "INC-0003", "INC-0001", "INC-0002"]


def test_find_action_is_in_the_menu_with_a_shortcut(window, panel):
    found = [a for a in window.commands if a.text() == "Find an incident in the list"]
    assert found and not found[0].shortcut().isEmpty()
    found[0].trigger()
    assert panel.text_filter.hasFocus() or window.focusWidget() is panel.text_filter


def test_index_reads_summaries_by_id_in_chunks(sitrep, clock, incidents):
    index = IncidentIndex(sitrep.store)
    everything = index.summaries()
    ids = [s.id for s in everything] * 300  # more than one IN (...) chunk, with repeats
    assert index.summaries(ids) == everything
    assert index.fingerprint().count == 4


def test_the_title_column_takes_the_width_the_others_leave(panel, qtbot, incidents):
    view, m = panel.view, IncidentListModel
    hh = view.horizontalHeader()

    def fills() -> bool:
        return sum(hh.sectionSize(c) for c in range(hh.count())) == view.viewport().width()

    panel.resize(900, 400)
    qtbot.waitUntil(fills)
    wide = hh.sectionSize(m.COL_TITLE)
    panel.resize(1300, 400)
    qtbot.waitUntil(fills)
    assert hh.sectionSize(m.COL_TITLE) > wide
    # Narrower than the columns need: the title keeps a readable width and the list scrolls sideways.
    panel.resize(260, 400)
    qtbot.waitUntil(lambda: hh.sectionSize(m.COL_TITLE) == panel._title_min_width)
    row = keys(panel.model).index(incidents["checkout"].key)
    tip = panel.model.index(row, m.COL_TITLE).data(Qt.ItemDataRole.ToolTipRole)
    assert tip.startswith("Checkout failing in EU")


def test_a_whole_list_reread_runs_off_the_gui_thread(panel, sitrep, data_dir, qtbot):
    readers: list[int] = []

    def whole_list_read(_conn, _cursor, statement, *_args) -> None:
        # The list's own whole-table read (the switcher reads its recent 300 through the ORM).
        if "incidents.services AS services" in statement and "WHERE" not in statement:
            readers.append(threading.get_ident())

    event.listen(sitrep.store.reader, "before_cursor_execute", whole_list_read)
    try:
        other = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}")  # another process's write
        try:
            other.incidents.declare("Queue backlog", "SEV2", author="cli", services=["queue"])
        finally:
            other.close()
        qtbot.waitUntil(lambda: panel.model.total() == 5, timeout=5000)
    finally:
        event.remove(sitrep.store.reader, "before_cursor_execute", whole_list_read)
    assert readers and threading.get_ident() not in readers
    assert panel.service_filter.findData("queue") > 0


def test_an_incident_switched_to_before_the_list_has_it_is_highlighted_when_it_arrives(
    panel, sitrep, clock, incidents, qtbot
):
    """The console shows an incident declared a moment ago (another process, a dialog): the highlight moves
    to it when the list reads it, rather than staying on the one shown before."""
    panel.view.setCurrentIndex(panel.model.index(keys(panel.model).index("INC-0001"), 0))
    fresh = declare(sitrep, clock, "Queue backlog", "SEV2", "queue", minutes=1)
    panel.set_incident(sitrep.incidents.get(fresh.id))
    qtbot.waitUntil(lambda: panel.model.row_of(fresh.id) is not None)
    qtbot.waitUntil(lambda: panel.model.summary(panel.view.currentIndex().row()).id == fresh.id)
