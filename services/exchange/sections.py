"""The tables an export carries beyond an incident's own row, timeline and roles, and the people.

Each is one `Section` declaration: its table, where its rows sit in the file (under each incident, or at
the top for records of the whole store), the export schema that first carried it, how a row meets its
local counterpart on import, and any rule its columns alone do not say. What every section needs is done
once, here, from the table itself: writing rows out (every column, timestamps as UTC text), reading them
back checked against the column types, checking that what a row refers to is in the file, and merging.
So carrying a new table is one `Section(...)` in `SECTIONS` (plus its `check`), and a table that is
neither carried nor named in `MACHINE_LOCAL` fails tests/test_exchange.py.

Merging, per section:
  chain  append-only and hash-chained per incident (the stakeholder log): the local lines must be the
         file's first lines, hash for hash; the rest are appended verbatim, never re-hashed.
  newer  a record that changes (a message's approval, a clock's state, a link's remote state): a new one
         is added, and one the file has in a later `updated_at` replaces the local one; an older one does
         not.
  keep   a registry the user keeps up by hand (stakeholders): a new one is added; one known here, by id
         or by `natural_key`, is left as the user has it.
Any other collision (the same message number, clock rule or remote object held by a different record
here) means the two copies diverged, and the file is refused.

Longer than ~500 lines: one declaration per carried table, kept together so a new table is one more entry
beside the others.
"""

from __future__ import annotations

import json
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    func,
    insert,
    select,
    update,
)

from models.entities import (
    ActionItem,
    ChangeLink,
    CommsLogEntry,
    CommsMessage,
    Delegation,
    DelegationReview,
    IncidentImpact,
    MaintenanceUpdate,
    MaintenanceWindow,
    PostIncidentReview,
    Problem,
    ProblemLink,
    RegulatoryClock,
    RemoteLink,
    Stakeholder,
    VendorCase,
)
from models.enums import ClockState, EntryKind, MaintenanceStatus, MessageState
from models.milestone_numbers import is_derived
from models.types import UTCDateTime, iso
from services.adapters.discovery import discover_adapters
from services.comms.log import LogRow, first_break
from services.comms.templates import content_hash
from services.errors import ImportFailure

INCIDENT, STORE = "incident", "store"

# Tables deliberately left out of every export, and why. A table in neither SECTIONS nor here is a test failure.
MACHINE_LOCAL = {
    "sync_outbox": "what this machine still owes the backends: it is sent from here or not at all, so a second "
    "machine importing the file never sends the same item again",
    "sync_backends": "this machine's lane state: lease, circuit breaker, last pull",
    "alembic_version": "the schema revision of this database",
    "incident_durations": "derived from the incidents by triggers (models/metric_durations.py): an import's "
    "incidents fill it as they are written",
    "incident_duration_counts": "derived with incident_durations, by the same triggers",
    "chain_heads": "derived from the chains it anchors: each incident carries its heads as `chain_heads` "
    "(schema 4), an import checks the file's chains end there, and the store's heads are set from the chains "
    "it holds afterwards",
    "exercise_runs": "only an exercise's own store has one; its after-action report (`sitrep exercise report`) "
    "is how an exercise leaves that store, and a real store never holds exercise rows",
    "exercise_events": "the exercise's clock, injects, notes and ratings: with exercise_runs, in the exercise's own store",
    # The incident's record of a runbook run travels in its timeline (every step's start, result and skip,
    # with version, commit, blob, per-host summary and rc); these rows feed this machine's runbook usage.
    "runbook_runs": "this machine's runbook usage (incident runs and drills); an incident's steps travel in its timeline",
    "runbook_step_events": "the step events behind runbook usage and dry-run diffs; with runbook_runs",
    "runbook_findings": "findings against this machine's runbook library, open until a newer version",
    "alerts": "what this machine took in from its monitoring: an incident's alerts travel as its timeline's alert "
    "entries (labels included); the rest is re-read from the sources",
    "alert_events": "each alert's firing/resolved history on this machine, with the alerts",
    "triage_walks": "this machine's triage record for the alert-quality view; a walk that declared an incident is "
    "on that incident's timeline (its decision entry carries the path)",
    "incident_watches": "derived from the dependency map at declaration; the timeline's system entry names the "
    "watched services",
}


