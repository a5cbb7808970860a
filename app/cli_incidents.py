"""`sitrep declare`, `log`, `correct`, `status`, `severity`, `major`, `milestone`, `update`, `list`, `show`,
`clocks` and `severities`: the incident record, headless."""

from __future__ import annotations

import shutil
import sys
import textwrap

from app.cli_context import Cli, command
from app.cli_governance import add_impact_arguments, impact_arguments
from app.cli_output import emit_json, incident_line, local_time, plain
from app.terminal import safe
from models.enums import AUTHORED_KINDS, EntryKind, Milestone, Status
from services.errors import ValidationError
from services.record.owed import owed_at_resolve
from services.record.timeline import is_backdated, parse_quick_entry


def add_incident_commands(sub) -> None:
    sp = command(sub, "declare", "declare an incident")
    sp.add_argument("title")
    sp.add_argument("-s", "--severity", required=True, help="SEV1 (most severe) .. SEV5")
    sp.add_argument("--summary", default="")
    sp.add_argument("--type", dest="incident_type", default="service_outage")
    sp.add_argument("--service", action="append", default=[], help="an impacted service (repeatable)")
    major = sp.add_mutually_exclusive_group()
    major.add_argument("--major", dest="major", action="store_true", default=None)
    major.add_argument("--not-major", dest="major", action="store_false")
    sp.add_argument(
        "--exercise", action="store_true", help="a drill or tabletop exercise (kept out of metrics)"
    )
    sp.add_argument("--impact-started", help="when impact began (ISO time, HH:MM local, or -30m)")
    sp.add_argument("--detected", help="when it was detected")
    sp.add_argument("--declared", help="when it was declared (default: now)")
    sp.add_argument("--users", type=int, help="affected users")
    sp.add_argument("--error-rate", type=float, help="user-facing error rate, percent")
    add_impact_arguments(sp, with_error_rate=False)
    sp.add_argument("--severity-reason", help="why, when the severity is not the one the impact proposes")

    sp = command(sub, "log", "append an entry to an incident's timeline")
    sp.add_argument("incident")
    sp.add_argument(
        "text", help="the entry; may start with a prefix such as /decision, /obs, /assume, /action"
    )
    sp.add_argument("-k", "--kind", choices=sorted(k.value for k in EntryKind if k in AUTHORED_KINDS),
                    help="entry kind (default: note, or the prefix's kind)")  # fmt: skip
    sp.add_argument("--rationale", help="why (required for a decision)")
    sp.add_argument("--at", help="when it happened, to backdate (ISO time, HH:MM local, or -10m)")
    sp.add_argument("--backdate-reason", help="why an entry dated before the incident began belongs to it")
    sp.add_argument("--source", default="cli")

    sp = command(sub, "correct", "correct a timeline entry (the original stays in the record)")
    sp.add_argument("entry_id")
    sp.add_argument("text")
    sp.add_argument("--reason", required=True)

    sp = command(sub, "status", "move an incident to a new status")
    sp.add_argument("incident")
    sp.add_argument("status", choices=[s.value for s in Status])
    sp.add_argument("--reason", help="required to reopen a resolved or closed incident")
    sp.add_argument("--at", help="when it happened (default: now)")
    sp.add_argument("--override", metavar="REASON",
                    help="incident commander only: go past open checklist items, with this reason")  # fmt: skip

    sp = command(sub, "severity", "change an incident's severity")
    sp.add_argument("incident")
    sp.add_argument("severity")
    sp.add_argument("--reason", help="required when lowering the severity, or when it goes against the proposed one")

    sp = command(sub, "major", "declare a major incident, or de-escalate one")
    sp.add_argument("incident")
    sp.add_argument("state", choices=["on", "off"])
    sp.add_argument("--reason", help="required to de-escalate")

    sp = command(sub, "milestone", "list, set, move or clear an incident's milestones")
    sp.add_argument("incident")
    sp.add_argument("milestone", nargs="?", choices=[m.value for m in Milestone])
    sp.add_argument("when", nargs="?", help="a time, or 'clear'")
    sp.add_argument("--reason")

    sp = command(sub, "update", "change title, summary, impacted services or customer impact")
    sp.add_argument("incident")
    sp.add_argument("--title")
    sp.add_argument("--summary")
    sp.add_argument("--service", action="append", help="the impacted services (repeat; replaces the list)")
    sp.add_argument("--users", type=int)
    sp.add_argument("--error-rate", type=float)

    sp = command(sub, "list", "list incidents, open ones first")
    sp.add_argument("--open", action="store_true", help="only open incidents")
    sp.add_argument("--status", action="append", choices=[s.value for s in Status])
    sp.add_argument("--severity", action="append")
    sp.add_argument("--service")

    sp = command(sub, "show", "show an incident: state, milestones, roles, clocks and timeline")
    sp.add_argument("incident")
    sp.add_argument("--limit", type=int, default=0, help="only the last N timeline entries")
    sp.add_argument("--order", choices=("occurred", "logged"), default="occurred",
                    help="timeline by time of occurrence (default) or in the order it was logged (the hash chain's)")

    sp = command(sub, "clocks", "show an incident's severity clocks; --check records breaches")
    sp.add_argument("incident")
    sp.add_argument("--check", action="store_true", help="write a timeline entry for each new breach")
    command(sub, "severities", "the severity matrix: each level's criteria and obligations")


