"""Validate an HTTP request against an OpenAPI 3.0 document: path, parameters, headers and JSON body.

The vendors' documents are not part of the project (several have no licence to redistribute them): they
are looked for in SITREP_SPECS or ../shared/specs beside the checkout. Without them the fakes still
check every request against their own contracts (tests/fakes/contract.py); with them, this adds the
published spec on top (the stricter run CI makes).

OpenAPI 3.0 schemas are JSON Schema draft-04 plus a few keywords; `nullable` is turned into a "null"
type. `readOnly` is not enforced: PagerDuty marks reference ids read-only yet requires them in requests.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4

from tests.fakes.contract import RequestInvalid


@cache
def specs_dir() -> Path | None:
    """The vendors' specs: SITREP_SPECS, or ../shared/specs beside the checkout (CI lays them there);
    None when neither is there (a fresh clone), and the fakes use their own contracts alone.
    SITREP_SPECS=off runs as a fresh clone would, specs or not."""
    env = os.environ.get("SITREP_SPECS")
    if env == "off":
        return None
    if env:
        if not Path(env).is_dir():
            raise RuntimeError(f"SITREP_SPECS names {env}, which is not a folder.")
        return Path(env)
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent.parent / "shared" / "specs"
        if candidate.is_dir():
            return candidate
    return None


def spec_path(filename: str) -> Path:
    folder = specs_dir()
    if folder is None:
        raise RuntimeError(f"No vendor specs here ({filename}): set SITREP_SPECS.")
    return folder / filename


def how_requests_are_checked() -> str:
    """One line for the test run's header."""
    folder = specs_dir()
    if folder is None:
        return ("vendor fakes: their own contracts only (no vendor specs found; set SITREP_SPECS or lay them in "
                "../shared/specs for the stricter run)")  # fmt: skip
    return f"vendor fakes: their own contracts and the vendor specs in {folder}"


@dataclass(frozen=True)
class Operation:
    method: str
    template: str
    op: dict[str, Any]
    params: dict[str, str]


def _convert(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _convert(v) for k, v in node.items()}
        if out.get("nullable") is True:
            if "type" in out:
                t = out["type"]
                out["type"] = [*t, "null"] if isinstance(t, list) else [t, "null"]
            elif "$ref" in out:
                return {"anyOf": [{"$ref": out["$ref"]}, {"type": "null"}]}
        return out
    if isinstance(node, list):
        return [_convert(v) for v in node]
    return node


