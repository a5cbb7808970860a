"""The small vocabulary of expected actions the record can show, checked from an exercise's own store.

A rule is a TOML table in the scenario (`rule = { kind = "role", role = "COMMS" }`). Each kind reads
what the ordinary console already records — timeline entries (declaration, status, severity, roles,
regulatory clocks), messages and their states — and answers with the first evidence: when, by whom,
and which entry or message shows it. Expected actions without a rule are marked by the evaluator.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from models.entities import CommsMessage, Incident, RegulatoryClock, TimelineEntry
from models.enums import AUTHORED_KINDS, EntryKind, Milestone, Status

# kind -> (required parameters, optional parameters, what it means)
RULE_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "declared": ((), ("severity",), "an incident is declared (at one of these severities, if given)"),
    "severity": (("at_least",), (), "the incident's severity is at least this level"),
    "role": (("role",), (), "someone holds this role"),
    "roles": (("roles",), (), "every one of these roles is held"),
    "handover": (("role",), (), "this role is handed over with a brief"),
    "status": (("status",), (), "the incident reaches this status"),
    "milestone": (("milestone",), (), "this milestone is recorded"),
    "message": ((), ("audience", "template", "state"), "a message is drafted (or submitted, approved, sent)"),
    "clock": (("clock",), (), "this regulatory clock is started from its trigger (e.g. the awareness time)"),
    "entry": ((), ("kinds", "contains"), "an entry of these kinds, mentioning one of these words, is logged"),
}
MESSAGE_STATES = ("drafted", "submitted", "approved", "sent")
_T = TimelineEntry.__table__
_STATE_KINDS = (EntryKind.STATUS_CHANGE.value, EntryKind.SEVERITY_CHANGE.value)
_ROLE_KINDS = (EntryKind.ROLE_CHANGE.value,)
_AUTHORED = sorted(k.value for k in AUTHORED_KINDS)


@dataclass(frozen=True)
class Vocabulary:
    """The names a scenario may use, from this installation's catalogs."""

    severities: dict[str, int]  # id -> rank (1 is the most severe)
    roles: frozenset[str]
    clocks: frozenset[str]
    audiences: frozenset[str]
    templates: frozenset[str]
    incident_types: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    kind: str
    params: dict[str, Any]

    def describe(self) -> str:
        shown = ", ".join(f"{k}={'/'.join(v) if isinstance(v, list | tuple) else v}" for k, v in self.params.items())
        return f"{self.kind}({shown})" if shown else self.kind


def _as_list(value: Any) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def check_rule(raw: Any, vocab: Vocabulary) -> tuple[Rule | None, list[str]]:
    """The rule, or the reasons it cannot be used (each a sentence for the scenario's author)."""
    if not isinstance(raw, dict):
        return None, ["a rule is a table: rule = { kind = \"role\", role = \"COMMS\" }"]
    kind = raw.get("kind")
    if kind not in RULE_KINDS:
        return None, [f"unknown rule kind {kind!r}; use one of: {', '.join(RULE_KINDS)}"]
    required, optional, _ = RULE_KINDS[kind]
    problems = [f"rule '{kind}' needs '{k}'" for k in required if k not in raw]
    problems += [f"rule '{kind}' has no parameter '{k}' (it takes: {', '.join(required + optional) or 'none'})"
                 for k in raw if k != "kind" and k not in required + optional]  # fmt: skip
    params = {k: v for k, v in raw.items() if k != "kind"}

    def known(key: str, allowed: Iterable[str], what: str) -> None:
        if key not in params:
            return
        values = _as_list(params[key])
        if values is None:
            problems.append(f"'{key}' must be a text or a list of texts")
            return
        allowed = list(allowed)
        for v in values:
            if v not in allowed:
                problems.append(f"'{v}' is not a known {what} (known: {', '.join(allowed)})")
        params[key] = values

    known("severity", vocab.severities, "severity")
    known("at_least", vocab.severities, "severity")
    known("role", vocab.roles, "role")
    known("roles", vocab.roles, "role")
    known("status", [s.value for s in Status], "status")
    known("milestone", [m.value for m in Milestone], "milestone")
    known("audience", vocab.audiences, "audience")
    known("template", vocab.templates, "template")
    known("state", MESSAGE_STATES, "message state")
    known("clock", vocab.clocks, "regulatory clock")
    known("kinds", _AUTHORED, "entry kind")
    if "contains" in params and _as_list(params["contains"]) is None:
        problems.append("'contains' must be a text or a list of texts")
    elif "contains" in params:
        params["contains"] = _as_list(params["contains"])
    return (None if problems else Rule(kind, params)), problems


# -- evidence from the record -------------------------------------------------------------------
@dataclass(frozen=True)
class Evidence:
    at: datetime  # when it was recorded (wall clock)
    who: str
    what: str  # which entry or message shows it


@dataclass(frozen=True)
class _Entry:
    incident_key: str
    seq: int
    kind: str
    body: str
    author: str
    recorded_at: datetime
    data: dict[str, Any]

    def evidence(self) -> Evidence:
        body = self.body if len(self.body) <= 90 else self.body[:89] + "…"
        return Evidence(self.recorded_at, self.author, f"{self.incident_key} #{self.seq}: {body}")


def _order(e: _Entry) -> tuple:
    return (e.recorded_at, e.incident_key, e.seq)


