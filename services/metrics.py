"""Incident metrics: time to detect, acknowledge, mitigate, resolve, time between incidents, customer impact.

Each metric is a named pair of milestones defined as data (resources/metrics.toml, overridable in the config
folder), so the figures always come with the definition that produced them. The engine asks SQLite for only
the columns and rows it needs and does the grouping there; Python only sorts each group's values for the
median and p90.

Honest data: an incident whose milestones for a metric are missing or out of order is left out of that metric
and listed with the reason, never averaged in as a zero or a negative. Exercises are left out unless asked.
"""

from __future__ import annotations

import bisect
import json
import math
import re
import sqlite3
import threading
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

from models.enums import MILESTONE_BEFORE, Milestone
from models.types import as_utc, iso
from resources import resource_path
from services.catalog import UNKNOWN_SEVERITY
from services.errors import ValidationError
from services.store import storage_error

KINDS = ("duration", "between", "impact")
PERIODS = ("week", "month", "quarter")
GROUPINGS = ("service", "severity", "type", *PERIODS, "all")
NO_SERVICE = "(no service)"
DEFINITIONS_FILE = "metrics.toml"

# The moment an incident "happened", for periods, date filters and the scatter's x axis: the earliest of the
# milestones people usually know, in the order they are trusted.
ANCHOR_MILESTONES = (Milestone.IMPACT_STARTED, Milestone.DETECTED, Milestone.DECLARED)


# -- definitions ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricDefinition:
    """A figure per incident from two moments. `start` (and `end`) is an ordered fallback list: the first
    milestone the incident has is used ("detected, else impact started")."""

    id: str
    label: str
    short: str
    kind: str
    start: tuple[Milestone, ...]
    end: tuple[Milestone, ...] | None
    description: str

    @property
    def unit(self) -> str:
        return "user-minutes" if self.kind == "impact" else "minutes"

    @property
    def formula(self) -> str:
        s = _moment_text(self.start)
        if self.kind == "between":
            return f"next incident's {s} − this incident's {s} (same service)"
        e = _moment_text(self.end) if self.end else "?"
        if self.kind == "impact":
            return f"affected users × ({e} − {s})"
        return f"{e} − {s}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "short": self.short,
            "kind": self.kind,
            "start": [m.value for m in self.start],
            "end": [m.value for m in self.end] if self.end else None,
            "formula": self.formula,
            "unit": self.unit,
            "description": self.description,
        }


def _moment_text(moments: tuple[Milestone, ...]) -> str:
    names = [m.label.lower() if m is not Milestone.IC_ASSIGNED else m.label for m in moments]
    return names[0] if len(names) == 1 else "(" + ", else ".join(names) + ")"


def _definition(raw: dict[str, Any], where: str) -> MetricDefinition:
    def need(key: str) -> str:
        value = raw.get(key)
        if not isinstance(value, str) or not value.strip():
            raise ValidationError(f"{where}: '{key}' must be a non-empty string.")
        return value.strip()

    def milestones(key: str) -> tuple[Milestone, ...]:
        value = raw.get(key)
        names = [value] if isinstance(value, str) else value
        if (
            not isinstance(names, list)
            or not names
            or not all(isinstance(n, str) and n.strip() for n in names)
        ):
            raise ValidationError(
                f"{where}: '{key}' must be a milestone or a list of them, the first present one used "
                '(e.g. ["detected", "impact_started"]).'
            )
        out: list[Milestone] = []
        for name in names:
            try:
                m = Milestone(name.strip())
            except ValueError:
                known = ", ".join(m.value for m in Milestone)
                raise ValidationError(
                    f"{where}: '{key}' names {name!r}, which is not a milestone ({known})."
                ) from None
            if m in out:
                raise ValidationError(f"{where}: '{key}' names {name!r} twice.")
            out.append(m)
        return tuple(out)

    kind = need("kind")
    if kind not in KINDS:
        raise ValidationError(f"{where}: kind {kind!r} is not one of {', '.join(KINDS)}.")
    start = milestones("start")
    end = None if kind == "between" else milestones("end")
    if end is not None and set(end) & set(start):
        raise ValidationError(f"{where}: start and end name the same milestone.")
    label = need("label")
    return MetricDefinition(
        id=need("id"),
        label=label,
        short=str(raw.get("short") or label),
        kind=kind,
        start=start,
        end=end,
        description=str(raw.get("description") or ""),
    )


def _read_toml(path: Path | Any) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValidationError(f"{path} cannot be read: {exc}") from None


def load_definitions(config_dir: Path | None = None) -> dict[str, MetricDefinition]:
    """The shipped definitions, with the user's metrics.toml (if any) merged over them by id."""
    merged: dict[str, dict[str, Any]] = {}
    sources: list[tuple[str, dict[str, Any]]] = [
        ("the shipped metrics.toml", _read_toml(resource_path(DEFINITIONS_FILE)))
    ]
    user_file = config_dir / DEFINITIONS_FILE if config_dir is not None else None
    if user_file is not None and user_file.is_file():
        sources.append((str(user_file), _read_toml(user_file)))
    for origin, doc in sources:
        entries = doc.get("metric", [])
        if not isinstance(entries, list):
            raise ValidationError(f"{origin}: 'metric' must be a list of [[metric]] tables.")
        for i, raw in enumerate(entries):
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str):
                raise ValidationError(f"{origin}: metric #{i + 1} needs an 'id'.")
            merged[raw["id"]] = {**merged.get(raw["id"], {}), **raw, "_origin": origin}
    out: dict[str, MetricDefinition] = {}
    for mid, raw in merged.items():
        if raw.get("enabled", True) is False:
            continue
        out[mid] = _definition(raw, f"{raw['_origin']}: metric '{mid}'")
    if not out:
        raise ValidationError("No metrics are defined (every one is disabled).")
    return out


