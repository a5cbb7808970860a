"""Export and import of incidents as versioned JSON.

The file carries the full record (timeline with its hashes, role holdings, responders, and the tables in
services/exchange/sections.py: messages, the stakeholder log with its hashes, regulatory clocks, remote
links, stakeholders), so an import can prove it received untampered chains. Importing is all-or-nothing
and idempotent: what is already here is left alone, entries that extend a local chain are appended, and
a file whose chain disagrees with the local one is refused. An incident's status, severity, major flag
and milestones must be what its own timeline says they are.

Schema 1 (before the communications and sync records) is still read: its files simply have none of them.

Longer than ~500 lines: export and import check the same invariants (chains, milestones, state from the
timeline); the per-table rules are already in services/exchange/sections.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, insert, select

from models.entities import Incident, OutboxItem, Person, RoleAssignment, TimelineEntry
from models.enums import EntryKind, Milestone, OutboxState, Status
from models.types import iso
from services.changes import Topic
from services.errors import ImportFailure, ValidationError
from services.exchange.checks import diverged_fields, export_heads, file_head_problem
from services.exchange.sections import (
    INCIDENT,
    SECTIONS,
    STORE,
    FileIndex,
    Merged,
    Section,
    merge_rows,
    read_rows,
    read_section,
)
from services.record.catalog import UNKNOWN_SEVERITY, Catalog
from services.record.chain_heads import read_heads, rebuild_heads
from services.record.incidents import IncidentService
from services.record.integrity import _version, verify_rows
from services.record.milestone_order import flagged_pairs_of, milestone_order_problem, stored_pairs
from services.record.people import validate_person
from services.record.replay import state_problem
from services.record.views import EntryRow
from services.rotation.hours import WorkingHours
from services.text.limits import (
    AFFECTED_USERS_MAX,
    AUTHOR_MAX,
    BODY_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    count_problem,
    load_json_text,
    text_problem,
)
from services.text.time_range import history_problem, plan_problem

FORMAT = "sitrep.export"
# 1: incidents, timeline, roles, people. 2: external_ref, and the sections (exchange_sections.SECTIONS).
# 4: the Identified milestone, flagged milestone pairs, incidents never declared, severity "unknown"; each
#    incident's chain_heads (the count and newest hash of its timeline and stakeholder log).
# 4 also: post-incident reviews and their action items (since=4 sections).
# 5: an incident's recorded impact and proposed severity; the register of delegations and their reviews;
#    problem records, an incident's problem link and the changes linked as its cause;
#    vendor cases; people's working hours and role training (rotation).
SCHEMA_VERSION = 5

_T = TimelineEntry.__table__
_INCIDENT_FIELDS = (
    "id", "key", "number", "title", "summary", "incident_type", "severity", "status", "is_major",
    "is_exercise", "services", "affected_users", "error_rate_pct", "source", "created_at", "updated_at",
)  # fmt: skip
_PERSON_FIELDS = ("id", "name", "handle", "email", "phone", "timezone")
_PERSON_FIELDS_SINCE_5 = ("working_hours", "trained_roles")
_MILESTONE_NAMES = frozenset(m.value for m in Milestone)
_SINCE_2 = ("external_ref",)  # incident fields a schema 1 file does not have (read as None)
# What a text field of the file may hold (services/text/limits.py): (most characters, one line only).
_TEXT_LIMITS = {"title": (TITLE_MAX, True), "summary": (SUMMARY_MAX, False), "body": (BODY_MAX, False),
                "rationale": (BODY_MAX, False), "author": (AUTHOR_MAX, True)}  # fmt: skip
_OTHER_TEXT_MAX = 500  # ids, keys, hashes, names, sources
_INT_MAX = 2**63 - 1  # SQLite's integers


@dataclass
class ImportReport:
    created: list[str] = field(default_factory=list)
    extended: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    renumbered: dict[str, str] = field(default_factory=dict)
    people_added: list[str] = field(default_factory=list)
    entries_added: int = 0
    # section key -> rows added and rows replaced by the file's later version
    records: dict[str, Merged] = field(default_factory=dict)
    refs_filled: list[str] = field(default_factory=list)  # incidents here that gain the file's external_ref

    @property
    def changed(self) -> bool:
        return bool(
            self.created
            or self.extended
            or self.people_added
            or self.refs_filled
            or any(m.added or m.updated for m in self.records.values())
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "extended": self.extended,
            "unchanged": self.unchanged,
            "renumbered": self.renumbered,
            "people_added": self.people_added,
            "entries_added": self.entries_added,
            "records": {
                k: {
                    "added": m.added,
                    "updated": m.updated,
                    **({"renumbered": m.renumbered} if m.renumbered else {}),
                }
                for k, m in self.records.items()
            },
            "external_refs_filled": self.refs_filled,
        }


def _ts(value: datetime | None) -> str | None:
    return iso(value)


class Exchange:
    def __init__(
        self,
        store,
        catalog: Catalog,
        now: Callable[[], datetime],
        publish,
        sections: tuple[Section, ...] = SECTIONS,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._now = now
        self._publish = publish
        self.sections = sections  # the tables carried beyond incidents, timelines, roles and people

    # -- export --------------------------------------------------------------------------
    def export(self, refs: list[str] | None = None) -> dict[str, Any]:
        with self._store.read() as s:
            if refs:
                incidents = [IncidentService._load(s, r) for r in refs]
            else:
                incidents = list(s.scalars(select(Incident).order_by(Incident.number)))
            out_incidents = []
            person_ids: set[str] = set()
            ids = [inc.id for inc in incidents] if refs else None
            sections = {
                sec.key: read_rows(s.connection(), sec, ids)
                for sec in self.sections
                if sec.scope == INCIDENT or not refs or sec.in_named_export
            }
            # Built once, run per incident with its id bound: building a statement per incident cost more than
            # running it (10,000 incidents: 15 s, most of it SQLAlchemy compiling the same three statements).
            entries_stmt = (select(*[_T.c[n] for n in EntryRow._fields])
                            .where(_T.c.incident_id == bindparam("incident_id")).order_by(_T.c.seq))  # fmt: skip
            roles_stmt = (select(RoleAssignment).where(RoleAssignment.incident_id == bindparam("incident_id"))
                          .order_by(RoleAssignment.started_at))  # fmt: skip
            heads = read_heads(s.connection())
            for inc in incidents:
                d: dict[str, Any] = {k: getattr(inc, k) for k in _INCIDENT_FIELDS}
                d["created_at"], d["updated_at"] = _ts(inc.created_at), _ts(inc.updated_at)
                d["external_ref"] = inc.external_ref
                d["services"] = list(inc.services or [])
                d["milestones"] = {m.value: _ts(getattr(inc, m.column)) for m in Milestone}
                d["flagged_pairs"] = [list(p) for p in inc.flagged_pairs or []]
                rows = s.connection().execute(entries_stmt, {"incident_id": inc.id})
                timeline = []
                for r in rows:
                    e = EntryRow(*r)._asdict()
                    e["occurred_at"], e["recorded_at"] = _ts(e["occurred_at"]), _ts(e["recorded_at"])
                    del e["incident_id"]
                    timeline.append(e)
                d["timeline"] = timeline
                roles = []
                for ra in s.scalars(roles_stmt, {"incident_id": inc.id}):
                    person_ids.add(ra.person_id)
                    roles.append(
                        {
                            "id": ra.id,
                            "role": ra.role,
                            "person_id": ra.person_id,
                            "started_at": _ts(ra.started_at),
                            "ended_at": _ts(ra.ended_at),
                            "assigned_by": ra.assigned_by,
                            "handover_brief": ra.handover_brief,
                            "checklist_done": list(ra.checklist_done or []),
                        }
                    )
                d["roles"] = roles
                for sec in self.sections:
                    if sec.scope == INCIDENT:
                        d[sec.key] = sections[sec.key].get(inc.id, [])
                d["chain_heads"] = export_heads(heads, inc.id)
                out_incidents.append(d)
            people_stmt = select(Person).order_by(Person.handle)
            if refs:
                people_stmt = people_stmt.where(Person.id.in_(person_ids))
            people = [{k: getattr(p, k) for k in _PERSON_FIELDS + _PERSON_FIELDS_SINCE_5}
                      for p in s.scalars(people_stmt)]
        doc: dict[str, Any] = {
            "format": FORMAT,
            "schema_version": SCHEMA_VERSION,
            "exported_at": _ts(self._now()),
            "generator": f"sitrep {_version('sitrep') or 'dev'}",
            "people": people,
        }
        for sec in self.sections:
            if sec.scope == STORE or sec.has_storewide_rows:
                doc[sec.key] = sections[sec.key].get(None, []) if sec.key in sections else []
        doc["incidents"] = out_incidents
        return doc

    def unsent_sync_items(self, incident_ids: list[str], *, storewide: bool = False) -> int:
        """Items this machine still owes the backends for these incidents (and, for a whole export, for
        what belongs to no incident: maintenance windows). They are not exported (see
        exchange_sections.MACHINE_LOCAL): the caller says so, so nobody retires this machine unawares."""
        o = OutboxItem.__table__
        settled = (OutboxState.SENT.value, OutboxState.CANCELLED.value)
        which = o.c.incident_id.in_(incident_ids)
        if storewide:
            which = which | o.c.incident_id.is_(None)
        elif not incident_ids:
            return 0
        with self._store.read_connection() as c:
            return c.execute(select(func.count()).where(which, o.c.state.not_in(settled))).scalar_one()

    # -- import --------------------------------------------------------------------------
    def import_file(self, path: Path) -> ImportReport:
        try:
            raw = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ImportFailure(f"{path}: no such file.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ImportFailure(f"{path}: cannot be read ({exc}).") from None
        doc = load_json_text(raw, origin=str(path), failure=ImportFailure)
        return self.import_document(doc, origin=str(path))

    def import_document(self, doc: Any, *, origin: str = "the import") -> ImportReport:
        people, incidents, store_rows = _validate(doc, origin, self._catalog, self.sections)
        report = ImportReport(records={sec.key: Merged() for sec in self.sections})
        with self._store.transaction() as s:
            person_map = self._import_people(s, people, report)
            store_sections = [sec for sec in self.sections if sec.scope == STORE or sec.has_storewide_rows]
            # Store records that refer to incidents (or to their records) go in after them; the others first.
            later = [
                sec
                for sec in store_sections
                if sec.scope == INCIDENT or any(t != "people" for _, t in sec.references())
            ]
            for sec in store_sections:
                if sec not in later:
                    self._merge(s, sec, store_rows[sec.key], person_map, report, origin, None)
            for inc in incidents:
                self._import_incident(s, inc, person_map, report, origin)
            for sec in later:
                self._merge(s, sec, store_rows[sec.key], person_map, report, origin, None)
        if report.changed:
            self._publish(Topic.INCIDENT, None, None)
            self._publish(Topic.COMMS, None, None)
        return report

    @staticmethod
    def _merge(s, sec, rows, person_map, report: ImportReport, origin: str, key: str | None) -> None:
        def diverged(what: str) -> ImportFailure:
            return ImportFailure(
                f"{origin}: {key + ': ' if key else ''}{what} (the two copies diverged). Nothing was imported."
            )

        merge_rows(
            s.connection(),
            sec,
            rows,
            person_map=person_map,
            diverged=diverged,
            counts=report.records[sec.key],
        )

    @staticmethod
    def _import_people(s, people: list[dict[str, Any]], report: ImportReport) -> dict[str, str]:
        mapping: dict[str, str] = {}
        for p in people:
            local = s.get(Person, p["id"]) or s.scalar(select(Person).where(Person.handle == p["handle"]))
            if local is None:
                local = Person(**{k: p[k] for k in _PERSON_FIELDS}, **{k: p.get(k) for k in _PERSON_FIELDS_SINCE_5})
                s.add(local)
                s.flush()
                report.people_added.append(local.handle)
            mapping[p["id"]] = local.id
        return mapping

    def _import_incident(
        self, s, d: dict[str, Any], person_map: dict[str, str], report: ImportReport, origin: str
    ):
        entries = d["timeline"]
        local = s.get(Incident, d["id"])
        ref = d["external_ref"]
        if ref is not None and (local is None or local.external_ref != ref):
            holder = s.scalar(
                select(Incident.key).where(Incident.external_ref == ref, Incident.id != d["id"])
            )
            if holder is not None:
                raise ImportFailure(
                    f"{origin}: {d['key']} is the same {d['source']} record ({ref}) as {holder} here, imported "
                    "on each machine separately: two copies of one incident would disagree. Nothing was imported."
                )
        if local is None:
            number, key = d["number"], d["key"]
            if s.scalar(select(Incident.id).where((Incident.key == key) | (Incident.number == number))):
                number = (s.scalar(select(func.max(Incident.number))) or 0) + 1
                key = f"INC-{number:04d}"
                report.renumbered[d["key"]] = key
            local = Incident(**{k: d[k] for k in _INCIDENT_FIELDS if k not in ("number", "key")})
            local.number, local.key, local.external_ref = number, key, ref
            _set_state(local, d)
            s.add(local)
            s.flush()
            start, extending = 0, True
            report.created.append(key)
        else:
            have = (
                s.connection()
                .execute(select(_T.c.seq, _T.c.hash).where(_T.c.incident_id == local.id).order_by(_T.c.seq))
                .all()
            )
            for (seq, h), e in zip(have, entries, strict=False):
                if e["hash"] != h:
                    raise ImportFailure(
                        f"{origin}: {local.key} has a different record here from entry #{seq} on "
                        "(the two copies diverged). Nothing was imported."
                    )
            start = len(have)
            extending = len(entries) > start
            if ref is not None and local.external_ref is None:
                # A schema 1 file did not carry it; a later export from the same store does.
                local.external_ref = ref
                report.refs_filled.append(local.key)
            if extending:
                _set_state(local, d)
                report.extended.append(local.key)
            else:
                if len(entries) == start:  # the same record: its state must be the same too
                    differs = diverged_fields(local, d)
                    if differs:
                        raise ImportFailure(
                            f"{origin}: {local.key} has the same timeline here but a different {differs} "
                            "(the two copies diverged: one was edited outside Sitrep). Nothing was imported."
                        )
                report.unchanged.append(local.key)
        new_rows = []
        for e in entries[start:]:
            row = dict(e)
            row["incident_id"] = local.id
            new_rows.append(row)
        if new_rows:
            s.connection().execute(insert(_T), new_rows)
            report.entries_added += len(new_rows)
        for r in d["roles"]:
            existing = s.get(RoleAssignment, r["id"])
            if existing is None:
                s.add(
                    RoleAssignment(
                        id=r["id"],
                        incident_id=local.id,
                        role=r["role"],
                        person_id=person_map[r["person_id"]],
                        started_at=r["started_at"],
                        ended_at=r["ended_at"],
                        assigned_by=r["assigned_by"],
                        handover_brief=r["handover_brief"],
                        checklist_done=r["checklist_done"],
                    )
                )
            elif extending:
                # The file's chain runs further than ours, so its holdings are the later truth: a release,
                # a handover or a checklist tick that its new entries record must show in the state too.
                existing.ended_at = r["ended_at"]
                existing.checklist_done = r["checklist_done"]
                existing.handover_brief = r["handover_brief"]
            elif existing.ended_at is None and r["ended_at"] is not None:
                existing.ended_at = r["ended_at"]
        s.flush()
        for sec in self.sections:
            if sec.scope == INCIDENT:
                self._merge(s, sec, d[sec.key], person_map, report, origin, local.key)
        s.flush()
        rebuild_heads(s.connection(), [local.id])


def _set_state(inc: Incident, d: dict[str, Any]) -> None:
    for k in ("title", "summary", "incident_type", "severity", "status", "is_major", "is_exercise", "services",
              "affected_users", "error_rate_pct", "source", "created_at", "updated_at"):  # fmt: skip
        setattr(inc, k, d[k])
    for m in Milestone:
        setattr(inc, m.column, d["milestones"].get(m.value))
    inc.flagged_pairs = d["flagged_pairs"]


# -- validation -----------------------------------------------------------------------------
class _Check:
    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, where: str, what: str):
        raise ImportFailure(f"{self.origin}: {where}: {what}. Nothing was imported.")

    def obj(self, value, where) -> dict:
        if not isinstance(value, dict):
            self.fail(where, "expected an object")
        return value

    def lst(self, value, where) -> list:
        if not isinstance(value, list):
            self.fail(where, "expected a list")
        return value

    def s(self, d, key, where, *, optional=False, max_len=None) -> str | None:
        v = d.get(key)
        if v is None and optional:
            return None
        if not isinstance(v, str) or (not optional and not v.strip() and key not in ("summary", "body")):
            self.fail(where, f"'{key}' must be {'a non-empty ' if not optional else 'a '}string")
        if max_len and len(v) > max_len:
            self.fail(where, f"'{key}' is longer than {max_len} characters")
        limit, one_line = _TEXT_LIMITS.get(key, (max_len or _OTHER_TEXT_MAX, True))
        problem = text_problem(v, limit=limit, one_line=one_line)
        if problem:
            self.fail(where, f"'{key}' {problem}")
        return v

    def ts(self, d, key, where, *, optional=False, future_ok=False) -> datetime | None:
        """A timestamp. What happened (an incident's times, its timeline) is never in the future; a section's
        times may be plans and deadlines (a meeting due, a window scheduled, a regulator's deadline)."""
        v = d.get(key)
        if v is None and optional:
            return None
        if not isinstance(v, str):
            self.fail(where, f"'{key}' must be a UTC timestamp like 2026-01-31T12:00:00.000000Z")
        try:
            parsed = datetime.fromisoformat(v)
        except ValueError:
            self.fail(where, f"'{key}' is not a timestamp: {v!r}")
        if parsed.tzinfo is None:
            self.fail(where, f"'{key}' has no time zone: {v!r}")
        problem = (plan_problem if future_ok else history_problem)(parsed, datetime.now(UTC))
        if problem:
            self.fail(where, f"'{key}' {problem}")
        if iso(parsed) != v:
            self.fail(where, f"'{key}' must be written in UTC as YYYY-MM-DDTHH:MM:SS.ffffffZ, got {v!r}")
        return parsed

    def int_(self, d, key, where, *, optional=False) -> int | None:
        v = d.get(key)
        if v is None and optional:
            return None
        if not isinstance(v, int) or isinstance(v, bool):
            self.fail(where, f"'{key}' must be a whole number")
        problem = count_problem(v, limit=AFFECTED_USERS_MAX) if key == "affected_users" else None
        if problem is None and abs(v) > _INT_MAX:
            problem = "is too large to store"
        if problem:
            self.fail(where, f"'{key}' {problem}")
        return v

    def bool_(self, d, key, where) -> bool:
        v = d.get(key)
        if not isinstance(v, bool):
            self.fail(where, f"'{key}' must be true or false")
        return v


def _validate(
    doc: Any, origin: str, catalog: Catalog, sections: tuple[Section, ...]
) -> tuple[list[dict], list[dict], dict[str, list[dict]]]:
    """The file's people, incidents (each with its sections) and store sections, checked whole."""
    c = _Check(origin)
    doc = c.obj(doc, "the file")
    if doc.get("format") != FORMAT:
        c.fail(
            "the file", f"this is not a Sitrep export (format is {doc.get('format')!r}, expected {FORMAT!r})"
        )
    version = doc.get("schema_version")
    if version is None:
        c.fail("the file", "'schema_version' is missing")
    if not isinstance(version, int) or isinstance(version, bool):
        c.fail("the file", f"'schema_version' must be a whole number, not {type(version).__name__} {version!r:.40}")
    if version > SCHEMA_VERSION:
        c.fail(
            "the file",
            f"it was written by a newer Sitrep (export schema {version}; this one reads {SCHEMA_VERSION})",
        )
    if version < 1:
        c.fail("the file", f"export schema {version} does not exist")

    def present(d: dict, key: str, since: int) -> Any:
        """What a file of an older schema does not have yet is read as empty."""
        return d.get(key) if version >= since else (None if key in _SINCE_2 else [])

    people = []
    handles: set[str] = set()
    for i, p in enumerate(c.lst(doc.get("people"), "'people'")):
        where = f"people[{i}]"
        p = c.obj(p, where)
        clean = {k: (c.s(p, k, where, optional=k in ("email", "phone"))) for k in _PERSON_FIELDS}
        try:
            valid = validate_person(
                clean["name"], clean["handle"], clean["email"], clean["phone"], clean["timezone"]
            )
        except ValidationError as exc:
            c.fail(where, f"'{exc.field}' is not valid: {exc.message.rstrip('.')}")
        clean.update(zip(("name", "handle", "email", "phone", "timezone"), valid, strict=True))
        if version >= 5:
            clean.update(_rotation_fields(c, p, where))
        if clean["handle"] in handles:
            c.fail(where, f"the handle {clean['handle']!r} appears twice")
        handles.add(clean["handle"])
        people.append(clean)
    person_ids = {p["id"] for p in people}
    index = FileIndex(sections=sections, people=person_ids)
    # A store registry that incidents' rows may name (problems) is read before the incidents.
    registries = [s for s in sections if s.scope == STORE and all(t == "people" for _, t in s.references())]
    store_rows = {sec.key: read_section(c, sec, present(doc, sec.key, sec.since), "the file", index, None)
                  for sec in registries}  # fmt: skip
    incidents = []
    seen_ids: set[str] = set()
    for i, d in enumerate(c.lst(doc.get("incidents"), "'incidents'")):
        where = f"incidents[{i}]"
        d = c.obj(d, where)
        inc: dict[str, Any] = {}
        for k in ("id", "key", "title", "incident_type", "source"):
            inc[k] = c.s(d, k, where, max_len=300)
        if inc["id"] in seen_ids:
            c.fail(where, f"incident {inc['id']} appears twice")
        seen_ids.add(inc["id"])
        where = f"incidents[{i}] ({inc['key']})"
        inc["summary"] = c.s(d, "summary", where)
        inc["external_ref"] = c.s({"external_ref": present(d, "external_ref", 2)}, "external_ref", where,
                                  optional=True, max_len=200)  # fmt: skip
        inc["number"] = c.int_(d, "number", where)
        if inc["number"] < 1:
            c.fail(where, "'number' must be 1 or more")
        sev = c.s(d, "severity", where)
        if sev not in catalog.severities and not (version >= 4 and sev == UNKNOWN_SEVERITY):
            c.fail(
                where,
                f"severity {sev!r} is not in this Sitrep's severity matrix ({', '.join(catalog.severities)})",
            )
        inc["severity"] = sev
        status = c.s(d, "status", where)
        if status not in {st.value for st in Status}:
            c.fail(where, f"status {status!r} is not one of {', '.join(st.value for st in Status)}")
        inc["status"] = status
        inc["is_major"] = c.bool_(d, "is_major", where)
        inc["is_exercise"] = c.bool_(d, "is_exercise", where)
        services = c.lst(d.get("services"), f"{where}.services")
        if not all(isinstance(x, str) for x in services):
            c.fail(where, "'services' must be a list of names")
        inc["services"] = services
        inc["affected_users"] = c.int_(d, "affected_users", where, optional=True)
        rate = d.get("error_rate_pct")
        if rate is not None and (
            not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 <= rate <= 100
        ):
            c.fail(where, "'error_rate_pct' must be a number from 0 to 100")
        inc["error_rate_pct"] = rate
        inc["created_at"] = c.ts(d, "created_at", where)
        inc["updated_at"] = c.ts(d, "updated_at", where)
        ms = c.obj(d.get("milestones"), f"{where}.milestones")
        inc["milestones"] = {
            m.value: c.ts(ms, m.value, f"{where}.milestones", optional=True) for m in Milestone
        }
        if inc["milestones"]["declared"] is None and version < 4:
            c.fail(where, "the 'declared' milestone is required")
        pairs = present(d, "flagged_pairs", 4)
        if not isinstance(pairs, list) or not all(
            isinstance(p, list) and len(p) == 2 and all(x in _MILESTONE_NAMES for x in p) for p in pairs
        ):
            c.fail(where, "'flagged_pairs' must be a list of [earlier, later] milestone names")
        inc["flagged_pairs"] = stored_pairs((Milestone(a), Milestone(b)) for a, b in pairs)
        problem = milestone_order_problem(
            {Milestone(k): v for k, v in inc["milestones"].items()}, flagged_pairs_of(inc["flagged_pairs"])
        )
        if problem:
            c.fail(where, problem)
        timeline = []
        entry_ids: set[str] = set()
        for j, e in enumerate(c.lst(d.get("timeline"), f"{where}.timeline")):
            ew = f"{where}.timeline[{j}]"
            e = c.obj(e, ew)
            row = {
                "id": c.s(e, "id", ew),
                "seq": c.int_(e, "seq", ew),
                "kind": c.s(e, "kind", ew),
                "body": c.s(e, "body", ew),
                "rationale": c.s(e, "rationale", ew, optional=True),
                "author": c.s(e, "author", ew, max_len=120),
                "source": c.s(e, "source", ew, max_len=64),
                "occurred_at": c.ts(e, "occurred_at", ew),
                "recorded_at": c.ts(e, "recorded_at", ew),
                "data": e.get("data"),
                "supersedes_id": c.s(e, "supersedes_id", ew, optional=True),
                "prev_hash": c.s(e, "prev_hash", ew),
                "hash": c.s(e, "hash", ew),
            }
            if row["kind"] not in {k.value for k in EntryKind}:
                c.fail(ew, f"unknown entry kind {row['kind']!r}")
            if row["data"] is not None and not isinstance(row["data"], dict):
                c.fail(ew, "'data' must be an object or null")
            if row["supersedes_id"] is not None and row["supersedes_id"] not in entry_ids:
                c.fail(ew, "'supersedes_id' must name an earlier entry of the same timeline")
            entry_ids.add(row["id"])
            timeline.append(row)
        if not timeline:
            c.fail(where, "an incident's timeline cannot be empty (the declaration is its first entry)")
        rows = [EntryRow(incident_id=inc["id"], **r) for r in timeline]
        broken = verify_rows(inc["key"], rows)
        if broken:
            c.fail(where, f"the timeline's hash chain is broken at entry #{broken.seq}: {broken.reason}")
        inc["timeline"] = timeline
        roles = []
        for j, r in enumerate(c.lst(d.get("roles"), f"{where}.roles")):
            rw = f"{where}.roles[{j}]"
            r = c.obj(r, rw)
            role = {
                "id": c.s(r, "id", rw),
                "role": c.s(r, "role", rw),
                "person_id": c.s(r, "person_id", rw),
                "started_at": c.ts(r, "started_at", rw),
                "ended_at": c.ts(r, "ended_at", rw, optional=True),
                "assigned_by": c.s(r, "assigned_by", rw),
                "handover_brief": r.get("handover_brief"),
                "checklist_done": c.lst(r.get("checklist_done", []), rw),
            }
            if role["person_id"] not in person_ids:
                c.fail(rw, "names a person who is not in the file's 'people'")
            if role["role"] not in catalog.roles:
                c.fail(
                    rw,
                    f"role {role['role']!r} is not in this Sitrep's role catalog ({', '.join(catalog.roles)})",
                )
            if role["ended_at"] is not None and role["ended_at"] < role["started_at"]:
                c.fail(rw, "'ended_at' is before 'started_at'")
            if role["handover_brief"] is not None and not isinstance(role["handover_brief"], dict):
                c.fail(rw, "'handover_brief' must be an object or null")
            if not all(
                isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in role["checklist_done"]
            ):
                c.fail(rw, "'checklist_done' must be a list of item numbers")
            roles.append(role)
        inc["roles"] = roles
        problem = state_problem(inc)
        if problem:
            c.fail(where, problem)

        index.incidents.add(inc["id"])
        index.entries[inc["id"]] = entry_ids
        for sec in sections:
            if sec.scope == INCIDENT:
                inc[sec.key] = read_section(c, sec, present(d, sec.key, sec.since), where, index, inc)
        heads = present(d, "chain_heads", 4)
        if heads:
            problem = file_head_problem(heads, inc)
            if problem:
                c.fail(where, problem)
        incidents.append(inc)
    store_rows.update({
        sec.key: read_section(c, sec, present(doc, sec.key, sec.since), "the file", index, None)
        for sec in (
            *(s for s in sections if s.scope == STORE and s not in registries),
            *(s for s in sections if s.has_storewide_rows),
        )
    })
    return people, incidents, store_rows


def _rotation_fields(c, p: dict, where: str) -> dict[str, Any]:
    """A person's working hours and role training (export schema 5), checked as the directory checks them."""
    hours = c.s(p, "working_hours", where, optional=True)
    if hours:
        try:
            hours = WorkingHours.parse(hours).text
        except ValidationError as exc:
            c.fail(where, f"'working_hours' is not valid: {exc.message.rstrip('.')}")
    roles = p.get("trained_roles")
    if roles is not None and (not isinstance(roles, list) or not all(isinstance(r, str) for r in roles)):
        c.fail(where, "'trained_roles' must be a list of role ids")
    return {"working_hours": hours or None, "trained_roles": roles}
