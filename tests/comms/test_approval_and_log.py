"""The approval rule, the guard on the timeline, the cadence, the stakeholder log's chain and regulatory clocks."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from models.enums import ClockState, MessageState
from services.comms.views import ContactInput
from services.errors import ValidationError
from tests.comms.conftest import DRAFTER, IC, configure_slack

SYMPTOM = {"symptom": "Checkout is failing for some customers"}


def _initial(app, inc, **kw):
    return app.comms.draft(inc.key, "initial", author=DRAFTER, channels=["slack"], fields=SYMPTOM, **kw)


def test_an_external_message_cannot_go_out_without_the_commanders_approval(app, sev1, fake_slack):
    configure_slack(app, fake_slack)
    m = _initial(app, sev1)
    assert m.needs_approval and m.state is MessageState.DRAFT
    with pytest.raises(ValidationError, match="needs approval by the incident commander"):
        app.comms.send(m.ref, author=DRAFTER)
    app.comms.submit(m.ref, author=DRAFTER)
    with pytest.raises(ValidationError, match=r"Only the incident commander \(Ana Lopez, @ana\)"):
        app.comms.approve(m.ref, approver=DRAFTER)
    approved = app.comms.approve(m.ref, approver=IC)
    assert (approved.state, approved.approver, approved.approved_at) == (MessageState.APPROVED, IC, app.now())
    sent = app.comms.send(m.ref, author=DRAFTER)
    assert sent.state is MessageState.SENT and sent.sent_by == DRAFTER
    with pytest.raises(ValidationError, match="already sent"):
        app.comms.send(m.ref, author=DRAFTER)


def test_an_edit_after_approval_needs_a_new_approval(app, sev1, fake_slack):
    configure_slack(app, fake_slack)
    m = _initial(app, sev1)
    app.comms.approve(m.ref, approver=IC)
    edited = app.comms.edit(m.ref, author=DRAFTER, fields={"symptom": "Checkout is down for everyone"})
    assert edited.state is MessageState.DRAFT and edited.approver is None
    with pytest.raises(ValidationError, match="needs approval"):
        app.comms.send(m.ref, author=DRAFTER)


def test_a_configured_approver_may_approve_and_a_handover_moves_the_right(app, sev1, data_dir, fake_slack):
    (data_dir / "config").mkdir(exist_ok=True)
    (data_dir / "config" / "comms.toml").write_text('[approval]\napprovers = ["dana"]\n')
    app.comms.reload()
    m = _initial(app, sev1)
    assert app.comms.approve(m.ref, approver="dana").state is MessageState.APPROVED
    m2 = _initial(app, sev1)
    app.people.add("Carla Diaz", "carla")
    app.roles.hand_over(sev1.key, "IC", "carla", {k: "x" for k in _handover_fields()}, author=IC)
    with pytest.raises(ValidationError, match="Carla Diaz"):
        app.comms.approve(m2.ref, approver=IC)
    assert app.comms.approve(m2.ref, approver="carla").approver == "carla"


def _handover_fields():
    from services.record.roles import HANDOVER_FIELDS

    return HANDOVER_FIELDS


def test_rejection_returns_the_draft_with_the_comment(app, sev1):
    m = _initial(app, sev1)
    app.comms.submit(m.ref, author=DRAFTER)
    with pytest.raises(ValidationError, match="Say why"):
        app.comms.reject(m.ref, by=IC, comment=" ")
    r = app.comms.reject(m.ref, by=IC, comment="Say 'some customers', not 'customers'")
    assert r.state is MessageState.REJECTED and r.rejection_comment.startswith("Say")
    with pytest.raises(ValidationError, match="was rejected"):
        app.comms.send(m.ref, author=DRAFTER)
    again = app.comms.edit(m.ref, author=DRAFTER, fields={"symptom": "Checkout fails for some customers"})
    assert again.state is MessageState.DRAFT
    bodies = [e.body for e in app.timeline.entries(sev1.id)]
    assert any("rejected by ana: Say 'some customers'" in b for b in bodies)


def test_missing_required_fields_are_named(app, sev1):
    m = app.comms.draft(sev1.key, "initial", author=DRAFTER, channels=["slack"])
    with pytest.raises(ValidationError) as err:
        app.comms.submit(m.ref, author=DRAFTER)
    assert "fill in 'Symptom in customer terms (used as the title)'" in err.value.message
    with pytest.raises(ValidationError, match="has no field 'mood'"):
        app.comms.draft(sev1.key, "initial", author=DRAFTER, fields={"mood": "x"})
    with pytest.raises(ValidationError, match="not written for E-mail"):
        app.comms.draft(sev1.key, "scoping_update", author=DRAFTER, channels=["email"])


def test_an_internal_update_goes_straight_out_and_restarts_the_update_clock(app, sev1, clock, fake_slack):
    configure_slack(app, fake_slack)
    clock.advance(minutes=15)
    before = {c.id: c for c in app.clocks.clocks(app.incidents.get(sev1.key))}["next_update"]
    m = app.comms.draft(sev1.key, "status_update", author=DRAFTER, channels=["slack"],
                        fields={"what_changed": "Rolled back the 10:02 deploy"})  # fmt: skip
    assert not m.needs_approval
    app.comms.send(m.ref, author=DRAFTER)
    after = {c.id: c for c in app.clocks.clocks(app.incidents.get(sev1.key))}["next_update"]
    assert after.due_at == clock() + timedelta(minutes=20) and after.due_at > before.due_at


def test_a_channel_that_is_not_configured_is_named_and_nothing_is_sent(app, sev1):
    m = app.comms.draft(sev1.key, "status_update", author=DRAFTER, channels=["slack", "email"],
                        fields={"what_changed": "x"}, recipients={"email_to": ["ops@example.com"]})  # fmt: skip
    with pytest.raises(ValidationError) as err:
        app.comms.send(m.ref, author=DRAFTER)
    assert "Slack is not configured" in err.value.message and "E-mail is not configured" in err.value.message
    assert app.comms.get(m.ref).state is MessageState.DRAFT
    assert app.comms.log(sev1.key) == []


def test_a_timeline_entry_cannot_smuggle_a_message_past_approval(app, sev1, fake_slack):
    configure_slack(app, fake_slack)
    m = _initial(app, sev1)
    forged = {"sync": ["slack"], "comms": {"message_id": m.id, "channels": {"slack": {"text": "x"}}}}
    count = app.timeline.count(sev1.id)
    with pytest.raises(ValidationError, match="Messages go out only through"):
        app.timeline.log(sev1.id, "hello", author=DRAFTER, kind="comms", data=forged)
    with pytest.raises(ValidationError):
        app.timeline.log(sev1.id, "hello", author=DRAFTER, kind="comms", data={"statuspage": {"body": "x"}})
    assert app.timeline.count(sev1.id) == count and app.sync.items() == []


def test_the_stakeholder_log_records_sends_and_contacts_and_verify_catches_tampering(
    app, sev1, clock, fake_slack, data_dir
):
    configure_slack(app, fake_slack)
    m = _initial(app, sev1)
    app.comms.approve(m.ref, approver=IC)
    app.comms.send(m.ref, author=DRAFTER)
    clock.advance(minutes=3)
    app.comms.record_contact(sev1.key, ContactInput("phone", "regulators", "Told the DPA desk we expect to notify",
                                                    recipients=["DPA duty officer"]), author="lee")  # fmt: skip
    rows = app.comms.log(sev1.key)
    assert [(r.kind, r.channel, r.audience, r.approver) for r in rows] == [
        ("message", "slack", "customers", IC),
        ("contact", "phone", "regulators", None),
    ]
    assert rows[0].content.startswith("*Checkout is failing for some customers*")
    assert app.comms.log(sev1.key, text="dpa desk")[0].kind == "contact"
    csv_text = app.comms.export_log(rows, "csv")
    assert csv_text.splitlines()[0].startswith("incident,seq,occurred_at") and "DPA duty officer" in csv_text
    doc = json.loads(app.comms.export_log(rows, "json"))
    assert doc["chain"] == "verified: every chain holds" and doc["entries"][0]["approver"] == IC
    html = app.comms.export_log(rows, "html")
    assert "<br>" in html and "&lt;br&gt;" not in html and "hash chain verified: every chain holds" in html
    report = app.integrity.verify()
    assert report.ok and report.log_entries == 2
    with sqlite3.connect(data_dir / "sitrep.db") as c:
        c.execute("UPDATE comms_log SET content = 'We never called' WHERE seq = 2")
    report = app.integrity.verify()
    assert not report.ok
    assert str(report.breaks[0]).endswith("stakeholder log line its content was changed after it was written")


def test_a_data_breach_starts_its_regulatory_clocks(app, clock):
    clock.value = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    app.people.add("Lee Park", "lee")
    app.comms.add_stakeholder("legal-oncall", "Legal on call", "legal", email="legal@example.com")
    inc = app.incidents.declare("Customer records exposed", "SEV1", author="lee", incident_type="data_breach",
                                detected_at=clock() - timedelta(hours=2))  # fmt: skip
    path, people, applied = app.comms.escalation(inc.key)
    assert path.groups[:3] == ("legal", "compliance", "pr") and [p.handle for p in people] == ["legal-oncall"]
    assert not applied
    clocks = {c.rule_id: c for c in app.comms.apply_escalation(inc.key, author="lee")}
    aware = clock() - timedelta(hours=2)
    assert clocks["gdpr_sa"].deadline_at == aware + timedelta(hours=72)
    assert clocks["nis2_early_warning"].deadline_at == aware + timedelta(hours=24)
    assert clocks["sec_8k_item_1_05"].state is ClockState.AWAITING
    assert clocks["eu_dora_initial"].state is ClockState.AWAITING
    assert app.comms.escalation(inc.key)[2]
    # Materiality decided on Wednesday 25 Nov 2026: Thanksgiving (26th) is not a business day.
    clock.value = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    sec = app.comms.start_clock(inc.key, "sec_8k_item_1_05", author="lee")
    assert sec.deadline_at == datetime(2026, 12, 2, 22, 30, tzinfo=UTC)
    # DORA: 4 h after classification, but never later than 24 h after awareness.
    clock.value = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    dora = app.comms.start_clock(inc.key, "eu_dora_initial", author="lee", at=clock() - timedelta(minutes=10))
    assert dora.deadline_at == aware + timedelta(hours=24)
    met = app.comms.close_clock(inc.key, "nis2_early_warning", author="lee", note="CSIRT ref 123")
    assert met.state is ClockState.MET and met.status_text(clock()) == "met"
    with pytest.raises(ValidationError, match="counsel"):
        app.comms.close_clock(inc.key, "gdpr_sa", author="lee", outcome="withdrawn")
    text = app.comms.prefill(inc.key, "executive_summary")["regulatory_clocks"]
    assert "GDPR: notify the supervisory authority" in text and "NIS2: early warning" not in text


@pytest.mark.parametrize("incident_type", ["security", "ransomware"])
def test_security_incidents_have_an_escalation_path(app, incident_type):
    """Every path in the shipped escalation.toml is for a type an incident can have (a path for a
    type nobody can choose never applies, silently)."""
    inc = app.incidents.declare("Encrypted file shares", "SEV1", author="lee", incident_type=incident_type)
    path, _people, _applied = app.comms.escalation(inc.key)
    assert path is not None and "legal" in path.groups and "nis2_early_warning" in path.clocks


def test_an_escalation_path_for_an_unknown_incident_type_is_refused_with_the_file_named(tmp_path, clock):
    from services.core import Sitrep

    config = tmp_path / "config"
    config.mkdir()
    (config / "escalation.toml").write_text(
        '[type.intrusion]\nlabel = "X"\ngroups = ["legal"]\nclocks = []\n'
    )
    app = Sitrep.open(f"sqlite:///{tmp_path / 's.db'}", config_dir=config, now=clock)
    try:
        inc = app.incidents.declare("X", "SEV2", author="lee")
        with pytest.raises(ValidationError, match="escalation.toml: 'intrusion' is not an incident type"):
            app.comms.escalation(inc.key)
    finally:
        app.close()
