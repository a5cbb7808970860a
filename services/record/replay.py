"""Replaying an incident's state from its timeline: what the entries say it is, against what it is.

Entries only record what the services did, and the chain proves the entries, so an incident row that
disagrees with its own timeline was edited by hand. The import checks a file with it; `sitrep verify`
checks the store with it (title, status, severity, major flag, milestones and who holds which role).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from models.entities import Incident, Person, RoleAssignment
from models.enums import EntryKind, Milestone
from models.types import iso

# Entries the services write with the milestones they stamp (a person's entry may carry any data).
_STAMPING_KINDS = (EntryKind.STATUS_CHANGE.value, EntryKind.ROLE_CHANGE.value)
# The kinds' values once: an enum member's .value is a descriptor call, and verify replays a million entries.
_STATUS, _SEVERITY, _MAJOR, _MILESTONE = (EntryKind.STATUS_CHANGE.value, EntryKind.SEVERITY_CHANGE.value,
                                          EntryKind.MAJOR_CHANGE.value, EntryKind.MILESTONE_CHANGE.value)  # fmt: skip


def state_problem(inc: dict[str, Any]) -> str | None:
    """Whether the incident's status, severity, major flag and milestones are what its timeline says.

    Each is what the last entry that states it says: the declaration states them all, a status change
    its new status (and any milestone it stamps or a reopen clears), a severity, major or milestone change
    its own, a role change the IC-assigned milestone. Entries only record what the services did, and the
    chain was verified, so a disagreement means the state was edited by hand. A timeline that never
    states one of them (records made by other tools, e.g. the benchmark fixtures) has nothing to compare
    that one with, and it is taken as the file has it.
    """
    said: dict[str, tuple[Any, int]] = {}
    milestones: dict[str, tuple[str | None, int]] = {}
    for e in inc["timeline"]:
        data, kind, seq = e["data"] or {}, e["kind"], e["seq"]
        if kind == _STATUS and isinstance(data.get("to"), str):
            said["status"] = (data["to"], seq)
            if data.get("action") in ("declared", "recorded"):
                if isinstance(data.get("severity"), str):
                    said["severity"] = (data["severity"], seq)
                if isinstance(data.get("major"), bool):
                    said["is_major"] = (data["major"], seq)
        elif kind == _SEVERITY and isinstance(data.get("to"), str):
            said["severity"] = (data["to"], seq)
        elif kind == _MAJOR and isinstance(data.get("major"), bool):
            said["is_major"] = (data["major"], seq)
        if kind == _MILESTONE and isinstance(data.get("milestone"), str):
            milestones[data["milestone"]] = (data.get("to"), seq)
        elif kind in _STAMPING_KINDS and isinstance(data.get("milestones"), dict):
            for name, at in data["milestones"].items():
                milestones[name] = (at, seq)
        if kind == _STATUS and isinstance(data.get("cleared_milestones"), dict):
            for name in data["cleared_milestones"]:
                milestones[name] = (None, seq)
    words = {"status": "status", "severity": "severity", "is_major": "major flag"}
    for attr, (value, seq) in said.items():
        if inc[attr] != value:
            return (
                f"its {words[attr]} is {inc[attr]!r} but its timeline says {value!r} (entry #{seq}); the state "
                "was changed without its timeline entry (edited by hand?)"
            )
    if milestones:
        for m in Milestone:
            value, seq = milestones.get(m.value, (None, 0))
            have = iso(inc["milestones"][m.value])
            if have != value:
                since = f"entry #{seq}" if seq else "no entry sets it"
                return (
                    f"its '{m.value}' milestone is {have or 'unset'} but its timeline says {value or 'unset'} "
                    f"({since}); the state was changed without its timeline entry (edited by hand?)"
                )
    return None


def title_problem(title: str, timeline: list[dict[str, Any]]) -> str | None:
    """Whether the title is the one the timeline last gave it: the declaration (its data since this
    version; its text before), then each details change that renamed it."""
    said: tuple[str, int] | None = None
    declared_text: tuple[str, int] | None = None
    for e in timeline:
        data, kind, seq = e["data"] or {}, e["kind"], e["seq"]
        if kind == EntryKind.STATUS_CHANGE.value and data.get("action") == "declared":
            if isinstance(data.get("title"), str):
                said = (data["title"], seq)
            else:
                declared_text = (e["body"], seq)
        elif kind == EntryKind.IMPACT_CHANGE.value:
            change = (data.get("changes") or {}).get("title")
            if isinstance(change, dict) and isinstance(change.get("to"), str):
                said, declared_text = (change["to"], seq), None
    if said is not None and said[0] != title:
        return (
            f"its title is {title!r:.80} but its timeline says {said[0]!r:.80} (entry #{said[1]}); the title "
            "was changed without its timeline entry (edited by hand?)"
        )
    if said is None and declared_text is not None and f": {title}" not in declared_text[0]:
        return (
            f"its title {title!r:.80} is not the one it was declared with (entry #{declared_text[1]}) and no "
            "entry renamed it (edited by hand?)"
        )
    return None


def roles_problem(holders: dict[str, str], timeline: list[dict[str, Any]]) -> str | None:
    """Whether who holds each role (role -> handle) is what the role changes in the timeline say."""
    said: dict[str, tuple[str | None, int]] = {}
    for e in timeline:
        data, seq = e["data"] or {}, e["seq"]
        if e["kind"] != EntryKind.ROLE_CHANGE.value or not isinstance(data.get("role"), str):
            continue
        action = data.get("action")
        if action == "assigned":
            said[data["role"]] = (data.get("person"), seq)
        elif action == "handover":
            said[data["role"]] = (data.get("to"), seq)
        elif action == "released":
            said[data["role"]] = (None, seq)
    for role in sorted(set(said) | set(holders)):
        if role not in said:
            return (
                f"{holders[role]} holds the {role} role but no timeline entry assigned it (edited by hand?)"
            )
        expected, seq = said[role]
        have = holders.get(role)
        if (expected is None) != (have is None):
            now_text = f"held by {have}" if have else "held by nobody"
            was = f"{expected}" if expected else "nobody"
            return (
                f"its {role} role is {now_text} but its timeline says {was} (entry #{seq}); the roles were "
                "changed without their timeline entry (edited by hand?)"
            )
    return None


def stored_state_problem(conn, incident_id: str, rows: list) -> str | None:
    """Replay a stored incident (rows: its verified timeline, EntryRow) against its row and its roles."""
    inc_row = conn.execute(select(Incident).where(Incident.id == incident_id)).mappings().first()
    if inc_row is None:
        return "the incident row is missing"
    timeline = [{"data": r.data, "kind": r.kind, "seq": r.seq, "body": r.body} for r in rows]
    inc = {
        "status": inc_row["status"],
        "severity": inc_row["severity"],
        "is_major": inc_row["is_major"],
        "milestones": {m.value: inc_row[m.column] for m in Milestone},
        "timeline": timeline,
    }
    problem = state_problem(inc) or title_problem(inc_row["title"], timeline)
    if problem:
        return problem
    RA, P = RoleAssignment.__table__, Person.__table__
    holders = dict(
        conn.execute(
            select(RA.c.role, P.c.handle)
            .join(P, P.c.id == RA.c.person_id)
            .where(RA.c.incident_id == incident_id, RA.c.ended_at.is_(None))
        ).all()
    )
    return roles_problem(holders, timeline)
