"""What every history format produces before it is written: the report, the incidents read (candidates)
with their timeline entries, and reading a time from a history file."""

from __future__ import annotations

import email.utils
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from models.enums import EntryKind, Milestone, Status
from models.types import as_utc
from services.errors import ImportFailure, ValidationError
from services.record.catalog import UNKNOWN_SEVERITY, Catalog
from services.record.milestone_order import order_conflicts, pair_text, stored_pairs
from services.record.timeline import MAX_BODY
from services.text.limits import load_json_text
from services.text.time_range import history_problem

MILESTONE_NAMES = tuple((m, m.value) for m in Milestone)

Progress = Callable[[str, int, int], None]


def no_progress(_phase: str, _done: int, _total: int) -> None:
    return None


# -- reports ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowProblem:
    file: str
    row: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}, {self.row}: {self.reason}"


@dataclass
class HistoryReport:
    file: str
    format: str
    source: str
    rows: int = 0
    created: list[str] = field(default_factory=list)
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)  # rows refused
    skipped: list[RowProblem] = field(default_factory=list)  # not incidents (e.g. scheduled maintenance)
    flagged: list[RowProblem] = field(default_factory=list)  # imported, with contradicting milestone pairs
    columns: list[str] = field(default_factory=list)  # columns recognised but not used, and why
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.created) and not self.dry_run

    @property
    def imported_with_flags(self) -> int:
        return len(self.flagged)

    def summary_lines(self) -> list[str]:
        """The summary a person reads (the CLI prints it, the console's import dialog shows it)."""
        verb = "Would import" if self.dry_run else "Imported"
        line = f"{verb} {len(self.created):,} incident(s) from {Path(self.file).name} ({self.format})"
        if self.created:
            line += f": {self.created[0]}" + (f" … {self.created[-1]}" if len(self.created) > 1 else "")
        lines = [
            line,
            f"  imported:                     {len(self.created) - len(self.flagged):,}",
            f"  imported with flagged pairs:  {len(self.flagged):,}"
            + ("  (only the metrics using a flagged pair leave them out)" if self.flagged else ""),
            f"  refused:                      {len(self.problems):,}",
        ]
        if self.unchanged:
            lines.append(f"  already imported, unchanged:  {self.unchanged:,}")
        if self.skipped:
            lines.append(f"  not incidents, skipped:       {len(self.skipped):,}")
        lines.append(f"Outcome: {self.outcome}.")
        return lines

    @property
    def outcome(self) -> str:
        """ "all imported", "imported with warnings" (rows refused or pairs flagged) or "nothing imported"."""
        if self.problems and not self.created and not self.unchanged:
            return "nothing imported"
        if self.problems or self.flagged:
            return "imported with warnings"
        return "all imported"

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "source": self.source,
            "rows": self.rows,
            "created": self.created,
            "unchanged": self.unchanged,
            "summary": {
                "imported": len(self.created),
                "imported_with_flagged_pairs": len(self.flagged),
                "refused": len(self.problems),
                "already_imported": self.unchanged,
                "not_incidents": len(self.skipped),
                "outcome": self.outcome,
            },
            "problems": [{"file": p.file, "row": p.row, "reason": p.reason} for p in self.problems],
            "flagged": [{"file": p.file, "row": p.row, "reason": p.reason} for p in self.flagged],
            "skipped": [{"file": p.file, "row": p.row, "reason": p.reason} for p in self.skipped],
            "columns_not_used": self.columns,
            "dry_run": self.dry_run,
        }


# -- reading times ----------------------------------------------------------------------------------------
# Unambiguous layouts tried after ISO 8601. Day/month order is never guessed: 03/04/2026 needs --date-format.
BUILTIN_FORMATS = (
    "%Y/%m/%d %H:%M:%S",
    "%Y/%m/%d %H:%M",
    "%d %b %Y %H:%M:%S",
    "%d %b %Y %H:%M",
    "%d %B %Y %H:%M:%S",
    "%d %B %Y %H:%M",
    "%b %d, %Y %H:%M:%S",
    "%b %d, %Y %H:%M",
    "%b %d, %Y %I:%M %p",
    "%B %d, %Y %H:%M",
    "%B %d, %Y %I:%M %p",
    "%d-%b-%Y %H:%M:%S",
    "%d-%b-%Y %H:%M",
)
_SLASHED = re.compile(r"^\d{1,2}[/.]\d{1,2}[/.]\d{2,4}\b")


