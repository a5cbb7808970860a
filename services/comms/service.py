"""CommsService: draft from a template, get approval, send through the sync outbox, keep the stakeholder log.

The approval rule lives here and only here, so the GUI and the CLI cannot go round it: a message for an
audience that needs approval is sent only when it is approved, by the incident commander of the moment
or a configured approver, and only with the exact content that was approved.

Sending does not talk to any network. It appends a COMMS timeline entry that carries every channel's
exact payload, shaped by each channel adapter (services/adapters/channel.py); the channel adapters
plan their outbox items from that entry inside the same transaction, and the sync worker delivers them
when the channel answers, once. The stakeholder log gets one hash-chained line per channel in the same
transaction too.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from markupsafe import escape
from sqlalchemy import func, select

from models.entities import (
    CommsLogEntry,
    CommsMessage,
    Incident,
    OutboxItem,
    Person,
    RegulatoryClock,
    RoleAssignment,
    Stakeholder,
    TimelineEntry,
)
from models.enums import ClockState, EntryKind, MessageState, Milestone, Status
from models.types import as_utc, iso, utcnow
from resources import resource_path
from services.adapters.channel import CommsChannel
from services.adapters.discovery import discover_adapters
from services.catalog import Catalog
from services.comms.by_hand import record_sent_by_hand
from services.comms.log import LOG_COLUMNS, LogRow, append_log_entry, first_break
from services.comms.regulatory import RegulatoryRules
from services.comms.templates import (
    CommsTemplate,
    Problem,
    TemplateLibrary,
    content_hash,
    missing_fields,
)
from services.errors import NotFound, ValidationError
from services.incidents import IncidentService
from services.timeline import append_entry
from services.timetext import utc_text
from services.views import EntryRow, IncidentView

log = logging.getLogger(__name__)

_M = CommsMessage.__table__
_L = CommsLogEntry.__table__
_O = OutboxItem.__table__
_T = TimelineEntry.__table__

COMMANDER_ROLE = "IC"
COMMS_ROLE = "COMMS"

# Which stakeholder groups a draft for each audience is addressed to by default.
AUDIENCE_GROUPS: dict[str, frozenset[str]] = {
    "executives": frozenset({"executives"}),
    "stakeholders": frozenset({"executives", "legal", "compliance", "pr", "customer_success", "security", "support"}),
    "customers": frozenset({"customer"}),
    "regulators": frozenset({"regulator"}),
    "vendors": frozenset({"vendor"}),
}  # fmt: skip
STAKEHOLDER_GROUPS = (
    "executives", "legal", "compliance", "pr", "customer_success", "security", "support", "customer",
    "regulator", "vendor",
)  # fmt: skip


# -- settings ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Audience:
    id: str
    label: str
    external: bool
    approval: bool
    timezone: str = "UTC"


@dataclass(frozen=True)
class CommsSettings:
    organisation: str
    status_page_url: str
    approvers: tuple[str, ...]
    audiences: dict[str, Audience]

    def audience(self, audience_id: str) -> Audience:
        try:
            return self.audiences[audience_id]
        except KeyError:
            known = ", ".join(self.audiences)
            raise ValidationError(
                f"Unknown audience '{audience_id}'. Choose one of {known}.", field="audience"
            ) from None

    @classmethod
    def load(cls, config_dir: Path | None) -> CommsSettings:
        doc = tomllib.loads(resource_path("comms.toml").read_text(encoding="utf-8"))
        if config_dir is not None and (Path(config_dir) / "comms.toml").is_file():
            path = Path(config_dir) / "comms.toml"
            try:
                user = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
                raise ValidationError(f"{path} cannot be read: {exc}") from None
            for key, value in user.items():
                if isinstance(value, dict) and isinstance(doc.get(key), dict):
                    for k, v in value.items():
                        if isinstance(v, dict) and isinstance(doc[key].get(k), dict):
                            doc[key][k] = {**doc[key][k], **v}
                        else:
                            doc[key][k] = v
                else:
                    doc[key] = value
        audiences = {}
        for aid, raw in (doc.get("audience") or {}).items():
            tz = str(raw.get("timezone", "UTC"))
            _zone(tz)
            audiences[aid] = Audience(aid, str(raw.get("label", aid)), bool(raw.get("external", False)),
                                      bool(raw.get("approval", False)), tz)  # fmt: skip
        org = doc.get("organisation") or {}
        return cls(
            str(org.get("name", "")),
            str(org.get("status_page_url", "")),
            tuple(str(a) for a in (doc.get("approval") or {}).get("approvers", [])),
            audiences,
        )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"Unknown time zone '{name}'. Use an IANA name such as Europe/Berlin or UTC.", field="timezone"
        ) from None


def format_time(value: datetime | None, tz_name: str) -> str:
    """A time as the audience reads it: local time and zone, the UTC time beside it, and the date."""
    if value is None:
        return ""
    tz = _zone(tz_name)
    local = as_utc(value).astimezone(tz)
    text = f"{local:%H:%M} {local.tzname()}"
    if tz_name not in ("UTC", "Etc/UTC"):
        text += f" ({as_utc(value):%H:%M} UTC)"
    return f"{text}, {local:%d %b %Y}"


def format_duration(delta: timedelta) -> str:
    minutes = max(int(delta.total_seconds() // 60), 0)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


# -- views ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Delivery:
    """One channel's delivery of a sent message (from the sync outbox)."""

    channel: str
    state: str  # queued | sending | sent | failed | cancelled | not queued | sent by hand (how)
    item_id: int | None
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None
    updated_at: datetime | None
    channel_label: str = ""

    @property
    def label(self) -> str:
        return self.channel_label or self.channel


@dataclass(frozen=True)
class MessageView:
    id: str
    incident_id: str
    incident_key: str
    number: int
    template_id: str
    template_name: str
    audience: str
    channels: tuple[str, ...]
    fields: dict[str, str]
    recipients: dict[str, Any]
    timezone: str
    rendered: dict[str, Any]
    content_hash: str
    state: MessageState
    author: str
    created_at: datetime
    updated_at: datetime
    submitted_by: str | None
    submitted_at: datetime | None
    approver: str | None
    approved_at: datetime | None
    approved_hash: str | None
    rejected_by: str | None
    rejected_at: datetime | None
    rejection_comment: str | None
    sent_by: str | None
    sent_at: datetime | None
    sent_entry_id: str | None
    needs_approval: bool = False
    external: bool = False
    subject: str = ""  # the headline of its first channel's rendering

    @property
    def ref(self) -> str:
        return f"{self.incident_key}/{self.number}"


@dataclass(frozen=True)
class Preview:
    rendered: dict[str, Any]
    problems: list[Problem]
    missing: list[str]
    content_hash: str

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.level == "error"]


@dataclass(frozen=True)
class StakeholderView:
    id: str
    handle: str
    name: str
    kind: str
    group: str
    email: str | None
    phone: str | None
    slack: str | None
    timezone: str
    severities: tuple[str, ...]
    incident_types: tuple[str, ...]
    notes: str
    active: bool

    @classmethod
    def of(cls, s: Stakeholder) -> StakeholderView:
        return cls(s.id, s.handle, s.name, s.kind, s.group, s.email, s.phone, s.slack, s.timezone,
                   tuple(s.severities or ()), tuple(s.incident_types or ()), s.notes or "", s.active)  # fmt: skip


