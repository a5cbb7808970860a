"""`sitrep --demo`: a throwaway store with a realistic SEV1 in progress, and two other incidents.

The story is played forward on a simulated clock that ends at the real "now", so every entry is
recorded when it would have been (the SEV1 was declared 95 minutes ago), and the few entries that
are deliberately backdated (an alert logged after the fact, a support ticket found later) show up
as backdated. Clock breaches are recorded the way the console records them: by a clock check
that happens to run after a deadline passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from models.enums import EntryKind, Milestone, Status
from services.adapters.values import IncomingAlert
from services.changes import Topic
from services.core import Sitrep
from services.demo_comms import (
    dora_clock,
    earlier_history,
    enterprise_calls,
    public_update,
    seed_stakeholders,
    status_page,
)
from services.demo_governance import seed_governance
from services.demo_problems import seed_problems
from services.record.views import IncidentView
from services.resolution.demo_flags import seed_flag_demo
from services.rotation.demo import seed_rotation
from services.vendors.demo import seed_vendor_cases

SEV1_DECLARED_AGO = timedelta(minutes=95)


@dataclass(frozen=True)
class Responder:
    handle: str
    name: str
    timezone: str
    email: str
    phone: str


PEOPLE = (
    Responder("ana.ruiz", "Ana Ruiz", "Europe/Madrid", "ana.ruiz@example.com", "+34 600 555 014"),
    Responder("sam.okafor", "Sam Okafor", "America/New_York", "sam.okafor@example.com", "+1 212 555 0187"),
    Responder("priya.nair", "Priya Nair", "Asia/Kolkata", "priya.nair@example.com", "+91 98450 55501"),
    Responder("jonas.weber", "Jonas Weber", "Europe/Berlin", "jonas.weber@example.com", "+49 151 5550 2231"),
    Responder("mei.lin", "Mei Lin", "Asia/Singapore", "mei.lin@example.com", "+65 5550 1290"),
    Responder("tom.hughes", "Tom Hughes", "Europe/London", "tom.hughes@example.com", "+44 7700 900412"),
    Responder(
        "lucas.silva", "Lucas Silva", "America/Sao_Paulo", "lucas.silva@example.com", "+55 11 5555 0193"
    ),
    Responder("hana.sato", "Hana Sato", "Asia/Tokyo", "hana.sato@example.com", "+81 90 5550 7781"),
    Responder("kofi.mensah", "Kofi Mensah", "Africa/Accra", "kofi.mensah@example.com", "+233 20 555 0148"),
)


class _StoryClock:
    """The simulated 'now' the story is told on. It only moves forward and never passes the end."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.value = start
        self.end = end

    def __call__(self) -> datetime:
        return self.value

    def to(self, when: datetime) -> None:
        self.value = min(max(when, self.value), self.end)

    def start(self, when: datetime) -> None:
        """Begin another incident's story (each timeline is its own record, in its own order)."""
        self.value = min(when, self.end)


class _IncidentStory:
    """One incident's story on the simulated clock; times are minutes from its declaration."""

    def __init__(self, s: Sitrep, clock: _StoryClock, declared_at: datetime) -> None:
        self.s = s
        self.clock = clock
        self.declared_at = declared_at
        self.incident_id = ""

    def at(self, minutes: float) -> datetime:
        return self.declared_at + timedelta(minutes=minutes)

    def to(self, minutes: float) -> None:
        self.clock.to(self.at(minutes))

    def declare(self, title: str, severity: str, **kw) -> IncidentView:
        self.clock.start(self.at(0))
        inc = self.s.incidents.declare(title, severity, **kw)
        self.incident_id = inc.id
        return inc

    def log(
        self, minutes: float, author: str, kind: EntryKind, body: str, rationale: str | None = None, **kw
    ):
        self.to(minutes)
        return self.s.timeline.log(
            self.incident_id, body, author=author, kind=kind, rationale=rationale, **kw
        )

    def check(self, minutes: float) -> None:
        self.to(minutes)
        self.s.clocks.check(self.incident_id)  # what the console's header does every 15 s


