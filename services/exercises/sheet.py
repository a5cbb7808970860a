"""The exercise's state folded from its events and the record: the MSEL, the expected-actions sheet,
notes, ratings, hot wash and corrective actions. Pure functions over plain rows (no store access), so
the facilitator's view, `sitrep exercise status` and the after-action report read the same thing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.exercises.clock import ScenarioClock
from services.exercises.rules import Evidence, Record, find_evidence
from services.exercises.scenario import Expectation, Scenario, clock_text

if TYPE_CHECKING:
    from services.exercises.service import EventRow, RunView


@dataclass(frozen=True)
class MselRow:
    id: str
    title: str
    content: str
    when: str  # "T+0:20" or "after mitigated"
    to: tuple[str, ...]
    channel: str
    status: str  # pending | due | delivered
    due_s: float | None  # scenario seconds it falls due (None: waiting for its trigger)
    delivered_s: float | None
    delivered_at: datetime | None
    delivered_by: str
    adhoc: bool
    module: str = ""
    evaluator_focus: str = ""


@dataclass(frozen=True)
class SheetRow:
    expectation: Expectation
    status: str  # waiting | not yet due | met | late | missed | to mark | not applicable | not played
    deadline_s: float | None
    met_s: float | None
    delay_s: float | None  # from the inject's delivery to the action, scenario time
    evidence: Evidence | None
    marked_by: str = ""  # an evaluator's mark replaced the automatic result
    note: str = ""

    @property
    def delay_text(self) -> str:
        if self.delay_s is None:
            return ""
        whole = int(self.delay_s)
        if whole >= 600:
            return f"{whole // 60} min"
        return f"{whole // 60} min {whole % 60:02d} s" if whole >= 60 else f"{whole} s"


@dataclass(frozen=True)
class ActionRow:
    id: str
    issue: str
    action: str
    owner: str
    due: str
    objective: str
    element: str
    organisation: str
    status: str
    raised_by: str
    raised_at: datetime


@dataclass(frozen=True)
class ExerciseState:
    run: RunView
    scenario: Scenario
    clock: ScenarioClock
    now: datetime
    scenario_s: float
    msel: list[MselRow]
    sheet: list[SheetRow]
    notes: list[EventRow]
    ratings: dict[str, tuple[str, str, str]]  # objective -> (rating, notes, by)
    hotwash: list[EventRow]
    actions: list[ActionRow]
    injects_on_timeline: frozenset[str] = frozenset()
    has_incident: bool = False

    @property
    def injects_owed_to_timeline(self) -> bool:
        """Delivered injects not yet on the incident's timeline (delivered before anything was declared)."""
        delivered = {r.id for r in self.msel if r.status == "delivered"}
        return self.has_incident and bool(delivered - self.injects_on_timeline)

    @property
    def ended(self) -> bool:
        return self.run.ended_at is not None

    @property
    def clock_text(self) -> str:
        return clock_text(self.scenario_s)

    @property
    def next_inject(self) -> MselRow | None:
        pending = [r for r in self.msel if r.status != "delivered" and r.due_s is not None]
        return min(pending, key=lambda r: r.due_s) if pending else None  # type: ignore[arg-type,return-value]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for row in self.sheet:
            out[row.status] = out.get(row.status, 0) + 1
        return out


def _trigger_s(after: str, record: Record, clock: ScenarioClock) -> float | None:
    for e in record.entries:
        if e.kind == "status_change" and (e.data.get("to") == after or (after == "declared" and e.data.get("action") == "declared")):
            return clock.at(e.recorded_at)
    return None


