"""Rotation goals: who has not held the roles a team rotates through lately, and who should play which
role in the next exercise so that changes."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from services.record.views import PersonView
from services.rotation.service import RotationService


@dataclass(frozen=True)
class GoalGap:
    role: str
    person: PersonView
    last_held: datetime | None  # before the window; None: never in the record
    trained: bool


@dataclass(frozen=True)
class ExerciseCasting:
    role: str
    person: PersonView | None
    why: str


def goal_gaps(svc: RotationService, at: datetime) -> list[GoalGap]:
    """For each goal role, everyone in the directory who has not held it (live or exercise) in the window."""
    rules = svc.rules
    since = at - timedelta(days=rules.goal_days)
    held = svc.held_between(datetime(1970, 1, 2, tzinfo=UTC), at, exercises=True)
    last: dict[tuple[str, str], datetime] = {}
    for h in held:
        key = (h.role, h.person.handle)
        last[key] = max(last.get(key, h.start), h.start)
    out = []
    for role in rules.goal_roles:
        for p in svc.people():
            when = last.get((role, p.handle))
            if when is None or when < since:
                out.append(GoalGap(role, p, when, role in p.trained_roles))
    return out


def cast_exercise(svc: RotationService, roles: list[str], at: datetime) -> list[ExerciseCasting]:
    """One person per role, nobody twice: first people who have not held the role in the goal window
    (trained ones first, so the exercise rehearses someone who could be asked for real), then whoever held
    it least. The usual holder is kept out of the seat on purpose."""
    rules = svc.rules
    since = at - timedelta(days=rules.goal_days)
    held = svc.held_between(since, at, exercises=True)
    count = Counter((h.role, h.person.handle) for h in held)
    names = svc.role_names()
    people = svc.people()
    taken: set[str] = set()
    out = []
    for role in roles:
        definition_id = role.upper()
        pool = [p for p in people if p.handle not in taken]
        if not pool:
            out.append(ExerciseCasting(definition_id, None, "nobody left in the directory"))
            continue

        def rank(p: PersonView, rid=definition_id):
            return (count[(rid, p.handle)], rid not in p.trained_roles, sum(c for (r, h), c in count.items()
                                                                              if h == p.handle), p.name)  # fmt: skip

        pick = min(pool, key=rank)
        taken.add(pick.handle)
        n = count[(definition_id, pick.handle)]
        trained = "trained" if definition_id in pick.trained_roles else "not yet trained: the exercise is their practice"
        held_text = (f"has not held {names.get(definition_id, definition_id)} in the last {rules.goal_days} days"
                     if n == 0 else f"held {names.get(definition_id, definition_id)} {n} time(s) lately, the fewest")  # fmt: skip
        out.append(ExerciseCasting(definition_id, pick, f"{held_text}; {trained}"))
    return out
