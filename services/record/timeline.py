"""The timeline: the record of an incident. Append-only and hash-chained per incident.

A new entry is defined once (`_new_row`: its number, times, link and hash) and written two ways:
`append_entry`, on whatever SQLAlchemy connection or session the caller's transaction uses, so a state
change and its entry commit together or not at all; and `_append_on_lane`, the store's append lane
(services.storage.store), which sends the same row straight to sqlite3 for the busy `log` path.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from models.entities import Incident, TimelineEntry
from models.enums import AUTHORED_KINDS, EntryKind
from models.types import as_utc, iso, new_id
from services.changes import Topic
from services.errors import NotFound, ValidationError
from services.record.chain_heads import ADVANCE_SQL, TIMELINE, advance_head
from services.record.views import EntryRow
from services.storage.read_lane import ReadLaneUnavailable
from services.text.limits import check_text
from services.text.time_range import check_live, check_stored
from services.text.timetext import utc_text

GENESIS_HASH = "0" * 64

# Called inside the appending transaction with (connection or session, the new entry).
EntryHook = Callable[[Any, EntryRow], None]
MAX_BODY = 20_000

_T = TimelineEntry.__table__
_COLS = [_T.c[name] for name in EntryRow._fields]
# An entry dated this much before it was logged was backdated on purpose (an alert found later), not
# merely typed a few seconds after the fact: it is shown with both times.
BACKDATED_AFTER = timedelta(minutes=1)


def is_backdated(entry: EntryRow) -> bool:
    return entry.recorded_at - entry.occurred_at >= BACKDATED_AFTER


# How a timeline can be read: the sort keys of each order (seq breaks ties, so every order is total).
ENTRY_ORDERS = {
    "occurred": (_T.c.occurred_at, _T.c.seq),
    "logged": (_T.c.seq,),
    "kind": (_T.c.kind, _T.c.occurred_at, _T.c.seq),
    "author": (_T.c.author, _T.c.occurred_at, _T.c.seq),
}

_I = Incident.__table__
_STARTS = (_I.c.impact_started_at, _I.c.detected_at, _I.c.declared_at)
LEAD_UP = timedelta(hours=24)


# One encoder for every digest: json.dumps with options builds a new JSONEncoder per call.
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_digest(prev_hash: str, row: dict[str, Any]) -> str:
    """sha256 over the previous hash and a canonical JSON of the entry's content."""
    return _digest(prev_hash, row, iso(row["occurred_at"]), iso(row["recorded_at"]))


def digest_with_stored_times(prev_hash: str, row: dict[str, Any]) -> str:
    """entry_digest over a row read as stored: its times are already the text the digest is made with."""
    return _digest(prev_hash, row, row["occurred_at"], row["recorded_at"])


def _digest(prev_hash: str, row: dict[str, Any], occurred_text: str | None, recorded_text: str | None) -> str:
    payload = {
        "id": row["id"],
        "incident_id": row["incident_id"],
        "seq": row["seq"],
        "kind": row["kind"],
        "body": row["body"],
        "rationale": row["rationale"],
        "author": row["author"],
        "source": row["source"],
        "occurred_at": occurred_text,
        "recorded_at": recorded_text,
        "data": row["data"],
        "supersedes_id": row["supersedes_id"],
    }
    text = _CANONICAL.encode(payload)
    return hashlib.sha256((prev_hash + text).encode("utf-8")).hexdigest()


def _new_row(
    incident_id: str,
    last: tuple[int, str] | None,
    kind: EntryKind | str,
    body: str,
    *,
    author: str,
    now: datetime,
    occurred_at: datetime | None,
    rationale: str | None,
    source: str,
    data: dict[str, Any] | None,
    supersedes_id: str | None,
) -> tuple[dict[str, Any], str | None, str | None]:
    """The one definition of a new timeline row, after `last` (the chain's last seq and hash, or None for
    the first entry): its number, its times, its link and its hash. Both writers (`append_entry` and the
    append lane) insert what this returns; it also returns the two times as the text they are stored as."""
    seq, prev_hash = (last[0] + 1, last[1]) if last else (1, GENESIS_HASH)
    check_stored(occurred_at, now, what="The entry's time", field="occurred_at")
    occurred = as_utc(occurred_at) if occurred_at else now
    recorded_text = iso(now)
    occurred_text = recorded_text if occurred is now else iso(occurred)
    row: dict[str, Any] = {
        "id": new_id(),
        "incident_id": incident_id,
        "seq": seq,
        "kind": str(kind),
        "body": body,
        "rationale": rationale,
        "author": author,
        "source": source,
        "occurred_at": occurred,
        "recorded_at": now,
        "data": data,
        "supersedes_id": supersedes_id,
        "prev_hash": prev_hash,
    }
    row["hash"] = _digest(prev_hash, row, occurred_text, recorded_text)
    return row, occurred_text, recorded_text


