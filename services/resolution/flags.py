"""Feature-flag kill switches: switch one feature off in one environment rather than take a service down.

Which flags belong to which services is data: `flags.toml` in the config folder (the shipped
resources/flags.toml is an empty example). From an incident, a person lists the flags mapped to its
services (read live from the flag service, a backend declaring `SwitchesFlags`) and switches one.

A switch is never done directly: it is an ACTION entry whose data carries `flag_switch`, and the flag
backend's outbox item carries it out. So offline it is queued and said to be queued; when it goes through
(now or later), the sync worker's answer hook (`record_answer`) writes the result in the same commit that
marks the item sent: a config-change entry with the state before, the state read back after, and the
change record (configuration item = flag@environment, how to undo = switch it the other way), which the
CMDB backends are then owed like any other change record. A flag left off is among what an incident owes
before it is resolved (services/record/owed.py).
"""

from __future__ import annotations

import logging
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from models.entities import TimelineEntry
from models.enums import EntryKind, OutboxState
from resources import resource_path
from services.adapters.failures import SyncFailure
from services.adapters.interface import FLAG_SWITCH_KEY as SWITCH_KEY
from services.adapters.interface import FLAG_SWITCH_OP as SWITCH_OP
from services.adapters.interface import Adapter, SwitchesFlags
from services.adapters.values import FlagState, ItemView, SendResult
from services.changes import Topic
from services.errors import NotFound, SitrepError, ValidationError
from services.record.incidents import IncidentService
from services.record.timeline import _clean_author, append_entry
from services.resolution.change_records import RECORD_KEY
from services.storage.secrets import KeyringUnavailable

log = logging.getLogger(__name__)

MAPPING_FILE = "flags.toml"
RESULT_KEY = "flag_result"
FLAG_ATTRIBUTE = "feature flag enabled"  # the same attribute the kill-switch checklist's change records use


@dataclass(frozen=True)
class FlagMapping:
    service: str
    key: str
    project: str | None = None  # None: the backend's configured project
    environments: tuple[str, ...] = ()  # empty: the backend's default environment
    note: str = ""


@dataclass(frozen=True)
class FlagRow:
    """A mapped flag as read now: its state in one environment, or why it could not be read."""

    mapping: FlagMapping
    environment: str
    state: FlagState | None
    problem: str | None = None


@dataclass(frozen=True)
class SwitchOutcome:
    """Where a switch stands: done (with the read-back), queued (and why), or failed (and why)."""

    request_entry: str
    flag: str
    environment: str
    on: bool
    state: str  # done | queued | failed | cancelled
    detail: str = ""
    before: bool | None = None
    after: bool | None = None

    @property
    def text(self) -> str:
        target = f"{self.flag}@{self.environment} {'on' if self.on else 'off'}"
        if self.state == "done":
            return (f"Switched {target}: read back {_word(self.after)} (was {_word(self.before)})."
                    + ("" if self.after is self.on else " The read-back does not match: look in the flag service."))  # fmt: skip
        if self.state == "queued":
            return (f"Queued, not done: switching {target} waits in the outbox ({self.detail.rstrip('.') or 'not sent yet'}). "
                    "It goes out when the flag service answers; the timeline will say what it read back.")  # fmt: skip
        return f"Switching {target} {self.state}: {self.detail}"

    @property
    def short(self) -> str:
        """One line for a list of switches."""
        head = f"{'on ' if self.on else 'off'}  {self.flag}@{self.environment} — {self.state}"
        if self.state == "done":
            return f"{head}: read back {_word(self.after)} (was {_word(self.before)})"
        return f"{head}: {self.detail.rstrip('.') or 'not sent yet'}"


def _word(enabled: bool | None) -> str:
    return {True: "on", False: "off", None: "unknown"}[enabled]


