"""Correlating alerts into candidate incidents: alerts close in time that share a service, a
correlation label (cluster, instance...) or a dependency edge fall into one group. Pure and Qt-free;
bench/correlation_bench.py measures it on a 10,000-alert storm."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from services.detection.metadata import LAYERS, ServiceMap

DEFAULT_WINDOW = timedelta(minutes=10)
CORRELATION_LABELS = ("cluster", "instance", "region", "zone", "node")


class Correlatable(Protocol):
    id: str
    rule: str
    service: str | None
    layer: str | None
    severity: str
    starts_at: datetime
    labels: dict[str, str]


@dataclass(frozen=True)
class AlertGroup:
    key: str  # the first alert's id: stable while the group grows
    alert_ids: tuple[str, ...]
    first_id: str
    first_at: datetime
    last_at: datetime
    services: tuple[str, ...]  # in order of first alert
    layers: tuple[str, ...]
    origin: str | None
    origin_reason: str
    critical: int
    rules: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.alert_ids)

    def headline(self) -> str:
        where = self.origin or (self.services[0] if self.services else f"{', '.join(self.rules[:2])} (no service named)")
        spread = f" and {len(self.services) - 1} more" if len(self.services) > 1 else ""
        return f"{where}{spread}: {self.size} alert{'s' * (self.size != 1)}"


class _Union:
    def __init__(self, n: int) -> None:
        self.parent = list(range(n))

    def find(self, i: int) -> int:
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def join(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def correlate(alerts: Sequence[Correlatable], services: ServiceMap,
              window: timedelta = DEFAULT_WINDOW) -> list[AlertGroup]:  # fmt: skip
    """Groups, newest first. Each alert joins the latest earlier alert (within `window`) of its own
    service, of each service adjacent to it in the map, and of each correlation label value it shares."""
    ordered = sorted(alerts, key=lambda a: (a.starts_at, a.id))
    union = _Union(len(ordered))
    last_by_key: dict[str, tuple[int, datetime]] = {}
    adjacency: dict[str, tuple[str, ...]] = {}
    for i, alert in enumerate(ordered):
        keys = [f"s:{alert.service}"] if alert.service else [f"r:{alert.rule}"]
        keys += [f"l:{name}={alert.labels[name]}" for name in CORRELATION_LABELS if alert.labels.get(name)]
        probes = list(keys)
        if alert.service:
            near = adjacency.get(alert.service)
            if near is None:
                near = adjacency[alert.service] = tuple(sorted(services.adjacent(alert.service)))
            probes += [f"s:{s}" for s in near]
        for key in probes:
            seen = last_by_key.get(key)
            if seen is not None and alert.starts_at - seen[1] <= window:
                union.join(seen[0], i)
        for key in keys:
            last_by_key[key] = (i, alert.starts_at)
    members: dict[int, list[int]] = {}
    for i in range(len(ordered)):
        members.setdefault(union.find(i), []).append(i)
    groups = [_group([ordered[i] for i in idx], services) for idx in members.values()]
    groups.sort(key=lambda g: g.last_at, reverse=True)
    return groups


def likely_origin(first_seen: dict[str, datetime], services: ServiceMap) -> tuple[str | None, str]:
    """The most upstream alerting service, earliest first: a service none of whose upstream
    dependencies (transitively) is also alerting in the group."""
    if not first_seen:
        return None, "no service named"
    alerting = list(first_seen)
    roots = [s for s in alerting if not any(o != s and services.depends_transitively(s, o) for o in alerting)]
    roots.sort(key=lambda s: (first_seen[s], -services.depth(s), s))
    origin = roots[0]
    dependents = [s for s in alerting if s != origin and services.depends_transitively(s, origin)]
    if dependents:
        return origin, f"upstream of {', '.join(sorted(dependents))}; alerting first at {first_seen[origin]:%H:%M:%S}"
    return origin, f"first to alert ({first_seen[origin]:%H:%M:%S})"


def _group(alerts: list[Correlatable], services: ServiceMap) -> AlertGroup:
    first_seen: dict[str, datetime] = {}
    layers: set[str] = set()
    for a in alerts:
        if a.service and a.service not in first_seen:
            first_seen[a.service] = a.starts_at
        if a.layer:
            layers.add(a.layer)
    origin, reason = likely_origin(first_seen, services)
    return AlertGroup(
        key=alerts[0].id,
        alert_ids=tuple(a.id for a in alerts),
        first_id=alerts[0].id,
        first_at=alerts[0].starts_at,
        last_at=alerts[-1].starts_at,
        services=tuple(first_seen),
        layers=tuple(layer for layer in LAYERS if layer in layers),
        origin=origin,
        origin_reason=reason,
        critical=sum(1 for a in alerts if a.severity == "critical"),
        rules=tuple(dict.fromkeys(a.rule for a in alerts)),
    )


def group_of(groups: Iterable[AlertGroup], alert_id: str) -> AlertGroup | None:
    return next((g for g in groups if alert_id in g.alert_ids), None)
