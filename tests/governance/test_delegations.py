"""Delegations of authority: the register, its reviews by the owner, and the approval rule reading it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from models.enums import MessageState
from services.core import Sitrep
from services.errors import ValidationError


@pytest.fixture
def org(sitrep: Sitrep):
    for name, handle in (("Ana Ruiz", "ana.ruiz"), ("Sam Okafor", "sam.okafor"), ("Priya Nair", "priya.nair"),
                         ("Mei Lin", "mei.lin")):  # fmt: skip
        sitrep.people.add(name, handle)
    return sitrep


def test_a_delegation_is_reviewed_by_its_owner_every_quarter(org, clock):
    d = org.delegations.add("approve external messages", "sam.okafor", "priya.nair", author="priya.nair",
                            deputies=["mei.lin"], expires_on="2026-12-31")  # fmt: skip
    assert (d.authority, d.review_due_on.isoformat(), d.state) == ("approve_external", "2026-06-14", "active")
    with pytest.raises(ValidationError, match=r"Only the delegation's owner, Priya Nair \(@priya.nair\)"):
        org.delegations.confirm(d.id, by="sam.okafor")
    clock.advance(days=95)
    assert [f.problem for f in org.delegations.flagged()] == [
        "the review of Sam Okafor's authority to approve external messages was due on 2026-06-14"]
    confirmed = org.delegations.confirm(d.id[:8], by="priya.nair", note="Still on the comms rota")
    assert confirmed.state == "active" and confirmed.last_reviewed_by == "priya.nair"
    changed = org.delegations.change(d.id, by="priya.nair", deputies=[])
    assert changed.deputies == ()
    org.delegations.revoke(d.id, by="priya.nair", note="Moved team")
    assert [r.action for r in org.delegations.reviews(d.id)] == ["added", "confirmed", "changed", "revoked"]
    assert org.delegations.list() == [] and org.delegations.list(include_revoked=True)[0].state == "revoked"


def test_bad_input_is_refused_in_words(org):
    with pytest.raises(ValidationError, match="Nobody called 'zed' is in the responder directory"):
        org.delegations.add("approve_external", "zed", "priya.nair", author="priya.nair")
    with pytest.raises(ValidationError, match="Unknown authority 'fly'"):
        org.delegations.add("fly", "sam.okafor", "priya.nair", author="priya.nair")
    with pytest.raises(ValidationError, match="is not a date"):
        org.delegations.add("approve_external", "sam.okafor", "priya.nair", author="x", expires_on="soon")
    with pytest.raises(ValidationError, match="in the past"):
        org.delegations.add("approve_external", "sam.okafor", "priya.nair", author="x", expires_on="2020-01-01")


def test_the_review_period_is_configurable(data_dir, clock, migrated_db):
    import shutil

    (data_dir / "config").mkdir()
    (data_dir / "config" / "delegations.toml").write_text("[review]\nevery_months = 1\n")
    shutil.copyfile(migrated_db, data_dir / "sitrep.db")
    app = Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", config_dir=data_dir / "config", now=clock)
    try:
        app.people.add("Priya Nair", "priya.nair")
        assert app.delegations.add("authorise spending", "priya.nair", "priya.nair", author="p").review_due_on.isoformat() == "2026-04-14"
        (data_dir / "config" / "delegations.toml").write_text("[review]\nevery_months = 0\n")
        app.delegations._settings = None
        with pytest.raises(ValidationError, match="every_months must be a whole number of months"):
            app.delegations.list()
    finally:
        app.close()


def _pending_message(app: Sitrep, ic: str):
    inc = app.incidents.declare("Checkout failing", "SEV2", author=ic)
    app.roles.assign(inc.id, "IC", ic, author=ic)
    m = app.comms.draft(inc.key, "initial", author=ic, channels=["slack"], fields={"symptom": "Checkout is failing"})
    return inc, app.comms.submit(m.ref, author=ic)


def test_an_expired_delegation_blocks_an_approval_naming_it_and_its_owner(org, clock):
    d = org.delegations.add("approve_external", "sam.okafor", "priya.nair", author="priya.nair",
                            expires_on=(clock() + timedelta(days=10)).date())  # fmt: skip
    _, m = _pending_message(org, "ana.ruiz")
    assert m.needs_approval
    _, m2 = _pending_message(org, "ana.ruiz")
    assert org.comms.approve(m.ref, approver="sam.okafor").state is MessageState.APPROVED  # a holder, not the IC
    clock.advance(days=11)
    with pytest.raises(ValidationError) as err:
        org.comms.approve(m2.ref, approver="Sam Okafor")
    assert str(err.value) == (
        "Sam Okafor's authority to approve external messages expired on 2026-03-24 (owner: Priya Nair); "
        "renew it in Delegations."
    )
    # the commander of the moment still approves; a renewed delegation approves again
    org.delegations.change(d.id, by="priya.nair", expires_on="2026-12-31")
    assert org.comms.approve(m2.ref, approver="sam.okafor").state is MessageState.APPROVED


def test_the_configured_approvers_are_entries_of_the_register(org, data_dir):
    (data_dir / "config").mkdir(exist_ok=True)
    (data_dir / "config" / "comms.toml").write_text('[approval]\napprovers = ["mei.lin"]\n')
    org.comms._config_dir = data_dir / "config"
    org.comms.reload()
    [entry] = org.delegations.list()
    assert (entry.authority, entry.holder_name, entry.source, entry.state) == (
        "approve_external", "Mei Lin", "comms.toml", "active")
    _, m = _pending_message(org, "ana.ruiz")
    assert org.comms.approve(m.ref, approver="mei.lin").state is MessageState.APPROVED
