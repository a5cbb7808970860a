"""A runbook file: Markdown with a front-matter header and numbered steps, read with line numbers.

The header is a small subset of YAML between two `---` lines (`key: value`, lists as `[a, b]`), so a runbook
reads the same in any Markdown viewer and needs no YAML library. Steps are `## N. Title` headings; the
`key: value` lines right under a heading are the step's settings, the rest is the instruction text.
Every problem names its line, because `sitrep runbook check` is run by the person editing the file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

STEP_KINDS = ("manual", "diagnostic", "action", "decision")
REQUIRED_HEADER = ("title", "services", "incident_types", "owner", "review_interval", "version")
LIST_KEYS = ("services", "incident_types")
HEADER_KEYS = REQUIRED_HEADER + ("drill_interval", "description", "target")
STEP_KEYS = (
    "kind", "playbook", "inventory", "limit", "target", "extra_vars", "destructive", "requires",
    "timeout", "secrets", "choices", "dry_run_window",
)  # fmt: skip
AUTOMATED_KINDS = ("diagnostic", "action")
DEFAULT_DRILL_INTERVAL = timedelta(days=91)  # a quarter
DEFAULT_TIMEOUT_S = 300
DEFAULT_DRY_RUN_WINDOW = timedelta(minutes=30)

_STEP_HEADING = re.compile(r"^##\s+(\d+)\.\s+(.*\S)\s*$")
_SETTING = re.compile(r"^([a-z_]+):\s*(.*?)\s*$")
_INTERVAL = re.compile(r"^(\d+)\s*(d|w|days?|weeks?|months?|quarters?|h|hours?|m|min|minutes?)$")
_CHOICE = re.compile(r"^(.+?)\s*->\s*(\d+|end)$")


@dataclass(frozen=True)
class Problem:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


@dataclass(frozen=True)
class Choice:
    label: str
    goes_to: int | None  # None: the runbook ends there


@dataclass(frozen=True)
class Step:
    number: int
    title: str
    kind: str
    line: int
    text: str = ""
    playbook: str = ""
    inventory: str = ""
    limit: str = ""
    target: str = ""
    extra_vars: dict[str, str] = field(default_factory=dict)
    destructive: bool = False
    requires: tuple[int, ...] = ()
    timeout_s: int = DEFAULT_TIMEOUT_S
    secrets: tuple[str, ...] = ()  # keyring entry names, handed to the playbook as extra vars
    choices: tuple[Choice, ...] = ()
    dry_run_window: timedelta = DEFAULT_DRY_RUN_WINDOW

    @property
    def automated(self) -> bool:
        return self.kind in AUTOMATED_KINDS


@dataclass(frozen=True)
class Runbook:
    path: Path
    title: str
    services: tuple[str, ...]
    incident_types: tuple[str, ...]
    owner: str
    review_interval: timedelta
    drill_interval: timedelta
    version: str
    description: str
    steps: tuple[Step, ...]
    target: str = ""  # where automated steps run unless a step names its own (a drill names another)

    @property
    def slug(self) -> str:
        return self.path.stem

    def step(self, number: int) -> Step:
        for step in self.steps:
            if step.number == number:
                return step
        raise KeyError(number)

    def applies_to(self, service: str | None, incident_type: str | None) -> bool:
        """Matches when the service is one of ours and the type is ours (or either list says `any`)."""
        services_ok = "any" in self.services or (service is not None and service in self.services)
        types_ok = "any" in self.incident_types or (
            incident_type is not None and incident_type in self.incident_types
        )
        return services_ok and types_ok


class RunbookInvalid(ValueError):
    def __init__(self, path: Path, problems: list[Problem]):
        self.path = path
        self.problems = problems
        super().__init__(f"{path.name}: " + "; ".join(str(p) for p in problems))


def parse_interval(text: str) -> timedelta | None:
    m = _INTERVAL.match(text.strip().lower())
    if not m:
        return None
    n, unit = int(m.group(1)), m.group(2)
    if unit.startswith("q"):
        return timedelta(days=91 * n)
    if unit.startswith("mo"):
        return timedelta(days=30 * n)
    if unit.startswith("w"):
        return timedelta(weeks=n)
    if unit.startswith("d"):
        return timedelta(days=n)
    if unit.startswith("h"):
        return timedelta(hours=n)
    return timedelta(minutes=n)


def _list_value(text: str) -> list[str]:
    text = text.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    return [part.strip().strip("\"'") for part in text.split(",") if part.strip()]


def _scalar(text: str) -> str:
    return text.strip().strip("\"'")


class _Reader:
    def __init__(self, path: Path, text: str):
        self.path = path
        self.lines = text.splitlines()
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(line, message))

    def header(self) -> tuple[dict[str, tuple[int, str]], int]:
        """The front matter's settings with their line numbers, and the index of the first body line."""
        if not self.lines or self.lines[0].strip() != "---":
            self.problem(1, "the file must start with a front-matter header between two '---' lines")
            return {}, 0
        values: dict[str, tuple[int, str]] = {}
        for i in range(1, len(self.lines)):
            raw = self.lines[i]
            if raw.strip() == "---":
                return values, i + 1
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            m = _SETTING.match(raw.strip())
            if not m:
                self.problem(i + 1, f"not a 'key: value' line: {raw.strip()!r}")
                continue
            key, value = m.groups()
            if key not in HEADER_KEYS:
                self.problem(i + 1, f"unknown header key {key!r} (known: {', '.join(HEADER_KEYS)})")
            elif key in values:
                self.problem(i + 1, f"{key!r} given twice (first on line {values[key][0]})")
            else:
                values[key] = (i + 1, value)
        self.problem(1, "the front-matter header is never closed with a '---' line")
        return values, len(self.lines)


