"""Importing incident histories: a CSV with a column mapping, a Statuspage `incidents.json`, or a Sitrep export.

What holds for every format:
- each imported incident is marked with its source and carries an external reference (`external_ref`), so
  importing the same file again finds it and changes nothing;
- a bad row is reported with file, row and reason, and the good rows still import (in one transaction);
- each incident gets a real timeline (a declaration entry, and for Statuspage one entry per status update),
  hash-chained exactly as `services.timeline.append_entry` chains it, so `sitrep verify` holds.

The rows are written with Core executemany, not the ORM, because a history is thousands of incidents.
Store entry hooks (the sync outbox) are deliberately not run, as for `sitrep import`: years of history are not
news the backends are owed.

Longer than ~500 lines: three formats share one checked, chained, single-transaction write path; split by
format it would spread that path over modules that each need all of it.
"""

from __future__ import annotations

import contextlib
import csv
import email.utils
import hashlib
import io
import json
import os
import re
import sqlite3
import tomllib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from operator import itemgetter
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import column as sql_column
from sqlalchemy import func, insert, select
from sqlalchemy import table as sql_table

from models.entities import Incident, TimelineEntry
from models.enums import MILESTONE_ORDER, EntryKind, Milestone, Status
from models.types import as_utc, iso
from services.catalog import Catalog
from services.changes import Topic
from services.errors import ImportFailure, StoreError, ValidationError
from services.incidents import INCIDENT_TYPES, milestone_order_problem
from services.store import storage_error
from services.timeline import GENESIS_HASH, MAX_BODY, _clean_author, entry_digest

FORMATS = ("csv", "statuspage", "sitrep")

# Fields a CSV column can be mapped to. Milestones take their enum names (e.g. "resolved").
TEXT_FIELDS = (
    "ref",
    "title",
    "summary",
    "services",
    "severity",
    "type",
    "status",
    "affected_users",
    "exercise",
)
CSV_FIELDS = TEXT_FIELDS + tuple(m.value for m in Milestone)
_FIELD_ALIASES = {
    "id": "ref",
    "key": "ref",
    "external_ref": "ref",
    "name": "title",
    "incident_type": "type",
    "service": "services",
    "components": "services",
    "users": "affected_users",
    "is_exercise": "exercise",
    "drill": "exercise",
    **{f"{m.value}_at": m.value for m in Milestone},
}

_I = Incident.__table__
_T = TimelineEntry.__table__
_CHUNK = 1000
_MILESTONE_NAMES = tuple((m, m.value) for m in Milestone)

Progress = Callable[[str, int, int], None]


def _no_progress(_phase: str, _done: int, _total: int) -> None:
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
    problems: list[RowProblem] = field(default_factory=list)
    skipped: list[RowProblem] = field(default_factory=list)  # not incidents (e.g. scheduled maintenance)
    dry_run: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.created) and not self.dry_run

    def as_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "format": self.format,
            "source": self.source,
            "rows": self.rows,
            "created": self.created,
            "unchanged": self.unchanged,
            "problems": [{"file": p.file, "row": p.row, "reason": p.reason} for p in self.problems],
            "skipped": [{"file": p.file, "row": p.row, "reason": p.reason} for p in self.skipped],
            "dry_run": self.dry_run,
        }


# -- column mapping ---------------------------------------------------------------------------------------
def _field_name(name: str) -> str:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = _FIELD_ALIASES.get(key, key)
    if key not in CSV_FIELDS:
        raise ValidationError(
            f"'{name}' is not something a column can be mapped to. Use one of: {', '.join(CSV_FIELDS)}.",
            field="mapping",
        )
    return key


