"""Delegations of authority: who may declare a major incident, approve external messages, authorise
spending, talk to regulators; their deputies, the owner who reviews each delegation, and until when it
holds. Every review period (resources/delegations.toml) the owner confirms, changes or revokes each one;
each of those is recorded with who and when. The comms approval rule asks `authority_of` here.

The approvers listed in comms.toml's [approval] (the static list this register replaced) are read as
delegations of "approve external messages" with no expiry, so existing configurations keep working; they
show in the register as coming from that file.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, literal_column, select
from sqlalchemy.orm import Session

from models.entities import Delegation, DelegationReview, Person
from services.changes import Topic
from services.errors import NotFound, ValidationError
from services.governance.settings_file import merged_settings
from services.record.timeline import _clean_author

DELEGATIONS_FILE = "delegations.toml"
APPROVE_EXTERNAL = "approve_external"
CONFIG_SOURCE = "comms.toml"
_VERB = {"confirmed": "confirm", "changed": "change", "revoked": "revoke"}


@dataclass(frozen=True)
class DelegationSettings:
    labels: dict[str, str]  # authority id -> what it allows, as a sentence fragment
    review_every_months: int
    due_soon_days: int
    approves_messages: str  # the authority the comms approval rule reads

    @classmethod
    def load(cls, config_dir: Path | None) -> DelegationSettings:
        doc, where = merged_settings(DELEGATIONS_FILE, config_dir)
        review = doc.get("review") or {}
        months, soon = review.get("every_months", 3), review.get("due_soon_days", 14)
        if not isinstance(months, int) or isinstance(months, bool) or not 1 <= months <= 24:
            raise ValidationError(f"{where}: review.every_months must be a whole number of months from 1 to 24.")
        if not isinstance(soon, int) or isinstance(soon, bool) or not 0 <= soon <= 90:
            raise ValidationError(f"{where}: review.due_soon_days must be a whole number of days from 0 to 90.")
        labels, approves = {}, APPROVE_EXTERNAL
        for aid, raw in (doc.get("authority") or {}).items():
            if not isinstance(raw, dict) or not isinstance(raw.get("label"), str):
                raise ValidationError(f"{where}: [authority.{aid}] needs a label.")
            labels[aid] = raw["label"]
            if raw.get("approves_messages"):
                approves = aid
        if not labels:
            raise ValidationError(f"{where}: no [authority.*] is defined.")
        return cls(labels, months, soon, approves)


@dataclass(frozen=True)
class DelegationView:
    id: str
    authority: str
    authority_label: str
    holder: str
    holder_name: str
    deputies: tuple[str, ...]
    owner: str
    owner_name: str
    scope: str
    expires_on: date | None
    review_due_on: date | None
    last_reviewed_at: datetime | None
    last_reviewed_by: str | None
    revoked_at: datetime | None
    source: str  # "register", or the file a configured approver came from
    state: str  # active | review due soon | review overdue | expired | revoked

    @property
    def flagged(self) -> bool:
        return self.state in ("expired", "review overdue")

    @property
    def problem(self) -> str:
        if self.state == "expired":
            return f"{self.holder_name}'s authority to {self.authority_label} expired on {self.expires_on}"
        if self.state == "review overdue":
            return f"the review of {self.holder_name}'s authority to {self.authority_label} was due on {self.review_due_on}"
        return ""

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "authority": self.authority, "label": self.authority_label, "holder": self.holder,
                "holder_name": self.holder_name, "deputies": list(self.deputies), "owner": self.owner,
                "owner_name": self.owner_name, "scope": self.scope,
                "expires_on": self.expires_on.isoformat() if self.expires_on else None,
                "review_due_on": self.review_due_on.isoformat() if self.review_due_on else None,
                "last_reviewed_at": self.last_reviewed_at.isoformat() if self.last_reviewed_at else None,
                "last_reviewed_by": self.last_reviewed_by, "source": self.source, "state": self.state}  # fmt: skip


@dataclass(frozen=True)
class ReviewView:
    action: str
    by: str
    at: datetime
    note: str
    changes: dict[str, Any]


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def parse_day(value: Any, field_name: str) -> date | None:
    if value is None or isinstance(value, date):
        return value
    text = str(value).strip()
    if not text or text.lower() in ("none", "never"):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError(f"'{text}' is not a date; write it as YYYY-MM-DD (e.g. 2027-03-31).",
                              field=field_name) from None  # fmt: skip


class DelegationService:
    def __init__(self, store, now: Callable[[], datetime], publish, config_dir: Path | None,
                 configured_approvers: Callable[[], Iterable[str]] = tuple) -> None:  # fmt: skip
        self._store = store
        self._now = now
        self._publish = publish
        self._config_dir = config_dir
        self._configured = configured_approvers
        self._settings: DelegationSettings | None = None

    @property
    def settings(self) -> DelegationSettings:
        if self._settings is None:
            self._settings = DelegationSettings.load(self._config_dir)
        return self._settings

    def today(self) -> date:
        return self._now().date()

    def label(self, authority: str) -> str:
        return self.settings.labels.get(authority, authority.replace("_", " "))

    def authority(self, value: str) -> str:
        key = (value or "").strip().lower().replace("-", "_").replace(" ", "_")
        if key in self.settings.labels:
            return key
        for aid, label in self.settings.labels.items():
            if key == label.lower().replace(" ", "_"):
                return aid
        known = "; ".join(f"{a} ({lbl})" for a, lbl in self.settings.labels.items())
        raise ValidationError(f"Unknown authority '{value}'. Use one of: {known}.", field="authority")

    # -- reading -------------------------------------------------------------------------
    def list(self, *, include_revoked: bool = False, authority: str | None = None) -> list[DelegationView]:
        aid = self.authority(authority) if authority else None
        with self._store.read() as s:
            rows = [self._view(s, d) for d in s.scalars(select(Delegation).order_by(Delegation.authority, Delegation.created_at))]
            rows += self._configured_views(s)
        rows = [r for r in rows if (include_revoked or r.state != "revoked") and (aid is None or r.authority == aid)]
        order = list(self.settings.labels)
        return sorted(rows, key=lambda r: (order.index(r.authority) if r.authority in order else 99, r.holder_name.lower()))

    def get(self, ref: str) -> DelegationView:
        with self._store.read() as s:
            return self._view(s, self._load(s, ref))

    def reviews(self, ref: str) -> list[ReviewView]:
        with self._store.read() as s:
            d = self._load(s, ref)
            rows = s.scalars(select(DelegationReview).where(DelegationReview.delegation_id == d.id)
                             .order_by(DelegationReview.at, literal_column("delegation_reviews.rowid")))  # fmt: skip
            return [ReviewView(r.action, r.by, r.at, r.note, dict(r.changes or {})) for r in rows]

    def flagged(self) -> list[DelegationView]:
        """Expired delegations and overdue reviews: what the console's indicator and `sitrep delegations` flag."""
        return [d for d in self.list() if d.flagged]

    def authority_of(self, s: Session, who: str, authority: str) -> tuple[bool, DelegationView | None]:
        """In the caller's session: (holds it now, an expired delegation of it that names them, if any).
        `who` is a handle or a name; a deputy holds what the delegation gives."""
        who_l = (who or "").strip().lstrip("@").lower()
        if not who_l:
            return False, None
        person = s.scalars(select(Person).where(func.lower(Person.handle) == who_l)).first() or \
            s.scalars(select(Person).where(func.lower(Person.name) == who_l)).first()  # fmt: skip
        names = {who_l} | ({person.handle.lower(), person.name.lower()} if person else set())
        expired = None
        rows = [self._view(s, d) for d in s.scalars(select(Delegation).where(Delegation.authority == authority))]
        rows += [v for v in self._configured_views(s) if v.authority == authority]
        for view in rows:
            if view.state == "revoked":
                continue
            if not names & {h.lower() for h in (view.holder, view.holder_name, *view.deputies)}:
                continue
            if view.state == "expired":
                expired = expired or view
            else:
                return True, None
        return False, expired

    def blocked_sentence(self, view: DelegationView) -> str:
        return f"{view.problem} (owner: {view.owner_name}); renew it in Delegations."

    # -- changing ------------------------------------------------------------------------
    def add(self, authority: str, holder: str, owner: str, *, author: str, deputies: Iterable[str] = (),
            expires_on: Any = None, scope: str = "") -> DelegationView:  # fmt: skip
        author = _clean_author(author)
        aid = self.authority(authority)
        expires = parse_day(expires_on, "expires_on")
        now = self._now()
        if expires is not None and expires < now.date():
            raise ValidationError(f"The expiry {expires} is in the past.", field="expires_on")
        with self._store.transaction() as s:
            holder_p = _person(s, holder, "holder")
            owner_p = _person(s, owner, "owner")
            deps = _deputies(s, deputies, holder_p.handle)
            d = Delegation(authority=aid, holder=holder_p.handle, deputies=deps, owner=owner_p.handle,
                           scope=(scope or "").strip(), expires_on=expires.isoformat() if expires else None,
                           review_due_on=add_months(now.date(), self.settings.review_every_months).isoformat(),
                           created_by=author, created_at=now, updated_at=now)  # fmt: skip
            s.add(d)
            s.flush()
            s.add(DelegationReview(delegation_id=d.id, action="added", by=author, at=now, note=scope or "",
                                   changes={"holder": d.holder, "deputies": deps, "owner": d.owner,
                                            "expires_on": d.expires_on}))  # fmt: skip
            view = self._view(s, d)
        self._publish(Topic.DELEGATIONS, None, None)
        return view

    def confirm(self, ref: str, *, by: str, note: str = "") -> DelegationView:
        return self._review(ref, by, "confirmed", note, {})

    def change(self, ref: str, *, by: str, note: str = "", holder: str | None = None,
               deputies: Iterable[str] | None = None, owner: str | None = None, expires_on: Any = "keep",
               scope: str | None = None) -> DelegationView:  # fmt: skip
        wanted: dict[str, Any] = {}
        if holder is not None:
            wanted["holder"] = holder
        if deputies is not None:
            wanted["deputies"] = list(deputies)
        if owner is not None:
            wanted["owner"] = owner
        if expires_on != "keep":
            wanted["expires_on"] = parse_day(expires_on, "expires_on")
        if scope is not None:
            wanted["scope"] = scope.strip()
        if not wanted:
            raise ValidationError("Say what changes: the holder, deputies, owner, expiry or scope.")
        return self._review(ref, by, "changed", note, wanted)

    def revoke(self, ref: str, *, by: str, note: str = "") -> DelegationView:
        return self._review(ref, by, "revoked", note, {})

    def _review(self, ref: str, by: str, action: str, note: str, wanted: dict[str, Any]) -> DelegationView:
        by = _clean_author(by)
        now = self._now()
        with self._store.transaction() as s:
            d = self._load(s, ref)
            owner = s.scalars(select(Person).where(Person.handle == d.owner)).first()
            by_l = by.lstrip("@").lower()
            if by_l not in {d.owner.lower(), *( [owner.name.lower()] if owner else [] )}:
                owner_name = owner.name if owner else d.owner
                raise ValidationError(f"Only the delegation's owner, {owner_name} (@{d.owner}), can {_VERB[action]} "
                                      f"{_who(s, d.holder)}'s authority to {self.label(d.authority)}; {by} is not its owner.",
                                      field="by")  # fmt: skip
            if d.revoked_at is not None:
                raise ValidationError(f"{_who(s, d.holder)}'s authority to {self.label(d.authority)} was revoked "
                                      f"on {d.revoked_at:%Y-%m-%d}; add a new delegation instead.")  # fmt: skip
            changes: dict[str, Any] = {}
            for key, value in wanted.items():
                if key in ("holder", "owner"):
                    value = _person(s, value, key).handle
                elif key == "deputies":
                    value = _deputies(s, value, wanted.get("holder", d.holder))
                elif key == "expires_on":
                    if value is not None and value < now.date():
                        raise ValidationError(f"The expiry {value} is in the past.", field="expires_on")
                    value = value.isoformat() if value else None
                if getattr(d, key) != value:
                    changes[key] = {"from": getattr(d, key), "to": value}
                    setattr(d, key, value)
            if action == "changed" and not changes:
                raise ValidationError("Nothing changed.")
            if action == "revoked":
                d.revoked_at, d.revoked_by = now, by
            else:
                d.review_due_on = add_months(now.date(), self.settings.review_every_months).isoformat()
            d.last_reviewed_at, d.last_reviewed_by, d.updated_at = now, by, now
            s.add(DelegationReview(delegation_id=d.id, action=action, by=by, at=now, note=(note or "").strip(),
                                   changes=changes))  # fmt: skip
            s.flush()
            view = self._view(s, d)
        self._publish(Topic.DELEGATIONS, None, None)
        return view

    # -- helpers -------------------------------------------------------------------------
    def _load(self, s: Session, ref: str) -> Delegation:
        ref = (ref or "").strip()
        if len(ref) < 4:
            raise NotFound(f"No delegation '{ref}'. Give at least the first 4 characters of its id (`sitrep delegations` lists them).")
        rows = list(s.scalars(select(Delegation).where(Delegation.id.startswith(ref))).all())
        if not rows:
            if ref.startswith(CONFIG_SOURCE):
                raise ValidationError(f"'{ref}' comes from {CONFIG_SOURCE}'s [approval] approvers: add it to the register "
                                      "(`sitrep delegations add approve_external HOLDER --owner OWNER`) and remove it from that file to review it here.")  # fmt: skip
            raise NotFound(f"No delegation '{ref}'. `sitrep delegations` lists them with their ids.")
        if len(rows) > 1:
            raise ValidationError(f"'{ref}' is the start of {len(rows)} delegations' ids; give more of it.")
        return rows[0]

    def _state(self, d: Delegation) -> str:
        today = self.today()
        if d.revoked_at is not None:
            return "revoked"
        if d.expires_on and date.fromisoformat(d.expires_on) < today:
            return "expired"
        due = date.fromisoformat(d.review_due_on)
        if due < today:
            return "review overdue"
        if due <= today + timedelta(days=self.settings.due_soon_days):
            return "review due soon"
        return "active"

    def _view(self, s: Session, d: Delegation) -> DelegationView:
        return DelegationView(d.id, d.authority, self.label(d.authority), d.holder, _who(s, d.holder),
                              tuple(d.deputies or ()), d.owner, _who(s, d.owner), d.scope or "",
                              date.fromisoformat(d.expires_on) if d.expires_on else None,
                              date.fromisoformat(d.review_due_on), d.last_reviewed_at, d.last_reviewed_by,
                              d.revoked_at, "register", self._state(d))  # fmt: skip

    def _configured_views(self, s: Session) -> list[DelegationView]:
        aid = self.settings.approves_messages
        return [DelegationView(f"{CONFIG_SOURCE}:{name}", aid, self.label(aid), name, _who(s, name), (),
                               CONFIG_SOURCE, f"{CONFIG_SOURCE} [approval] approvers", "", None, None, None, None,
                               None, CONFIG_SOURCE, "active")
                for name in self._configured()]  # fmt: skip


def _who(s: Session, handle: str) -> str:
    person = s.scalars(select(Person).where(Person.handle == handle)).first()
    return person.name if person is not None else handle


def _person(s: Session, ref: str, field_name: str) -> Person:
    text = (ref or "").strip().lstrip("@")
    if not text:
        raise ValidationError(f"Say who the {field_name} is (a directory handle).", field=field_name)
    person = s.scalars(select(Person).where(func.lower(Person.handle) == text.lower())).first() or \
        s.scalars(select(Person).where(func.lower(Person.name) == text.lower())).first()  # fmt: skip
    if person is None:
        raise ValidationError(f"Nobody called '{text}' is in the responder directory, so they cannot be the "
                              f"{field_name}. Add them first (People… in the console, `sitrep people add`).",
                              field=field_name)  # fmt: skip
    return person


def _deputies(s: Session, refs: Iterable[str], holder: str) -> list[str]:
    out: list[str] = []
    for ref in refs or ():
        if not str(ref).strip():
            continue
        handle = _person(s, str(ref), "deputy").handle
        if handle == holder:
            raise ValidationError("The holder cannot also be their own deputy.", field="deputies")
        if handle not in out:
            out.append(handle)
    return out
