"""The record's anchor outside this machine: what the organisation's systems received.

Every note or comment Sitrep sends ends with a trailer naming its entry and that entry's hash, which was
the incident's chain head when it was written (services/adapters/common.py: entry_text). A store rewritten
wholesale on this machine (entries deleted together with their head, or rewritten with recomputed
hashes) verifies on its own; it cannot also rewrite what PagerDuty and Jira hold. `sitrep verify
--against-remote` reads those notes back and compares each anchor with the local chain.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select

from models.entities import Incident, RemoteLink, TimelineEntry
from services.adapters.common import ANCHOR_DIGITS
from services.adapters.failures import SyncFailure
from services.adapters.jira import API as JIRA_API
from services.adapters.jira import adf_text
from services.record.integrity import ChainBreak

ANCHOR = re.compile(
    r"\((?P<key>[A-Z][A-Z0-9]*-\d+) #(?P<seq>\d+) · chain (?P<hash>[0-9a-f]{" + str(ANCHOR_DIGITS) + r"}), "
)

_L = RemoteLink.__table__
_T = TimelineEntry.__table__
_I = Incident.__table__


def _pagerduty_texts(http, remote_id: str) -> list[str]:
    reply = http.request("GET", f"/incidents/{remote_id}/notes", not_found_ok=True)
    if reply is None:
        return []
    return [str(n.get("content") or "") for n in (reply.body or {}).get("notes") or []]


def _jira_texts(http, remote_id: str) -> list[str]:
    texts: list[str] = []
    start = 0
    while True:
        reply = http.request(
            "GET", f"{JIRA_API}/issue/{remote_id}/comment", params={"startAt": start, "maxResults": 100},
            not_found_ok=True,
        )
        if reply is None:
            return texts
        body = reply.body or {}
        comments = body.get("comments") or []
        texts += [adf_text(c.get("body")) for c in comments]
        start += len(comments)
        if not comments or start >= int(body.get("total") or 0):
            return texts


# backend -> (remote kind of the incident's object, how to read the texts it holds)
READERS: dict[str, tuple[str, Callable]] = {
    "pagerduty": ("incident", _pagerduty_texts),
    "jira": ("issue", _jira_texts),
}


@dataclass
class AnchorReport:
    backends: list[str] = field(default_factory=list)  # read back
    anchors: int = 0  # anchors compared
    breaks: list[ChainBreak] = field(default_factory=list)
    unreachable: list[str] = field(default_factory=list)  # "PagerDuty: why"

    @property
    def ok(self) -> bool:
        return not self.breaks


def anchors_in(text: str) -> list[tuple[int, str]]:
    return [(int(m["seq"]), m["hash"]) for m in ANCHOR.finditer(text or "")]


def compare(key: str, label: str, chain: dict[int, str], anchors: list[tuple[int, str]]) -> list[ChainBreak]:
    """What a backend received (seq, hash prefix) against the local chain (seq -> hash)."""
    problems: list[ChainBreak] = []
    newest = max(chain, default=0)
    for seq, prefix in sorted(set(anchors)):
        have = chain.get(seq)
        if have is None:
            problems.append(ChainBreak(key, seq, "", (
                f"{label} received entry #{seq} (chain {prefix}) but the timeline here ends at #{newest}: "
                "entries were deleted from this store (with their head)")))  # fmt: skip
        elif not have.startswith(prefix):
            problems.append(ChainBreak(key, seq, "", (
                f"entry #{seq} here has hash {have[:ANCHOR_DIGITS]} but {label} received {prefix}: the record "
                "was rewritten here after it was sent")))  # fmt: skip
    return problems


def verify_against_remote(sync, store, *, sessions) -> AnchorReport:
    """Read back every linked incident's notes from each enabled backend that keeps them.

    `sessions(adapter)` is a context manager giving an Http for one blocking call (the sync service's).
    """
    report = AnchorReport()
    adapters = sync.make_adapters()
    for name, adapter in adapters.items():
        if name not in READERS:
            continue
        remote_kind, read = READERS[name]
        missing = adapter.missing()
        if missing:
            report.unreachable.append(f"{adapter.label}: {' '.join(missing)}")
            continue
        with store.read_connection() as conn:
            links = conn.execute(
                select(_L.c.local_id, _L.c.remote_id, _I.c.key)
                .join(_I, _I.c.id == _L.c.local_id)
                .where(_L.c.backend == name, _L.c.local_kind == "incident", _L.c.remote_kind == remote_kind)
                .order_by(_I.c.number)
            ).all()
        try:
            with sessions(adapter) as http:
                for incident_id, remote_id, key in links:
                    anchors = [a for text in read(http, remote_id) for a in anchors_in(text)]
                    if not anchors:
                        continue
                    with store.read_connection() as conn:
                        chain = dict(conn.execute(select(_T.c.seq, _T.c.hash).where(_T.c.incident_id == incident_id)).all())
                    report.anchors += len(anchors)
                    report.breaks += compare(key, adapter.label, chain, anchors)
        except SyncFailure as exc:
            report.unreachable.append(f"{adapter.label}: {exc.message}")
            continue
        report.backends.append(adapter.label)
    return report