@dataclass
class RowContext:
    """What a section's `check` sees: the row (values as stored), its incident as read from the file, and
    the other sections' rows of that incident read so far."""

    row: dict[str, Any]
    where: str
    incident: dict[str, Any] | None
    rows: dict[str, dict[str, dict[str, Any]]]  # section key -> id -> row, for this incident (or the store)
    fail: Callable[[str], typing.NoReturn]

    def entry(self, entry_id: str) -> dict[str, Any] | None:
        for e in (self.incident or {}).get("timeline", ()):
            if e["id"] == entry_id:
                return e
        return None


@dataclass(frozen=True)
class Section:
    key: str  # its name in the file
    model: type
    nouns: tuple[str, str]  # ("message", "messages"): how reports and refusals name its rows
    scope: str  # INCIDENT: rows sit under each incident; STORE: at the top of the file
    since: int  # the export schema that first carried it; older files are read as having none
    merge: str  # "chain" | "newer" | "keep" (see the module's docstring)
    order_by: tuple[str, ...]  # a unique order, so two exports of the same record are the same text
    natural_key: tuple[str, ...] = ()  # for "keep": the columns by which a local row is the same record
    # (number column, key column, key format), e.g. ("number", "key", "MNT-{:04d}"): a record whose number
    # another record holds here gets the next one, as an incident does; its references are by id.
    renumber: tuple[str, str, str] | None = None
    in_named_export: bool = True  # STORE sections: also in `sitrep export INC-0001`, not only a whole export
    check: Callable[[RowContext], None] | None = None
    chain_break: Callable[[list[dict[str, Any]]], tuple[dict[str, Any], str] | None] | None = None
    name_row: Callable[[dict[str, Any]], str] = field(default=lambda r: f"record {r.get('id')}")

    @property
    def table(self) -> Table:
        return self.model.__table__

    @property
    def columns(self) -> list:
        """The columns written to the file: all of them, but the incident a row sits under and those
        computed from the others (milestone numbers, models/milestone_numbers.py)."""
        return [
            c
            for c in self.table.columns
            if not (self.scope == INCIDENT and c.name == "incident_id") and not is_derived(c)
        ]

    @property
    def has_storewide_rows(self) -> bool:
        """An incident's section whose rows may also belong to no incident (a link to a maintenance window):
        those rows sit at the top of the file under the same key, and travel with a whole export only."""
        return self.scope == INCIDENT and self.table.c.incident_id.nullable

    def unique_keys(self) -> list[tuple[str, ...]]:
        keys = [tuple(c.name for c in self.table.primary_key.columns)]
        for con in self.table.constraints:
            if isinstance(con, UniqueConstraint):
                keys.append(tuple(c.name for c in con.columns))
        keys += [(c.name,) for c in self.table.columns if c.unique]
        return list(dict.fromkeys(keys))

    def references(self) -> list[tuple[str, str]]:
        """(column, table it refers to) for each foreign key, but a row's own incident."""
        return [
            (fk.parent.name, fk.column.table.name)
            for fk in self.table.foreign_keys
            if not (self.scope == INCIDENT and fk.parent.name == "incident_id")
        ]


