"""The Identified milestone and Statuspage's "identified" stage, both ways (issue 18)."""

from __future__ import annotations

from models.enums import Milestone
from tests.sync.conftest import configure_backends


def _page_statuses(fake_sp) -> list[str]:
    (inc,) = fake_sp.incidents.values()
    return [u["status"] for u in reversed(inc["incident_updates"])]


def test_an_identified_update_on_the_page_sets_the_milestone_here(app, clock, fake_sp):
    configure_backends(app, sp=fake_sp)
    inc = app.incidents.declare("Checkout down", "SEV1", author="ic", services=["checkout"])
    app.incidents.set_status(inc.id, "investigating", author="ic")
    app.sync.drain_once()
    (sp_id,) = fake_sp.incidents
    clock.advance(minutes=12)
    fake_sp.post_update_as_person(sp_id, "identified", "A bad config push; rolling it back.")
    app.sync.drain_once(pull=True)

    now = app.incidents.get(inc.id)
    assert now.status == "identified"
    assert now.milestone(Milestone.IDENTIFIED) == clock()
    derived = [e for e in app.timeline.entries(inc.id) if (e.data or {}).get("caused_by")]
    assert [(e.kind, e.source) for e in derived] == [
        ("milestone_change", "statuspage"),
        ("status_change", "statuspage"),
    ]
    assert "identified in Statuspage" in derived[0].body
    # The page is not told what it told us.
    assert _page_statuses(fake_sp) == ["investigating", "identified"]
    assert app.sync.drain_once(pull=True).pulled == 0
    assert app.integrity.verify().ok


def test_the_identified_milestone_set_here_moves_the_page_to_identified(app, clock, fake_sp):
    configure_backends(app, sp=fake_sp)
    inc = app.incidents.declare("Checkout down", "SEV1", author="ic", services=["checkout"])
    app.incidents.set_status(inc.id, "investigating", author="ic")
    app.sync.drain_once()
    app.incidents.set_milestone(inc.id, "identified", clock.advance(minutes=5), author="ic")
    app.sync.drain_once()
    assert _page_statuses(fake_sp) == ["investigating", "identified"]
    # Back-filled once the page has moved on, it changes nothing there.
    clock.advance(minutes=5)
    app.incidents.set_status(inc.id, "mitigated", author="ic")
    app.sync.drain_once()
    app.incidents.set_milestone(inc.id, "identified", clock() - (clock() - inc.milestone(Milestone.DECLARED)),
                                author="ic")  # fmt: skip
    app.sync.drain_once()
    assert _page_statuses(fake_sp) == ["investigating", "identified", "monitoring"]
