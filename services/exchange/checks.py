"""What an import compares beyond the chains: the heads a file carries, and a same-record incident's state.

A file's chain that verifies may still be cut short (its newest entries dropped before it was sent):
the heads it carries (schema 4) say where each chain ended when it was exported. An incident whose
timeline here is the file's, hash for hash, must also have the same state; a difference means one copy
was edited outside Sitrep, and it is named, not glossed over as "unchanged".
"""

from __future__ import annotations

from typing import Any

from models.entities import Incident
from models.enums import Milestone
from models.types import iso
from services.record.chain_heads import CHAINS, STAKEHOLDER_LOG, TIMELINE

_COMPARED = (
    "title", "summary", "incident_type", "severity", "status", "is_major", "is_exercise", "services",
    "affected_users", "error_rate_pct",
)  # fmt: skip
_WORDS = {TIMELINE: "timeline", STAKEHOLDER_LOG: "stakeholder log"}


def export_heads(heads: dict, incident_id: str) -> dict[str, dict[str, Any]]:
    """The incident's chain heads as an export carries them; `heads` is chain_heads.read_heads()."""
    out = {}
    for chain in CHAINS:
        head = heads.get((chain, incident_id))
        if head is not None:
            out[chain] = {"count": head.count, "hash": head.hash}
    return out


def file_head_problem(heads: Any, inc: dict[str, Any]) -> str | None:
    """Whether an incident's chains in the file end where the heads it carries say."""
    if not isinstance(heads, dict):
        return "'chain_heads' must be an object"
    for chain, head in heads.items():
        if chain not in CHAINS:
            return f"'chain_heads' names an unknown chain {chain!r:.40}"
        if not isinstance(head, dict) or not isinstance(head.get("count"), int) or isinstance(head.get("count"), bool) \
                or not isinstance(head.get("hash"), str):  # fmt: skip
            return f"'chain_heads.{chain}' must be an object with a whole-number 'count' and a 'hash'"
        rows = inc.get(chain) or []
        words = _WORDS[chain]
        if len(rows) != head["count"]:
            return (
                f"its {words} has {len(rows)} entries but the export's head says {head['count']}: the file was "
                "cut short or added to after it was written"
            )
        if rows and rows[-1]["hash"] != head["hash"]:
            return f"its {words} does not end at the hash the export's head names: the file was rewritten"
    return None


def diverged_fields(local: Incident, d: dict[str, Any]) -> str | None:
    """The fields in which a stored incident differs from the file's copy of the same record, or None."""
    differs = [name.replace("_", " ") for name in _COMPARED if getattr(local, name) != d[name]]
    for m in Milestone:
        if iso(getattr(local, m.column)) != iso(d["milestones"].get(m.value)):
            differs.append(f"'{m.value}' milestone")
    if not differs:
        return None
    return (", ".join(differs[:-1]) + " and " + differs[-1]) if len(differs) > 1 else differs[0]
