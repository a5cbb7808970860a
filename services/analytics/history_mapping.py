"""Which history CSV column holds what: the fields, the headers that name themselves, the headers recognised
but not imported, and a mapping from flags or a TOML file (read back by --mapping, written by --save-mapping)."""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from models.enums import Milestone
from services.errors import ImportFailure, ValidationError

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


# -- column mapping ---------------------------------------------------------------------------------------
def field_name(name: str) -> str:
    key = name.strip().lower().replace("-", "_").replace(" ", "_")
    key = _FIELD_ALIASES.get(key, key)
    if key not in CSV_FIELDS:
        raise ValidationError(
            f"'{name}' is not something a column can be mapped to. Use one of: {', '.join(CSV_FIELDS)}.",
            field="mapping",
        )
    return key


# Headers people use for things Sitrep does not take from a history file, with the reason it does not.
_COMPUTED = (
    "a duration Sitrep computes from the milestones (see `sitrep metrics --definitions`); not imported"
)
_UNUSED_HEADERS = {
    **dict.fromkeys(
        (
            "duration",
            "downtime",
            "outage_duration",
            "mttr",
            "ttr",
            "mttd",
            "ttd",
            "mtta",
            "tta",
            "time_to_resolve",
            "time_to_detect",
            "time_to_acknowledge",
            "time_to_mitigate",
            "time_to_identify",
            "minutes",
            "duration_minutes",
        ),
        _COMPUTED,
    ),  # fmt: skip
    **dict.fromkeys(
        ("commander", "incident_commander", "ic", "owner", "assignee", "responder", "on_call"),
        "people are not imported with a history (roles are held by people in the directory)",
    ),  # fmt: skip
    **dict.fromkeys(
        ("root_cause", "cause", "postmortem", "postmortem_url", "post_mortem", "rca"),
        "not imported; put it in the summary column (--map summary=...) to keep it",
    ),  # fmt: skip
}


def recognised_unused(header: str) -> str | None:
    key = header.strip().lower().replace("-", "_").replace(" ", "_")
    for suffix in ("_(min)", "_(minutes)", "_(h)", "_(hours)", "_min", "_mins"):
        if key.endswith(suffix) and key[: -len(suffix)] in _UNUSED_HEADERS:
            key = key[: -len(suffix)]
    return _UNUSED_HEADERS.get(key)


@dataclass
class ColumnMapping:
    """Which CSV column holds what, and how to read its values."""

    columns: dict[str, str] = field(default_factory=dict)  # field -> column header
    timezone: str | None = None
    date_formats: list[str] = field(default_factory=list)
    services_separator: str | None = None
    delimiter: str | None = None
    source: str | None = None
    # What a cell's value means, per field: {"severity": {"0": "SEV5", "p1": "SEV1"}} (keys lower-case).
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    default_severity: str | None = None  # for rows (or files) without one; else "unknown"

    @property
    def severity_values(self) -> dict[str, str]:
        return self.values.get("severity", {})

    @property
    def type_values(self) -> dict[str, str]:
        return self.values.get("type", {})

    @classmethod
    def from_pairs(cls, pairs: Iterable[str], value_maps: Iterable[str] = ()) -> ColumnMapping:
        """--map FIELD=Column (an empty column unmaps what the header would map) and
        --values FIELD=raw:Meant,raw:Meant."""
        mapping = cls()
        for pair in pairs:
            name, sep, column = pair.partition("=")
            if not sep or not name.strip():
                raise ValidationError(
                    f"'{pair}' is not FIELD=Column (e.g. title=Summary; mitigated= unmaps).", field="mapping"
                )
            mapping.columns[field_name(name)] = column.strip()
        for spec in value_maps:
            name, sep, items = spec.partition("=")
            table: dict[str, str] = {}
            for item in items.split(","):
                raw, colon, meant = item.rpartition(":")
                if not colon or not raw.strip() or not meant.strip():
                    raise ValidationError(
                        f"'{spec}' is not FIELD=value:Meaning,... (e.g. severity=0:SEV5,1:SEV4).",
                        field="values",
                    )
                table[raw.strip().lower()] = meant.strip()
            if not sep or not name.strip():
                raise ValidationError(
                    f"'{spec}' does not say which field its values are for.", field="values"
                )
            mapping.values.setdefault(field_name(name), {}).update(table)
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
            mapping.columns = {field_name(k): v.strip() for k, v in columns.items()}
        except ValidationError as exc:
            raise ImportFailure(f"{path}: {exc.message}") from None
        for key in ("timezone", "services_separator", "delimiter", "source", "default_severity"):
            value = doc.get(key)
            if value is not None and not isinstance(value, str):
                raise ImportFailure(f"{path}: '{key}' must be a string.")
            setattr(mapping, key, value)
        formats = doc.get("date_formats", [])
        if not isinstance(formats, list) or not all(isinstance(f, str) for f in formats):
            raise ImportFailure(f"{path}: 'date_formats' must be a list of strftime patterns.")
        mapping.date_formats = list(formats)
        tables = {"severity": doc.get("severity_values", {}), "type": doc.get("type_values", {})}
        per_field = doc.get("values", {})
        if not isinstance(per_field, dict):
            raise ImportFailure(f"{path}: [values.FIELD] tables must map values to what they mean.")
        for name, table in per_field.items():
            if not isinstance(table, dict):
                raise ImportFailure(f"{path}: [values.{name}] must map values to what they mean.")
            try:
                key = field_name(name)
            except ValidationError as exc:
                raise ImportFailure(f"{path}: [values.{name}]: {exc.message}") from None
            tables[key] = {**tables.get(key, {}), **table}
        for name, table in tables.items():
            if not isinstance(table, dict) or not all(isinstance(v, str) for v in table.values()):
                raise ImportFailure(f"{path}: the values of {name} must map values to names.")
            if table:
                mapping.values[name] = {str(k).strip().lower(): v for k, v in table.items()}
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
            values={
                f: {**self.values.get(f, {}), **other.values.get(f, {})}
                for f in {*self.values, *other.values}
            },
            default_severity=other.default_severity or self.default_severity,
        )

    def to_toml(self) -> str:
        """The mapping as a file that `from_file` reads back (for --save-mapping)."""

        def q(value: str) -> str:
            return json.dumps(value, ensure_ascii=False)

        lines = ["# Sitrep import-history column mapping"]
        for key in ("source", "timezone", "services_separator", "delimiter", "default_severity"):
            if getattr(self, key):
                lines.append(f"{key} = {q(getattr(self, key))}")
        if self.date_formats:
            lines.append(f"date_formats = [{', '.join(q(f) for f in self.date_formats)}]")
        lines += ["", "[columns]"] + [f"{k} = {q(v)}" for k, v in self.columns.items()]
        for name, table in self.values.items():
            if table:
                lines += ["", f"[values.{name}]"] + [f"{q(k)} = {q(v)}" for k, v in table.items()]
        return "\n".join(lines) + "\n"
