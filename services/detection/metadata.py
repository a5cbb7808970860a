"""The alert metadata standard (resources/alert_metadata.toml) and the service dependency map
(resources/service_map.toml): what every alert is normalised to, and where it routes."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from services.adapters.common import clean_labels  # noqa: F401 (senders' labels, for the receiver)
from services.adapters.values import IncomingAlert

RESOURCES = Path(__file__).resolve().parents[2] / "resources"
LAYERS = ("network", "infrastructure", "application")
MAX_TEXT = 2000


@dataclass(frozen=True)
class FieldRule:
    name: str
    label: str
    required: bool
    aliases: dict[str, tuple[str, ...]]
    values: tuple[str, ...] = ()
    value_aliases: dict[str, str] = field(default_factory=dict)

    def names_for(self, source_kind: str) -> tuple[str, ...]:
        return self.aliases.get(source_kind, ()) + self.aliases.get("*", ())


@dataclass(frozen=True)
class NormalAlert:
    incoming: IncomingAlert
    rule: str
    service: str | None
    environment: str | None
    team: str | None
    severity: str
    layer: str | None
    summary: str
    runbook_url: str | None
    problems: tuple[str, ...]


@dataclass(frozen=True)
class ServiceNode:
    name: str
    layer: str | None
    team: str | None
    oncall: str | None
    depends_on: tuple[str, ...]
    critical: bool


class MetadataError(ValueError):
    pass


class ServiceMap:
    def __init__(self, nodes: dict[str, ServiceNode]) -> None:
        self.nodes = nodes
        self._dependents: dict[str, set[str]] = {}
        for node in nodes.values():
            for up in node.depends_on:
                self._dependents.setdefault(up, set()).add(node.name)

    def upstream(self, service: str) -> tuple[str, ...]:
        node = self.nodes.get(service)
        return node.depends_on if node else ()

    def downstream(self, service: str) -> set[str]:
        return self._dependents.get(service, set())

    def adjacent(self, service: str) -> set[str]:
        return set(self.upstream(service)) | self.downstream(service)

    def depth(self, service: str, _seen: frozenset[str] = frozenset()) -> int:
        """How far upstream a service sits: 0 for one that depends on nothing mapped."""
        ups = [u for u in self.upstream(service) if u in self.nodes and u not in _seen]
        if not ups:
            return 0
        return 1 + max(self.depth(u, _seen | {service}) for u in ups)

    def depends_transitively(self, service: str, on: str) -> bool:
        stack, seen = list(self.upstream(service)), set()
        while stack:
            s = stack.pop()
            if s == on:
                return True
            if s not in seen:
                seen.add(s)
                stack.extend(self.upstream(s))
        return False

    def critical_services(self) -> list[str]:
        return sorted(n.name for n in self.nodes.values() if n.critical)


def _where(path: Path, key: str) -> str:
    try:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if key in line:
                return f"{path.name}, line {number}"
    except OSError:
        pass
    return path.name


def _read(path: Path) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise MetadataError(f"{path.name}: {exc}") from None


def load_service_map(path: Path | None = None) -> ServiceMap:
    path = path or RESOURCES / "service_map.toml"
    data = _read(path)
    nodes = {}
    for name, raw in (data.get("services") or {}).items():
        layer = raw.get("layer")
        if layer is not None and layer not in LAYERS:
            raise MetadataError(f"{_where(path, f'[services.{name}]')}: unknown layer '{layer}'")
        nodes[name] = ServiceNode(name, layer, raw.get("team"), raw.get("oncall"),
                                  tuple(raw.get("depends_on") or ()), bool(raw.get("critical")))  # fmt: skip
    return ServiceMap(nodes)


class MetadataStandard:
    def __init__(self, rules: dict[str, FieldRule], services: ServiceMap) -> None:
        self.rules = rules
        self.services = services

    @classmethod
    def load(cls, path: Path | None = None, services: ServiceMap | None = None) -> MetadataStandard:
        path = path or RESOURCES / "alert_metadata.toml"
        data = _read(path)
        rules = {}
        for name, raw in (data.get("fields") or {}).items():
            aliases = {k: tuple(v) for k, v in (raw.get("aliases") or {}).items()}
            rules[name] = FieldRule(name, raw.get("label", name), bool(raw.get("required")), aliases,
                                    tuple(raw.get("values") or ()), dict(raw.get("value_aliases") or {}))  # fmt: skip
        return cls(rules, services or load_service_map())

    def required(self) -> list[str]:
        return [r.name for r in self.rules.values() if r.required]

    def _pick(self, rule: FieldRule, alert: IncomingAlert) -> str | None:
        for name in rule.names_for(alert.source_kind):
            for bag in (alert.labels, alert.annotations):
                value = bag.get(name)
                if isinstance(value, str) and value.strip():
                    return value.strip()
        return None

    def normalise(self, alert: IncomingAlert) -> NormalAlert:
        values: dict[str, str | None] = {}
        problems: list[str] = []
        for rule in self.rules.values():
            value = self._pick(rule, alert)
            if value is not None and rule.values:
                value = rule.value_aliases.get(value.lower(), value.lower())
                if value not in rule.values:
                    problems.append(f"{rule.name} '{value}' is not one of {', '.join(rule.values)}")
                    value = None
            if value is None and rule.required:
                problems.append(f"missing {rule.name}")
            values[rule.name] = value
        service = values.get("service")
        node = self.services.nodes.get(service or "")
        # Routing reads the map when the alert does not name its team or layer.
        team = values.get("team") or (node.team if node else None)
        layer = values.get("layer") or (node.layer if node else None)
        rule_name = alert.labels.get("alertname") or alert.labels.get("rule") or "unnamed"
        summary = values.get("summary") or rule_name
        return NormalAlert(
            alert, rule_name[:200], service, values.get("environment"), team,
            values.get("severity") or "warning", layer, summary[:MAX_TEXT], values.get("runbook_url"),
            tuple(problems),
        )  # fmt: skip

    def oncall_for(self, service: str | None) -> str | None:
        node = self.services.nodes.get(service or "")
        if node is None:
            return None
        return node.oncall or (f"{node.team} on-call" if node.team else None)