# -- the rules the columns do not say ------------------------------------------------------------
def _one_of(ctx: RowContext, column: str, allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    if ctx.row[column] not in allowed:
        ctx.fail(f"{column} {ctx.row[column]!r} is not one of {', '.join(allowed)}")


def _required(ctx: RowContext, state: str, *columns: str) -> None:
    for col in columns:
        if ctx.row[col] is None:
            ctx.fail(f"a {state} record needs '{col}'")


def _list_of_text(ctx: RowContext, column: str) -> None:
    if not all(isinstance(x, str) for x in ctx.row[column]):
        ctx.fail(f"'{column}' must be a list of text")


@cache
def _installed_channels() -> tuple[str, ...]:
    return tuple(discover_adapters().channels())


def _check_message(ctx: RowContext) -> None:
    m = ctx.row
    _one_of(ctx, "state", (s.value for s in MessageState))
    _list_of_text(ctx, "channels")
    channels = _installed_channels()
    unknown = [ch for ch in m["channels"] if ch not in channels]
    if unknown:
        ctx.fail(f"channel {unknown[0]!r} is not one of {', '.join(channels)}")
    if m["number"] < 1:
        ctx.fail("'number' must be 1 or more")
    if content_hash(m["channels"], m["recipients"], m["rendered"]) != m["content_hash"]:
        ctx.fail(
            "its content does not match its content_hash (the renderings were changed after it was written)"
        )
    state = m["state"]
    approved = (
        state in (MessageState.APPROVED.value, MessageState.SENT.value) and m["approved_hash"] is not None
    )
    if approved and m["approved_hash"] != m["content_hash"]:
        ctx.fail("its content is not the content that was approved (approved_hash)")
    if state == MessageState.APPROVED.value:
        _required(ctx, "approved", "approver", "approved_at", "approved_hash")
    if state == MessageState.REJECTED.value:
        _required(ctx, "rejected", "rejected_by", "rejected_at", "rejection_comment")
    if state == MessageState.SENT.value:
        _required(ctx, "sent", "sent_by", "sent_at", "sent_entry_id")
        entry = ctx.entry(m["sent_entry_id"])
        data = (entry or {}).get("data") or {}
        comms = data.get("comms")
        sending = entry is not None and entry["kind"] == EntryKind.COMMS.value and isinstance(comms, dict)
        # A message sent by hand (services/comms/by_hand.py) names itself as data["comms_message"].
        by_hand = entry is not None and entry["kind"] == EntryKind.COMMS.value and data.get("sent_by_hand") \
            and data.get("comms_message") == m["id"]  # fmt: skip
        if not by_hand and (not sending or comms.get("message_id") != m["id"]):
            ctx.fail("'sent_entry_id' names a timeline entry that is not the sending of this message")
    elif m["sent_entry_id"] is not None:
        ctx.fail(f"a {state} message has no 'sent_entry_id'")


def _check_log_line(ctx: RowContext) -> None:
    line = ctx.row
    _one_of(ctx, "kind", ("message", "contact"))
    _one_of(ctx, "direction", ("outbound", "inbound"))
    _list_of_text(ctx, "recipients")
    if line["kind"] == "message":
        message = ctx.rows.get("messages", {}).get(line["message_id"] or "")
        if message is None:
            ctx.fail("a message line must name its message ('message_id')")
        if message["state"] != MessageState.SENT.value:
            ctx.fail(f"it logs message {message['number']} as sent, but that message is {message['state']}")


def _log_chain_break(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], str] | None:
    broken = first_break([LogRow(**{k: r[k] for k in LogRow._fields}) for r in rows])
    return (broken[0]._asdict(), broken[1]) if broken else None


def _check_clock(ctx: RowContext) -> None:
    c = ctx.row
    _one_of(ctx, "state", (s.value for s in ClockState))
    if c["state"] == ClockState.RUNNING.value:
        _required(ctx, "running", "trigger_at", "deadline_at")
    elif c["state"] == ClockState.MET.value:
        _required(ctx, "met", "met_at", "closed_by")
    elif c["state"] == ClockState.WITHDRAWN.value:
        _required(ctx, "withdrawn", "closed_by")


def _link_to_incident(ctx: RowContext) -> str | None:
    if ctx.incident is None or ctx.row["local_id"] != ctx.incident["id"]:
        return "an incident link must sit under the incident it names ('local_id')"
    return None


def _link_to_entry(ctx: RowContext) -> str | None:
    if ctx.incident is None or ctx.entry(ctx.row["local_id"]) is None:
        return "'local_id' names an entry that is not in this incident's timeline"
    return None


