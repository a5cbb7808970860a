"""The stakeholder log: every message sent and every contact made by hand, hash-chained per incident;
filtered, searched, exported for an auditor (CSV, JSON, HTML for a PDF) and verified.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from markupsafe import escape
from sqlalchemy import func, select

from models.entities import (
    CommsLogEntry,
    Incident,
    OutboxItem,
)
from models.enums import EntryKind
from models.types import as_utc, iso
from services.changes import Topic
from services.comms.core import CommsCore, acting_name
from services.comms.log import LOG_COLUMNS, LogRow, append_log_entry, first_break
from services.comms.views import LOG_CHANNELS, ContactInput
from services.errors import ValidationError
from services.record.timeline import append_entry
from services.text.timetext import utc_text

_L = CommsLogEntry.__table__
_O = OutboxItem.__table__


class ContactLog(CommsCore):
    def record_contact(self, incident_ref: str, contact: ContactInput, *, author: str) -> LogRow:
        """A contact made outside Sitrep ('phoned the regulator', 'the vendor e-mailed us')."""
        author = acting_name(author)
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
        self._publish(Topic.COMMS, row.incident_id, None)
        self._publish(Topic.TIMELINE, row.incident_id, entry.seq)
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
