"""Tabletop scenarios as data: one TOML file each, read and checked here.

A scenario follows the HSEEP/CTEP shape (objectives, modules with discussion questions, player
roles, a starting situation, and the MSEL: injects at a scenario time or after a trigger, each with
the actions the team is expected to take). Checking names the file, line and field of every
problem, so a facilitator can fix a hand-written file; `load_scenarios` lists the good ones and the
problems of the others, and a broken file never stops the rest from loading.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from services.exercises.rules import RULE_KINDS, Rule, Vocabulary, check_rule

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "resources" / "scenarios"
# HSEEP's exercise types (discussion-based, then operations-based).
EXERCISE_TYPES = ("seminar", "workshop", "tabletop", "game", "drill", "functional", "full-scale")
START_KINDS = ("alert", "report", "declared")
TRIGGERS = ("declared", "investigating", "identified", "mitigated", "resolved")
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,79}$")
_CLOCK = re.compile(r"^(\d{1,3}):([0-5]\d)$")


@dataclass(frozen=True)
class Objective:
    id: str
    text: str
    capability: str = ""


@dataclass(frozen=True)
class Module:
    id: str
    title: str
    starts_min: float
    questions: tuple[str, ...]


@dataclass(frozen=True)
class Expectation:
    id: str
    text: str
    inject_id: str
    within_min: float | None
    rule: Rule | None  # None: the evaluator marks it
    objectives: tuple[str, ...]


@dataclass(frozen=True)
class Inject:
    id: str
    title: str
    content: str
    at_min: float | None  # scenario minutes; None when it waits for a trigger
    after: str | None  # a status (or "declared") the incident must reach first
    delay_min: float
    module: str
    to: tuple[str, ...]  # role ids, or ("all",)
    channel: str
    objectives: tuple[str, ...]
    evaluator_focus: str
    expectations: tuple[Expectation, ...]

    @property
    def when_text(self) -> str:
        if self.at_min is not None:
            return clock_text(self.at_min * 60)
        delay = f" + {self.delay_min:g} min" if self.delay_min else ""
        return f"after {self.after}{delay}"


@dataclass(frozen=True)
class StartSituation:
    kind: str  # alert | report | declared
    text: str
    title: str = ""
    severity: str = ""
    incident_type: str = "other"
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    id: str
    title: str
    type: str
    summary: str
    threat: str
    duration_min: float  # the session's length in real minutes
    scenario_min: float  # the simulated span the injects cover
    objectives: tuple[Objective, ...]
    modules: tuple[Module, ...]
    player_roles: tuple[str, ...]
    start: StartSituation
    injects: tuple[Inject, ...]
    path: Path
    text: str = field(repr=False, default="")

    @property
    def speed(self) -> float:
        """Scenario minutes per real minute when the whole span runs in the session's time."""
        return max(1.0, self.scenario_min / self.duration_min) if self.duration_min else 1.0

    def inject(self, inject_id: str) -> Inject | None:
        return next((i for i in self.injects if i.id == inject_id), None)

    def objective(self, objective_id: str) -> Objective | None:
        return next((o for o in self.objectives if o.id == objective_id), None)

    @property
    def expectations(self) -> list[Expectation]:
        return [e for i in self.injects for e in i.expectations]


@dataclass(frozen=True)
class ScenarioProblem:
    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.message}"


class ScenarioInvalid(Exception):
    def __init__(self, problems: list[ScenarioProblem]) -> None:
        super().__init__("\n".join(map(str, problems)))
        self.problems = problems


def flowing(text: str) -> str:
    paragraphs = re.split(r"\n\s*\n", text.strip())
    return "\n\n".join(" ".join(p.split()) for p in paragraphs)