# What a remote link's local_kind may be, and what its local_id must then name (a problem, or None).
# A link to a record that is not an incident's (no incident_id) sits at the top of the file.
def _link_to_action_item(ctx: RowContext) -> str | None:
    if ctx.row["local_id"] not in ctx.rows.get("action_items", {}):
        return f"it names action item {ctx.row['local_id']}, which this incident does not have"
    return None


def _check_review(ctx: RowContext) -> None:
    _one_of(ctx, "status", ("draft", "in_review", "reviewed", "closed"))


def _check_action_item(ctx: RowContext) -> None:
    _one_of(ctx, "status", ("open", "in_progress", "done", "wont_do"))
    _one_of(ctx, "category", ("investigate", "mitigate-now", "repair", "detect", "mitigate-future", "prevent",
                              "process"))  # fmt: skip


def _check_vendor_case(ctx: RowContext) -> None:
    _one_of(ctx, "status", ("open", "closed"))
    if ctx.row["status"] == "closed":
        _required(ctx, "closed", "closed_at", "closed_by", "outcome")
        _one_of(ctx, "outcome", ("resolved", "withdrawn"))
    if ctx.row["level"] < 1:
        ctx.fail("'level' must be 1 or more")


LINK_KINDS: dict[str, Callable[[RowContext], str | None]] = {
    "incident": _link_to_incident,
    "entry": _link_to_entry,
    "action_item": _link_to_action_item,
}


def _check_link(ctx: RowContext) -> None:
    _one_of(ctx, "local_kind", LINK_KINDS)
    _one_of(ctx, "origin", ("sitrep", "remote"))
    problem = LINK_KINDS[ctx.row["local_kind"]](ctx)
    if problem:
        ctx.fail(problem)


def _check_stakeholder(ctx: RowContext) -> None:
    st = ctx.row
    _one_of(ctx, "kind", ("person", "group"))
    if not st["handle"].strip() or any(ch.isspace() for ch in st["handle"]):
        ctx.fail("'handle' must be one word")
    if st["email"] and "@" not in st["email"]:
        ctx.fail(f"'email' {st['email']!r} is not an e-mail address")
    try:
        ZoneInfo(st["timezone"])
    except (ZoneInfoNotFoundError, ValueError):
        ctx.fail(f"'timezone' {st['timezone']!r} is not a time zone")
    _list_of_text(ctx, "severities")
    _list_of_text(ctx, "incident_types")


def _check_window(ctx: RowContext) -> None:
    _one_of(ctx, "status", (s.value for s in MaintenanceStatus))
    if ctx.row["scheduled_until"] < ctx.row["scheduled_for"]:
        ctx.fail("it ends before it starts")


def _link_to_maintenance(ctx: RowContext) -> str | None:
    if ctx.incident is not None or ctx.row["local_id"] not in ctx.rows.get("maintenance_windows", {}):
        return "'local_id' names a maintenance window that is not in the file"
    return None


LINK_KINDS["maintenance"] = _link_to_maintenance


def _check_problem(ctx: RowContext) -> None:
    _one_of(ctx, "status", ("open", "known_error", "resolved"))
    if not ctx.row["title"].strip():
        ctx.fail("a problem needs a title")
    if ctx.row["status"] == "known_error" and not (ctx.row["workaround"] or "").strip():
        ctx.fail("a known error needs its workaround")


def _check_problem_link(ctx: RowContext) -> None:
    if ctx.row["active"] and any(
        r["active"] and r["id"] != ctx.row["id"] for r in ctx.rows.get("problem_links", {}).values()
    ):
        ctx.fail("an incident is linked to one problem at most")


def _check_change_link(ctx: RowContext) -> None:
    if not ctx.row["ref"].strip() or not ctx.row["summary"].strip():
        ctx.fail("a change link needs its reference and summary")


