"""The shared core of the communications services: the store, the clock, the change bus, the sync
service, the templates and rules read on first use, and the lookups every concern needs. Each
concern is a module of its own over this core; services/comms/service.py puts them together.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from sqlalchemy import select

from models.entities import (
    CommsMessage,
    Incident,
    Person,
    RegulatoryClock,
    RoleAssignment,
)
from models.enums import ClockState, EntryKind, MessageState
from models.types import utcnow
from services.adapters.channel import CommsChannel
from services.adapters.discovery import discover_adapters
from services.comms.regulatory import RegulatoryRules
from services.comms.settings import CommsSettings
from services.comms.templates import (
    TemplateLibrary,
)
from services.comms.views import MessageView, RegClockView
from services.errors import NotFound, ValidationError
from services.record.catalog import Catalog
from services.record.incidents import IncidentService
from services.record.timeline import append_entry
from services.record.views import IncidentView

_M = CommsMessage.__table__


log = logging.getLogger(__name__)


def acting_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError("Say who is acting (author).", field="author")
    return name[:120]


class CommsCore:
    """Shared state and lookups; every concern class derives from it."""

    def __init__(
        self,
        store,
        catalog: Catalog,
        now: Callable[[], datetime] = utcnow,
        publish: Callable[..., None] = lambda *a: None,
        config_dir: Path | None = None,
        sync=None,
    ) -> None:
        self._store = store
        self._catalog = catalog
        self._now = now
        self._publish = publish
        self._config_dir = config_dir
        self._sync = sync
        # The register of delegations of authority (services/governance/delegations.py), set by Sitrep;
        # None (a CommsService alone) leaves the configured approvers and the commander as the rule.
        self.delegations = None
        self.reload()

    def channels(self) -> dict[str, type[CommsChannel]]:
        """The installed channels (channel adapters), in the order a chooser shows them."""
        if self._channels is None:
            self._channels = (
                self._sync.channels() if self._sync is not None else discover_adapters().channels()
            )
        return self._channels

    def channel_label(self, name: str) -> str:
        cls = self.channels().get(name)
        return cls.channel_label if cls is not None else name

    def reload(self) -> None:
        """Read templates, settings and rules again (after the user edits their files)."""
        self._channels: dict[str, type[CommsChannel]] | None = None
        self._templates: TemplateLibrary | None = None
        self.settings = CommsSettings.load(self._config_dir)
        self._rules: RegulatoryRules | None = None

    @property
    def rules(self) -> RegulatoryRules:
        """Read on first use: a mistake in the user's regulatory.toml or escalation.toml is said (a
        ValidationError naming the file) where the rules are needed, and does not stop the store,
        the timeline or any other command from opening."""
        if self._rules is None:
            self._rules = RegulatoryRules(self._config_dir)
        return self._rules

    @property
    def templates(self) -> TemplateLibrary:
        """Read and compiled on first use. Compiling every template costs ~0.3 s of CPU (1 s on a
        loaded VM), which opening the store — every CLI command, the console's start — need not pay."""
        if self._templates is None:
            self._templates = TemplateLibrary(self._config_dir, self.channels())
        return self._templates

    def _incident(self, s, ref: str) -> Incident:
        return IncidentService._load(s, ref)

    def _holder(self, s, incident_id: str, role: str) -> Person | None:
        return s.execute(
            select(Person).join(RoleAssignment, RoleAssignment.person_id == Person.id).where(
                RoleAssignment.incident_id == incident_id, RoleAssignment.role == role, RoleAssignment.ended_at.is_(None))
        ).scalars().first()  # fmt: skip

    def _view(self, m: CommsMessage, key: str) -> MessageView:
        aud = self.settings.audiences.get(m.audience)
        values = {
            c.name: getattr(m, c.name) for c in _M.columns if c.name in MessageView.__dataclass_fields__
        }
        rendered = dict(m.rendered or {})
        subject = next(
            (cls.subject_of(rendered[ch]) for ch, cls in self.channels().items() if rendered.get(ch)), ""
        )
        values.update(incident_key=key, channels=tuple(m.channels or ()), state=MessageState(m.state), subject=subject,
                      needs_approval=bool(aud and aud.approval), external=bool(aud and aud.external),
                      fields=dict(m.fields or {}), recipients=dict(m.recipients or {}), rendered=dict(m.rendered or {}))  # fmt: skip
        return MessageView(**values)

    def _load_message(self, s, ref: str) -> tuple[CommsMessage, Incident]:
        ref = (ref or "").strip()
        for sep in ("/", "#"):
            if sep in ref:
                inc_ref, _, num = ref.rpartition(sep)
                if num.isdigit():
                    inc = self._incident(s, inc_ref)
                    m = (
                        s.execute(
                            select(CommsMessage).where(
                                CommsMessage.incident_id == inc.id, CommsMessage.number == int(num)
                            )
                        )
                        .scalars()
                        .first()
                    )
                    if m is None:
                        raise NotFound(
                            f"{inc.key} has no message {num}. `sitrep comms list {inc.key}` shows its messages."
                        )
                    return m, inc
        m = s.get(CommsMessage, ref)
        if m is None:
            raise NotFound(f"No message '{ref}'. Name it as INC-0042/3 (incident and message number).")
        return m, s.get(Incident, m.incident_id)

    def _incident_view(self, ref: str) -> IncidentView:
        with self._store.read() as s:
            return IncidentView.of(self._incident(s, ref))

    def _note(self, s, incident_id: str, body: str, author: str, now: datetime, m: CommsMessage) -> None:
        append_entry(s, incident_id, EntryKind.SYSTEM, body, author=author, now=now,
                     data={"sync": False, "comms_message": m.id, "message_number": m.number, "message_state": m.state},
                     hooks=self._store.entry_hooks)  # fmt: skip

    def _clock_views(self, s, incident_id: str) -> list[RegClockView]:
        rows = s.execute(select(RegulatoryClock).where(RegulatoryClock.incident_id == incident_id)
                         .order_by(RegulatoryClock.created_at, RegulatoryClock.rule_id)).scalars()  # fmt: skip
        return [RegClockView(r.id, r.incident_id, r.rule_id, r.label, dict(r.rule or {}), ClockState(r.state), r.trigger_at,
                             r.deadline_at, r.started_by, r.met_at, r.closed_by, r.note or "") for r in rows]  # fmt: skip