def append_entry(
    db: Connection | Session,
    incident_id: str,
    kind: EntryKind | str,
    body: str,
    *,
    author: str,
    now: datetime,
    occurred_at: datetime | None = None,
    rationale: str | None = None,
    source: str = "sitrep",
    data: dict[str, Any] | None = None,
    supersedes_id: str | None = None,
    hooks: Sequence[EntryHook] = (),
) -> EntryRow:
    """Append one entry to an incident's chain, inside the caller's transaction.

    `hooks` run in the same transaction after the insert (e.g. the sync outbox writes what a backend
    is owed), so the entry and everything derived from it commit together or not at all.
    """
    last = db.execute(
        select(_T.c.seq, _T.c.hash).where(_T.c.incident_id == incident_id).order_by(_T.c.seq.desc()).limit(1)
    ).first()
    row, _, _ = _new_row(incident_id, last, kind, body, author=author, now=now, occurred_at=occurred_at,
                         rationale=rationale, source=source, data=data, supersedes_id=supersedes_id)  # fmt: skip
    db.execute(insert(_T), row)
    advance_head(db, TIMELINE, incident_id, row["seq"], row["hash"])
    entry = EntryRow(**row)
    for hook in hooks:
        hook(db, entry)
    return entry


_INSERT_SQL = (
    f"INSERT INTO {_T.name} ({', '.join(EntryRow._fields)}) VALUES ({', '.join('?' * len(EntryRow._fields))})"
)
_LAST_LINK_SQL = f"SELECT seq, hash FROM {_T.name} WHERE incident_id = ? ORDER BY seq DESC LIMIT 1"
_INCIDENT_EXISTS_SQL = f"SELECT 1 FROM {Incident.__table__.name} WHERE id = ?"


def _append_on_lane(
    txn,
    incident_id: str,
    kind: str,
    body: str,
    *,
    author: str,
    now: datetime,
    occurred_at: datetime | None,
    rationale: str | None,
    source: str,
    data: dict[str, Any] | None,
    hooks: Sequence[EntryHook],
) -> EntryRow:
    """`append_entry` on the store's append lane (services.storage.store.AppendTransaction): the same row,
    chain and hooks, with the statements sent straight to sqlite3.

    Values are bound in the forms the SQLAlchemy types store: UTCDateTime's ISO text, and JSON text
    for `data` (SQLAlchemy's JSON type writes None as the JSON text 'null', so we do too).
    """
    last = txn.execute(_LAST_LINK_SQL, (incident_id,)).fetchone()
    # Every incident's chain starts when it is declared; no entries means no incident (usually).
    if last is None and txn.execute(_INCIDENT_EXISTS_SQL, (incident_id,)).fetchone() is None:
        raise NotFound("That incident does not exist.")
    row, occurred_text, recorded_text = _new_row(incident_id, last, kind, body, author=author, now=now,
                                                 occurred_at=occurred_at, rationale=rationale, source=source,
                                                 data=data, supersedes_id=None)  # fmt: skip
    # Bound as the SQLAlchemy types store them (see the docstring).
    stored = {**row, "occurred_at": occurred_text, "recorded_at": recorded_text,
              "data": "null" if data is None else json.dumps(data)}  # fmt: skip
    txn.execute(_INSERT_SQL, tuple(stored[name] for name in EntryRow._fields))
    txn.execute(ADVANCE_SQL, (TIMELINE, incident_id, row["seq"], row["hash"]))
    entry = EntryRow(**row)
    if hooks:
        db = txn.connection_on_demand()
        for hook in hooks:
            hook(db, entry)
    return entry


