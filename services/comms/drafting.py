"""Messages: prefill a template from the incident, preview every channel's rendering, draft and edit."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from models.entities import (
    CommsMessage,
)
from models.enums import ClockState, MessageState, Milestone, Status
from services.changes import Topic
from services.comms.core import CommsCore, acting_name
from services.comms.settings import (
    AUDIENCE_GROUPS,
    COMMANDER_ROLE,
    COMMS_ROLE,
    format_duration,
    format_time,
    zone_named,
)
from services.comms.templates import (
    CommsTemplate,
    Problem,
    content_hash,
    missing_fields,
)
from services.comms.views import MessageView, Preview
from services.errors import ValidationError
from services.record.views import IncidentView
from services.text.timetext import utc_text

_M = CommsMessage.__table__


def _ms(name: str) -> Milestone:
    return Milestone(name)


class MessageDrafts(CommsCore):
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
        # where it goes instead. Only the preview: a message still marked "to fill in" is never sent.
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
        hear = [
            sv for sv in self.must_hear(inc, extra_groups=path.groups if path else ()) if sv.group in groups
        ]
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
        author = acting_name(author)
        tpl = self.templates.get(template_id)
        audience = audience or tpl.audience
        aud = self.settings.audience(audience)
        tz = timezone or aud.timezone
        zone_named(tz)
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
        self._publish(Topic.COMMS, view.incident_id, None)
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
        author = acting_name(author)
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
                zone_named(timezone)
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
        self._publish(Topic.COMMS, view.incident_id, None)
        return view

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