# The order is the order of writing: a section comes after those its rows refer to.
SECTIONS: tuple[Section, ...] = (
    Section("stakeholders", Stakeholder, ("stakeholder", "stakeholders"), STORE, since=2, merge="keep",
            order_by=("handle",), natural_key=("handle",), in_named_export=False, check=_check_stakeholder,
            name_row=lambda r: f"stakeholder @{r['handle']}"),
    Section("maintenance_windows", MaintenanceWindow, ("maintenance window", "maintenance windows"), STORE, since=3,
            merge="newer", order_by=("number",), renumber=("number", "key", "MNT-{:04d}"), check=_check_window,
            name_row=lambda r: f"maintenance {r['key']}"),
    Section("maintenance_updates", MaintenanceUpdate, ("maintenance update", "maintenance updates"), STORE, since=3,
            merge="keep", order_by=("maintenance_id", "seq"), name_row=lambda r: f"maintenance update #{r['seq']}"),
    Section("messages", CommsMessage, ("message", "messages"), INCIDENT, since=2, merge="newer",
            order_by=("number",), check=_check_message, name_row=lambda r: f"message {r['number']}"),
    Section("stakeholder_log", CommsLogEntry, ("stakeholder log line", "stakeholder log lines"), INCIDENT,
            since=2, merge="chain", order_by=("seq",), check=_check_log_line, chain_break=_log_chain_break,
            name_row=lambda r: f"stakeholder log line #{r['seq']}"),
    Section("regulatory_clocks", RegulatoryClock, ("regulatory clock", "regulatory clocks"), INCIDENT, since=2,
            merge="newer", order_by=("rule_id",), check=_check_clock,
            name_row=lambda r: f"regulatory clock {r['rule_id']!r}"),
    Section("post_incident_review", PostIncidentReview, ("post-incident review", "post-incident reviews"), INCIDENT,
            since=4, merge="newer", order_by=("id",), check=_check_review, name_row=lambda r: "the post-incident review"),
    Section("action_items", ActionItem, ("action item", "action items"), INCIDENT, since=4, merge="newer",
            order_by=("number",), renumber=("number", "key", "ACT-{:04d}"), check=_check_action_item,
            name_row=lambda r: f"action item {r['key']}"),
    Section("impact", IncidentImpact, ("impact record", "impact records"), INCIDENT, since=5, merge="newer",
            order_by=("id",), name_row=lambda r: "the recorded impact"),
    Section("delegations", Delegation, ("delegation", "delegations"), STORE, since=5, merge="newer",
            order_by=("created_at", "id"), in_named_export=False,
            name_row=lambda r: f"the delegation to {r['authority']} held by @{r['holder']}"),
    Section("delegation_reviews", DelegationReview, ("delegation review", "delegation reviews"), STORE, since=5,
            merge="keep", order_by=("delegation_id", "at", "id"), in_named_export=False,
            name_row=lambda r: f"delegation review {r['id']}"),
    # Schema 5: problems are the store's (several incidents share one); merged by id, so an imported
    # incident's problem and a local incident's are the same record when they came from one.
    Section("problems", Problem, ("problem", "problems"), STORE, since=5, merge="newer", order_by=("number",),
            renumber=("number", "key", "PRB-{:04d}"), check=_check_problem, name_row=lambda r: f"problem {r['key']}"),
    Section("problem_links", ProblemLink, ("problem link", "problem links"), INCIDENT, since=5, merge="newer",
            order_by=("problem_id",), check=_check_problem_link, name_row=lambda r: f"the link to problem {r['problem_id']}"),
    Section("change_links", ChangeLink, ("change link", "change links"), INCIDENT, since=5, merge="newer",
            order_by=("ref",), check=_check_change_link, name_row=lambda r: f"the link to change {r['ref']}"),
    Section("vendor_cases", VendorCase, ("vendor case", "vendor cases"), INCIDENT, since=5, merge="newer",
            order_by=("number",), renumber=("number", "key", "VND-{:04d}"), check=_check_vendor_case,
            name_row=lambda r: f"vendor case {r['key']}"),
    Section("remote_links", RemoteLink, ("remote link", "remote links"), INCIDENT, since=2, merge="newer",
            order_by=("backend", "remote_kind", "remote_id"), check=_check_link,
            name_row=lambda r: f"the link to {r['backend']} {r['remote_kind']} {r['remote_id']}"),
)  # fmt: skip
# Tables the exchange itself handles (services/exchange/export_import.py), which sections may refer to.
CORE_TABLES = ("incidents", "timeline_entries", "role_assignments", "people")


