"""The stakeholder registry: the people and lists who must hear about incidents, and how to reach them.
Nobody is deleted (the log names them); someone who should no longer hear is deactivated.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select

from models.entities import (
    Stakeholder,
)
from services.changes import Topic
from services.comms.core import CommsCore
from services.comms.settings import STAKEHOLDER_GROUPS, zone_named
from services.comms.views import StakeholderView
from services.errors import NotFound, ValidationError
from services.record.views import IncidentView

_STAKEHOLDER_LIMITS = {"handle": 80, "name": 200, "group": 40, "email": 254, "phone": 40, "slack": 120,
                       "timezone": 64}  # fmt: skip


class StakeholderRegistry(CommsCore):
    def add_stakeholder(self, handle: str, name: str, group: str, **kw: Any) -> StakeholderView:
        handle = (handle or "").strip().lstrip("@")
        if not handle:
            raise ValidationError("Give the stakeholder a handle (e.g. legal-oncall).", field="handle")
        if len(handle) > _STAKEHOLDER_LIMITS["handle"] or any(ch.isspace() for ch in handle):
            raise ValidationError(
                f"A handle is one word of at most {_STAKEHOLDER_LIMITS['handle']} characters "
                "(letters, digits, '.', '_' or '-'), e.g. legal-oncall.",
                field="handle",
            )
        values = self._stakeholder_values({"name": name, "group": group, **kw})
        with self._store.transaction() as s:
            if s.execute(select(Stakeholder).where(Stakeholder.handle == handle)).scalars().first():
                raise ValidationError(f"There is already a stakeholder @{handle}.", field="handle")
            st = Stakeholder(handle=handle, **{"kind": "person", "timezone": "UTC", "severities": [], "incident_types": [],
                                               "notes": "", "active": True, **values})  # fmt: skip
            s.add(st)
            s.flush()
            view = StakeholderView.of(st)
        self._publish(Topic.STAKEHOLDERS, None, None)
        return view

    def update_stakeholder(self, handle: str, **kw: Any) -> StakeholderView:
        values = self._stakeholder_values({k: v for k, v in kw.items() if v is not None})
        with self._store.transaction() as s:
            st = (
                s.execute(select(Stakeholder).where(Stakeholder.handle == handle.lstrip("@")))
                .scalars()
                .first()
            )
            if st is None:
                raise NotFound(f"No stakeholder @{handle}.")
            for k, v in values.items():
                setattr(st, k, v)
            view = StakeholderView.of(st)
        self._publish(Topic.STAKEHOLDERS, None, None)
        return view

    def _stakeholder_values(self, kw: dict[str, Any]) -> dict[str, Any]:
        allowed = {
            "name",
            "kind",
            "group",
            "email",
            "phone",
            "slack",
            "timezone",
            "severities",
            "incident_types",
            "notes",
            "active",
        }
        unknown = set(kw) - allowed
        if unknown:
            raise ValidationError(f"Stakeholders have no '{sorted(unknown)[0]}'.")
        out = dict(kw)
        if "name" in out:
            out["name"] = str(out["name"] or "").strip()
            if not out["name"]:
                raise ValidationError("Give the stakeholder's name (a person or a list).", field="name")
        for key in ("email", "phone", "slack"):
            if key in out:
                # An emptied field means "no such contact point", not an empty address.
                out[key] = str(out[key] or "").strip() or None
        for key, limit in _STAKEHOLDER_LIMITS.items():
            value = out.get(key)
            if isinstance(value, str) and len(value) > limit:
                raise ValidationError(f"That is longer than {limit} characters.", field=key)
        if "kind" in out and out["kind"] not in ("person", "group"):
            raise ValidationError("A stakeholder is a person or a group.", field="kind")
        if "group" in out:
            out["group"] = str(out["group"]).strip().lower().replace(" ", "_")
            if not out["group"]:
                raise ValidationError(
                    f"Give the stakeholder's group (e.g. {', '.join(STAKEHOLDER_GROUPS[:5])}).", field="group"
                )
        if "timezone" in out:
            out["timezone"] = str(out["timezone"] or "").strip()
            zone_named(out["timezone"])
        if out.get("email") and "@" not in out["email"]:
            raise ValidationError(f"'{out['email']}' is not an e-mail address.", field="email")
        if "severities" in out:
            out["severities"] = [self._catalog.severity(sv).id for sv in out["severities"]]
        if "incident_types" in out:
            out["incident_types"] = [t.strip() for t in out["incident_types"] if t.strip()]
        return out

    def stakeholders(self, *, include_inactive: bool = False) -> list[StakeholderView]:
        with self._store.read() as s:
            stmt = select(Stakeholder).order_by(Stakeholder.group, Stakeholder.name)
            if not include_inactive:
                stmt = stmt.where(Stakeholder.active.is_(True))
            return [StakeholderView.of(x) for x in s.execute(stmt).scalars()]

    def must_hear(self, incident: IncidentView, *, extra_groups: Iterable[str] = ()) -> list[StakeholderView]:
        """Stakeholders who must hear about this incident: by its severity, its type, or its escalation path."""
        extra = set(extra_groups)
        return [
            sv for sv in self.stakeholders()
            if incident.severity in sv.severities or incident.incident_type in sv.incident_types or sv.group in extra
        ]  # fmt: skip
