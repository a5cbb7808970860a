"""The headless command line. Same services as the GUI; errors go to stderr with a non-zero exit code."""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import os
import re
import sys
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

from app.cli_hardening import add_backup_arguments, take_backup, verify  # do_verify, do_backup
from app.cli_maintenance import MaintenanceCommands  # do_maintenance
from app.cli_sync import OnCallCommands, SyncCommands  # do_sync, do_backend, do_oncall
from app.terminal import exact_stdout, safe
from models.enums import EntryKind, Milestone, Status
from models.types import iso
from services.errors import SitrepError, ValidationError
from services.roles import HANDOVER_FIELDS
from services.timeparse import parse_when


def default_author() -> str:
    env = os.environ.get("SITREP_USER")
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# The help says "-10m" backdates, but argparse takes any "-<digit><letter>..." word for an unknown option
# and stops with "expected one argument". Such words are rewritten to the same time as "10m ago".
_RELATIVE_TIME_WORD = re.compile(r"^-(\d+)(s|sec|m|min|h|hr|hour|hours|d|day|days)$", re.I)


def relative_times_as_words(argv: list[str]) -> list[str]:
    return [_RELATIVE_TIME_WORD.sub(r"\1\2 ago", word) for word in argv]


# -- output --------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Enum):
        return value.value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "_asdict"):
        return {k: _plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {(_plain(k) if isinstance(k, Enum) else k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_plain(v) for v in value]
    return value


def emit_json(value: Any) -> None:
    out = exact_stdout()
    json.dump(_plain(value), out, indent=2, ensure_ascii=False)
    out.write("\n")


def _t(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def _incident_line(inc) -> str:
    major = " MAJOR" if inc.is_major else ""
    return f"{inc.key}  {inc.severity}{major:<6} {inc.status.label:<13} {safe(inc.title)}"


# -- parser --------------------------------------------------------------------------------
def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sitrep",
        description="Sitrep incident commander console. With no command, opens the console window.",
    )
    p.add_argument("--data-dir", help="keep every file (database, logs, backups, settings) in this folder "
                   "(also SITREP_DATA_DIR)")  # fmt: skip
    p.add_argument("--db", help="SQLAlchemy database URL (default: sitrep.db in the data folder)")
    p.add_argument(
        "--as", dest="author", default=None, help="who is acting (default: SITREP_USER or your login)"
    )
    p.add_argument("--demo", action="store_true", help="open a throwaway store seeded with a realistic SEV1")
    p.add_argument("--read-only", action="store_true", help="open the store without changing anything in it "
                   "(automatic when its file or folder cannot be written)")  # fmt: skip
    p.add_argument("--version", action="store_true", help="print the version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    def cmd(name: str, help_: str) -> argparse.ArgumentParser:
        sp = sub.add_parser(name, help=help_, description=help_)
        return sp

    def with_json(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("--json", action="store_true", help="print JSON for scripts")
        return sp

    sp = with_json(cmd("declare", "declare an incident"))
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
    sp.add_argument("--error-rate", type=float, help="error rate, percent")

    sp = with_json(cmd("log", "append an entry to an incident's timeline"))
    sp.add_argument("incident")
    sp.add_argument(
        "text", help="the entry; may start with a prefix such as /decision, /obs, /assume, /action"
    )
    sp.add_argument("-k", "--kind", choices=sorted(k.value for k in EntryKind if k.value in _authored()),
                    help="entry kind (default: note, or the prefix's kind)")  # fmt: skip
    sp.add_argument("--rationale", help="why (required for a decision)")
    sp.add_argument("--at", help="when it happened, to backdate (ISO time, HH:MM local, or -10m)")
    sp.add_argument("--backdate-reason", help="why an entry dated before the incident began belongs to it")
    sp.add_argument("--source", default="cli")

    sp = with_json(cmd("correct", "correct a timeline entry (the original stays in the record)"))
    sp.add_argument("entry_id")
    sp.add_argument("text")
    sp.add_argument("--reason", required=True)

    sp = with_json(cmd("status", "move an incident to a new status"))
    sp.add_argument("incident")
    sp.add_argument("status", choices=[s.value for s in Status])
    sp.add_argument("--reason", help="required to reopen a resolved or closed incident")
    sp.add_argument("--at", help="when it happened (default: now)")

    sp = with_json(cmd("severity", "change an incident's severity"))
    sp.add_argument("incident")
    sp.add_argument("severity")
    sp.add_argument("--reason", help="required when lowering the severity")

    sp = with_json(cmd("major", "declare a major incident, or de-escalate one"))
    sp.add_argument("incident")
    sp.add_argument("state", choices=["on", "off"])
    sp.add_argument("--reason", help="required to de-escalate")

    sp = with_json(cmd("milestone", "list, set, move or clear an incident's milestones"))
    sp.add_argument("incident")
    sp.add_argument("milestone", nargs="?", choices=[m.value for m in Milestone])
    sp.add_argument("when", nargs="?", help="a time, or 'clear'")
    sp.add_argument("--reason")

    sp = with_json(cmd("update", "change title, summary, impacted services or customer impact"))
    sp.add_argument("incident")
    sp.add_argument("--title")
    sp.add_argument("--summary")
    sp.add_argument("--service", action="append", help="the impacted services (repeat; replaces the list)")
    sp.add_argument("--users", type=int)
    sp.add_argument("--error-rate", type=float)

    sp = with_json(cmd("list", "list incidents, open ones first"))
    sp.add_argument("--open", action="store_true", help="only open incidents")
    sp.add_argument("--status", action="append", choices=[s.value for s in Status])
    sp.add_argument("--severity", action="append")
    sp.add_argument("--service")

    sp = with_json(cmd("show", "show an incident: state, milestones, roles, clocks and timeline"))
    sp.add_argument("incident")
    sp.add_argument("--limit", type=int, default=0, help="only the last N timeline entries")

    sp = with_json(cmd("clocks", "show an incident's severity clocks; --check records breaches"))
    sp.add_argument("incident")
    sp.add_argument("--check", action="store_true", help="write a timeline entry for each new breach")

    sp = cmd("role", "assign, hand over or release incident roles")
    rsub = sp.add_subparsers(dest="role_command", metavar="ACTION", required=True)
    r = with_json(rsub.add_parser("assign", help="give a role to a responder"))
    r.add_argument("incident")
    r.add_argument("role")
    r.add_argument("handle")
    r.add_argument("--at")
    r = with_json(rsub.add_parser("handover", help="hand a role to someone else, with a brief"))
    r.add_argument("incident")
    r.add_argument("role")
    r.add_argument("handle", help="the incoming holder")
    for key, label in HANDOVER_FIELDS.items():
        r.add_argument(f"--{key.replace('_', '-')}", dest=key, required=True, help=label)
    r.add_argument("--at")
    r = with_json(rsub.add_parser("release", help="release a role"))
    r.add_argument("incident")
    r.add_argument("role")
    r.add_argument("--reason")
    r.add_argument("--at")
    r = with_json(rsub.add_parser("list", help="who holds which role (now, at a time, or the whole history)"))
    r.add_argument("incident")
    r.add_argument("--history", action="store_true")
    r.add_argument("--at", help="who held each role at this time")
    r = with_json(rsub.add_parser("checklist", help="tick a role's first-10-minutes checklist item"))
    r.add_argument("incident")
    r.add_argument("role")
    r.add_argument("item", type=int, nargs="?", help="item number (1-based); omit to list")
    r.add_argument("--undo", action="store_true")
    r = with_json(rsub.add_parser("catalog", help="the roles there are"))

    sp = cmd("people", "the responder directory")
    psub = sp.add_subparsers(dest="people_command", metavar="ACTION", required=True)
    r = with_json(psub.add_parser("add", help="add a responder"))
    r.add_argument("name")
    r.add_argument("handle")
    r.add_argument("--email")
    r.add_argument("--phone")
    r.add_argument("--tz", default="UTC", help="IANA time zone, e.g. Europe/Berlin")
    r = with_json(psub.add_parser("edit", help="change a responder"))
    r.add_argument("handle")
    r.add_argument("--name")
    r.add_argument("--new-handle")
    r.add_argument("--email")
    r.add_argument("--phone")
    r.add_argument("--tz")
    with_json(psub.add_parser("list", help="list responders"))

    with_json(cmd("severities", "the severity matrix: each level's criteria and obligations"))

    sp = cmd(
        "export",
        "export incidents as JSON with their timelines, roles, messages, stakeholder logs, regulatory "
        "clocks and remote links (all, or the ones named; a whole export also carries the stakeholders)",
    )
    sp.add_argument("incidents", nargs="*")
    sp.add_argument("-o", "--output", help="file to write (default: standard output)")

    sp = with_json(cmd("import", "import a Sitrep JSON export (validated; importing twice changes nothing)"))
    sp.add_argument("file")

    sp = with_json(cmd("verify", "check the timelines' hash chains, their heads and each incident's state"))
    sp.add_argument("--against-remote", action="store_true",
                    help="also compare with what PagerDuty and Jira received (the chain anchors in Sitrep's notes)")
    sp.add_argument("incident", nargs="?")

    _metrics_parsers(cmd)
    add_comms_commands(sub)

    with_json(cmd("doctor", "paths, versions, schema and an integrity check"))
    add_backup_arguments(with_json(cmd("backup", "take a backup of the store now; or list the backups, or restore one")))

    # -- sync and backends (app/cli_sync.py) --
    from app.cli_sync import add_sync_commands

    add_sync_commands(sub, cmd, with_json)
    from app.cli_maintenance import add_maintenance_commands

    add_maintenance_commands(sub, with_json)
    return p


def _metrics_parsers(cmd) -> None:
    from services.history_import import CSV_FIELDS, FORMATS
    from services.metrics import GROUPINGS

    sp = cmd("metrics", "time to detect, acknowledge, mitigate, resolve, between incidents, customer impact")
    sp.add_argument(
        "--by", default="all", choices=GROUPINGS, help="group the figures (default: all together)"
    )
    sp.add_argument("--metric", action="append", default=[], help="a metric id or short name (repeatable; "
                    "default: all). `sitrep metrics --definitions` lists them")  # fmt: skip
    sp.add_argument(
        "--service", action="append", default=[], help="only incidents on this service (repeatable)"
    )
    sp.add_argument("--severity", action="append", default=[], help="only this severity (repeatable)")
    sp.add_argument(
        "--type", dest="incident_type", action="append", default=[], help="only this incident type"
    )
    sp.add_argument("--since", help="incidents that happened from this time on (e.g. 2026-01-01)")
    sp.add_argument("--until", help="incidents that happened before this time")
    sp.add_argument("--include-exercises", action="store_true", help="count drills and exercises too")
    sp.add_argument("--definitions", action="store_true", help="only list the metric definitions")
    out = sp.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="figures, definitions and exclusions as JSON")
    out.add_argument("--csv", action="store_true", help="figures and exclusions as CSV, definitions included")

    sp = cmd(
        "import-history", "import past incidents from a CSV, a Statuspage incidents.json or a Sitrep export"
    )
    sp.add_argument("file")
    sp.add_argument("--format", choices=FORMATS, help="default: from the file name and content")
    sp.add_argument(
        "--mapping", help='a TOML mapping file: [columns] field = "CSV column", timezone, date_formats'
    )
    sp.add_argument("--map", action="append", default=[], metavar="FIELD=COLUMN",
                    help=f"map a CSV column (repeatable); fields: {', '.join(CSV_FIELDS)}")  # fmt: skip
    sp.add_argument("--tz", help="time zone for times written without one (default UTC), e.g. Europe/Berlin")
    sp.add_argument("--date-format", action="append", default=[], help="a strftime pattern for dates, e.g. "
                    "'%%d/%%m/%%Y %%H:%%M' (repeatable)")  # fmt: skip
    sp.add_argument(
        "--source", help="what to call this source (default: csv); part of each incident's identity"
    )
    sp.add_argument(
        "--save-mapping", metavar="FILE", help="also write the mapping used to FILE, for next time"
    )
    sp.add_argument("--dry-run", action="store_true", help="read and check everything, write nothing")
    sp.add_argument("--json", action="store_true", help="print the report as JSON")


def _authored() -> set[str]:
    from models.enums import AUTHORED_KINDS

    return {k.value for k in AUTHORED_KINDS}


# -- running -------------------------------------------------------------------------------
class Cli(SyncCommands, OnCallCommands, MaintenanceCommands):
    def __init__(self, sitrep, args: argparse.Namespace, paths) -> None:
        self.s = sitrep
        self.a = args
        self.paths = paths
        self.author = args.author or default_author()

    def when(self, text: str | None, field: str = "time") -> datetime | None:
        return None if not text else parse_when(text, now=self.s.now(), field=field)

    def run(self) -> int:
        handler = getattr(self, "do_" + self.a.command.replace("-", "_"))
        return handler() or 0

    def out(self, value: Any, text: str) -> None:
        if getattr(self.a, "json", False):
            emit_json(value)
        else:
            print(text)

    def do_declare(self) -> int:
        a = self.a
        inc = self.s.incidents.declare(
            a.title,
            a.severity,
            author=self.author,
            summary=a.summary,
            incident_type=a.incident_type,
            services=a.service,
            is_major=a.major,
            is_exercise=a.exercise,
            affected_users=a.users,
            error_rate_pct=a.error_rate,
            impact_started_at=self.when(a.impact_started, "impact_started"),
            detected_at=self.when(a.detected, "detected"),
            declared_at=self.when(a.declared, "declared"),
        )
        self.out(inc, f"Declared {_incident_line(inc)}")
        return 0

    def do_log(self) -> int:
        from services.timeline import parse_quick_entry

        inc = self.s.incidents.get(self.a.incident)
        kind, body, rationale = parse_quick_entry(self.a.text)
        if self.a.kind:
            kind = EntryKind(self.a.kind)
        entry = self.s.timeline.log(
            inc.id,
            body,
            author=self.author,
            kind=kind,
            occurred_at=self.when(self.a.at, "at"),
            rationale=self.a.rationale or rationale,
            source=self.a.source,
            backdate_reason=self.a.backdate_reason,
        )
        self.out(entry, f"{inc.key} #{entry.seq} {entry.kind}: {safe(entry.body)}")
        return 0

    def do_correct(self) -> int:
        entry = self.s.timeline.correct(
            self.a.entry_id, self.a.text, author=self.author, reason=self.a.reason
        )
        self.out(entry, f"#{entry.seq} corrects #{entry.data['corrects_seq']}: {entry.body}")
        return 0

    def do_status(self) -> int:
        inc = self.s.incidents.set_status(
            self.a.incident,
            self.a.status,
            author=self.author,
            reason=self.a.reason,
            at=self.when(self.a.at, "at"),
        )
        self.out(inc, _incident_line(inc))
        return 0

    def do_severity(self) -> int:
        inc = self.s.incidents.set_severity(
            self.a.incident, self.a.severity, author=self.author, reason=self.a.reason
        )
        self.out(inc, _incident_line(inc))
        return 0

    def do_major(self) -> int:
        inc = self.s.incidents.set_major(
            self.a.incident, self.a.state == "on", author=self.author, reason=self.a.reason
        )
        self.out(inc, _incident_line(inc))
        return 0

    def do_milestone(self) -> int:
        a = self.a
        if a.milestone:
            if not a.when:
                raise ValidationError("Give the time for the milestone, or 'clear'.")
            at = None if a.when.lower() == "clear" else self.when(a.when, a.milestone)
            inc = self.s.incidents.set_milestone(
                a.incident, a.milestone, at, author=self.author, reason=a.reason
            )
        else:
            inc = self.s.incidents.get(a.incident)
        lines = [f"{m.label:<16} {_t(v)}" for m, v in inc.milestones.items()]
        self.out({m.value: v for m, v in inc.milestones.items()}, "\n".join(lines))
        return 0

    def do_update(self) -> int:
        a = self.a
        inc = self.s.incidents.update_details(
            a.incident,
            author=self.author,
            title=a.title,
            summary=a.summary,
            services=a.service,
            affected_users=a.users,
            error_rate_pct=a.error_rate,
        )
        self.out(inc, _incident_line(inc))
        return 0

    def do_list(self) -> int:
        a = self.a
        rows = self.s.incidents.list(
            statuses=[Status(x) for x in a.status or []],
            severities=a.severity,
            service=a.service,
            open_only=a.open,
        )
        text = "\n".join(_incident_line(r) for r in rows) or "No incidents."
        self.out(rows, text)
        return 0

    def do_show(self) -> int:
        inc = self.s.incidents.get(self.a.incident)
        holders = self.s.roles.holders(inc.id)
        clocks = self.s.clocks.clocks(inc)
        entries = self.s.timeline.entries(inc.id)
        if self.a.limit:
            entries = entries[-self.a.limit :]
        now = self.s.now()
        if self.a.json:
            emit_json(
                {
                    "incident": inc,
                    "roles": holders,
                    "clocks": [{**_plain(c), "state": c.state(now)} for c in clocks],
                    "timeline": entries,
                }
            )
            return 0
        print(_incident_line(inc))
        if inc.summary:
            print(f"  {safe(inc.summary)}")
        print(f"  type {inc.incident_type}; services: {', '.join(inc.services) or '-'}"
              f"; affected users: {inc.affected_users if inc.affected_users is not None else '-'}"
              f"; error rate: {inc.error_rate_pct if inc.error_rate_pct is not None else '-'}%")  # fmt: skip
        print("Milestones:")
        for m, v in inc.milestones.items():
            if v is not None:
                print(f"  {m.label:<16} {_t(v)}")
        print("Roles:")
        for h in holders:
            print(
                f"  {self.s.catalog.role(h.role).name:<28} {h.person.name} (@{h.person.handle}) since {_t(h.started_at)}"
            )
        if not holders:
            print("  (none assigned)")
        print("Clocks:")
        for c in clocks:
            print(f"  {c.label:<18} due {_t(c.due_at)}  {c.state(now)}")
        print("Timeline:")
        superseded = self.s.timeline.superseded_ids(inc.id)
        for e in entries:
            mark = " (corrected)" if e.id in superseded else ""
            extra = f"  [why: {safe(e.rationale)}]" if e.rationale else ""
            print(f"  #{e.seq:<4} {_t(e.occurred_at)}  {e.kind:<16} {safe(e.author):<12} {safe(e.body)}{extra}{mark}")
        return 0

    def do_clocks(self) -> int:
        inc = self.s.incidents.get(self.a.incident)
        if self.a.check:
            # A breach is Sitrep's finding, not the typist's: authored "sitrep" as from the console.
            for c in self.s.clocks.check(inc.id):
                print(f"breach recorded: {c.label} (due {_t(c.due_at)})", file=sys.stderr)
        now = self.s.now()
        clocks = self.s.clocks.clocks(inc)
        rows = [{**_plain(c), "state": c.state(now)} for c in clocks]
        text = "\n".join(f"{c.label:<18} due {_t(c.due_at)}  {c.state(now)}" for c in clocks) or "No clocks."
        self.out(rows, text)
        return 0

    def do_role(self) -> int:
        a = self.a
        rc = a.role_command
        if rc == "catalog":
            roles = list(self.s.catalog.roles.values())
            self.out(roles, "\n".join(f"{r.id:<8} {r.name}: {r.mission}" for r in roles))
        elif rc == "assign":
            h = self.s.roles.assign(
                a.incident, a.role, a.handle, author=self.author, at=self.when(a.at, "at")
            )
            self.out(h, f"{h.person.name} is {self.s.catalog.role(h.role).name}")
        elif rc == "handover":
            brief = {k: getattr(a, k) for k in HANDOVER_FIELDS}
            h = self.s.roles.hand_over(
                a.incident, a.role, a.handle, brief, author=self.author, at=self.when(a.at, "at")
            )
            self.out(h, f"{h.person.name} is now {self.s.catalog.role(h.role).name}")
        elif rc == "release":
            self.s.roles.release(
                a.incident, a.role, author=self.author, reason=a.reason, at=self.when(a.at, "at")
            )
            self.out({"released": a.role}, f"{a.role} released")
        elif rc == "list":
            if a.at:
                at = self.when(a.at, "at")
                rows = [h for r in self.s.catalog.roles if (h := self.s.roles.who_held(a.incident, r, at))]
            elif a.history:
                rows = self.s.roles.history(a.incident)
            else:
                rows = self.s.roles.holders(a.incident)
            lines = [
                f"{self.s.catalog.role(h.role).name:<28} {h.person.name:<20} {_t(h.started_at)} → {_t(h.ended_at) if h.ended_at else 'now'}"
                for h in rows
            ]
            self.out(rows, "\n".join(lines) or "Nobody holds a role.")
        elif rc == "checklist":
            role = self.s.catalog.role(a.role)
            if a.item is not None:
                self.s.roles.tick_checklist(a.incident, role.id, a.item - 1, not a.undo, author=self.author)
            holder = next((h for h in self.s.roles.holders(a.incident) if h.role == role.id), None)
            done = set(holder.checklist_done) if holder else set()
            items = [{"item": i + 1, "text": t, "done": i in done} for i, t in enumerate(role.checklist)]
            self.out(
                items, "\n".join(f"[{'x' if it['done'] else ' '}] {it['item']}. {it['text']}" for it in items)
            )
        return 0

    def do_people(self) -> int:
        a = self.a
        pc = a.people_command
        if pc == "add":
            p = self.s.people.add(a.name, a.handle, email=a.email, phone=a.phone, timezone=a.tz)
            self.out(p, f"Added {p.name} (@{p.handle})")
        elif pc == "edit":
            p = self.s.people.update(
                a.handle, name=a.name, new_handle=a.new_handle, email=a.email, phone=a.phone, timezone=a.tz
            )
            self.out(p, f"Updated {p.name} (@{p.handle})")
        else:
            rows = self.s.people.list()
            text = "\n".join(
                f"@{p.handle:<16} {p.name:<24} {p.timezone:<20} {p.email or '-':<28} {p.phone or '-'}"
                for p in rows
            )
            self.out(rows, text or "The responder directory is empty.")
        return 0

    def do_severities(self) -> int:
        levels = list(self.s.catalog.severities.values())
        lines = []
        for lv in levels:
            lines.append(f"{lv.id} {lv.label}{' (major)' if lv.major else ''}: {lv.description}")
            lines += [f"    if: {c}" for c in lv.criteria]
            lines += [f"    must: {o}" for o in lv.obligations()]
        self.out(levels, "\n".join(lines))
        return 0

    def do_export(self) -> int:
        doc = self.s.exchange.export(self.a.incidents or None)
        text = json.dumps(doc, indent=2, ensure_ascii=False)
        if self.a.output:
            try:
                tmp = Path(self.a.output + ".part")
                tmp.write_text(text + "\n", encoding="utf-8")
                tmp.replace(self.a.output)
            except OSError as exc:
                raise ValidationError(f"Cannot write {self.a.output}: {exc.strerror}.") from None
            print(f"Exported {len(doc['incidents'])} incident(s) to {self.a.output}", file=sys.stderr)
        else:
            exact_stdout().write(text + "\n")
        owed = self.s.exchange.unsent_sync_items(
            [i["id"] for i in doc["incidents"]], storewide=not self.a.incidents
        )
        if owed:
            print(
                f"sitrep: note: {owed} sync item(s) still owed to the backends for what was exported stay queued here and "
                "are not in the file; a store that imports it will not send them (`sitrep sync --status`).",
                file=sys.stderr,
            )
        return 0

    def do_import(self) -> int:
        report = self.s.exchange.import_file(Path(self.a.file))
        parts = [
            f"created {len(report.created)}",
            f"extended {len(report.extended)}",
            f"unchanged {len(report.unchanged)}",
            f"{report.entries_added} timeline entries added",
            f"{len(report.people_added)} responders added",
        ]
        text = "Imported: " + ", ".join(parts)
        sections = self.s.exchange.sections
        added = [
            f"{m.added} {sec.nouns[m.added != 1]}" for sec in sections if (m := report.records[sec.key]).added
        ]
        updated = [
            f"{m.updated} {sec.nouns[m.updated != 1]}"
            for sec in sections
            if (m := report.records[sec.key]).updated
        ]
        if added:
            text += "\n  added: " + ", ".join(added)
        if updated:
            text += "\n  updated to the file's later version: " + ", ".join(updated)
        for m in report.records.values():
            for old, new in m.renumbered.items():
                text += f"\n  {old} was taken here; imported as {new}"
        for key in report.refs_filled:
            text += f"\n  {key} now knows where it was imported from (external_ref)"
        for old, new in report.renumbered.items():
            text += f"\n  {old} was taken here; imported as {new}"
        self.out(report.as_dict(), text)
        return 0

    def do_verify(self) -> int:
        return verify(self)

    def do_metrics(self) -> int:
        from app.cli_metrics import print_metrics

        return print_metrics(self)

    def do_import_history(self) -> int:
        from app.cli_metrics import import_history

        return import_history(self)

    def do_doctor(self) -> int:
        report = self.s.integrity.doctor(self.paths.as_dict())
        if self.a.json:
            emit_json(report)
        else:
            for k, v in report.items():
                if isinstance(v, dict):
                    print(f"{k}:")
                    for kk, vv in v.items():
                        print(f"  {kk:<14} {vv}")
                else:
                    print(f"{k:<18} {v}")
        ok = report.get("integrity_check", "ok") == "ok" and report.get("foreign_key_check", "ok") == "ok"
        return 0 if ok else 6

    def do_comms(self) -> int:
        return run_comms(self)

    def do_backup(self) -> int:
        return take_backup(self)


def print_error(err: SitrepError) -> None:
    print(f"sitrep: error: {safe(err.message)}", file=sys.stderr)


# -- communications ------------------------------------------------------------------------------
def _field_pairs(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValidationError(f"--field takes NAME=VALUE (got '{pair}').", field="field")
        out[name.strip()] = value.replace("\\n", "\n")
    return out


def add_comms_commands(sub) -> None:
    sp = sub.add_parser("comms", help="communications: draft from templates, approve, send, and the stakeholder log",
                        description="Draft messages from templates, get them approved, send them through the "
                        "outbox, and keep the stakeholder log.")  # fmt: skip
    c = sp.add_subparsers(dest="comms_command", metavar="ACTION", required=True)

    def act(name: str, help_: str):
        r = c.add_parser(name, help=help_, description=help_)
        r.add_argument("--json", action="store_true", help="print JSON for scripts")
        return r

    act("templates", "the message templates there are (and any that failed to load)")
    r = act("draft", "draft a message for an incident from a template")
    r.add_argument("incident")
    r.add_argument("template")
    r.add_argument("--audience", help="who it is for (default: the template's)")
    r.add_argument(
        "--channel", action="append", help="slack, email or statuspage (repeat; default: the template's)"
    )
    r.add_argument(
        "--field", action="append", metavar="NAME=VALUE", help="set a field (repeat; \\n for a new line)"
    )
    r.add_argument("--to", action="append", help="an e-mail recipient (repeat)")
    r.add_argument("--cc", action="append", help="an e-mail copy recipient (repeat)")
    r.add_argument("--slack-channel", help="the Slack channel (chat.postMessage mode)")
    r.add_argument("--tz", help="time zone the times are written in (default: the audience's)")
    r = act("edit", "change a draft (an approved message needs approval again)")
    r.add_argument("message", help="INC-0042/3: the incident and the message number")
    r.add_argument("--field", action="append", metavar="NAME=VALUE")
    r.add_argument("--channel", action="append")
    r.add_argument("--to", action="append")
    r.add_argument("--cc", action="append")
    r.add_argument("--slack-channel")
    r.add_argument("--tz")
    r = act("show", "a message: its state, approval, each channel's rendering and delivery")
    r.add_argument("message")
    r = act("list", "an incident's messages")
    r.add_argument("incident")
    r = act("submit", "ask for approval")
    r.add_argument("message")
    r = act("approve", "approve a message (the incident commander or a configured approver)")
    r.add_argument("message")
    r = act("reject", "return a message to its drafter with a comment")
    r.add_argument("message")
    r.add_argument("--comment", required=True)
    r = act("send", "release a message to its channels (queued while a channel is offline)")
    r.add_argument("message")
    r.add_argument(
        "--wait", action="store_true", help="deliver now and report each channel (blocks on the network)"
    )
    r = act("log", "the stakeholder log: every message sent and contact made; filter, search, export")
    r.add_argument("incident", nargs="?")
    r.add_argument("--search", help="text in the content, subject, author or approver")
    r.add_argument("--channel")
    r.add_argument("--audience")
    r.add_argument("--kind", choices=["message", "contact"])
    r.add_argument("--since", help="from this time")
    r.add_argument("--until", help="up to this time")
    r.add_argument("--export", choices=["csv", "json", "pdf"], help="write the log for an auditor")
    r.add_argument("-o", "--output", help="file to write (required for pdf; default: standard output)")
    r = act("contact", "record a contact made outside Sitrep (a call, a vendor's e-mail)")
    r.add_argument("incident")
    r.add_argument("text", help="what was said or agreed")
    r.add_argument("--channel", required=True, help="phone, email, meeting, letter, portal, sms, other")
    r.add_argument("--audience", required=True, help="customers, regulators, vendors, executives, ...")
    r.add_argument("--with", dest="recipients", action="append", default=[], help="who (repeat)")
    r.add_argument("--subject", default="")
    r.add_argument("--inbound", action="store_true", help="they contacted us")
    r.add_argument("--at", help="when it happened (default: now)")
    r = act("stakeholders", "the stakeholder registry: list, add or edit people and groups")
    r.add_argument("action", nargs="?", choices=["list", "add", "edit"], default="list")
    r.add_argument("handle", nargs="?")
    r.add_argument("--name")
    r.add_argument(
        "--group", help="executives, legal, compliance, pr, customer_success, regulator, vendor, ..."
    )
    r.add_argument("--kind", choices=["person", "group"])
    r.add_argument("--email")
    r.add_argument("--phone")
    r.add_argument("--slack")
    r.add_argument("--tz")
    r.add_argument("--severity", action="append", help="must hear about this severity (repeat)")
    r.add_argument(
        "--type", dest="incident_type", action="append", help="must hear about this incident type (repeat)"
    )
    r.add_argument("--notes")
    r.add_argument("--inactive", action="store_true")
    r = act("escalate", "apply the incident type's escalation path: groups to bring in, regulatory clocks")
    r.add_argument("incident")
    r.add_argument("--aware-at", help="when the organisation became aware (default: detected or declared)")
    r = act("clocks", "the regulatory clocks on an incident (rules need review by counsel)")
    r.add_argument("incident")
    r = act("clock", "start a waiting regulatory clock, or close one as met or withdrawn")
    r.add_argument("incident")
    r.add_argument("rule", help="e.g. sec_8k_item_1_05")
    r.add_argument("action", choices=["start", "met", "withdrawn"])
    r.add_argument("--at", help="when the trigger happened or the notice was made (default: now)")
    r.add_argument("--note", default="")


def _message_lines(m, deliveries) -> list[str]:
    lines = [f"{m.ref}  {m.state.label}  {m.template_name}  for {m.audience}  via {', '.join(m.channels)}"]
    lines.append(f"  drafted by {m.author} at {_t(m.created_at)}")
    if m.approver:
        lines.append(f"  approved by {m.approver} at {_t(m.approved_at)}")
    elif m.needs_approval and m.state.value != "sent":
        lines.append("  needs approval by the incident commander or a configured approver")
    if m.rejection_comment:
        lines.append(f"  rejected by {m.rejected_by}: {m.rejection_comment}")
    if m.sent_at:
        lines.append(f"  sent by {m.sent_by} at {_t(m.sent_at)}")
    for d in deliveries:
        extra = f" ({d.last_error})" if d.last_error else ""
        lines.append(f"  {d.label:<12} {d.state}{extra}")
    return lines


def run_comms(cli: Cli) -> int:
    a, s = cli.a, cli.s
    cc = a.comms_command
    comms = s.comms
    if cc == "templates":
        rows = list(comms.templates.templates.values())
        problems = [str(p) for p in comms.templates.problems]
        text = "\n".join(f"{t.id:<22} {t.audience:<13} {','.join(t.channels):<24} {t.name}" for t in rows)
        cli.out({"templates": [{"id": t.id, "name": t.name, "audience": t.audience, "channels": list(t.channels),
                                "required": list(t.required), "origin": t.origin} for t in rows],
                 "problems": problems}, text)  # fmt: skip
        for p in problems:
            print(f"sitrep: template problem: {p}", file=sys.stderr)
        return 0
    if cc in ("draft", "edit"):
        recipients = None
        if a.to or a.cc or a.slack_channel:
            recipients = {
                "email_to": a.to or [],
                "email_cc": a.cc or [],
                "slack_channel": a.slack_channel or "",
            }
        if cc == "draft":
            m = comms.draft(a.incident, a.template, author=cli.author, audience=a.audience, channels=a.channel,
                            fields=_field_pairs(a.field), recipients=recipients, timezone=a.tz)  # fmt: skip
        else:
            m = comms.edit(a.message, author=cli.author, fields=_field_pairs(a.field), channels=a.channel,
                           recipients=recipients, timezone=a.tz)  # fmt: skip
        pv = comms.preview(m.template_id, m.fields, m.channels, m.recipients)
        text = "\n".join(_message_lines(m, []))
        for p in pv.problems:
            text += f"\n  {'!' if p.level == 'error' else '~'} {p.message}"
        cli.out({"message": m, "problems": pv.problems}, text)
        return 0
    if cc == "show":
        m = comms.get(a.message)
        deliveries = comms.deliveries(m.ref)
        if a.json:
            emit_json({"message": m, "deliveries": deliveries})
            return 0
        print("\n".join(_message_lines(m, deliveries)))
        for ch, r in m.rendered.items():
            print(f"--- {ch} ---")
            if ch == "slack":
                print(r["text"])
            elif ch == "email":
                print(
                    f"Subject: {r['subject']}\nTo: {', '.join(m.recipients.get('email_to', []))}\n\n{r['text']}"
                )
            else:
                print(f"[{r['status']}] {r['name']}\n{r['body']}")
        return 0
    if cc == "list":
        rows = comms.messages(a.incident)
        text = "\n".join(
            f"{m.ref:<14} {m.state.label:<17} {m.audience:<12} {m.template_name}: {m.subject}" for m in rows
        )
        cli.out(rows, text or "No messages.")
        return 0
    if cc == "submit":
        m = comms.submit(a.message, author=cli.author)
        cli.out(m, f"{m.ref} waits for approval")
        return 0
    if cc == "approve":
        m = comms.approve(a.message, approver=cli.author)
        cli.out(m, f"{m.ref} approved by {m.approver}")
        return 0
    if cc == "reject":
        m = comms.reject(a.message, by=cli.author, comment=a.comment)
        cli.out(m, f"{m.ref} returned to {m.author}: {m.rejection_comment}")
        return 0
    if cc == "send":
        m = comms.send(a.message, author=cli.author)
        if a.wait:
            s.sync.drain_once(max_wait_s=10)
        deliveries = comms.deliveries(m.ref)
        cli.out({"message": m, "deliveries": deliveries}, "\n".join(_message_lines(m, deliveries)))
        failed = [d for d in deliveries if d.state == "failed"]
        return 8 if failed and a.wait else 0
    if cc == "log":
        rows = comms.log(a.incident, text=a.search, channel=a.channel, audience=a.audience, kind=a.kind,
                         since=cli.when(a.since, "since"), until=cli.when(a.until, "until"))  # fmt: skip
        if a.export:
            return _export_log(cli, rows)
        delivery = comms.log_delivery(rows)
        keys = comms.incident_keys(r.incident_id for r in rows)
        lines = []
        for r in rows:
            approved = f" approved by {r.approver}" if r.approver else ""
            lines.append(f"{_t(r.occurred_at)}  {keys.get(r.incident_id)} #{r.seq}  {r.kind:<7} {r.channel:<10} "
                         f"{r.audience:<11} {', '.join(r.recipients)}  by {r.author}{approved}  {delivery.get(r.id, '')}")  # fmt: skip
            lines.append(
                "    " + (r.subject + ": " if r.subject else "") + r.content.replace("\n", " ")[:160]
            )
        cli.out(rows, "\n".join(lines) or "The stakeholder log is empty.")
        return 0
    if cc == "contact":
        from services.comms.service import ContactInput

        row = comms.record_contact(a.incident, ContactInput(
            a.channel, a.audience, a.text, recipients=a.recipients, direction="inbound" if a.inbound else "outbound",
            subject=a.subject, occurred_at=cli.when(a.at, "at")), author=cli.author)  # fmt: skip
        cli.out(
            row, f"Logged #{row.seq}: {row.channel} contact with {', '.join(row.recipients) or row.audience}"
        )
        return 0
    if cc == "stakeholders":
        return _stakeholders(cli)
    if cc == "escalate":
        clocks = comms.apply_escalation(
            a.incident, author=cli.author, aware_at=cli.when(a.aware_at, "aware_at")
        )
        _print_clocks(cli, clocks)
        return 0
    if cc == "clocks":
        _print_clocks(cli, comms.regulatory_clocks(a.incident))
        return 0
    if cc == "clock":
        at = cli.when(a.at, "at")
        if a.action == "start":
            view = comms.start_clock(a.incident, a.rule, author=cli.author, at=at, note=a.note)
        else:
            view = comms.close_clock(
                a.incident, a.rule, author=cli.author, outcome=a.action, at=at, note=a.note
            )
        _print_clocks(cli, [view])
        return 0
    raise ValidationError(f"Unknown comms action '{cc}'.")


def _print_clocks(cli: Cli, clocks) -> None:
    now = cli.s.now()
    lines = [
        f"{c.label:<40} {('due ' + _t(c.deadline_at)) if c.deadline_at else '':<32} {c.status_text(now)}"
        for c in clocks
    ]
    if clocks:
        lines.append(f"(Rules: {cli.s.comms.rules.review_status}.)")
    cli.out(
        [{**_plain(c), "status": c.status_text(now)} for c in clocks],
        "\n".join(lines) or "No regulatory clocks.",
    )


def _export_log(cli: Cli, rows) -> int:
    fmt, out = cli.a.export, cli.a.output
    if fmt == "pdf":
        if not out:
            raise ValidationError("A PDF needs a file: add -o log.pdf.")
        from ui.printing import write_pdf

        write_pdf(cli.s.comms.export_log(rows, "html"), Path(out), title="Stakeholder communications log")
        print(f"Wrote {len(rows)} log entries to {out}", file=sys.stderr)
        return 0
    text = cli.s.comms.export_log(rows, fmt)
    if out:
        try:
            Path(out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ValidationError(f"Cannot write {out}: {exc.strerror}.") from None
        print(f"Wrote {len(rows)} log entries to {out}", file=sys.stderr)
    else:
        exact_stdout().write(text)
    return 0


def _stakeholders(cli: Cli) -> int:
    a, comms = cli.a, cli.s.comms
    if a.action == "list":
        rows = comms.stakeholders(include_inactive=True)
        text = "\n".join(
            f"@{r.handle:<18} {r.name:<26} {r.group:<16} {r.email or '-':<28} {r.timezone:<18} "
            f"sev: {','.join(r.severities) or '-'}  types: {','.join(r.incident_types) or '-'}{'' if r.active else '  (inactive)'}"
            for r in rows
        )  # fmt: skip
        cli.out(rows, text or "The stakeholder registry is empty.")
        return 0
    if not a.handle:
        raise ValidationError("Name the stakeholder's handle.")
    values = {k: v for k, v in {"name": a.name, "kind": a.kind, "email": a.email, "phone": a.phone, "slack": a.slack,
              "timezone": a.tz, "severities": a.severity, "incident_types": a.incident_type, "notes": a.notes}.items()
              if v is not None}  # fmt: skip
    if a.inactive:
        values["active"] = False
    if a.action == "add":
        if not a.name or not a.group:
            raise ValidationError("A new stakeholder needs --name and --group.")
        values.pop("name")
        sv = comms.add_stakeholder(a.handle, a.name, a.group, **values)
    else:
        if a.group:
            values["group"] = a.group
        sv = comms.update_stakeholder(a.handle, **values)
    cli.out(sv, f"@{sv.handle} {sv.name} ({sv.group})")
    return 0
