"""The impact model (resources/impact.toml, overridable in the config folder): an incident's customer
impact in, a proposed severity and the sentence that explains it out. Pure: no store, no clock."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.errors import ValidationError
from services.governance.settings_file import merged_settings
from services.record.catalog import Catalog

IMPACT_FILE = "impact.toml"
EXPOSURES = ("none", "suspected", "confirmed")
# The inputs, in the order they are asked for and explained.
INPUTS = ("affected_pct", "error_rate_pct", "journeys", "core_journey", "revenue_per_min", "data_exposure",
          "regulatory")  # fmt: skip
REVENUE_MAX = 1e12


@dataclass(frozen=True)
class ImpactInputs:
    """What is known of the impact; None is unknown."""

    affected_pct: float | None = None
    error_rate_pct: float | None = None
    journeys: tuple[str, ...] = ()
    core_journey: bool | None = None  # None: decided from the journeys (and core when none are given)
    revenue_per_min: float | None = None
    data_exposure: str | None = None
    regulatory: bool | None = None

    @property
    def known(self) -> bool:
        return any(v not in (None, ()) for v in (self.affected_pct, self.error_rate_pct, self.revenue_per_min,
                                                 self.data_exposure, self.regulatory, self.journeys))  # fmt: skip

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in INPUTS:
            value = getattr(self, name)
            if value not in (None, ()):
                out[name] = list(value) if name == "journeys" else value
        return out

    @classmethod
    def of(cls, raw: dict[str, Any] | None) -> ImpactInputs:
        """Checked inputs from a mapping (a form, the CLI, a stored row); a bad value is refused by name."""
        raw = dict(raw or {})
        unknown = sorted(set(raw) - set(INPUTS))
        if unknown:
            raise ValidationError(f"Unknown impact input {', '.join(unknown)}. Known: {', '.join(INPUTS)}.",
                                  field=unknown[0])  # fmt: skip
        journeys_raw = raw.get("journeys") or ()
        if isinstance(journeys_raw, str):
            journeys_raw = journeys_raw.split(",")
        journeys = tuple(dict.fromkeys(str(j).strip().lower() for j in journeys_raw if str(j).strip()))
        exposure = raw.get("data_exposure")
        if exposure is not None:
            exposure = str(exposure).strip().lower() or None
            if exposure is not None and exposure not in EXPOSURES:
                raise ValidationError(f"Data exposure '{raw['data_exposure']}' is not one of {', '.join(EXPOSURES)}.",
                                      field="data_exposure")  # fmt: skip
        return cls(
            affected_pct=_percent(raw.get("affected_pct"), "affected_pct", "The share of users or tenants affected"),
            error_rate_pct=_percent(raw.get("error_rate_pct"), "error_rate_pct", "The user-facing error rate"),
            journeys=journeys,
            core_journey=_flag(raw.get("core_journey"), "core_journey"),
            revenue_per_min=_amount(raw.get("revenue_per_min")),
            data_exposure=exposure,
            regulatory=_flag(raw.get("regulatory"), "regulatory"),
        )


def _number(value: Any, field_name: str, what: str) -> float | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValidationError(f"{what} must be a number, not {value!r}.", field=field_name)
    try:
        number = float(str(value).strip().rstrip("%").strip()) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValidationError(f"{what} must be a number; '{value}' is not.", field=field_name) from None
    if not math.isfinite(number):
        raise ValidationError(f"{what} must be a finite number.", field=field_name)
    return number


def _percent(value: Any, field_name: str, what: str) -> float | None:
    number = _number(value, field_name, what)
    if number is not None and not 0 <= number <= 100:
        raise ValidationError(f"{what} is a percentage between 0 and 100; {value} is out of range.", field=field_name)
    return number


def _amount(value: Any) -> float | None:
    number = _number(value, "revenue_per_min", "Revenue per minute")
    if number is not None and not 0 <= number <= REVENUE_MAX:
        raise ValidationError(f"Revenue per minute must be zero or more (at most {REVENUE_MAX:,.0f}); {value} is not.",
                              field="revenue_per_min")  # fmt: skip
    return number


def _flag(value: Any, field_name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("", "unknown"):
        return None
    if text in ("yes", "true", "1", "y"):
        return True
    if text in ("no", "false", "0", "n"):
        return False
    raise ValidationError(f"'{value}' is not yes or no.", field=field_name)


@dataclass(frozen=True)
class LevelThresholds:
    severity: str
    affected_pct: float | None = None
    error_rate_pct: float | None = None
    revenue_per_min: float | None = None
    data_exposure: str | None = None  # this exposure or worse reaches the level
    regulatory: bool = False  # a regulatory flag reaches the level


@dataclass(frozen=True)
class Proposal:
    severity: str | None  # None: nothing known, nothing proposed
    reasons: tuple[str, ...] = ()  # the inputs that reached the proposed level
    context: tuple[str, ...] = field(default_factory=tuple)  # what else is known, with the level it reaches

    @property
    def explanation(self) -> str:
        if self.severity is None:
            return "No impact recorded yet: no severity proposed."
        parts = list(self.reasons) + list(self.context)
        return f"{self.severity}: " + "; ".join(parts) if parts else self.severity


@dataclass(frozen=True)
class ImpactModel:
    levels: tuple[LevelThresholds, ...]
    fallback: str | None
    core_journeys: frozenset[str]
    non_core_weight: float
    source: str

    def weighted_share(self, inputs: ImpactInputs) -> tuple[float | None, bool]:
        """The affected share as the thresholds read it, and whether it counts as on a core journey."""
        core = inputs.core_journey
        if core is None:
            core = not inputs.journeys or any(j in self.core_journeys for j in inputs.journeys)
        if inputs.affected_pct is None:
            return None, core
        return (inputs.affected_pct if core else inputs.affected_pct * self.non_core_weight), core

    def propose(self, inputs: ImpactInputs) -> Proposal:
        if not inputs.known:
            return Proposal(None)
        share, core = self.weighted_share(inputs)
        # Each axis: the most severe level it reaches and the words for it.
        found: list[tuple[int, str]] = []
        journey = "a core journey" if core else "a journey that is not core"
        if inputs.journeys:
            journey += f" ({', '.join(inputs.journeys)})"
        for index, level in enumerate(self.levels):
            if share is not None and level.affected_pct is not None and share >= level.affected_pct:
                weighted = "" if core else f", weighing {_pct(share)}"
                found.append((index, f"{_pct(inputs.affected_pct)} of users on {journey}{weighted} ≥ {_pct(level.affected_pct)}"))
                break
        for index, level in enumerate(self.levels):
            if inputs.error_rate_pct is not None and level.error_rate_pct is not None and inputs.error_rate_pct >= level.error_rate_pct:
                found.append((index, f"error rate {_pct(inputs.error_rate_pct)} ≥ {_pct(level.error_rate_pct)}"))
                break
        for index, level in enumerate(self.levels):
            if inputs.revenue_per_min is not None and level.revenue_per_min is not None and inputs.revenue_per_min >= level.revenue_per_min:
                found.append((index, f"revenue {_money(inputs.revenue_per_min)}/min ≥ {_money(level.revenue_per_min)}"))
                break
        for index, level in enumerate(self.levels):
            if inputs.data_exposure and level.data_exposure and \
                    EXPOSURES.index(inputs.data_exposure) >= EXPOSURES.index(level.data_exposure):
                found.append((index, f"data exposure {inputs.data_exposure}"))
                break
        for index, level in enumerate(self.levels):
            if inputs.regulatory and level.regulatory:
                found.append((index, "a regulator may have to be told"))
                break
        if not found:
            below = [] if share is None else [f"{_pct(inputs.affected_pct)} of users on {journey}"]
            if inputs.error_rate_pct is not None:
                below.append(f"error rate {_pct(inputs.error_rate_pct)}")
            reasons = tuple(below) or ("no customer-facing effect recorded",)
            return Proposal(self.fallback, tuple(f"{r} (below every threshold)" for r in reasons[:1]) + reasons[1:])
        top = min(i for i, _ in found)
        severity = self.levels[top].severity
        reasons = tuple(text for i, text in found if i == top)
        context = tuple(f"{text} ({self.levels[i].severity})" for i, text in sorted(found) if i != top)
        return Proposal(severity, reasons, context)


def _pct(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{value:.0f}%" if float(value).is_integer() else f"{value:.1f}%".replace(".0%", "%")


def _money(value: float) -> str:
    return f"{value:,.0f}"


def load_impact_model(catalog: Catalog, config_dir: Path | None = None) -> ImpactModel:
    """The shipped model with the config folder's impact.toml over it; a file that cannot be used is refused
    with its path and what is wrong, never half-read."""
    doc, where = merged_settings(IMPACT_FILE, config_dir)
    try:
        return _model_of(doc, catalog, where)
    except ValidationError as exc:
        raise ValidationError(f"The impact model ({where}) cannot be used: {exc.message}") from None


def _model_of(doc: dict[str, Any], catalog: Catalog, source: str) -> ImpactModel:
    journeys = doc.get("journeys") or {}
    if not isinstance(journeys, dict):
        raise ValidationError("[journeys] must be a table.")
    core = journeys.get("core", [])
    if not isinstance(core, list) or not all(isinstance(j, str) for j in core):
        raise ValidationError("journeys.core must be a list of journey names.")
    weight = _number(journeys.get("non_core_weight", 1.0), "non_core_weight", "journeys.non_core_weight")
    if weight is None or not 0 <= weight <= 1:
        raise ValidationError("journeys.non_core_weight must be between 0 and 1.")
    raw_levels = doc.get("level")
    if not isinstance(raw_levels, list) or not raw_levels:
        raise ValidationError("it needs at least one [[level]] with a severity and its thresholds.")
    levels: list[LevelThresholds] = []
    known_keys = {"severity", "affected_pct", "error_rate_pct", "revenue_per_min", "data_exposure", "regulatory"}
    for n, raw in enumerate(raw_levels, 1):
        if not isinstance(raw, dict):
            raise ValidationError(f"level {n} is not a table.")
        extra = sorted(set(raw) - known_keys)
        if extra:
            raise ValidationError(f"level {n} has unknown keys {', '.join(extra)} (known: {', '.join(sorted(known_keys))}).")
        if not isinstance(raw.get("severity"), str):
            raise ValidationError(f"level {n} needs severity = \"SEV…\".")
        sev = catalog.severity(raw["severity"]).id  # an unknown level is refused by name
        exposure = raw.get("data_exposure")
        if exposure is not None and exposure not in EXPOSURES[1:]:
            raise ValidationError(f"level {n} ({sev}): data_exposure must be suspected or confirmed, not {exposure!r}.")
        regulatory = raw.get("regulatory", False)
        if not isinstance(regulatory, bool):
            raise ValidationError(f"level {n} ({sev}): regulatory must be true or false.")
        try:
            level = LevelThresholds(sev, _percent(raw.get("affected_pct"), "affected_pct", "affected_pct"),
                                    _percent(raw.get("error_rate_pct"), "error_rate_pct", "error_rate_pct"),
                                    _amount(raw.get("revenue_per_min")), exposure, regulatory)  # fmt: skip
        except ValidationError as exc:
            raise ValidationError(f"level {n} ({sev}): {exc.message}") from None
        levels.append(level)
    levels.sort(key=lambda lv: catalog.severity(lv.severity).rank)
    if len({lv.severity for lv in levels}) != len(levels):
        raise ValidationError("two [[level]] entries name the same severity.")
    fallback = (doc.get("fallback") or {}).get("severity")
    if fallback is not None:
        if not isinstance(fallback, str):
            raise ValidationError("fallback.severity must be a severity id.")
        fallback = catalog.severity(fallback).id
    return ImpactModel(tuple(levels), fallback, frozenset(j.strip().lower() for j in core), weight, source)
