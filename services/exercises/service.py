"""ExerciseService: one tabletop exercise, run in its own store. Qt-free; the CLI and both consoles use it.

Every act of the facilitator and of the scenario clock is one appended `exercise_events` row; the
exercise's state (clock, MSEL, notes, ratings, hot wash, corrective actions) is those rows folded.
Delivering an inject also writes an INJECT entry on the exercise incident's timeline, in the same
transaction, so players see it where they see everything else; injects delivered before anything was
declared are put on the timeline as soon as there is an incident. Two processes may tick the same
clock: delivery checks, inside the write transaction, that nobody delivered the inject first.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, update

from models.entities import ExerciseEvent, ExerciseRun, Incident, TimelineEntry
from models.enums import EntryKind
from services.changes import Topic
from services.errors import NotFound, ValidationError
from services.exercises.clock import MAX_SPEED, ClockMove, ScenarioClock
from services.exercises.rules import RecordReader, Vocabulary
from services.exercises.scenario import Scenario, ScenarioInvalid, clock_text, parse_scenario
from services.exercises.sheet import ExerciseState, fold_state
from services.record.timeline import append_entry

CONTROLLER = "Exercise controller"
E = ExerciseEvent.__table__
RATINGS = {"P": "Performed without challenges", "S": "Performed with some challenges",
           "M": "Performed with major challenges", "U": "Unable to be performed"}  # fmt: skip
HOTWASH_KINDS = {"strength": "Strength", "improvement": "Area for improvement", "feedback": "Participant feedback"}
ACTION_ELEMENTS = ("planning", "organisation", "equipment", "training", "exercise")
ACTION_STATES = ("open", "in progress", "done", "cancelled")
MARKS = ("met", "late", "missed", "not applicable", "clear")


@dataclass(frozen=True)
class RunView:
    id: str
    scenario_id: str
    title: str
    scenario_file: str
    facilitator: str
    created_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True)
class EventRow:
    seq: int
    kind: str
    at: datetime
    scenario_s: float
    author: str
    data: dict[str, Any]

    @property
    def scenario_text(self) -> str:
        return clock_text(self.scenario_s)


class ExerciseService:
    def __init__(self, store, catalog, incidents, now: Callable[[], datetime], publish: Callable[..., None],
                 vocabulary: Callable[[], Vocabulary]) -> None:  # fmt: skip
        self._store = store
        self._catalog = catalog
        self._incidents = incidents
        self._now = now
        self._publish = publish
        self._vocabulary = vocabulary
        self._scenario: tuple[str, Scenario] | None = None
        self._reader = RecordReader()

    # -- the run --------------------------------------------------------------------------------
    def run(self) -> RunView | None:
        with self._store.read() as s:
            row = s.execute(select(ExerciseRun).order_by(ExerciseRun.created_at).limit(1)).scalar_one_or_none()
            return None if row is None else _run_view(row)

    def require_run(self) -> RunView:
        run = self.run()
        if run is None:
            raise NotFound("This store holds no exercise. Start one with `sitrep exercise start SCENARIO`.")
        return run

    def begin(self, scenario: Scenario, *, facilitator: str) -> RunView:
        """Make this (new, empty) store the scenario's exercise store. The clock is not started yet."""
        now = self._now()
        with self._store.transaction() as s:
            if s.scalar(select(func.count()).select_from(ExerciseRun)):
                raise ValidationError("This store already holds an exercise; each exercise has a store of its own.")
            if s.scalar(select(func.count()).select_from(Incident)):
                raise ValidationError("An exercise needs an empty store, so nothing in it can be taken for a real incident.")
            row = ExerciseRun(scenario_id=scenario.id, title=scenario.title, scenario_file=str(scenario.path),
                              scenario_text=scenario.text, facilitator=facilitator, created_at=now)  # fmt: skip
            s.add(row)
            s.flush()
            view = _run_view(row)
        self._publish(Topic.EXERCISE, None, None)
        return view

    def scenario(self, run: RunView | None = None) -> Scenario:
        if self._scenario is not None and (run is None or run.id == self._scenario[0]):
            return self._scenario[1]  # one store holds one exercise, and its scenario text never changes
        run = run or self.require_run()
        if self._scenario is None or self._scenario[0] != run.id:
            try:
                parsed = parse_scenario(Path(run.scenario_file), _stored_text(self._store, run.id), self._vocabulary())
            except ScenarioInvalid as exc:  # the catalogs changed under a stored scenario
                raise ValidationError(f"The exercise's scenario no longer checks: {exc.problems[0]}") from None
            self._scenario = (run.id, parsed)
        return self._scenario[1]

    def events(self) -> list[EventRow]:
        run = self.require_run()
        with self._store.read() as s:
            rows = s.execute(select(ExerciseEvent).where(ExerciseEvent.run_id == run.id).order_by(ExerciseEvent.seq)).scalars()
            return [EventRow(r.seq, r.kind, r.at, r.scenario_s, r.author, dict(r.data or {})) for r in rows]

    @staticmethod
    def clock_of(events: list[EventRow]) -> ScenarioClock:
        return ScenarioClock(
            ClockMove(e.at, e.data["action"], e.data.get("speed"), e.data.get("to_s")) for e in events if e.kind == "clock"
        )

    def clock(self) -> ScenarioClock:
        return self.clock_of(self.events())

    def state(self) -> ExerciseState:
        """Everything the facilitator's view and the report show, as of now (one read of the store)."""
        with self._store.read() as s:
            row = s.execute(select(ExerciseRun).order_by(ExerciseRun.created_at).limit(1)).scalar_one_or_none()
            if row is None:
                raise NotFound("This store holds no exercise. Start one with `sitrep exercise start SCENARIO`.")
            run = _run_view(row)
            events = self._events_in(s, run.id)
            record = self._reader.read(s)
        return fold_state(run, self.scenario(run), events, self.clock_of(events), record, self._ranks(), self._now())

    def _ranks(self) -> dict[str, int]:
        return {sid: i for i, sid in enumerate(self._catalog.severities, 1)}

    # -- writing events -------------------------------------------------------------------------
    def _append(self, s, run_id: str, kind: str, author: str, data: dict[str, Any], clock: ScenarioClock | None = None,
                at: datetime | None = None) -> EventRow:  # fmt: skip
        now = at or self._now()
        if clock is None:
            clock = self.clock_of(self._events_in(s, run_id))
        seq = (s.scalar(select(func.max(E.c.seq)).where(E.c.run_id == run_id)) or 0) + 1
        row = {"run_id": run_id, "seq": seq, "kind": kind, "at": now, "scenario_s": clock.at(now),
               "author": (author or "").strip()[:120] or CONTROLLER, "data": data}  # fmt: skip
        s.execute(insert(E), row)
        return EventRow(seq, kind, now, row["scenario_s"], row["author"], data)

    def _events_in(self, s, run_id: str) -> list[EventRow]:
        rows = s.execute(select(ExerciseEvent).where(ExerciseEvent.run_id == run_id).order_by(ExerciseEvent.seq)).scalars()
        return [EventRow(r.seq, r.kind, r.at, r.scenario_s, r.author, dict(r.data or {})) for r in rows]

    def _record(self, kind: str, author: str, data: dict[str, Any]) -> EventRow:
        run = self.require_run()
        if run.ended_at is not None and kind in ("clock", "delivered"):
            raise ValidationError("The exercise has ended; its clock and injects are closed.")
        with self._store.transaction() as s:
            row = self._append(s, run.id, kind, author, data)
        self._publish(Topic.EXERCISE, None, None)
        return row

    # -- the clock ------------------------------------------------------------------------------
    def start(self, *, by: str, speed: float | None = None) -> ScenarioClock:
        clock = self.clock()
        if clock.started:
            raise ValidationError("The exercise clock has already started; use pause and resume.")
        scenario = self.scenario()
        speed = check_speed(speed if speed is not None else scenario.speed)
        self._record("clock", by, {"action": "start", "speed": speed})
        if scenario.start.kind == "declared" and self._incident_id() is None:
            st = scenario.start
            self._incidents.declare(st.title, st.severity, author=CONTROLLER, summary=st.text, incident_type=st.incident_type,
                                    services=st.services, is_exercise=True)  # fmt: skip
        self.tick()
        return self.clock()

    def pause(self, *, by: str) -> None:
        clock = self._started()
        if not clock.running:
            raise ValidationError("The exercise clock is already paused.")
        self._record("clock", by, {"action": "pause"})

    def resume(self, *, by: str) -> None:
        clock = self._started()
        if clock.running:
            raise ValidationError("The exercise clock is already running.")
        self._record("clock", by, {"action": "resume"})
        self.tick()

    def set_speed(self, speed: float, *, by: str) -> None:
        self._started()
        self._record("clock", by, {"action": "speed", "speed": check_speed(speed)})

    def jump_to_next(self, *, by: str) -> str | None:
        """Move the clock to the next timed inject not yet delivered, and deliver it. Its id, or None."""
        clock = self._started()
        state = self.state()
        upcoming = [r for r in state.msel if r.status == "pending" and r.due_s is not None]
        if not upcoming:
            return None
        target = min(upcoming, key=lambda r: r.due_s)  # type: ignore[arg-type,return-value]
        if target.due_s > clock.at(self._now()):  # type: ignore[operator]
            self._record("clock", by, {"action": "jump", "to_s": target.due_s})
        self.tick()
        return target.id

    def end(self, *, by: str) -> RunView:
        run = self.require_run()
        if run.ended_at is not None:
            raise ValidationError("The exercise has already ended.")
        self.tick()
        now = self._now()
        with self._store.transaction() as s:
            self._append(s, run.id, "clock", by, {"action": "end"}, at=now)
            s.execute(update(ExerciseRun).where(ExerciseRun.id == run.id).values(ended_at=now))
        self._publish(Topic.EXERCISE, None, None)
        return self.require_run()

    def _started(self) -> ScenarioClock:
        clock = self.clock()
        if not clock.started:
            raise ValidationError("The exercise clock has not started yet.")
        if clock.ended_at is not None:
            raise ValidationError("The exercise has ended.")
        return clock

    # -- injects --------------------------------------------------------------------------------
    def tick(self) -> list[str]:
        """Deliver what is due and put delivered injects on the incident's timeline. Returns the ids delivered."""
        return self.tick_state()[0]

    def tick_state(self) -> tuple[list[str], ExerciseState]:
        """tick(), and the state after it (read again only when something changed)."""
        state = self.state()
        if state.ended or not state.clock.started:
            return [], state
        delivered = [row.id for row in state.msel
                     if row.status == "due" and self._deliver(row.id, CONTROLLER, by_clock=True)]  # fmt: skip
        wrote = self._inject_entries() if (delivered or state.injects_owed_to_timeline) else False
        return delivered, (self.state() if delivered or wrote else state)

    def deliver_now(self, inject_id: str, *, by: str) -> None:
        scenario = self.scenario()
        if scenario.inject(inject_id) is None:
            raise NotFound(f"No inject '{inject_id}' in {scenario.title}. Known: {', '.join(i.id for i in scenario.injects)}.")
        self._started()
        if not self._deliver(inject_id, by, by_clock=False):
            raise ValidationError(f"Inject {inject_id} was already delivered.")
        self._inject_entries()

    def adhoc(self, title: str, content: str, *, to: tuple[str, ...] = ("all",), channel: str = "in the room",
              by: str) -> str:  # fmt: skip
        title, content = (title or "").strip(), (content or "").strip()
        if not title or not content:
            raise ValidationError("An ad-hoc inject needs a title and its content.", field="title" if not title else "content")
        self._started()
        roles = self._vocabulary().roles
        bad = [r for r in to if r != "all" and r not in roles]
        if bad:
            raise ValidationError(f"Unknown role {', '.join(bad)}; use role ids ({', '.join(sorted(roles))}) or all.", field="to")
        count = sum(1 for e in self.events() if e.kind == "delivered" and e.data.get("adhoc"))
        inject_id = f"X{count + 1}"
        self._record("delivered", by, {"inject": inject_id, "adhoc": True, "title": title[:200], "content": content,
                                       "to": list(to) or ["all"], "channel": channel, "by_clock": False})  # fmt: skip
        self._inject_entries()
        return inject_id

    def _deliver(self, inject_id: str, by: str, *, by_clock: bool) -> bool:
        inject = self.scenario().inject(inject_id)
        assert inject is not None
        run = self.require_run()
        with self._store.transaction() as s:
            already = any(e.kind == "delivered" and e.data.get("inject") == inject_id for e in self._events_in(s, run.id))
            if already:
                return False
            self._append(s, run.id, "delivered", by, {"inject": inject_id, "adhoc": False, "title": inject.title,
                                                     "content": inject.content, "to": list(inject.to),
                                                     "channel": inject.channel, "by_clock": by_clock})  # fmt: skip
        self._publish(Topic.EXERCISE, None, None)
        return True

    def _incident_id(self) -> str | None:
        with self._store.read() as s:
            return s.scalar(select(Incident.id).order_by(Incident.number).limit(1))

    def _inject_entries(self) -> bool:
        incident_id = self._incident_id()
        if incident_id is None:
            return False
        run = self.require_run()
        wrote = False
        with self._store.transaction() as s:
            on_timeline = {
                (d or {}).get("exercise_inject")
                for d in s.scalars(select(TimelineEntry.data).where(TimelineEntry.incident_id == incident_id,
                                                                    TimelineEntry.kind == EntryKind.INJECT.value))  # fmt: skip
            }
            roles = self._vocabulary_role_names()
            for e in self._events_in(s, run.id):
                if e.kind != "delivered" or e.data["inject"] in on_timeline:
                    continue
                to = ", ".join(roles.get(r, r) for r in e.data.get("to") or ["all"])
                body = (f"EXERCISE INJECT {e.data['inject']} ({e.scenario_text}) for {to} via {e.data.get('channel')}: "
                        f"{e.data['title']}. {e.data['content']}")  # fmt: skip
                append_entry(s, incident_id, EntryKind.INJECT, body, author=CONTROLLER, now=self._now(),
                             occurred_at=min(e.at, self._now()), source="exercise",
                             data={"sync": False, "exercise_inject": e.data["inject"], "to": e.data.get("to"),
                                   "channel": e.data.get("channel"), "scenario_s": e.scenario_s})  # fmt: skip
                wrote = True
        if wrote:
            self._publish(Topic.TIMELINE, incident_id, None)
        return wrote

    def _vocabulary_role_names(self) -> dict[str, str]:
        return {r.id: r.name for r in self._catalog.roles.values()}

    # -- the evaluators' record -----------------------------------------------------------------
    def note(self, text: str, *, by: str, expectation: str | None = None, objective: str | None = None) -> EventRow:
        text = (text or "").strip()
        if not text:
            raise ValidationError("An evaluator note needs some text.", field="text")
        return self._record("note", by, {"text": text, "expectation": expectation, "objective": objective})

    def mark(self, expectation_id: str, status: str, *, by: str, note: str = "") -> EventRow:
        if status not in MARKS:
            raise ValidationError(f"Mark an expected action as one of: {', '.join(MARKS)}.", field="status")
        if expectation_id not in {e.id for e in self.scenario().expectations}:
            raise NotFound(f"No expected action '{expectation_id}' in this scenario.")
        return self._record("mark", by, {"expectation": expectation_id, "status": status, "note": note.strip()})

    def rate(self, objective_id: str, rating: str, *, by: str, notes: str = "") -> EventRow:
        rating = (rating or "").strip().upper()[:1]
        if rating not in RATINGS:
            raise ValidationError("Rate an objective P, S, M or U.", field="rating")
        if self.scenario().objective(objective_id) is None:
            raise NotFound(f"No objective '{objective_id}' in this scenario.")
        return self._record("rating", by, {"objective": objective_id, "rating": rating, "notes": notes.strip()})

    def hotwash(self, kind: str, text: str, *, by: str, who: str = "") -> EventRow:
        if kind not in HOTWASH_KINDS:
            raise ValidationError(f"A hot-wash finding is one of: {', '.join(HOTWASH_KINDS)}.", field="kind")
        if not (text or "").strip():
            raise ValidationError("A hot-wash finding needs some text.", field="text")
        return self._record("hotwash", by, {"kind": kind, "text": text.strip(), "who": who.strip()})

    def add_action(self, issue: str, action: str, *, owner: str, due: datetime | None, by: str, objective: str = "",
                   element: str = "planning", organisation: str = "") -> EventRow:  # fmt: skip
        if not (issue or "").strip() or not (action or "").strip():
            raise ValidationError("A corrective action needs the issue and the action.", field="action")
        if not (owner or "").strip():
            raise ValidationError("A corrective action needs an owner.", field="owner")
        if due is None:
            raise ValidationError("A corrective action needs a due date.", field="due")
        if element not in ACTION_ELEMENTS:
            raise ValidationError(f"Capability element: one of {', '.join(ACTION_ELEMENTS)}.", field="element")
        if objective and self.scenario().objective(objective) is None:
            raise NotFound(f"No objective '{objective}' in this scenario.")
        count = sum(1 for e in self.events() if e.kind == "action")
        return self._record("action", by, {"id": f"CA-{count + 1}", "issue": issue.strip(), "action": action.strip(),
                                           "owner": owner.strip(), "due": due.date().isoformat(), "objective": objective,
                                           "element": element, "organisation": organisation.strip(), "status": "open"})  # fmt: skip

    def update_action(self, action_id: str, status: str, *, by: str, note: str = "") -> EventRow:
        if status not in ACTION_STATES:
            raise ValidationError(f"A corrective action is one of: {', '.join(ACTION_STATES)}.", field="status")
        if action_id not in {e.data.get("id") for e in self.events() if e.kind == "action"}:
            raise NotFound(f"No corrective action '{action_id}'.")
        return self._record("action_update", by, {"id": action_id, "status": status, "note": note.strip()})


def check_speed(value: float) -> float:
    try:
        speed = float(value)
    except (TypeError, ValueError):
        raise ValidationError("The clock's speed is a number, e.g. 10 for ten times real time.", field="speed") from None
    if not 0.1 <= speed <= MAX_SPEED:
        raise ValidationError(f"The clock's speed must be between 0.1 and {MAX_SPEED:g}.", field="speed")
    return speed


def _stored_text(store, run_id: str) -> str:
    with store.read() as s:
        return s.scalar(select(ExerciseRun.scenario_text).where(ExerciseRun.id == run_id)) or ""


def _run_view(row: ExerciseRun) -> RunView:
    return RunView(row.id, row.scenario_id, row.title, row.scenario_file, row.facilitator, row.created_at, row.ended_at)


def due_date(text: str, now: datetime) -> datetime:
    """A corrective action's due date from '2027-01-15' or '+14d' (days from now)."""
    text = (text or "").strip()
    if text.startswith("+") and text.endswith("d") and text[1:-1].isdigit():
        return now + timedelta(days=int(text[1:-1]))
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"'{text}' is not a date; write 2027-01-15 or +14d.", field="due") from None
