"""The demo's impact records and register of delegations (`sitrep --demo`).

The open incidents get their customer impact, so the header shows a proposal that agrees with the call
the commander made. The register is told on its own clock, months back, so it holds what a real one
does: delegations in force, one whose review is overdue, one due soon, and Sam Okafor's authority to
approve external messages, which expired a week ago. Sam (the demo's person at the keyboard) commands the
SEV1, where the commander approves; on the SEV2 a message waits for approval, and Sam's approval there is
refused with the sentence naming the expired delegation and its owner.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from services.core import Sitrep
from services.governance.delegations import DelegationService

# (days before now it was added, authority, holder, owner, deputies, expires in days from now or None,
#  days before now its owner last confirmed it or None, scope)
DELEGATIONS = (
    (40, "declare_major", "ana.ruiz", "priya.nair", ("sam.okafor", "hana.sato"), 180, None,
     "Any customer-facing service; outside office hours the on-call commander"),
    (100, "approve_external", "sam.okafor", "priya.nair", (), -7, None,
     "Status page and customer e-mail while Sam covered the comms rota"),
    (120, "approve_external", "mei.lin", "priya.nair", ("tom.hughes",), None, None,
     "Status page, customer and partner messages"),
    (80, "authorise_spending", "priya.nair", "tom.hughes", ("jonas.weber",), 365, 10,
     "Up to 50,000 EUR per incident for vendor support, cloud capacity and contractors"),
    (85, "talk_to_regulators", "tom.hughes", "priya.nair", ("kofi.mensah",), 300, None,
     "GDPR, NIS2 and DORA notices; counsel copied on every contact"),
)  # fmt: skip


def seed_governance(sitrep: Sitrep, end: datetime) -> None:
    for ago, authority, holder, owner, deputies, expires_in, confirmed_ago, scope in DELEGATIONS:
        added = _register_at(sitrep, end - timedelta(days=ago))
        # An expiry now past was a future date when the delegation was made.
        expires = (end + timedelta(days=expires_in)).date() if expires_in is not None else None
        d = added.add(authority, holder, owner, author=owner, deputies=deputies, expires_on=expires, scope=scope)
        if confirmed_ago is not None:
            _register_at(sitrep, end - timedelta(days=confirmed_ago)).confirm(d.id, by=owner, note="Reviewed: unchanged")
    open_ones = sitrep.incidents.list(open_only=True)
    sev1 = next(i for i in open_ones if "checkout" in i.services)
    sev2 = next(i for i in open_ones if "notifications" in i.services)
    sitrep.impact.record(sev1.id, {"affected_pct": 42, "journeys": ["checkout", "payments"], "error_rate_pct": 23,
                                   "revenue_per_min": 4200, "regulatory": False}, author="sam.okafor")  # fmt: skip
    sitrep.impact.record(sev2.id, {"affected_pct": 60, "journeys": ["notifications"], "error_rate_pct": 0,
                                   "data_exposure": "none"}, author="hana.sato")  # fmt: skip
    m = sitrep.comms.draft(sev2.id, "statuspage_update", author="kofi.mensah", channels=["statuspage"],
                           fields={"statuspage_status": "resolved", "customer_effect": "Notifications arrive on time again.",
                                   "progress": "Our provider has cleared its backlog; we are closing this incident."})  # fmt: skip
    sitrep.comms.submit(m.ref, author="kofi.mensah")


def _register_at(sitrep: Sitrep, when: datetime) -> DelegationService:
    """The register as it was on a past day: the same store, a clock that stands at `when`."""
    return DelegationService(sitrep.store, lambda: when, sitrep.changes.publish, None)