def run_incidents(cli: Cli) -> int:
    return _RUNS[cli.a.command](cli)


def _declare(cli: Cli) -> int:
    a = cli.a
    inc = cli.s.incidents.declare(
        a.title,
        a.severity,
        author=cli.author,
        summary=a.summary,
        incident_type=a.incident_type,
        services=a.service,
        is_major=a.major,
        is_exercise=a.exercise,
        affected_users=a.users,
        error_rate_pct=a.error_rate,
        impact_started_at=cli.when(a.impact_started, "impact_started"),
        detected_at=cli.when(a.detected, "detected"),
        declared_at=cli.when(a.declared, "declared"),
        impact=impact_arguments(a) or None,
        severity_reason=a.severity_reason,
    )
    cli.out(inc, f"Declared {incident_line(inc)}")
    return 0


def _log(cli: Cli) -> int:

    inc = cli.s.incidents.get(cli.a.incident)
    kind, body, rationale = parse_quick_entry(cli.a.text)
    if cli.a.kind:
        kind = EntryKind(cli.a.kind)
    entry = cli.s.timeline.log(
        inc.id,
        body,
        author=cli.author,
        kind=kind,
        occurred_at=cli.when(cli.a.at, "at"),
        rationale=cli.a.rationale or rationale,
        source=cli.a.source,
        backdate_reason=cli.a.backdate_reason,
    )
    cli.out(entry, f"{inc.key} #{entry.seq} {entry.kind}: {safe(entry.body)}")
    return 0


def _correct(cli: Cli) -> int:
    entry = cli.s.timeline.correct(cli.a.entry_id, cli.a.text, author=cli.author, reason=cli.a.reason)
    cli.out(entry, f"#{entry.seq} corrects #{entry.data['corrects_seq']}: {entry.body}")
    return 0


def _status(cli: Cli) -> int:
    # What is owed is read before resolving (it stops the clocks) and said once resolving succeeded:
    # never refused, the commander's call.
    owed = owed_at_resolve(cli.s, cli.a.incident) if cli.a.status == Status.RESOLVED.value else []
    inc = cli.s.incidents.set_status(
        cli.a.incident,
        cli.a.status,
        author=cli.author,
        reason=cli.a.reason,
        at=cli.when(cli.a.at, "at"),
        override_reason=cli.a.override,
    )
    for item in owed:
        print(f"sitrep: warning: still owed: {item.text}", file=sys.stderr)
    cli.out(inc, incident_line(inc))
    return 0


def _severity(cli: Cli) -> int:
    inc = cli.s.incidents.set_severity(cli.a.incident, cli.a.severity, author=cli.author, reason=cli.a.reason)
    cli.out(inc, incident_line(inc))
    return 0


def _major(cli: Cli) -> int:
    inc = cli.s.incidents.set_major(
        cli.a.incident, cli.a.state == "on", author=cli.author, reason=cli.a.reason
    )
    cli.out(inc, incident_line(inc))
    return 0


def _milestone(cli: Cli) -> int:
    a = cli.a
    if a.milestone:
        if not a.when:
            raise ValidationError("Give the time for the milestone, or 'clear'.")
        at = None if a.when.lower() == "clear" else cli.when(a.when, a.milestone)
        inc = cli.s.incidents.set_milestone(a.incident, a.milestone, at, author=cli.author, reason=a.reason)
    else:
        inc = cli.s.incidents.get(a.incident)
    lines = [f"{m.label:<16} {local_time(v)}" for m, v in inc.milestones.items()]
    cli.out({m.value: v for m, v in inc.milestones.items()}, "\n".join(lines))
    return 0


def _update(cli: Cli) -> int:
    a = cli.a
    inc = cli.s.incidents.update_details(
        a.incident,
        author=cli.author,
        title=a.title,
        summary=a.summary,
        services=a.service,
        affected_users=a.users,
        error_rate_pct=a.error_rate,
    )
    cli.out(inc, incident_line(inc))
    return 0


