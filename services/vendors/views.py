"""What the vendor services return: plain frozen rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from services.record.clocks import Clock

RESPONSE, RESOLUTION = "vendor_response", "vendor_resolution"  # clock id prefixes, ":" + the case key


@dataclass(frozen=True)
class VendorCaseView:
    id: str
    key: str
    incident_id: str
    incident_key: str
    vendor_id: str
    vendor_name: str
    contract_ref: str
    priority: str
    ticket_ref: str | None
    service: str
    terms: dict[str, Any]
    opened_at: datetime
    opened_by: str
    response_due_at: datetime
    resolution_due_at: datetime | None
    level: int
    level_since: datetime
    first_reply_at: datetime | None
    last_reply_at: datetime | None
    replies: int
    status: str
    outcome: str | None
    closed_at: datetime | None
    closed_by: str | None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def number_sort(self) -> int:
        return int(self.key.split("-")[-1]) if self.key.split("-")[-1].isdigit() else 0

    @property
    def ladder(self) -> list[dict[str, Any]]:
        return list(self.terms.get("ladder") or [])

    def ladder_level(self, level: int) -> dict[str, Any] | None:
        return next((lv for lv in self.ladder if lv.get("level") == level), None)

    @property
    def level_title(self) -> str:
        lv = self.ladder_level(self.level)
        return lv["title"] if lv else f"level {self.level}"

    @property
    def next_level(self) -> dict[str, Any] | None:
        return self.ladder_level(self.level + 1)

    @property
    def answered_at_level(self) -> bool:
        """Whether the vendor has answered since the case reached the level it is at."""
        return self.last_reply_at is not None and self.last_reply_at >= self.level_since

    @property
    def climb_due_at(self) -> datetime | None:
        """When the contract says to call the next level: its minutes after this level was reached with no
        answer since. None at the top of the ladder, once answered, or when the case is closed."""
        nxt = self.next_level
        if not self.is_open or nxt is None or self.answered_at_level or not nxt.get("climb_after_min"):
            return None
        return self.level_since + timedelta(minutes=int(nxt["climb_after_min"]))

    def ladder_lines(self, marker: str = ">") -> list[str]:
        """The ladder as lines for a person, the level the case is at marked."""
        out = []
        for lv in self.ladder:
            here = marker if lv["level"] == self.level else " " * len(marker)
            after = f", after {lv['climb_after_min']} min without a response" if lv.get("climb_after_min") else ""
            reach = " / ".join(x for x in (lv.get("email"), lv.get("phone")) if x)
            out.append(f"{here} L{lv['level']} {lv['title']}: {lv['contact']} {reach}{after}")
        return out

    def clocks(self) -> list[Clock]:
        """The contract's two clocks: response (met by the first reply) and resolution (met by closing the
        case as resolved). A case closed before a deadline with that clock unmet no longer runs it."""
        who = f"{self.vendor_name} {self.priority}"
        out: list[Clock] = []
        response_met = self.first_reply_at
        if response_met is not None or not (self.closed_at and self.closed_at <= self.response_due_at):
            out.append(Clock(f"{RESPONSE}:{self.key}", f"{who} response ({self.key})", self.response_due_at,
                             response_met))  # fmt: skip
        if self.resolution_due_at is not None:
            resolved = self.closed_at if self.outcome == "resolved" else None
            if resolved is not None or not (self.closed_at and self.closed_at <= self.resolution_due_at):
                out.append(Clock(f"{RESOLUTION}:{self.key}", f"{who} resolution ({self.key})",
                                 self.resolution_due_at, resolved))  # fmt: skip
        return out

    def state_text(self, now: datetime) -> str:
        """One line a commander reads first: what the contract says about this case now."""
        if not self.is_open:
            return f"closed ({self.outcome})"
        parts = []
        for c in self.clocks():
            state = c.state(now)
            what = "response" if c.id.startswith(RESPONSE) else "resolution"
            if state == "breached":
                parts.append(f"{what} BREACHED")
            elif state == "met_late":
                parts.append(f"{what} late")
            elif state == "running":
                minutes = int(c.remaining(now).total_seconds() // 60)
                parts.append(f"{what} due in {minutes} min")
        climb = self.climb_due_at
        if climb is not None and now >= climb:
            parts.append(f"climb to L{self.level + 1} now")
        return "; ".join(parts) or "answered"


@dataclass(frozen=True)
class CaseEvent:
    """One thing that happened on a case, read from the timeline."""

    at: datetime
    action: str  # opened | reply | climbed | ticket | closed
    author: str
    text: str
    seq: int