_BEFORE = frozenset(MILESTONE_BEFORE)


def milestones_between(start: Milestone, end: Milestone) -> list[Milestone]:
    """Milestones that, when set, must lie between start and end (detected lies inside time to resolve)."""
    return [m for m in Milestone if (start, m) in _BEFORE and (m, end) in _BEFORE]


# -- results ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class MetricFilter:
    """Which incidents count. Dates select by when an incident happened (impact started, else detected,
    else declared): since inclusive, until exclusive."""

    since: datetime | None = None
    until: datetime | None = None
    services: tuple[str, ...] = ()
    severities: tuple[str, ...] = ()
    incident_types: tuple[str, ...] = ()
    include_exercises: bool = False
    # Leave out every incident with a flagged milestone pair from every metric (as studies that drop
    # incidents with inconsistent stage data do), not only from the metrics that use the pair.
    exclude_flagged: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "since": iso(self.since),
            "until": iso(self.until),
            "services": list(self.services),
            "severities": list(self.severities),
            "incident_types": list(self.incident_types),
            "include_exercises": self.include_exercises,
            "exclude_flagged": self.exclude_flagged,
        }


@dataclass(frozen=True)
class Figures:
    """Figures asked for beyond count, mean, median, p90, min and max: more percentiles (0-100) and the
    share of incidents at or under each threshold (label as the person wrote it, minutes)."""

    percentiles: tuple[float, ...] = ()
    share_under: tuple[tuple[str, float], ...] = ()


