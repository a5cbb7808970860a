"""What the metrics are and what they give: definitions (resources/metrics.toml), filters, figures,
periods and how a figure reads. Computing them is services/analytics/metrics.py."""

from __future__ import annotations

import bisect
import math
import re
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from models.enums import Milestone
from models.metric_durations import milestones_between as milestones_between  # part of this module's face
from models.types import iso
from resources import resource_path
from services.errors import ValidationError

KINDS = ("duration", "between", "impact")
PERIODS = ("week", "month", "quarter")
GROUPINGS = ("service", "severity", "type", "problem", *PERIODS, "all")
NO_SERVICE = "(no service)"
NO_PROBLEM = "(no problem)"  # an incident linked to no problem record
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


def quantile_ranks(n: int, q: float) -> tuple[float, int, int]:
    """Where the q-quantile of n sorted values falls: its position and the two ranks either side."""
    pos = q * (n - 1)
    lo = math.floor(pos)
    return pos, lo, min(lo + 1, n - 1)


def quantile(sorted_values: Sequence[float], q: float) -> float:
    """Linear interpolation between closest ranks (the 'inclusive' method)."""
    pos, lo, hi = quantile_ranks(len(sorted_values), q)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


# The quantiles every Stats holds (median, p90, q1, q3), before the percentiles a person asks for.
STANDARD_QUANTILES = (0.5, 0.9, 0.25, 0.75)


class RankedValues(Sequence[float]):
    """A group's sorted values known without holding them all: their count, their exact sum, the values at
    the ranks a Stats reads (`at`, rank -> value) and a count of those at or under a threshold. The metric
    tables read these from an index (services/analytics/metrics_durations.py)."""

    def __init__(
        self, count: int, total: float, at: dict[int, float], at_most: Callable[[float], int]
    ) -> None:
        self._count = count
        self.total = total  # the exactly rounded sum, as math.fsum gives it
        self._at = at
        self.at_most = at_most

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, rank):  # only the ranks fetched: asking for another is a bug, not a silent guess
        if rank < 0:
            rank += self._count
        return self._at[rank]


def needed_ranks(n: int, figures: Figures) -> list[int]:
    """Every rank Stats.of reads from n sorted values for these figures."""
    ranks = {0, n - 1}
    for q in (*STANDARD_QUANTILES, *(p / 100 for p in figures.percentiles)):
        _pos, lo, hi = quantile_ranks(n, q)
        ranks.update((lo, hi))
    return sorted(ranks)


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
        if isinstance(sorted_values, RankedValues):
            total, at_most = sorted_values.total, sorted_values.at_most
        else:
            total = math.fsum(sorted_values) if n else 0.0
            at_most = partial(bisect.bisect_right, sorted_values)
        shares = tuple(
            Share(label, minutes, c := at_most(minutes), c / n if n else None)
            for label, minutes in figures.share_under
        )
        if n == 0:
            return cls(0, percentiles=tuple((p, None) for p in figures.percentiles), shares=shares)
        return cls(
            count=n,
            mean=total / n,
            median=quantile(sorted_values, 0.5),
            p90=quantile(sorted_values, 0.9),
            min=sorted_values[0],
            max=sorted_values[n - 1],
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