class SpecValidator:
    def __init__(
        self, filename: str, *, patches: dict[str, Any] | None = None, strip_suffix: str | None = None
    ) -> None:
        raw = json.loads(spec_path(filename).read_text(encoding="utf-8"))
        self.raw = raw
        doc = copy.deepcopy(raw)
        for pointer, value in (patches or {}).items():
            _set_pointer(doc, pointer, value)
        self.doc = _convert(doc)
        self.uri = f"urn:spec:{filename}"
        self.registry = Registry().with_resource(self.uri, Resource(contents=self.doc, specification=DRAFT4))
        self.strip_suffix = strip_suffix
        routes = []
        for template, item in self.doc["paths"].items():
            names = re.findall(r"{([^}]+)}", template)
            pattern = "^" + re.sub(r"\\{[^}]+\\}", "([^/]+)", re.escape(template)) + "$"
            routes.append((len(names), -len(template), template, re.compile(pattern), names, item))
        routes.sort(key=lambda r: (r[0], r[1]))
        self.routes = routes

    def _deref(self, node: dict) -> dict:
        while isinstance(node, dict) and "$ref" in node:
            node = _pointer(self.doc, node["$ref"])
        return node

    def match(self, method: str, path: str) -> Operation:
        if self.strip_suffix and path.endswith(self.strip_suffix):
            path = path[: -len(self.strip_suffix)]
        for _, _, template, rx, names, item in self.routes:
            m = rx.match(path)
            if m and method.lower() in item:
                return Operation(
                    method.upper(), template, item[method.lower()], dict(zip(names, m.groups(), strict=True))
                )
        raise RequestInvalid(f"{method} {path} is not an operation in the spec")

    def validate(
        self, method: str, path: str, query: dict[str, list[str]], headers, body: bytes
    ) -> Operation:
        op = self.match(method, path)
        item = self.doc["paths"][op.template]
        params = [self._deref(p) for p in item.get("parameters", []) + op.op.get("parameters", [])]
        known_query = set()
        for p in params:
            where, name = p.get("in"), p.get("name")
            schema = p.get("schema") or {}
            if where == "query":
                known_query.add(name)
                values = query.get(name)
                if values is None:
                    if p.get("required"):
                        raise RequestInvalid(f"query parameter '{name}' is required")
                    continue
                for v in values:
                    self._check_value(f"query parameter '{name}'", schema, v)
            elif where == "header":
                value = headers.get(name)
                if value is None:
                    if p.get("required"):
                        raise RequestInvalid(f"header '{name}' is required")
                    continue
                self._check_value(f"header '{name}'", schema, value)
            elif where == "path":
                self._check_value(f"path parameter '{name}'", schema, op.params.get(name, ""))
        unknown = set(query) - known_query - {"api_key"}
        if unknown:
            raise RequestInvalid(f"unknown query parameter(s): {', '.join(sorted(unknown))}")
        rb = self._deref(op.op.get("requestBody") or {})
        if not rb:
            if body.strip():
                raise RequestInvalid("this operation takes no request body")
            return op
        if not body.strip():
            if rb.get("required"):
                raise RequestInvalid("a request body is required")
            return op
        ctype = (headers.get("Content-Type") or "").split(";")[0].strip()
        content = rb.get("content") or {}
        if ctype not in content:
            raise RequestInvalid(f"Content-Type '{ctype}' is not accepted here (spec: {', '.join(content)})")
        if ctype == "application/json":
            try:
                value = json.loads(body)
            except ValueError as exc:
                raise RequestInvalid(f"the body is not JSON: {exc}") from None
            pointer = (
                "/paths/"
                + _escape(op.template)
                + f"/{method.lower()}/requestBody/content/application~1json/schema"
            )
            if "$ref" in (op.op.get("requestBody") or {}):
                pointer = op.op["requestBody"]["$ref"][1:] + "/content/application~1json/schema"
            self.check_schema({"$ref": f"{self.uri}#{pointer}"}, value, "request body")
        return op

    def check_schema(self, schema: dict, value: Any, what: str) -> None:
        validator = jsonschema.Draft4Validator(schema, registry=self.registry)
        errors = sorted(validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            e = errors[0]
            where = "/".join(str(p) for p in e.absolute_path) or "(top)"
            raise RequestInvalid(f"{what} at {where}: {e.message[:300]}")

    def _check_value(self, what: str, schema: dict, raw: str) -> None:
        schema = self._deref(schema)
        t = schema.get("type")
        if t == "array":
            schema = self._deref(schema.get("items") or {})
            t = schema.get("type")
        value: Any = raw
        try:
            if t == "integer":
                value = int(raw)
            elif t == "number":
                value = float(raw)
            elif t == "boolean":
                if raw not in ("true", "false"):
                    raise ValueError
                value = raw == "true"
        except ValueError:
            raise RequestInvalid(f"{what} must be {t}, got '{raw}'") from None
        if "enum" in schema and value not in schema["enum"]:
            raise RequestInvalid(f"{what} must be one of {schema['enum']}, got '{raw}'")


def _escape(template: str) -> str:
    return template.replace("~", "~0").replace("/", "~1")


def _pointer(doc: Any, ref: str) -> Any:
    if not ref.startswith("#/"):
        raise RequestInvalid(f"unsupported $ref {ref}")
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _set_pointer(doc: Any, pointer: str, value: Any) -> None:
    parts = [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]
    node = doc
    for part in parts[:-1]:
        node = node[part]
    node[parts[-1]] = value


@cache
def load_schema(filename: str) -> dict | None:
    """A vendor JSON Schema document, or None without the specs."""
    if specs_dir() is None:
        return None
    return json.loads(spec_path(filename).read_text(encoding="utf-8"))