@dataclass(frozen=True)
class RegClockView:
    id: str
    incident_id: str
    rule_id: str
    label: str
    rule: dict[str, Any]
    state: ClockState
    trigger_at: datetime | None
    deadline_at: datetime | None
    started_by: str
    met_at: datetime | None
    closed_by: str | None
    note: str

    def remaining(self, now: datetime) -> timedelta | None:
        if self.deadline_at is None:
            return None
        return self.deadline_at - now

    def status_text(self, now: datetime) -> str:
        if self.state is ClockState.AWAITING:
            return f"waiting for: {self.rule.get('trigger_label', self.rule.get('trigger', 'its trigger'))}"
        if self.state is ClockState.MET:
            late = self.met_at and self.deadline_at and self.met_at > self.deadline_at
            return "met late" if late else "met"
        if self.state is ClockState.WITHDRAWN:
            return "withdrawn"
        left = self.remaining(now)
        if left is None:
            return "running"
        if left.total_seconds() < 0:
            return f"OVERDUE by {format_duration(-left)}"
        return f"{format_duration(left)} left"


@dataclass
class ContactInput:
    channel: str
    audience: str
    content: str
    recipients: list[str] = field(default_factory=list)
    direction: str = "outbound"
    subject: str = ""
    occurred_at: datetime | None = None


LOG_CHANNELS = ("phone", "email", "slack", "statuspage", "meeting", "letter", "portal", "sms", "other")


