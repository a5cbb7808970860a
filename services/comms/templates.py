"""Message templates: loaded from resources/templates (and the user's config folder), rendered in a
sandbox, and handed to each chosen channel, which shapes what it sends and checks its own limits (the
channel adapters: services/adapters/channel.py says what a channel is).

A template is one `.j2` file. It opens with a Jinja comment holding TOML that declares its name,
audience, channels and fields; then `{% block subject %}`, `{% block body %}` and, optionally,
`{% block status %}` and `{% block title %}` (a status page reads them). Field values are data: they
are passed to the template as strings and never rendered as templates themselves. The channels a
template may name are the installed channel adapters; each may add fields it fills in for every draft.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from resources import resource_path
from services.adapters.channel import ChannelField, CommsChannel, MessageText, Problem
from services.adapters.discovery import discover_adapters
from services.errors import ValidationError

Channels = Mapping[str, type[CommsChannel]]

# Every template may use these; the draft fills them from the incident and the user may edit them.
# The installed channels add their own (e.g. the status page's status).
PREFILLED: dict[str, str] = {
    "incident_key": "Incident key, e.g. INC-0042",
    "title": "Incident title",
    "summary": "Incident summary",
    "severity": "Severity, e.g. SEV1",
    "severity_label": "Severity name, e.g. Critical",
    "status": "Status, e.g. investigating",
    "status_label": "Status as a word, e.g. Investigating",
    "incident_type": "Incident type",
    "services": "Impacted services, comma separated",
    "impact": "Customer impact in one line",
    "affected_users": "Affected users (number)",
    "error_rate": "Error rate, percent",
    "started_at": "When impact started (audience time zone)",
    "detected_at": "When it was detected",
    "declared_at": "When it was declared",
    "mitigated_at": "When it was mitigated",
    "resolved_at": "When it was resolved",
    "duration": "How long impact lasted so far",
    "now": "The time now",
    "next_update_at": "When the next update is due if this one goes out now",
    "commander": "Incident commander",
    "comms_lead": "Communications lead",
    "organisation": "Our organisation's name",
    "status_page_url": "Public status page address",
    "timezone": "The audience's time zone",
    "regulatory_clocks": "Regulatory deadlines running on the incident",
}

_META = re.compile(r"\A\s*\{#(.*?)#\}", re.S)


@dataclass(frozen=True)
class TemplateField:
    name: str
    label: str
    required: bool = False
    multiline: bool = False
    default: str = ""
    help: str = ""


@dataclass(frozen=True)
class TemplateProblem:
    template: str  # file name
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.template}, line {self.line}" if self.line else self.template
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class CommsTemplate:
    id: str
    name: str
    description: str
    audience: str
    channels: tuple[str, ...]
    fields: tuple[TemplateField, ...]  # the template's own fields, in declared order
    required: tuple[str, ...]  # prefilled or own fields that must not be empty
    used: frozenset[str]  # every field the template refers to
    path: str
    origin: str  # builtin | user
    source: str = field(repr=False, default="")

    prefilled: Mapping[str, str] = field(repr=False, default_factory=lambda: PREFILLED)

    def field_names(self) -> list[str]:
        """Fields the drafting form shows: the template's own (what the drafter must write) first, then the
        prefilled ones it uses, in PREFILLED order (the channels' after)."""
        own = [f.name for f in self.fields]
        pre = [n for n in self.prefilled if (n in self.used or n in self.required) and n not in own]
        return own + pre

    def label_of(self, name: str) -> str:
        for f in self.fields:
            if f.name == name:
                return f.label
        return self.prefilled.get(name, name).split(",")[0].split(" (")[0]

    def is_multiline(self, name: str) -> bool:
        return any(f.name == name and f.multiline for f in self.fields) or name in (
            "summary",
            "regulatory_clocks",
        )


class RenderError(ValidationError):
    """A template failed while rendering; the message names the template and line."""


def make_environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    return env


class TemplateLibrary:
    """The templates there are: built-ins, then the user's folder (same id replaces, new id adds).
    `channels` are the installed channel adapters (discovered when not given)."""

    def __init__(self, config_dir: Path | None = None, channels: Channels | None = None) -> None:
        self.channels: Channels = dict(channels) if channels is not None else discover_adapters().channels()
        self.channel_fields: dict[str, ChannelField] = {
            f.name: f for cls in self.channels.values() for f in cls.channel_fields
        }
        self.prefilled: dict[str, str] = {**PREFILLED, **{n: f.label for n, f in self.channel_fields.items()}}
        self.env = make_environment()
        self.templates: dict[str, CommsTemplate] = {}
        self.problems: list[TemplateProblem] = []
        self._compiled: dict[str, Any] = {}
        builtin = Path(str(resource_path("templates")))
        self._load_folder(builtin, "builtin")
        if config_dir is not None:
            user = Path(config_dir) / "templates"
            if user.is_dir():
                self._load_folder(user, "user")

    def _load_folder(self, folder: Path, origin: str) -> None:
        for path in sorted(folder.glob("*.j2")):
            try:
                source = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                self.problems.append(TemplateProblem(path.name, None, f"cannot be read ({exc})"))
                continue
            loaded = self.load_source(path.stem, source, path=str(path), origin=origin)
            if loaded is not None:
                self.templates[loaded.id] = loaded

    def load_source(
        self, template_id: str, source: str, *, path: str = "", origin: str = "user"
    ) -> CommsTemplate | None:
        """Check and compile one template. On a problem, record it (name and line) and return None."""
        name = Path(path).name if path else f"{template_id}.j2"
        m = _META.match(source)
        if not m:
            self.problems.append(
                TemplateProblem(
                    name, 1, "must start with a {# ... #} block declaring name, audience and channels"
                )
            )
            return None
        try:
            meta_doc = tomllib.loads(m.group(1))
        except tomllib.TOMLDecodeError as exc:
            line = _toml_line(exc)
            self.problems.append(
                TemplateProblem(
                    name,
                    line + source[: m.start(1)].count("\n") if line else None,
                    f"its declaration is not valid TOML ({exc})",
                )
            )
            return None
        try:
            own = tuple(
                TemplateField(fname, str(spec.get("label", fname)), bool(spec.get("required", False)),
                              bool(spec.get("multiline", False)), str(spec.get("default", "")), str(spec.get("help", "")))
                for fname, spec in (meta_doc.get("fields") or {}).items()
            )  # fmt: skip
            channels = tuple(meta_doc.get("channels") or ())
            tpl = CommsTemplate(
                id=template_id,
                name=str(meta_doc["name"]),
                description=str(meta_doc.get("description", "")),
                audience=str(meta_doc["audience"]),
                channels=channels,
                fields=own,
                required=tuple(meta_doc.get("required") or ()) + tuple(f.name for f in own if f.required),
                used=frozenset(),
                path=path,
                origin=origin,
                source=source,
                prefilled=self.prefilled,
            )
        except (KeyError, TypeError, AttributeError) as exc:
            self.problems.append(TemplateProblem(name, 1, f"its declaration lacks or mistypes {exc}"))
            return None
        bad = [c for c in channels if c not in self.channels]
        if bad or not channels:
            self.problems.append(
                TemplateProblem(
                    name,
                    1,
                    f"channels must be some of {', '.join(self.channels)} (got {', '.join(bad) or 'none'})",
                )
            )
            return None
        try:
            ast = self.env.parse(source, template_id, name)
        except TemplateSyntaxError as exc:
            self.problems.append(TemplateProblem(name, exc.lineno, exc.message or "syntax error"))
            return None
        blocks = {b.name for b in ast.find_all(nodes.Block)}
        if not {"subject", "body"} <= blocks:
            self.problems.append(
                TemplateProblem(name, None, "needs a {% block subject %} and a {% block body %}")
            )
            return None
        known = set(self.prefilled) | {f.name for f in own}
        used = meta.find_undeclared_variables(ast)
        unknown = sorted(used - known)
        if unknown:
            first = unknown[0]
            line = min((n.lineno for n in ast.find_all(nodes.Name) if n.name == first), default=None)
            self.problems.append(TemplateProblem(name, line, f"uses the unknown field '{first}'"
                                                 + (f" (and {', '.join(unknown[1:])})" if unknown[1:] else "")
                                                 + "; declare it under [fields] or use a prefilled one"))  # fmt: skip
            return None
        undeclared_required = [r for r in tpl.required if r not in known]
        if undeclared_required:
            self.problems.append(
                TemplateProblem(name, 1, f"requires the unknown field '{undeclared_required[0]}'")
            )
            return None
        # Checked, not compiled: the library lists what it holds from the declarations and the parse, and a
        # template is compiled when it is first rendered (`_compiled_template`). Compiling all of them took
        # half of the library's ~0.7 s at every console start (docs/performance.md).
        self._compiled.pop(template_id, None)
        return CommsTemplate(**{**tpl.__dict__, "used": frozenset(used)})

    def _compiled_template(self, tpl: CommsTemplate):
        compiled = self._compiled.get(tpl.id)
        if compiled is None:
            name = Path(tpl.path).name if tpl.path else f"{tpl.id}.j2"
            try:
                code = self.env.compile(tpl.source, tpl.id, name)
            except TemplateError as exc:  # pragma: no cover - it parsed when it was loaded
                raise RenderError(f"Template {name}: {exc}") from None
            compiled = self.env.template_class.from_code(self.env, code, self.env.make_globals(None), None)
            self._compiled[tpl.id] = compiled
        return compiled

    def get(self, template_id: str) -> CommsTemplate:
        try:
            return self.templates[template_id]
        except KeyError:
            known = ", ".join(sorted(self.templates)) or "none"
            raise ValidationError(f"No template '{template_id}'. Known: {known}.", field="template") from None

    # -- rendering -------------------------------------------------------------------------
    def render_text(self, tpl: CommsTemplate, values: dict[str, str]) -> dict[str, str]:
        """subject, body, title and status as the template writes them, for these field values."""
        compiled = self._compiled_template(tpl)
        context = {name: "" for name in self.prefilled}
        context.update({f.name: f.default for f in tpl.fields})
        context.update({k: ("" if v is None else str(v)) for k, v in values.items() if k in context})
        out: dict[str, str] = {}
        for block in ("subject", "title", "status", "body"):
            fn = compiled.blocks.get(block)
            if fn is None:
                continue
            try:
                text = "".join(fn(compiled.new_context(dict(context))))
            except SecurityError as exc:
                raise RenderError(
                    f"Template {Path(tpl.path).name or tpl.id}{_line_of(exc, tpl, compiled)}: refused by the sandbox ({exc})."
                ) from None
            except UndefinedError as exc:
                raise RenderError(
                    f"Template {Path(tpl.path).name or tpl.id}{_line_of(exc, tpl, compiled)}: {exc}."
                ) from None
            except TemplateError as exc:
                raise RenderError(
                    f"Template {Path(tpl.path).name or tpl.id}{_line_of(exc, tpl, compiled)}: {exc}."
                ) from None
            except Exception as exc:  # a filter misused on a value, e.g. int() of a word
                raise RenderError(f"Template {Path(tpl.path).name or tpl.id}{_line_of(exc, tpl, compiled)}: "
                                  f"{type(exc).__name__}: {exc}.") from None  # fmt: skip
            out[block] = _tidy(text) if block == "body" else " ".join(text.split())
        return out

    def render(
        self, tpl: CommsTemplate, values: dict[str, str], channels: Iterable[str], *, footer: str = "",
        exercise: bool = False,
    ) -> dict[str, dict[str, Any]]:
        """What each chosen channel would send. An exercise's message says so in every rendering: its
        subject or title and the first and last line of its body (a reader may see only one of them)."""
        text = self.render_text(tpl, values)
        if exercise:
            text = mark_exercise(text)
        message = MessageText(text["subject"], text["body"], text.get("title", ""), text.get("status", ""),
                              footer, dict(values))  # fmt: skip
        return {ch: self.channel(ch).render_message(message) for ch in channels}

    def channel(self, name: str) -> type[CommsChannel]:
        try:
            return self.channels[name]
        except KeyError:
            raise ValidationError(
                f"Unknown channel '{name}'. Channels: {', '.join(self.channels) or 'none installed'}.",
                field="channels",
            ) from None

    def check_limits(self, rendered: dict[str, dict[str, Any]], recipients: Mapping[str, Any]) -> list[Problem]:
        """What stops these renderings from going out (errors), and what deserves a look (warnings)."""
        return [p for ch, r in rendered.items() if ch in self.channels
                for p in self.channels[ch].message_problems(r, recipients)]  # fmt: skip


EXERCISE_MARK = "[EXERCISE]"
EXERCISE_NOTICE = "EXERCISE — this is a tabletop exercise, not a real incident."


def mark_exercise(text: dict[str, str]) -> dict[str, str]:
    out = dict(text)
    for block in ("subject", "title"):
        if out.get(block) and not out[block].startswith(EXERCISE_MARK):
            out[block] = f"{EXERCISE_MARK} {out[block]}"
    out["body"] = f"{EXERCISE_NOTICE}\n\n{out.get('body', '')}\n\n{EXERCISE_NOTICE}"
    return out


def _toml_line(exc: tomllib.TOMLDecodeError) -> int | None:
    m = re.search(r"line (\d+)", str(exc))
    return int(m.group(1)) if m else None


def _line_of(exc: BaseException, tpl: CommsTemplate, compiled) -> str:
    """', line N' in the template file, from the innermost frame of its compiled code."""
    name = Path(tpl.path).name if tpl.path else f"{tpl.id}.j2"
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename in (name, tpl.path, tpl.id) and frame.lineno:
            return f", line {compiled.get_corresponding_lineno(frame.lineno)}"
    return ""


def _tidy(text: str) -> str:
    """Trim each line's right end and collapse runs of blank lines that block tags leave behind."""
    lines = [ln.rstrip() for ln in text.strip("\n").splitlines()]
    out: list[str] = []
    for ln in lines:
        if not ln and out and not out[-1]:
            continue
        out.append(ln)
    return "\n".join(out).strip()


def missing_fields(tpl: CommsTemplate, values: dict[str, str]) -> list[str]:
    return [name for name in tpl.required if not str(values.get(name) or "").strip()]


def content_hash(channels: list[str], recipients: dict[str, Any], rendered: dict[str, Any]) -> str:
    """What an approval is an approval of: the channels, the recipients and every rendering."""
    doc = {"channels": list(channels), "recipients": recipients, "rendered": rendered}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