def _list(cli: Cli) -> int:
    a = cli.a
    rows = cli.s.incidents.list(
        statuses=[Status(x) for x in a.status or []],
        severities=a.severity,
        service=a.service,
        open_only=a.open,
    )
    text = "\n".join(incident_line(r) for r in rows) or "No incidents."
    cli.out(rows, text)
    return 0


def _show(cli: Cli) -> int:
    inc = cli.s.incidents.get(cli.a.incident)
    holders = cli.s.roles.holders(inc.id)
    clocks = cli.s.clocks.clocks(inc)
    entries = cli.s.timeline.entries(inc.id)
    if cli.a.order == "occurred":
        entries.sort(key=lambda e: (e.occurred_at, e.seq))
    if cli.a.limit:
        entries = entries[-cli.a.limit :]
    now = cli.s.now()
    if cli.a.json:
        emit_json(
            {
                "incident": inc,
                "roles": holders,
                "clocks": [{**plain(c), "state": c.state(now)} for c in clocks],
                "timeline": entries,
            }
        )
        return 0
    print(incident_line(inc))
    if inc.summary:
        print(f"  {safe(inc.summary)}")
    print(f"  type {inc.incident_type}; services: {', '.join(inc.services) or '-'}"
          f"; affected users: {inc.affected_users if inc.affected_users is not None else 'not set'}"
          f"; error rate: {f'{inc.error_rate_pct}%' if inc.error_rate_pct is not None else 'not set'}")  # fmt: skip
    print("Milestones:")
    for m, v in inc.milestones.items():
        if v is not None:
            print(f"  {m.label:<16} {local_time(v)}")
    print("Roles:")
    for h in holders:
        print(
            f"  {cli.s.catalog.role(h.role).name:<28} {h.person.name} (@{h.person.handle}) since {local_time(h.started_at)}"
        )
    if not holders:
        print("  (none assigned)")
    print("Clocks:")
    label_width = max((len(c.label) for c in clocks), default=0)
    for c in clocks:
        print(f"  {c.label:<{label_width}}  due {local_time(c.due_at)}  {c.state(now)}")
    print("Timeline:" + (" (in the order logged)" if cli.a.order == "logged" else ""))
    superseded = cli.s.timeline.superseded_ids(inc.id)
    width = shutil.get_terminal_size((100, 24)).columns
    for e in entries:
        print(_entry_lines(e, e.id in superseded, width))
    return 0


def _entry_lines(e, corrected: bool, width: int) -> str:
    """One timeline entry for a terminal: its head on the first line, the text wrapped under it, and a
    backdated entry with the time it was logged too."""
    head = f"  #{e.seq:<4} {local_time(e.occurred_at)}  {e.kind:<16} {safe(e.author)}"
    if is_backdated(e):
        head += f"  (backdated; logged {local_time(e.recorded_at)})"
    text = safe(e.body) + (f"  [why: {safe(e.rationale)}]" if e.rationale else "") + (" (corrected)" if corrected else "")
    indent = " " * 8
    body = textwrap.fill(text, width=max(width - 1, 40), initial_indent=indent, subsequent_indent=indent,
                         replace_whitespace=False)  # fmt: skip
    return f"{head}\n{body}"


def _clocks(cli: Cli) -> int:
    inc = cli.s.incidents.get(cli.a.incident)
    if cli.a.check:
        # A breach is Sitrep's finding, not the typist's: authored "sitrep" as from the console.
        for c in cli.s.clocks.check(inc.id):
            print(f"breach recorded: {c.label} (due {local_time(c.due_at)})", file=sys.stderr)
    now = cli.s.now()
    clocks = cli.s.clocks.clocks(inc, everything=True)
    rows = [{**plain(c), "state": c.state(now)} for c in clocks]
    text = (
        "\n".join(f"{c.label:<18} due {local_time(c.due_at)}  {c.state(now)}" for c in clocks) or "No clocks."
    )
    cli.out(rows, text)
    return 0


def _severities(cli: Cli) -> int:
    levels = list(cli.s.catalog.severities.values())
    lines = []
    for lv in levels:
        lines.append(f"{lv.id} {lv.label}{' (major)' if lv.major else ''}: {lv.description}")
        lines += [f"    if: {c}" for c in lv.criteria]
        lines += [f"    must: {o}" for o in lv.obligations()]
    cli.out(levels, "\n".join(lines))
    return 0


_RUNS = {
    "declare": _declare,
    "log": _log,
    "correct": _correct,
    "status": _status,
    "severity": _severity,
    "major": _major,
    "milestone": _milestone,
    "update": _update,
    "list": _list,
    "show": _show,
    "clocks": _clocks,
    "severities": _severities,
}