def _clean_author(author: str) -> str:
    author = (author or "").strip()
    if not author:
        raise ValidationError("Say who is writing this entry (author).", field="author")
    return author[:120]


class TimelineService:
    def __init__(self, store, now: Callable[[], datetime], publish: Callable[..., None]) -> None:
        self._store = store
        self._now = now
        self._publish = publish

    def log(
        self,
        incident_id: str,
        body: str,
        *,
        author: str,
        kind: EntryKind | str = EntryKind.NOTE,
        occurred_at: datetime | None = None,
        rationale: str | None = None,
        source: str = "sitrep",
        data: dict[str, Any] | None = None,
        backdate_reason: str | None = None,
    ) -> EntryRow:
        """Append what a person reports. The hot path: one indexed read, one insert, one commit.

        An entry dated before the incident began (its earliest milestone) needs `backdate_reason`, as a
        milestone moved out of order does; the reason is kept in the entry's data.
        """
        try:
            kind = EntryKind(kind)
        except ValueError:
            allowed = ", ".join(k.value for k in sorted(AUTHORED_KINDS))
            raise ValidationError(
                f"Unknown entry kind '{kind}'. Use one of: {allowed}.", field="kind"
            ) from None
        if kind not in AUTHORED_KINDS:
            raise ValidationError(
                f"'{kind.value}' entries are written by Sitrep when the incident changes; log a note instead.",
                field="kind",
            )
        body = (body or "").strip()
        if not body:
            raise ValidationError("An entry needs some text.", field="body")
        if len(body) > MAX_BODY:
            raise ValidationError(f"An entry is limited to {MAX_BODY:,} characters.", field="body")
        check_text(body, field="body", label="The entry", limit=MAX_BODY)
        check_text(rationale, field="rationale", label="The rationale", limit=MAX_BODY)
        if kind is EntryKind.DECISION and not (rationale or "").strip():
            raise ValidationError(
                "A decision needs its rationale: why this, and not something else?", field="rationale"
            )
        author = _clean_author(author)
        now = self._now()
        check_live(occurred_at, now, what="An entry", field="occurred_at")
        rationale = (rationale or "").strip() or None
        if occurred_at is not None:
            # The console's entry form has one "why" field: there, the rationale is the reason.
            data = self._backdating(incident_id, as_utc(occurred_at), backdate_reason or rationale, data)
        if self._store.has_append_lane:
            with self._store.append_transaction() as txn:
                entry = _append_on_lane(
                    txn,
                    incident_id,
                    kind.value,
                    body,
                    author=author,
                    now=now,
                    occurred_at=occurred_at,
                    rationale=rationale,
                    source=source,
                    data=data,
                    hooks=self._store.entry_hooks,
                )
        else:
            with self._store.write_connection() as conn:
                exists = conn.execute(
                    select(Incident.__table__.c.id).where(Incident.__table__.c.id == incident_id)
                ).first()
                if exists is None:
                    raise NotFound("That incident does not exist.")
                entry = append_entry(
                    conn,
                    incident_id,
                    kind,
                    body,
                    author=author,
                    now=now,
                    occurred_at=occurred_at,
                    rationale=rationale,
                    source=source,
                    data=data,
                    hooks=self._store.entry_hooks,
                )
        self._publish(Topic.TIMELINE, incident_id, entry.seq)
        return entry

    def _backdating(
        self, incident_id: str, occurred_at: datetime, reason: str | None, data: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        with self._store.read_connection() as conn:
            row = conn.execute(select(*_STARTS).where(Incident.__table__.c.id == incident_id)).first()
        if row is None:
            raise NotFound("That incident does not exist.")
        impact_started = row[0]
        known = [t for t in row if t is not None]
        if not known:
            return data
        # What led up to a declaration (a customer's tweet, an alert) is part of the record; a day before
        # the first thing known about the incident, or before its impact started, is out of order.
        start = impact_started if impact_started is not None else min(known) - LEAD_UP
        if occurred_at >= start:
            return data
        reason = (reason or "").strip()
        if not reason:
            began = (f"its impact started ({utc_text(start)})" if impact_started is not None
                     else f"a day before the first thing known about it ({utc_text(min(known))})")  # fmt: skip
            raise ValidationError(
                f"This entry would be dated {utc_text(occurred_at)}, before the incident began: before {began}. "
                "If it really happened then, give the reason it belongs to this incident (the entry's 'why', "
                "or --backdate-reason), "
                "or move the incident's Impact started milestone first.",
                field="occurred_at",
            )
        check_text(reason, field="backdate_reason", label="The reason", limit=MAX_BODY)
        return {**(data or {}), "backdate_reason": reason}

    def correct(self, entry_id: str, body: str, *, author: str, reason: str) -> EntryRow:
        """A correction is a new entry that supersedes the old one; the old one stays in the record."""
        body = (body or "").strip()
        reason = (reason or "").strip()
        if not body:
            raise ValidationError("The corrected text cannot be empty.", field="body")
        if not reason:
            raise ValidationError("Say why the entry is being corrected.", field="reason")
        author = _clean_author(author)
        now = self._now()
        with self._store.write_connection() as conn:
            old = conn.execute(select(*_COLS).where(_T.c.id == entry_id)).first()
            if old is None:
                raise NotFound("That timeline entry does not exist.")
            old = EntryRow(*old)
            if old.kind not in AUTHORED_KINDS:
                # Its text is the record of a change to the incident; a free-text correction would make
                # the timeline say something the incident's state does not. Change the incident instead.
                raise ValidationError(
                    f"Entry #{old.seq} was written by Sitrep when the incident changed ({old.kind.replace('_', ' ')}); "
                    "make the change on the incident instead (e.g. move the milestone), and its entry will record it.",
                    field="entry",
                )
            already = conn.execute(
                select(_T.c.seq).where(_T.c.incident_id == old.incident_id, _T.c.supersedes_id == entry_id)
            ).first()
            if already is not None:
                raise ValidationError(
                    f"Entry #{old.seq} was already corrected by entry #{already[0]}; correct that one."
                )
            entry = append_entry(
                conn,
                old.incident_id,
                old.kind,
                body,
                author=author,
                now=now,
                occurred_at=old.occurred_at,
                rationale=old.rationale,
                data={"correction_reason": reason, "corrects_seq": old.seq},
                supersedes_id=old.id,
                hooks=self._store.entry_hooks,
            )
        self._publish(Topic.TIMELINE, old.incident_id, entry.seq)
        return entry

    # -- reading -------------------------------------------------------------------------
    def count(self, incident_id: str) -> int:
        with self._store.read_connection() as conn:
            return conn.execute(select(func.count()).where(_T.c.incident_id == incident_id)).scalar_one()

    def last_seq(self, incident_id: str) -> int:
        with self._store.read_connection() as conn:
            return (
                conn.execute(select(func.max(_T.c.seq)).where(_T.c.incident_id == incident_id)).scalar() or 0
            )

    def entries(self, incident_id: str, *, after_seq: int = 0, limit: int | None = None) -> list[EntryRow]:
        lane = self._store.read_lane()  # the live edge reads this at every append: plain sqlite3
        if lane is not None:
            try:
                return lane.entries(incident_id, after_seq=after_seq, limit=limit)
            except ReadLaneUnavailable:
                pass  # e.g. locked beyond the lane's short wait: the SQLAlchemy path says it in words
        stmt = select(*_COLS).where(_T.c.incident_id == incident_id, _T.c.seq > after_seq).order_by(_T.c.seq)
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._store.read_connection() as conn:
            return [EntryRow(*r) for r in conn.execute(stmt)]

    def entries_by_seq(self, incident_id: str, seqs: Sequence[int]) -> list[EntryRow]:
        """The entries with these sequence numbers, in the order asked (one page of a view)."""
        if not seqs:
            return []
        lo, hi = min(seqs), max(seqs)
        stmt = (
            select(*_COLS)
            .where(_T.c.incident_id == incident_id, _T.c.seq >= lo, _T.c.seq <= hi)
            .order_by(_T.c.seq)
        )
        if hi - lo + 1 > 2 * len(seqs):
            # A page read in time order may hold an entry logged much later (a backdated one): name the
            # entries rather than read the whole span between them.
            stmt = select(*_COLS).where(_T.c.incident_id == incident_id, _T.c.seq.in_(list(seqs)))
        wanted = set(seqs)
        with self._store.read_connection() as conn:
            by_seq = {r[2]: EntryRow(*r) for r in conn.execute(stmt) if r[2] in wanted}
        return [by_seq[q] for q in seqs if q in by_seq]

    def matching_seqs(
        self,
        incident_id: str,
        *,
        kinds: Iterable[str] | None = None,
        author: str | None = None,
        text: str | None = None,
        hide_superseded: bool = False,
        order: str = "logged",
        descending: bool = False,
    ) -> list[int]:
        """Sequence numbers of the entries that pass a filter, in `order` (ENTRY_ORDERS): the view
        pages through them. "logged" is the chain's order; "occurred" is how people read it."""
        if order not in ENTRY_ORDERS:
            raise ValidationError(f"Order the timeline by one of: {', '.join(ENTRY_ORDERS)}.", field="order")
        stmt = select(_T.c.seq).where(_T.c.incident_id == incident_id)
        if kinds:
            stmt = stmt.where(_T.c.kind.in_(list(kinds)))
        if author:
            stmt = stmt.where(_T.c.author.ilike(f"%{_escape_like(author)}%", escape="\\"))
        if text:
            pattern = f"%{_escape_like(text)}%"
            stmt = stmt.where(
                _T.c.body.ilike(pattern, escape="\\") | _T.c.rationale.ilike(pattern, escape="\\")
            )
        if hide_superseded:
            # One pass over this incident's corrections (ix_timeline_corrections), not one per entry.
            later = _T.alias("later")
            corrected = select(later.c.supersedes_id).where(
                later.c.incident_id == incident_id, later.c.supersedes_id.is_not(None)
            )
            stmt = stmt.where(_T.c.id.not_in(corrected))
        with self._store.read_connection() as conn:
            keys = [c.desc() if descending else c for c in ENTRY_ORDERS[order]]
            return list(conn.execute(stmt.order_by(*keys)).scalars())

    def superseded_ids(self, incident_id: str) -> set[str]:
        stmt = select(_T.c.supersedes_id).where(
            _T.c.incident_id == incident_id, _T.c.supersedes_id.is_not(None)
        )
        with self._store.read_connection() as conn:
            return set(conn.execute(stmt).scalars())

    def authors(self, incident_id: str) -> list[str]:
        stmt = select(_T.c.author).where(_T.c.incident_id == incident_id).distinct().order_by(_T.c.author)
        with self._store.read_connection() as conn:
            return list(conn.execute(stmt).scalars())


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# Quick-entry prefixes a commander types: "/decision Roll back because the 10:02 deploy matches".
QUICK_PREFIXES: dict[str, EntryKind] = {
    "/note": EntryKind.NOTE,
    "/obs": EntryKind.OBSERVATION,
    "/observe": EntryKind.OBSERVATION,
    "/observation": EntryKind.OBSERVATION,
    "/assume": EntryKind.ASSUMPTION,
    "/assumption": EntryKind.ASSUMPTION,
    "/hyp": EntryKind.ASSUMPTION,
    "/decision": EntryKind.DECISION,
    "/decide": EntryKind.DECISION,
    "/action": EntryKind.ACTION,
    "/do": EntryKind.ACTION,
    "/comms": EntryKind.COMMS,
    "/update": EntryKind.COMMS,
    "/alert": EntryKind.ALERT,
    "/config": EntryKind.CONFIG_CHANGE,
    "/change": EntryKind.CONFIG_CHANGE,
}
_RATIONALE_SPLIT = (" because ", " -- ", " | ")


def parse_quick_entry(text: str) -> tuple[EntryKind, str, str | None]:
    """(kind, body, rationale) from a quick-entry line. No prefix means a note.

    A decision's rationale follows ' because ', ' -- ' or ' | ' ("/decision fail over -- primary is gone").
    """
    text = (text or "").strip()
    kind = EntryKind.NOTE
    if text.startswith("/"):
        word, _, rest = text.partition(" ")
        found = QUICK_PREFIXES.get(word.lower())
        if found is None:
            known = ", ".join(sorted(QUICK_PREFIXES))
            raise ValidationError(f"Unknown prefix '{word}'. Known prefixes: {known}.", field="body")
        kind, text = found, rest.strip()
    rationale = None
    if kind is EntryKind.DECISION:
        for sep in _RATIONALE_SPLIT:
            if sep in text:
                text, rationale = (part.strip() for part in text.split(sep, 1))
                break
    return kind, text, rationale