def read_runbook_text(path: Path, text: str) -> tuple[Runbook | None, list[Problem]]:
    r = _Reader(path, text)
    header, body_start = r.header()
    for key in REQUIRED_HEADER:
        if key not in header and (body_start or not r.problems):
            r.problem(1, f"the header has no {key!r}")
    lists = {k: tuple(_list_value(header[k][1])) for k in LIST_KEYS if k in header}
    for key in LIST_KEYS:
        if key in header and not lists[key]:
            r.problem(header[key][0], f"{key!r} is empty: name at least one (or 'any')")
    intervals: dict[str, timedelta] = {}
    for key in ("review_interval", "drill_interval"):
        if key in header:
            interval = parse_interval(header[key][1])
            if interval is None:
                r.problem(header[key][0], f"{key!r} is not an interval like '90d', '6 months', '1 quarter'")
            else:
                intervals[key] = interval
    steps = _read_steps(r, body_start, _scalar(header["target"][1]) if "target" in header else "")
    _check_references(r, steps)
    if r.problems:
        return None, sorted(r.problems, key=lambda p: p.line)
    return Runbook(
        path=path,
        title=_scalar(header["title"][1]),
        services=lists["services"],
        incident_types=lists["incident_types"],
        owner=_scalar(header["owner"][1]),
        review_interval=intervals["review_interval"],
        drill_interval=intervals.get("drill_interval", DEFAULT_DRILL_INTERVAL),
        version=_scalar(header["version"][1]),
        description=_scalar(header["description"][1]) if "description" in header else "",
        steps=tuple(steps),
        target=_scalar(header["target"][1]) if "target" in header else "",
    ), []


def _read_steps(r: _Reader, start: int, default_target: str) -> list[Step]:
    headings = [
        (i, m) for i in range(start, len(r.lines)) if (m := _STEP_HEADING.match(r.lines[i]))
    ]
    if not headings:
        r.problem(start + 1 if start < len(r.lines) else max(len(r.lines), 1),
                  "no numbered steps: write each as a '## 1. Title' heading")  # fmt: skip
        return []
    steps: list[Step] = []
    for n, (i, m) in enumerate(headings):
        end = headings[n + 1][0] if n + 1 < len(headings) else len(r.lines)
        number, expected = int(m.group(1)), n + 1
        if number != expected:
            r.problem(i + 1, f"step numbered {number}, expected {expected}")
        step = _read_step(r, expected, m.group(2), i, end, default_target)
        if step is not None:
            steps.append(step)
    return steps


