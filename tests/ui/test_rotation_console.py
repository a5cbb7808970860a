"""Rotation in the console, on the demo (plus its imported history) with its commander at the keyboard, on
a fake clock: Saturday 09:00 UTC, when Sam Okafor (New York, 05:00) has been on duty past the commander's
limit and Kofi Mensah (Accra, 09:00, trained for command, free) is the daytime relief."""

from __future__ import annotations

import pytest
from console_kit import console_context, open_window, settle
from PySide6.QtWidgets import QApplication

from services.demo import demo_commander, seed_demo
from ui.dialogs.roles import HandoverDialog

pytestmark = pytest.mark.qt_log_ignore("This plugin does not support raise")

BRIEF = {
    "status": "Mitigated; settle-eu paused",
    "hypotheses": "Pool exhaustion ruled in",
    "last_update": "Status page monitoring",
    "next_actions": "Resolve after the capped settle-eu run",
}


@pytest.fixture
def demo(sitrep):
    return seed_demo(sitrep)


@pytest.fixture
def ctx(sitrep, data_dir, demo):
    ctx = console_context(sitrep, data_dir, author=demo_commander(sitrep, demo))
    yield ctx
    ctx.notifier.close()


@pytest.mark.parametrize("size", [(1366, 697), (1920, 1009)])
def test_the_role_board_warns_about_the_commander_and_proposes_a_daytime_relief(ctx, demo, qtbot, size):
    assert ctx.author == "sam.okafor"
    window = open_window(ctx, qtbot, size)
    window.reset_layout()
    window.reload_incidents(select=demo.id)
    settle()
    board = window.panels["roles"]
    notice = board.fatigue
    qtbot.waitUntil(notice.isVisible)
    text = notice.text.text()
    assert "Sam Okafor has been on duty 6 h 08 min" in text and "Incident Commander" in text
    assert "05:00 in New York, night there" in text  # daylight time: UTC-4
    assert "Could take over now: <b>Kofi Mensah</b> (Accra, 09:00 their time, 8 h 00 min of their day left)" in text
    # Readable where it is: inside the board, whole, its button reachable.
    assert not notice.visibleRegion().isEmpty()
    assert notice.take_over.isVisible() and notice.take_over.text() == "&Hand over to Kofi Mensah…"
    assert notice.text.height() >= notice.text.heightForWidth(notice.text.width()) - 1  # wrapped, not cut
    assert board.view.isVisible() and board.view.height() > board.view.horizontalHeader().height() * 4

    notice.take_over.click()
    dialog = board.dialog
    assert isinstance(dialog, HandoverDialog) and dialog.isVisible()
    assert dialog.responder.handle() == "kofi.mensah"
    dialog.set_brief(BRIEF)
    assert dialog.submit()
    qtbot.waitUntil(lambda: not notice.isVisible())
    assert [h.person.handle for h in ctx.sitrep.roles.holders(demo.id) if h.role == "IC"] == ["kofi.mensah"]
    window.close()


def test_follow_the_sun_view_report_goals_and_the_day_end_chip(ctx, demo, qtbot, clock):
    window = open_window(ctx, qtbot, (1366, 697))
    window.reset_layout()
    window.reload_incidents(select=demo.id)
    settle()
    board = window.panels["roles"]
    qtbot.waitUntil(board.fatigue.isVisible)
    board.fatigue.plan.click()  # "Follow the sun…"
    panel = window.panels["rotation"]
    qtbot.waitUntil(lambda: panel.isVisible() and panel.strip.isVisible())
    names = [r.name for r in panel.strip.rows]
    assert names[:6] == ["Mei Lin", "Priya Nair", "Jonas Weber", "Tom Hughes", "Lucas Silva", "Sam Okafor"]
    assert "Kofi Mensah" in names[6:]
    assert panel.strip.height() >= panel.strip.sizeHint().height()
    plan = panel.plan_text.text()
    assert "Next handover of command now to <b>Kofi Mensah</b>" in plan
    assert "Sam Okafor (Incident Commander) is outside their working day" in plan
    assert panel.hand_over_button.text() == "&Hand over command to Kofi Mensah…"
    panel.hand_over_button.click()
    assert panel.dialog.responder.handle() == "kofi.mensah"
    panel.dialog.reject()

    # Saturday 09:00 UTC: most holders are outside their day; the status bar says so, without a modal.
    assert panel.chip.isVisible() and "role holders outside their working day" in panel.chip.text()

    panel.tabs.setCurrentIndex(1)
    panel.period.setCurrentIndex(2)  # the last two quarters
    settle()
    people = [r.person.handle for r in panel.report_model.rows]
    assert people[0] == "ana.ruiz" and "sam.okafor" in people
    assert "Key-person dependencies" in panel.key_people.text() and "Ana Ruiz" in panel.key_people.text()

    panel.tabs.setCurrentIndex(2)
    assert "Olivia Grant" in panel.goals_text.text()
    cast = [(c.role, c.person.handle) for c in panel.casting_model.rows]
    assert cast[0][0] == "IC" and cast[0][1] != "ana.ruiz"
    # From the Exercise menu too.
    panel.tabs.setCurrentIndex(0)
    casting = window.command("rotation-casting")
    assert casting in window.menus["Exercise"].actions()
    casting.trigger()
    assert panel.tabs.currentIndex() == 2 and panel.isVisible()
    window.close()


def test_the_chip_reminds_before_a_holders_day_ends(ctx, demo, qtbot, clock, sitrep):
    from datetime import timedelta

    window = open_window(ctx, qtbot, (1366, 697))
    window.reload_incidents(select=demo.id)
    # Kofi relieves Sam; at 16:30 in Accra his day (to 17:00) ends within the 45-minute reminder.
    sitrep.roles.hand_over(demo.id, "IC", "kofi.mensah", BRIEF, author="sam.okafor")
    clock.value = clock.value + timedelta(hours=7, minutes=30)
    panel = window.panels["rotation"]
    panel.refresh()
    assert panel.chip.isVisible()
    assert panel.chip.text() == "☀ Kofi Mensah's day ends in 30 min: plan the Incident Commander handover (INC-0003)"
    assert QApplication.activeModalWidget() is None  # a reminder, not a modal
    window.close()


def test_working_hours_and_training_are_edited_in_the_responder_directory(ctx, qtbot, sitrep):
    from ui.dialogs.people import PersonEditor

    editor = PersonEditor(ctx, sitrep.people.get("tom.hughes"))
    qtbot.addWidget(editor)
    assert editor.working_hours.text() == "Mon-Fri 09:00-17:30" and editor.trained_roles.text() == "COMMS, SCRIBE"
    editor.working_hours.setText("Mon-Fri 9-5")
    assert not editor.submit()
    assert "Cannot read working hours 'Mon-Fri 9-5'" in editor.errors["working_hours"].text()
    editor.working_hours.setText("Mon-Thu 08:00-18:00")
    editor.trained_roles.setText("comms, scribe, boss")
    assert not editor.submit()
    assert "Unknown role 'boss'" in editor.errors["trained_roles"].text()
    assert sitrep.people.get("tom.hughes").working_hours == "Mon-Fri 09:00-17:30"  # nothing half-saved
    editor.trained_roles.setText("comms, scribe, ic")
    assert editor.submit()
    tom = sitrep.people.get("tom.hughes")
    assert tom.working_hours == "Mon-Thu 08:00-18:00" and tom.trained_roles == ("IC", "COMMS", "SCRIBE")
