"""A history CSV read into incidents, each row judged on its own (the column mapping is history_mapping)."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from models.enums import EntryKind, Milestone, Status
from models.types import iso
from services.analytics.history_mapping import CSV_FIELDS, ColumnMapping, field_name, recognised_unused
from services.analytics.history_rows import (
    MILESTONE_NAMES,
    NO_LEVEL,
    Candidate,
    Entry,
    HistoryReader,
    HistoryReport,
    Progress,
    RowError,
    RowProblem,
    clip,
    declaration_body,
    milestone_flags,
    parse_history_time,
)
from services.errors import ImportFailure, ValidationError
from services.record.catalog import UNKNOWN_SEVERITY
from services.record.incidents import INCIDENT_TYPES
from services.text.limits import AFFECTED_USERS_MAX


class CsvHistory(HistoryReader):
    """Reads a history CSV into candidates; nothing is written here."""

    def read(
        self, path: Path, mapping: ColumnMapping, tz: tzinfo, progress: Progress
    ) -> tuple[HistoryReport, list[Candidate]]:
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
        columns, report.columns = self._resolve_columns(path, header, mapping)
        name = path.name
        candidates: list[Candidate] = []
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
        report.columns += self._empty_columns(header, columns, rows)
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
            except RowError as exc:
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
    def _resolve_columns(
        path: Path, header: list[str], mapping: ColumnMapping
    ) -> tuple[dict[str, int], list[str]]:
        """Which column holds each field, and the recognised columns that will not be used (with why)."""
        index = {h.strip().lower(): i for i, h in enumerate(header)}
        columns: dict[str, int] = {}
        notes: list[str] = []
        # Headers that already say what they are (title, severity, resolved_at, ...) need no mapping.
        for i, h in enumerate(header):
            try:
                fld = field_name(h)
            except ValidationError:
                fld = recognised_unused(h)
                if fld:
                    notes.append(f"'{h}': {fld}")
                continue
            if fld in columns:
                notes.append(
                    f"'{h}' also means {fld}; '{header[columns[fld]]}' is used for it and this column is not "
                    f'(choose with --map {fld}="{h}")'
                )
                continue
            columns[fld] = i
        if "severity" not in columns and "priority" in index:
            columns["severity"] = index["priority"]
        missing = []
        for fld, col in mapping.columns.items():
            if not col:  # --map mitigated= : the header would map it, the user says not to
                if fld in columns:
                    notes.append(
                        f"'{header[columns.pop(fld)]}' is not used for {fld} (unmapped with --map {fld}=)"
                    )
                continue
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
        if "title" not in columns:
            raise ImportFailure(
                f"{path}: say which column holds the title (e.g. --map title=Summary). Nothing was imported."
            )
        if not any(m.value in columns for m in Milestone):
            raise ImportFailure(
                f"{path}: no column holds a time (e.g. --map declared=Created or --map impact_started=Start). "
                "Nothing was imported."
            )
        return columns, notes

    @staticmethod
    def _empty_columns(
        header: list[str], columns: dict[str, int], rows: list[tuple[int, list[str]]]
    ) -> list[str]:
        used = {i for _n, cells in rows for i, c in enumerate(cells) if c.strip()}
        return [
            f"'{header[i]}' ({fld}) is empty in every row"
            for fld, i in columns.items()
            if i not in used and rows
        ]

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
    ) -> Candidate:
        # Every mapped cell read once, its value mapped once: a row's fields are asked for more than once.
        found: dict[str, str] = {}
        width = len(cells)
        for fld, i in columns.items():
            text = cells[i].strip() if i < width else ""
            if text and (values := mapping.values.get(fld)):
                text = values.get(text.lower(), text)
            found[fld] = text

        def cell(fld: str) -> str:
            return found.get(fld, "")

        title = cell("title")
        if not title:
            raise RowError("no title")
        if len(title) > 300:
            raise RowError("the title is longer than 300 characters")
        level = self._severity(cell("severity") or mapping.default_severity or "", mapping.severity_values)
        itype = self._incident_type(cell("type"), mapping.type_values)
        milestones: dict[Milestone, datetime | None] = {}
        now = self._now()
        for m, name in MILESTONE_NAMES:
            text = cell(name)
            if not text:
                milestones[m] = None
                continue
            try:
                milestones[m] = parse_history_time(text, tz, mapping.date_formats)
            except ValueError as exc:
                raise RowError(f"{m.label} ({header[columns[name]]}): {exc}") from None
            if milestones[m] > now:
                raise RowError(f"{m.label} ({text}) is in the future")
        known = [v for v in milestones.values() if v is not None]
        if not known:
            raise RowError("no time at all (declared, detected, impact started, ...)")
        flagged, flag_text = milestone_flags(milestones)
        milestone_text = {name: iso(v) for m, name in MILESTONE_NAMES if (v := milestones[m]) is not None}
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
            raise RowError("the id is longer than 190 characters")
        origin = f"{file_name}, {where}"
        declared = milestones[Milestone.DECLARED]
        first_at = declared or min(known)
        body = declaration_body(level.label, level.id, level.major, title, origin, declared is not None)
        if flag_text:
            body += f". Times that contradict each other in the source: {flag_text}"
        entries = [
            Entry(
                EntryKind.STATUS_CHANGE,
                clip(body),
                first_at,
                {
                    "action": "declared" if declared else "recorded",
                    "flagged_pairs": flagged,
                    "to": Status.DECLARED.value,
                    "severity": level.id,
                    "major": level.major,
                    "exercise": exercise,
                    "services": services,
                    "milestones": milestone_text,
                    "imported_from": origin,
                    "external_ref": external_ref,
                },
                iso(first_at),
            )
        ]
        if status is not Status.DECLARED:
            at = self._status_time(status, milestones) or first_at
            entries.append(
                Entry(
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
        return Candidate(
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
            flagged_pairs=flagged,
            flag_text=flag_text,
        )

    def _severity(self, raw: str, values: dict[str, str]):
        if not raw or raw.strip().lower() == UNKNOWN_SEVERITY:
            return NO_LEVEL
        text = values.get(raw.strip().lower(), raw).strip()
        by_label = self._levels_by_label()
        if text.lower() in by_label:
            return by_label[text.lower()]
        if re.fullmatch(r"[Pp]\d", text):
            text = text[1:]
        try:
            return self._catalog.severity(text)
        except ValidationError:
            raise RowError(
                f"severity '{raw}' is not one of {', '.join(self._catalog.severities)} "
                "(map other values with --values severity=raw:SEVn,... or the mapping file's [values.severity])"
            ) from None

    def _levels_by_label(self) -> dict[str, Any]:
        """The catalog's levels by their label in lower case, made once per catalog rather than per row."""
        levels = self._catalog.severities
        if getattr(self, "_by_label_of", None) is not levels:
            self._by_label = {lv.label.lower(): lv for lv in levels.values()}
            self._by_label_of = levels
        return self._by_label

    @staticmethod
    def _incident_type(raw: str, values: dict[str, str]) -> str:
        if not raw:
            return "other"
        text = values.get(raw.strip().lower(), raw).strip().lower().replace(" ", "_").replace("-", "_")
        if text not in INCIDENT_TYPES:
            raise RowError(
                f"incident type '{raw}' is not one of {', '.join(INCIDENT_TYPES)} "
                "(map other values with --values type=raw:name,... or the mapping file's [values.type])"
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
            raise RowError(f"affected users '{raw}' is not a whole number")
        if len(text) > len(str(AFFECTED_USERS_MAX)) or int(text) > AFFECTED_USERS_MAX:
            raise RowError(f"affected users '{raw[:20]}' is more than {AFFECTED_USERS_MAX:,}")
        return int(text)

    @staticmethod
    def _flag(raw: str) -> bool:
        text = raw.strip().lower()
        if text in ("", "no", "n", "false", "0", "f"):
            return False
        if text in ("yes", "y", "true", "1", "t", "x", "drill", "exercise"):
            return True
        raise RowError(f"'{raw}' is not yes or no (exercise)")

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
                raise RowError(f"status '{raw}' is not one of {known}") from None
        for m, st in (
            (Milestone.CLOSED, Status.CLOSED),
            (Milestone.RESOLVED, Status.RESOLVED),
            (Milestone.MITIGATED, Status.MITIGATED),
            (Milestone.IDENTIFIED, Status.IDENTIFIED),
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
            Status.IDENTIFIED: milestones.get(Milestone.IDENTIFIED),
        }.get(status)
