"""A message recorded as sent by hand: it went out by another way than Sitrep's channels (read out on a
call, typed into the status page's own console while our backend was down, a channel not configured
here). The same rules hold as for sending (an external audience needs the commander's approval of this
very content); nothing is queued for any backend; the timeline and the stakeholder log say who sent it,
how and when.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from models.enums import EntryKind, MessageState
from models.types import as_utc
from services.changes import Topic
from services.comms.log import append_log_entry
from services.errors import ValidationError
from services.record.timeline import append_entry

if TYPE_CHECKING:
    from services.comms.service import CommsService
    from services.comms.views import MessageView

HOW = ("phone", "email", "slack", "statuspage", "meeting", "letter", "portal", "sms", "other")


def record_sent_by_hand(svc: CommsService, message_ref: str, *, author: str, how: str,
                        occurred_at: datetime | None, note: str) -> MessageView:  # fmt: skip
    how = (how or "").strip().lower()
    if how not in HOW:
        raise ValidationError(f"Say how it went out: one of {', '.join(HOW)}.", field="how")
    now = svc._now()
    when = as_utc(occurred_at) if occurred_at else now
    if when > now:
        raise ValidationError("A message cannot have gone out in the future.", field="occurred_at")
    with svc._store.transaction() as s:
        m, inc = svc._load_message(s, message_ref)
        ref = f"{inc.key}/{m.number}"
        svc.check_sendable(s, m, inc)
        aud = svc.settings.audience(m.audience)
        m.state, m.sent_by, m.sent_at, m.updated_at = MessageState.SENT.value, author, when, now
        s.flush()
        view = svc._view(m, inc.key)
        planned = ", ".join(svc.channel_label(c) for c in m.channels)
        body = (f"Message {m.number} ({m.template_name}) to {aud.label} sent by hand by {author} via {how}"
                f" (not through Sitrep's channels: {planned}): {view.subject}"
                + (f" — {note.strip()}" if note.strip() else ""))  # fmt: skip
        entry = append_entry(s, inc.id, EntryKind.COMMS, body, author=author, now=now, occurred_at=when,
                             data={"sync": False, "comms_message": m.id, "sent_by_hand": how},
                             hooks=svc._store.entry_hooks)  # fmt: skip
        m.sent_entry_id = entry.id
        content = next((r.get("text") or r.get("body") or "" for r in (m.rendered or {}).values()), view.subject)
        append_log_entry(s, inc.id, now=now, kind="message", direction="outbound", channel=how, audience=m.audience,
                         recipients=list((m.recipients or {}).get("email_to") or []) or [aud.label],
                         subject=view.subject, content=content, author=author, approver=m.approver,
                         approved_at=m.approved_at, occurred_at=when, message_id=m.id, entry_id=entry.id,
                         data={"message": ref, "template": m.template_id, "drafted_by": m.author,
                               "sent_by_hand": True, "note": note.strip()})  # fmt: skip
        view = svc._view(m, inc.key)
        seq = entry.seq
    svc._publish(Topic.COMMS, view.incident_id, None)
    svc._publish(Topic.TIMELINE, view.incident_id, seq)
    return view