def _hhmm(value: datetime) -> str:
    return value.strftime("%H:%M UTC")


def seed_demo(sitrep: Sitrep) -> IncidentView:
    """Fill an empty store with the demo. Returns the SEV1 (the incident to show first)."""
    end = sitrep.now()
    clock = _StoryClock(end - timedelta(days=3), end)
    # `told` shares the store and tells the story on its own clock. Building it composes the store's entry
    # hooks for its own (unconfigured) sync writer, so the caller's hooks are put back: the demo's entries
    # must be planned for the backends the caller has set up, as any other entry is.
    hooks = list(sitrep.store.entry_hooks)
    told = Sitrep(sitrep.store, sitrep.catalog, now=clock)
    sitrep.store.entry_hooks[:] = hooks
    for p in PEOPLE:
        told.people.add(p.name, p.handle, email=p.email, phone=p.phone, timezone=p.timezone)
    seed_stakeholders(told)
    _resolved_sev3(told, clock, end)
    _open_sev2(told, clock, end)
    sev1 = _checkout_sev1(told, clock, end)
    seed_vendor_cases(told, sev1)
    _planned_maintenance(sitrep, end)
    seed_flag_demo(sitrep)
    earlier_history(sitrep, end - timedelta(days=4), "priya.nair")  # after the live ones: they keep INC-0001..3
    seed_problems(sitrep, sev1, end)
    _alert_storm(sitrep, end)
    seed_governance(sitrep, end)
    seed_rotation(sitrep, told, clock, end)
    sitrep.changes.publish(Topic.PEOPLE, None, None)
    sitrep.changes.publish(Topic.INCIDENT, None, None)
    return sitrep.incidents.get(sev1.id)


def _resolved_sev3(s: Sitrep, clock: _StoryClock, end: datetime) -> IncidentView:
    story = _IncidentStory(s, clock, end - timedelta(days=2, hours=5, minutes=12))
    at, log = story.at, story.log
    inc = story.declare(
        "Search: autocomplete slow for APAC users",
        "SEV3",
        author="kofi.mensah",
        summary="p95 autocomplete latency 2.8 s in ap-southeast-1 (objective 400 ms); search itself works.",
        incident_type="degraded_performance",
        services=["search-api", "autocomplete"],
        impact_started_at=at(-34),
        detected_at=at(-21),
    )
    i = inc.id

    story.to(2)
    s.roles.assign(i, "IC", "kofi.mensah", author="kofi.mensah")
    story.to(3)
    s.incidents.set_status(i, Status.INVESTIGATING, author="kofi.mensah")
    log(6, "hana.sato", EntryKind.OBSERVATION,
        "Autocomplete cache hit rate in ap-southeast-1 fell from 92% to 11% at the time impact started")  # fmt: skip
    log(9, "hana.sato", EntryKind.ASSUMPTION,
        "The cache node replaced by the 06:00 maintenance came up without the warm-up job")  # fmt: skip
    log(14, "kofi.mensah", EntryKind.DECISION, "Run the cache warm-up job by hand in ap-southeast-1",
        rationale="Warm-up is read-only and takes about 10 minutes; a rollback of the node swap would take an hour")  # fmt: skip
    log(15, "hana.sato", EntryKind.ACTION, "Warm-up job started in ap-southeast-1 (owner: Hana)")
    story.to(17)
    s.incidents.set_milestone(i, Milestone.BRIDGE_OPENED, at(16), author="kofi.mensah")
    story.to(27)
    s.incidents.set_status(i, Status.MITIGATED, author="kofi.mensah")
    log(28, "hana.sato", EntryKind.OBSERVATION, "p95 latency back to 310 ms; hit rate 90%")
    log(31, "kofi.mensah", EntryKind.ACTION,
        "Follow-up: make the warm-up job part of the node replacement runbook (owner: Hana)")  # fmt: skip
    story.to(58)
    s.incidents.set_status(i, Status.RESOLVED, author="kofi.mensah")
    s.clocks.check(i)
    return inc


