"""Getting a message out as a comms lead meets it: a channel not set up, a message that went out by phone,
an exercise's message, a draft's preview with an empty field, and what is owed at resolve."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from models.entities import OutboxItem
from models.enums import EntryKind, MessageState
from services.comms.templates import EXERCISE_MARK, EXERCISE_NOTICE
from services.errors import ValidationError
from services.record.owed import owed_at_resolve
from tests.comms.conftest import DRAFTER, IC

SYMPTOM = {"symptom": "Checkout is failing for some customers"}


def _initial(app, inc, channels=("statuspage",)):
    return app.comms.draft(inc.key, "initial", author=DRAFTER, channels=list(channels), fields=SYMPTOM)


def _outbox(app) -> list:
    with app.store.read() as s:
        return list(s.execute(select(OutboxItem)).scalars())


def test_a_channel_with_no_backend_is_refused_at_send_with_the_way_out(app, sev1):
    m = _initial(app, sev1)
    app.comms.approve(m.ref, approver=IC)
    with pytest.raises(ValidationError, match="Status page is not configured") as err:
        app.comms.send(m.ref, author=DRAFTER)
    assert "sent-by-hand" in err.value.message and "sitrep backend set statuspage" in err.value.message
    assert app.comms.get(m.ref).state is MessageState.APPROVED and _outbox(app) == []


def test_sent_by_hand_keeps_the_approval_rule_and_writes_who_how_and_when(app, sev1, clock):
    m = _initial(app, sev1)
    with pytest.raises(ValidationError, match="needs approval by the incident commander"):
        app.comms.record_sent_by_hand(m.ref, author=DRAFTER, how="phone")
    app.comms.approve(m.ref, approver=IC)
    with pytest.raises(ValidationError, match="Say how it went out"):
        app.comms.record_sent_by_hand(m.ref, author=DRAFTER, how="pigeon")
    went_out = clock() - timedelta(minutes=5)
    sent = app.comms.record_sent_by_hand(m.ref, author=DRAFTER, how="statuspage", occurred_at=went_out,
                                         note="posted in Statuspage's own console while our backend was down")  # fmt: skip
    assert (sent.state, sent.sent_by, sent.sent_at) == (MessageState.SENT, DRAFTER, went_out)
    assert _outbox(app) == []  # nothing queued: it already went out
    entry = app.timeline.entries(sev1.id)[-1]
    assert entry.kind == EntryKind.COMMS.value and entry.author == DRAFTER and entry.occurred_at == went_out
    assert "sent by hand by bob via statuspage" in entry.body and "own console" in entry.body
    line = app.comms.log(sev1.key)[-1]
    assert (line.channel, line.author, line.approver, line.occurred_at) == ("statuspage", DRAFTER, IC, went_out)
    assert [d.state for d in app.comms.deliveries(m.ref)] == ["sent by hand (statuspage)"]
    with pytest.raises(ValidationError, match="already sent"):
        app.comms.record_sent_by_hand(m.ref, author=DRAFTER, how="phone")
    assert app.comms.verify_log([sev1.id]) == []  # the stakeholder log's chain holds


def test_every_rendering_of_an_exercise_message_says_exercise(app):
    app.people.add("Ana Lopez", IC, email="ana@example.com")
    drill = app.incidents.declare("Drill: checkout down", "SEV1", author=IC, is_exercise=True)
    m = app.comms.draft(drill.key, "initial", author=IC, channels=["statuspage", "slack", "email"], fields=SYMPTOM)
    r = m.rendered
    assert r["statuspage"]["name"].startswith(EXERCISE_MARK) and r["statuspage"]["body"].startswith(EXERCISE_NOTICE)
    assert r["email"]["subject"].startswith(EXERCISE_MARK) and EXERCISE_NOTICE in r["email"]["text"]
    assert EXERCISE_NOTICE in r["email"]["html"] and EXERCISE_MARK in r["slack"]["text"]
    edited = app.comms.edit(m.ref, author=IC, fields={"symptom": "Payments fail"})
    assert edited.rendered["statuspage"]["name"] == f"{EXERCISE_MARK} Payments fail"
    assert m.subject.startswith(EXERCISE_MARK)


def test_the_preview_shows_where_an_empty_field_goes(app, sev1):
    pv = app.comms.preview("initial", {"symptom": ""}, ["statuspage"])
    body = pv.rendered["statuspage"]["body"]
    assert "reports that ." not in body and "to fill in]" in body
    assert pv.missing and any("Fill in" in p.message for p in pv.problems)


def test_resolving_names_what_is_owed(app, sev1):
    m = _initial(app, sev1)
    owed = owed_at_resolve(app, sev1.key)
    texts = " ".join(o.text for o in owed)
    assert {o.kind for o in owed} >= {"message", "review", "checklist"}
    assert f"Message {m.ref}" in texts and "is a draft" in texts and "post-incident review" in texts