class Record:
    """What the exercise's store shows at one moment: entries in the order they were recorded, indexed
    by kind (each rule reads only the kinds it is about), messages and started regulatory clocks."""

    def __init__(self, entries: list[_Entry], messages: list, clocks: dict[str, Any]) -> None:
        self.entries = entries
        self.messages = messages
        self.clocks = clocks
        self._by_kind: dict[str, list[_Entry]] = {}
        for e in entries:
            self._by_kind.setdefault(e.kind, []).append(e)

    def first(self, test: Callable[[_Entry], bool], kinds: Iterable[str] | None = None) -> Evidence | None:
        if kinds is None:
            pool: Iterable[_Entry] = self.entries
        else:
            pool = heapq.merge(*(self._by_kind.get(k, ()) for k in set(kinds)), key=_order)
        return next((e.evidence() for e in pool if test(e)), None)


class RecordReader:
    """Reads the record for each evaluation. Timeline entries are append-only, so each is read once and
    kept; only entries past the last seen number of each incident are read again (the facilitator's
    view evaluates once a second)."""

    def __init__(self) -> None:
        self._entries: list[_Entry] = []
        self._last_seq: dict[str, int] = {}

    def read(self, db) -> Record:
        keys = dict(db.execute(select(Incident.id, Incident.key)).all())
        new = []
        for incident_id, key in keys.items():
            rows = db.execute(
                select(_T.c.seq, _T.c.kind, _T.c.body, _T.c.author, _T.c.recorded_at, _T.c.data)
                .where(_T.c.incident_id == incident_id, _T.c.seq > self._last_seq.get(incident_id, 0))
                .order_by(_T.c.seq)
            ).all()
            new += [_Entry(key, r.seq, r.kind, r.body, r.author, r.recorded_at, r.data or {}) for r in rows]
            if rows:
                self._last_seq[incident_id] = rows[-1].seq
        if new:
            self._entries = sorted(self._entries + new, key=_order)
        messages = [(keys.get(m.incident_id, "?"), m) for m in db.execute(select(CommsMessage)).scalars()]
        clocks = {c.rule_id: c for c in db.execute(select(RegulatoryClock)).scalars() if c.trigger_at}
        return Record(list(self._entries), messages, clocks)


def find_evidence(rule: Rule, record: Record, ranks: dict[str, int]) -> Evidence | None:
    p, kind = rule.params, rule.kind
    if kind in ("declared", "severity"):
        wanted = set(p.get("severity") or [])
        if kind == "severity":
            worst = min(ranks[s] for s in p["at_least"])
            wanted = {s for s, r in ranks.items() if r <= worst}
        declared = record.first(lambda e: e.data.get("action") == "declared", (EntryKind.STATUS_CHANGE.value,))
        if declared is None:
            return None

        def at_wanted(e: _Entry) -> bool:
            if e.kind == EntryKind.STATUS_CHANGE.value and e.data.get("action") == "declared":
                return not wanted or e.data.get("severity") in wanted
            return e.kind == EntryKind.SEVERITY_CHANGE.value and e.data.get("to") in wanted

        return record.first(at_wanted, _STATE_KINDS)
    if kind == "role":
        return record.first(lambda e: e.data.get("role") in p["role"] and e.data.get("action") in ("assigned", "handover"),
                            _ROLE_KINDS)  # fmt: skip
    if kind == "roles":
        found = [find_evidence(Rule("role", {"role": [r]}), record, ranks) for r in p["roles"]]
        if any(f is None for f in found):
            return None
        return max(found, key=lambda f: f.at)  # type: ignore[arg-type,return-value]
    if kind == "handover":
        return record.first(lambda e: e.data.get("role") in p["role"] and e.data.get("action") == "handover", _ROLE_KINDS)
    if kind == "status":
        return record.first(lambda e: e.data.get("to") in p["status"], (EntryKind.STATUS_CHANGE.value,))
    if kind == "milestone":
        def stamped(e: _Entry) -> bool:
            marks = e.data.get("milestones") or {}
            return e.data.get("milestone") in p["milestone"] or any(m in marks for m in p["milestone"])

        return record.first(stamped, (EntryKind.STATUS_CHANGE.value, EntryKind.MILESTONE_CHANGE.value))
    if kind == "clock":
        started = [c for c in p["clock"] if c in record.clocks]
        if not started:
            return None
        return record.first(lambda e: (e.data.get("regulatory_clock") in started and e.data.get("action") == "started")
                            or any(c in (e.data.get("clocks") or []) for c in started), (EntryKind.SYSTEM.value,))  # fmt: skip
    if kind == "entry":
        kinds = set(p.get("kinds") or _AUTHORED)
        words = [w.lower() for w in p.get("contains") or []]
        return record.first(lambda e: not words or any(w in e.body.lower() for w in words), kinds)
    if kind == "message":
        return _message_evidence(p, record)
    raise ValueError(f"unknown rule kind {kind}")


def _message_evidence(p: dict[str, Any], record: Record) -> Evidence | None:
    state = (p.get("state") or ["drafted"])[0]
    best: Evidence | None = None
    for key, m in record.messages:
        if p.get("audience") and m.audience not in p["audience"]:
            continue
        if p.get("template") and m.template_id not in p["template"]:
            continue
        at, who = {
            "drafted": (m.created_at, m.author),
            "submitted": (m.submitted_at, m.submitted_by),
            "approved": (m.approved_at, m.approver),
            "sent": (m.sent_at, m.sent_by),
        }[state]
        if at is None:
            continue
        if best is None or at < best.at:
            best = Evidence(at, who or m.author, f"{key} message {m.number} ({m.template_name}) {state}")
    return best