def _open_sev2(s: Sitrep, clock: _StoryClock, end: datetime) -> IncidentView:
    story = _IncidentStory(s, clock, end - timedelta(minutes=130))
    at, log = story.at, story.log
    inc = story.declare(
        "Mobile app: push notifications delayed up to 20 minutes",
        "SEV3",
        author="hana.sato",
        summary="Order-status pushes arrive 5-20 min late on iOS and Android; in-app status is correct.",
        incident_type="vendor_outage",
        services=["notifications", "mobile-app"],
        impact_started_at=at(-25),
        detected_at=at(-12),
    )
    i = inc.id

    story.to(4)
    s.roles.assign(i, "IC", "hana.sato", author="hana.sato")
    s.incidents.set_milestone(i, Milestone.BRIDGE_OPENED, at(4), author="hana.sato")
    story.to(5)
    s.incidents.set_status(i, Status.INVESTIGATING, author="hana.sato")
    log(9, "kofi.mensah", EntryKind.OBSERVATION,
        "Push provider queue depth 48k and rising; their status page reports 'degraded delivery'")  # fmt: skip
    story.to(10)
    s.incidents.set_severity(i, "SEV2", author="hana.sato")
    s.incidents.set_major(i, True, author="hana.sato", reason="Every mobile customer is affected")
    status_page(story, 14, "hana.sato", "hana.sato", "investigating", "Some order notifications are arriving late.",
                "Orders are not affected; we are looking into the delay.")  # fmt: skip
    log(
        21,
        "kofi.mensah",
        EntryKind.ASSUMPTION,
        "The delay is entirely on the provider's side; our send rate is normal",
    )
    log(40, "hana.sato", EntryKind.DECISION, "Do not fail over to the backup push provider",
        rationale="Fail-over re-registers every device token (2 h) and the delay is minutes, not lost messages")  # fmt: skip
    s.incidents.set_status(i, Status.IDENTIFIED, author="hana.sato")
    status_page(story, 44, "hana.sato", "hana.sato", "identified", "Notifications arrive 5-20 minutes late.",
                "Our notification provider is delayed; we are working with them.")  # fmt: skip
    s.clocks.check(i)
    status_page(story, 74, "hana.sato", "hana.sato", "monitoring", "Most notifications now arrive within 3 minutes.",
                "Delays are shrinking as the provider recovers.")  # fmt: skip
    status_page(story, 108, "hana.sato", "hana.sato", "monitoring", "Delivery is near normal.",
                "We are watching the provider's backlog drain.")  # fmt: skip
    log(112, "kofi.mensah", EntryKind.OBSERVATION, "Provider queue depth 2k and falling")
    return inc