def clock_text(seconds: float) -> str:
    """Scenario time as T+H:MM (the MSEL's way of writing it)."""
    minutes = int(max(0.0, seconds) // 60)
    return f"T+{minutes // 60}:{minutes % 60:02d}"


# -- where each key is written, for line numbers ----------------------------------------------
def locate_keys(text: str) -> dict[tuple, int]:
    """(path) -> line for every table header and key, e.g. ("injects", 2, "expect", 0, "rule")."""
    where: dict[tuple, int] = {}
    counters: dict[tuple, int] = {}
    current: tuple = ()
    in_multiline = False
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if in_multiline:
            if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
                in_multiline = False
            continue
        if line.startswith("[["):
            parts = line[2:].split("]]", 1)[0].strip().split(".")
            path: list[Any] = []
            for i, part in enumerate(parts):
                path.append(part.strip())
                if i < len(parts) - 1 and tuple(path) in counters:
                    path.append(counters[tuple(path)] - 1)
            key = tuple(path)
            counters[key] = counters.get(key, 0) + 1
            current = key + (counters[key] - 1,)
            where.setdefault(current, n)
        elif line.startswith("["):
            current = tuple(p.strip() for p in line[1:].split("]", 1)[0].split("."))
            where.setdefault(current, n)
        else:
            m = re.match(r"^([A-Za-z0-9_-]+)\s*=", line)
            if m:
                where.setdefault(current + (m.group(1),), n)
        if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
            in_multiline = True
    return where


class _Reader:
    """Reads one scenario's parsed TOML, collecting problems with the line each came from."""

    def __init__(self, path: Path, text: str, vocab: Vocabulary) -> None:
        self.path, self.text, self.vocab = path, text, vocab
        self.where = locate_keys(text)
        self.problems: list[ScenarioProblem] = []

    def problem(self, path: tuple, message: str) -> None:
        probe = path
        while probe and probe not in self.where:
            probe = probe[:-1]
        line = self.where.get(probe, 1)
        name = "".join(f"[{p}]" if isinstance(p, int) else (f".{p}" if i else p) for i, p in enumerate(path))
        self.problems.append(ScenarioProblem(str(self.path), line, name or "(file)", message))

    def unknown_keys(self, table: dict, path: tuple, allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        for key in table:
            if key not in allowed:
                self.problem(path + (key,), f"unknown field '{key}' (known: {', '.join(sorted(allowed))})")

    def text_of(self, table: dict, path: tuple, key: str, *, required: bool = True, limit: int = 4000) -> str:
        """The text, with the line breaks of a TOML multi-line string joined (a blank line stays a paragraph)."""
        value = table.get(key)
        if value is None:
            if required:
                self.problem(path + (key,), f"'{key}' is missing")
            return ""
        if not isinstance(value, str) or (required and not value.strip()):
            self.problem(path + (key,), f"'{key}' must be a non-empty text")
            return ""
        if len(value) > limit:
            self.problem(path + (key,), f"'{key}' is longer than {limit} characters")
        return flowing(value)

    def ident(self, table: dict, path: tuple, key: str = "id") -> str:
        value = self.text_of(table, path, key)
        if value and not _ID.match(value):
            self.problem(path + (key,), f"'{value}' is not a usable id (letters, digits, '_', '-', '.')")
        return value

    def minutes(self, table: dict, path: tuple, key: str, *, required: bool = False) -> float | None:
        value = table.get(key)
        if value is None:
            if required:
                self.problem(path + (key,), f"'{key}' is missing")
            return None
        if isinstance(value, bool):
            value = None
        elif isinstance(value, int | float) and value >= 0:
            return float(value)
        elif isinstance(value, str) and (m := _CLOCK.match(value.strip())):
            return int(m.group(1)) * 60 + int(m.group(2))
        self.problem(path + (key,), f"'{key}' must be minutes (e.g. 35) or H:MM (e.g. \"1:30\"), not {value!r}")
        return None

    def strings(self, table: dict, path: tuple, key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            self.problem(path + (key,), f"'{key}' must be a list of texts")
            return ()
        return tuple(v.strip() for v in value)

    def tables(self, doc: dict, key: str, *, required: bool = True) -> list[dict]:
        value = doc.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            self.problem((key,), f"'{key}' must be written as [[{key}]] tables")
            return []
        if required and not value:
            self.problem((key,), f"the scenario needs at least one [[{key}]]")
        return value


def parse_scenario(path: Path, text: str, vocab: Vocabulary) -> Scenario:
    """The scenario in `text` (read from `path`), or ScenarioInvalid listing every problem."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"line (\d+)", str(exc))
        raise ScenarioInvalid([ScenarioProblem(str(path), int(m.group(1)) if m else 1, "(syntax)",
                                               f"not valid TOML: {exc}")]) from None  # fmt: skip
    r = _Reader(path, text, vocab)
    r.unknown_keys(doc, (), ("id", "title", "type", "summary", "threat", "duration_min", "scenario_min",
                             "player_roles", "objectives", "modules", "start", "injects"))  # fmt: skip
    sid = r.ident(doc, ())
    title = r.text_of(doc, (), "title", limit=300)
    kind = doc.get("type", "tabletop")
    if kind not in EXERCISE_TYPES:
        r.problem(("type",), f"'{kind}' is not an exercise type; use one of: {', '.join(EXERCISE_TYPES)}")
    duration = r.minutes(doc, (), "duration_min", required=True) or 0.0
    if "duration_min" in doc and duration <= 0:
        r.problem(("duration_min",), "the session must last some minutes")
    span = r.minutes(doc, (), "scenario_min")
    roles = r.strings(doc, (), "player_roles")
    for role in roles:
        if role not in vocab.roles:
            r.problem(("player_roles",), f"'{role}' is not a role (known: {', '.join(sorted(vocab.roles))})")

    objectives = []
    for i, raw in enumerate(r.tables(doc, "objectives")):
        p = ("objectives", i)
        r.unknown_keys(raw, p, ("id", "text", "capability"))
        objectives.append(Objective(r.ident(raw, p), r.text_of(raw, p, "text"), r.text_of(raw, p, "capability", required=False)))
    objective_ids = [o.id for o in objectives]
    _duplicates(r, objective_ids, "objectives")

    modules = []
    for i, raw in enumerate(r.tables(doc, "modules", required=False)):
        p = ("modules", i)
        r.unknown_keys(raw, p, ("id", "title", "starts", "questions"))
        modules.append(Module(r.ident(raw, p), r.text_of(raw, p, "title"), r.minutes(raw, p, "starts") or 0.0,
                              r.strings(raw, p, "questions")))  # fmt: skip
    _duplicates(r, [m.id for m in modules], "modules")

    start = _start(r, doc.get("start"))
    injects = []
    expectation_ids: list[str] = []
    for i, raw in enumerate(r.tables(doc, "injects")):
        inject = _inject(r, raw, ("injects", i), objective_ids, [m.id for m in modules])
        injects.append(inject)
        expectation_ids += [e.id for e in inject.expectations]
    _duplicates(r, [i.id for i in injects], "injects")
    _duplicates(r, expectation_ids, "injects.expect")
    timed = [i.at_min for i in injects if i.at_min is not None]
    if span is None:
        span = max([duration, *timed]) if timed else duration
    elif timed and max(timed) > span:
        r.problem(("scenario_min",), f"an inject is at {max(timed):g} min, after the scenario's end ({span:g} min)")
    if r.problems:
        raise ScenarioInvalid(r.problems)
    return Scenario(sid, title, kind, flowing(str(doc.get("summary", ""))), str(doc.get("threat", "")).strip(),
                    duration, span, tuple(objectives), tuple(modules), roles, start, tuple(injects), path, text)  # fmt: skip


def _duplicates(r: _Reader, ids: list[str], what: str) -> None:
    seen: set[str] = set()
    for i, value in enumerate(ids):
        if value and value in seen:
            r.problem((what.split(".")[0], i), f"the id '{value}' is used twice in {what}")
        seen.add(value)


def _start(r: _Reader, raw: Any) -> StartSituation:
    p = ("start",)
    if not isinstance(raw, dict):
        r.problem(p, "the scenario needs a [start] table: kind = alert, report or declared, and its text")
        return StartSituation("alert", "")
    r.unknown_keys(raw, p, ("kind", "text", "title", "severity", "incident_type", "services"))
    kind = raw.get("kind", "")
    if kind not in START_KINDS:
        r.problem(p + ("kind",), f"start.kind must be one of: {', '.join(START_KINDS)}")
    severity = str(raw.get("severity", "")).strip().upper()
    if kind == "declared":
        if severity not in r.vocab.severities:
            r.problem(p + ("severity",), f"an incident already declared needs its severity (one of {', '.join(sorted(r.vocab.severities))})")
        if not str(raw.get("title", "")).strip():
            r.problem(p + ("title",), "an incident already declared needs its title")
    itype = str(raw.get("incident_type", "other"))
    if itype not in r.vocab.incident_types:
        r.problem(p + ("incident_type",), f"'{itype}' is not an incident type (known: {', '.join(r.vocab.incident_types)})")
    return StartSituation(kind, r.text_of(raw, p, "text"), str(raw.get("title", "")).strip(), severity, itype,
                          r.strings(raw, p, "services"))  # fmt: skip


def _inject(r: _Reader, raw: dict, p: tuple, objective_ids: list[str], module_ids: list[str]) -> Inject:
    r.unknown_keys(raw, p, ("id", "title", "content", "at", "after", "delay_min", "module", "to", "channel",
                            "objectives", "evaluator_focus", "expect"))  # fmt: skip
    iid = r.ident(raw, p)
    at = r.minutes(raw, p, "at")
    after = raw.get("after")
    if (at is None) == (after is None) and "at" not in raw:
        r.problem(p, "an inject needs either 'at' (scenario time) or 'after' (a trigger such as \"mitigated\")")
    elif "at" in raw and after is not None:
        r.problem(p + ("after",), "give 'at' or 'after', not both")
    if after is not None and after not in TRIGGERS:
        r.problem(p + ("after",), f"'after' must be one of: {', '.join(TRIGGERS)}")
    delay = r.minutes(raw, p, "delay_min") or 0.0
    module = str(raw.get("module", "")).strip()
    if module and module not in module_ids:
        r.problem(p + ("module",), f"no module '{module}' (known: {', '.join(module_ids) or 'none'})")
    to = r.strings(raw, p, "to") or ("all",)
    for role in to:
        if role != "all" and role not in r.vocab.roles:
            r.problem(p + ("to",), f"'{role}' is not a role; use role ids ({', '.join(sorted(r.vocab.roles))}) or \"all\"")
    objectives = r.strings(raw, p, "objectives")
    for obj in objectives:
        if obj not in objective_ids:
            r.problem(p + ("objectives",), f"no objective '{obj}' (known: {', '.join(objective_ids)})")
    expectations = []
    expect = raw.get("expect", [])
    if not isinstance(expect, list) or not all(isinstance(e, dict) for e in expect):
        r.problem(p + ("expect",), "write expected actions as [[injects.expect]] tables")
        expect = []
    for j, e in enumerate(expect):
        q = p + ("expect", j)
        r.unknown_keys(e, q, ("id", "text", "within_min", "rule", "objectives"))
        rule = None
        if "rule" in e:
            rule, messages = check_rule(e["rule"], r.vocab)
            for message in messages:
                r.problem(q + ("rule",), message)
        objs = r.strings(e, q, "objectives") or objectives
        for obj in objs:
            if obj not in objective_ids:
                r.problem(q + ("objectives",), f"no objective '{obj}' (known: {', '.join(objective_ids)})")
        expectations.append(Expectation(r.ident(e, q), r.text_of(e, q, "text"), iid, r.minutes(e, q, "within_min"),
                                        rule, objs))  # fmt: skip
    return Inject(iid, r.text_of(raw, p, "title", limit=200), r.text_of(raw, p, "content"), at,
                  after if isinstance(after, str) else None, delay, module, to,
                  str(raw.get("channel", "")).strip() or "in the room", objectives,
                  r.text_of(raw, p, "evaluator_focus", required=False), tuple(expectations))  # fmt: skip


# -- finding scenarios ----------------------------------------------------------------------------
@dataclass(frozen=True)
class ScenarioShelf:
    """The scenarios found, and the files that could not be read (each with its problems)."""

    scenarios: dict[str, Scenario]
    broken: dict[str, list[ScenarioProblem]]


def scenario_folders(config_dir: Path | None) -> list[Path]:
    folders = [SHIPPED_DIR]
    if config_dir is not None:
        folders.append(Path(config_dir) / "scenarios")
    return folders


def read_scenario_file(path: Path, vocab: Vocabulary) -> Scenario:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioInvalid([ScenarioProblem(str(path), 1, "(file)", f"cannot be read: {exc}")]) from None
    return parse_scenario(path, text, vocab)


def load_scenarios(config_dir: Path | None, vocab: Vocabulary) -> ScenarioShelf:
    """Shipped scenarios, then the user's; a user file with the same id replaces a shipped one."""
    found: dict[str, Scenario] = {}
    broken: dict[str, list[ScenarioProblem]] = {}
    for folder in scenario_folders(config_dir):
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.toml")):
            try:
                scenario = read_scenario_file(path, vocab)
            except ScenarioInvalid as exc:
                broken[str(path)] = exc.problems
                continue
            found[scenario.id] = scenario
    return ScenarioShelf(found, broken)


__all__ = ["RULE_KINDS", "Scenario", "ScenarioInvalid", "ScenarioShelf", "load_scenarios", "parse_scenario"]
