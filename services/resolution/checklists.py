"""Resolution checklists: data that gates risky steps (roll back, resolve, isolate a host).

A checklist's state is not stored apart from the incident: every attach, tick, value, waiver and override
is a timeline entry (kind "checklist"), so the record is the chain and the state is read back from it.
Checklists attach by the incident's type or services (by rule, from the definition) or by hand (an entry).

Definitions are TOML files in resources/checklists/ and the user's folder `<config>/checklists/`; a file
of the user's with the same id replaces the shipped one.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from models.entities import Incident, Person, RoleAssignment, TimelineEntry
from models.enums import EntryKind, Status
from resources import resource_path
from services.changes import Topic
from services.errors import InvalidTransition, NotFound, ValidationError
from services.record.incidents import IncidentService
from services.record.timeline import _clean_author, append_entry
from services.resolution.change_records import RECORD_KEY, append_change, record_fields

log = logging.getLogger(__name__)

RESOLVED_STEP = "resolved"
COMMANDER_ROLE = "IC"


class StepBlocked(InvalidTransition):
    """A gated step refused because required checklist items are open. `missing` names them."""

    def __init__(self, message: str, *, step: str, missing: list[tuple[str, str]]) -> None:
        super().__init__(message, field="checklist")
        self.step = step
        self.missing = missing  # (checklist title, item text)


@dataclass(frozen=True)
class ItemField:
    id: str
    label: str


@dataclass(frozen=True)
class ChecklistItem:
    id: str
    text: str
    required: bool = False
    requires: tuple[str, ...] = ()
    fields: tuple[ItemField, ...] = ()
    who: tuple[str, ...] = ()  # role ids that may tick it; empty: anyone on the incident
    step: str | None = None  # ticking this item *is* the gated step (e.g. "host-isolated")
    # Ticking it changes configuration: the change record's attribute (its fields ci/before/after fill it).
    change_attribute: str | None = None


@dataclass(frozen=True)
class ChecklistDefinition:
    id: str
    title: str
    items: tuple[ChecklistItem, ...]
    attach_types: tuple[str, ...] = ()
    attach_services: tuple[str, ...] = ()
    blocks: tuple[str, ...] = ()  # steps its open required items block
    origin: str = "shipped"

    def item(self, item_id: str) -> ChecklistItem:
        for it in self.items:
            if it.id == item_id:
                return it
        known = ", ".join(it.id for it in self.items)
        raise NotFound(f"Checklist '{self.id}' has no item '{item_id}'. Its items: {known}.")

    def blocked_steps(self) -> tuple[str, ...]:
        return self.blocks + tuple(it.step for it in self.items if it.step)


@dataclass
class ItemState:
    item: ChecklistItem
    status: str = "open"  # open | done | waived
    values: dict[str, str] = field(default_factory=dict)
    by: str | None = None
    at: datetime | None = None
    reason: str | None = None

    @property
    def settled(self) -> bool:
        return self.status in ("done", "waived")


@dataclass
class ChecklistState:
    definition: ChecklistDefinition
    attached_by: str  # "type" | "service" | "hand"
    items: list[ItemState]

    def open_required(self) -> list[ItemState]:
        return [st for st in self.items if st.item.required and not st.settled]

    def state_of(self, item_id: str) -> ItemState:
        self.definition.item(item_id)
        return next(st for st in self.items if st.item.id == item_id)

    def blocked_on(self, item_id: str) -> list[str]:
        """The items (texts) still open that this one needs first; none once it is settled."""
        it = self.state_of(item_id)
        if it.settled:
            return []
        names = [self.state_of(r).item.text for r in it.item.requires if not self.state_of(r).settled]
        if it.item.step:
            names += [o.item.text for o in self.open_required() if o is not it and o.item.text not in names]
        return names


def _parse_definition(raw: dict, origin: str, source: str) -> ChecklistDefinition:
    try:
        items = tuple(
            ChecklistItem(
                id=str(it["id"]),
                text=str(it["text"]),
                required=bool(it.get("required", False)),
                requires=tuple(str(r) for r in it.get("requires", ())),
                fields=tuple(ItemField(str(f["id"]), str(f.get("label", f["id"]))) for f in it.get("fields", ())),
                who=tuple(str(w).upper() for w in it.get("who", ())),
                step=it.get("step"),
                change_attribute=(it.get("change") or {}).get("attribute"),
            )
            for it in raw.get("item", ())
        )
        definition = ChecklistDefinition(
            id=str(raw["id"]),
            title=str(raw.get("title", raw["id"])),
            items=items,
            attach_types=tuple(raw.get("attach_types", ())),
            attach_services=tuple(s.lower() for s in raw.get("attach_services", ())),
            blocks=tuple(raw.get("blocks", ())),
            origin=origin,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise ValidationError(f"Checklist file {source} is malformed (missing or wrong {exc}).") from None
    ids = [it.id for it in items]
    for it in items:
        unknown = [r for r in it.requires if r not in ids]
        if unknown:
            raise ValidationError(f"Checklist file {source}: item '{it.id}' requires unknown item(s) {unknown}.")
    if not items:
        raise ValidationError(f"Checklist file {source} has no [[item]].")
    return definition


def load_definitions(config_dir: Path | None) -> tuple[dict[str, ChecklistDefinition], list[str]]:
    """Shipped definitions, then the user's (same id replaces). A malformed file is skipped and reported."""
    found: dict[str, ChecklistDefinition] = {}
    problems: list[str] = []
    sources: list[tuple[str, str, str]] = []
    for res in sorted(resource_path("checklists").iterdir(), key=lambda p: p.name):
        if res.name.endswith(".toml"):
            sources.append(("shipped", res.name, res.read_text(encoding="utf-8")))
    user_dir = config_dir / "checklists" if config_dir else None
    if user_dir and user_dir.is_dir():
        for path in sorted(user_dir.glob("*.toml")):
            try:
                sources.append(("yours", str(path), path.read_text(encoding="utf-8")))
            except OSError as exc:
                problems.append(f"{path}: cannot be read ({exc.strerror}).")
    for origin, name, text in sources:
        try:
            definition = _parse_definition(tomllib.loads(text), origin, name)
        except tomllib.TOMLDecodeError as exc:
            problems.append(f"Checklist file {name} is not valid TOML: {exc}. It was skipped.")
            continue
        except ValidationError as exc:
            problems.append(f"{exc.message} It was skipped.")
            continue
        found[definition.id] = definition
    for problem in problems:
        log.warning("%s", problem)
    return found, problems


