"""The order of an incident's milestones: which pairs a set of times contradicts, in words, and the pairs an
imported history is known to contradict (flagged pairs), which do not stop other changes."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from models.enums import MILESTONE_BEFORE, Milestone
from models.types import as_utc
from services.text.timetext import utc_texts

MilestonePair = tuple[Milestone, Milestone]


def order_conflicts(values: dict[Milestone, datetime | None]) -> list[MilestonePair]:
    """Every (earlier, later) pair of set milestones whose times say the opposite."""
    utc = {m: as_utc(v) for m, v in values.items() if v is not None}  # once each, not once per pair
    out = []
    for earlier, later in MILESTONE_BEFORE:
        a, b = utc.get(earlier), utc.get(later)
        if a is not None and b is not None and a > b:
            out.append((earlier, later))
    return out


def flagged_pairs_of(raw: Iterable[Any] | None) -> frozenset[MilestonePair]:
    """The stored [earlier, later] names as milestone pairs; anything unreadable is ignored."""
    out = set()
    for pair in raw or ():
        try:
            out.add((Milestone(pair[0]), Milestone(pair[1])))
        except (ValueError, TypeError, IndexError, KeyError):
            continue
    return frozenset(out)


def stored_pairs(pairs: Iterable[MilestonePair]) -> list[list[str]]:
    order = {p: i for i, p in enumerate(MILESTONE_BEFORE)}
    return [[a.value, b.value] for a, b in sorted(set(pairs), key=lambda p: order.get(p, len(order)))]


def pair_text(pair: MilestonePair, values: dict[Milestone, datetime | None]) -> str:
    """'Resolved (…) is before Mitigated (…)' for a flagged pair, with the times when they are known."""
    earlier, later = pair
    a, b = values.get(earlier), values.get(later)
    if a is None or b is None:
        return f"{later.label} is before {earlier.label}"
    b_text, a_text = utc_texts(b, a)
    return f"{later.label} ({b_text}) is before {earlier.label} ({a_text})"


def milestone_order_problem(
    values: dict[Milestone, datetime | None], tolerated: Iterable[MilestonePair] = ()
) -> str | None:
    """Why a set of milestones is out of order, in words, or None when it is fine. Pairs already flagged on
    an imported incident (`tolerated`) are its history as recorded and do not stop other changes."""
    allowed = frozenset(tolerated)
    for earlier, later in order_conflicts(values):
        if (earlier, later) in allowed:
            continue
        b_text, a_text = utc_texts(values[later], values[earlier])
        return (
            f"'{later.label}' ({b_text}) cannot come before '{earlier.label}' ({a_text}): "
            f"{earlier.label.lower()} must happen first."
        )
    return None


def still_flagged(
    values: dict[Milestone, datetime | None], flagged: Iterable[MilestonePair]
) -> list[list[str]]:
    """The flagged pairs that the milestones still contradict (moving a time into order clears its flag)."""
    keep = frozenset(flagged)
    return stored_pairs(p for p in order_conflicts(values) if p in keep)
