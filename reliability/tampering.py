"""The tampering set: edits made directly in the SQLite file, each of which `sitrep verify` must catch and
name. The last ones also rewrite the chain heads, so the store is consistent with itself: only what
PagerDuty received (the anchors in Sitrep's notes) can catch them, through `verify --against-remote`.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from reliability.common import Figure, Size, internal_error, sitrep
from services.comms.views import ContactInput
from services.core import Sitrep
from services.record.remote_anchor import verify_against_remote
from services.record.timeline import entry_digest
from services.storage.secrets import MemorySecrets
from tests.fakes import pagerduty as fpd

Edit = Callable[[sqlite3.Connection, str], None]  # (connection, incident id)


def _open(data: Path) -> Sitrep:
    return Sitrep.open(f"sqlite:///{data / 'sitrep.db'}", backups_dir=data / "backups", config_dir=data / "config",
                       sync_options={"secrets": MemorySecrets({("pagerduty", "api_token"): fpd.TOKEN})})  # fmt: skip


def _seed(data: Path, pd) -> None:
    data.mkdir(parents=True)
    app = _open(data)
    try:
        app.sync.configure("pagerduty", {"enabled": True, "url": pd.url, "events_url": pd.url + "/v2", "timeout_s": 10.0,
                                         "from_email": fpd.BOT_EMAIL, "service_id": "PSVC001",
                                         "max_requests_per_s": 0, "note_kinds": ["decision", "note"]})  # fmt: skip
        inc = app.incidents.declare("Checkout: payments failing", "SEV2", author="ana", services=["checkout"])
        app.people.add("Ana Lima", "ana", email="ana@example.com")
        app.roles.assign(inc.id, "ic", "ana", author="ana")
        for i in range(6):
            app.timeline.log(inc.id, f"Observation {i}: errors at {40 + i}%", author="ana")
        app.timeline.log(inc.id, "Roll back the deploy", author="ana", kind="decision", rationale="it matches")
        app.incidents.set_severity(inc.id, "SEV1", author="ana", reason="checkout fully down")
        app.comms.record_contact(inc.id, ContactInput("phone", "executives", "Told the CEO"), author="ana")
        app.timeline.log(inc.id, "Rollback finished", author="ana")
        report = app.sync.drain_once(max_wait_s=30)
        if report.left_pending:
            raise RuntimeError(f"seeding: {report.left_pending} sync item(s) did not reach the fake PagerDuty")
    finally:
        app.close()


def _newest(c: sqlite3.Connection, inc: str, n: int = 1) -> list[int]:
    return [r[0] for r in c.execute("SELECT seq FROM timeline_entries WHERE incident_id = ? ORDER BY seq DESC LIMIT ?",
                                    (inc, n))]  # fmt: skip


def _delete_newest(n: int, *, with_head: bool) -> Edit:
    def edit(c: sqlite3.Connection, inc: str) -> None:
        for seq in _newest(c, inc, n):
            c.execute("DELETE FROM timeline_entries WHERE incident_id = ? AND seq = ?", (inc, seq))
        if with_head:  # the head rewritten to match what is left: the store agrees with itself
            seq, h = c.execute("SELECT seq, hash FROM timeline_entries WHERE incident_id = ? ORDER BY seq DESC LIMIT 1",
                               (inc,)).fetchone()  # fmt: skip
            c.execute("UPDATE chain_heads SET count = ?, hash = ? WHERE chain = 'timeline' AND incident_id = ?",
                      (seq, h, inc))  # fmt: skip
    return edit


def _rehash_from(seq_from: int, new_body: str, *, head: bool) -> Edit:
    """Rewrite an entry and recompute every following hash with the project's own digest."""
    def edit(c: sqlite3.Connection, inc: str) -> None:
        c.execute("UPDATE timeline_entries SET body = ? WHERE incident_id = ? AND seq = ?", (new_body, inc, seq_from))
        cols = ("id", "incident_id", "seq", "kind", "body", "rationale", "author", "source", "occurred_at",
                "recorded_at", "data", "supersedes_id", "prev_hash", "hash")  # fmt: skip
        rows = c.execute(f"SELECT {', '.join(cols)} FROM timeline_entries WHERE incident_id = ? ORDER BY seq",
                         (inc,)).fetchall()  # fmt: skip
        prev = rows[0][cols.index("prev_hash")]
        for r in rows:
            row = dict(zip(cols, r, strict=True))
            row["occurred_at"] = datetime.fromisoformat(row["occurred_at"])
            row["recorded_at"] = datetime.fromisoformat(row["recorded_at"])
            row["data"] = json.loads(row["data"]) if row["data"] else None
            new = entry_digest(prev, row)
            c.execute("UPDATE timeline_entries SET prev_hash = ?, hash = ? WHERE id = ?", (prev, new, row["id"]))
            prev = new
        if head:
            c.execute("UPDATE chain_heads SET hash = ? WHERE chain = 'timeline' AND incident_id = ?", (prev, inc))
    return edit