def percentile_name(p: float) -> str:
    return f"p{p:g}".replace(".", "_")


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (the 'inclusive' method)."""
    n = len(sorted_values)
    pos = q * (n - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, n - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


@dataclass(frozen=True)
class Share:
    label: str  # the threshold as asked, e.g. "1m"
    minutes: float
    count: int  # values at or under the threshold
    share: float | None  # count / n, None when there is no value

    def as_dict(self) -> dict[str, Any]:
        return {
            "threshold": self.label,
            "threshold_minutes": self.minutes,
            "count": self.count,
            "share": self.share,
        }


@dataclass(frozen=True)
class Stats:
    count: int
    mean: float | None = None
    median: float | None = None
    p90: float | None = None
    min: float | None = None
    max: float | None = None
    q1: float | None = None
    q3: float | None = None
    percentiles: tuple[tuple[float, float | None], ...] = ()  # (p, value) for each percentile asked for
    shares: tuple[Share, ...] = ()

    @classmethod
    def of(cls, sorted_values: Sequence[float], figures: Figures | None = None) -> Stats:
        figures = figures or Figures()
        n = len(sorted_values)
        shares = tuple(
            Share(label, minutes, c := bisect.bisect_right(sorted_values, minutes), c / n if n else None)
            for label, minutes in figures.share_under
        )
        if n == 0:
            return cls(0, percentiles=tuple((p, None) for p in figures.percentiles), shares=shares)
        return cls(
            count=n,
            mean=math.fsum(sorted_values) / n,
            median=quantile(sorted_values, 0.5),
            p90=quantile(sorted_values, 0.9),
            min=sorted_values[0],
            max=sorted_values[-1],
            q1=quantile(sorted_values, 0.25),
            q3=quantile(sorted_values, 0.75),
            percentiles=tuple((p, quantile(sorted_values, p / 100)) for p in figures.percentiles),
            shares=shares,
        )

    def as_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in ("count", "mean", "median", "p90", "min", "max", "q1", "q3")}
        out.update({percentile_name(p): v for p, v in self.percentiles})
        if self.shares:
            out["share_under"] = [x.as_dict() for x in self.shares]
        return out


@dataclass(frozen=True)
class Exclusion:
    incident_id: str
    key: str
    reason: str


@dataclass(frozen=True)
class GroupStats:
    group: str
    stats: Stats


@dataclass(frozen=True)
class MetricSamples:
    """Every counted value of one metric, grouped; what charts draw and tables summarise."""

    metric: MetricDefinition
    by: str
    filter: MetricFilter
    groups: dict[str, list[float]]  # group -> values in ascending order
    overall: list[float]  # one value per incident (per incident and service for "between"), ascending
    excluded: list[Exclusion]


PER_SERVICE_NOTE = "an incident on several services counts for each of them; 'all' counts it once"


@dataclass(frozen=True)
class MetricTable:
    metric: MetricDefinition
    by: str
    filter: MetricFilter
    groups: list[GroupStats]
    overall: Stats
    excluded: list[Exclusion] = field(default_factory=list)

    @property
    def counting(self) -> str | None:
        """How incidents are counted when that is not one per incident (per service)."""
        return PER_SERVICE_NOTE if self.by == "service" and self.metric.kind != "between" else None

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric.as_dict(),
            "by": self.by,
            "counting": self.counting,
            "filter": self.filter.as_dict(),
            "overall": self.overall.as_dict(),
            "groups": [{"group": g.group, **g.stats.as_dict()} for g in self.groups],
            "excluded": [
                {"incident": x.key, "incident_id": x.incident_id, "reason": x.reason} for x in self.excluded
            ],
        }


@dataclass(frozen=True)
class MetricPoint:
    """One counted value for the scatter: which incident, when it happened, and the value."""

    incident_id: str
    key: str
    title: str
    at: datetime
    value: float
    severity: str
    incident_type: str
    service: str | None  # set for "between" points, which belong to one service


@dataclass(frozen=True)
class MetricDashboard:
    """Everything the charts panel draws for one metric and filter, computed in one go (off the GUI thread)."""

    metric: MetricDefinition
    period: str
    filter: MetricFilter
    trend: MetricTable  # by period, only the periods with incidents
    periods: list[tuple[str, datetime, datetime]]  # every period from the first to the last, gaps included
    by_service: MetricSamples
    by_severity: MetricTable
    overall: MetricTable  # all together, with every exclusion
    points: list[MetricPoint]


def period_start(period: str, label: str) -> datetime:
    """The first moment (UTC) of a period label: '2026-03-09' (week), '2026-03' (month), '2026-Q1'."""
    if period == "week":
        return datetime.fromisoformat(label).replace(tzinfo=UTC)
    if period == "month":
        year, month = label.split("-")
        return datetime(int(year), int(month), 1, tzinfo=UTC)
    if period == "quarter":
        year, q = label.split("-Q")
        return datetime(int(year), (int(q) - 1) * 3 + 1, 1, tzinfo=UTC)
    raise ValueError(f"not a period: {period}")


def next_period(period: str, start: datetime) -> datetime:
    if period == "week":
        return start + timedelta(days=7)
    months = 1 if period == "month" else 3
    month = start.month - 1 + months
    return start.replace(year=start.year + month // 12, month=month % 12 + 1)


def period_label(period: str, start: datetime) -> str:
    if period == "week":
        return start.date().isoformat()
    if period == "month":
        return f"{start.year:04d}-{start.month:02d}"
    return f"{start.year:04d}-Q{(start.month - 1) // 3 + 1}"


def period_range(period: str, labels: Iterable[str]) -> list[tuple[str, datetime, datetime]]:
    """Every period from the earliest label to the latest, so a quiet month shows as a gap, not nothing."""
    labels = sorted(labels)
    if not labels:
        return []
    out = []
    start, last = period_start(period, labels[0]), period_start(period, labels[-1])
    while start <= last:
        end = next_period(period, start)
        out.append((period_label(period, start), start, end))
        start = end
    return out


def check_figures(figures: Figures) -> Figures:
    for p in figures.percentiles:
        if not 0 <= p <= 100:
            raise ValidationError(f"A percentile is from 0 to 100, not {p:g}.", field="percentile")
    for label, minutes in figures.share_under:
        if minutes < 0:
            raise ValidationError(f"A threshold cannot be negative ({label}).", field="share_under")
    return replace(
        figures,
        percentiles=tuple(dict.fromkeys(figures.percentiles)),
        share_under=tuple(dict.fromkeys(figures.share_under)),
    )


# -- formatting -------------------------------------------------------------------------------------------
UNITS = {"h": 60.0, "min": 1.0, "s": 1 / 60}  # minutes in each unit `--unit` can fix
UNIT_WORDS = {"h": "hours", "min": "minutes", "s": "seconds"}


def format_minutes(minutes: float | None, unit: str | None = None) -> str:
    """A duration with the precision it needs: seconds under a minute, minutes and seconds under an hour,
    hours and minutes under a day, hours with two decimals beyond. `unit` fixes one unit (h, min, s), for
    comparing with published tables."""
    if minutes is None or (isinstance(minutes, float) and math.isnan(minutes)):
        return "-"
    if unit is not None:
        value = minutes / UNITS[unit]
        return f"{value:.0f}" if unit == "s" else f"{value:.2f}"
    sign = "-" if minutes < 0 else ""
    m = abs(minutes)
    seconds = round(m * 60)
    if seconds < 10 and m * 60 != seconds:
        return f"{sign}{m * 60:.1f}s"
    if seconds < 60:
        return f"{sign}{seconds}s"
    if seconds < 3600:
        mins, secs = divmod(seconds, 60)
        return f"{sign}{mins}m {secs:02d}s" if secs else f"{sign}{mins}m"
    if m < 24 * 60:
        h, rest = divmod(round(m), 60)
        return f"{sign}{h}h {rest:02d}m"
    return f"{sign}{m / 60:.2f}h"


def parse_threshold(text: str) -> tuple[str, float]:
    """'1m', '90s', '2h', '1h30m', '15' (minutes) as (the text, minutes), for --share-under."""
    raw = text.strip()
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*(h|hours?|m|min|minutes?|s|sec|seconds?)?", raw.lower())
    rebuilt = re.sub(r"\s+", "", raw.lower())
    joined = "".join(n + u for n, u in parts)
    if not parts or joined != rebuilt:
        raise ValidationError(
            f"'{text}' is not a duration. Write it as 90s, 1m, 15min, 2h or 1h30m.", field="share_under"
        )
    minutes = 0.0
    for number, unit in parts:
        scale = 60.0 if unit.startswith("h") else 1 / 60 if unit.startswith("s") else 1.0
        minutes += float(number) * scale
    return raw, minutes


def format_user_minutes(value: float | None, *, unit: bool = True) -> str:
    """User-minutes shown as user-hours, three significant figures: '64.8k user-h'."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    hours = value / 60
    text = f"{hours:.3g}" if abs(hours) < 1000 else ""
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(hours) >= limit:
            text = f"{hours / limit:.3g}{suffix}"
            break
    return f"{text} user-h" if unit else text


