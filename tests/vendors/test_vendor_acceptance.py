"""Issue 21's vendor part, played on the demo store: the commander's Northwind case runs past the contract's
response time on a fake clock, and the breach is on the timeline (once, dated at the deadline) and in the
post-incident review document."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import FakeClock

from models.enums import EntryKind
from services.core import Sitrep
from services.demo import demo_commander, seed_demo


@pytest.fixture
def demo(tmp_path):
    clock = FakeClock()
    app = Sitrep.open(f"sqlite:///{tmp_path / 'sitrep.db'}", backups_dir=tmp_path / "backups", now=clock)
    sev1 = seed_demo(app)
    yield app, clock, sev1
    app.close()


def _breaches(app: Sitrep, incident_id: str):
    return [e for e in app.timeline.entries(incident_id) if e.kind == EntryKind.CLOCK_BREACH.value
            and str((e.data or {}).get("clock", "")).startswith("vendor_")]  # fmt: skip


def test_demo_case_breaches_its_response_time_on_a_fake_clock_and_the_breach_is_on_the_timeline(demo):
    app, clock, sev1 = demo
    sam = demo_commander(app, sev1)
    assert sam == "sam.okafor"
    (case,) = app.vendors.cases(sev1.id)
    assert (case.vendor_name, case.priority, case.ticket_ref, case.opened_by) == (
        "Northwind Cloud", "P1", "NWC-5521907", "sam.okafor")
    assert case.response_due_at == case.opened_at + timedelta(minutes=30)
    assert app.clocks.check(sev1.id) == [] and _breaches(app, sev1.id) == []  # not yet due

    # Nobody had the console open when the deadline passed: the check that runs later dates it at the deadline.
    clock.value = case.response_due_at + timedelta(minutes=42)
    fresh = app.clocks.check(sev1.id)
    assert [c.id for c in fresh if c.id.startswith("vendor")] == ["vendor_response:VND-0001"]
    (entry,) = _breaches(app, sev1.id)
    assert entry.occurred_at == case.response_due_at
    assert "Northwind Cloud P1 response (VND-0001)" in entry.body and entry.author == "sitrep"
    clock.advance(minutes=5)
    assert app.clocks.check(sev1.id) == [] and len(_breaches(app, sev1.id)) == 1  # once
    assert "response BREACHED" in app.vendors.get("VND-0001").state_text(clock())

    # A late answer is recorded, met late; the breach stays on the record.
    app.vendors.reply("VND-0001", "DBA looking at max_connections on payments-db-eu", author=sam)
    assert [c.state(clock()) for c in app.vendors.get("VND-0001").clocks()][0] == "met_late"
    assert app.clocks.check(sev1.id) == [] and len(_breaches(app, sev1.id)) == 1

    # The post-incident material names it: the clocks table, the timeline's CLOCK MISSED, the vendor table.
    app.reviews.request(sev1.id, author=sam, reason="vendor response missed")
    doc = app.reviews.markdown(sev1.id)
    assert "| Northwind Cloud P1 response (VND-0001) |" in doc and "MISSED (met late)" in doc
    assert "**CLOCK MISSED** | Clock breached: Northwind Cloud P1 response (VND-0001)" in doc
    assert "Vendor cases (held to their contracts):" in doc
    assert "| VND-0001 | Northwind Cloud, NWC-2024-0117 | P1 | NWC-5521907 |" in doc
