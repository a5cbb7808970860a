"""Running a runbook: in an incident (every step start, result and skip on the timeline) or as a fire drill.

A run is an append-only list of step events folded into step states. Automated steps go to an orchestrator
adapter (`RunsAutomation`) in three calls so the console can run the middle one on a worker thread:
`begin_step` (gates checked, the start recorded, the job built), the adapter's `run_job`, `finish_step`
(the result recorded). `run_step` chains them for the CLI and tests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from models.entities import RunbookFinding, RunbookRun, RunbookStepEvent
from models.enums import EntryKind
from services.adapters.automation import NOT_RUN, AutomationJob, JobControl, JobOutcome
from services.adapters.interface import RunsAutomation
from services.changes import Topic
from services.errors import NotFound, ValidationError
from services.record.incidents import IncidentService
from services.record.timeline import append_entry
from services.runbooks.document import Runbook, Step, load_runbook
from services.runbooks.library import Provenance, RunbookLibrary, provenance

DEFAULT_ORCHESTRATOR = "ansible"
COMMANDER_ROLE = "IC"
# Step states, folded from events.
PENDING, RUNNING, PASSED, FAILED, DONE, SKIPPED, CHOSEN = (
    "pending", "running", "passed", "failed", "done", "skipped", "chosen")  # fmt: skip
DRY_RUN_PASSED, DRY_RUN_FAILED = "dry run passed", "dry run failed"
_FINISHED = (PASSED, FAILED, DONE, SKIPPED, CHOSEN)


class GateClosed(ValidationError):
    """A destructive step asked to run before its gates opened; `gates` says which, in words."""

    def __init__(self, gates: list[str]):
        self.gates = gates
        super().__init__("Not yet: " + "; ".join(gates))


@dataclass(frozen=True)
class StepState:
    step: Step
    state: str = PENDING
    by: str = ""
    at: datetime | None = None
    started_at: datetime | None = None
    summary: str = ""
    diff: str = ""
    reason: str = ""
    dry_run_at: datetime | None = None
    dry_run_target: str = ""
    dry_run_diff: str = ""


@dataclass(frozen=True)
class RunView:
    id: str
    runbook: Runbook
    provenance: Provenance
    incident_id: str | None
    drill_target: str | None
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    outcome: str | None
    steps: tuple[StepState, ...]

    @property
    def is_drill(self) -> bool:
        return self.incident_id is None

    def state_of(self, number: int) -> StepState:
        return self.steps[number - 1]

    def target_of(self, step: Step) -> str:
        return self.drill_target or step.target or self.runbook.target or "localhost"

    def next_step(self) -> StepState | None:
        return next((s for s in self.steps if s.state not in _FINISHED), None)


@dataclass(frozen=True)
class PendingJob:
    """A started automated step: what to hand the orchestrator, and whom."""

    run_id: str
    step: int
    dry_run: bool
    job: AutomationJob
    orchestrator: RunsAutomation | None
    problem: str = ""  # set when the job cannot run (no orchestrator, a secret missing)


class RunbookService:
    def __init__(self, store, now: Callable[[], datetime], publish, library: RunbookLibrary, work_dir: Path,
                 orchestrators: Callable[[str], RunsAutomation], secret: Callable[[str, str], str | None],
                 commander_of: Callable[[str], set[str]]) -> None:  # fmt: skip
        self._store = store
        self._now = now
        self._publish = publish
        self.library = library
        self.work_dir = Path(work_dir)
        self._orchestrators = orchestrators
        self._secret = secret
        self._commander_of = commander_of

    # -- starting ---------------------------------------------------------------------------
    def start(self, name: str, *, author: str, incident: str | None = None, drill_target: str | None = None
              ) -> RunView:  # fmt: skip
        if (incident is None) == (drill_target is None):
            raise ValidationError("A runbook runs either in an incident or as a drill against a named target.")
        if drill_target is not None and not drill_target.strip():
            raise ValidationError("Name the drill target (a staging host or a drill environment).")
        runbook = self.library.find(name)
        if runbook is None:
            raise NotFound(f"No runbook '{name}' in {', '.join(str(f) for f in self.library.folders)}.")
        origin = provenance(runbook.path)
        now = self._now()
        with self._store.transaction() as s:
            incident_id = IncidentService._load(s, incident).id if incident else None
            run = RunbookRun(incident_id=incident_id, runbook=runbook.slug, title=runbook.title,
                             version=runbook.version, path=str(runbook.path), commit=origin.commit,
                             blob=origin.blob, provenance=origin.state, drill_target=drill_target,
                             started_at=now, started_by=author)  # fmt: skip
            s.add(run)
            s.flush()
            if incident_id:
                append_entry(s, incident_id, EntryKind.SYSTEM,
                             f"Runbook '{runbook.title}' v{runbook.version} started ({origin.short})",
                             author=author, now=now, data=self._entry_data(run, None, "run_started"),
                             hooks=self._store.entry_hooks)  # fmt: skip
            run_id = run.id
        self._publish(Topic.RUNBOOKS, incident_id, None)
        return self.run(run_id)

    # -- reading ------------------------------------------------------------------------------
    def run(self, run_id: str) -> RunView:
        with self._store.read() as s:
            run = s.get(RunbookRun, run_id)
            if run is None:
                raise NotFound(f"No runbook run {run_id}.")
            events = s.scalars(select(RunbookStepEvent).where(RunbookStepEvent.run_id == run_id)
                               .order_by(RunbookStepEvent.id)).all()  # fmt: skip
            return _fold(run, _runbook_as_used(run), list(events))

    def runs(self, *, incident: str | None = None, runbook: str | None = None) -> list[RunView]:
        with self._store.read() as s:
            stmt = select(RunbookRun.id).order_by(RunbookRun.started_at)
            if incident:
                stmt = stmt.where(RunbookRun.incident_id == IncidentService._load(s, incident).id)
            if runbook:
                stmt = stmt.where(RunbookRun.runbook == runbook)
            ids = list(s.scalars(stmt))
        return [self.run(i) for i in ids]

    # -- manual steps, decisions, skips --------------------------------------------------------
    def tick(self, run_id: str, number: int, *, author: str) -> RunView:
        view = self.run(run_id)
        step = self._open_step(view, number)
        if step.kind != "manual":
            raise ValidationError(f"Step {number} is a {step.kind}; only a manual step is ticked.")
        self._record(view, step, "started", author, {})
        return self._record(view, step, DONE, author, {})

    def choose(self, run_id: str, number: int, choice: str, *, author: str) -> RunView:
        view = self.run(run_id)
        step = self._open_step(view, number)
        picked = next((c for c in step.choices if c.label.lower() == choice.strip().lower()), None)
        if step.kind != "decision" or picked is None:
            labels = ", ".join(c.label for c in step.choices) or "none: not a decision"
            raise ValidationError(f"Step {number}: choose one of {labels}.")
        self._record(view, step, CHOSEN, author, {"choice": picked.label, "goes_to": picked.goes_to})
        last = len(view.steps) + 1 if picked.goes_to is None else picked.goes_to
        for passed_over in view.steps[number:last - 1]:
            if passed_over.state not in _FINISHED:
                self._record(view, passed_over.step, SKIPPED, author, {"reason": f"decision: {picked.label}"})
        return self._maybe_end(run_id)

    def skip(self, run_id: str, number: int, *, author: str, reason: str) -> RunView:
        if not reason.strip():
            raise ValidationError("Say why the step is skipped: the reason goes on the record.")
        view = self.run(run_id)
        step = self._open_step(view, number)
        if step.destructive or any(number in s.step.requires for s in view.steps):
            self._require_commander(view, author, "skip this step")
        self._record(view, step, SKIPPED, author, {"reason": reason.strip()})
        return self._maybe_end(run_id)

    def end(self, run_id: str, *, author: str, outcome: str = "abandoned") -> RunView:
        view = self.run(run_id)
        if view.ended_at is None:
            with self._store.transaction() as s:
                run = s.get(RunbookRun, run_id)
                run.ended_at, run.outcome = self._now(), outcome
        self._publish(Topic.RUNBOOKS, view.incident_id, None)
        return self.run(run_id)

    # -- automated steps ------------------------------------------------------------------------
    def gates(self, view: RunView, number: int, *, dry_run: bool) -> list[str]:
        """Why the step may not run now; empty when it may."""
        state = view.state_of(number)
        step = state.step
        closed = []
        for needed in step.requires:
            if view.state_of(needed).state != PASSED:
                closed.append(f"diagnostic step {needed} ('{view.state_of(needed).step.title}') has not passed")
        if step.destructive and not dry_run:
            target = view.target_of(step)
            if state.dry_run_at is None or state.dry_run_target != target:
                closed.append(f"no dry run on {target} yet: run the dry run first")
            elif self._now() - state.dry_run_at > step.dry_run_window:
                minutes = int(step.dry_run_window.total_seconds() // 60)
                closed.append(f"the dry run on {target} is older than {minutes} min: run it again")
        return closed

    def begin_step(self, run_id: str, number: int, *, author: str, dry_run: bool = False,
                   confirmation: str | None = None, skip_gates_reason: str | None = None) -> PendingJob:
        view = self.run(run_id)
        step = self._open_step(view, number)
        if not step.automated:
            raise ValidationError(f"Step {number} is a {step.kind}: it is not run by an orchestrator.")
        if dry_run and step.kind != "action":
            raise ValidationError(f"Step {number} is a diagnostic: it only reads, so it has no dry run.")
        target = view.target_of(step)
        closed = self.gates(view, number, dry_run=dry_run)
        if closed and skip_gates_reason is None:
            raise GateClosed(closed)
        if closed:
            if not skip_gates_reason.strip():
                raise ValidationError("Skipping a gate needs a reason: it goes on the record.")
            self._require_commander(view, author, "skip a gate")
            self._record(view, step, "gate_skipped", author, {"gates": closed, "reason": skip_gates_reason})
        if step.destructive and not dry_run and (confirmation or "").strip() != target:
            raise ValidationError(f"Type the target's name, {target}, to run step {number} for real.")
        self._record(view, step, "started", author, {"dry_run": dry_run, "target": target})
        return self._job(view, step, target, dry_run)

    def finish_step(self, pending: PendingJob, outcome: JobOutcome, *, author: str) -> RunView:
        view = self.run(pending.run_id)
        step = view.state_of(pending.step).step
        event = PASSED if outcome.passed else FAILED
        if pending.dry_run:
            event = DRY_RUN_PASSED if outcome.passed else DRY_RUN_FAILED
        data = {"dry_run": pending.dry_run, "target": pending.job.target, "summary": outcome.summary(),
                **outcome.as_data()}  # fmt: skip
        self._record(view, step, event, author, data)
        return self._maybe_end(pending.run_id)

    def run_step(self, run_id: str, number: int, *, author: str, dry_run: bool = False,
                 confirmation: str | None = None, skip_gates_reason: str | None = None,
                 control: JobControl | None = None) -> RunView:  # fmt: skip
        pending = self.begin_step(run_id, number, author=author, dry_run=dry_run, confirmation=confirmation,
                                  skip_gates_reason=skip_gates_reason)  # fmt: skip
        return self.finish_step(pending, execute(pending, control or JobControl()), author=author)

    # -- findings ---------------------------------------------------------------------------------
    def add_finding(self, name: str, text: str, *, author: str, incident: str | None = None) -> None:
        runbook = self.library.find(name)
        if runbook is None:
            raise NotFound(f"No runbook '{name}'.")
        if not text.strip():
            raise ValidationError("Write the finding, e.g. 'update step 4: the host name changed'.")
        with self._store.transaction() as s:
            incident_id = IncidentService._load(s, incident).id if incident else None
            s.add(RunbookFinding(runbook=runbook.slug, version=runbook.version, text=text.strip(),
                                 incident_id=incident_id, created_at=self._now(), created_by=author))  # fmt: skip
        self._publish(Topic.RUNBOOKS, None, None)

    def open_findings(self, runbook: Runbook) -> list[tuple[str, str, datetime]]:
        """Findings recorded against this version (a newer version closes them): (text, by, when)."""
        with self._store.read() as s:
            rows = s.scalars(select(RunbookFinding).where(RunbookFinding.runbook == runbook.slug,
                                                          RunbookFinding.version == runbook.version)
                             .order_by(RunbookFinding.created_at)).all()  # fmt: skip
            return [(r.text, r.created_by, r.created_at) for r in rows]

    # -- inside -------------------------------------------------------------------------------------
    def _open_step(self, view: RunView, number: int) -> Step:
        if view.ended_at is not None:
            raise ValidationError(f"This run of '{view.runbook.title}' has ended ({view.outcome}).")
        if not 1 <= number <= len(view.steps):
            raise NotFound(f"'{view.runbook.title}' has steps 1 to {len(view.steps)}, not {number}.")
        state = view.state_of(number)
        if state.state in _FINISHED:
            raise ValidationError(f"Step {number} is already {state.state}.")
        if state.state == RUNNING:
            raise ValidationError(f"Step {number} is running.")
        return state.step

    def _require_commander(self, view: RunView, author: str, doing: str) -> None:
        allowed = {view.started_by} if view.is_drill else self._commander_of(view.incident_id)
        if author not in allowed:
            who = "the drill's lead" if view.is_drill else "the incident commander"
            raise ValidationError(f"Only {who} ({', '.join(sorted(allowed)) or 'nobody yet'}) may {doing}.")

    def _job(self, view: RunView, step: Step, target: str, dry_run: bool) -> PendingJob:
        base = view.runbook.path.parent
        playbook = (base / step.playbook) if not Path(step.playbook).is_absolute() else Path(step.playbook)
        inventory = step.inventory or "localhost,"
        if (base / inventory).is_file():
            inventory = str(base / inventory)
        work = self.work_dir / "".join(c if c.isalnum() or c in "-_." else "_" for c in target)
        extra = {**step.extra_vars, "sitrep_target": target, "sitrep_work_dir": str(work)}
        problem, secrets, orchestrator = "", {}, None
        try:
            orchestrator = self._orchestrators(DEFAULT_ORCHESTRATOR)
            for name in step.secrets:
                value = self._secret(DEFAULT_ORCHESTRATOR, name)
                if not value:
                    raise ValidationError(f"No secret '{name}' in the keyring for {DEFAULT_ORCHESTRATOR}: set it "
                                          f"with `sitrep backend set {DEFAULT_ORCHESTRATOR} --secret {name}`.")
                secrets[name] = value
        except Exception as exc:  # noqa: BLE001 — the step records why it did not run
            problem = str(exc)
        job = AutomationJob(playbook=playbook, inventory=inventory, target=target, limit=step.limit,
                            extra_vars=extra, check=dry_run, timeout_s=step.timeout_s, secrets=secrets)  # fmt: skip
        return PendingJob(view.id, step.number, dry_run, job, orchestrator, problem)

    def _record(self, view: RunView, step: Step, event: str, author: str, data: dict[str, Any]) -> RunView:
        now = self._now()
        with self._store.transaction() as s:
            run = s.get(RunbookRun, view.id)
            s.add(RunbookStepEvent(run_id=view.id, step=step.number, event=event, at=now, author=author, data=data))
            if view.incident_id:
                kind = {"started": EntryKind.RUNBOOK_STEP_STARTED, SKIPPED: EntryKind.RUNBOOK_STEP_SKIPPED,
                        "gate_skipped": EntryKind.RUNBOOK_STEP_SKIPPED}.get(event, EntryKind.RUNBOOK_STEP_RESULT)
                entry = {**self._entry_data(run, step, event), **_public(data)}
                append_entry(s, view.incident_id, kind, _entry_body(view, step, event, data), author=author,
                             now=now, data=entry, hooks=self._store.entry_hooks)  # fmt: skip
        self._publish(Topic.RUNBOOKS, view.incident_id, None)
        if view.incident_id:
            self._publish(Topic.TIMELINE, view.incident_id, None)
        return view

    def _maybe_end(self, run_id: str) -> RunView:
        view = self.run(run_id)
        if view.ended_at is None and all(s.state in _FINISHED for s in view.steps):
            outcome = "failed" if any(s.state == FAILED for s in view.steps) else "completed"
            return self.end(run_id, author=view.started_by, outcome=outcome)
        return view

    @staticmethod
    def _entry_data(run: RunbookRun, step: Step | None, event: str) -> dict[str, Any]:
        data = {"runbook": run.runbook, "runbook_version": run.version, "commit": run.commit, "blob": run.blob,
                "provenance": run.provenance, "run_id": run.id, "event": event}  # fmt: skip
        if step is not None:
            data.update(step=step.number, step_title=step.title, step_kind=step.kind)
        return data


def execute(pending: PendingJob, control: JobControl) -> JobOutcome:
    """The orchestrator's part: call it on a worker thread (it blocks until the job ends)."""
    if pending.orchestrator is None or pending.problem:
        return JobOutcome(NOT_RUN, None, message=pending.problem or "no orchestrator")
    return pending.orchestrator.run_job(pending.job, control)


