"""The incident header and the dialogs it opens, driven through the real widgets against a real store."""

from __future__ import annotations

from datetime import timedelta

import pytest
from console_kit import console_context, main_window
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from models.enums import MILESTONE_ORDER, EntryKind, Milestone, Status
from ui.dialogs.incident import ORDER_CHAINS, next_statuses
from ui.panels.header import EXERCISE_COLOURS, MAJOR_COLOURS, STATUS_COLOURS, HeaderPanel
from ui.severity import (
    BREACH_COLOURS,
    MET_COLOURS,
    MET_LATE_COLOURS,
    SEVERITY_COLOURS,
    WARNING_COLOURS,
    SeverityMatrixModel,
    contrast_ratio,
)


@pytest.fixture
def ctx(sitrep, data_dir):
    ctx = console_context(sitrep, data_dir)
    yield ctx
    ctx.notifier.close()


@pytest.fixture
def sev1(sitrep, clock):
    return sitrep.incidents.declare(
        "Checkout: card payments failing",
        "SEV1",
        author="tester",
        services=["checkout", "payments-api"],
        impact_started_at=clock() - timedelta(minutes=7),
    )


@pytest.fixture
def header(ctx, qtbot, sev1):
    panel = HeaderPanel(ctx)
    qtbot.addWidget(panel)
    panel.resize(1300, 80)
    panel.show()
    qtbot.waitExposed(panel)
    ctx.selection.set(ctx.sitrep.incidents.get(sev1.id))
    panel.set_incident(ctx.selection.current)
    return panel


def entries(sitrep, incident_id, kind: EntryKind):
    return [e for e in sitrep.timeline.entries(incident_id) if e.kind == kind.value]


def chip(header, clock_id):
    return next(c for c in header.chips if c.clock is not None and c.clock.id == clock_id)


# -- what it shows ---------------------------------------------------------------------------
def test_header_shows_key_title_badges_and_stopwatches(header, sev1, clock):
    assert header.key_label.text() == sev1.key
    assert header.title_label.text() == "Checkout: card payments failing"
    assert header.severity_badge.text() == "SEV1"
    assert SEVERITY_COLOURS["SEV1"][0] in header.severity_badge.styleSheet()
    assert header.status_badge.text() == "Declared"
    assert not header.major_badge.isHidden()  # SEV1 is a major-incident level
    assert header.exercise_badge.isHidden()
    assert "checkout, payments-api" in header.services_label.text()

    clock.advance(minutes=12, seconds=5)
    header.update_times()
    assert "running <b>12:05</b>" in header.declared_label.text()
    assert "<b>19:05</b>" in header.impact_label.text()  # impact began 7 min before declaration
    tip = header.declared_label.toolTip()
    assert "UTC" in tip and "(your time)" in tip


def test_exercise_and_empty_states(ctx, qtbot, sitrep):
    panel = HeaderPanel(ctx)
    qtbot.addWidget(panel)
    assert not panel.empty_label.isHidden()
    assert not panel.status_action.isEnabled() and panel.declare_action.isEnabled()
    drill = sitrep.incidents.declare("Tabletop: ransomware", "SEV3", author="tester", is_exercise=True)
    panel.set_incident(drill)
    assert panel.empty_label.isHidden()
    assert not panel.exercise_badge.isHidden() and panel.major_badge.isHidden()
    assert panel.status_action.isEnabled()


def test_every_badge_reads_at_wcag_aa_contrast():
    pairs = [
        *SEVERITY_COLOURS.values(),
        *STATUS_COLOURS.values(),
        BREACH_COLOURS,
        WARNING_COLOURS,
        MET_COLOURS,
        MET_LATE_COLOURS,
        MAJOR_COLOURS,
        EXERCISE_COLOURS,
    ]
    for bg, fg in pairs:
        assert contrast_ratio(bg, fg) >= 4.5, (bg, fg)


