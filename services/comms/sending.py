"""Sending, and what each channel made of it. Sending does not talk to any network: it appends a COMMS
timeline entry that carries every channel's exact payload; the channel adapters plan their outbox
items from that entry inside the same transaction, and the sync worker delivers them when the
channel answers, once. The stakeholder log gets one hash-chained line per channel in the same
transaction. `guard_entry` (an entry hook, composed in services/core.py) refuses any other entry
that carries such a payload. The per-channel code of the communications services is here.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from models.entities import (
    CommsMessage,
    Incident,
    OutboxItem,
    TimelineEntry,
)
from models.enums import EntryKind, MessageState
from services.changes import Topic
from services.comms.by_hand import record_sent_by_hand
from services.comms.core import CommsCore, acting_name, log
from services.comms.log import append_log_entry
from services.comms.views import Delivery, MessageView
from services.errors import ValidationError
from services.record.timeline import append_entry
from services.record.views import EntryRow
from services.text.timetext import utc_text

_M = CommsMessage.__table__
_O = OutboxItem.__table__
_T = TimelineEntry.__table__


class Sending(CommsCore):
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
                    f"holder of a delegation to approve external messages before it goes out; it is {MessageState(m.state).label.lower()}."
                )
            if m.approved_hash != m.content_hash:
                raise ValidationError(
                    f"Message {ref} changed after it was approved; it needs approval again."
                )
            ok, _why = self._may_approve(s, inc.id, m.approver or "")
            if not ok and m.approver not in self.settings.approvers:
                # The commander changed since; the approval of the commander of the time stands.
                log.info("message %s approved by %s, who is no longer commander", ref, m.approver)
        self._ready(m, inc)

    def record_sent_by_hand(self, message_ref: str, *, author: str, how: str, occurred_at: datetime | None = None,
                            note: str = "") -> MessageView:  # fmt: skip
        """The message went out another way (read out on the phone, typed into a vendor's console while
        our backend was down): record it as sent, by whom, how and when, with nothing queued."""
        return record_sent_by_hand(self, message_ref, author=acting_name(author), how=how, occurred_at=occurred_at,
                                   note=note)  # fmt: skip

    def send(self, message_ref: str, *, author: str) -> MessageView:
        """Release a message to its channels: through the outbox, so offline it waits and goes once."""
        author = acting_name(author)
        now = self._now()
        with self._store.transaction() as s:
            m, inc = self._load_message(s, message_ref)
            ref = f"{inc.key}/{m.number}"
            aud = self.settings.audience(m.audience)
            self.check_sendable(s, m, inc)
            blocked = self.unavailable_channels(m.channels)
            if blocked:
                raise ValidationError(
                    f"Message {ref} cannot be sent: "
                    + " ".join(blocked.values())
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
        self._publish(Topic.COMMS, view.incident_id, None)
        self._publish(Topic.TIMELINE, view.incident_id, seq)
        return view

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
        self._publish(Topic.COMMS, None, None)