def _public(data: dict[str, Any]) -> dict[str, Any]:
    # The full diff and output stay in the runbook's own events; the timeline entry carries the summary.
    return {k: v for k, v in data.items() if k not in ("diff",)}


def _entry_body(view: RunView, step: Step, event: str, data: dict[str, Any]) -> str:
    origin = view.provenance.short
    head = f"Runbook '{view.runbook.title}' v{view.runbook.version} ({origin}), step {step.number} '{step.title}'"
    if event == "started":
        return f"{head}: started" + (" (dry run)" if data.get("dry_run") else "") + (
            f" on {data['target']}" if data.get("target") else "")
    if event == SKIPPED:
        return f"{head}: skipped — {data.get('reason', '')}"
    if event == "gate_skipped":
        return f"{head}: gates skipped by the commander — {data['reason']} (gates: {'; '.join(data['gates'])})"
    if event == CHOSEN:
        return f"{head}: chose '{data['choice']}'"
    if event == DONE:
        return f"{head}: done"
    return f"{head}: {event} — {data.get('summary', '')}"


def _runbook_as_used(run: RunbookRun) -> Runbook:
    # The steps come from the file as it is now; the version, commit and blob say which text was followed.
    try:
        return load_runbook(Path(run.path))
    except Exception as exc:  # noqa: BLE001
        raise ValidationError(f"The runbook file {run.path} can no longer be read: {exc}") from exc