def format_value(
    metric: MetricDefinition, value: float | None, *, unit: bool = True, fixed: str | None = None
) -> str:
    """A figure as a person reads it; `unit=False` leaves the unit to a column header (impact only);
    `fixed` shows durations in one unit (h, min, s) as a bare number."""
    return format_user_minutes(value, unit=unit) if metric.kind == "impact" else format_minutes(value, fixed)


def format_share(share: Share) -> str:
    if share.share is None:
        return "-"
    return f"{share.share * 100:.0f} %"


def display_unit(metric: MetricDefinition) -> str:
    return "user-hours" if metric.kind == "impact" else "time"


# -- the engine -------------------------------------------------------------------------------------------
def _col(m: Milestone) -> str:
    # Milestone columns come from the enum, never from user text, so they are safe to place in SQL.
    return f"i.{m.column}"


_ANCHOR = "COALESCE(" + ", ".join(_col(m) for m in ANCHOR_MILESTONES) + ")"


def _group_expr(by: str, anchor: str) -> str:
    if by == "service":
        return f"COALESCE(sv.value, '{NO_SERVICE}')"
    if by == "severity":
        return "i.severity"
    if by == "type":
        return "i.incident_type"
    if by == "month":
        return f"substr({anchor}, 1, 7)"
    if by == "quarter":
        return f"substr({anchor}, 1, 4) || '-Q' || ((CAST(substr({anchor}, 6, 2) AS INTEGER) + 2) / 3)"
    if by == "week":  # the Monday that starts the (UTC) week
        return f"date({anchor}, '-' || ((CAST(strftime('%w', {anchor}) AS INTEGER) + 6) % 7) || ' days')"
    return "'all'"


def _minutes(start_sql: str, end_sql: str) -> str:
    # julianday() reads the stored text to the millisecond, which is all the precision incident times carry,
    # and it is the cheapest way SQLite has to read a time (measured: a third of strftime('%s')).
    # Rounded to whole milliseconds, so an hour is 60.0 minutes and not 59.99999978.
    return f"(ROUND((julianday({end_sql}) - julianday({start_sql})) * 86400000.0) / 60000.0)"


def _moment(moments: tuple[Milestone, ...]) -> str:
    """The first of the milestones the incident has (the fallback list of a metric's start or end)."""
    cols = [_col(m) for m in moments]
    return cols[0] if len(cols) == 1 else f"COALESCE({', '.join(cols)})"


def _none_of(moments: tuple[Milestone, ...]) -> str:
    return " AND ".join(f"{_col(m)} IS NULL" for m in moments)


def _names(moments: tuple[Milestone, ...]) -> str:
    return " or ".join(m.label for m in moments)


# Why an incident was left out of every metric by --exclude-flagged: its contradicting pairs, in words.
_FLAGGED_REASON = (
    "'has contradicting milestones (' || (SELECT group_concat(json_extract(f.value, '$[1]') || ' before ' || "
    "json_extract(f.value, '$[0]'), '; ') FROM json_each(i.flagged_pairs) AS f) || '); --exclude-flagged'"
)


def _time_text(col: str) -> str:
    """A stored time as the rest of Sitrep words it: '2026-02-03 10:30:00 UTC'."""
    return f"replace(substr({col}, 1, 19), 'T', ' ') || ' UTC'"


def _pair_reason(s: Milestone, e: Milestone) -> list[str]:
    """CASE arms for the one start and end an incident uses: end before start, or a milestone that belongs
    between them outside them. These are exactly the pairs the metric uses, so a pair an import flagged
    leaves the incident out of this metric only when it is one of them."""
    sc, ec = _col(s), _col(e)
    arms = [
        f"WHEN {ec} < {sc} THEN '{e.label} (' || {_time_text(ec)} || ') is before {s.label} (' || {_time_text(sc)} || ')'"
    ]
    for m in milestones_between(s, e):
        mc = _col(m)
        arms.append(
            f"WHEN {mc} IS NOT NULL AND ({mc} < {sc} OR {mc} > {ec}) THEN "
            f"'{m.label} (' || {_time_text(mc)} || ') is not between {s.label} and {e.label}'"
        )
    return arms