def _checkout_sev1(s: Sitrep, clock: _StoryClock, end: datetime) -> IncidentView:
    story = _IncidentStory(s, clock, end - SEV1_DECLARED_AGO)
    at, log, check = story.at, story.log, story.check
    inc = story.declare(
        "Checkout: card payments failing for EU customers",
        "SEV1",
        author="jonas.weber",
        summary=(
            "Card authorisations from EU checkout fail with HTTP 502 from card-gateway for about 40% of "
            "attempts. US and UK unaffected. Orders paid by wallet still succeed."
        ),
        incident_type="service_outage",
        services=["checkout", "payments-api", "card-gateway", "payments-db-eu"],
        impact_started_at=at(-17),
        detected_at=at(-11),
    )
    i = inc.id

    # The first minutes: the alert is logged after the fact, with the time it fired.
    log(1, "jonas.weber", EntryKind.ALERT,
        "PaymentsErrorRateHigh firing: 5xx ratio 23% on payments-api (eu-west-1)",
        occurred_at=at(-11), source="alertmanager")  # fmt: skip
    story.to(2)
    s.incidents.set_milestone(i, Milestone.ACKNOWLEDGED, at(-9), author="jonas.weber",
                              reason="Page acknowledged by Jonas (payments on-call)")  # fmt: skip
    log(2, "jonas.weber", EntryKind.OBSERVATION,
        "Card authorisations failing with 502 from card-gateway for ~40% of EU checkout attempts; US unaffected")  # fmt: skip
    story.to(3)
    s.incidents.set_status(i, Status.INVESTIGATING, author="jonas.weber")
    story.to(4)
    s.incidents.set_milestone(i, Milestone.BRIDGE_OPENED, at(4), author="jonas.weber")
    log(6, "jonas.weber", EntryKind.ASSUMPTION,
        f"The payments-api 4.12 rollout (EU only, {_hhmm(at(-19))}) is the trigger: errors start 2 min after it")  # fmt: skip
    check(6)  # the commander clock (5 min) has run out: Ana is still being paged

    story.to(9)
    s.roles.assign(i, "IC", "ana.ruiz", author="ana.ruiz")
    log(9.5, "ana.ruiz", EntryKind.NOTE, "Ana Ruiz has command. Bridge: meet.example.com/sev1-checkout")
    story.to(10)
    s.roles.assign(i, "COMMS", "mei.lin", author="ana.ruiz")
    for item in (0, 1, 2):
        story.to(10.5 + item * 0.3)
        s.roles.tick_checklist(i, "IC", item, True, author="ana.ruiz")
    check(11)  # the first external update (10 min) is late
    story.to(12)
    s.roles.assign(i, "DEPUTY", "priya.nair", author="ana.ruiz")
    s.roles.assign(i, "TECH", "jonas.weber", author="ana.ruiz")
    public_update(story, 12.5, "mei.lin", "ana.ruiz", "initial",
                  {"symptom": "Some card payments in Europe are failing; wallet payments work"})  # fmt: skip
    story.to(13.5)
    for item in (0, 1):
        s.roles.tick_checklist(i, "COMMS", item, True, author="mei.lin")
    story.to(14)
    s.roles.assign(i, "SCRIBE", "tom.hughes", author="ana.ruiz")
    s.roles.tick_checklist(i, "SCRIBE", 0, True, author="tom.hughes")
    story.to(14.5)
    s.roles.tick_checklist(i, "IC", 3, True, author="ana.ruiz")

    log(15, "ana.ruiz", EntryKind.DECISION, "Roll back payments-api in eu-west-1 from 4.12 to 4.11",
        rationale="Errors began 2 min after the EU-only 4.12 rollout; rollback is tested weekly and takes "
                  "about 8 min. Failing over to the US gateway was rejected: it doubles US load at peak.")  # fmt: skip
    log(
        16,
        "jonas.weber",
        EntryKind.ACTION,
        "Rolling back payments-api eu-west-1 to 4.11.3 (owner: Jonas, time-box 15 min)",
    )
    log(17, "jonas.weber", EntryKind.CONFIG_CHANGE, "payments-api eu-west-1: 4.12.0 → 4.11.3 rollback started",
        source="deploy-bot")  # fmt: skip
    pool = log(20, "tom.hughes", EntryKind.OBSERVATION,
               f"payments-db-eu connection pool at 100% (480/480) since {_hhmm(at(-14))} (Lucas)")  # fmt: skip
    story.to(21)
    s.roles.assign(i, "SME", "lucas.silva", author="ana.ruiz")
    dora_clock(story, 21.5, "ana.ruiz")
    log(22, "lucas.silva", EntryKind.ASSUMPTION,
        "Pool exhaustion may be the cause, not a symptom: 4.12 holds one extra connection per request")  # fmt: skip
    log(27, "jonas.weber", EntryKind.OBSERVATION, "Rollback complete; 502s down from 40% to 18%, not to zero")
    story.to(29)
    s.timeline.correct(
        pool.id,
        f"payments-db-eu connection pool at 100% (480/480) since {_hhmm(at(-22))}, before the 4.12 rollout (Lucas)",
        author="tom.hughes",
        reason="Misread the dashboard's time zone: the pool saturated 8 min earlier than logged",
    )
    status_page(story, 30, "mei.lin", "ana.ruiz", "investigating", "Fewer card payments in Europe are failing.",
                "We have reduced the failures and are working on the rest.")  # fmt: skip
    log(33, "ana.ruiz", EntryKind.DECISION, "Pause the settle-eu batch and cap its share of the pool at 100",
        rationale="The pool saturated before the rollout, when settle-eu started, and it holds ~300 connections. "
                  "Pausing is reversible and delays settlement by at most an hour.")  # fmt: skip
    log(35, "lucas.silva", EntryKind.ACTION, "settle-eu paused; its pool share capped at 100 (owner: Lucas)")
    story.to(36)
    s.incidents.set_status(i, Status.IDENTIFIED, author="ana.ruiz",
                           reason="settle-eu batch exhausting the payments-db-eu pool")  # fmt: skip
    log(40, "jonas.weber", EntryKind.OBSERVATION, "502s down to 0.4%; EU authorisation success 99.1%")
    story.to(41)
    s.incidents.update_details(i, author="ana.ruiz", affected_users=1890, error_rate_pct=0.4)
    status_page(story, 48, "mei.lin", "ana.ruiz", "monitoring", "Card payments are succeeding again.",
                "A fix is in place; we are watching it.")  # fmt: skip
    enterprise_calls(story, 53, "mei.lin")
    log(50, "ana.ruiz", EntryKind.ACTION,
        "Follow-up: fix 4.12's per-request connection use before re-rolling it (owner: Jonas, today)")  # fmt: skip
    story.to(52)
    s.incidents.set_status(i, Status.MITIGATED, author="ana.ruiz", at=at(40),
                           reason="Errors at 0.4% since the batch was paused")  # fmt: skip

    # Ana's shift ends: a proper handover to Sam, with the brief the incoming commander needs.
    log(
        58,
        "sam.okafor",
        EntryKind.NOTE,
        "Sam Okafor joining as incoming IC; Ana has been on since early morning and hands over shortly",
    )
    check(70)  # the update promised for at(69) has not gone out: the handover is running long
    story.to(70)
    s.roles.hand_over(
        i,
        "IC",
        "sam.okafor",
        {
            "status": (
                f"Mitigated since {_hhmm(at(40))}: settle-eu paused, 502s at 0.4%. About 1,900 checkouts "
                "failed at the peak; wallet payments were never affected."
            ),
            "hypotheses": (
                "Ruled in: settle-eu exhausting the payments-db-eu pool (saturated before the rollout). "
                "Ruled out: 4.12 alone (rollback cut errors but did not stop them). Open: how much 4.12's "
                "extra connection per request added."
            ),
            "last_update": (
                f"Status page 'monitoring' at {_hhmm(at(49))}; next update promised by {_hhmm(at(69))} and "
                "now overdue. Two enterprise customers were promised a direct note."
            ),
            "next_actions": (
                "Mei: status page update now. Lucas: re-run settle-eu with the pool cap in dry-run, report "
                "by the next update. Jonas: fix 4.12 today. Resolve after 30 clean minutes."
            ),
        },
        author="ana.ruiz",
    )
    log(72, "sam.okafor", EntryKind.NOTE, "Sam Okafor has command; Ana stays reachable for the next hour")
    for item in (0, 2):
        story.to(73 + item * 0.2)
        s.roles.tick_checklist(i, "IC", item, True, author="sam.okafor")
    log(76, "jonas.weber", EntryKind.OBSERVATION, "Error rate 0.1% for 20 min; pool at 35%")
    status_page(story, 80, "mei.lin", "sam.okafor", "monitoring", "Card payments in Europe are working normally.",
                "We are monitoring before we close the incident.")  # fmt: skip
    log(84, "sam.okafor", EntryKind.DECISION, "Stay mitigated (not resolved) until settle-eu has run with the cap",
        rationale="The 4.12 fix is not deployed and settle-eu runs again in about two hours; resolving now risks "
                  "a repeat with nobody on the bridge.")  # fmt: skip
    log(88, "lucas.silva", EntryKind.ACTION, "settle-eu dry run with pool cap 100 started (owner: Lucas)")
    log(90, "tom.hughes", EntryKind.OBSERVATION,
        "Support: first customer ticket about failed card payments was opened at this time",
        occurred_at=at(-8))  # fmt: skip
    log(92, "tom.hughes", EntryKind.NOTE,
        "Follow-up: alert on payments-db-eu pool above 90% for 2 min (it did not page today)")  # fmt: skip
    check(93)
    return inc