def _read_step(r: _Reader, number: int, title: str, heading: int, end: int, default_target: str) -> Step | None:
    settings: dict[str, tuple[int, str]] = {}
    j = heading + 1
    while j < end and (m := _SETTING.match(r.lines[j].strip())) and m.group(1) in STEP_KEYS:
        if m.group(1) in settings:
            r.problem(j + 1, f"{m.group(1)!r} given twice in step {number}")
        settings[m.group(1)] = (j + 1, m.group(2))
        j += 1
    text = "\n".join(r.lines[j:end]).strip()
    before = len(r.problems)
    kind_line, kind = settings.get("kind", (heading + 1, "manual"))
    if kind not in STEP_KINDS:
        r.problem(kind_line, f"step {number}: kind {kind!r} is not one of {', '.join(STEP_KINDS)}")
    values: dict = {}
    if kind in AUTOMATED_KINDS and "playbook" not in settings:
        r.problem(heading + 1, f"step {number} is a {kind}: it needs a 'playbook:' line")
    if kind not in AUTOMATED_KINDS:
        for key in ("playbook", "destructive", "timeout", "secrets", "extra_vars"):
            if key in settings:
                r.problem(settings[key][0], f"step {number}: {key!r} only applies to diagnostic or action steps")
    if kind == "decision":
        values["choices"] = _read_choices(r, number, settings.get("choices"), heading)
    elif "choices" in settings:
        r.problem(settings["choices"][0], f"step {number}: 'choices' only applies to a decision step")
    if "destructive" in settings:
        line, value = settings["destructive"]
        if value.lower() not in ("yes", "no", "true", "false"):
            r.problem(line, f"step {number}: 'destructive' is yes or no, not {value!r}")
        elif kind != "action" and value.lower() in ("yes", "true"):
            r.problem(line, f"step {number}: only an action can be destructive")
        values["destructive"] = value.lower() in ("yes", "true")
    if values.get("destructive") and "target" not in settings and not default_target:
        r.problem(heading + 1, f"step {number} is destructive: name its 'target:' (typed to confirm), "
                  "or the runbook's in the header")
    if "timeout" in settings:
        line, value = settings["timeout"]
        seconds = parse_interval(value)
        if value.isdigit():
            values["timeout_s"] = int(value)
        elif seconds is None or seconds.total_seconds() < 1:
            r.problem(line, f"step {number}: timeout {value!r} is not seconds or an interval like '5m'")
        else:
            values["timeout_s"] = int(seconds.total_seconds())
    if "dry_run_window" in settings:
        line, value = settings["dry_run_window"]
        window = parse_interval(value)
        if window is None:
            r.problem(line, f"step {number}: dry_run_window {value!r} is not an interval like '30m'")
        else:
            values["dry_run_window"] = window
    if "requires" in settings:
        line, value = settings["requires"]
        parts = _list_value(value)
        if not all(p.isdigit() for p in parts):
            r.problem(line, f"step {number}: 'requires' lists step numbers, e.g. [1, 2]")
        else:
            values["requires"] = tuple(int(p) for p in parts)
    if "extra_vars" in settings:
        line, value = settings["extra_vars"]
        pairs = {}
        for part in _list_value(value):
            key, eq, val = part.partition("=")
            if not eq or not key.strip():
                r.problem(line, f"step {number}: extra_vars are name=value pairs, not {part!r}")
            pairs[key.strip()] = val.strip()
        values["extra_vars"] = pairs
    if "secrets" in settings:
        values["secrets"] = tuple(_list_value(settings["secrets"][1]))
    if len(r.problems) > before:
        return None
    return Step(
        number=number, title=title, kind=kind, line=heading + 1, text=text,
        playbook=_scalar(settings.get("playbook", (0, ""))[1]),
        inventory=_scalar(settings.get("inventory", (0, ""))[1]),
        limit=_scalar(settings.get("limit", (0, ""))[1]),
        target=_scalar(settings.get("target", (0, ""))[1]),
        **values,
    )  # fmt: skip


def _read_choices(r: _Reader, number: int, setting, heading: int) -> tuple[Choice, ...]:
    if setting is None:
        r.problem(heading + 1, f"step {number} is a decision: it needs 'choices: label -> step, ...'")
        return ()
    line, value = setting
    choices = []
    for part in _list_value(value):
        m = _CHOICE.match(part)
        if not m:
            r.problem(line, f"step {number}: choice {part!r} is not 'label -> step number' (or '-> end')")
            continue
        choices.append(Choice(m.group(1), None if m.group(2) == "end" else int(m.group(2))))
    if len(choices) < 2 and len(r.problems) == 0:
        r.problem(line, f"step {number}: a decision needs at least two choices")
    return tuple(choices)


def _check_references(r: _Reader, steps: list[Step]) -> None:
    numbers = {s.number for s in steps}
    for s in steps:
        for req in s.requires:
            if req not in numbers or req >= s.number:
                r.problem(s.line, f"step {s.number} requires step {req}, which is not an earlier step")
            elif next(x for x in steps if x.number == req).kind != "diagnostic":
                r.problem(s.line, f"step {s.number} requires step {req}, which is not a diagnostic")
        for c in s.choices:
            if c.goes_to is not None and (c.goes_to not in numbers or c.goes_to <= s.number):
                r.problem(s.line, f"step {s.number}: choice {c.label!r} goes to step {c.goes_to}, "
                          "which is not a later step")  # fmt: skip


def read_runbook(path: Path) -> tuple[Runbook | None, list[Problem]]:
    """The runbook, or the problems that stop it being one (each with its line)."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        return None, [Problem(1, f"not UTF-8 text ({exc.reason})")]
    except OSError as exc:
        return None, [Problem(1, f"cannot read the file: {exc.strerror or exc}")]
    return read_runbook_text(path, text)


def load_runbook(path: Path) -> Runbook:
    runbook, problems = read_runbook(path)
    if runbook is None:
        raise RunbookInvalid(path, problems)
    return runbook
