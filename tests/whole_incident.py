"""One whole SEV1, written once and run two ways: through the services and through the command line.

Times in the service run come from the FakeClock, minutes after a declaration at T; the command-line
run cannot move the clock, so it backdates each step by the same distance from "now" (T = now - 60m).
Both must leave the same record, apart from the timestamps.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from services.record.timeline import parse_quick_entry

TITLE = "Checkout: payments failing"
SUMMARY = "Card payments fail at checkout for most users."
OBSERVATION = "/obs Payment errors at 40% on checkout-api"
ASSUMPTION = "/assume The 08:50 deploy of payments-api is the trigger"
DECISION = "/decision Roll back payments-api to 4.12.2 because the errors began with that deploy"
BACKDATED_NOTE = "Support saw failed payments from 08:45"
COMMS = "/comms Status page: investigating failed card payments at checkout"
BRIEF = {
    "status": "Rollback of payments-api running; errors at 40%",
    "hypotheses": "In: the 08:50 deploy. Out: the card network (their status is green)",
    "last_update": "None sent yet; status page promised within 10 minutes",
    "next_actions": "Watch error rate after rollback; Ben owns the status page",
}
PEOPLE = (
    ("Ana Ruiz", "ana", "ana@example.com", "Europe/Madrid"),
    ("Ben Okafor", "ben", "ben@example.com", "America/New_York"),
)


def run_with_services(app, clock) -> str:
    """The whole incident through the services; returns the incident key. T is the clock at the call."""
    t0 = clock()
    for name, handle, email, tz in PEOPLE:
        app.people.add(name, handle, email=email, timezone=tz)
    inc = app.incidents.declare(
        TITLE,
        "SEV1",
        author="ana",
        summary=SUMMARY,
        services=["checkout", "payments"],
        impact_started_at=t0 - timedelta(minutes=20),
        detected_at=t0 - timedelta(minutes=10),
    )

    def log(text: str, **kw) -> None:
        kind, body, rationale = parse_quick_entry(text)
        app.timeline.log(inc.id, body, author="ana", kind=kind, rationale=rationale, **kw)

    clock.advance(minutes=1)
    log(OBSERVATION)
    clock.advance(minutes=1)
    app.roles.assign(inc.key, "IC", "ana", author="ana")
    clock.advance(minutes=1)
    log(ASSUMPTION)
    clock.advance(minutes=1)
    log(DECISION)
    clock.advance(minutes=1)
    log(BACKDATED_NOTE, occurred_at=t0 - timedelta(minutes=15))
    clock.advance(minutes=3)  # T+8
    app.roles.hand_over(inc.key, "IC", "ben", BRIEF, author="ana")
    clock.advance(minutes=1)  # T+9: the bridge opens 4 minutes after its 5-minute deadline
    app.incidents.set_milestone(inc.key, "bridge_opened", clock(), author="ben")
    clock.advance(minutes=2)  # T+11: past the bridge deadline and the first-update deadline (T+10)
    app.clocks.check(inc.key)
    clock.advance(minutes=1)  # T+12
    log(COMMS)
    clock.advance(minutes=21)  # T+33: the next update was due at T+32
    app.clocks.check(inc.key)
    clock.advance(minutes=2)  # T+35
    app.incidents.set_status(inc.key, "mitigated", author="ben")
    clock.advance(minutes=10)  # T+45
    app.incidents.set_status(inc.key, "resolved", author="ben")
    return inc.key


def cli_script(key: str = "INC-0001") -> list[list[str]]:
    """The same incident as command lines, each step backdated to its place relative to T = now - 60m."""
    brief = [f"--{k.replace('_', '-')}={v}" for k, v in BRIEF.items()]
    return [
        *(["people", "add", name, handle, "--email", email, "--tz", tz] for name, handle, email, tz in PEOPLE),
        ["--as", "ana", "declare", TITLE, "-s", "SEV1", "--summary", SUMMARY, "--service", "checkout",
         "--service", "payments", "--impact-started", "-80m", "--detected", "-70m", "--declared", "-60m"],
        ["--as", "ana", "log", key, OBSERVATION, "--at", "-59m"],
        ["--as", "ana", "role", "assign", key, "IC", "ana", "--at", "-58m"],
        ["--as", "ana", "log", key, ASSUMPTION, "--at", "-57m"],
        ["--as", "ana", "log", key, DECISION, "--at", "-56m"],
        ["--as", "ana", "log", key, BACKDATED_NOTE, "--at", "-75m"],
        ["--as", "ana", "role", "handover", key, "IC", "ben", *brief, "--at", "-52m"],
        ["--as", "ben", "milestone", key, "bridge_opened", "-51m"],
        ["--as", "ben", "clocks", key, "--check"],
        ["--as", "ana", "log", key, COMMS, "--at", "-48m"],
        ["--as", "ben", "clocks", key, "--check"],
        ["--as", "ben", "status", key, "mitigated", "--at", "-25m"],
        ["--as", "ben", "status", key, "resolved", "--at", "-15m"],
    ]  # fmt: skip


# The record's ISO form in data, and the readable UTC form in bodies.
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}\.\d{6}Z| \d{2}:\d{2}:\d{2}(\.\d{3})? UTC)")


def _without_times(value: Any) -> Any:
    if isinstance(value, str):
        return _ISO.sub("<time>", value)
    if isinstance(value, dict):
        return {k: _without_times(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_without_times(v) for v in value]
    return value


def record_without_times(entries) -> list[tuple]:
    """What the record says, entry by entry, with every timestamp blanked."""
    return [
        (e.seq, e.kind, _without_times(e.body), e.rationale, e.author, _without_times(e.data))
        for e in entries
    ]