def fold_state(run: RunView, scenario: Scenario, events: list[EventRow], clock: ScenarioClock, record: Record,
               ranks: dict[str, int], now: datetime) -> ExerciseState:  # fmt: skip
    now_s = clock.at(now) if clock.started else 0.0
    delivered = {e.data["inject"]: e for e in events if e.kind == "delivered"}
    msel: list[MselRow] = []
    for inj in scenario.injects:
        if inj.at_min is not None:
            due_s: float | None = inj.at_min * 60
        else:
            fired = _trigger_s(inj.after or "", record, clock)
            due_s = None if fired is None else fired + inj.delay_min * 60
        d = delivered.get(inj.id)
        if d is not None:
            status = "delivered"
        elif clock.started and due_s is not None and due_s <= now_s and clock.ended_at is None:
            status = "due"
        else:
            status = "pending"
        msel.append(MselRow(inj.id, inj.title, inj.content, inj.when_text, inj.to, inj.channel, status, due_s,
                            d.scenario_s if d else None, d.at if d else None, d.author if d else "", False,
                            inj.module, inj.evaluator_focus))  # fmt: skip
    for e in events:
        if e.kind == "delivered" and e.data.get("adhoc"):
            msel.append(MselRow(e.data["inject"], e.data["title"], e.data["content"], e.scenario_text + " (ad hoc)",
                                tuple(e.data.get("to") or ("all",)), e.data.get("channel", ""), "delivered",
                                e.scenario_s, e.scenario_s, e.at, e.author, True))  # fmt: skip
    marks = {e.data["expectation"]: e for e in events if e.kind == "mark"}
    sheet = []
    for exp in scenario.expectations:
        sheet.append(_sheet_row(exp, delivered.get(exp.inject_id), marks.get(exp.id),
                                record, ranks, clock, now_s))  # fmt: skip
    ratings = {e.data["objective"]: (e.data["rating"], e.data.get("notes", ""), e.author) for e in events if e.kind == "rating"}
    actions: dict[str, ActionRow] = {}
    for e in events:
        if e.kind == "action":
            d = e.data
            actions[d["id"]] = ActionRow(d["id"], d["issue"], d["action"], d["owner"], d["due"], d.get("objective", ""),
                                         d.get("element", ""), d.get("organisation", ""), d.get("status", "open"),
                                         e.author, e.at)  # fmt: skip
        elif e.kind == "action_update" and e.data["id"] in actions:
            old = actions[e.data["id"]]
            actions[old.id] = ActionRow(**{**old.__dict__, "status": e.data["status"]})
    on_timeline = frozenset(e.data.get("exercise_inject") for e in record.entries if e.kind == "inject")
    return ExerciseState(run, scenario, clock, now, now_s, msel, sheet, [e for e in events if e.kind == "note"], ratings,
                         [e for e in events if e.kind == "hotwash"], list(actions.values()), on_timeline,
                         bool(record.entries))  # fmt: skip


def _sheet_row(exp: Expectation, delivered: EventRow | None, mark: EventRow | None, record: Record,
               ranks: dict[str, int], clock: ScenarioClock, now_s: float) -> SheetRow:  # fmt: skip
    auto = _automatic(exp, delivered, record, ranks, clock, now_s)
    if mark is None or mark.data["status"] == "clear":
        return auto
    # A mark by hand says whether it was done, not when: the time shown is only ever the record's.
    return SheetRow(exp, mark.data["status"], auto.deadline_s, auto.met_s, auto.delay_s, auto.evidence, mark.author,
                    mark.data.get("note", ""))


def _automatic(exp: Expectation, delivered: EventRow | None, record: Record, ranks: dict[str, int],
               clock: ScenarioClock, now_s: float) -> SheetRow:  # fmt: skip
    if delivered is None:
        return SheetRow(exp, "not played" if clock.ended_at is not None else "waiting", None, None, None, None)
    start = delivered.scenario_s
    deadline = start + exp.within_min * 60 if exp.within_min is not None else None
    if exp.rule is None:
        return SheetRow(exp, "to mark", deadline, None, None, None)
    evidence = find_evidence(exp.rule, record, ranks)
    ended = clock.ended_at is not None
    if ended and evidence is not None and evidence.at > clock.ended_at:  # type: ignore[operator]
        evidence = None  # done after play stopped: not part of the exercise
    if evidence is None:
        overdue = (deadline is not None and now_s > deadline) or ended
        return SheetRow(exp, "missed" if overdue else "not yet due", deadline, None, None, None)
    met_s = max(start, clock.at(evidence.at))
    late = deadline is not None and met_s > deadline
    return SheetRow(exp, "late" if late else "met", deadline, met_s, met_s - start, evidence)


def summary_of(state: ExerciseState) -> dict[str, Any]:
    """The figures an exercise leaves behind for the history (B8.4), scenario minutes."""
    def first(kind: str) -> float | None:
        for row in state.sheet:
            rule = row.expectation.rule
            if rule is not None and rule.kind == kind and row.met_s is not None:
                return round(row.met_s / 60, 1)
        return None

    counts = state.counts()
    delivered = sum(1 for r in state.msel if r.status == "delivered")
    return {
        "scenario": state.scenario.id,
        "title": state.scenario.title,
        "started_at": state.clock.started_at.isoformat() if state.clock.started_at else None,
        "ended_at": state.run.ended_at.isoformat() if state.run.ended_at else None,
        "minutes_to_declare": first("declared"),
        "minutes_to_roles": first("roles"),
        "minutes_to_first_message": first("message"),
        "expected_met": counts.get("met", 0),
        "expected_late": counts.get("late", 0),
        "expected_missed": counts.get("missed", 0),
        "expected_total": len(state.sheet),
        "injects_delivered": delivered,
        "ratings": {k: v[0] for k, v in state.ratings.items()},
        "actions_open": sum(1 for a in state.actions if a.status in ("open", "in progress")),
        "actions_total": len(state.actions),
    }
