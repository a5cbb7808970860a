"""Chain heads: each hash chain's count and newest hash, kept in a record of its own.

A hash chain proves that nothing inside it changed, but a chain cut short from its end still verifies.
The head (chain_heads) is advanced in the same transaction as every timeline entry and stakeholder log
line, so deleting the newest entries leaves a head that names entries no longer there. Deleting the
head with them is caught outside the machine: the head's hash travels in the notes sent to backends
(services/record/remote_anchor.py).
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import func, insert, select, update

from models.entities import ChainHead, CommsLogEntry, TimelineEntry

TIMELINE = "timeline"
STAKEHOLDER_LOG = "stakeholder_log"
CHAINS = (TIMELINE, STAKEHOLDER_LOG)

_H = ChainHead.__table__
_TABLES = {TIMELINE: TimelineEntry.__table__, STAKEHOLDER_LOG: CommsLogEntry.__table__}

# The append lane's form (services.storage.store.AppendTransaction sends it straight to sqlite3).
ADVANCE_SQL = (
    f"INSERT INTO {_H.name} (chain, incident_id, count, hash) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (chain, incident_id) DO UPDATE SET count = excluded.count, hash = excluded.hash"
)


class Head(NamedTuple):
    count: int
    hash: str


def advance_head(db, chain: str, incident_id: str, count: int, hash_: str) -> None:
    """Move a chain's head to its newest entry, inside the caller's transaction (Connection or Session)."""
    done = db.execute(
        update(_H).where(_H.c.chain == chain, _H.c.incident_id == incident_id).values(count=count, hash=hash_)
    )
    if done.rowcount == 0:
        db.execute(insert(_H).values(chain=chain, incident_id=incident_id, count=count, hash=hash_))


def rebuild_heads(db, incident_ids) -> None:
    """Set the heads of these incidents' chains from what is stored: after an import, which writes
    verified chains verbatim rather than one entry at a time."""
    for chain, table in _TABLES.items():
        for incident_id in incident_ids:
            last = db.execute(
                select(table.c.seq, table.c.hash)
                .where(table.c.incident_id == incident_id)
                .order_by(table.c.seq.desc())
                .limit(1)
            ).first()
            if last is not None:
                advance_head(db, chain, incident_id, last[0], last[1])


def read_heads(conn) -> dict[tuple[str, str], Head]:
    """(chain, incident id) -> Head, for every chain."""
    return {(r[0], r[1]): Head(r[2], r[3]) for r in conn.execute(select(_H.c.chain, _H.c.incident_id, _H.c.count, _H.c.hash))}


def head_of(conn, chain: str, incident_id: str) -> Head | None:
    row = conn.execute(
        select(_H.c.count, _H.c.hash).where(_H.c.chain == chain, _H.c.incident_id == incident_id)
    ).first()
    return Head(*row) if row else None


def head_problem(chain_name: str, head: Head | None, rows: list) -> str | None:
    """Whether a chain (rows in seq order, each with .seq and .hash) ends where its head says."""
    if head is None:
        if not rows:
            return None
        return f"its {chain_name} has {len(rows)} entries but no head record (the head was deleted)"
    if not rows:
        return (
            f"its {chain_name} is empty but its head says {head.count} entries ending in {head.hash[:12]}… "
            "(every entry was deleted)"
        )
    last = rows[-1]
    if last.seq < head.count:
        missing = head.count - last.seq
        return (
            f"its {chain_name} ends at #{last.seq} but its head says #{head.count}: the newest "
            f"{missing} {'entry was' if missing == 1 else 'entries were'} deleted"
        )
    if last.seq > head.count:
        return (
            f"its {chain_name} goes on to #{last.seq} past its head (#{head.count}): entries were added "
            "outside Sitrep"
        )
    if last.hash != head.hash:
        return (
            f"its {chain_name}'s newest entry #{last.seq} has hash {last.hash[:12]}… but its head says "
            f"{head.hash[:12]}…: the chain was rewritten"
        )
    return None


def count_chain(conn, chain: str, incident_id: str) -> int:
    table = _TABLES[chain]
    return conn.execute(select(func.count()).where(table.c.incident_id == incident_id)).scalar_one()


def advance_heads_of(conn, entry_rows: list[dict]) -> None:
    """Heads for chains just written whole (rows in seq order per incident, hash included), in the same
    transaction: a history import writes thousands of incidents in a few statements."""
    newest: dict[str, tuple[int, str]] = {}
    for row in entry_rows:
        newest[row["incident_id"]] = (row["seq"], row["hash"])
    params = [(TIMELINE, incident_id, seq, hash_) for incident_id, (seq, hash_) in newest.items()]
    if not params:
        return
    if conn.dialect.name == "sqlite":
        conn.connection.driver_connection.executemany(ADVANCE_SQL, params)
    else:
        for chain, incident_id, seq, hash_ in params:
            advance_head(conn, chain, incident_id, seq, hash_)