@dataclass
class ColumnMapping:
    """Which CSV column holds what, and how to read its values."""

    columns: dict[str, str] = field(default_factory=dict)  # field -> column header
    timezone: str | None = None
    date_formats: list[str] = field(default_factory=list)
    services_separator: str | None = None
    delimiter: str | None = None
    source: str | None = None
    severity_values: dict[str, str] = field(default_factory=dict)
    type_values: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_pairs(cls, pairs: Iterable[str]) -> ColumnMapping:
        mapping = cls()
        for pair in pairs:
            name, sep, column = pair.partition("=")
            if not sep or not name.strip() or not column.strip():
                raise ValidationError(f"'{pair}' is not FIELD=Column (e.g. title=Summary).", field="mapping")
            mapping.columns[_field_name(name)] = column.strip()
        return mapping

    @classmethod
    def from_file(cls, path: Path) -> ColumnMapping:
        try:
            doc = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ImportFailure(f"{path}: no such mapping file.") from None
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ImportFailure(f"{path}: not a readable mapping file ({exc}).") from None
        mapping = cls()
        columns = doc.get("columns", {})
        if not isinstance(columns, dict) or not all(isinstance(v, str) for v in columns.values()):
            raise ImportFailure(f"{path}: [columns] must map fields to column names.")
        try:
            mapping.columns = {_field_name(k): v.strip() for k, v in columns.items()}
        except ValidationError as exc:
            raise ImportFailure(f"{path}: {exc.message}") from None
        for key in ("timezone", "services_separator", "delimiter", "source"):
            value = doc.get(key)
            if value is not None and not isinstance(value, str):
                raise ImportFailure(f"{path}: '{key}' must be a string.")
            setattr(mapping, key, value)
        formats = doc.get("date_formats", [])
        if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
            raise ImportFailure(f"{path}: 'date_formats' must be a list of strftime patterns.")
        mapping.date_formats = list(formats)
        for key in ("severity_values", "type_values"):
            table = doc.get(key, {})
            if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
                raise ImportFailure(f"{path}: [{key}] must map values to names.")
            setattr(mapping, key, {str(k).strip().lower(): v for k, v in table.items()})
        return mapping

    def merged_with(self, other: ColumnMapping) -> ColumnMapping:
        """This mapping with `other`'s settings laid over it (command-line flags over a mapping file)."""
        return ColumnMapping(
            columns={**self.columns, **other.columns},
            timezone=other.timezone or self.timezone,
            date_formats=other.date_formats or self.date_formats,
            services_separator=other.services_separator or self.services_separator,
            delimiter=other.delimiter or self.delimiter,
            source=other.source or self.source,
            severity_values={**self.severity_values, **other.severity_values},
            type_values={**self.type_values, **other.type_values},
        )

    def to_toml(self) -> str:
        """The mapping as a file that `from_file` reads back (for --save-mapping)."""

        def q(value: str) -> str:
            return json.dumps(value, ensure_ascii=False)

        lines = ["# Sitrep import-history column mapping"]
        for key in ("source", "timezone", "services_separator", "delimiter"):
            if getattr(self, key):
                lines.append(f"{key} = {q(getattr(self, key))}")
        if self.date_formats:
            lines.append(f"date_formats = [{', '.join(q(f) for f in self.date_formats)}]")
        lines += ["", "[columns]"] + [f"{k} = {q(v)}" for k, v in self.columns.items()]
        for key in ("severity_values", "type_values"):
            table = getattr(self, key)
            if table:
                lines += ["", f"[{key}]"] + [f"{q(k)} = {q(v)}" for k, v in table.items()]
        return "\n".join(lines) + "\n"