def _swap_newest_two(c: sqlite3.Connection, inc: str) -> None:
    a, b = _newest(c, inc, 2)
    c.execute("UPDATE timeline_entries SET seq = -1 WHERE incident_id = ? AND seq = ?", (inc, a))
    c.execute("UPDATE timeline_entries SET seq = ? WHERE incident_id = ? AND seq = ?", (a, inc, b))
    c.execute("UPDATE timeline_entries SET seq = ? WHERE incident_id = ? AND seq = -1", (b, inc))


def _sql(statement: str) -> Edit:
    return lambda c, inc: c.execute(statement, {"inc": inc})


# (name, edit, words verify must say, caught only by the remote anchor)
TAMPERINGS: list[tuple[str, Edit, str, bool]] = [
    ("an entry's text edited", _sql("UPDATE timeline_entries SET body = 'Errors at 4%' WHERE incident_id = :inc AND seq = 4"),
     "content was changed", False),
    ("the newest entry deleted", _delete_newest(1, with_head=False), "newest 1 entry was deleted", False),
    ("the newest three entries deleted", _delete_newest(3, with_head=False), "newest 3 entries were deleted", False),
    ("every entry deleted", _sql("DELETE FROM timeline_entries WHERE incident_id = :inc"), "every entry was deleted", False),
    ("the head deleted", _sql("DELETE FROM chain_heads WHERE incident_id = :inc AND chain = 'timeline'"),
     "no head record", False),
    ("two entries reordered", _swap_newest_two, "reordered", False),
    ("the severity edited", _sql("UPDATE incidents SET severity = 'SEV3' WHERE id = :inc"), "its severity is", False),
    ("the title edited", _sql("UPDATE incidents SET title = 'Nothing happened' WHERE id = :inc"), "its title", False),
    ("the status edited", _sql("UPDATE incidents SET status = 'closed' WHERE id = :inc"), "its status is", False),
    ("a milestone edited", _sql("UPDATE incidents SET detected_at = declared_at WHERE id = :inc"), "milestone", False),
    ("the commander's role ended by hand", _sql("UPDATE role_assignments SET ended_at = '2026-01-01T00:00:00.000000Z' "
                                                "WHERE incident_id = :inc"), "IC role", False),
    ("a stakeholder log line edited", _sql("UPDATE comms_log SET content = 'Told nobody' WHERE incident_id = :inc"),
     "stakeholder log line", False),
    ("rewritten with recomputed hashes", _rehash_from(4, "Errors at 4%", head=False), "chain was rewritten", False),
    ("the newest entries and the head deleted together", _delete_newest(3, with_head=True), "PagerDuty received", True),
    ("rewritten with recomputed hashes and head", _rehash_from(4, "Errors at 4%", head=True), "PagerDuty received", True),
]


def tampering(size: Size, work: Path) -> Figure:
    fig = Figure("tampering set")
    pd = fpd.FakePagerDuty().start()
    try:
        pristine = work / "pristine"
        _seed(pristine, pd)
        clean = sitrep(pristine, "verify")
        if clean.returncode != 0:
            fig.missed.append(f"the untouched store does not verify: {clean.stderr.strip()}")
        for n, (name, edit, words, remote_only) in enumerate(TAMPERINGS):
            data = work / f"case-{n}"
            shutil.copytree(pristine, data)
            c = sqlite3.connect(data / "sitrep.db")
            try:
                inc = c.execute("SELECT id FROM incidents").fetchone()[0]
                with c:
                    edit(c, inc)
            finally:
                c.close()
            fig.runs += 1
            local = sitrep(data, "verify")
            if internal_error(local):
                fig.internal_errors += 1
                fig.missed.append(f"{name}: verify had an internal error: {local.stderr.strip()[-200:]}")
                continue
            said = local.stderr
            if remote_only:
                if local.returncode != 0:
                    said += "(also caught locally) "
                app = _open(data)
                try:
                    report = verify_against_remote(app.sync, app.store, sessions=app.sync.read_back_session)
                finally:
                    app.close()
                said += " ".join(str(b) for b in report.breaks)
                caught = bool(report.breaks)
            else:
                caught = local.returncode == 6
            if caught and words in said:
                fig.caught += 1
                first = said.strip().splitlines()[0] if said.strip() else ""
                fig.notes.append(f"{name}: caught{' (remote anchor)' if remote_only else ''}: {first[:160]}")
            else:
                fig.missed.append(f"{name}: not caught and named (rc {local.returncode}; wanted {words!r}): {said.strip()[:300]}")
    finally:
        pd.stop()
    return fig
