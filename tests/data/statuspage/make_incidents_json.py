"""Writes incidents.json: a public status page history in Statuspage's `/api/v2/incidents.json` format.

There is no network here, so this builds one the way a real page serves it: a `page` block and the 50 most
recent incidents, newest first, each with its `incident_updates` (newest first), `components`, `impact`,
`shortlink`, `started_at`, and times written in the page's own zone with a UTC offset and milliseconds.
The incidents are invented (a fictional e-mail delivery provider) but shaped like real ones, including the
awkward cases: a postmortem, a reopened incident, a backdated update, one with no monitoring phase, one
still open, one with no components (only affected_components), a minor one and an impact-"none" notice.

Run: python tests/data/statuspage/make_incidents_json.py  (deterministic; the output is committed)
"""

from __future__ import annotations

import json
import random
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

PAGE_ID = "r7kq2m1xw9dz"
ZONE = ZoneInfo("America/Los_Angeles")
rng = random.Random(20260227)


def ident() -> str:
    return "".join(rng.choice(string.ascii_lowercase + string.digits) for _ in range(12))


def ts(t: datetime) -> str:
    """As the page writes times: its own zone, milliseconds, an offset (2026-01-14T07:02:00.000-08:00)."""
    return t.astimezone(ZONE).isoformat(timespec="milliseconds")


COMPONENTS = [
    ("API", "Sending and account API (api.relaymail.example)"),
    ("SMTP Relay", "SMTP submission on ports 25, 587 and 2525"),
    ("Webhooks", "Event webhooks: delivered, opened, bounced"),
    ("Dashboard", None),
    ("Inbound Parse", "Parsing of inbound mail to your endpoints"),
    ("Email Delivery - Gmail", None),
    ("Email Delivery - Microsoft", None),
    ("Marketing Campaigns", None),
]
COMPONENT_IDS = {name: ident() for name, _ in COMPONENTS}
CREATED = datetime(2019, 4, 2, 17, 12, 44, 318000, tzinfo=UTC)


def component(name: str, status: str, updated: datetime) -> dict:
    desc = dict(COMPONENTS)[name]
    return {
        "id": COMPONENT_IDS[name],
        "name": name,
        "status": status,
        "created_at": ts(CREATED),
        "updated_at": ts(updated),
        "position": [n for n, _ in COMPONENTS].index(name) + 1,
        "description": desc,
        "showcase": name in ("API", "SMTP Relay"),
        "start_date": "2019-04-02",
        "group_id": None,
        "page_id": PAGE_ID,
        "group": False,
        "only_show_if_degraded": False,
    }


TEMPLATES = {
    "investigating": [
        "We are investigating reports of {symptom} affecting {what}. We will post an update within 30 minutes.",
        "We're seeing {symptom} for {what} and are looking into it.",
        "Some customers are experiencing {symptom} with {what}. Our engineers are investigating.",
    ],
    "identified": [
        "The issue has been identified as {cause} and a fix is being implemented.",
        "We have identified the cause: {cause}. Engineers are rolling out a fix.",
    ],
    "monitoring": [
        "A fix has been implemented and we are monitoring the results. {what} is recovering.",
        "Mitigation is in place and {what} has returned to normal levels. We are continuing to monitor.",
    ],
    "resolved": [
        "This incident has been resolved.",
        "{what} has been operating normally since the fix. This incident has been resolved.",
    ],
    "postmortem": [
        "Summary: between {start} and {end} UTC, {what} saw {symptom}. Root cause: {cause}. We have added "
        "alerting on queue depth and a canary stage to the deploy pipeline so that this does not recur.",
    ],
}
SYMPTOMS = [
    "elevated error rates",
    "increased latency",
    "delayed delivery",
    "timeouts",
    "intermittent 5xx responses",
    "login failures",
    "delayed webhook events",
]
CAUSES = [
    "a database failover that did not complete",
    "a misconfigured load balancer rule shipped in this morning's deploy",
    "an expired TLS certificate on an internal relay",
    "throttling by an upstream mailbox provider",
    "disk exhaustion on a queue node",
    "a memory leak in the latest release of the API workers",
    "a network partition in one availability zone",
]