# -- reading times ----------------------------------------------------------------------------------------
# Unambiguous layouts tried after ISO 8601. Day/month order is never guessed: 03/04/2026 needs --date-format.
_BUILTIN_FORMATS = (
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
            for fmt in _BUILTIN_FORMATS:
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
    return as_utc(parsed)


# -- what an import produces before it is written ---------------------------------------------------------
@dataclass
class _Entry:
    kind: EntryKind
    body: str
    occurred_at: datetime
    data: dict[str, Any] | None = None
    occurred_text: str | None = None  # iso(occurred_at), when already known


@dataclass
class _Candidate:
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
    entries: list[_Entry]
    milestone_text: dict[str, str] = field(default_factory=dict)  # the set ones, as stored (iso)


class _RowError(Exception):
    pass


def _in_order(milestones: dict[Milestone, datetime | None]) -> bool:
    """The quick check on times already in UTC; milestone_order_problem words the answer when it fails."""
    for earlier, later in MILESTONE_ORDER:
        a, b = milestones.get(earlier), milestones.get(later)
        if a is not None and b is not None and a > b:
            return False
    return True


def _clip(text: str, limit: int = MAX_BODY) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _declaration_body(severity_label: str, severity: str, major: bool, title: str, origin: str) -> str:
    kind = "Major incident" if major else "Incident"
    return f"{kind} declared at {severity} ({severity_label}): {title} (imported from {origin})"


# -- the service ------------------------------------------------------------------------------------------
class HistoryImport:
    def __init__(self, store, catalog: Catalog, now: Callable[[], datetime], publish, exchange) -> None:
        self._store = store
        self._catalog = catalog
        self._now = now
        self._publish = publish
        self._exchange = exchange

    def detect_format(self, path: Path) -> str:
        suffix = Path(path).suffix.lower()
        if suffix in (".csv", ".tsv", ".txt"):
            return "csv"
        doc = self._read_json(Path(path))
        if isinstance(doc, dict) and doc.get("format") == "sitrep.export":
            return "sitrep"
        if isinstance(doc, dict) and isinstance(doc.get("incidents"), list):
            return "statuspage"
        raise ImportFailure(f"{path}: cannot tell what this file is; say --format csv, statuspage or sitrep.")

    def import_file(
        self,
        path: Path | str,
        *,
        author: str,
        format: str | None = None,
        mapping: ColumnMapping | None = None,
        timezone: str | None = None,
        dry_run: bool = False,
        progress: Progress = _no_progress,
    ) -> HistoryReport:
        path = Path(path)
        author = _clean_author(author)
        fmt = (format or self.detect_format(path)).strip().lower()
        if fmt not in FORMATS:
            raise ValidationError(
                f"Unknown format '{fmt}'. Use one of: {', '.join(FORMATS)}.", field="format"
            )
        if fmt == "sitrep":
            return self._import_sitrep(path, dry_run)
        tz_name = timezone or (mapping.timezone if mapping else None)
        tz = zone(tz_name)
        if fmt == "csv":
            report, candidates = self._read_csv(path, mapping or ColumnMapping(), tz, progress)
        else:
            report, candidates = self._read_statuspage(path, tz, progress)
        report.dry_run = dry_run
        self._write(report, candidates, author, dry_run, progress)
        if report.changed:
            self._publish(Topic.INCIDENT, None, None)
        return report

    # -- Sitrep's own export ------------------------------------------------------------------------------
    def _import_sitrep(self, path: Path, dry_run: bool) -> HistoryReport:
        if dry_run:
            raise ValidationError("--dry-run is for CSV and Statuspage files; `sitrep import` validates a Sitrep "
                                  "export completely before writing anything.")  # fmt: skip
        result = self._exchange.import_file(path)
        report = HistoryReport(str(path), "sitrep", "sitrep")
        report.created = list(result.created)
        report.unchanged = len(result.unchanged) + len(result.extended)
        report.rows = len(result.created) + len(result.unchanged) + len(result.extended)
        return report

    # -- CSV ----------------------------------------------------------------------------------------------
    def _read_csv(
        self, path: Path, mapping: ColumnMapping, tz: tzinfo, progress: Progress
    ) -> tuple[HistoryReport, list[_Candidate]]:
        try:
            raw = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise ImportFailure(f"{path}: no such file.") from None
        except UnicodeDecodeError:
            raise ImportFailure(f"{path}: not UTF-8 text. Save it as CSV UTF-8 and try again.") from None
        except OSError as exc:
            raise ImportFailure(f"{path}: cannot be read ({exc.strerror}).") from None
        source = (mapping.source or "csv").strip()[:40] or "csv"
        report = HistoryReport(str(path), "csv", source)
        delimiter = mapping.delimiter or self._sniff_delimiter(raw)
        reader = csv.reader(io.StringIO(raw, newline=""), delimiter=delimiter)
        try:
            header = next(reader)
        except StopIteration:
            raise ImportFailure(f"{path}: the file is empty.") from None
        except csv.Error as exc:
            raise ImportFailure(f"{path}: not a CSV file ({exc}).") from None
        columns = self._resolve_columns(path, header, mapping)
        name = path.name
        candidates: list[_Candidate] = []
        seen: dict[str, str] = {}
        line = reader.line_num
        rows: list[tuple[int, list[str]]] = []
        try:
            for cells in reader:
                rows.append((line + 1, cells))
                line = reader.line_num
        except csv.Error as exc:
            raise ImportFailure(
                f"{path}: row {line + 1}: the CSV is malformed ({exc}). Nothing was imported."
            ) from None
        total = len(rows)
        for n, (row_no, cells) in enumerate(rows, start=1):
            if n % 500 == 0 and n < total:
                progress("reading", n, total)
            if not any(c.strip() for c in cells):
                continue
            report.rows += 1
            where = f"row {row_no}"
            try:
                cand = self._csv_candidate(cells, header, columns, mapping, tz, source, name, where)
            except _RowError as exc:
                report.problems.append(RowProblem(name, where, str(exc)))
                continue
            if cand.external_ref in seen:
                report.problems.append(
                    RowProblem(name, where, f"the same incident as {seen[cand.external_ref]}; left out")
                )
                continue
            seen[cand.external_ref] = where
            candidates.append(cand)
        progress("reading", total, total)
        return report, candidates

    @staticmethod
    def _sniff_delimiter(raw: str) -> str:
        try:
            return csv.Sniffer().sniff(raw[:8192], delimiters=",;\t|").delimiter
        except csv.Error:
            return ","

    @staticmethod
    def _resolve_columns(path: Path, header: list[str], mapping: ColumnMapping) -> dict[str, int]:
        index = {h.strip().lower(): i for i, h in enumerate(header)}
        columns: dict[str, int] = {}
        # Headers that already say what they are (title, severity, resolved_at, ...) need no mapping.
        for h, i in index.items():
            with contextlib.suppress(ValidationError):
                columns[_field_name(h)] = i
        missing = []
        for fld, col in mapping.columns.items():
            i = index.get(col.strip().lower())
            if i is None:
                missing.append(f"{fld}={col}")
            else:
                columns[fld] = i
        if missing:
            raise ImportFailure(
                f"{path}: no column named {', '.join(missing)}. The columns are: "
                f"{', '.join(h for h in header)}. Nothing was imported."
            )
        needed = [f for f in ("title", "severity", "declared") if f not in columns]
        if needed:
            raise ImportFailure(
                f"{path}: say which column holds the {', '.join(needed)} (e.g. --map title=Summary "
                f"--map severity=Priority --map declared=Created). Nothing was imported."
            )
        return columns

    def _csv_candidate(
        self,
        cells: list[str],
        header: list[str],
        columns: dict[str, int],
        mapping: ColumnMapping,
        tz: tzinfo,
        source: str,
        file_name: str,
        where: str,
    ) -> _Candidate:
        def cell(fld: str) -> str:
            i = columns.get(fld)
            return cells[i].strip() if i is not None and i < len(cells) else ""

        title = cell("title")
        if not title:
            raise _RowError("no title")
        if len(title) > 300:
            raise _RowError("the title is longer than 300 characters")
        level = self._severity(cell("severity"), mapping.severity_values)
        itype = self._incident_type(cell("type"), mapping.type_values)
        milestones: dict[Milestone, datetime | None] = {}
        now = self._now()
        for m, name in _MILESTONE_NAMES:
            text = cell(name)
            if not text:
                milestones[m] = None
                continue
            try:
                milestones[m] = parse_history_time(text, tz, mapping.date_formats)
            except ValueError as exc:
                raise _RowError(f"{m.label} ({header[columns[name]]}): {exc}") from None
            if milestones[m] > now:
                raise _RowError(f"{m.label} ({text}) is in the future")
        if milestones[Milestone.DECLARED] is None:
            raise _RowError("no declared time")
        if not _in_order(milestones):
            raise _RowError(milestone_order_problem(milestones) or "the milestones are out of order")
        milestone_text = {name: iso(v) for m, name in _MILESTONE_NAMES if (v := milestones[m]) is not None}
        services = self._services(cell("services"), mapping.services_separator)
        users = self._users(cell("affected_users"))
        exercise = self._flag(cell("exercise"))
        status = self._csv_status(cell("status"), milestones)
        ref = cell("ref")
        if ref:
            external_ref = f"{source}:{ref}"
        else:
            # No id column: the row itself is the identity, so the same file imports once.
            fingerprint = json.dumps([cell(f) for f in CSV_FIELDS], ensure_ascii=False)
            external_ref = f"{source}:row:{hashlib.sha256(fingerprint.encode('utf-8')).hexdigest()[:32]}"
        if len(external_ref) > 200:
            raise _RowError("the id is longer than 190 characters")
        origin = f"{file_name}, {where}"
        declared = milestones[Milestone.DECLARED]
        assert declared is not None
        entries = [
            _Entry(
                EntryKind.STATUS_CHANGE,
                _declaration_body(level.label, level.id, level.major, title, origin),
                declared,
                {
                    "action": "declared",
                    "to": Status.DECLARED.value,
                    "severity": level.id,
                    "major": level.major,
                    "exercise": exercise,
                    "services": services,
                    "milestones": milestone_text,
                    "imported_from": origin,
                    "external_ref": external_ref,
                },
                milestone_text[Milestone.DECLARED.value],
            )
        ]
        if status is not Status.DECLARED:
            at = self._status_time(status, milestones) or declared
            entries.append(
                _Entry(
                    EntryKind.STATUS_CHANGE,
                    f"Status changed: {Status.DECLARED.label} → {status.label} (imported from {origin})",
                    at,
                    {
                        "from": Status.DECLARED.value,
                        "to": status.value,
                        "reason": None,
                        "imported_from": origin,
                    },
                )
            )
        return _Candidate(
            row=where,
            external_ref=external_ref,
            source=source,
            title=title,
            summary=cell("summary"),
            incident_type=itype,
            severity=level.id,
            is_major=level.major,
            status=status,
            is_exercise=exercise,
            services=services,
            affected_users=users,
            milestones=milestones,
            entries=entries,
            milestone_text=milestone_text,
        )

    def _severity(self, raw: str, values: dict[str, str]):
        if not raw:
            raise _RowError("no severity")
        text = values.get(raw.strip().lower(), raw).strip()
        by_label = {lv.label.lower(): lv for lv in self._catalog.severities.values()}
        if text.lower() in by_label:
            return by_label[text.lower()]
        if re.fullmatch(r"[Pp]\d", text):
            text = text[1:]
        try:
            return self._catalog.severity(text)
        except ValidationError:
            raise _RowError(
                f"severity '{raw}' is not one of {', '.join(self._catalog.severities)} "
                "(map other values in the mapping file's [severity_values])"
            ) from None

    @staticmethod
    def _incident_type(raw: str, values: dict[str, str]) -> str:
        if not raw:
            return "other"
        text = values.get(raw.strip().lower(), raw).strip().lower().replace(" ", "_").replace("-", "_")
        if text not in INCIDENT_TYPES:
            raise _RowError(
                f"incident type '{raw}' is not one of {', '.join(INCIDENT_TYPES)} "
                "(map other values in the mapping file's [type_values])"
            )
        return text

    @staticmethod
    def _services(raw: str, separator: str | None) -> list[str]:
        parts = raw.split(separator) if separator else re.split(r"[;,|\n]", raw)
        out: list[str] = []
        for p in parts:
            p = p.strip()
            if p and p not in out:
                out.append(p[:120])
        return out

    @staticmethod
    def _users(raw: str) -> int | None:
        if not raw:
            return None
        text = raw.replace(",", "").replace("_", "").replace(" ", "")
        if not text.isdigit():
            raise _RowError(f"affected users '{raw}' is not a whole number")
        return int(text)

    @staticmethod
    def _flag(raw: str) -> bool:
        text = raw.strip().lower()
        if text in ("", "no", "n", "false", "0", "f"):
            return False
        if text in ("yes", "y", "true", "1", "t", "x", "drill", "exercise"):
            return True
        raise _RowError(f"'{raw}' is not yes or no (exercise)")

    @staticmethod
    def _csv_status(raw: str, milestones: dict[Milestone, datetime | None]) -> Status:
        if raw:
            text = raw.strip().lower()
            text = {"monitoring": "mitigated", "postmortem": "closed", "open": "investigating"}.get(
                text, text
            )
            try:
                return Status(text)
            except ValueError:
                known = ", ".join(s.value for s in Status)
                raise _RowError(f"status '{raw}' is not one of {known}") from None
        for m, st in (
            (Milestone.CLOSED, Status.CLOSED),
            (Milestone.RESOLVED, Status.RESOLVED),
            (Milestone.MITIGATED, Status.MITIGATED),
        ):
            if milestones.get(m) is not None:
                return st
        return Status.INVESTIGATING

    @staticmethod
    def _status_time(status: Status, milestones: dict[Milestone, datetime | None]) -> datetime | None:
        return {
            Status.CLOSED: milestones.get(Milestone.CLOSED),
            Status.RESOLVED: milestones.get(Milestone.RESOLVED),
            Status.MITIGATED: milestones.get(Milestone.MITIGATED),
        }.get(status)

    # -- Statuspage ---------------------------------------------------------------------------------------
    @staticmethod
    def _read_json(path: Path) -> Any:
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ImportFailure(f"{path}: no such file.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ImportFailure(f"{path}: cannot be read ({exc}).") from None
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ImportFailure(
                f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})."
            ) from None

    def _read_statuspage(
        self, path: Path, tz: tzinfo, progress: Progress
    ) -> tuple[HistoryReport, list[_Candidate]]:
        doc = self._read_json(path)
        if not isinstance(doc, dict) or not isinstance(doc.get("incidents"), list):
            raise ImportFailure(f"{path}: not a Statuspage incidents.json (no 'incidents' list).")
        page = doc.get("page") if isinstance(doc.get("page"), dict) else {}
        page_id = str(page.get("id") or "")
        page_name = str(page.get("name") or page_id or "status page")
        page_tz = tz
        if isinstance(page.get("time_zone"), str):
            try:
                page_tz = ZoneInfo(page["time_zone"])
            except (ZoneInfoNotFoundError, ValueError):
                page_tz = tz
        report = HistoryReport(str(path), "statuspage", "statuspage")
        name = path.name
        candidates: list[_Candidate] = []
        seen: set[str] = set()
        incidents = doc["incidents"]
        for n, raw in enumerate(incidents):
            if n and n % 500 == 0 and n < len(incidents):
                progress("reading", n, len(incidents))
            report.rows += 1
            ident = raw.get("id") if isinstance(raw, dict) else None
            where = f"incidents[{n}]" + (f" ({ident})" if isinstance(ident, str) else "")
            try:
                cand = self._statuspage_candidate(raw, page_id, page_name, page_tz, name, where)
            except _RowError as exc:
                report.problems.append(RowProblem(name, where, str(exc)))
                continue
            if cand is None:
                report.skipped.append(RowProblem(name, where, "scheduled maintenance, not an incident"))
                continue
            if cand.external_ref in seen:
                report.problems.append(
                    RowProblem(name, where, "this incident appears twice in the file; left out")
                )
                continue
            seen.add(cand.external_ref)
            candidates.append(cand)
        progress("reading", len(incidents), len(incidents))
        return report, candidates

    _SP_STATUS = {
        "investigating": Status.INVESTIGATING,
        "identified": Status.IDENTIFIED,
        "monitoring": Status.MITIGATED,
        "resolved": Status.RESOLVED,
        "postmortem": Status.CLOSED,
    }
    _SP_MAINTENANCE = frozenset({"scheduled", "in_progress", "verifying", "completed"})
    _SP_SEVERITY = {"critical": "SEV1", "major": "SEV2", "minor": "SEV3", "none": "SEV4"}

    def _statuspage_candidate(
        self, raw: Any, page_id: str, page_name: str, tz: tzinfo, file_name: str, where: str
    ) -> _Candidate | None:
        if not isinstance(raw, dict):
            raise _RowError("expected an incident object")
        ident, title = raw.get("id"), raw.get("name")
        if not isinstance(ident, str) or not ident.strip():
            raise _RowError("no incident 'id'")
        if not isinstance(title, str) or not title.strip():
            raise _RowError("no incident 'name'")
        title = title.strip()
        impact = raw.get("impact")
        if impact == "maintenance" or raw.get("status") in self._SP_MAINTENANCE or raw.get("scheduled_for"):
            return None
        if impact not in self._SP_SEVERITY:
            raise _RowError(f"impact {impact!r} is not one of none, minor, major, critical")
        updates_raw = raw.get("incident_updates")
        if not isinstance(updates_raw, list) or not updates_raw:
            raise _RowError("no incident_updates (the first update is the declaration)")

        def when(obj: dict, *keys: str) -> datetime | None:
            for key in keys:
                value = obj.get(key)
                if value in (None, ""):
                    continue
                if not isinstance(value, str):
                    raise _RowError(f"'{key}' is not a timestamp")
                try:
                    return parse_history_time(value, tz)
                except ValueError as exc:
                    raise _RowError(f"'{key}': {exc}") from None
            return None

        updates = []
        for j, u in enumerate(updates_raw):
            if not isinstance(u, dict):
                raise _RowError(f"incident_updates[{j}] is not an object")
            status = u.get("status")
            if status in self._SP_MAINTENANCE:
                return None
            if status not in self._SP_STATUS:
                raise _RowError(f"incident_updates[{j}] has status {status!r}")
            at = when(u, "display_at", "created_at")
            if at is None:
                raise _RowError(f"incident_updates[{j}] has no display_at or created_at")
            updates.append((at, j, status, u))
        updates.sort(key=lambda t: (t[0], t[1]))  # the feed lists the newest first
        declared = updates[0][0]
        started = when(raw, "started_at", "created_at") or declared
        # Impact cannot have begun after the first public post about it.
        impact_started = min(started, declared)
        first_of = {}
        last_of = {}
        for at, _j, status, _u in updates:
            first_of.setdefault(status, at)
            last_of[status] = at
        final = self._SP_STATUS.get(raw.get("status"), self._SP_STATUS[updates[-1][2]])
        resolved = None
        if final in (Status.RESOLVED, Status.CLOSED):
            resolved = last_of.get("resolved") or when(raw, "resolved_at") or last_of.get("postmortem")
        # Statuspage's "monitoring" means a fix is in and being watched: customer impact has stopped. Without
        # a monitoring phase, impact is taken to have ended when the incident was resolved.
        mitigated = first_of.get("monitoring") or when(raw, "monitoring_at") or resolved
        if mitigated is not None and resolved is not None and mitigated > resolved:
            mitigated = resolved
        closed = first_of.get("postmortem") if final is Status.CLOSED else None
        milestones: dict[Milestone, datetime | None] = {m: None for m in Milestone}
        milestones.update(
            {
                Milestone.IMPACT_STARTED: impact_started,
                Milestone.DECLARED: declared,
                Milestone.MITIGATED: mitigated,
                Milestone.RESOLVED: resolved,
                Milestone.CLOSED: closed,
            }
        )
        now = self._now()
        if any(v is not None and v > now for v in milestones.values()):
            raise _RowError("its times are in the future")
        if not _in_order(milestones):
            raise _RowError(milestone_order_problem(milestones) or "the milestones are out of order")
        milestone_text = {name: iso(v) for m, name in _MILESTONE_NAMES if (v := milestones[m]) is not None}
        level = self._catalog.severity(self._SP_SEVERITY[impact])
        services = self._statuspage_services(raw, updates)
        itype = self._statuspage_type(impact, updates)
        origin = f"{page_name} status page"
        source = "statuspage"
        external_ref = f"statuspage:{page_id or page_name}:{ident.strip()}"[:200]
        entries: list[_Entry] = []
        previous: Status | None = None
        shortlink = raw.get("shortlink") if isinstance(raw.get("shortlink"), str) else None
        for at, _j, status, u in updates:
            mapped = self._SP_STATUS[status]
            body_text = str(u.get("body") or "").strip()
            data = {
                "statuspage_update_id": u.get("id"),
                "statuspage_status": status,
                "affected_components": u.get("affected_components"),
            }
            if previous is None:
                body = _declaration_body(level.label, level.id, level.major, title, origin)
                if body_text:
                    body += f". First update ({status.capitalize()}): {body_text}"
                data.update(
                    {
                        "action": "declared",
                        "to": mapped.value,
                        "severity": level.id,
                        "major": level.major,
                        "exercise": False,
                        "services": services,
                        "milestones": milestone_text,
                        "imported_from": origin,
                        "external_ref": external_ref,
                        "shortlink": shortlink,
                    }
                )
                entries.append(_Entry(EntryKind.STATUS_CHANGE, _clip(body), at, data))
            elif mapped is not previous:
                data.update({"from": previous.value, "to": mapped.value, "reason": None})
                body = f"Status changed: {previous.label} → {mapped.label}. Status page update: {body_text}"
                entries.append(_Entry(EntryKind.STATUS_CHANGE, _clip(body), at, data))
            else:
                body = f"Status page update ({status.capitalize()}): {body_text or '(no text)'}"
                entries.append(_Entry(EntryKind.COMMS, _clip(body), at, data))
            previous = mapped
        summary = (
            f"Imported from the {page_name} status page" + (f" ({shortlink})" if shortlink else "") + "."
        )
        return _Candidate(
            row=where,
            external_ref=external_ref,
            source=source,
            title=title[:300],
            summary=summary,
            incident_type=itype,
            severity=level.id,
            is_major=level.major,
            status=final,
            is_exercise=False,
            services=services,
            affected_users=None,
            milestones=milestones,
            entries=entries,
            milestone_text=milestone_text,
        )

    @staticmethod
    def _statuspage_services(raw: dict, updates: list) -> list[str]:
        def names_in(objects: Iterable[Any]) -> list[str]:
            out: list[str] = []
            for c in objects:
                name = c.get("name") if isinstance(c, dict) else None
                name = name.strip()[:120] if isinstance(name, str) else ""
                if name and name not in out:
                    out.append(name)
            return out

        return names_in(raw.get("components") or []) or names_in(
            c for _at, _j, _s, u in updates for c in (u.get("affected_components") or [])
        )

    @staticmethod
    def _statuspage_type(impact: str, updates: list) -> str:
        statuses = {
            c.get("new_status")
            for _at, _j, _s, u in updates
            for c in (u.get("affected_components") or [])
            if isinstance(c, dict)
        }
        if statuses & {"major_outage", "partial_outage"}:
            return "service_outage"
        if "degraded_performance" in statuses:
            return "degraded_performance"
        return "service_outage" if impact in ("major", "critical") else "degraded_performance"

    # -- writing ------------------------------------------------------------------------------------------
    def _write(
        self,
        report: HistoryReport,
        candidates: list[_Candidate],
        author: str,
        dry_run: bool,
        progress: Progress,
    ) -> None:
        if not candidates:
            return
        now = self._now()
        now_text = iso(now)
        with self._store.write_connection() as conn:
            existing: set[str] = set()
            refs = [c.external_ref for c in candidates]
            for i in range(0, len(refs), 500):
                chunk = refs[i : i + 500]
                existing.update(
                    conn.execute(select(_I.c.external_ref).where(_I.c.external_ref.in_(chunk))).scalars()
                )
            fresh = [c for c in candidates if c.external_ref not in existing]
            report.unchanged = len(candidates) - len(fresh)
            number = (conn.execute(select(func.max(_I.c.number))).scalar() or 0) + 1
            total = len(fresh)
            for start in range(0, total, _CHUNK):
                batch = fresh[start : start + _CHUNK]
                ids = _new_ids(len(batch) + sum(len(c.entries) for c in batch))
                incident_rows: list[dict[str, Any]] = []
                entry_rows: list[dict[str, Any]] = []
                for cand in batch:
                    key = f"INC-{number:04d}"
                    incident_id = next(ids)
                    incident_rows.append(_incident_row(cand, incident_id, number, key, now_text))
                    entry_rows.extend(_chain(incident_id, cand, author, now, now_text, ids))
                    report.created.append(key)
                    number += 1
                if not dry_run:
                    _insert_stored(conn, _I_INSERT, _I_NAMES, incident_rows)
                    _insert_stored(conn, _T_INSERT, _T_NAMES, entry_rows)
                progress("writing", min(start + _CHUNK, total), total)