def _fold(run: RunbookRun, runbook: Runbook, events: list[RunbookStepEvent]) -> RunView:
    states = {s.number: StepState(s) for s in runbook.steps}
    for ev in events:
        if ev.step not in states:
            continue
        st, d = states[ev.step], ev.data or {}
        if ev.event == "started":
            st = replace(st, state=RUNNING, by=ev.author, at=ev.at, started_at=ev.at, summary="")
        elif ev.event in (DRY_RUN_PASSED, DRY_RUN_FAILED):
            st = replace(st, state=ev.event, by=ev.author,
                         at=ev.at, summary=f"dry run: {d.get('summary', '')}", dry_run_diff=d.get("diff", ""),
                         dry_run_at=ev.at if ev.event == DRY_RUN_PASSED else None,
                         dry_run_target=d.get("target", ""))  # fmt: skip
        elif ev.event == "gate_skipped":
            st = replace(st, reason=d.get("reason", ""))
        else:
            st = replace(st, state=ev.event, by=ev.author, at=ev.at, summary=d.get("summary", st.summary),
                         diff=d.get("diff", ""), reason=d.get("reason", st.reason))  # fmt: skip
        states[ev.step] = st
    return RunView(run.id, runbook, Provenance(run.blob, run.commit, run.provenance), run.incident_id,
                   run.drill_target, run.started_at, run.started_by, run.ended_at, run.outcome,
                   tuple(states[n] for n in sorted(states)))  # fmt: skip
