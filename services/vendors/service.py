"""Vendor cases held to the contract: open a case with a supplier, record their replies, climb their escalation
ladder, close it. The contract's response and resolution times are clocks of the incident (a
`ClockService.panel_sources` provider: shown in the vendor cases panel rather than the header's chips, which
have no room for two per case on a laptop), and a missed one is recorded on the timeline once, by the same
check that records the severity clocks' breaches (`clocks.check`: the vendor panel asks for it as the header
does for its clocks, and `sitrep clocks INC --check`), dated at the deadline also when nobody had the console
open at the moment it ran out.

Every step is a timeline entry carrying `data["vendor_case"]`; a reply, the opening and each climb are also a
line of the stakeholder log, in the same transaction as the case's row. Climbing drafts the `vendor_escalation`
message for the next level's contact first (a draft refused leaves the case where it was).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from models.entities import Incident, TimelineEntry, VendorCase
from models.enums import EntryKind
from models.types import as_utc
from services.changes import Topic
from services.comms.core import acting_name
from services.comms.log import append_log_entry
from services.comms.views import LOG_CHANNELS, MessageView
from services.errors import NotFound, ValidationError
from services.record.clocks import Clock
from services.record.incidents import IncidentService
from services.record.timeline import append_entry
from services.record.views import IncidentView
from services.text.limits import check_text
from services.text.timetext import utc_text
from services.vendors.register import Register, load_register, register_path, save_register_text
from services.vendors.views import CaseEvent, VendorCaseView

_C = VendorCase.__table__
_I = Incident.__table__
_T = TimelineEntry.__table__
TEMPLATE = "vendor_escalation"
AUDIENCE = "vendors"
OUTCOMES = ("resolved", "withdrawn")


class VendorService:
    def __init__(self, store, now: Callable[[], datetime], publish, comms, clocks, config_dir: Path | None) -> None:
        self._store = store
        self._now = now
        self._publish = publish
        self._comms = comms
        self._config_dir = config_dir
        self._register: tuple[float, Path, Register] | None = None
        clocks.panel_sources.append(self.clock_source)

    # -- the register -----------------------------------------------------------------------------
    @property
    def register(self) -> Register:
        """The register, read again when its file changes (an edit in the console or by hand)."""
        path = register_path(self._config_dir)
        try:
            stamp = path.stat().st_mtime
        except OSError:
            stamp = -1.0
        if self._register is None or self._register[:2] != (stamp, path):
            self._register = (stamp, path, load_register(self._config_dir))
        return self._register[2]

    def register_text(self) -> str:
        path = self.register.source
        try:
            return path.read_text(encoding="utf-8")
        except OSError as err:
            raise ValidationError(f"The vendor register {path} cannot be read: {err.strerror or err}.") from err

    def save_register(self, text: str) -> Register:
        saved = save_register_text(self._config_dir, text)
        self._register = None
        self._publish(Topic.VENDORS, None, None)
        return saved

    # -- reading ----------------------------------------------------------------------------------
    def cases(self, incident_ref: str | None = None, *, open_only: bool = False) -> list[VendorCaseView]:
        with self._store.read() as s:
            stmt = select(_C, _I.c.key.label("incident_key")).join(_I, _I.c.id == _C.c.incident_id)
            if incident_ref is not None:
                stmt = stmt.where(_C.c.incident_id == IncidentService._load(s, incident_ref).id)
            if open_only:
                stmt = stmt.where(_C.c.status == "open")
            rows = s.execute(stmt.order_by(_C.c.number.desc())).mappings().all()
        return [_view(r) for r in rows]

    def get(self, case_ref: str) -> VendorCaseView:
        with self._store.read() as s:
            return self._load(s, case_ref)

    def events(self, case_ref: str) -> list[CaseEvent]:
        """What happened on a case, from its timeline entries, oldest first."""
        case = self.get(case_ref)
        with self._store.read_connection() as conn:
            rows = conn.execute(
                select(_T.c.occurred_at, _T.c.author, _T.c.body, _T.c.data, _T.c.seq)
                .where(_T.c.incident_id == case.incident_id).order_by(_T.c.occurred_at, _T.c.seq)
            ).all()  # fmt: skip
        out = []
        for at, author, body, data, seq in rows:
            about = (data or {}).get("vendor_case") or {}
            if about.get("id") == case.id:
                out.append(CaseEvent(as_utc(at), about.get("action", ""), author, body, seq))
        return out

    def clock_source(self, conn, inc: IncidentView) -> list[Clock]:
        rows = conn.execute(
            select(_C, _I.c.key.label("incident_key")).join(_I, _I.c.id == _C.c.incident_id)
            .where(_C.c.incident_id == inc.id).order_by(_C.c.number)
        ).mappings().all()  # fmt: skip
        return [c for r in rows for c in _view(r).clocks()]

    # -- acting -----------------------------------------------------------------------------------
    def open_case(self, incident_ref: str, vendor: str, priority: str, *, author: str, ticket_ref: str | None = None,
                  service: str = "", channel: str = "portal", at: datetime | None = None) -> VendorCaseView:  # fmt: skip
        """Open a case with a vendor: the contract's clocks start at `at` (when it was raised with them)."""
        author = acting_name(author)
        v = self.register.vendor(vendor)
        terms = v.terms((priority or "").strip())
        ticket_ref = _one_line(ticket_ref, "ticket_ref", "Their ticket reference", 200) or None
        service = _one_line(service, "service", "The affected service", 300) or ", ".join(v.services)
        channel = _channel(channel)
        now = self._now()
        opened = self._when(at, now, None)
        response_due = opened + timedelta(minutes=terms.response_min)
        resolution_due = opened + timedelta(minutes=terms.resolution_min) if terms.resolution_min else None
        with self._store.transaction() as s:
            inc = IncidentService._load(s, incident_ref)
            number = (s.execute(select(func.max(_C.c.number))).scalar() or 0) + 1
            case = VendorCase(
                number=number, key=f"VND-{number:04d}", incident_id=inc.id, vendor_id=v.id, vendor_name=v.name,
                contract_ref=v.contract, priority=terms.priority, ticket_ref=ticket_ref, service=service,
                terms=v.as_terms(terms.priority), opened_at=opened, opened_by=author, response_due_at=response_due,
                resolution_due_at=resolution_due, level=1, level_since=opened, replies=0, status="open", updated_at=now,
            )  # fmt: skip
            s.add(case)
            s.flush()
            front = v.ladder[0]
            due = f"response due {utc_text(response_due)}"
            if resolution_due:
                due += f", resolution due {utc_text(resolution_due)}"
            body = (f"Vendor case {case.key} opened with {v.name} ({terms.priority}, contract {v.contract}"
                    f"{'; their ticket ' + ticket_ref if ticket_ref else ''}): {due}")  # fmt: skip
            self._record(s, case, "opened", body, author, now, opened, kind=EntryKind.ACTION,
                         contact=("outbound", channel, [front.contact], f"Opened {terms.priority} case: {service}"))
            view = _view({**_row(case), "incident_key": inc.key})
        self._changed(view)
        return view

    def reply(self, case_ref: str, text: str, *, author: str, at: datetime | None = None, channel: str = "email",
              ticket_ref: str | None = None) -> VendorCaseView:  # fmt: skip
        """A vendor's reply: the first one meets the response clock; any one stops the ladder's climb timer."""
        author = acting_name(author)
        text = (text or "").strip()
        if not text:
            raise ValidationError("Say what the vendor answered.", field="text")
        check_text(text, field="text", label="The reply", limit=4000)
        ticket_ref = _one_line(ticket_ref, "ticket_ref", "Their ticket reference", 200) or None
        channel = _channel(channel)
        now = self._now()
        with self._store.transaction() as s:
            case = self._open_row(s, case_ref, "record a reply on")
            when = self._when(at, now, case.opened_at)
            case.first_reply_at = min(case.first_reply_at, when) if case.first_reply_at else when
            case.last_reply_at = max(case.last_reply_at, when) if case.last_reply_at else when
            case.replies += 1
            if ticket_ref:
                case.ticket_ref = ticket_ref
            case.updated_at = now
            lv = _level(case, case.level)
            body = f"Reply from {case.vendor_name} on {case.key}{_ticket(case)}: {text}"
            self._record(s, case, "reply", body, author, now, when, kind=EntryKind.NOTE,
                         contact=("inbound", channel, [lv.get("contact", case.vendor_name)], text))
            view = self._load(s, case.id)
        self._changed(view)
        return view

    def climb(self, case_ref: str, *, author: str, note: str = "") -> tuple[VendorCaseView, MessageView]:
        """Call the next level of the vendor's ladder: a `vendor_escalation` draft addressed to its contact,
        the contact on the stakeholder log, and the case at the new level."""
        author = acting_name(author)
        note = (note or "").strip()
        check_text(note, field="note", label="The note", limit=2000)
        case = self.get(case_ref)
        if not case.is_open:
            raise ValidationError(f"{case.key} is closed ({case.outcome}); a closed case is not escalated.")
        nxt = case.next_level
        if nxt is None:
            raise ValidationError(f"{case.key} is at the top of {case.vendor_name}'s ladder (level {case.level}, "
                                  f"{case.level_title}); there is nobody higher to call.")  # fmt: skip
        message = self._comms.draft(case.incident_id, TEMPLATE, author=author, audience=AUDIENCE,
                                    fields=self._escalation_fields(case, nxt, note),
                                    recipients={"email_to": [nxt["email"]]} if nxt.get("email") else {})  # fmt: skip
        now = self._now()
        with self._store.transaction() as s:
            row = self._open_row(s, case.id, "escalate")
            if row.level != case.level:
                raise ValidationError(f"{case.key} was escalated by someone else meanwhile (it is at level "
                                      f"{row.level}); message {message.number} is a draft you may discard.")  # fmt: skip
            row.level = nxt["level"]
            row.level_since = now
            row.updated_at = now
            silent = "" if case.answered_at_level else f", no response since {utc_text(case.level_since)}"
            body = (f"{case.key}: escalated to {case.vendor_name} level {nxt['level']}, {nxt['title']} "
                    f"({nxt['contact']}){silent}; escalation message {message.number} drafted")  # fmt: skip
            if note:
                body += f". {note}"
            reach = [x for x in (nxt["contact"], nxt.get("email") or nxt.get("phone")) if x]
            self._record(s, row, "climbed", body, author, now, now, kind=EntryKind.ACTION,
                         contact=("outbound", "email" if nxt.get("email") else "phone", reach,
                                  f"Escalated {case.key} to level {nxt['level']} ({nxt['title']}); "
                                  f"message {message.number} drafted"),
                         extra={"level": nxt["level"], "message": message.number})  # fmt: skip
            view = self._load(s, row.id)
        self._changed(view)
        return view, message

    def close(self, case_ref: str, *, author: str, outcome: str = "resolved", note: str = "",
              at: datetime | None = None) -> VendorCaseView:  # fmt: skip
        """Resolved meets the resolution clock; withdrawn (we no longer need them) stops it."""
        author = acting_name(author)
        if outcome not in OUTCOMES:
            raise ValidationError(f"A case closes as {' or '.join(OUTCOMES)}, not '{outcome}'.", field="outcome")
        note = (note or "").strip()
        check_text(note, field="note", label="The note", limit=2000)
        now = self._now()
        with self._store.transaction() as s:
            row = self._open_row(s, case_ref, "close")
            when = self._when(at, now, row.opened_at)
            row.status, row.outcome, row.closed_at, row.closed_by, row.updated_at = "closed", outcome, when, author, now
            body = f"Vendor case {row.key} with {row.vendor_name} closed as {outcome}{_ticket(row)}"
            if note:
                body += f": {note}"
            self._record(s, row, "closed", body, author, now, when, kind=EntryKind.NOTE)
            view = self._load(s, row.id)
        self._changed(view)
        return view

    # -- the post-incident review ------------------------------------------------------------------
    def review_text(self, inc: IncidentView) -> str:
        """The incident's vendor cases for its review document: what each contract promised and what came."""
        cases = self.cases(inc.id)
        if not cases:
            return ""
        now = self._now()
        words = {"met": "met", "met_late": "MISSED (late)", "breached": "MISSED", "running": "running"}
        out = ["Vendor cases (held to their contracts):", "",
               "| Case | Vendor, contract | Priority | Their ticket | Opened | Response | Resolution | Ladder | State |",
               "|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for c in sorted(cases, key=lambda c: c.opened_at):
            by_kind = {clock.id.split(":")[0]: clock for clock in c.clocks()}
            cells = []
            for kind in ("vendor_response", "vendor_resolution"):
                clock = by_kind.get(kind)
                cells.append(f"due {utc_text(clock.due_at)}, {words.get(clock.state(now), clock.state(now))}"
                             if clock else "-")  # fmt: skip
            out.append(f"| {c.key} | {c.vendor_name}, {c.contract_ref} | {c.priority} | {c.ticket_ref or '-'} | "
                       f"{utc_text(c.opened_at)} | {cells[0]} | {cells[1]} | level {c.level} ({c.level_title}) | "
                       f"{'open' if c.is_open else 'closed ' + (c.outcome or '')} |")  # fmt: skip
        return "\n".join(out)

    # -- inside ------------------------------------------------------------------------------------
    def _escalation_fields(self, case: VendorCaseView, nxt: dict[str, Any], note: str) -> dict[str, str]:
        prefill = self._comms.prefill(case.incident_id, TEMPLATE)
        t = case.terms
        silent = ("no response yet" if case.first_reply_at is None
                  else f"last response {utc_text(case.last_reply_at)}")  # fmt: skip
        need = (f"We are escalating our {case.priority} case {case.key}{_ticket(case)} to you ({nxt['title']}) under "
                f"contract {case.contract_ref}. It was opened {utc_text(case.opened_at)}; the contract's response "
                f"time is {t.get('response_min')} minutes (due {utc_text(case.response_due_at)}); {silent}. "
                "We need an engineer on our bridge and an update on the fault.")  # fmt: skip
        if note:
            need += "\n" + note
        return {
            "vendor": case.vendor_name,
            "account_id": f"{case.contract_ref} ({t.get('tier') or 'support contract'})",
            "vendor_service": case.service or case.vendor_name,
            "symptoms": prefill.get("symptoms") or prefill.get("summary") or "",
            "what_we_need": need,
            "our_contact": prefill.get("our_contact") or prefill.get("commander") or "",
            "response_time": f"within {t.get('response_min')} minutes, as contract {case.contract_ref} sets for "
                             f"{case.priority}",
        }  # fmt: skip

    def _record(self, s, case: VendorCase, action: str, body: str, author: str, now: datetime, when: datetime, *,
                kind: EntryKind, contact: tuple[str, str, list[str], str] | None = None,
                extra: dict[str, Any] | None = None) -> None:  # fmt: skip
        about = {"id": case.id, "key": case.key, "vendor": case.vendor_id, "action": action, **(extra or {})}
        entry = append_entry(s, case.incident_id, kind, body, author=author, now=now, occurred_at=when,
                             data={"vendor_case": about}, hooks=self._store.entry_hooks)  # fmt: skip
        if contact:
            direction, channel, recipients, content = contact
            append_log_entry(s, case.incident_id, now=now, kind="contact", direction=direction, channel=channel,
                             audience=AUDIENCE, recipients=recipients, subject=f"{case.key} {case.vendor_name}",
                             content=content, author=author, occurred_at=when, entry_id=entry.id)  # fmt: skip

    def _when(self, at: datetime | None, now: datetime, not_before: datetime | None) -> datetime:
        if at is None:
            return now
        when = as_utc(at)
        if when > now:
            raise ValidationError("That time is in the future.", field="at")
        if not_before is not None and when < as_utc(not_before):
            raise ValidationError(f"That time is before the case was opened ({utc_text(not_before)}).", field="at")
        if now - when > timedelta(days=30):
            raise ValidationError("That time is more than 30 days ago.", field="at")
        return when

    @staticmethod
    def _find(s, case_ref: str) -> VendorCase:
        ref = (case_ref or "").strip()
        stmt = select(VendorCase)
        if ref.upper().startswith("VND-"):
            stmt = stmt.where(VendorCase.key == ref.upper())
        elif ref.isdigit():
            stmt = stmt.where(VendorCase.number == int(ref))
        else:
            stmt = stmt.where(VendorCase.id == ref)
        case = s.scalar(stmt)
        if case is None:
            raise NotFound(f"No vendor case '{case_ref}'. `sitrep vendor cases` lists them.")
        return case

    def _load(self, s, case_ref: str) -> VendorCaseView:
        case = self._find(s, case_ref)
        key = s.execute(select(_I.c.key).where(_I.c.id == case.incident_id)).scalar()
        return _view({**_row(case), "incident_key": key})

    def _open_row(self, s, case_ref: str, doing: str) -> VendorCase:
        case = self._find(s, case_ref)
        if case.status != "open":
            raise ValidationError(f"{case.key} was closed as {case.outcome} at {utc_text(case.closed_at)}; "
                                  f"Sitrep does not {doing} a closed case. Open a new case if the vendor is "
                                  "needed again.")  # fmt: skip
        return case

    def _changed(self, view: VendorCaseView) -> None:
        self._publish(Topic.VENDORS, view.incident_id, None)
        self._publish(Topic.COMMS, view.incident_id, None)
        self._publish(Topic.TIMELINE, view.incident_id, None)


def _row(case: VendorCase) -> dict[str, Any]:
    return {c.name: getattr(case, c.name) for c in _C.columns}


def _view(row) -> VendorCaseView:
    r = dict(row)
    times = ("opened_at", "response_due_at", "resolution_due_at", "level_since", "first_reply_at", "last_reply_at",
             "closed_at")  # fmt: skip
    for k in times:
        if r.get(k) is not None:
            r[k] = as_utc(r[k])
    fields = VendorCaseView.__dataclass_fields__
    return VendorCaseView(**{k: r[k] for k in fields})


def _level(case: VendorCase, level: int) -> dict[str, Any]:
    return next((lv for lv in (case.terms or {}).get("ladder", []) if lv.get("level") == level), {})


def _ticket(case) -> str:
    return f" (their ticket {case.ticket_ref})" if case.ticket_ref else ""


def _one_line(value: str | None, field: str, label: str, limit: int) -> str:
    value = (value or "").strip()
    check_text(value, field=field, label=label, limit=limit, one_line=True)
    return value


def _channel(channel: str) -> str:
    channel = (channel or "").strip().lower()
    if channel not in LOG_CHANNELS:
        raise ValidationError(f"How was the vendor reached? One of {', '.join(LOG_CHANNELS)}.", field="channel")
    return channel
