"""Takeover suggestions use PagerDuty's on-call answer where there is one: read from the loopback fake
(which checks every request against the spec), the person on call comes first among equals, and the role
board's fatigue notice asks for it off the GUI thread and says who is on call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.storage.paths import Paths
from services.sync.oncall import on_call_inputs
from tests.sync.conftest import configure_backends
from ui.console import build_context
from ui.panels.roles import RoleBoardPanel

CHECKOUT_POLICY = "PEP0001"
MONDAY_10 = datetime(2026, 3, 16, 10, 0, tzinfo=UTC)


@pytest.fixture
def incident(app, fake_pd, clock):
    clock.value = MONDAY_10 - timedelta(hours=5)
    for name, handle, email, tz in (("Ana Ruiz", "ana", "ana@example.com", "Europe/Madrid"),
                                    ("Kofi Mensah", "kofi", "kofi@example.com", "Africa/Accra"),
                                    ("Bob Stone", "bob", "bob@example.com", "America/New_York")):  # fmt: skip
        app.people.add(name, handle, email=email, timezone=tz)
        app.rotation.set_profile(handle, working_hours="Mon-Fri 09:00-17:00" if handle != "kofi" else "08:00-16:00",
                                 trained_roles=["IC"])  # fmt: skip
    inc = app.incidents.declare("Checkout failing", "SEV1", author="bob", services=["Checkout"])
    app.roles.assign(inc.id, "IC", "bob", author="bob")
    clock.value = MONDAY_10
    fake_pd.add_user("PKOF001", "Kofi Mensah", "Kofi@Example.com", "Africa/Accra")
    fake_pd.put_on_call(CHECKOUT_POLICY, 1, "PKOF001", ("PSCH001", "Checkout primary"),
                        MONDAY_10 - timedelta(hours=2), MONDAY_10 + timedelta(hours=6))  # fmt: skip
    configure_backends(app, pd=fake_pd)
    return inc


def test_the_person_on_call_comes_first_among_equally_fit_reliefs(app, incident):
    without = app.rotation.candidates(incident.id, "IC")
    assert [c.person.handle for c in without] == ["ana", "kofi"]  # same day left; by name
    report = app.sync.on_call_suggestions(**on_call_inputs(app, incident.id))
    with_pd = app.rotation.candidates(incident.id, "IC", on_call=report)
    assert [(c.person.handle, c.on_call) for c in with_pd] == [("kofi", "L1 Checkout escalation"), ("ana", None)]
    assert "on call (L1 Checkout escalation)" in with_pd[0].why(app.rotation.role_names(), MONDAY_10)


def test_the_fatigue_notice_asks_pagerduty_off_the_gui_thread(app, incident, data_dir, qtbot, fake_pd):
    paths = Paths(data_dir, data_dir / "config", data_dir / "logs", data_dir / "backups")
    paths.create()
    ctx = build_context(app, paths=paths, author="bob")
    try:
        board = RoleBoardPanel(ctx)
        qtbot.addWidget(board)
        board.set_incident(app.incidents.get(incident.id))
        notice = board.fatigue
        assert notice.isVisible() or not notice.isHidden()
        qtbot.waitUntil(lambda: notice.on_call is not None, timeout=10_000)
        text = notice.text.text()
        assert "<b>Kofi Mensah</b> (Accra, 10:00 their time, 6 h 00 min of their day left; on call (L1 Checkout" in text
        assert "On call from PagerDuty as of" in text
        assert notice.take_over.text() == "&Hand over to Kofi Mensah…"
        assert any(r.path == "/oncalls" for r in fake_pd.requests)
    finally:
        ctx.notifier.close()