def body(status: str, what: str, symptom: str, cause: str, start: datetime, end: datetime) -> str:
    text = rng.choice(TEMPLATES[status])
    return text.format(
        what=what, symptom=symptom, cause=cause, start=start.strftime("%H:%M"), end=end.strftime("%H:%M")
    )


def make_incident(
    began: datetime,
    names: list[str],
    impact: str,
    steps: list[tuple[str, float]],
    *,
    started_offset_min: float = 0.0,
    component_status: str = "partial_outage",
    backdate_last_min: float = 0.0,
    omit_components: bool = False,
    title: str | None = None,
) -> dict:
    """steps: (status, minutes after `began`) in time order."""
    inc_id = ident()
    symptom, cause = rng.choice(SYMPTOMS), rng.choice(CAUSES)
    what = (
        (", ".join(names[:-1]) + " and " + names[-1])
        if len(names) > 1
        else (names[0] if names else "some customers")
    )
    title = title or f"{symptom.capitalize()} for {what}"
    updates = []
    times = [began + timedelta(minutes=m) for _, m in steps]
    end = times[-1]
    for k, ((status, _m), at) in enumerate(zip(steps, times, strict=True)):
        created = at + timedelta(seconds=rng.randint(5, 40))
        display = at
        if k == len(steps) - 1 and backdate_last_min:
            display = at - timedelta(minutes=backdate_last_min)
        if status in ("investigating", "identified"):
            new = component_status
        elif status == "monitoring":
            new = "degraded_performance" if component_status != "degraded_performance" else "operational"
        else:
            new = "operational"
        old = updates[-1]["_new"] if updates else "operational"
        affected = None
        if status != "postmortem" and (k == 0 or new != old):
            affected = [
                {"code": COMPONENT_IDS[n], "name": n, "old_status": old, "new_status": new} for n in names
            ]
        updates.append(
            {
                "id": ident(),
                "status": status,
                "body": body(status, what, symptom, cause, began, end),
                "incident_id": inc_id,
                "created_at": ts(created),
                "updated_at": ts(created),
                "display_at": ts(display),
                "affected_components": affected,
                "deliver_notifications": status != "postmortem",
                "custom_tweet": None,
                "tweet_id": None,
                "_new": new,
            }
        )
    current = updates[-1]["_new"] if steps[-1][0] not in ("resolved", "postmortem") else "operational"
    for u in updates:
        del u["_new"]
    final = steps[-1][0]
    first_monitoring = next((t for (s, _), t in zip(steps, times, strict=True) if s == "monitoring"), None)
    resolved = next(
        (t for (s, _), t in reversed(list(zip(steps, times, strict=True))) if s == "resolved"), None
    )
    created_at = times[0] + timedelta(seconds=2)
    return {
        "id": inc_id,
        "name": title,
        "status": final,
        "created_at": ts(created_at),
        "updated_at": ts(end + timedelta(seconds=50)),
        "monitoring_at": ts(first_monitoring) if first_monitoring else None,
        "resolved_at": ts(resolved) if resolved and final in ("resolved", "postmortem") else None,
        "impact": impact,
        "shortlink": f"https://stspg.io/{ident()[:7]}",
        "started_at": ts(times[0] - timedelta(minutes=started_offset_min)),
        "page_id": PAGE_ID,
        "incident_updates": list(reversed(updates)),
        "components": [] if omit_components else [component(n, current, end) for n in names],
        "reminder_intervals": None,
    }