def declaration_problems(sections: Iterable[Section] = SECTIONS) -> list[str]:
    """What is wrong with the declarations (tests/test_exchange.py asserts there is nothing)."""
    problems, seen = [], set(CORE_TABLES)
    for s in sections:
        for col, target in s.references():
            if target not in seen:
                problems.append(f"{s.key}.{col} refers to {target}, which no earlier section carries")
        if s.merge not in ("chain", "newer", "keep"):
            problems.append(f"{s.key}: unknown merge {s.merge!r}")
        if s.merge == "newer" and "updated_at" not in s.table.columns:
            problems.append(f"{s.key}: merge 'newer' needs an updated_at column")
        if s.merge == "chain" and (s.scope != INCIDENT or s.chain_break is None):
            problems.append(f"{s.key}: merge 'chain' is per incident and needs chain_break")
        seen.add(s.table.name)
    return problems


# -- writing out ---------------------------------------------------------------------------------
def to_file(section: Section, row) -> dict[str, Any]:
    out = {}
    for c in section.columns:
        v = row[c.name]
        out[c.name] = iso(v) if isinstance(v, datetime) else v
    return out


def read_rows(
    conn, section: Section, incident_ids: list[str] | None
) -> dict[str | None, list[dict[str, Any]]]:
    """Every row of the section, as the file has them: grouped by incident (INCIDENT) or under None."""
    t = section.table
    stmt = select(t).order_by(*(t.c[n] for n in section.order_by))
    if section.scope == INCIDENT and incident_ids is not None:
        stmt = stmt.where(t.c.incident_id.in_(incident_ids))
    elif incident_ids is not None:  # a store record that names an incident goes with that incident
        for col, target in section.references():
            if target == "incidents":
                stmt = stmt.where(t.c[col].is_(None) | t.c[col].in_(incident_ids))
    out: dict[str | None, list[dict[str, Any]]] = {}
    for row in conn.execute(stmt).mappings():
        owner = row["incident_id"] if section.scope == INCIDENT else None
        out.setdefault(owner, []).append(to_file(section, row))
    return out


# -- reading back ----------------------------------------------------------------------------------
def _json_shape(model, column: str):
    """list or dict (what the model's annotation says the JSON holds), or None for anything."""
    hint = typing.get_type_hints(model)[column]
    (inner,) = typing.get_args(hint)  # Mapped[X]
    for arm in typing.get_args(inner) or (inner,):
        origin = typing.get_origin(arm) or arm
        if origin in (list, dict):
            return origin
    return None


def read_value(c, raw: dict[str, Any], column, where: str, model) -> Any:
    """One column's value from the file, checked against the column's type. `c` is exchange._Check."""
    name, t, optional = column.name, column.type, column.nullable
    if isinstance(t, UTCDateTime):
        return c.ts(raw, name, where, optional=optional, future_ok=True)
    if isinstance(t, Boolean):
        return c.bool_(raw, name, where)
    if isinstance(t, Integer):
        return c.int_(raw, name, where, optional=optional)
    if isinstance(t, Float):
        v = raw.get(name)
        if v is None and optional:
            return None
        if not isinstance(v, int | float) or isinstance(v, bool):
            c.fail(where, f"'{name}' must be a number")
        return v
    if isinstance(t, JSON):
        v = raw.get(name)
        if v is None and optional:
            return None
        if name not in raw and column.server_default is not None:  # a column added since the file was written
            return json.loads(column.server_default.arg)
        shape = _json_shape(model, name)
        if shape is list and not isinstance(v, list):
            c.fail(where, f"'{name}' must be a list")
        if shape is dict and not isinstance(v, dict):
            c.fail(where, f"'{name}' must be an object")
        if shape is None and v is None:
            c.fail(where, f"'{name}' is missing")
        return v
    if isinstance(t, String | Text):
        v = raw.get(name)
        if v is None and optional:
            return None
        if not isinstance(v, str):
            c.fail(where, f"'{name}' must be {'text or null' if optional else 'text'}")
        if getattr(t, "length", None) and len(v) > t.length:
            c.fail(where, f"'{name}' is longer than {t.length} characters")
        return v
    raise TypeError(f"the export cannot read a {type(t).__name__} column ({column.table.name}.{name})")