# -- the clocks ------------------------------------------------------------------------------
def test_clocks_count_down_turn_red_and_the_breach_lands_on_the_timeline(header, sitrep, sev1, clock, qtbot):
    bridge = chip(header, "bridge")
    assert bridge.text() == "Bridge open: 5:00 left" and bridge.state == "running"
    assert "UTC" in bridge.toolTip()

    clock.advance(minutes=4, seconds=30)
    header.update_times()
    assert bridge.text() == "Bridge open: 0:30 left" and bridge.state == "warning"
    assert entries(sitrep, sev1.id, EntryKind.CLOCK_BREACH) == []

    clock.advance(minutes=1)
    header.update_times()
    assert bridge.state == "breached"
    assert bridge.text() == "Bridge open: OVERDUE 0:30"
    assert BREACH_COLOURS[0] in bridge.styleSheet()
    # Turning red records the breach at once, not at the next 15-second check.
    qtbot.waitUntil(lambda: len(entries(sitrep, sev1.id, EntryKind.CLOCK_BREACH)) == 2)
    recorded = {e.data["clock"] for e in entries(sitrep, sev1.id, EntryKind.CLOCK_BREACH)}
    assert recorded == {"bridge", "commander"}

    header.check_clocks()  # checking again records nothing twice
    assert len(entries(sitrep, sev1.id, EntryKind.CLOCK_BREACH)) == 2


def test_meeting_a_clock_late_shows_how_late(header, sitrep, sev1, clock, qtbot):
    clock.advance(minutes=8)
    sitrep.incidents.set_milestone(sev1.id, Milestone.BRIDGE_OPENED, clock(), author="tester")
    qtbot.waitUntil(lambda: chip(header, "bridge").state == "met_late")
    assert chip(header, "bridge").text() == "Bridge open 3:00 late"


def test_a_comms_entry_restarts_the_update_clock(header, sitrep, sev1, clock, qtbot):
    clock.advance(minutes=6)
    sitrep.timeline.log(sev1.id, "Status page: investigating", author="tester", kind=EntryKind.COMMS)
    # SEV1: updates every 20 minutes after the first one.
    qtbot.waitUntil(lambda: chip(header, "next_update").text() == "Next external update: 20:00 left")


def test_the_periodic_check_runs_without_anyone_looking(header, sitrep, sev1, clock, qtbot):
    header._check_timer.setInterval(20)
    clock.advance(minutes=11)  # no tick: only the periodic check can notice
    header._tick.stop()
    qtbot.waitUntil(lambda: len(entries(sitrep, sev1.id, EntryKind.CLOCK_BREACH)) == 3, timeout=3000)


# -- status ----------------------------------------------------------------------------------
def test_only_the_allowed_next_statuses_are_offered():
    assert [s for s, _ in next_statuses(Status.DECLARED)] == [
        Status.INVESTIGATING,
        Status.IDENTIFIED,
        Status.MITIGATED,
        Status.RESOLVED,
    ]
    assert next_statuses(Status.RESOLVED) == [
        (Status.CLOSED, False),
        (Status.INVESTIGATING, True),
        (Status.IDENTIFIED, True),
    ]
    assert next_statuses(Status.CLOSED) == [(Status.INVESTIGATING, True), (Status.IDENTIFIED, True)]


def test_status_dialog_moves_the_incident_and_refreshes_the_header(header, sitrep, sev1, qtbot):
    dialog = header.change_status()
    assert set(dialog.radios) == {Status.INVESTIGATING, Status.IDENTIFIED, Status.MITIGATED, Status.RESOLVED}
    assert dialog.selected() is Status.INVESTIGATING  # the usual next step is preselected
    dialog.choose(Status.IDENTIFIED)
    qtbot.keyClicks(dialog.reason, "Bad deploy found")
    dialog.ok_button.click()
    assert not dialog.isVisible()
    assert sitrep.incidents.get(sev1.id).status is Status.IDENTIFIED
    assert header.status_badge.text() == "Identified"
    last = sitrep.timeline.entries(sev1.id)[-1]
    assert last.kind == "status_change" and "Bad deploy found" in last.body