def main() -> None:
    now = datetime(2026, 2, 27, 18, 40, tzinfo=UTC)
    incidents = []
    # Special cases first (they land at fixed places in time), then ordinary history.
    incidents.append(  # still open
        make_incident(
            now - timedelta(minutes=50),
            ["Webhooks"],
            "minor",
            [("investigating", 0), ("identified", 22)],
            component_status="degraded_performance",
        )  # fmt: skip
    )
    incidents.append(  # postmortem published
        make_incident(
            datetime(2026, 1, 14, 15, 2, tzinfo=UTC),
            ["API", "SMTP Relay"],
            "critical",
            [
                ("investigating", 0),
                ("identified", 18),
                ("monitoring", 41),
                ("resolved", 95),
                ("postmortem", 60 * 24 * 3),
            ],
            started_offset_min=12,
            component_status="major_outage",
        )  # fmt: skip
    )
    incidents.append(  # reopened: resolved, then back to investigating
        make_incident(
            datetime(2025, 12, 2, 9, 30, tzinfo=UTC),
            ["Email Delivery - Microsoft"],
            "major",
            [
                ("investigating", 0),
                ("monitoring", 35),
                ("resolved", 70),
                ("investigating", 140),
                ("identified", 160),
                ("monitoring", 190),
                ("resolved", 250),
            ],
        )  # fmt: skip
    )
    incidents.append(  # no monitoring phase, resolution backdated
        make_incident(
            datetime(2025, 10, 20, 22, 5, tzinfo=UTC),
            ["Dashboard"],
            "minor",
            [("investigating", 0), ("resolved", 47)],
            backdate_last_min=15,
            component_status="degraded_performance",
        )  # fmt: skip
    )
    incidents.append(  # components empty, affected_components only
        make_incident(
            datetime(2025, 9, 3, 4, 10, tzinfo=UTC),
            ["Inbound Parse"],
            "major",
            [("investigating", 0), ("identified", 25), ("monitoring", 55), ("resolved", 120)],
            omit_components=True,
        )  # fmt: skip
    )
    incidents.append(  # impact none: a notice
        make_incident(
            datetime(2025, 7, 8, 16, 0, tzinfo=UTC),
            [],
            "none",
            [("investigating", 0), ("resolved", 30)],
            title="Delayed statistics in the dashboard for a subset of accounts",
        )  # fmt: skip
    )
    begin = datetime(2025, 1, 10, tzinfo=UTC)
    span = (now - timedelta(days=3) - begin).total_seconds()
    starts = sorted(begin + timedelta(seconds=rng.random() * span) for _ in range(44))
    for s in starts:
        names = rng.sample([n for n, _ in COMPONENTS], rng.choice((1, 1, 1, 2, 2, 3)))
        impact = rng.choices(["minor", "major", "critical"], weights=(60, 32, 8))[0]
        scale = {"minor": 1.0, "major": 1.4, "critical": 1.8}[impact]
        t_ident = rng.uniform(8, 40) * scale
        t_mon = t_ident + rng.uniform(10, 60) * scale
        t_res = t_mon + rng.uniform(20, 180)
        steps = [("investigating", 0.0)]
        if rng.random() < 0.8:
            steps.append(("identified", t_ident))
        if rng.random() < 0.85:
            steps.append(("monitoring", t_mon))
        steps.append(("resolved", t_res))
        status = {"minor": "degraded_performance", "major": "partial_outage", "critical": "major_outage"}[
            impact
        ]
        incidents.append(
            make_incident(
                s,
                names,
                impact,
                steps,
                started_offset_min=rng.choice((0, 0, 0, 5, 20)),
                component_status=status,
            )  # fmt: skip
        )
    incidents.sort(key=lambda i: datetime.fromisoformat(i["created_at"]), reverse=True)
    doc = {
        "page": {
            "id": PAGE_ID,
            "name": "Relaymail",
            "url": "https://status.relaymail.example",
            "time_zone": "America/Los_Angeles",
            "updated_at": ts(now),
        },
        "incidents": incidents[:50],
    }
    out = Path(__file__).with_name("incidents.json")
    out.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {out} ({len(doc['incidents'])} incidents)")


if __name__ == "__main__":
    main()