def zone(name: str | None) -> tzinfo:
    if not name:
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"Unknown time zone '{name}'. Use an IANA name such as Europe/Berlin or UTC.", field="tz"
        ) from None


def parse_history_time(raw: str, tz: tzinfo, formats: Iterable[str] = ()) -> datetime:
    """A UTC datetime from a cell. Naive times are read in `tz`. Raises ValueError with words for a person."""
    value = raw.strip()
    parsed: datetime | None = None
    for fmt in formats:
        try:
            parsed = datetime.strptime(value, fmt)
            break
        except ValueError:
            continue
    if parsed is None:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            for fmt in BUILTIN_FORMATS:
                try:
                    parsed = datetime.strptime(value, fmt)
                    break
                except ValueError:
                    continue
    if parsed is None and "," in value and value[:3].isalpha():
        try:  # RFC 2822, as mail and some exports write it
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            parsed = None
    if parsed is None:
        if _SLASHED.match(value):
            raise ValueError(
                f"'{value}' could be day/month or month/day; say which with --date-format "
                "(e.g. '%d/%m/%Y %H:%M')"
            )
        raise ValueError(f"'{value}' is not a time I can read (use ISO 8601, or give --date-format)")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    problem = history_problem(parsed, datetime.now(UTC))
    if problem:
        raise ValueError(f"'{value}' {problem}")
    return as_utc(parsed)


# -- what an import produces before it is written ---------------------------------------------------------
@dataclass
class Entry:
    kind: EntryKind
    body: str
    occurred_at: datetime
    data: dict[str, Any] | None = None
    occurred_text: str | None = None  # iso(occurred_at), when already known


@dataclass
class Candidate:
    row: str
    external_ref: str
    source: str
    title: str
    summary: str
    incident_type: str
    severity: str
    is_major: bool
    status: Status
    is_exercise: bool
    services: list[str]
    affected_users: int | None
    milestones: dict[Milestone, datetime | None]
    entries: list[Entry]
    milestone_text: dict[str, str] = field(default_factory=dict)  # the set ones, as stored (iso)
    flagged_pairs: list[list[str]] = field(default_factory=list)
    flag_text: str = ""


class RowError(Exception):
    pass


def milestone_flags(milestones: dict[Milestone, datetime | None]) -> tuple[list[list[str]], str]:
    """The milestone pairs a row contradicts, as stored and in words. The row is still imported: only the
    metrics that use one of these pairs leave it out (judged per pair, not per row)."""
    conflicts = order_conflicts(milestones)
    if not conflicts:
        return [], ""
    return stored_pairs(conflicts), "; ".join(pair_text(p, milestones) for p in conflicts)


def clip(text: str, limit: int = MAX_BODY) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def declaration_body(
    severity_label: str, severity: str, major: bool, title: str, origin: str, declared: bool = True
) -> str:
    kind = "Major incident" if major else "Incident"
    how = "declared" if declared else "recorded (never formally declared)"
    level = f"{severity} ({severity_label})" if severity != UNKNOWN_SEVERITY else "no recorded severity"
    return f"{kind} {how} at {level}: {title} (imported from {origin})"


@dataclass(frozen=True)
class Level:
    id: str
    label: str
    major: bool


NO_LEVEL = Level(UNKNOWN_SEVERITY, "not recorded", False)


def read_json(path: Path) -> Any:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ImportFailure(f"{path}: no such file.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailure(f"{path}: cannot be read ({exc}).") from None
    return load_json_text(raw, origin=str(path), failure=ImportFailure)


class HistoryReader:
    """Reads one history format into candidates (incidents not yet written); writing is HistoryImport's."""

    def __init__(self, catalog: Catalog, now: Callable[[], datetime]) -> None:
        self._catalog = catalog
        self._now = now
