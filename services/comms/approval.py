"""Approval. The rule lives here and only here, so the GUI and the CLI cannot go round it: a message
for an audience that needs approval is sent only when it is approved, by the incident commander of
the moment or a holder of a delegation to approve external messages (services/governance/delegations.py,
which also holds comms.toml's configured approvers), and only with the exact content that was approved.
"""

from __future__ import annotations

from sqlalchemy import func, select

from models.entities import (
    CommsMessage,
    Incident,
    Person,
)
from models.enums import MessageState
from services.changes import Topic
from services.comms.core import CommsCore, acting_name
from services.comms.settings import COMMANDER_ROLE
from services.comms.templates import (
    missing_fields,
)
from services.comms.views import MessageView
from services.errors import ValidationError


class Approval(CommsCore):
    def may_approve(self, incident_ref: str, who: str) -> tuple[bool, str]:
        """(allowed, why not) for `who` approving a message on this incident."""
        with self._store.read() as s:
            inc = self._incident(s, incident_ref)
            return self._may_approve(s, inc.id, who)

    def _may_approve(self, s, incident_id: str, who: str) -> tuple[bool, str]:
        who_l = (who or "").strip().lower()
        if not who_l:
            return False, "Say who is approving."
        ic = self._holder(s, incident_id, COMMANDER_ROLE)
        if ic is not None and who_l in (ic.handle.lower(), ic.name.lower()):
            return True, ""
        register = self.delegations
        if register is not None:
            # The register holds the configured approvers too, as delegations with no expiry.
            authority = register.settings.approves_messages
            holds, expired = register.authority_of(s, who, authority)
            if holds:
                return True, ""
            if expired is not None:
                return False, register.blocked_sentence(expired)
            extra = f" or a holder of a delegation to {register.label(authority)} (see Delegations)"
        else:
            approvers = {a.lower() for a in self.settings.approvers}
            if who_l in approvers:
                return True, ""
            person = s.execute(select(Person).where(func.lower(Person.handle) == who_l)).scalars().first()
            if person is not None and (person.handle.lower() in approvers or person.name.lower() in approvers):
                return True, ""
            extra = (f" or a configured approver ({', '.join(self.settings.approvers)})"
                     if self.settings.approvers else "")  # fmt: skip
        holder = (
            f"the incident commander ({ic.name}, @{ic.handle})"
            if ic
            else "the incident commander (nobody holds the role now)"
        )
        return False, f"Only {holder}{extra} can approve messages for this audience; '{who}' cannot."

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
        author = acting_name(author)
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
        self._publish(Topic.COMMS, view.incident_id, None)
        return view

    def approve(self, message_ref: str, *, approver: str) -> MessageView:
        approver = acting_name(approver)
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
        self._publish(Topic.COMMS, view.incident_id, None)
        self._publish(Topic.TIMELINE, view.incident_id, None)
        return view

    def reject(self, message_ref: str, *, by: str, comment: str) -> MessageView:
        """Return the draft to its author with a comment."""
        by = acting_name(by)
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
        self._publish(Topic.COMMS, view.incident_id, None)
        self._publish(Topic.TIMELINE, view.incident_id, None)
        return view
