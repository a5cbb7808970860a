"""Stores for the benchmarks: a long incident with a valid hash chain, and a small realistic console store.

The long incident is written with one Core `executemany` (not 100,000 service calls), but every row
goes through `services.record.timeline.entry_digest`, so `sitrep verify` accepts the result and the view
reads exactly what the service would have written.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from models.entities import TimelineEntry
from models.enums import AUTHORED_KINDS, EntryKind
from models.types import iso, new_id
from services.core import Sitrep
from services.record.timeline import GENESIS_HASH, entry_digest

_T = TimelineEntry.__table__

AUTHORS = ("ana", "bo", "chidi", "dara", "eun-ji", "farid", "greta", "hiro", "pagerduty", "alertmanager")
SOURCES = ("sitrep", "sitrep", "sitrep", "cli", "pagerduty", "jira", "alertmanager")
KINDS = (
    [EntryKind.NOTE] * 30
    + [EntryKind.OBSERVATION] * 25
    + [EntryKind.ASSUMPTION] * 5
    + [EntryKind.DECISION] * 5
    + [EntryKind.ACTION] * 15
    + [EntryKind.COMMS] * 5
    + [EntryKind.ALERT] * 10
    + [EntryKind.STATUS_CHANGE, EntryKind.ROLE_CHANGE, EntryKind.SEVERITY_CHANGE, EntryKind.CONFIG_CHANGE] * 1
)
PHRASES = (
    "error rate on checkout-api at {n}% and climbing",
    "p99 latency for payments-gateway {n} ms, was 180 ms before the deploy",
    "rolled back canary {n} in eu-west-1",
    "customer support reports {n} tickets about failed card payments",
    "db primary replication lag {n} s; read replicas serving stale carts",
    "paged the on-call DBA; ack in {n} min",
    "status page updated: investigating elevated errors (update {n})",
    "feature flag checkout.new-pricing turned off on {n}% of traffic",
    "alert HighErrorRate firing for service=checkout instance=pod-{n}",
    "next update to execs due at the top of the hour; draft {n} in comms doc",
)
TIME_ZERO = datetime(2026, 3, 14, 9, 0, tzinfo=UTC)


def _body(rng: random.Random, seq: int) -> str:
    text = rng.choice(PHRASES).format(n=rng.randint(1, 999))
    if rng.random() < 0.2:  # a few long entries, as pasted log lines are
        text += " — " + " ".join(rng.choice(PHRASES).format(n=seq) for _ in range(rng.randint(1, 4)))
    return text


def open_sitrep(data_dir: Path, now=None) -> Sitrep:
    data_dir.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = {"backups_dir": data_dir / "backups", "config_dir": data_dir / "config"}
    if now is not None:
        kwargs["now"] = now
    return Sitrep.open(f"sqlite:///{data_dir / 'sitrep.db'}", **kwargs)


def declare_incident(sitrep: Sitrep, title: str = "Checkout: payments failing", severity: str = "SEV1"):
    return sitrep.incidents.declare(
        title,
        severity,
        author="ana",
        services=["checkout", "payments-gateway"],
        summary="Card payments fail.",
    )


def extend_timeline(sitrep: Sitrep, incident_id: str, target_entries: int, *, seed: int = 7) -> int:
    """Grow an incident's timeline to `target_entries` entries (a valid chain). Returns the entry count."""
    rng = random.Random(seed)
    with sitrep.store.write_connection() as conn:
        last = conn.execute(
            select(_T.c.seq, _T.c.hash)
            .where(_T.c.incident_id == incident_id)
            .order_by(_T.c.seq.desc())
            .limit(1)
        ).first()
        have, prev_hash = (last[0], last[1]) if last else (0, GENESIS_HASH)
        if have >= target_entries:
            return have
        rows: list[dict[str, Any]] = []
        authored: list[tuple[str, int, EntryKind]] = []
        for seq in range(have + 1, target_entries + 1):
            kind = rng.choice(KINDS)
            at = TIME_ZERO + timedelta(seconds=seq * 2)
            supersedes_id = None
            data = None
            if len(authored) > 10 and seq % 997 == 0 and kind in AUTHORED_KINDS:
                # An occasional correction of a recent entry a person wrote (only those can be corrected).
                corrects_id, corrects_seq, kind = authored[-rng.randint(1, 10)]
                supersedes_id = corrects_id
                data = {"correction_reason": "wrong region", "corrects_seq": corrects_seq}
            rationale = (
                "errors began with the 10:02 deploy and nothing else changed"
                if kind is EntryKind.DECISION
                else None
            )
            row = {
                "id": new_id(),
                "incident_id": incident_id,
                "seq": seq,
                "kind": kind.value,
                "body": _body(rng, seq),
                "rationale": rationale,
                "author": rng.choice(AUTHORS),
                "source": rng.choice(SOURCES),
                "occurred_at": at,
                "recorded_at": at,
                "data": data,
                "supersedes_id": supersedes_id,
                "prev_hash": prev_hash,
            }
            row["hash"] = prev_hash = entry_digest(prev_hash, row)
            if kind in AUTHORED_KINDS:
                authored.append((row["id"], seq, kind))
            rows.append(row)
        # Straight to the driver: SQLAlchemy's per-row bind processing would triple the build time.
        # The stored forms are the ones UTCDateTime and JSON write (iso text, JSON text).
        columns = list(rows[0])
        sql = f"INSERT INTO {_T.name} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for r in rows:
            r["occurred_at"] = r["recorded_at"] = iso(r["occurred_at"])  # the same instant here
            r["data"] = json.dumps(r["data"])  # None too: SQLAlchemy's JSON type stores it as 'null'
        conn.exec_driver_sql(sql, [tuple(r[c] for c in columns) for r in rows])
    return target_entries


def build_long_incident(data_dir: Path, entries: int) -> str:
    """A store in data_dir with one incident of `entries` timeline entries. Returns the incident id."""
    sitrep = open_sitrep(data_dir)
    try:
        incident = declare_incident(sitrep, "Checkout: payments failing for 9 hours")
        extend_timeline(sitrep, incident.id, entries)
        return incident.id
    finally:
        sitrep.close()


def build_console_store(data_dir: Path) -> None:
    """What a commander's store looks like on a normal morning: a handful of incidents, one of them live.

    Uses services.demo when it exists (the --demo content); otherwise a comparable seed of our own.
    """
    sitrep = open_sitrep(data_dir)
    try:
        try:
            from services.demo import seed_demo
        except ModuleNotFoundError as exc:
            if exc.name != "services.demo":
                raise
            seed_demo = None
        if seed_demo is not None:
            seed_demo(sitrep)
            return
        for n, (title, sev) in enumerate(
            [
                ("Search: stale results after index rebuild", "SEV3"),
                ("VPN: intermittent disconnects in APAC", "SEV2"),
                ("Checkout: payments failing", "SEV1"),
            ]
        ):
            inc = declare_incident(sitrep, title, sev)
            extend_timeline(sitrep, inc.id, 40 + 80 * n, seed=n)
    finally:
        sitrep.close()


def copy_store(src_dir: Path, dst_dir: Path) -> None:
    """A consistent copy of a closed store (SQLite's backup API: never a file copy of a WAL database)."""
    dst_dir.mkdir(parents=True, exist_ok=True)
    src = sqlite3.connect(src_dir / "sitrep.db")
    dst = sqlite3.connect(dst_dir / "sitrep.db")
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
    config = src_dir / "config"
    if config.is_dir():
        shutil.copytree(config, dst_dir / "config", dirs_exist_ok=True)