def load_mapping(config_dir: Path | None) -> tuple[list[FlagMapping], list[str]]:
    """The user's flags.toml, else the shipped example. A malformed file maps nothing and says why."""
    path = config_dir / MAPPING_FILE if config_dir else None
    source = path if path is not None and path.is_file() else resource_path(MAPPING_FILE)
    try:
        raw = tomllib.loads(source.read_text(encoding="utf-8"))
        out = [FlagMapping(service=str(f["service"]).lower(), key=str(f["key"]), project=f.get("project"),
                           environments=tuple(str(e) for e in f.get("environments", ())), note=str(f.get("note", "")))
               for f in raw.get("flag", ())]  # fmt: skip
    except (OSError, tomllib.TOMLDecodeError, KeyError, TypeError, AttributeError) as exc:
        problem = f"The flag mapping {source} could not be read ({type(exc).__name__}: {exc}); no flags are mapped."
        log.warning("%s", problem)
        return [], [problem]
    return out, []


class FlagService:
    def __init__(self, store, now: Callable[[], datetime], publish, sync, config_dir: Path | None = None) -> None:
        self._store = store
        self._now = now
        self._publish = publish
        self._sync = sync
        self._config_dir = config_dir
        self.mapping, self.problems = load_mapping(config_dir)

    # -- the mapping ---------------------------------------------------------------------
    def save_mapping(self, flags: list[FlagMapping]) -> None:
        """Write the mapping to the config folder (kept in memory only when there is none)."""
        self.mapping, self.problems = list(flags), []
        if self._config_dir is None:
            return
        lines = ["# Which feature flags belong to which services (sitrep flag list --incident N).", ""]
        for f in flags:
            lines += ["[[flag]]", f"service = {_toml(f.service)}", f"key = {_toml(f.key)}"]
            if f.project:
                lines.append(f"project = {_toml(f.project)}")
            if f.environments:
                lines.append("environments = [" + ", ".join(_toml(e) for e in f.environments) + "]")
            if f.note:
                lines.append(f"note = {_toml(f.note)}")
            lines.append("")
        self._config_dir.mkdir(parents=True, exist_ok=True)
        (self._config_dir / MAPPING_FILE).write_text("\n".join(lines), encoding="utf-8")

    def mapped(self, ref: str) -> list[FlagMapping]:
        """The flags mapped to the incident's services ("payments" also maps "payments-api")."""
        services = {s.lower() for s in self._incident(ref).services or ()}
        return [f for f in self.mapping if any(s == f.service or s.startswith(f.service + "-") for s in services)]

    # -- the backend ---------------------------------------------------------------------
    def backend(self, *, exercise: bool = False) -> tuple[str | None, str | None]:
        """(name of the flag backend that can switch now, or None; why not / how to set one up)."""
        names = [n for n, cls in self._sync.available.items() if issubclass(cls, SwitchesFlags)]
        if not names:
            return None, "No feature-flag backend is installed (Unleash comes with Sitrep; reinstall it)."
        problems = []
        for name in names:
            ready = self._sync.readiness(name, exercise=exercise)
            if ready.ready:
                presence = self._sync.secret_presence(name)
                if any(there is None for there in presence.values()):
                    problems.append("The OS keyring cannot be asked (no keyring service is running), so the "
                                    f"{ready.label} token cannot be read.")  # fmt: skip
                    continue
                missing = [s for s, there in presence.items() if not there]
                if not missing:
                    return name, None
                problems.append(f"{ready.label} has no {missing[0].replace('_', ' ')} in the keyring.")
            elif exercise and ready.state == "skips_exercises":
                return None, (f"This incident is an exercise and {ready.label} is set not to receive exercises: "
                              "nothing would be switched. Allow it in the backend's settings to switch for real.")  # fmt: skip
            elif ready.state == "off":
                problems.append(f"{ready.label} is not set up (backend '{name}' is off).")
            else:
                problems.append(ready.problem or f"{ready.label} is not set up.")
        name = names[0]
        how = (f"Set it up in Tools ▸ Backends… ({name}), or: `sitrep backend set {name} --enable --url https://… "
               f"--set project=default`, then `sitrep backend set {name} --secret api_token --token-from-stdin` "
               "(the token is kept in the OS keyring only).")  # fmt: skip
        return None, " ".join(problems) + " " + how

    def _adapter(self, *, exercise: bool = False) -> tuple[str, Adapter]:
        name, problem = self.backend(exercise=exercise)
        if name is None:
            raise ValidationError(problem or "No feature-flag backend is set up.", field="backend")
        return name, self._sync.make_adapters()[name]

    # -- reading (network: off the GUI thread) -------------------------------------------
    def read(self, ref: str) -> list[FlagRow]:
        """Each mapped flag's state in each of its environments, read from the flag service now."""
        mapped = self.mapped(ref)
        if not mapped:
            return []
        _name, adapter = self._adapter()
        out = []
        with self._sync.read_back_session(adapter) as http:
            for f in mapped:
                project = f.project or str(adapter.setting("project") or "default")
                for env in f.environments or (str(adapter.setting("environment") or "production"),):
                    try:
                        out.append(FlagRow(f, env, adapter.read_flag(http, project, f.key, env)))
                    except SyncFailure as exc:
                        out.append(FlagRow(f, env, None, exc.message))
                    except KeyringUnavailable as exc:
                        raise SitrepError(str(exc)) from None
        return out

    # -- switching -----------------------------------------------------------------------
    def request_switch(self, ref: str, key: str, environment: str | None, *, on: bool, author: str,
                       why: str) -> str:  # fmt: skip
        """Record the request and queue it for the flag backend; returns the request entry's id. Nothing
        is switched here: `deliver` (or the running sync worker) carries it out."""
        why = (why or "").strip()
        if not why:
            raise ValidationError("Say why the flag is switched (it goes on the change record).", field="why")
        mapping = next((f for f in self.mapped(ref) if f.key == key), None)
        if mapping is None:
            known = ", ".join(sorted({f.key for f in self.mapped(ref)})) or "none"
            raise NotFound(f"Flag '{key}' is not mapped to this incident's services (mapped: {known}). "
                           f"Map it in {MAPPING_FILE} in the config folder.")  # fmt: skip
        name, adapter = self._adapter(exercise=bool(self._incident(ref).is_exercise))
        env = environment or (mapping.environments[0] if mapping.environments else
                              str(adapter.setting("environment") or "production"))  # fmt: skip
        if mapping.environments and env not in mapping.environments:
            raise ValidationError(f"Flag '{key}' is mapped for {', '.join(mapping.environments)}, not {env}.",
                                  field="environment")  # fmt: skip
        project = mapping.project or str(adapter.setting("project") or "default")
        author = _clean_author(author)
        word = "on" if on else "off"
        with self._store.transaction() as s:
            inc = IncidentService._load(s, ref)
            now = self._now()
            inc.updated_at = now
            data = {SWITCH_KEY: {"backend": name, "project": project, "flag": key, "environment": env, "on": on,
                                 "why": why}}  # fmt: skip
            entry = append_entry(s, inc.id, EntryKind.ACTION, f"Kill switch: switch {key} {word} in {env} "
                                 f"(requested through {adapter.label}). Why: {why}", author=author, now=now,
                                 data=data, hooks=self._store.entry_hooks)  # fmt: skip
        self._publish(Topic.TIMELINE, inc.id, entry.seq)
        return entry.id

    def deliver(self, request_entry: str, *, wait_s: float = 8.0) -> SwitchOutcome:
        """Try to carry the switch out now and say where it stands. Blocks on the network: the CLI, or a
        pool thread of the console. With a sync worker running, it is asked to send now and watched."""
        if self._sync.sync_now():
            deadline = time.monotonic() + wait_s
            while time.monotonic() < deadline:
                outcome = self.outcome(request_entry)
                if outcome.state != "queued" or outcome.detail:
                    return outcome
                time.sleep(0.1)
            return self.outcome(request_entry)
        self._sync.drain_once(max_wait_s=min(wait_s, 2.0), within_s=wait_s)
        return self.outcome(request_entry)

    def outcome(self, request_entry: str) -> SwitchOutcome:
        item = self._item(request_entry)
        payload = item.payload if item else {}
        base = dict(request_entry=request_entry, flag=payload.get("flag", "?"),
                    environment=payload.get("environment", "?"), on=bool(payload.get("on")))  # fmt: skip
        if item is None:
            return SwitchOutcome(**base, state="failed", detail="no outbox item: the flag backend was not set up to send")
        if item.state == OutboxState.SENT.value:
            facts = self._result_facts(request_entry) or {}
            return SwitchOutcome(**base, state="done", before=facts.get("before"), after=facts.get("after"))
        if item.state in (OutboxState.PENDING.value, OutboxState.IN_FLIGHT.value):
            return SwitchOutcome(**base, state="queued", detail=item.last_error or "")
        if item.state == OutboxState.CANCELLED.value:
            return SwitchOutcome(**base, state="cancelled", detail="cancelled in the sync queue; nothing was switched")
        return SwitchOutcome(**base, state="failed", detail=item.last_error or "refused")

    def switches(self, ref: str) -> list[SwitchOutcome]:
        """Every switch requested on the incident, oldest first, with where it stands."""
        with self._store.read() as s:
            inc = IncidentService._load(s, ref)
            rows = s.execute(select(TimelineEntry.id, TimelineEntry.data).where(
                TimelineEntry.incident_id == inc.id, TimelineEntry.kind == EntryKind.ACTION.value,
            ).order_by(TimelineEntry.seq)).all()  # fmt: skip
        return [self.outcome(i) for i, data in rows if (data or {}).get(SWITCH_KEY)]

    def left_off(self, ref: str) -> list[SwitchOutcome]:
        """Flags this incident switched off (or is still switching off) and has not switched on again."""
        last: dict[tuple[str, str], SwitchOutcome] = {}
        for o in self.switches(ref):
            if o.state in ("done", "queued"):
                last[(o.flag, o.environment)] = o
        return [o for o in last.values() if not o.on]

    # -- the sync worker's answer hook ----------------------------------------------------
    def record_answer(self, db, item: ItemView, result: SendResult, *, now: datetime, hooks) -> list:
        """Write a switch's result where the item is marked sent: what it was, what it read back, and the
        change record (when it changed). Returns the entries written."""
        facts = result.facts.get(SWITCH_KEY)
        if item.op != SWITCH_OP or not facts or item.incident_id is None:
            return []
        author = db.execute(select(TimelineEntry.author).where(TimelineEntry.id == item.entry_id)).scalar() or "sitrep"
        flag, env, on = facts["flag"], facts["environment"], bool(facts["on"])
        before, after = _word(facts.get("before")), _word(facts.get("after"))
        data: dict[str, Any] = {RESULT_KEY: facts}
        body = f"Kill switch: {flag} in {env} switched {'on' if on else 'off'} — read back {after} (was {before})."
        if not facts.get("confirmed"):
            body += f" The flag service still says {after}: check it there."
        if before != after:
            undo = f"Switch {flag} {'off' if on else 'on'} again in {env}"
            data[RECORD_KEY] = {"ci": f"{flag}@{env}", "attribute": FLAG_ATTRIBUTE, "before": before, "after": after,
                                "why": facts.get("why") or "kill switch", "undo": undo, "checklist_step": None,
                                "made_through": "flag"}  # fmt: skip
            body += f" Undo: {undo.lower()}."
        entry = append_entry(db, item.incident_id, EntryKind.CONFIG_CHANGE, body, author=author, now=now,
                             source="sitrep", data=data, hooks=hooks)  # fmt: skip
        return [entry]

    # -- helpers -------------------------------------------------------------------------
    def _incident(self, ref: str):
        with self._store.read() as s:
            return IncidentService._load(s, ref)

    def _item(self, request_entry: str) -> ItemView | None:
        incident_id = self._incident_of(request_entry)
        found = [i for i in self._sync.queue.items(limit=None, incident_id=incident_id)
                 if i.entry_id == request_entry and i.op == SWITCH_OP]  # fmt: skip
        return found[0] if found else None

    def _incident_of(self, entry_id: str) -> str | None:
        with self._store.read() as s:
            return s.scalar(select(TimelineEntry.incident_id).where(TimelineEntry.id == entry_id))

    def _result_facts(self, request_entry: str) -> dict | None:
        incident_id = self._incident_of(request_entry)
        with self._store.read() as s:
            rows = s.scalars(select(TimelineEntry.data).where(
                TimelineEntry.incident_id == incident_id, TimelineEntry.kind == EntryKind.CONFIG_CHANGE.value)).all()  # fmt: skip
        found = [(d or {}).get(RESULT_KEY) or {} for d in rows]
        return next((f for f in found if f.get("request_entry") == request_entry), None)


def _toml(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