def test_status_dialog_backdates_and_refuses_a_bad_time_inline(header, sitrep, sev1, clock, qtbot):
    clock.advance(minutes=30)
    dialog = header.change_status()
    dialog.choose(Status.MITIGATED)
    qtbot.keyClicks(dialog.when, "in a bit")
    dialog.ok_button.click()
    assert dialog.isVisible()
    assert "not a time I can read" in dialog.error_text("at")
    assert dialog.focusWidget() is dialog.when
    dialog.when.clear()
    qtbot.keyClicks(dialog.when, "10m ago")
    assert dialog.when.preview.text()  # the interpreted time is shown before saving
    dialog.ok_button.click()
    assert not dialog.isVisible()
    inc = sitrep.incidents.get(sev1.id)
    assert inc.status is Status.MITIGATED
    assert inc.milestone(Milestone.MITIGATED) == clock() - timedelta(minutes=10)


def test_reopening_requires_a_reason_shown_next_to_the_field(header, sitrep, sev1, ctx, qtbot):
    resolved = sitrep.incidents.set_status(sev1.id, Status.RESOLVED, author="tester")
    ctx.selection.refresh(resolved)
    header.set_incident(resolved)
    dialog = header.change_status()
    assert dialog.selected() is Status.CLOSED
    dialog.choose(Status.INVESTIGATING)
    assert "required to reopen" in dialog.reason_label.text()
    dialog.ok_button.click()
    assert dialog.isVisible()
    assert "needs a reason" in dialog.error_text("reason")
    assert sitrep.incidents.get(sev1.id).status is Status.RESOLVED
    qtbot.keyClicks(dialog.reason, "Errors are back")
    dialog.ok_button.click()
    assert not dialog.isVisible()
    assert sitrep.incidents.get(sev1.id).status is Status.INVESTIGATING


# -- severity and major ----------------------------------------------------------------------
def test_lowering_the_severity_needs_a_reason(header, sitrep, sev1, qtbot):
    dialog = header.change_severity()
    assert dialog.matrix.chosen() == "SEV1"
    dialog.matrix.setFocus()
    qtbot.keyClick(dialog.matrix, Qt.Key.Key_Down)
    qtbot.keyClick(dialog.matrix, Qt.Key.Key_Down)
    assert dialog.matrix.chosen() == "SEV3"
    assert "required: lowering SEV1 → SEV3" in dialog.reason_label.text()
    assert "stays a major incident" in dialog.major_hint.text()
    dialog.ok_button.click()
    assert "needs a reason" in dialog.error_text("reason")
    assert sitrep.incidents.get(sev1.id).severity == "SEV1"
    qtbot.keyClicks(dialog.reason, "Only internal users affected")
    dialog.ok_button.click()
    assert not dialog.isVisible()
    assert sitrep.incidents.get(sev1.id).severity == "SEV3"
    assert header.severity_badge.text() == "SEV3"
    assert SEVERITY_COLOURS["SEV3"][0] in header.severity_badge.styleSheet()


def test_the_severity_matrix_model_is_a_well_behaved_qt_model(sitrep, qtmodeltester, qtbot):
    model = SeverityMatrixModel(sitrep.catalog)
    qtmodeltester.check(model)
    model.set_current("SEV2")
    qtmodeltester.check(model)
    sev1 = model.data(model.index(0, 2))
    assert "Bridge open within 5 min" in sev1 and "External updates every 20 min" in sev1
    assert "(current)" in model.data(model.index(1, 0))


def test_de_escalating_needs_a_reason_and_declaring_major_does_not(header, sitrep, sev1, qtbot):
    assert header.major_action.text() == "De-escalate major incident…"
    dialog = header.toggle_major()
    dialog.ok_button.click()
    assert "needs a reason" in dialog.error_text("reason")
    qtbot.keyClicks(dialog.reason, "Contained to one region")
    dialog.ok_button.click()
    assert not dialog.isVisible()
    assert not sitrep.incidents.get(sev1.id).is_major
    assert header.major_badge.isHidden()
    assert header.major_action.text() == "Declare major incident…"
    dialog = header.toggle_major()
    dialog.ok_button.click()
    assert sitrep.incidents.get(sev1.id).is_major
    assert not header.major_badge.isHidden()