def _planned_maintenance(s: Sitrep, end: datetime) -> None:
    """Two windows ahead (one tonight, one later in the week) and one done last week."""
    tonight = end.replace(minute=0, second=0, microsecond=0) + timedelta(hours=10)
    s.maintenance.plan(
        "Payments database: primary upgrade", tonight, tonight + timedelta(hours=2), author="jonas.weber",
        description="We are upgrading the payments database. Card payments may be declined for up to 5 minutes "
        "during the switch-over; saved baskets are kept.",
        services=["payments-api", "checkout"],
    )  # fmt: skip
    later = tonight + timedelta(days=3, hours=2)
    s.maintenance.plan(
        "CDN certificate rotation", later, later + timedelta(minutes=30), author="mei.lin",
        description="Certificates on the edge network are rotated. No interruption is expected.",
        services=["cdn"], remind_subscribers=False,
    )  # fmt: skip
    past = tonight - timedelta(days=7)
    s.maintenance.plan(
        "Search cluster upgrade", past, past + timedelta(hours=1, minutes=30), author="priya.nair",
        description="Search results may be slower while the cluster is upgraded.", services=["search"],
        backfill=True,
    )  # fmt: skip


def open_demo(sitrep: Sitrep) -> IncidentView:
    """The demo in this store: seeded into an empty one, or the SEV1 of a demo seeded before (a demo kept
    in a folder of its own with `--demo --data-dir DIR` opens again where it was)."""
    if not sitrep.people.list():
        return seed_demo(sitrep)
    for inc in sitrep.incidents.list(limit=50):
        if inc.severity == "SEV1":
            return inc
    return sitrep.incidents.list(limit=1)[0]