# The rows below already hold what is stored (UTC text, JSON text, 0/1), so they go to the driver as
# tuples, inside the same transaction: Core's executemany spends ~15 us per row turning each dict into
# parameters, which at 30,000 rows was a fifth of an import.
_I_NAMES = tuple(c.name for c in _I.columns)
_T_NAMES = tuple(c.name for c in _T.columns)
_I_INSERT = f"INSERT INTO {_I.name} ({', '.join(_I_NAMES)}) VALUES ({', '.join('?' * len(_I_NAMES))})"
_T_INSERT = f"INSERT INTO {_T.name} ({', '.join(_T_NAMES)}) VALUES ({', '.join('?' * len(_T_NAMES))})"


def _insert_stored(conn, sql: str, names: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
    if conn.dialect.name != "sqlite":  # another driver has its own parameter style: let Core speak it
        stored = sql_table(_I.name if names is _I_NAMES else _T.name, *(sql_column(n) for n in names))
        conn.execute(insert(stored), rows)
        return
    try:
        # Every row names every column (a new column the import forgets fails its tests, not silently NULL).
        conn.connection.driver_connection.executemany(sql, map(itemgetter(*names), rows))
    except sqlite3.IntegrityError as exc:  # the driver's own errors: SQLAlchemy is not there to wrap them
        raise StoreError(f"The change conflicts with what is stored ({exc}). Nothing was saved.") from None
    except sqlite3.Error as exc:
        raise storage_error(exc) from None


_MILESTONE_COLUMNS = tuple((m.value, m.column) for m in Milestone)


def _new_ids(count: int) -> Iterator[str]:
    """Random (version 4) UUIDs, from one read of the system's random source instead of one per id."""
    pool = bytearray(os.urandom(16 * count))
    # The version (4) and variant (RFC 4122) bits, set as uuid.UUID(version=4) sets them, for every id at once.
    pool[6::16] = bytes((b & 0x0F) | 0x40 for b in pool[6::16])
    pool[8::16] = bytes((b & 0x3F) | 0x80 for b in pool[8::16])
    text = pool.hex()
    for k in range(0, 32 * count, 32):
        h = text[k : k + 32]
        yield f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _incident_row(cand: _Candidate, incident_id: str, number: int, key: str, now_text: str) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": incident_id,
        "number": number,
        "key": key,
        "title": cand.title,
        "summary": cand.summary,
        "incident_type": cand.incident_type,
        "severity": cand.severity,
        "status": cand.status.value,
        "is_major": int(cand.is_major),
        "is_exercise": int(cand.is_exercise),
        "services": json.dumps(cand.services),
        "affected_users": cand.affected_users,
        "error_rate_pct": None,
        "source": cand.source,
        "external_ref": cand.external_ref,
        "created_at": now_text,
        "updated_at": now_text,
    }
    text = cand.milestone_text
    for name, col in _MILESTONE_COLUMNS:
        row[col] = text.get(name)
    return row


def _chain(
    incident_id: str, cand: _Candidate, author: str, now: datetime, now_text: str, ids: Iterator[str]
) -> Iterator[dict[str, Any]]:
    """A new incident's timeline, hashed entry by entry by the same function append_entry uses."""
    prev = GENESIS_HASH
    source = f"import:{cand.source}"
    for seq, e in enumerate(cand.entries, start=1):
        row: dict[str, Any] = {
            "id": next(ids),
            "incident_id": incident_id,
            "seq": seq,
            "kind": e.kind.value,
            "body": e.body,
            "rationale": None,
            "author": author,
            "source": source,
            "occurred_at": e.occurred_at,
            "recorded_at": now,
            "data": e.data,
            "supersedes_id": None,
            "prev_hash": prev,
        }
        row["hash"] = prev = entry_digest(prev, row)
        row["occurred_at"] = e.occurred_text or iso(e.occurred_at)
        row["recorded_at"] = now_text
        row["data"] = json.dumps(e.data) if e.data is not None else None
        yield row