# -- milestones ------------------------------------------------------------------------------
def test_the_order_rule_as_written_says_exactly_what_the_service_enforces():
    def closure(pairs):
        out = set(pairs)
        while True:
            more = {(a, d) for a, b in out for c, d in out if b == c} - out
            if not more:
                return out
            out |= more

    chained = {
        (chain[i], chain[j])
        for chain in ORDER_CHAINS
        for i in range(len(chain))
        for j in range(i + 1, len(chain))
    }
    assert closure(chained) == closure(MILESTONE_ORDER)


def test_a_refused_milestone_shows_the_services_explanation_beside_it(header, sitrep, sev1, clock, qtbot):
    clock.advance(minutes=20)
    dialog = header.edit_milestones()
    row = dialog.rows[Milestone.DETECTED]
    assert not row.is_set.isChecked() and not row.editor.isEnabled()
    qtbot.mouseClick(row.is_set, Qt.MouseButton.LeftButton)
    assert row.editor.isEnabled()
    row.set_value(clock() - timedelta(minutes=30))  # before impact started (-27 min): out of order
    dialog.ok_button.click()
    assert dialog.isVisible()
    assert "cannot come before" in row.error.text() and not row.error.isHidden()
    assert "T0" not in row.error.text() and "Z)" not in row.error.text()  # times on the viewer's clock
    assert sitrep.incidents.get(sev1.id).milestone(Milestone.DETECTED) is None
    row.set_value(clock() - timedelta(minutes=24))
    dialog.ok_button.click()
    assert not dialog.isVisible()
    assert sitrep.incidents.get(sev1.id).milestone(Milestone.DETECTED) == clock() - timedelta(minutes=24)


def test_moving_two_milestones_at_once_applies_them_in_an_order_that_holds(header, sitrep, sev1, clock):
    clock.advance(minutes=20)
    sitrep.incidents.set_milestone(sev1.id, Milestone.DETECTED, clock() - timedelta(minutes=22), author="t")
    header.set_incident(sitrep.incidents.get(sev1.id))
    dialog = header.edit_milestones()
    # Both move earlier: detected first would come before impact; the dialog finds the order that works.
    dialog.rows[Milestone.DETECTED].set_value(clock() - timedelta(minutes=50))
    dialog.rows[Milestone.IMPACT_STARTED].set_value(clock() - timedelta(minutes=60))
    dialog.ok_button.click()
    assert not dialog.isVisible()
    inc = sitrep.incidents.get(sev1.id)
    assert inc.milestone(Milestone.DETECTED) == clock() - timedelta(minutes=50)
    assert inc.milestone(Milestone.IMPACT_STARTED) == clock() - timedelta(minutes=60)


def test_clearing_a_milestone_and_the_declaration_cannot_be_cleared(header, sitrep, sev1):
    dialog = header.edit_milestones()
    assert not dialog.rows[Milestone.DECLARED].is_set.isEnabled()
    dialog.rows[Milestone.IMPACT_STARTED].is_set.setChecked(False)
    dialog.ok_button.click()
    assert sitrep.incidents.get(sev1.id).milestone(Milestone.IMPACT_STARTED) is None
    assert header.impact_label.isHidden()


# -- details ---------------------------------------------------------------------------------
def test_details_dialog_validates_inline_and_records_the_change(header, sitrep, sev1, qtbot):
    dialog = header.edit_details()
    dialog.affected.setText("about 2000")
    dialog.ok_button.click()
    assert "whole number" in dialog.error_text("affected_users")
    dialog.affected.setText("2,000")
    dialog.error_rate.setText("23.5%")
    dialog.services.setText("checkout, payments-api, card-gateway")
    dialog.ok_button.click()
    assert not dialog.isVisible()
    inc = sitrep.incidents.get(sev1.id)
    assert (inc.affected_users, inc.error_rate_pct) == (2000, 23.5)
    assert inc.services == ("checkout", "payments-api", "card-gateway")
    assert "2,000 users affected" in header.services_label.text()
    assert entries(sitrep, sev1.id, EntryKind.IMPACT_CHANGE)


def test_an_empty_title_is_refused_next_to_the_title(header, sitrep, sev1):
    dialog = header.edit_details()
    dialog.title_edit.setText("   ")
    dialog.ok_button.click()
    assert "cannot be empty" in dialog.error_text("title")
    assert sitrep.incidents.get(sev1.id).title == "Checkout: card payments failing"