def demo_commander(sitrep: Sitrep, incident: IncidentView) -> str:
    """The demo's person at the keyboard: the SEV1's commander, so its story can be played to the end
    (approving an external message takes the commander)."""
    return next((h.person.handle for h in sitrep.roles.holders(incident.id) if h.role == "IC"), PEOPLE[0].handle)


def _alert_storm(s: Sitrep, end: datetime) -> None:
    """Alerts still to triage (the Alerts panel): the identity database and what depends on it, a cache, and
    a source that sends no service label (the alert-quality view names it)."""
    def alert(n: int, rule: str, service: str | None, layer: str, minutes_ago: float, severity: str = "warning"):
        labels = {"alertname": rule, "severity": severity, "env": "production", "layer": layer}
        if service:
            labels["service"] = service
        else:
            labels["instance"] = f"batch-{n}"
        return IncomingAlert("demo:prometheus", "alertmanager", f"demo-{n:03d}", labels,
                             {"summary": f"{rule} on {service or labels['instance']}"},
                             end - timedelta(minutes=minutes_ago), None, False)  # fmt: skip

    storm = [alert(1, "PgConnectionsSaturated", "postgres-main", "infrastructure", 14, "critical")]
    storm += [alert(2 + i, f"LoginLatencyHigh{i}", "identity", "application", 12 - i) for i in range(4)]
    storm += [alert(10 + i, f"PushDelayed{i}", "notifications", "application", 9 - i) for i in range(3)]
    storm += [alert(20 + i, f"CacheEvictions{i}", "redis-cache", "infrastructure", 40 - i) for i in range(2)]
    storm += [alert(30, "DiskAlmostFull", None, "infrastructure", 5)]
    s.alerts.ingest(storm)
