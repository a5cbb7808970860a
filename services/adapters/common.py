"""Small helpers the built-in adapters share: what an entry says when it leaves Sitrep."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from models.enums import AUTHORED_KINDS, EntryKind
from services.adapters.values import ChangeToPlan

SITREP_MARK = "via Sitrep"
# Hex digits of the entry's hash in a note's trailer: 64 bits, more than any forger can match by trying.
ANCHOR_DIGITS = 16


def is_from_a_backend(change: ChangeToPlan) -> bool:
    """Entries a pull wrote (or anything else not typed in Sitrep) are never sent back out."""
    return bool(change.data.get("remote"))


def is_authored(change: ChangeToPlan) -> bool:
    return change.entry.kind in {k.value for k in AUTHORED_KINDS}


def entry_text(change: ChangeToPlan, *, with_trailer: bool = True) -> str:
    """An entry as a note or comment: the text, a decision's rationale, and who/where it came from.

    The trailer ("INC-0042 #12 · chain 3f9a1c2b4d5e6f70, ana via Sitrep") names the entry, so a later
    look-up finds exactly this note and a pull can tell it from one a person wrote in the backend. The
    chain part is the entry's hash, the incident's chain head when it was written: the backend keeps an
    anchor of the record outside this machine (`sitrep verify --against-remote`, services/record/remote_anchor.py).
    """
    e = change.entry
    text = e.body
    if e.kind == EntryKind.DECISION.value and e.rationale:
        text = f"Decision: {text}\nWhy: {e.rationale}"
    elif e.kind not in (EntryKind.NOTE.value, EntryKind.COMMS.value):
        text = f"{EntryKind(e.kind).label}: {text}"
    if with_trailer:
        text += f"\n\n({change.incident.key} #{e.seq} · chain {e.hash[:ANCHOR_DIGITS]}, {e.author} {SITREP_MARK})"
    return text


def normalise_text(text: str) -> str:
    return " ".join((text or "").split())


def parse_remote_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


MAX_LABELS = 64
MAX_LABEL_TEXT = 2000


def clean_labels(raw: Any) -> dict[str, str]:
    """Labels or annotations a sender posted: string keys, scalar values as text, bounded in number and size."""
    if not isinstance(raw, dict):
        return {}
    out = {}
    for key, value in list(raw.items())[:MAX_LABELS]:
        if isinstance(key, str) and isinstance(value, str | int | float | bool):
            out[key[:200]] = str(value)[:MAX_LABEL_TEXT]
    return out