# -- reachability ----------------------------------------------------------------------------
def test_every_header_action_is_in_the_incident_menu_with_a_shortcut_and_in_the_palette(ctx, qtbot, sev1):
    window = main_window(ctx, qtbot, "ui.panels.header", "ui.panels.timeline")
    header = window.panels["header"]
    incident_menu = window.menus["Incident"].actions()
    for action in (header.status_action, header.severity_action, header.major_action,
                   header.milestones_action, header.details_action):  # fmt: skip
        assert action in incident_menu and action in window.commands
        assert not action.shortcut().isEmpty()
    assert header.declare_action in window.menus["File"].actions()
    assert header.declare_action.shortcut().toString() == "Ctrl+N"
    keys = [a.shortcut().toString() for a in window.commands if not a.shortcut().isEmpty()]
    assert len(keys) == len(set(keys)), "two commands share a shortcut"


def test_keyboard_shortcut_opens_the_status_dialog(ctx, qtbot, sev1):
    window = main_window(ctx, qtbot, "ui.panels.header", "ui.panels.timeline")
    window.show()
    qtbot.waitExposed(window)
    window.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    qtbot.keyClick(
        window, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier
    )
    dialog = window.panels["header"].dialog
    assert dialog is not None and dialog.objectName() == "dialog-status" and dialog.isVisible()
    dialog.reject()


def test_header_names_the_commander_and_their_wall_clock(header, sitrep, sev1, clock, qtbot):
    assert header.commander_label.text() == "IC: nobody yet"
    sitrep.people.add("Hana Sato", "hana", timezone="Asia/Tokyo")  # 09:00 UTC is 18:00 in Tokyo
    sitrep.people.add("Sam Okafor", "sam", timezone="America/New_York")
    sitrep.roles.assign(sev1.id, "IC", "hana", author="tester")
    qtbot.waitUntil(lambda: "Hana Sato" in header.commander_label.text())
    assert header.commander_label.text() == "IC Hana Sato · their time Sat 18:00 (UTC+09:00)"
    assert "Asia/Tokyo" in header.commander_label.toolTip()
    clock.advance(minutes=30)
    brief = {k: "x" for k in ("status", "hypotheses", "last_update", "next_actions")}
    sitrep.roles.hand_over(sev1.id, "IC", "sam", brief, author="hana")
    qtbot.waitUntil(lambda: "Sam Okafor" in header.commander_label.text())
    assert header.commander_label.text().endswith("their time Sat 05:30 (UTC-04:00)")


def test_an_imported_incident_never_declared_says_so_and_its_unknown_severity(header, sitrep, tmp_path):
    path = tmp_path / "pm.csv"
    path.write_text(
        "title,impact_started,resolved\nLogin slow,2026-03-03 14:00,2026-03-03 15:00\n", encoding="utf-8"
    )
    (key,) = sitrep.history.import_file(path, author="ana").created
    header.ctx.selection.set(sitrep.incidents.get(key))
    header.set_incident(header.ctx.selection.current)
    header.update_times()
    assert header.declared_label.text() == "Never formally declared"  # not the previous incident's stopwatch
    assert header.severity_badge.text() == "unknown"
    assert "not recorded" in header.severity_badge.toolTip()
    assert "lasted <b>1:00:00</b>" in header.impact_label.text()


def test_an_incident_without_severity_gets_one_in_the_severity_dialog(header, sitrep, tmp_path):
    path = tmp_path / "open.csv"
    path.write_text("title,detected\nStill open,2026-03-03 14:00\n", encoding="utf-8")
    (key,) = sitrep.history.import_file(path, author="ana").created
    header.ctx.selection.set(sitrep.incidents.get(key))
    header.set_incident(header.ctx.selection.current)
    dialog = header.change_severity()
    assert dialog.matrix.chosen() is None  # nothing pre-chosen: "unknown" is no level
    dialog.matrix.choose("SEV3")
    assert dialog.reason_label.text() == "&Reason (optional):"
    dialog.ok_button.click()
    assert sitrep.incidents.get(key).severity == "SEV3"
