"""The demo's rotation story: working hours and training for the demo's people (spread across the world),
two more responders where the demo had nobody (Sydney, Los Angeles), who held command and comms over the
last two quarters of imported history (one commander holds most of it: a key-person dependency), and the
night Sam Okafor commanded an identity incident before taking over the SEV1, so his stretch on duty is past
the commander's limit and the role board asks for his relief."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.enums import EntryKind, Milestone, Status
from services.core import Sitrep

# handle: (working hours in their own zone, roles trained for)
PROFILES = {
    "ana.ruiz": ("Mon-Fri 08:00-16:30", ["IC", "DEPUTY", "COMMS"]),
    "sam.okafor": ("Mon-Fri 09:00-17:30", ["IC", "DEPUTY"]),
    "priya.nair": ("Mon-Fri 09:30-18:00", ["IC", "DEPUTY", "SCRIBE"]),
    "jonas.weber": ("Mon-Fri 09:00-17:00", ["TECH", "SME", "IC"]),
    "mei.lin": ("Mon-Fri 09:00-18:00", ["COMMS", "LIAISON"]),
    "tom.hughes": ("Mon-Fri 09:00-17:30", ["SCRIBE", "COMMS"]),
    "lucas.silva": ("Mon-Fri 08:30-17:00", ["SME", "TECH", "IC"]),
    "hana.sato": ("Mon-Sat 09:00-18:00", ["IC", "TECH", "COMMS"]),
    "kofi.mensah": ("09:00-17:00", ["IC", "TECH", "SCRIBE"]),
    "olivia.grant": ("08:00-17:00", ["IC", "DEPUTY", "COMMS"]),
    "diego.ramos": ("Sun-Thu 08:00-17:00", ["IC", "COMMS", "TECH"]),
}
NEW_PEOPLE = (
    ("Olivia Grant", "olivia.grant", "Australia/Sydney", "olivia.grant@example.com", "+61 2 5550 1843"),
    ("Diego Ramos", "diego.ramos", "America/Los_Angeles", "diego.ramos@example.com", "+1 415 555 0162"),
)
# Imported history's commanders and comms leads, in turn: Ana holds command in most (the dependency).
HISTORY_IC = ("ana.ruiz", "priya.nair", "ana.ruiz", "kofi.mensah", "ana.ruiz", "hana.sato", "ana.ruiz", "jonas.weber")
HISTORY_COMMS = ("mei.lin", "mei.lin", "tom.hughes", "mei.lin", "ana.ruiz")
SAM_ON_SINCE = timedelta(hours=6, minutes=10)  # before now: the identity incident's start
SAM_OFF_AT = timedelta(minutes=105)  # before now: it was resolved ten minutes before the SEV1 was declared


def seed_rotation(sitrep: Sitrep, told: Sitrep, clock, end: datetime) -> None:
    """`told` tells the live story on the movable `clock` (services/demo.py's); `sitrep` writes history."""
    for name, handle, tz, email, phone in NEW_PEOPLE:
        sitrep.people.add(name, handle, email=email, phone=phone, timezone=tz)
    for handle, (hours, trained) in PROFILES.items():
        sitrep.rotation.set_profile(handle, working_hours=hours, trained_roles=trained)
    _overnight_identity_incident(told, clock, end)
    _history_roles(sitrep, end)


def _overnight_identity_incident(s: Sitrep, clock, end: datetime) -> None:
    start = end - SAM_ON_SINCE
    clock.start(start)
    inc = s.incidents.declare(
        "Identity: login latency above 4 s for all regions",
        "SEV2",
        author="sam.okafor",
        summary="Login p95 4-6 s after the identity database's nightly vacuum overran; logins succeed slowly.",
        incident_type="degraded_performance",
        services=["identity", "postgres-main"],
        impact_started_at=start - timedelta(minutes=12),
        detected_at=start - timedelta(minutes=6),
    )
    i = inc.id
    clock.to(start + timedelta(minutes=2))
    s.roles.assign(i, "IC", "sam.okafor", author="sam.okafor")
    s.incidents.set_milestone(i, Milestone.ACKNOWLEDGED, start + timedelta(minutes=1), author="sam.okafor")
    s.incidents.set_status(i, Status.INVESTIGATING, author="sam.okafor")
    clock.to(start + timedelta(minutes=5))
    s.roles.assign(i, "TECH", "diego.ramos", author="sam.okafor")
    clock.to(start + timedelta(minutes=40))
    s.timeline.log(i, "Cancel the overrunning vacuum on postgres-main and reschedule it", kind=EntryKind.DECISION,
                   author="sam.okafor",
                      rationale="Logins are slow, not failing; cancelling is safe and the vacuum can run at the weekend")  # fmt: skip
    clock.to(start + timedelta(hours=1, minutes=10))
    s.incidents.set_status(i, Status.MITIGATED, author="sam.okafor", reason="Vacuum cancelled; p95 back to 900 ms")
    off = end - SAM_OFF_AT
    clock.to(off - timedelta(minutes=1))
    s.timeline.log(i, "Watched for four hours: p95 steady under 1 s", kind=EntryKind.NOTE, author="sam.okafor")
    clock.to(off)
    s.roles.release(i, "TECH", author="sam.okafor")
    s.roles.release(i, "IC", author="sam.okafor", reason="Resolved; the review is owed by Diego")
    s.incidents.set_status(i, Status.RESOLVED, author="sam.okafor")
    s.incidents.set_status(i, Status.CLOSED, author="sam.okafor", reason="Nothing left to do; the vacuum is rescheduled")


def _history_roles(s: Sitrep, end: datetime) -> None:
    """Command and comms on the imported incidents of the last two quarters still open to change (resolved, not
    closed), dated when they were held."""
    since = end - timedelta(days=s.rotation.rules.goal_days)
    history = [i for i in s.incidents.list(limit=1000)
               if i.source != "local" and i.milestone(Milestone.DECLARED)
               and since <= i.milestone(Milestone.DECLARED) and i.status is Status.RESOLVED]  # fmt: skip
    history.sort(key=lambda i: i.milestone(Milestone.DECLARED))
    for n, inc in enumerate(history):
        declared = inc.milestone(Milestone.DECLARED)
        ended = inc.milestones.get(Milestone.RESOLVED) or declared + timedelta(hours=2)
        ic_at = inc.milestones.get(Milestone.IC_ASSIGNED) or declared
        for role, handle, at in (("IC", HISTORY_IC[n % len(HISTORY_IC)], ic_at),
                                 ("COMMS", HISTORY_COMMS[n % len(HISTORY_COMMS)], ic_at + timedelta(minutes=4))):  # fmt: skip
            if at >= ended:
                continue
            s.roles.assign(inc.id, role, handle, author="priya.nair", at=at)
            s.roles.release(inc.id, role, author="priya.nair", at=ended, reason="Incident resolved (from the on-call log)")