class ChecklistService:
    def __init__(self, store, now: Callable[[], datetime], publish, config_dir: Path | None = None) -> None:
        self._store = store
        self._now = now
        self._publish = publish
        self.definitions, self.problems = load_definitions(config_dir)

    def definition(self, checklist_id: str) -> ChecklistDefinition:
        try:
            return self.definitions[checklist_id]
        except KeyError:
            known = ", ".join(sorted(self.definitions))
            raise NotFound(f"No checklist '{checklist_id}'. Known checklists: {known}.") from None

    # -- reading -------------------------------------------------------------------------
    def states(self, ref: str) -> list[ChecklistState]:
        with self._store.read() as s:
            return self._states(s, IncidentService._load(s, ref))

    def state(self, ref: str, checklist_id: str) -> ChecklistState:
        for st in self.states(ref):
            if st.definition.id == checklist_id:
                return st
        raise NotFound(f"Checklist '{checklist_id}' is not attached to {ref}. Attach it first.")

    def open_required(self, ref: str, step: str = RESOLVED_STEP) -> list[tuple[str, str]]:
        """(checklist title, item text) of every open required item that blocks `step`."""
        with self._store.read() as s:
            return _missing_for(self._states(s, IncidentService._load(s, ref)), step)

    def _states(self, s: Session, inc: Incident) -> list[ChecklistState]:
        attached: dict[str, str] = {}
        services = {sv.lower() for sv in (inc.services or [])}
        for d in self.definitions.values():
            if inc.incident_type in d.attach_types:
                attached[d.id] = "type"
            elif any(sv == name or sv.startswith(name + "-") for sv in services for name in d.attach_services):
                attached[d.id] = "service"
        entries = s.scalars(
            select(TimelineEntry)
            .where(TimelineEntry.incident_id == inc.id, TimelineEntry.kind == EntryKind.CHECKLIST.value)
            .order_by(TimelineEntry.seq)
        ).all()
        marks: dict[str, dict[str, ItemState]] = {}
        for e in entries:
            data = e.data or {}
            cid, action = data.get("checklist"), data.get("action")
            if cid not in self.definitions:
                continue  # a definition since removed: its entries stay in the timeline, unread here
            if action == "attach":
                attached.setdefault(cid, "hand")
            elif action == "detach":
                attached.pop(cid, None)
            elif action in ("tick", "waive", "reopen"):
                definition = self.definitions[cid]
                item_id = data.get("item")
                if item_id not in {it.id for it in definition.items}:
                    continue
                states = marks.setdefault(cid, {})
                st = ItemState(definition.item(item_id))
                if action != "reopen":
                    st.status = "done" if action == "tick" else "waived"
                    st.values = dict(data.get("values") or {})
                    st.by, st.at, st.reason = e.author, e.occurred_at, data.get("reason")
                states[item_id] = st
        out = []
        for cid, how in attached.items():
            d = self.definitions[cid]
            marked = marks.get(cid, {})
            out.append(ChecklistState(d, how, [marked.get(it.id) or ItemState(it) for it in d.items]))
        order = list(self.definitions)
        return sorted(out, key=lambda st: order.index(st.definition.id))

    # -- writing -------------------------------------------------------------------------
    def attach(self, ref: str, checklist_id: str, *, author: str) -> None:
        d = self.definition(checklist_id)
        with self._store.transaction() as s:
            inc = IncidentService._load(s, ref)
            if any(st.definition.id == d.id for st in self._states(s, inc)):
                raise InvalidTransition(f"Checklist '{d.title}' is already attached to {inc.key}.")
            self._entry(s, inc, f"Checklist attached: {d.title}", author, {"checklist": d.id, "action": "attach"})
        self._publish(Topic.TIMELINE, inc.id, None)

    def tick(
        self,
        ref: str,
        checklist_id: str,
        item_id: str,
        *,
        author: str,
        values: dict[str, str] | None = None,
        override_reason: str | None = None,
    ) -> ItemState:
        """Record an item done with its values. Refused while an item it requires is open (the commander
        may override with a reason), without its required fields, or by someone not in a role allowed."""
        author = _clean_author(author)
        values = {k: str(v).strip() for k, v in (values or {}).items() if str(v).strip()}
        with self._store.transaction() as s:
            inc = IncidentService._load(s, ref)
            state = self._attached(s, inc, checklist_id)
            d = state.definition
            item = d.item(item_id)
            roles = _roles_of(s, inc.id, author)
            if item.who and not roles & set(item.who):
                raise InvalidTransition(
                    f"'{item.text}' may be ticked by {_roles_text(item.who)}; {author} holds "
                    f"{_roles_text(roles) if roles else 'no role'} on {inc.key}."
                )
            missing = [(d.title, state.state_of(r).item.text) for r in item.requires if not state.state_of(r).settled]
            if item.step:
                missing += [m for m in _missing_for(self._states(s, inc), item.step) if m not in missing]
                missing = [m for m in missing if m != (d.title, item.text)]
            if missing:
                step = item.step or f"{d.id}/{item.id}"
                self._override_or_refuse(s, inc, step, item.text, missing, author, roles, override_reason)
            missing_fields = [f.label for f in item.fields if f.id not in values]
            if missing_fields:
                raise ValidationError(
                    f"'{item.text}' needs: {', '.join(missing_fields)}.", field=item.fields[0].id
                )
            unknown = sorted(set(values) - {f.id for f in item.fields})
            if unknown:
                raise ValidationError(f"'{item.text}' has no field(s) {', '.join(unknown)}.", field="values")
            body = f"Checklist '{d.title}': {item.text} — done" + "".join(
                f"; {f.label}: {values[f.id]}" for f in item.fields if f.id in values
            )
            data = {"checklist": d.id, "action": "tick", "item": item.id, "values": values}
            if item.step:
                data["step"] = item.step
            self._entry(s, inc, body, author, data)
            if item.change_attribute:
                record = record_fields(values.get("ci", ""), item.change_attribute, values.get("before", ""),
                                       values.get("after", ""), values.get("why") or f"{d.title}: {item.text}",
                                       f"Set {item.change_attribute} of {values.get('ci')} back to "
                                       f"{values.get('before') or 'nothing'}")  # fmt: skip
                # A change Sitrep itself made (a kill switch) already wrote its record: ticking the item that
                # records it must not send the CMDB a second change request for the same change.
                if not _already_recorded(s, inc.id, record):
                    append_change(s, inc, record, author=author, now=self._now(), hooks=self._store.entry_hooks,
                                  checklist_step=f"{d.id}/{item.id}", made_through="checklist")  # fmt: skip
            result = self._attached(s, inc, checklist_id).state_of(item_id)
        self._publish(Topic.TIMELINE, inc.id, None)
        return result

    def waive(self, ref: str, checklist_id: str, item_id: str, *, author: str, reason: str) -> ItemState:
        """Settle an item without doing it; the commander's call, with the reason written down."""
        author = _clean_author(author)
        reason = (reason or "").strip()
        if not reason:
            raise ValidationError("Waiving a checklist item needs a reason.", field="reason")
        with self._store.transaction() as s:
            inc = IncidentService._load(s, ref)
            state = self._attached(s, inc, checklist_id)
            item = state.definition.item(item_id)
            self._require_commander(s, inc, author, _roles_of(s, inc.id, author), "waive a checklist item")
            body = f"Checklist '{state.definition.title}': {item.text} — waived. Reason: {reason}"
            self._entry(s, inc, body, author, {"checklist": state.definition.id, "action": "waive",
                                               "item": item.id, "reason": reason})  # fmt: skip
            result = self._attached(s, inc, checklist_id).state_of(item_id)
        self._publish(Topic.TIMELINE, inc.id, None)
        return result

    def reopen(self, ref: str, checklist_id: str, item_id: str, *, author: str, reason: str = "") -> None:
        author = _clean_author(author)
        with self._store.transaction() as s:
            inc = IncidentService._load(s, ref)
            state = self._attached(s, inc, checklist_id)
            item = state.definition.item(item_id)
            if not state.state_of(item_id).settled:
                raise InvalidTransition(f"'{item.text}' is already open.")
            body = f"Checklist '{state.definition.title}': {item.text} — reopened" + (
                f". Reason: {reason.strip()}" if reason.strip() else ""
            )
            self._entry(s, inc, body, author, {"checklist": state.definition.id, "action": "reopen",
                                               "item": item.id, "reason": reason.strip() or None})  # fmt: skip
        self._publish(Topic.TIMELINE, inc.id, None)

    # -- the gate on status changes (registered in IncidentService.status_gates) -----------
    def status_gate(
        self, s: Session, inc: Incident, target: Status, author: str, override_reason: str | None
    ) -> None:
        if target is not Status.RESOLVED:
            return
        missing = _missing_for(self._states(s, inc), RESOLVED_STEP)
        if missing:
            roles = _roles_of(s, inc.id, author)
            self._override_or_refuse(s, inc, RESOLVED_STEP, "Resolved", missing, author, roles, override_reason)

    # -- helpers -------------------------------------------------------------------------
    def _attached(self, s: Session, inc: Incident, checklist_id: str) -> ChecklistState:
        self.definition(checklist_id)
        for st in self._states(s, inc):
            if st.definition.id == checklist_id:
                return st
        raise NotFound(f"Checklist '{checklist_id}' is not attached to {inc.key}. Attach it first.")

    def _override_or_refuse(self, s, inc, step, step_text, missing, author, roles, reason) -> None:
        reason = (reason or "").strip()
        listed = "; ".join(f"{title}: {text}" for title, text in missing)
        if not reason:
            raise StepBlocked(
                f"'{step_text}' is blocked on {inc.key}: open checklist item(s) — {listed}. Record them, "
                f"or the incident commander may override with a reason.",
                step=step,
                missing=missing,
            )
        self._require_commander(s, inc, author, roles, f"override the checklist block on '{step_text}'")
        body = f"Checklist override on '{step_text}' by the incident commander. Open: {listed}. Reason: {reason}"
        self._entry(s, inc, body, author, {"action": "override", "step": step, "reason": reason,
                                           "missing": [list(m) for m in missing]})  # fmt: skip

    @staticmethod
    def _require_commander(s, inc, author, roles, what) -> None:
        if COMMANDER_ROLE not in roles:
            raise InvalidTransition(
                f"Only the incident commander may {what}; {author} does not hold IC on {inc.key}."
            )

    def _entry(self, s: Session, inc: Incident, body: str, author: str, data: dict[str, Any]) -> None:
        now = self._now()
        inc.updated_at = now
        append_entry(s, inc.id, EntryKind.CHECKLIST, body, author=_clean_author(author), now=now, data=data,
                     hooks=self._store.entry_hooks)  # fmt: skip