def _reason_expr(metric: MetricDefinition, flt: MetricFilter | None = None) -> str:
    """SQL that yields why an incident cannot count for a metric, or NULL when it can."""
    starts, ends = metric.start, metric.end
    assert ends is not None
    cases = []
    if flt is not None and flt.exclude_flagged:
        cases.append(f"WHEN json_array_length(i.flagged_pairs) > 0 THEN {_FLAGGED_REASON}")
    cases += [
        f"WHEN {_none_of(starts)} AND {_none_of(ends)} THEN 'no {_names(starts)} or {_names(ends)} time'",
        f"WHEN {_none_of(starts)} THEN 'no {_names(starts)} time'",
        f"WHEN {_none_of(ends)} THEN 'no {_names(ends)} time'",
    ]
    if metric.kind == "impact":
        cases.append("WHEN i.affected_users IS NULL THEN 'affected users not recorded'")
    # Which start and end this incident uses decides which pairs are checked: one CASE per combination.
    for i, s in enumerate(starts):
        for j, e in enumerate(ends):
            chosen = [f"{_col(s)} IS NOT NULL"] + [f"{_col(x)} IS NULL" for x in starts[:i]]
            chosen += [f"{_col(e)} IS NOT NULL"] + [f"{_col(x)} IS NULL" for x in ends[:j]]
            cases.append(f"WHEN {' AND '.join(chosen)} THEN CASE {' '.join(_pair_reason(s, e))} END")
    return "CASE " + " ".join(cases) + " END"