# -- the service ------------------------------------------------------------------------------------
class CommsService:
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
        self.reload()
        store.entry_hooks.append(self.guard_entry)

    def channels(self) -> dict[str, type[CommsChannel]]:
        """The installed channels (channel adapters), in the order a chooser shows them."""
        if self._channels is None:
            self._channels = self._sync.channels() if self._sync is not None else discover_adapters().channels()
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

    # -- the guard ----------------------------------------------------------------------------
    def guard_entry(self, db, entry: EntryRow) -> None:
        """An entry hook: a timeline entry that would make the channels send a message must be the one
        `send` writes for a message it has just released. Anything else (an entry typed with such data
        through another path) is refused, and its transaction with it."""
        data = entry.data or {}
        # A channel payload is carried only by a released message: under "comms", or (as entries written
        # before channels owned their payloads had it) an object under a channel's own name.
        if "comms" not in data and not any(isinstance(data.get(ch), dict) for ch in self.channels()):
            return
        comms = data.get("comms") or {}
        mid = comms.get("message_id") if isinstance(comms, dict) else None
        row = None
        if mid and entry.kind == EntryKind.COMMS.value:
            row = db.execute(
                select(_M.c.state, _M.c.sent_entry_id, _M.c.incident_id).where(_M.c.id == mid)
            ).first()
        if (
            row is None
            or row.state != MessageState.SENT.value
            or row.sent_entry_id is not None
            or row.incident_id != entry.incident_id
        ):
            raise ValidationError(
                "Messages go out only through the communications panel or `sitrep comms send`, after any "
                "approval they need; this entry was not written."
            )

    # -- helpers -------------------------------------------------------------------------------
    def _incident(self, s, ref: str) -> Incident:
        return IncidentService._load(s, ref)

    def _holder(self, s, incident_id: str, role: str) -> Person | None:
        return s.execute(
            select(Person).join(RoleAssignment, RoleAssignment.person_id == Person.id).where(
                RoleAssignment.incident_id == incident_id, RoleAssignment.role == role, RoleAssignment.ended_at.is_(None))
        ).scalars().first()  # fmt: skip

    def may_approve(self, incident_ref: str, who: str) -> tuple[bool, str]:
        """(allowed, why not) for `who` approving a message on this incident."""
        with self._store.read() as s:
            inc = self._incident(s, incident_ref)
            return self._may_approve(s, inc.id, who)

    def _may_approve(self, s, incident_id: str, who: str) -> tuple[bool, str]:
        who_l = (who or "").strip().lower()
        if not who_l:
            return False, "Say who is approving."
        approvers = {a.lower() for a in self.settings.approvers}
        if who_l in approvers:
            return True, ""
        person = s.execute(select(Person).where(func.lower(Person.handle) == who_l)).scalars().first()
        if person is not None and (person.handle.lower() in approvers or person.name.lower() in approvers):
            return True, ""
        ic = self._holder(s, incident_id, COMMANDER_ROLE)
        if ic is not None and who_l in (ic.handle.lower(), ic.name.lower()):
            return True, ""
        holder = (
            f"the incident commander ({ic.name}, @{ic.handle})"
            if ic
            else "the incident commander (nobody holds the role now)"
        )
        extra = (
            f" or a configured approver ({', '.join(self.settings.approvers)})"
            if self.settings.approvers
            else ""
        )
        return False, f"Only {holder}{extra} can approve messages for this audience; '{who}' cannot."

    def _view(self, m: CommsMessage, key: str) -> MessageView:
        aud = self.settings.audiences.get(m.audience)
        values = {
            c.name: getattr(m, c.name) for c in _M.columns if c.name in MessageView.__dataclass_fields__
        }
        rendered = dict(m.rendered or {})
        subject = next((cls.subject_of(rendered[ch]) for ch, cls in self.channels().items() if rendered.get(ch)), "")
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

    # -- prefill and preview -------------------------------------------------------------------------
    def prefill(self, incident_ref: str, template_id: str, *, timezone: str | None = None) -> dict[str, str]:
        """Field values from the incident, times in the audience's zone; the template's own defaults."""
        tpl = self.templates.get(template_id)
        default_tz = (
            self.settings.audiences[tpl.audience].timezone
            if tpl.audience in self.settings.audiences
            else "UTC"
        )
        tz = timezone or default_tz
        with self._store.read() as s:
            inc = self._incident(s, incident_ref)
            view = IncidentView.of(inc)
            ic = self._holder(s, inc.id, COMMANDER_ROLE)
            cl = self._holder(s, inc.id, COMMS_ROLE)
            clocks = self._clock_views(s, inc.id)
        return self._prefill_values(view, tpl, tz or "UTC", ic, cl, clocks)

    def _prefill_values(
        self, inc: IncidentView, tpl: CommsTemplate, tz: str, ic, cl, clocks
    ) -> dict[str, str]:
        now = self._now()
        level = self._catalog.severities.get(inc.severity)
        started = inc.milestones.get(_ms("impact_started")) or inc.milestones.get(_ms("declared"))
        ended = inc.milestones.get(_ms("resolved")) or now
        next_update = ""
        if level is not None and level.external_update_every_min:
            minutes = level.external_update_every_min
            declared = inc.milestones.get(_ms("declared"))
            if (declared and level.long_incident_after_min and level.long_incident_update_every_min
                    and now - declared >= timedelta(minutes=level.long_incident_after_min)):  # fmt: skip
                minutes = level.long_incident_update_every_min
            if inc.is_open:
                next_update = format_time(now + timedelta(minutes=minutes), tz)
        impact = []
        if inc.affected_users is not None:
            impact.append(f"about {inc.affected_users:,} users affected")
        if inc.error_rate_pct is not None:
            impact.append(f"error rate {inc.error_rate_pct:g}%")
        values = {
            "incident_key": inc.key, "title": inc.title, "summary": inc.summary, "severity": inc.severity,
            "severity_label": level.label if level else inc.severity, "status": inc.status.value,
            "status_label": inc.status.label, "incident_type": inc.incident_type.replace("_", " "),
            "services": ", ".join(inc.services), "impact": "; ".join(impact) or "being assessed",
            "affected_users": "" if inc.affected_users is None else f"{inc.affected_users:,}",
            "error_rate": "" if inc.error_rate_pct is None else f"{inc.error_rate_pct:g}%",
            "started_at": format_time(inc.milestones.get(_ms("impact_started")), tz),
            "detected_at": format_time(inc.milestones.get(_ms("detected")), tz),
            "declared_at": format_time(inc.milestones.get(_ms("declared")), tz),
            "mitigated_at": format_time(inc.milestones.get(_ms("mitigated")), tz),
            "resolved_at": format_time(inc.milestones.get(_ms("resolved")), tz),
            "duration": format_duration(ended - started) if started else "",
            "now": format_time(now, tz), "next_update_at": next_update,
            "commander": f"{ic.name}" if ic else "", "comms_lead": f"{cl.name}" if cl else "",
            "organisation": self.settings.organisation, "status_page_url": self.settings.status_page_url,
            "timezone": tz,
            "regulatory_clocks": "\n".join(
                f"- {c.label}: due {format_time(c.deadline_at, tz)} ({c.status_text(now)})"
                for c in clocks if c.state is ClockState.RUNNING
            ),
        }  # fmt: skip
        for cls in self.channels().values():
            values.update(cls.prefill(inc.status.value))
        for f in tpl.fields:
            values.setdefault(f.name, f.default)
        return values

    def footer(self, incident_key: str, audience: str, severity: str = "", status: str = "") -> str:
        aud = self.settings.audiences.get(audience)
        if aud is not None and aud.external:
            return f"Reference {incident_key}"
        return " · ".join(x for x in (incident_key, severity, status, "sent with Sitrep") if x)

    def preview(self, template_id: str, fields: dict[str, str], channels: Iterable[str], recipients: dict[str, Any] | None = None,
                *, footer: str = "", exercise: bool = False) -> Preview:  # fmt: skip
        """Render and check without storing anything (the GUI calls this as the user types)."""
        tpl = self.templates.get(template_id)
        channels = list(channels)
        recipients = self.clean_recipients(recipients or {})
        missing = missing_fields(tpl, fields)
        # An empty required field reads as broken copy ("reports that . The problem"): the preview shows
        # where it goes instead. Only the preview: a message with a placeholder in it is never sent.
        shown = {**fields, **{name: f"[{tpl.label_of(name)}: to fill in]" for name in missing}}
        rendered = self.templates.render(tpl, shown, channels, footer=footer, exercise=exercise)
        problems = self.templates.check_limits(rendered, recipients)
        for name in missing:
            problems.insert(
                0, Problem(None, name, f"Fill in '{tpl.label_of(name)}' (required by this template).")
            )
        return Preview(rendered, problems, missing, content_hash(channels, recipients, rendered))

    def suggested_recipients(self, incident_ref: str, audience: str) -> dict[str, Any]:
        """The stakeholders in this audience who must hear about this incident, in each channel's
        recipient field that is filled from a stakeholder's contact (e-mail To: their addresses)."""
        groups = AUDIENCE_GROUPS.get(audience, frozenset())
        if not groups:
            return {}
        inc = self._incident_view(incident_ref)
        path = self.rules.path_for(inc.incident_type)
        hear = [sv for sv in self.must_hear(inc, extra_groups=path.groups if path else ()) if sv.group in groups]
        out: dict[str, Any] = {}
        for cls in self.channels().values():
            for f in cls.recipient_fields:
                if f.suggest_from:
                    found = [getattr(sv, f.suggest_from) for sv in hear if getattr(sv, f.suggest_from, None)]
                    out[f.key] = sorted(dict.fromkeys(found)) if f.addresses else (found[0] if found else "")
        return out

    def _check_channels(self, tpl: CommsTemplate, channels: Iterable[str] | None) -> list[str]:
        chosen = list(dict.fromkeys(channels)) if channels is not None else list(tpl.channels)
        if not chosen:
            raise ValidationError("Choose at least one channel.", field="channels")
        for ch in chosen:
            if ch not in self.channels():
                raise ValidationError(f"Unknown channel '{ch}'. Channels: {', '.join(self.channels())}.",
                                      field="channels")  # fmt: skip
            if ch not in tpl.channels:
                raise ValidationError(f"Template '{tpl.name}' is not written for {self.channel_label(ch)}; it "
                                      f"supports {', '.join(self.channel_label(c) for c in tpl.channels)}.",
                                      field="channels")  # fmt: skip
        return chosen

    def clean_recipients(self, recipients: dict[str, Any]) -> dict[str, Any]:
        """The installed channels' recipient fields from what a form or command gave; an unknown field is
        refused."""
        known = [f.key for cls in self.channels().values() for f in cls.recipient_fields]
        unknown = set(recipients) - set(known)
        if unknown:
            raise ValidationError(f"Unknown recipient field '{sorted(unknown)[0]}' ({', '.join(known)}).")
        out: dict[str, Any] = {}
        for cls in self.channels().values():
            out.update(cls.clean_recipients(recipients))
        return out

    def _incident_view(self, ref: str) -> IncidentView:
        with self._store.read() as s:
            return IncidentView.of(self._incident(s, ref))

    # -- drafting --------------------------------------------------------------------------------------
    def draft(
        self,
        incident_ref: str,
        template_id: str,
        *,
        author: str,
        audience: str | None = None,
        channels: Iterable[str] | None = None,
        fields: dict[str, str] | None = None,
        recipients: dict[str, Any] | None = None,
        timezone: str | None = None,
    ) -> MessageView:
        """A new draft: fields prefilled from the incident, overridden by `fields`."""
        author = _who(author)
        tpl = self.templates.get(template_id)
        audience = audience or tpl.audience
        aud = self.settings.audience(audience)
        tz = timezone or aud.timezone
        _zone(tz)
        channels = self._check_channels(tpl, channels)
        values = self.prefill(incident_ref, template_id, timezone=tz)
        unknown = [k for k in (fields or {}) if k not in values]
        if unknown:
            raise ValidationError(
                f"Template '{tpl.id}' has no field '{unknown[0]}'. Its fields: {', '.join(tpl.field_names())}.",
                field=unknown[0],
            )
        values.update({k: str(v) for k, v in (fields or {}).items()})
        if recipients is None:
            recipients = self.suggested_recipients(incident_ref, audience)
        recipients = self.clean_recipients(recipients)
        now = self._now()
        with self._store.transaction() as s:
            inc = self._incident(s, incident_ref)
            pv = self.preview(
                tpl.id,
                values,
                channels,
                recipients,
                footer=self.footer(inc.key, audience, inc.severity, Status(inc.status).label),
                exercise=inc.is_exercise,
            )
            number = (
                s.execute(select(func.max(_M.c.number)).where(_M.c.incident_id == inc.id)).scalar() or 0
            ) + 1
            m = CommsMessage(
                incident_id=inc.id, number=number, template_id=tpl.id, template_name=tpl.name, audience=audience,
                channels=channels, fields=values, recipients=recipients, timezone=tz, rendered=pv.rendered,
                content_hash=pv.content_hash, state=MessageState.DRAFT.value, author=author, created_at=now, updated_at=now,
            )  # fmt: skip
            s.add(m)
            s.flush()
            view = self._view(m, inc.key)
        self._publish("comms", view.incident_id, None)
        return view

    def edit(
        self,
        message_ref: str,
        *,
        author: str,
        fields: dict[str, str] | None = None,
        channels: Iterable[str] | None = None,
        recipients: dict[str, Any] | None = None,
        audience: str | None = None,
        timezone: str | None = None,
    ) -> MessageView:
        """Change a draft. An edit to a message waiting for or holding approval returns it to draft:
        an approval is for the content the approver saw."""
        author = _who(author)
        now = self._now()
        with self._store.transaction() as s:
            m, inc = self._load_message(s, message_ref)
            if m.state == MessageState.SENT.value:
                raise ValidationError(
                    f"Message {inc.key}/{m.number} was sent at {utc_text(m.sent_at)}; it cannot change. Draft a new one."
                )
            tpl = self.templates.get(m.template_id)
            values = dict(m.fields or {})
            if fields:
                unknown = [k for k in fields if k not in values and k not in tpl.field_names()]
                if unknown:
                    raise ValidationError(
                        f"Template '{tpl.id}' has no field '{unknown[0]}'.", field=unknown[0]
                    )
                values.update({k: str(v) for k, v in fields.items()})
            if audience is not None:
                self.settings.audience(audience)
                m.audience = audience
            if timezone is not None and timezone != m.timezone:
                _zone(timezone)
                m.timezone = timezone
            chans = self._check_channels(tpl, channels) if channels is not None else list(m.channels)
            recips = self.clean_recipients(recipients) if recipients is not None else dict(m.recipients or {})
            pv = self.preview(
                tpl.id,
                values,
                chans,
                recips,
                footer=self.footer(inc.key, m.audience, inc.severity, Status(inc.status).label),
                exercise=inc.is_exercise,
            )
            changed = pv.content_hash != m.content_hash or values != (m.fields or {}) or audience is not None
            m.fields, m.channels, m.recipients, m.rendered, m.content_hash = (
                values,
                chans,
                recips,
                pv.rendered,
                pv.content_hash,
            )
            if changed:
                m.updated_at = now
                if m.state in (
                    MessageState.PENDING_APPROVAL.value,
                    MessageState.APPROVED.value,
                    MessageState.REJECTED.value,
                ):
                    was = m.state
                    m.state = MessageState.DRAFT.value
                    m.approver = m.approved_at = m.approved_hash = None
                    if was == MessageState.APPROVED.value:
                        self._note(
                            s,
                            inc.id,
                            f"Message {m.number} ({m.template_name}) was edited by {author} after its approval; it needs approval again.",
                            author,
                            now,
                            m,
                        )
            view = self._view(m, inc.key)
        self._publish("comms", view.incident_id, None)
        return view

    def _ready(self, m: CommsMessage, inc: Incident) -> None:
        """Refuse, with the reasons, a message that could not go out as it stands."""
        tpl = self.templates.templates.get(m.template_id)
        problems: list[str] = []
        if tpl is not None:
            problems += [f"fill in '{tpl.label_of(n)}'" for n in missing_fields(tpl, m.fields or {})]
        problems += [
            p.message.rstrip(".")
            for p in self.templates.check_limits(m.rendered or {}, m.recipients or {})
            if p.level == "error"
        ]
        if problems:
            raise ValidationError(f"Message {inc.key}/{m.number} is not ready: " + "; ".join(problems) + ".")

    def submit(self, message_ref: str, *, author: str) -> MessageView:
        """Ask for approval."""
        author = _who(author)
        now = self._now()
        with self._store.transaction() as s:
            m, inc = self._load_message(s, message_ref)
            if m.state not in (MessageState.DRAFT.value, MessageState.REJECTED.value):
                raise ValidationError(
                    f"Message {inc.key}/{m.number} is {MessageState(m.state).label.lower()}; only a draft can be submitted for approval."
                )
            self._ready(m, inc)
            m.state, m.submitted_by, m.submitted_at, m.updated_at = (
                MessageState.PENDING_APPROVAL.value,
                author,
                now,
                now,
            )
            view = self._view(m, inc.key)
        self._publish("comms", view.incident_id, None)
        return view

    def approve(self, message_ref: str, *, approver: str) -> MessageView:
        approver = _who(approver)
        now = self._now()
        with self._store.transaction() as s:
            m, inc = self._load_message(s, message_ref)
            if m.state not in (MessageState.DRAFT.value, MessageState.PENDING_APPROVAL.value):
                raise ValidationError(
                    f"Message {inc.key}/{m.number} is {MessageState(m.state).label.lower()}; only a draft or a message waiting for approval can be approved."
                )
            ok, why = self._may_approve(s, inc.id, approver)
            if not ok:
                raise ValidationError(why)
            self._ready(m, inc)
            m.state, m.approver, m.approved_at, m.approved_hash, m.updated_at = (
                MessageState.APPROVED.value,
                approver,
                now,
                m.content_hash,
                now,
            )
            m.rejected_by = m.rejected_at = m.rejection_comment = None
            aud = self.settings.audience(m.audience)
            self._note(
                s,
                inc.id,
                f"Message {m.number} ({m.template_name}) for {aud.label} approved by {approver}.",
                approver,
                now,
                m,
            )
            view = self._view(m, inc.key)
        self._publish("comms", view.incident_id, None)
        self._publish("timeline", view.incident_id, None)
        return view

    def reject(self, message_ref: str, *, by: str, comment: str) -> MessageView:
        """Return the draft to its author with a comment."""
        by = _who(by)
        comment = (comment or "").strip()
        if not comment:
            raise ValidationError(
                "Say why the message is rejected, so the drafter can fix it.", field="comment"
            )
        now = self._now()
        with self._store.transaction() as s:
            m, inc = self._load_message(s, message_ref)
            if m.state not in (
                MessageState.PENDING_APPROVAL.value,
                MessageState.APPROVED.value,
                MessageState.DRAFT.value,
            ):
                raise ValidationError(
                    f"Message {inc.key}/{m.number} is {MessageState(m.state).label.lower()}; it cannot be rejected."
                )
            ok, why = self._may_approve(s, inc.id, by)
            if not ok:
                raise ValidationError(why.replace("approve", "reject"))
            m.state, m.rejected_by, m.rejected_at, m.rejection_comment, m.updated_at = (
                MessageState.REJECTED.value,
                by,
                now,
                comment,
                now,
            )
            m.approver = m.approved_at = m.approved_hash = None
            self._note(
                s, inc.id, f"Message {m.number} ({m.template_name}) rejected by {by}: {comment}", by, now, m
            )
            view = self._view(m, inc.key)
        self._publish("comms", view.incident_id, None)
        self._publish("timeline", view.incident_id, None)
        return view

    def _note(self, s, incident_id: str, body: str, author: str, now: datetime, m: CommsMessage) -> None:
        append_entry(s, incident_id, EntryKind.SYSTEM, body, author=author, now=now,
                     data={"sync": False, "comms_message": m.id, "message_number": m.number, "message_state": m.state},
                     hooks=self._store.entry_hooks)  # fmt: skip

    def unavailable_channels(self, channels: Iterable[str]) -> dict[str, str]:
        """channel -> why it cannot take a message now (not installed, not enabled, not configured), as the
        sync service answers it."""
        out = {}
        for ch in channels:
            label = self.channel_label(ch)
            if self._sync is None:
                out[ch] = f"{label} is not available in this installation."
                continue
            ready = self._sync.readiness(ch)
            if ready.ready:
                continue
            if ready.state == "not_installed":
                out[ch] = f"{label} is not available in this installation."
            elif ready.state == "off":
                out[ch] = (f"{label} is not configured (backend '{ch}' is off): set it up first, e.g. "
                           f"`sitrep backend set {ch} --enable --set KEY=VALUE`.")  # fmt: skip
            else:
                out[ch] = f"{label} is not configured: {ready.detail}"
        return out

    def check_sendable(self, s, m: CommsMessage, inc: Incident) -> None:
        """Refuse a message that may not go out (however it goes): sent already, rejected, or for an
        audience that needs an approval it does not have for this very content."""
        ref = f"{inc.key}/{m.number}"
        aud = self.settings.audience(m.audience)
        if m.state == MessageState.SENT.value:
            raise ValidationError(f"Message {ref} was already sent at {utc_text(m.sent_at)}.")
        if m.state == MessageState.REJECTED.value:
            raise ValidationError(f"Message {ref} was rejected ({m.rejection_comment}); edit it first.")
        if aud.approval:
            if m.state != MessageState.APPROVED.value:
                raise ValidationError(
                    f"Message {ref} is for {aud.label}, which needs approval by the incident commander or a "
                    f"configured approver before it goes out; it is {MessageState(m.state).label.lower()}."
                )
            if m.approved_hash != m.content_hash:
                raise ValidationError(f"Message {ref} changed after it was approved; it needs approval again.")
            ok, _why = self._may_approve(s, inc.id, m.approver or "")
            if not ok and m.approver not in self.settings.approvers:
                # The commander changed since; the approval of the commander of the time stands.
                log.info("message %s approved by %s, who is no longer commander", ref, m.approver)
        self._ready(m, inc)

    def record_sent_by_hand(self, message_ref: str, *, author: str, how: str, occurred_at: datetime | None = None,
                            note: str = "") -> MessageView:  # fmt: skip
        """The message went out another way (read out on the phone, typed into a vendor's console while
        our backend was down): record it as sent, by whom, how and when, with nothing queued."""
        return record_sent_by_hand(self, message_ref, author=_who(author), how=how, occurred_at=occurred_at,
                                   note=note)  # fmt: skip

    def send(self, message_ref: str, *, author: str) -> MessageView:
        """Release a message to its channels: through the outbox, so offline it waits and goes once."""
        author = _who(author)
        now = self._now()
        with self._store.transaction() as s:
            m, inc = self._load_message(s, message_ref)
            ref = f"{inc.key}/{m.number}"
            aud = self.settings.audience(m.audience)
            self.check_sendable(s, m, inc)
            blocked = self.unavailable_channels(m.channels)
            if blocked:
                raise ValidationError(
                    f"Message {ref} cannot be sent: " + " ".join(blocked.values())
                    + " If it went out another way, record it as sent by hand "
                    f"(`sitrep comms sent-by-hand {ref} --how phone`)."
                )
            m.state, m.sent_by, m.sent_at, m.updated_at = MessageState.SENT.value, author, now, now
            s.flush()
            rendered = m.rendered or {}
            recips = m.recipients or {}
            payload: dict[str, Any] = {"message_id": m.id, "number": m.number, "template": m.template_id,
                                       "audience": m.audience, "channels": {}}  # fmt: skip
            data: dict[str, Any] = {"sync": list(m.channels), "comms": payload}
            for ch in m.channels:
                payload["channels"][ch] = self.templates.channel(ch).entry_payload(rendered[ch], recips, ref)
            labels = ", ".join(self.channel_label(c) for c in m.channels)
            subject = self._view(m, inc.key).subject
            body = f"Sent message {m.number} ({m.template_name}) to {aud.label} via {labels}: {subject}"
            entry = append_entry(
                s,
                inc.id,
                EntryKind.COMMS,
                body,
                author=author,
                now=now,
                data=data,
                hooks=self._store.entry_hooks,
            )
            m.sent_entry_id = entry.id
            for ch in m.channels:
                logged = self.templates.channel(ch).logged(rendered[ch], recips)
                append_log_entry(s, inc.id, now=now, kind="message", direction="outbound", channel=ch, audience=m.audience,
                                 recipients=logged.recipients, subject=logged.subject, content=logged.content,
                                 author=author, approver=m.approver, approved_at=m.approved_at, message_id=m.id,
                                 entry_id=entry.id, data={"message": ref, "template": m.template_id,
                                                          "drafted_by": m.author, **logged.extra})  # fmt: skip
            view = self._view(m, inc.key)
            seq = entry.seq
        self._publish("comms", view.incident_id, None)
        self._publish("timeline", view.incident_id, seq)
        return view

    # -- reading messages and deliveries -------------------------------------------------------------
    def get(self, message_ref: str) -> MessageView:
        with self._store.read() as s:
            m, inc = self._load_message(s, message_ref)
            return self._view(m, inc.key)

    def messages(self, incident_ref: str, *, states: Iterable[str] | None = None) -> list[MessageView]:
        with self._store.read() as s:
            inc = self._incident(s, incident_ref)
            stmt = select(CommsMessage).where(CommsMessage.incident_id == inc.id)
            if states:
                stmt = stmt.where(CommsMessage.state.in_(list(states)))
            return [self._view(m, inc.key) for m in s.execute(stmt.order_by(CommsMessage.number)).scalars()]

    def deliveries(self, message_ref: str) -> list[Delivery]:
        """Each channel's delivery of a sent message, as the sync outbox has it now."""
        with self._store.read() as s:
            m, _inc = self._load_message(s, message_ref)
            if m.sent_entry_id is None:
                return []
            items = {
                r.backend: r
                for r in s.execute(select(_O).where(_O.c.entry_id == m.sent_entry_id).order_by(_O.c.id))
            }
            channels = list(m.channels)
            sent_data = s.execute(select(_T.c.data).where(_T.c.id == m.sent_entry_id)).scalar() or {}
        by_hand = sent_data.get("sent_by_hand")
        if by_hand:
            return [Delivery(ch, f"sent by hand ({by_hand})", None, 0, None, None, None) for ch in channels]
        out = []
        for ch in channels:
            it = items.get(ch)
            if it is None:
                out.append(Delivery(ch, "not queued", None, 0, "Nothing was queued for this channel.", None, None,
                                    self.channel_label(ch)))  # fmt: skip
                continue
            state = {"pending": "queued", "in_flight": "sending"}.get(it.state, it.state)
            out.append(Delivery(ch, state, it.id, it.attempts, it.last_error, it.next_attempt_at, it.updated_at,
                                self.channel_label(ch)))  # fmt: skip
        return out

    def retry_delivery(self, item_id: int) -> None:
        if self._sync is None:
            raise ValidationError("Sync is not running in this process.")
        self._sync.retry(item_id)
        self._publish("comms", None, None)

    # -- the stakeholder log ------------------------------------------------------------------------
    def record_contact(self, incident_ref: str, contact: ContactInput, *, author: str) -> LogRow:
        """A contact made outside Sitrep ('phoned the regulator', 'the vendor e-mailed us')."""
        author = _who(author)
        content = (contact.content or "").strip()
        if not content:
            raise ValidationError("Say what was said or agreed.", field="content")
        if contact.direction not in ("outbound", "inbound"):
            raise ValidationError(
                "Direction is outbound (we contacted them) or inbound (they contacted us).", field="direction"
            )
        channel = (contact.channel or "").strip().lower()
        if not channel:
            raise ValidationError(
                f"Say how the contact happened ({', '.join(LOG_CHANNELS)}).", field="channel"
            )
        self.settings.audience(contact.audience)
        now = self._now()
        occurred = as_utc(contact.occurred_at) if contact.occurred_at else now
        if occurred > now:
            raise ValidationError("A contact cannot be dated in the future.", field="occurred_at")
        recipients = [r.strip() for r in contact.recipients if r.strip()]
        with self._store.transaction() as s:
            inc = self._incident(s, incident_ref)
            who = ", ".join(recipients) or self.settings.audience(contact.audience).label
            verb = "Contact with" if contact.direction == "outbound" else "Contact from"
            entry = append_entry(s, inc.id, EntryKind.NOTE, f"{verb} {who} by {channel}: {content}", author=author, now=now,
                                 occurred_at=occurred, data={"sync": False, "comms_contact": True, "channel": channel,
                                                             "audience": contact.audience},
                                 hooks=self._store.entry_hooks)  # fmt: skip
            row = append_log_entry(s, inc.id, now=now, kind="contact", direction=contact.direction, channel=channel,
                                   audience=contact.audience, recipients=recipients, subject=contact.subject.strip(),
                                   content=content, author=author, occurred_at=occurred, entry_id=entry.id)  # fmt: skip
        self._publish("comms", row.incident_id, None)
        self._publish("timeline", row.incident_id, entry.seq)
        return row

    def log(
        self,
        incident_ref: str | None = None,
        *,
        text: str | None = None,
        channel: str | None = None,
        audience: str | None = None,
        kind: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
    ) -> list[LogRow]:
        stmt = select(*LOG_COLUMNS)
        with self._store.read() as s:
            if incident_ref:
                stmt = stmt.where(_L.c.incident_id == self._incident(s, incident_ref).id)
            if channel:
                stmt = stmt.where(_L.c.channel == channel)
            if audience:
                stmt = stmt.where(_L.c.audience == audience)
            if kind:
                stmt = stmt.where(_L.c.kind == kind)
            if since:
                stmt = stmt.where(_L.c.occurred_at >= as_utc(since))
            if until:
                stmt = stmt.where(_L.c.occurred_at <= as_utc(until))
            if text:
                pat = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
                stmt = stmt.where(_L.c.content.ilike(pat, escape="\\") | _L.c.subject.ilike(pat, escape="\\")
                                  | _L.c.author.ilike(pat, escape="\\") | func.coalesce(_L.c.approver, "").ilike(pat, escape="\\"))  # fmt: skip
            rows = s.execute(stmt.order_by(_L.c.occurred_at, _L.c.seq)).all()
        return [LogRow(*r) for r in rows]

    def log_delivery(self, rows: Iterable[LogRow]) -> dict[str, str]:
        """log line id -> its channel's delivery state ('' for contacts)."""
        rows = [r for r in rows if r.entry_id and r.kind == "message"]
        if not rows:
            return {}
        with self._store.read_connection() as c:
            items = {(r.entry_id, r.backend): r for r in c.execute(
                select(_O.c.entry_id, _O.c.backend, _O.c.state, _O.c.updated_at, _O.c.last_error)
                .where(_O.c.entry_id.in_({r.entry_id for r in rows})))}  # fmt: skip
        out = {}
        for r in rows:
            it = items.get((r.entry_id, r.channel))
            if it is None:
                out[r.id] = "not queued"
            elif it.state == "sent":
                out[r.id] = f"delivered {utc_text(it.updated_at)}"
            elif it.state == "failed":
                out[r.id] = f"failed: {it.last_error or ''}".strip()
            else:
                out[r.id] = {"pending": "queued", "in_flight": "sending"}.get(it.state, it.state)
        return out

    def incident_keys(self, incident_ids: Iterable[str]) -> dict[str, str]:
        ids = set(incident_ids)
        if not ids:
            return {}
        with self._store.read_connection() as c:
            return dict(
                c.execute(
                    select(Incident.__table__.c.id, Incident.__table__.c.key).where(
                        Incident.__table__.c.id.in_(ids)
                    )
                ).all()
            )

    def export_log(self, rows: list[LogRow], fmt: str) -> str:
        """The log for an auditor: csv, json, or html (printable; the GUI and CLI turn it into PDF)."""
        keys = self.incident_keys(r.incident_id for r in rows)
        delivery = self.log_delivery(rows)
        records = [
            {"incident": keys.get(r.incident_id, r.incident_id), "seq": r.seq, "occurred_at": iso(r.occurred_at),
             "recorded_at": iso(r.recorded_at), "kind": r.kind, "direction": r.direction, "channel": r.channel,
             "audience": r.audience, "recipients": list(r.recipients or []), "subject": r.subject, "content": r.content,
             "author": r.author, "approver": r.approver or "", "approved_at": iso(r.approved_at) or "",
             "delivery": delivery.get(r.id, ""), "hash": r.hash}
            for r in rows
        ]  # fmt: skip
        if fmt == "json":
            doc = {"exported_at": iso(self._now()), "chain": self.verify_log_text(rows), "entries": records}
            return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
        if fmt == "csv":
            buf = io.StringIO()
            w = csv.DictWriter(
                buf, fieldnames=list(records[0]) if records else ["incident"], lineterminator="\n"
            )
            w.writeheader()
            for rec in records:
                w.writerow({**rec, "recipients": "; ".join(rec["recipients"])})
            return buf.getvalue()
        if fmt == "html":
            return self._log_html(records, self.verify_log_text(rows))
        raise ValidationError(f"Unknown export format '{fmt}'. Use csv, json or pdf.", field="format")

    def verify_log_text(self, rows: list[LogRow]) -> str:
        by_incident: dict[str, int] = {}
        for r in rows:
            by_incident[r.incident_id] = by_incident.get(r.incident_id, 0) + 1
        problems = self.verify_log(by_incident)
        return "verified: every chain holds" if not problems else "BROKEN: " + "; ".join(problems)

    def verify_log(self, incident_ids: Iterable[str] | None = None) -> list[str]:
        """Problems with the stakeholder log chains (all incidents, or these)."""
        out = []
        with self._store.read_connection() as c:
            ids = (
                list(incident_ids)
                if incident_ids is not None
                else list(c.execute(select(_L.c.incident_id).distinct()).scalars())
            )
            keys = dict(c.execute(select(Incident.__table__.c.id, Incident.__table__.c.key)).all())
            for iid in ids:
                rows = [
                    LogRow(*r)
                    for r in c.execute(select(*LOG_COLUMNS).where(_L.c.incident_id == iid).order_by(_L.c.seq))
                ]
                broken = first_break(rows)
                if broken:
                    out.append(f"{keys.get(iid, iid)} stakeholder log line #{broken[0].seq}: {broken[1]}")
        return out

    def _log_html(self, records: list[dict[str, Any]], chain: str) -> str:
        widths = {"Content": " width='34%'", "Recipients": " width='11%'", "Time (UTC)": " width='8%'"}
        head = "<tr>" + "".join(f"<th{widths.get(h, '')}>{h}</th>" for h in (
            "Time (UTC)", "Incident", "Kind", "Channel", "Audience", "Recipients", "Content", "Author", "Approved by",
            "Delivery")) + "</tr>"  # fmt: skip
        rows = []
        for r in records:
            content = str(escape(r["content"])).replace("\n", "<br>")
            subject = f"<b>{escape(r['subject'])}</b><br>" if r["subject"] else ""
            approver = (
                f"{escape(r['approver'])}<br><small>{escape(r['approved_at'])}</small>"
                if r["approver"]
                else "-"
            )
            rows.append(
                f"<tr><td>{escape(r['occurred_at'][:19].replace('T', ' '))}</td><td>{escape(r['incident'])} #{r['seq']}</td>"
                f"<td>{escape(r['kind'])} ({escape(r['direction'])})</td><td>{escape(r['channel'])}</td>"
                f"<td>{escape(r['audience'])}</td><td>{escape(', '.join(r['recipients']))}</td>"
                f"<td>{subject}{content}</td><td>{escape(r['author'])}</td><td>{approver}</td><td>{escape(r['delivery'])}</td></tr>"
            )  # fmt: skip
        return (
            "<html><head><meta charset='utf-8'><style>"
            "body{font-family:sans-serif;font-size:8pt} table{border-collapse:collapse}"
            "td,th{border:1px solid #999;padding:3px;vertical-align:top} th{background:#ddd}"
            "</style></head><body>"
            f"<h2>Stakeholder communications log</h2><p>Exported {escape(iso(self._now()) or '')} · "
            f"{len(records)} entries · hash chain {escape(chain)}</p>"
            f"<table width='100%' border='1' cellspacing='0' cellpadding='3'>{head}{''.join(rows)}</table></body></html>"
        )

    # -- stakeholders ----------------------------------------------------------------------------------
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
        self._publish("stakeholders", None, None)
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
        self._publish("stakeholders", None, None)
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
            _zone(out["timezone"])
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

    # -- escalation and regulatory clocks --------------------------------------------------------------
    def _clock_views(self, s, incident_id: str) -> list[RegClockView]:
        rows = s.execute(select(RegulatoryClock).where(RegulatoryClock.incident_id == incident_id)
                         .order_by(RegulatoryClock.created_at, RegulatoryClock.rule_id)).scalars()  # fmt: skip
        return [RegClockView(r.id, r.incident_id, r.rule_id, r.label, dict(r.rule or {}), ClockState(r.state), r.trigger_at,
                             r.deadline_at, r.started_by, r.met_at, r.closed_by, r.note or "") for r in rows]  # fmt: skip

    def regulatory_clocks(self, incident_ref: str) -> list[RegClockView]:
        with self._store.read() as s:
            inc = self._incident(s, incident_ref)
            views = self._clock_views(s, inc.id)
        order = {ClockState.RUNNING: 0, ClockState.AWAITING: 1, ClockState.MET: 2, ClockState.WITHDRAWN: 3}
        return sorted(
            views,
            key=lambda v: (
                order[v.state],
                v.deadline_at or datetime.max.replace(tzinfo=as_utc(self._now()).tzinfo),
            ),
        )

    def escalation(self, incident_ref: str) -> tuple[Any, list[StakeholderView], bool]:
        """(the escalation path for the incident's type or None, who it brings in, whether it was applied)."""
        inc = self._incident_view(incident_ref)
        path = self.rules.path_for(inc.incident_type)
        if path is None:
            return None, [], False
        people = [sv for sv in self.stakeholders() if sv.group in path.groups]
        with self._store.read_connection() as c:
            applied = (
                c.execute(
                    select(func.count()).where(RegulatoryClock.__table__.c.incident_id == inc.id)
                ).scalar_one()
                > 0
            )
        return path, people, applied or not path.clocks

    def apply_escalation(
        self, incident_ref: str, *, author: str, aware_at: datetime | None = None
    ) -> list[RegClockView]:
        """Bring in the incident type's escalation path: record who must be involved and put its
        regulatory clocks on the incident (those that count from awareness start now; the others wait
        for their trigger). Applying it again adds only what is missing."""
        author = _who(author)
        now = self._now()
        with self._store.transaction() as s:
            inc = self._incident(s, incident_ref)
            path = self.rules.path_for(inc.incident_type)
            if path is None:
                raise ValidationError(f"There is no escalation path for incident type '{inc.incident_type}'. "
                                      f"Known types: {', '.join(self.rules.paths)}.")  # fmt: skip
            aware = as_utc(aware_at) if aware_at else (inc.detected_at or inc.declared_at or now)
            if aware > now:
                raise ValidationError("Awareness cannot be in the future.", field="aware_at")
            have = set(
                s.execute(
                    select(RegulatoryClock.rule_id).where(RegulatoryClock.incident_id == inc.id)
                ).scalars()
            )
            started = []
            for rid in path.clocks:
                if rid in have:
                    continue
                rule = self.rules.rule(rid)
                clock = RegulatoryClock(incident_id=inc.id, rule_id=rid, label=rule.label,
                                        rule={**rule.as_dict(), "aware_at": iso(aware)}, started_by=author,
                                        created_at=now, updated_at=now, note="")  # fmt: skip
                if rule.starts_on_awareness:
                    clock.state, clock.trigger_at, clock.deadline_at = (
                        ClockState.RUNNING.value,
                        aware,
                        rule.deadline(aware),
                    )
                else:
                    clock.state = ClockState.AWAITING.value
                s.add(clock)
                started.append(rule)
            groups = ", ".join(path.groups) or "nobody extra"
            running = [r.label for r in started if r.starts_on_awareness]
            waiting = [r.label for r in started if not r.starts_on_awareness]
            body = f"Escalation path '{path.label}' applied: bring in {groups}."
            if running:
                body += (
                    f" Regulatory clocks started from awareness at {utc_text(aware)}: {', '.join(running)}."
                )
            if waiting:
                body += f" Waiting for their trigger: {', '.join(waiting)}."
            body += f" (Rules {self.rules.review_status}.)"
            append_entry(s, inc.id, EntryKind.SYSTEM, body, author=author, now=now,
                         data={"sync": False, "escalation": path.incident_type, "clocks": [r.id for r in started]},
                         hooks=self._store.entry_hooks)  # fmt: skip
            iid = inc.id
        self._publish("comms", iid, None)
        self._publish("timeline", iid, None)
        return self.regulatory_clocks(iid)

    def start_clock(self, incident_ref: str, rule_id: str, *, author: str, at: datetime | None = None,
                    note: str = "") -> RegClockView:  # fmt: skip
        """Record a clock's trigger (e.g. the materiality decision) and start its countdown."""
        author = _who(author)
        now = self._now()
        at = as_utc(at) if at else now
        if at > now:
            raise ValidationError("A trigger cannot be in the future.", field="at")
        rule = self.rules.rule(rule_id)
        with self._store.transaction() as s:
            inc = self._incident(s, incident_ref)
            clock = _regulatory_clock(s, inc.id, rule_id)
            if clock is None:
                clock = RegulatoryClock(incident_id=inc.id, rule_id=rule_id, label=rule.label, rule=rule.as_dict(),
                                        started_by=author, created_at=now, updated_at=now, note="", state=ClockState.AWAITING.value)  # fmt: skip
                s.add(clock)
            if clock.state != ClockState.AWAITING.value:
                raise ValidationError(f"{rule.label} is already {ClockState(clock.state).label.lower()}.")
            clock.state, clock.trigger_at, clock.deadline_at = (
                ClockState.RUNNING.value,
                at,
                rule.deadline(at, _awareness(clock, inc)),
            )
            clock.updated_at, clock.note = now, note.strip()
            append_entry(s, inc.id, EntryKind.SYSTEM,
                         f"{rule.label}: {rule.trigger_label} at {utc_text(at)}; due {utc_text(clock.deadline_at)} ({rule.describe()}).",
                         author=author, now=now, data={"sync": False, "regulatory_clock": rule_id, "action": "started"},
                         hooks=self._store.entry_hooks)  # fmt: skip
            view = next(v for v in self._clock_views(s, inc.id) if v.rule_id == rule_id)
        self._publish("comms", view.incident_id, None)
        return view

    def clock_deadline(self, incident_ref: str, rule_id: str, at: datetime | None = None) -> datetime:
        """The deadline `start_clock` would set if the trigger happened at `at` (now if None): for a
        form that shows the due time while it is being filled in. Nothing is written."""
        at = as_utc(at) if at else self._now()
        rule = self.rules.rule(rule_id)
        with self._store.read() as s:
            inc = self._incident(s, incident_ref)
            return rule.deadline(at, _awareness(_regulatory_clock(s, inc.id, rule_id), inc))

    def record_overdue_clocks(self, incident_ref: str, *, author: str = "sitrep") -> list[RegClockView]:
        """Write one clock-breach entry for each running regulatory clock whose deadline has passed with
        no notice recorded: the record shows when a regulator's deadline was missed, not only a red
        countdown on someone's screen. Once per clock and deadline, whoever checks first."""
        now = self._now()
        missed: list[RegClockView] = []
        with self._store.transaction() as s:
            inc = self._incident(s, incident_ref)
            overdue = [v for v in self._clock_views(s, inc.id)
                       if v.state is ClockState.RUNNING and v.deadline_at is not None and v.deadline_at < now]  # fmt: skip
            if not overdue:
                return []
            recorded = {
                (d.get("regulatory_clock"), d.get("due_at"))
                for (d,) in s.execute(
                    select(TimelineEntry.data).where(
                        TimelineEntry.incident_id == inc.id,
                        TimelineEntry.kind == EntryKind.CLOCK_BREACH.value,
                    )
                )
                if d
            }
            for v in overdue:
                due = iso(v.deadline_at)
                if (v.rule_id, due) in recorded:
                    continue
                body = (f"Regulatory deadline passed: {v.label} was due {utc_text(v.deadline_at)} and no notice "
                        f"is recorded. (Rules {self.rules.review_status}.)")  # fmt: skip
                append_entry(s, inc.id, EntryKind.CLOCK_BREACH, body, author=_who(author), now=now,
                             occurred_at=v.deadline_at,
                             data={"sync": False, "regulatory_clock": v.rule_id, "action": "overdue", "due_at": due},
                             hooks=self._store.entry_hooks)  # fmt: skip
                missed.append(v)
        if missed:
            self._publish("timeline", inc.id, None)
        return missed

    def close_clock(self, incident_ref: str, rule_id: str, *, author: str, outcome: str = "met",
                    at: datetime | None = None, note: str = "") -> RegClockView:  # fmt: skip
        """The notice was made (met), or counsel judged the regime does not apply (withdrawn, with a note)."""
        author = _who(author)
        now = self._now()
        at = as_utc(at) if at else now
        if outcome not in ("met", "withdrawn"):
            raise ValidationError("A clock closes as met or withdrawn.")
        if at > now:
            raise ValidationError("A notice cannot be dated in the future.", field="at")
        if outcome == "withdrawn" and not note.strip():
            raise ValidationError("Say why this regime does not apply (counsel's call).", field="note")
        with self._store.transaction() as s:
            inc = self._incident(s, incident_ref)
            clock = _regulatory_clock(s, inc.id, rule_id)
            if clock is None:
                raise NotFound(f"{inc.key} has no regulatory clock '{rule_id}'.")
            if clock.state in (ClockState.MET.value, ClockState.WITHDRAWN.value):
                raise ValidationError(f"{clock.label} is already {clock.state}.")
            clock.state = ClockState.MET.value if outcome == "met" else ClockState.WITHDRAWN.value
            clock.met_at, clock.closed_by, clock.updated_at = (at if outcome == "met" else None), author, now
            clock.note = note.strip()
            late = outcome == "met" and clock.deadline_at is not None and at > clock.deadline_at
            body = f"{clock.label}: {'notice made' if outcome == 'met' else 'withdrawn'} at {utc_text(at)}"
            body += " (LATE)" if late else ""
            body += f". {note.strip()}" if note.strip() else "."
            append_entry(s, inc.id, EntryKind.SYSTEM, body, author=author, now=now,
                         data={"sync": False, "regulatory_clock": rule_id, "action": outcome}, hooks=self._store.entry_hooks)  # fmt: skip
            view = next(v for v in self._clock_views(s, inc.id) if v.rule_id == rule_id)
        self._publish("comms", view.incident_id, None)
        return view


def _ms(name: str) -> Milestone:
    return Milestone(name)


_STAKEHOLDER_LIMITS = {"handle": 80, "name": 200, "group": 40, "email": 254, "phone": 40, "slack": 120,
                       "timezone": 64}  # fmt: skip


def _who(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError("Say who is acting (author).", field="author")
    return name[:120]


def _awareness(clock: RegulatoryClock | None, inc: Incident) -> datetime | None:
    """When the organisation became aware, for a backstop deadline: as recorded when the escalation
    path was applied, else the incident's detection (or declaration)."""
    aware = ((clock.rule or {}) if clock is not None else {}).get("aware_at")
    return datetime.fromisoformat(aware) if aware else (inc.detected_at or inc.declared_at)


def _regulatory_clock(session, incident_id: str, rule_id: str) -> RegulatoryClock | None:
    """The incident's clock for one regulatory rule, if it has been created."""
    stmt = select(RegulatoryClock).where(
        RegulatoryClock.incident_id == incident_id, RegulatoryClock.rule_id == rule_id
    )
    return session.execute(stmt).scalars().first()
