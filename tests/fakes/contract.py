"""What each fake accepts, written down in the fakes themselves from the vendors' documentation.

A fresh clone has no vendor specs beside it (they may not be redistributed), so every fake carries its
own contract: the operations it serves, the headers they need, the query parameters each takes (with
their types and enums, paging included) and the shape of each JSON body (required fields, types,
enums). A request outside its contract is refused with the vendor's 400 and recorded as a violation.
When the published specs are found (SITREP_SPECS or ../shared/specs), the fakes also validate every
request against them (tests/fakes/openapi.py): the contract is the floor, the spec the stricter run.

Schemas are small JSON Schema documents (checked with jsonschema); `obj`, `enum`, `ref_to` and friends
keep them short enough to read against the vendor's reference page.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jsonschema


class RequestInvalid(Exception):
    """A request the vendor would refuse (400): it breaks the fake's contract or the vendor's spec."""


# -- schema shorthands -----------------------------------------------------------------------
STR: dict[str, Any] = {"type": "string"}
NONEMPTY: dict[str, Any] = {"type": "string", "minLength": 1}
INT: dict[str, Any] = {"type": "integer"}
BOOL: dict[str, Any] = {"type": "boolean"}
ANY_OBJECT: dict[str, Any] = {"type": "object"}
DATE_TIME: dict[str, Any] = {"type": "string", "pattern": r"^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)$"}


def text(max_length: int, *, min_length: int = 0) -> dict[str, Any]:
    return {"type": "string", "minLength": min_length, "maxLength": max_length}


def enum(*values: Any) -> dict[str, Any]:
    return {"enum": list(values)}


def array(items: dict[str, Any], *, min_items: int = 0, max_items: int | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "array", "items": items, "minItems": min_items}
    if max_items is not None:
        out["maxItems"] = max_items
    return out


def obj(required: Mapping[str, Any], optional: Mapping[str, Any] | None = None, *,
        closed: bool = False) -> dict[str, Any]:  # fmt: skip
    """An object with these required and optional properties; `closed` refuses any other."""
    out: dict[str, Any] = {"type": "object", "required": list(required),
                           "properties": {**required, **(optional or {})}}  # fmt: skip
    if closed:
        out["additionalProperties"] = False
    return out


def ref_to(kind: str) -> dict[str, Any]:
    """A vendor reference object such as PagerDuty's {"id": "P123", "type": "service_reference"}."""
    return obj({"id": NONEMPTY, "type": enum(kind)})


def map_of(values: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": values}


# -- query parameters ------------------------------------------------------------------------
@dataclass(frozen=True)
class Param:
    """A query parameter: its type (string | integer | boolean | date-time), enum, bounds, repeats."""

    kind: str = "string"
    values: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    repeated: bool = False  # "ids[]" style: may appear more than once
    required: bool = False

    def check(self, name: str, raw: list[str]) -> None:
        if len(raw) > 1 and not self.repeated:
            raise RequestInvalid(f"query parameter '{name}' given {len(raw)} times")
        for value in raw:
            if self.kind == "integer":
                if not re.fullmatch(r"-?\d+", value):
                    raise RequestInvalid(f"query parameter '{name}' must be an integer, got '{value}'")
                number = int(value)
                if self.minimum is not None and number < self.minimum:
                    raise RequestInvalid(f"query parameter '{name}' must be at least {self.minimum}")
                if self.maximum is not None and number > self.maximum:
                    raise RequestInvalid(f"query parameter '{name}' must be at most {self.maximum}")
            elif self.kind == "boolean" and value not in ("true", "false"):
                raise RequestInvalid(f"query parameter '{name}' must be true or false, got '{value}'")
            elif self.kind == "date-time" and not re.fullmatch(DATE_TIME["pattern"], value):
                raise RequestInvalid(f"query parameter '{name}' must be an ISO 8601 date-time, got '{value}'")
            if self.values and value not in self.values:
                raise RequestInvalid(
                    f"query parameter '{name}' must be one of {', '.join(self.values)}, got '{value}'"
                )


# -- operations ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Operation:
    method: str
    template: str  # "/incidents/{id}/notes"
    query: Mapping[str, Param] = field(default_factory=dict)
    body: dict[str, Any] | None = None  # JSON Schema of a required JSON body; None: no body
    headers: Mapping[str, str] = field(default_factory=dict)  # header -> regex its value must match
    check: Callable[[Any], None] | None = None  # what a schema cannot say (e.g. "payload when trigger")

    def pattern(self) -> re.Pattern[str]:
        return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(self.template)) + "$")


class Contract:
    """The operations a fake serves and what each accepts. `check` raises RequestInvalid."""

    def __init__(self, vendor: str, operations: list[Operation], *,
                 headers: Mapping[str, str] | None = None, body_type: str = "application/json",
                 strip_suffix: str = "", ignore_query: frozenset[str] = frozenset()) -> None:  # fmt: skip
        self.vendor = vendor
        self.headers = dict(headers or {})  # headers every request needs: name -> regex
        self.body_type = body_type
        self.strip_suffix = strip_suffix
        self.ignore_query = ignore_query
        self.operations = [(op, op.pattern()) for op in operations]
        # Literal paths first, so "/incidents/unresolved" is not taken for "/incidents/{id}".
        self.operations.sort(key=lambda pair: pair[0].template.count("{"))

    def operation(self, method: str, path: str) -> Operation:
        if self.strip_suffix and path.endswith(self.strip_suffix):
            path = path[: -len(self.strip_suffix)]
        allowed = []
        for op, rx in self.operations:
            if rx.match(path):
                if op.method == method:
                    return op
                allowed.append(op.method)
        if allowed:
            raise RequestInvalid(f"{method} is not allowed on {path} ({', '.join(sorted(set(allowed)))} is)")
        raise RequestInvalid(f"{self.vendor} has no operation {method} {path}")

    def check(self, method: str, path: str, query: Mapping[str, list[str]], headers, body: bytes) -> Operation:
        op = self.operation(method, path)
        for name, rx in {**self.headers, **op.headers}.items():
            value = headers.get(name)
            if value is None:
                raise RequestInvalid(f"header '{name}' is required")
            if not re.fullmatch(rx, value):
                raise RequestInvalid(f"header '{name}' has the value '{value[:40]}', which {self.vendor} refuses")
        unknown = sorted(set(query) - set(op.query) - self.ignore_query)
        if unknown:
            raise RequestInvalid(f"unknown query parameter(s): {', '.join(unknown)}")
        for name, param in op.query.items():
            if name in query:
                param.check(name, query[name])
            elif param.required:
                raise RequestInvalid(f"query parameter '{name}' is required")
        if op.body is None:
            if body.strip():
                raise RequestInvalid("this operation takes no request body")
            return op
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip()
        if ctype != self.body_type:
            raise RequestInvalid(f"Content-Type '{ctype}' is not accepted here ({self.body_type} is)")
        try:
            value = json.loads(body)
        except ValueError as exc:
            raise RequestInvalid(f"the body is not JSON: {exc}") from None
        check_schema(op.body, value, "request body")
        if op.check is not None:
            op.check(value)
        return op


def check_schema(schema: dict[str, Any], value: Any, what: str) -> None:
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(value), key=lambda e: list(e.absolute_path))
    if errors:
        e = errors[0]
        where = "/".join(str(p) for p in e.absolute_path) or "(top)"
        raise RequestInvalid(f"{what} at {where}: {e.message[:300]}")