class _Where:
    """WHERE clauses and their bound parameters, built from a MetricFilter."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: dict[str, Any] = {}

    def add(self, clause: str, **params: Any) -> None:
        self.clauses.append(clause)
        self.params.update(params)

    def in_list(self, expr: str, name: str, values: Iterable[str], *, lower: bool = False) -> str:
        names = []
        for i, v in enumerate(values):
            key = f"{name}{i}"
            self.params[key] = v.lower() if lower else v
            names.append(f":{key}")
        target = f"lower({expr})" if lower else expr
        return f"{target} IN ({', '.join(names)})"

    def sql(self) -> str:
        return " AND ".join(self.clauses) if self.clauses else "1=1"


_CACHE_LIMIT = 64  # figures kept per database state; a dashboard is four of them


class MetricsService:
    def __init__(self, store, catalog, config_dir: Path | None = None) -> None:
        self._store = store
        self._catalog = catalog
        self._config_dir = config_dir
        self._definitions: dict[str, MetricDefinition] | None = None
        # Figures already computed, valid while the database is unchanged. A person flipping between tabs,
        # metrics and filters asks for the same figures again and again; recomputing 100,000 incidents each
        # time costs hundreds of milliseconds for an identical answer.
        self._cache: dict[tuple, Any] = {}
        self._cache_version: int | None = None
        self._cache_lock = threading.Lock()
        self._watch: sqlite3.Connection | None = None

    def close(self) -> None:
        with self._cache_lock:
            self._cache.clear()
            self._cache_version = None
            if self._watch is not None:
                self._watch.close()
                self._watch = None

    # -- definitions ----------------------------------------------------------------------------------------
    @property
    def definitions(self) -> dict[str, MetricDefinition]:
        if self._definitions is None:
            self._definitions = load_definitions(self._config_dir)
        return self._definitions

    def reload_definitions(self) -> dict[str, MetricDefinition]:
        self._definitions = None
        return self.definitions

    def definition(self, metric_id: str) -> MetricDefinition:
        def norm(text: str) -> str:
            return text.strip().lower().replace("-", "_").replace(" ", "_")

        key = norm(metric_id or "")
        for d in self.definitions.values():
            if key in (norm(d.id), norm(d.short)):
                return d
        known = ", ".join(self.definitions)
        raise ValidationError(f"Unknown metric '{metric_id}'. Use one of: {known}.", field="metric")

    # -- figures --------------------------------------------------------------------------------------------
    def table(
        self, metric_id: str, by: str = "all", flt: MetricFilter | None = None, figures: Figures | None = None
    ) -> MetricTable:
        metric = self.definition(metric_id)
        by = self._check_by(by)
        flt = self._normalise(flt or MetricFilter())
        figures = check_figures(figures or Figures())
        self._require_sqlite()
        return self._remembered(
            ("table", metric, by, flt, figures), lambda: self._table(metric, by, flt, figures)
        )

    def _table(self, metric: MetricDefinition, by: str, flt: MetricFilter, figures: Figures) -> MetricTable:
        samples = self._remembered(("samples", metric, by, flt), lambda: self._samples(metric, by, flt))
        # A share under a duration threshold means nothing for user-minutes.
        if metric.kind == "impact":
            figures = replace(figures, share_under=())
        groups = [GroupStats(g, Stats.of(v, figures)) for g, v in samples.groups.items()]
        return MetricTable(
            samples.metric, by, samples.filter, groups, Stats.of(samples.overall, figures), samples.excluded
        )

    def tables(
        self,
        metric_ids: Iterable[str] | None = None,
        by: str = "all",
        flt: MetricFilter | None = None,
        figures: Figures | None = None,
    ) -> list[MetricTable]:
        ids = list(metric_ids) if metric_ids else list(self.definitions)
        return [self.table(m, by, flt, figures) for m in ids]

    def samples(self, metric_id: str, by: str = "all", flt: MetricFilter | None = None) -> MetricSamples:
        metric = self.definition(metric_id)
        by = self._check_by(by)
        flt = self._normalise(flt or MetricFilter())
        self._require_sqlite()
        return self._remembered(("samples", metric, by, flt), lambda: self._samples(metric, by, flt))

    def _samples(self, metric: MetricDefinition, by: str, flt: MetricFilter) -> MetricSamples:
        if metric.kind == "between":
            groups, overall, excluded = self._between_rows(metric, by, flt)
        else:
            groups, overall, excluded = self._duration_rows(metric, by, flt)
        overall.sort()
        for values in groups.values():
            values.sort()
        ordered = {g: groups[g] for g in self._group_order(by, groups)}
        return MetricSamples(metric, by, flt, ordered, overall, excluded)

    def points(
        self, metric_id: str, flt: MetricFilter | None = None
    ) -> tuple[list[MetricPoint], list[Exclusion]]:
        """One point per counted incident (per incident and service for "between"), oldest first."""
        metric = self.definition(metric_id)
        flt = self._normalise(flt or MetricFilter())
        self._require_sqlite()
        points, excluded = self._remembered(("points", metric, flt), lambda: self._points(metric, flt))
        return list(points), list(excluded)

    def _points(
        self, metric: MetricDefinition, flt: MetricFilter
    ) -> tuple[tuple[MetricPoint, ...], tuple[Exclusion, ...]]:
        where = self._where(flt, by_service=False)
        if metric.kind == "between":
            inner, params = self._between_sql(
                metric,
                "all",
                flt,
                extra="i.key AS key, i.title AS title, i.severity AS severity, i.incident_type AS itype",
            )
            sql = (
                f"SELECT id, key, title, anchor, {_minutes('s', 'next_s')}, severity, itype, service FROM ({inner}) "
                f"WHERE next_s IS NOT NULL AND {self._period_sql('anchor', flt, params)} ORDER BY anchor, id"
            )
            excluded = self._between_exclusions(metric, flt)
        else:
            reason = _reason_expr(metric, flt)
            value = _minutes(_moment(metric.start), _moment(metric.end))
            if metric.kind == "impact":
                value = f"({value} * i.affected_users)"
            params = where.params
            sql = (
                f"SELECT i.id, i.key, i.title, {_ANCHOR}, {value}, i.severity, i.incident_type, NULL "
                f"FROM incidents AS i WHERE {where.sql()} AND ({reason}) IS NULL ORDER BY {_ANCHOR}, i.id"
            )
            excluded = self._duration_exclusions(metric, where, flt)
        with self._store.read_connection() as conn:
            rows = conn.execute(text(sql), params).all()
        points = tuple(
            MetricPoint(r[0], r[1], r[2], datetime.fromisoformat(r[3]), r[4], r[5], r[6], r[7]) for r in rows
        )
        return points, tuple(excluded)

    def dashboard(
        self, metric_id: str, period: str = "month", flt: MetricFilter | None = None
    ) -> MetricDashboard:
        if period not in PERIODS:
            raise ValidationError(f"A trend goes by {', '.join(PERIODS)}, not '{period}'.", field="period")
        flt = self._normalise(flt or MetricFilter())
        trend = self.table(metric_id, period, flt)
        points, _excluded = self.points(metric_id, flt)
        return MetricDashboard(
            metric=trend.metric,
            period=period,
            filter=flt,
            trend=trend,
            periods=period_range(period, [g.group for g in trend.groups]),
            by_service=self.samples(metric_id, "service", flt),
            by_severity=self.table(metric_id, "severity", flt),
            overall=self.table(metric_id, "all", flt),
            points=points,
        )

    def known_values(self) -> dict[str, list[str]]:
        """Services, severities and incident types present in the store, for filter pickers."""
        self._require_sqlite()
        with self._store.read_connection() as conn:
            services = [
                r[0]
                for r in conn.execute(
                    text(
                        "SELECT DISTINCT sv.value FROM incidents AS i, json_each(i.services) AS sv ORDER BY 1"
                    )
                )
            ]
            types = [
                r[0] for r in conn.execute(text("SELECT DISTINCT incident_type FROM incidents ORDER BY 1"))
            ]
            severities = [r[0] for r in conn.execute(text("SELECT DISTINCT severity FROM incidents"))]
            span = conn.execute(text(f"SELECT MIN({_ANCHOR}), MAX({_ANCHOR}) FROM incidents AS i")).first()
        rank = {s: i for i, s in enumerate(self._catalog.severities)}
        severities.sort(key=lambda s: (rank.get(s, len(rank)), s))
        return {
            "services": services,
            "severities": severities,
            "incident_types": types,
            "span": [span[0], span[1]] if span and span[0] else [],
        }

    # -- internals ------------------------------------------------------------------------------------------
    def _remembered(self, key: tuple, compute):
        """The cached figure for `key` if the database has not changed since it was computed, else computed
        now. The group order depends on the severity catalog, so that is part of the key too."""
        key = (*key, tuple(self._catalog.severities))
        with self._cache_lock:
            version = self._data_version()
            if version is None:  # no way to tell when the data changes: never reuse
                self._cache.clear()
            elif version != self._cache_version:
                self._cache.clear()
                self._cache_version = version
            elif key in self._cache:
                return self._cache[key]
        # Computed outside the lock so a worker thread's charts do not hold up the GUI thread's table. What
        # is computed now is at least as new as `version`; a change committed meanwhile moves the version on,
        # so the figure is recomputed next time, never served stale.
        value = compute()
        if version is not None:
            with self._cache_lock:
                if self._cache_version == version:
                    if len(self._cache) >= _CACHE_LIMIT:
                        self._cache.clear()
                    self._cache[key] = value
        return value

    def _data_version(self) -> int | None:
        """SQLite's count of commits made by other connections, read on a connection of our own that never
        writes, so every commit (this process or another, such as the CLI beside the console) moves it on.
        None where it cannot be watched (an in-memory store). Called with the cache lock held."""
        path = self._store.path
        if self._store.in_memory or path is None:
            return None
        try:
            if self._watch is None:
                self._watch = sqlite3.connect(str(path), check_same_thread=False)
            return self._watch.execute("PRAGMA data_version").fetchone()[0]
        except sqlite3.Error:
            return None

    def _require_sqlite(self) -> None:
        if not self._store.is_sqlite:
            raise ValidationError("Metrics are computed by the SQLite store; this store is not SQLite.")

    @staticmethod
    def _check_by(by: str) -> str:
        by = (by or "all").strip().lower()
        if by == "incident_type":
            by = "type"
        if by not in GROUPINGS:
            raise ValidationError(f"Cannot group by '{by}'. Use one of: {', '.join(GROUPINGS)}.", field="by")
        return by

    def _normalise(self, flt: MetricFilter) -> MetricFilter:
        sev = tuple(
            UNKNOWN_SEVERITY if s.strip().lower() == UNKNOWN_SEVERITY else self._catalog.severity(s).id
            for s in flt.severities
        )
        svc = tuple(s.strip() for s in flt.services if s and s.strip())
        types = tuple(t.strip().lower() for t in flt.incident_types if t and t.strip())
        since = as_utc(flt.since) if flt.since else None
        until = as_utc(flt.until) if flt.until else None
        if since and until and until <= since:
            raise ValidationError("The period is empty: 'until' must come after 'since'.", field="until")
        return replace(flt, severities=sev, services=svc, incident_types=types, since=since, until=until)

    def _group_order(self, by: str, groups: dict[str, list[float]]) -> list[str]:
        if by == "severity":
            rank = {s: i for i, s in enumerate(self._catalog.severities)}
            return sorted(groups, key=lambda s: (rank.get(s, len(rank)), s))
        if by == "service":
            return sorted(groups, key=lambda s: (s == NO_SERVICE, s.lower()))
        return sorted(groups)

    def _where(
        self, flt: MetricFilter, *, by_service: bool, with_period: bool = True, drop_flagged: bool = False
    ) -> _Where:
        w = _Where()
        if drop_flagged and flt.exclude_flagged:
            w.add("json_array_length(i.flagged_pairs) = 0")
        if not flt.include_exercises:
            w.add("i.is_exercise = 0")
        if flt.severities:
            w.add(w.in_list("i.severity", "sev", flt.severities))
        if flt.incident_types:
            w.add(w.in_list("i.incident_type", "typ", flt.incident_types))
        if flt.services:
            if by_service:
                w.add(w.in_list("sv.value", "svc", flt.services, lower=True))
            else:
                inner = w.in_list("f.value", "svc", flt.services, lower=True)
                w.add(f"EXISTS (SELECT 1 FROM json_each(i.services) AS f WHERE {inner})")
        if with_period:
            if flt.since:
                w.add(f"{_ANCHOR} >= :since", since=iso(flt.since))
            if flt.until:
                w.add(f"{_ANCHOR} < :until", until=iso(flt.until))
        return w

    @staticmethod
    def _period_sql(expr: str, flt: MetricFilter, params: dict[str, Any]) -> str:
        parts = []
        if flt.since:
            parts.append(f"{expr} >= :since")
            params["since"] = iso(flt.since)
        if flt.until:
            parts.append(f"{expr} < :until")
            params["until"] = iso(flt.until)
        return " AND ".join(parts) or "1=1"

    def _duration_rows(self, metric: MetricDefinition, by: str, flt: MetricFilter):
        """One scan gives the counted values, grouped, and which incidents are left out and why.

        Per service, the rows carry the services' JSON text and Python splits it, remembering each distinct
        text: far cheaper than json_each() on every row, since most incidents share a handful of lists.
        """
        by_service = by == "service"
        where = self._where(flt, by_service=False)
        value = _minutes(_moment(metric.start), _moment(metric.end))
        if metric.kind == "impact":
            value = f"({value} * i.affected_users)"
        group = "i.services" if by_service else _group_expr(by, _ANCHOR)
        sql = f"SELECT {group}, i.number, {_reason_expr(metric, flt)}, {value} FROM incidents AS i WHERE {where.sql()}"
        wanted = {s.lower() for s in flt.services}
        groups: dict[str, list[float]] = {}
        overall: list[float] = []
        reasons: dict[int, str] = {}
        names_of: dict[str, list[str]] = {}
        for grp, number, reason, val in self._fetch(sql, where.params):
            if reason is not None:
                reasons[number] = reason
                continue
            overall.append(val)
            if by_service:
                names = names_of.get(grp)
                if names is None:
                    names = [n for n in json.loads(grp) if not wanted or n.lower() in wanted]
                    names_of[grp] = names = names or ([] if wanted else [NO_SERVICE])
                for name in names:
                    bucket = groups.get(name)
                    if bucket is None:
                        bucket = groups[name] = []
                    bucket.append(val)
            else:
                bucket = groups.get(grp)
                if bucket is None:
                    bucket = groups[grp] = []
                bucket.append(val)
        return groups, overall, self._exclusions(reasons)

    def _exclusions(self, reasons: dict[int, str]) -> list[Exclusion]:
        """Who the left-out incidents are (their id and key), fetched only for them, in number order."""
        if not reasons:
            return []
        # One query whatever their number: the numbers travel as one JSON array.
        sql = (
            "SELECT i.number, i.id, i.key FROM json_each(:numbers) AS n "
            "JOIN incidents AS i ON i.number = n.value ORDER BY i.number"
        )
        rows = self._fetch(sql, {"numbers": json.dumps(sorted(reasons))})
        return [Exclusion(incident_id, key, reasons[number]) for number, incident_id, key in rows]

    def _fetch(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        """Plain tuples straight from the driver: at 100,000 rows, result-row objects are a noticeable cost."""
        with self._store.read_connection() as conn:
            try:
                return conn.connection.driver_connection.execute(sql, params).fetchall()
            except sqlite3.Error as exc:  # the driver's own errors, which SQLAlchemy would have wrapped
                raise storage_error(exc) from None

    def _duration_exclusions(
        self, metric: MetricDefinition, where: _Where, flt: MetricFilter
    ) -> list[Exclusion]:
        sql = (
            f"SELECT i.id, i.key, reason FROM (SELECT i.id AS id, i.key AS key, i.number AS number, "
            f"{_reason_expr(metric, flt)} AS reason FROM incidents AS i WHERE {where.sql()}) AS i "
            "WHERE reason IS NOT NULL ORDER BY number"
        )
        with self._store.read_connection() as conn:
            return [Exclusion(r[0], r[1], r[2]) for r in conn.execute(text(sql), where.params)]

    def _between_sql(
        self, metric: MetricDefinition, by: str, flt: MetricFilter, extra: str = ""
    ) -> tuple[str, dict]:
        """Each incident on each service with the start of the next incident on that service."""
        where = self._where(flt, by_service=True, with_period=False, drop_flagged=True)
        sc = _moment(metric.start)
        extra = f", {extra}" if extra else ""
        sql = (
            f"SELECT sv.value AS service, i.id AS id, {_ANCHOR} AS anchor, {_group_expr(by, _ANCHOR)} AS grp, "
            f"{sc} AS s, LEAD({sc}) OVER (PARTITION BY sv.value ORDER BY {sc}, i.id) AS next_s{extra} "
            f"FROM incidents AS i JOIN json_each(i.services) AS sv WHERE {sc} IS NOT NULL AND {where.sql()}"
        )
        return sql, dict(where.params)

    def _between_rows(self, metric: MetricDefinition, by: str, flt: MetricFilter):
        """Each incident on each service against the next one's start there, sequenced in Python.

        SQL reads each start once (to whole milliseconds, as integers, so the differences are exact) and the
        services' JSON text; a window function over json_each() measured four times slower.
        """
        where = self._where(flt, by_service=False, with_period=False, drop_flagged=True)
        sc = _moment(metric.start)
        params = dict(where.params)
        in_period = self._period_sql(_ANCHOR, flt, params)
        group = "NULL" if by == "service" else _group_expr(by, _ANCHOR)
        sql = (
            f"SELECT i.services, i.id, CAST(ROUND(julianday({sc}) * 86400000.0) AS INTEGER), {group}, "
            f"({in_period}) FROM incidents AS i WHERE {sc} IS NOT NULL AND {where.sql()}"
        )
        wanted = {s.lower() for s in flt.services}
        per_service: dict[str, list[tuple[int, str, str | None, int]]] = {}
        names_of: dict[str, list[str]] = {}
        for services, incident_id, start_ms, grp, counted in self._fetch(sql, params):
            names = names_of.get(services)
            if names is None:
                names = names_of[services] = [
                    n for n in json.loads(services) if not wanted or n.lower() in wanted
                ]
            for name in names:
                seq = per_service.get(name)
                if seq is None:
                    seq = per_service[name] = []
                seq.append((start_ms, incident_id, grp, counted))
        groups: dict[str, list[float]] = {}
        overall: list[float] = []
        for name, seq in per_service.items():
            seq.sort()  # by start, then id: the same order for the same data, ties included
            for (start_ms, _id, grp, counted), nxt in zip(seq, seq[1:], strict=False):
                if not counted:
                    continue
                value = (nxt[0] - start_ms) / 60000.0
                key = name if by == "service" else grp
                bucket = groups.get(key)
                if bucket is None:
                    bucket = groups[key] = []
                bucket.append(value)
                overall.append(value)
        return groups, overall, self._between_exclusions(metric, flt)

    def _between_exclusions(self, metric: MetricDefinition, flt: MetricFilter) -> list[Exclusion]:
        where = self._where(flt, by_service=False)
        sc = _moment(metric.start)
        flagged = (
            f"WHEN json_array_length(i.flagged_pairs) > 0 THEN {_FLAGGED_REASON} "
            if flt.exclude_flagged
            else ""
        )
        reason = (
            f"CASE {flagged}WHEN json_array_length(i.services) = 0 THEN 'no impacted service' "
            f"WHEN {sc} IS NULL THEN 'no {_names(metric.start)} time' END"
        )
        sql = (
            f"SELECT id, key, reason FROM (SELECT i.id AS id, i.key AS key, i.number AS number, {reason} AS reason "
            f"FROM incidents AS i WHERE {where.sql()}) WHERE reason IS NOT NULL ORDER BY number"
        )
        with self._store.read_connection() as conn:
            return [Exclusion(r[0], r[1], r[2]) for r in conn.execute(text(sql), where.params)]