@dataclass
class FileIndex:
    """What rows may refer to: ids the file holds, per incident and for the whole file."""

    sections: tuple[Section, ...] = SECTIONS
    people: set[str] = field(default_factory=set)
    incidents: set[str] = field(default_factory=set)
    entries: dict[str, set[str]] = field(default_factory=dict)  # incident id -> its timeline's ids
    rows: dict[str | None, dict[str, dict[str, dict[str, Any]]]] = field(default_factory=dict)
    unique: dict[tuple[str, tuple[str, ...]], set[tuple]] = field(default_factory=dict)

    def exists(self, target: str, value: str, incident_id: str | None) -> bool:
        if target == "people":
            return value in self.people
        if target == "incidents":
            return value in self.incidents
        if target == "timeline_entries":
            scopes = [incident_id] if incident_id is not None else list(self.entries)
            return any(value in self.entries.get(i, ()) for i in scopes)
        sec = next(s for s in self.sections if s.table.name == target)
        key = sec.key
        if sec.scope == STORE:  # a store record an incident's row names (its problem)
            return value in self.rows.get(None, {}).get(key, {})
        scopes = [incident_id] if incident_id is not None else list(self.rows)
        return any(value in self.rows.get(i, {}).get(key, {}) for i in scopes)


def read_section(c, section: Section, raw_rows: Any, where: str, index: FileIndex,
                 incident: dict[str, Any] | None) -> list[dict[str, Any]]:  # fmt: skip
    """A section's rows from the file, checked; incident_id filled in for rows under an incident."""
    incident_id = incident["id"] if incident is not None else None
    name = f"{where}.{section.key}" if incident is not None else f"'{section.key}'"
    rows = []
    for j, raw in enumerate(c.lst(raw_rows, name)):
        rw = f"{name}[{j}]"
        raw = c.obj(raw, rw)
        row = {col.name: read_value(c, raw, col, rw, section.model) for col in section.columns}
        if section.scope == INCIDENT:
            row["incident_id"] = incident_id
        rw = f"{rw} ({section.name_row(row)})"
        for key in section.unique_keys():
            seen = index.unique.setdefault((section.key, key), set())
            values = tuple(row[k] for k in key)
            if None in values:
                continue  # an empty optional unique column (a problem tracked nowhere): unique only when set
            if values in seen:
                named = [(k, v) for k, v in zip(key, values, strict=True) if k != "incident_id"]
                c.fail(rw, " and ".join(f"{k} {v!r}" for k, v in named) + " appears twice")
            seen.add(values)
        for col, target in section.references():
            if row[col] is not None and not index.exists(target, row[col], incident_id):
                what, where_found = (
                    _what(target, index.sections),
                    _where_found(target, incident, index.sections),
                )
                c.fail(rw, f"'{col}' names {what} that is not {where_found}")
        if section.check is not None:
            ctx = RowContext(row, rw, incident, index.rows.setdefault(incident_id, {}),
                             lambda what, rw=rw: c.fail(rw, what))  # fmt: skip
            section.check(ctx)
        index.rows.setdefault(incident_id, {}).setdefault(section.key, {})[row["id"]] = row
        rows.append(row)
    if section.chain_break is not None:
        broken = section.chain_break(rows)
        if broken:
            row, reason = broken
            c.fail(name, f"the hash chain is broken at {section.name_row(row)}: {reason}")
    return rows


def _where_found(target: str, incident: dict[str, Any] | None, sections: Iterable[Section]) -> str:
    if target in ("people", "incidents") or incident is None:
        return "in the file"
    if any(s.table.name == target and s.scope == STORE for s in sections):
        return f"among the file's {next(s.nouns[1] for s in sections if s.table.name == target)}"
    if target == "timeline_entries":
        return "in this incident's timeline"
    return "among this incident's " + next(s.nouns[1] for s in sections if s.table.name == target)