def _missing_for(states: list[ChecklistState], step: str) -> list[tuple[str, str]]:
    missing = []
    for st in states:
        if step in st.definition.blocks:
            missing += [(st.definition.title, it.item.text) for it in st.open_required()]
        else:
            for it in st.items:
                if it.item.step == step:
                    missing += [(st.definition.title, o.item.text) for o in st.open_required() if o is not it]
    return missing


def _already_recorded(s: Session, incident_id: str, record: dict[str, str]) -> bool:
    """Whether a change record Sitrep made itself (not one typed or ticked) has this item, attribute and after."""
    rows = s.scalars(select(TimelineEntry.data).where(TimelineEntry.incident_id == incident_id,
                                                      TimelineEntry.kind == EntryKind.CONFIG_CHANGE.value)).all()  # fmt: skip
    made = [(d or {}).get(RECORD_KEY) or {} for d in rows]
    return any(m.get("made_through") not in (None, "hand", "checklist") and
               (m.get("ci"), m.get("attribute"), m.get("after")) == (record["ci"], record["attribute"], record["after"])
               for m in made)  # fmt: skip


def _roles_of(s: Session, incident_id: str, author: str) -> set[str]:
    rows = s.scalars(
        select(RoleAssignment.role)
        .join(Person, Person.id == RoleAssignment.person_id)
        .where(RoleAssignment.incident_id == incident_id, RoleAssignment.ended_at.is_(None),
               Person.handle == author)  # fmt: skip
    ).all()
    return {r.upper() for r in rows}


def _roles_text(roles) -> str:
    return " or ".join(sorted(roles))
