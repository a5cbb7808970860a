"""Vendor cases against a real store: the clocks, the ladder, replies, closing, refusals that write nothing,
the register as data (and malformed), and a case travelling with an incident's export."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from models.enums import EntryKind
from services.core import Sitrep
from services.errors import NotFound, ValidationError


@pytest.fixture
def inc(sitrep):
    sitrep.people.add("Sam Okafor", "sam.okafor", email="sam@example.com")
    return sitrep.incidents.declare("Card payments failing", "SEV1", author="sam.okafor")


def _counts(app: Sitrep, incident_id: str) -> tuple[int, int, int]:
    return (len(app.timeline.entries(incident_id)), len(app.comms.log(incident_id)),
            len(app.comms.messages(incident_id)))  # fmt: skip


def test_open_case_starts_the_contract_clocks_and_logs_the_contact(sitrep, clock, inc):
    case = sitrep.vendors.open_case(inc.key, "meridian", "P1", author="sam.okafor", ticket_ref="MP-1")
    assert case.key == "VND-0001" and case.level == 1 and case.level_title == "Premier support desk"
    assert case.response_due_at == clock() + timedelta(minutes=15)
    assert case.resolution_due_at == clock() + timedelta(minutes=240)
    labels = [c.label for c in sitrep.clocks.clocks(sitrep.incidents.get(inc.id), everything=True)]
    # Shown in the vendor panel, not among the header's chips (no room for two per case on a laptop).
    assert not any("VND" in c.label for c in sitrep.clocks.clocks(sitrep.incidents.get(inc.id)))
    assert "Meridian Payments P1 response (VND-0001)" in labels and "Meridian Payments P1 resolution (VND-0001)" in labels
    (line,) = [r for r in sitrep.comms.log(inc.id) if r.audience == "vendors"]
    assert line.direction == "outbound" and line.channel == "portal" and line.recipients == ["Meridian Premier Support"]
    opened = [e for e in sitrep.timeline.entries(inc.id) if (e.data or {}).get("vendor_case")]
    assert opened[0].data["vendor_case"]["action"] == "opened" and "their ticket MP-1" in opened[0].body


def test_a_reply_in_time_meets_the_response_clock_and_no_breach_is_recorded(sitrep, clock, inc):
    sitrep.vendors.open_case(inc.key, "meridian", "P1", author="sam.okafor")
    clock.advance(minutes=10)
    case = sitrep.vendors.reply("VND-0001", "Engineer assigned", author="sam.okafor", ticket_ref="MP-9")
    assert case.first_reply_at == clock() and case.ticket_ref == "MP-9" and case.replies == 1
    clock.advance(minutes=30)
    assert [c.id for c in sitrep.clocks.check(inc.id) if c.id.startswith("vendor")] == []
    inbound = [r for r in sitrep.comms.log(inc.id) if r.direction == "inbound"]
    assert inbound[0].content == "Engineer assigned"


def test_climbing_drafts_the_escalation_to_the_next_level_and_logs_the_contact(sitrep, clock, inc):
    sitrep.vendors.open_case(inc.key, "meridian", "P1", author="sam.okafor", ticket_ref="MP-1")
    clock.advance(minutes=19)
    assert sitrep.vendors.get("VND-0001").climb_due_at == clock() + timedelta(minutes=1)
    assert "climb to L2 now" not in sitrep.vendors.get("VND-0001").state_text(clock())
    clock.advance(minutes=2)
    assert "climb to L2 now" in sitrep.vendors.get("VND-0001").state_text(clock())
    case, message = sitrep.vendors.climb("VND-0001", author="sam.okafor", note="Bridge: meet.example.com/sev1")
    assert case.level == 2 and case.level_since == clock() and case.climb_due_at == clock() + timedelta(minutes=30)
    assert message.template_id == "vendor_escalation" and message.audience == "vendors"
    assert message.recipients["email_to"] == ["duty-manager@meridian-payments.example"]
    assert message.fields["vendor"] == "Meridian Payments" and "MP-ENT-2291" in message.fields["account_id"]
    assert "no response yet" in message.fields["what_we_need"] and "Bridge: meet" in message.fields["what_we_need"]
    assert "within 15 minutes" in message.fields["response_time"]
    assert "Duty incident manager" in json.dumps(message.rendered["email"])
    line = [r for r in sitrep.comms.log(inc.id) if r.audience == "vendors"][-1]
    assert line.recipients == ["Meridian duty manager", "duty-manager@meridian-payments.example"]
    assert "message 1 drafted" in line.content
    # A reply at level 2 stops the climb timer.
    sitrep.vendors.reply("VND-0001", "Duty manager on the bridge", author="sam.okafor")
    assert sitrep.vendors.get("VND-0001").climb_due_at is None
    sitrep.vendors.climb("VND-0001", author="sam.okafor")
    before = _counts(sitrep, inc.id)
    with pytest.raises(ValidationError, match="top of Meridian Payments's ladder"):
        sitrep.vendors.climb("VND-0001", author="sam.okafor")
    assert _counts(sitrep, inc.id) == before


def test_closing_resolved_meets_the_resolution_clock_and_a_closed_case_refuses_replies(sitrep, clock, inc):
    sitrep.vendors.open_case(inc.key, "northwind", "P2", author="sam.okafor")  # P2: no resolution time
    assert [c.id for c in sitrep.vendors.get("VND-0001").clocks()] == ["vendor_response:VND-0001"]
    sitrep.vendors.open_case(inc.key, "meridian", "P1", author="sam.okafor")
    clock.advance(minutes=5)
    sitrep.vendors.reply("VND-0002", "On it", author="sam.okafor")
    clock.advance(minutes=60)
    case = sitrep.vendors.close("VND-0002", author="sam.okafor", note="Gateway fixed")
    assert [c.state(clock()) for c in case.clocks()] == ["met", "met"]
    withdrawn = sitrep.vendors.close("VND-0001", author="sam.okafor", outcome="withdrawn")
    assert withdrawn.clocks() == []  # closed before either deadline: nothing keeps running
    before = _counts(sitrep, inc.id)
    with pytest.raises(ValidationError, match="closed as resolved .* does not record a reply on a closed case"):
        sitrep.vendors.reply("VND-0002", "Another note", author="sam.okafor")
    with pytest.raises(ValidationError, match="closed"):
        sitrep.vendors.climb("VND-0002", author="sam.okafor")
    with pytest.raises(ValidationError, match="resolved or withdrawn"):
        sitrep.vendors.close("VND-0001", author="sam.okafor", outcome="finished")
    assert _counts(sitrep, inc.id) == before
    assert [c.key for c in sitrep.vendors.cases(open_only=True)] == []
    assert [c.key for c in sitrep.vendors.cases()] == ["VND-0002", "VND-0001"]


def test_bad_input_is_refused_with_a_clear_message_and_writes_nothing(sitrep, clock, inc):
    before = _counts(sitrep, inc.id)
    with pytest.raises(NotFound, match="No vendor 'acme' in the vendor register .* Vendors: meridian, northwind, relay"):
        sitrep.vendors.open_case(inc.key, "acme", "P1", author="sam.okafor")
    with pytest.raises(ValidationError, match="contract MP-ENT-2291 has no priority 'P9'; it has P1, P2, P3"):
        sitrep.vendors.open_case(inc.key, "meridian", "P9", author="sam.okafor")
    with pytest.raises(ValidationError, match="in the future"):
        sitrep.vendors.open_case(inc.key, "meridian", "P1", author="sam.okafor", at=clock() + timedelta(hours=1))
    with pytest.raises(ValidationError, match="How was the vendor reached"):
        sitrep.vendors.open_case(inc.key, "meridian", "P1", author="sam.okafor", channel="pigeon")
    with pytest.raises(NotFound, match="No vendor case 'VND-0042'"):
        sitrep.vendors.reply("VND-0042", "hello", author="sam.okafor")
    sitrep.vendors.open_case(inc.key, "meridian", "P1", author="sam.okafor")
    after_open = _counts(sitrep, inc.id)
    with pytest.raises(ValidationError, match="Say what the vendor answered"):
        sitrep.vendors.reply("VND-0001", "  ", author="sam.okafor")
    with pytest.raises(ValidationError, match="before the case was opened"):
        sitrep.vendors.reply("VND-0001", "x", author="sam.okafor", at=clock() - timedelta(minutes=5))
    assert _counts(sitrep, inc.id) == after_open and after_open[0] == before[0] + 1


def test_the_register_is_data_a_config_file_replaces_it_and_a_broken_vendor_is_named(sitrep, data_dir, tmp_path):
    config = tmp_path / "config"
    config.mkdir()
    (config / "vendors.toml").write_text(
        '[vendor.acme]\nname = "Acme"\ncontract = "A-1"\n[vendor.acme.priority.P1]\nresponse_min = 10\n'
        '[[vendor.acme.ladder]]\ntitle = "Desk"\n'
        '[vendor.broken]\nname = "Broken"\ncontract = "B"\n[vendor.broken.priority.P1]\nresponse_min = "soon"\n'
        '[[vendor.broken.ladder]]\ntitle = "Desk"\n', encoding="utf-8")  # fmt: skip
    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", config_dir=config, now=sitrep.now)
    try:
        reg = app.vendors.register
        assert list(reg.vendors) == ["acme"]
        assert reg.problems == ("vendor 'broken': priority P1: 'response_min' must be a whole number of minutes "
                                "above 0 (got 'soon')",)  # fmt: skip
        with pytest.raises(NotFound, match="The register has problems: vendor 'broken'"):
            app.vendors.open_case("x", "broken", "P1", author="sam")
        # An edit that does not read cleanly is refused and the file is left as it was.
        old = (config / "vendors.toml").read_text()
        with pytest.raises(ValidationError, match="not saved: .*not valid TOML"):
            app.vendors.save_register("[vendor.acme\nname=")
        assert (config / "vendors.toml").read_text() == old
        app.vendors.save_register(old.split("[vendor.broken]")[0])
        assert (config / "vendors.toml.bak").read_text() == old and app.vendors.register.problems == ()
        (config / "vendors.toml").write_text("this is = = not toml", encoding="utf-8")
        assert app.vendors.register.vendors == {} and "not valid TOML" in app.vendors.register.problems[0]
    finally:
        app.close()


def test_a_case_travels_with_its_incident_export(sitrep, clock, inc, tmp_path, migrated_db):
    import shutil

    sitrep.vendors.open_case(inc.key, "relay", "P1", author="sam.okafor", ticket_ref="RE-5")
    clock.advance(minutes=3)
    sitrep.vendors.reply("VND-0001", "Looking", author="sam.okafor")
    doc = sitrep.exchange.export([inc.key])
    (exported,) = doc["incidents"]
    assert doc["schema_version"] == 5 and exported["vendor_cases"][0]["key"] == "VND-0001"
    path = tmp_path / "export.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    other_db = tmp_path / "other.db"
    shutil.copyfile(migrated_db, other_db)
    other = Sitrep.open(f"sqlite:///{other_db}", now=clock)
    try:
        other.exchange.import_file(path)
        (case,) = other.vendors.cases()
        assert (case.ticket_ref, case.replies, case.first_reply_at) == ("RE-5", 1, clock())
        assert [e.action for e in other.vendors.events(case.key)] == ["opened", "reply"]
        assert any(e.kind == EntryKind.ACTION.value for e in other.timeline.entries(case.incident_id))
    finally:
        other.close()