def _what(target: str, sections: Iterable[Section]) -> str:
    return {"people": "a person", "incidents": "an incident", "timeline_entries": "a timeline entry"}.get(
        target, next((f"a {s.nouns[0]}" for s in sections if s.table.name == target), f"a {target} row")
    )


# -- merging ---------------------------------------------------------------------------------------
@dataclass
class Merged:
    added: int = 0
    updated: int = 0
    renumbered: dict[str, str] = field(default_factory=dict)  # the file's key -> the one it got here


def merge_rows(conn, section: Section, rows: list[dict[str, Any]], *, person_map: dict[str, str],
               diverged: Callable[[str], ImportFailure], counts: Merged) -> None:  # fmt: skip
    """Bring the file's rows of one section (of one incident, or the store's) into the store."""
    t = section.table
    rows = [_remap_people(section, r, person_map) for r in rows]
    if section.merge == "chain":
        _merge_chain(conn, section, rows, diverged, counts)
        return
    pk = [c.name for c in t.primary_key.columns]
    own = set(section.renumber[:2]) if section.renumber else set()  # this store's numbering, not the file's
    for row in rows:
        local = _find(conn, t, pk, row)
        if local is None and section.natural_key:
            local = _find(conn, t, section.natural_key, row)
        if local is None:
            for key in section.unique_keys():
                if key == tuple(pk) or any(row[k] is None for k in key) or _find(conn, t, key, row) is None:
                    continue  # SQL's UNIQUE holds no NULL to anything: an empty optional key is no one's
                if not set(key) <= own:
                    raise diverged(f"{section.name_row(row)} is a different record here")
                row = _renumbered(conn, section, row, counts)
            conn.execute(insert(t), row)
            counts.added += 1
            continue
        if section.scope == INCIDENT and local["incident_id"] != row["incident_id"]:
            raise diverged(f"{section.name_row(row)} belongs to another incident here")
        theirs = {k: v for k, v in row.items() if k not in own}
        if section.merge == "keep" or {k: local[k] for k in theirs} == theirs:
            continue
        if row["updated_at"] > local["updated_at"]:
            conn.execute(update(t).where(_match(t, pk, local)).values(theirs))
            counts.updated += 1


def _renumbered(conn, section: Section, row: dict[str, Any], counts: Merged) -> dict[str, Any]:
    number_col, key_col, key_format = section.renumber
    t = section.table
    number = (conn.execute(select(func.max(t.c[number_col]))).scalar() or 0) + 1
    key = key_format.format(number)
    counts.renumbered[row[key_col]] = key
    return {**row, number_col: number, key_col: key}


def _merge_chain(conn, section: Section, rows, diverged, counts: Merged) -> None:
    if not rows:
        return
    t = section.table
    have = conn.execute(
        select(t.c.seq, t.c.hash).where(t.c.incident_id == rows[0]["incident_id"]).order_by(t.c.seq)
    ).all()
    for (seq, h), row in zip(have, rows, strict=False):
        if row["hash"] != h:
            raise diverged(f"its {section.nouns[1]} differ from #{seq} on")
    new = rows[len(have) :]
    if new:
        conn.execute(insert(t), new)
        counts.added += len(new)


def _remap_people(section: Section, row: dict[str, Any], person_map: dict[str, str]) -> dict[str, Any]:
    """A responder the file names may be known here under another id (matched by handle)."""
    cols = [col for col, target in section.references() if target == "people" and row[col] is not None]
    return {**row, **{col: person_map[row[col]] for col in cols}} if cols else row


def _match(t: Table, cols: Iterable[str], row) -> Any:
    return and_(*(t.c[k] == row[k] for k in cols))


def _find(conn, t: Table, cols: Iterable[str], row):
    return conn.execute(select(t).where(_match(t, cols, row)).limit(1)).mappings().first()
