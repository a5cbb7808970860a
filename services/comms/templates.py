"""Message templates: loaded from resources/templates (and the user's config folder), rendered in a
sandbox, and turned into what each channel takes (Slack mrkdwn and Block Kit, e-mail plain text and
HTML, a Statuspage incident update), with each channel's limits checked.

A template is one `.j2` file. It opens with a Jinja comment holding TOML that declares its name,
audience, channels and fields; then `{% block subject %}`, `{% block body %}` and, for the status page,
optional `{% block status %}` and `{% block title %}`. Field values are data: they are passed to the
template as strings and never rendered as templates themselves.
"""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateSyntaxError, meta, nodes
from jinja2.exceptions import SecurityError, TemplateError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import escape

from resources import resource_path
from services.errors import ValidationError

CHANNELS = ("slack", "email", "statuspage")
CHANNEL_LABELS = {"slack": "Slack", "email": "E-mail", "statuspage": "Status page"}
STATUSPAGE_STATUSES = ("investigating", "identified", "monitoring", "resolved")

# Slack: a message's text is cut at 40,000 characters; a header block holds 150, a section 3,000,
# and a message at most 50 blocks. Statuspage: an incident name up to 255 characters (the adapter
# also clips the body at 25,000). E-mail: a header line must stay under 998 characters (RFC 5322).
SLACK_TEXT_MAX = 40_000
SLACK_HEADER_MAX = 150
SLACK_SECTION_MAX = 3_000
SLACK_BLOCKS_MAX = 50
STATUSPAGE_NAME_MAX = 255
STATUSPAGE_BODY_MAX = 25_000
EMAIL_SUBJECT_MAX = 200

# Every template may use these; the draft fills them from the incident and the user may edit them.
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
    "statuspage_status": "Status page status (investigating, identified, monitoring, resolved)",
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

    def field_names(self) -> list[str]:
        """Fields the drafting form shows: the template's own (what the drafter must write) first, then the
        prefilled ones it uses, in PREFILLED order."""
        own = [f.name for f in self.fields]
        pre = [n for n in PREFILLED if (n in self.used or n in self.required) and n not in own]
        return own + pre

    def label_of(self, name: str) -> str:
        for f in self.fields:
            if f.name == name:
                return f.label
        return PREFILLED.get(name, name).split(",")[0].split(" (")[0]

    def is_multiline(self, name: str) -> bool:
        return any(f.name == name and f.multiline for f in self.fields) or name in (
            "summary",
            "regulatory_clocks",
        )


@dataclass(frozen=True)
class Problem:
    """A limit or rule a rendering breaks. level "error" blocks sending; "warning" does not."""

    channel: str | None
    field: str | None
    message: str
    level: str = "error"


class RenderError(ValidationError):
    """A template failed while rendering; the message names the template and line."""


def make_environment() -> SandboxedEnvironment:
    env = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=False)
    return env


class TemplateLibrary:
    """The templates there are: built-ins, then the user's folder (same id replaces, new id adds)."""

    def __init__(self, config_dir: Path | None = None) -> None:
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
            )
        except (KeyError, TypeError, AttributeError) as exc:
            self.problems.append(TemplateProblem(name, 1, f"its declaration lacks or mistypes {exc}"))
            return None
        bad = [c for c in channels if c not in CHANNELS]
        if bad or not channels:
            self.problems.append(
                TemplateProblem(
                    name,
                    1,
                    f"channels must be some of {', '.join(CHANNELS)} (got {', '.join(bad) or 'none'})",
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
        known = set(PREFILLED) | {f.name for f in own}
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
        try:
            code = self.env.compile(source, template_id, name)
            compiled = self.env.template_class.from_code(self.env, code, self.env.make_globals(None), None)
        except TemplateError as exc:  # pragma: no cover - parse already succeeded
            self.problems.append(TemplateProblem(name, getattr(exc, "lineno", None), str(exc)))
            return None
        self._compiled[template_id] = compiled
        return CommsTemplate(**{**tpl.__dict__, "used": frozenset(used)})

    def get(self, template_id: str) -> CommsTemplate:
        try:
            return self.templates[template_id]
        except KeyError:
            known = ", ".join(sorted(self.templates)) or "none"
            raise ValidationError(f"No template '{template_id}'. Known: {known}.", field="template") from None

    # -- rendering -------------------------------------------------------------------------
    def render_text(self, tpl: CommsTemplate, values: dict[str, str]) -> dict[str, str]:
        """subject, body, title and status as the template writes them, for these field values."""
        compiled = self._compiled[tpl.id]
        context = {name: "" for name in PREFILLED}
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
        self, tpl: CommsTemplate, values: dict[str, str], channels: list[str], *, footer: str = "",
        exercise: bool = False,
    ) -> dict[str, dict[str, Any]]:
        """What each chosen channel would send. An exercise's message says so in every rendering: its
        subject or title and the first and last line of its body (a reader may see only one of them)."""
        text = self.render_text(tpl, values)
        if exercise:
            text = mark_exercise(text)
        out: dict[str, dict[str, Any]] = {}
        for ch in channels:
            if ch == "slack":
                out[ch] = slack_rendering(text["subject"], text["body"], footer)
            elif ch == "email":
                out[ch] = email_rendering(text["subject"], text["body"], footer)
            elif ch == "statuspage":
                status = text.get("status") or values.get("statuspage_status") or ""
                out[ch] = {
                    "name": text.get("title") or text["subject"],
                    "body": text["body"],
                    "status": status.strip().lower(),
                }
        return out


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


# -- channel renderings ------------------------------------------------------------------------
def slack_escape(text: str) -> str:
    """Slack treats &, < and > as control characters in mrkdwn; everything else is literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _paragraphs(body: str) -> list[str]:
    return [p.strip("\n") for p in re.split(r"\n\s*\n", body) if p.strip()]


def _slack_paragraph(p: str) -> str:
    lines = []
    for ln in p.splitlines():
        if ln.lstrip().startswith("- "):
            ln = ln.replace("- ", "• ", 1)
        lines.append(slack_escape(ln))
    return "\n".join(lines)


def slack_rendering(subject: str, body: str, footer: str = "") -> dict[str, Any]:
    """A Slack message: `text` (mrkdwn, also the notification fallback) and Block Kit `blocks`."""
    paragraphs = [_slack_paragraph(p) for p in _paragraphs(body)]
    text = f"*{slack_escape(subject)}*\n" + "\n\n".join(paragraphs)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": subject[:SLACK_HEADER_MAX], "emoji": True}}
    ]
    chunk = ""
    for p in paragraphs:
        # Sections hold 3,000 characters: paragraphs share a section while they fit.
        while len(p) > SLACK_SECTION_MAX:
            if chunk:
                blocks.append(_section(chunk))
                chunk = ""
            blocks.append(_section(p[:SLACK_SECTION_MAX]))
            p = p[SLACK_SECTION_MAX:]
        candidate = f"{chunk}\n\n{p}" if chunk else p
        if len(candidate) > SLACK_SECTION_MAX:
            blocks.append(_section(chunk))
            chunk = p
        else:
            chunk = candidate
    if chunk:
        blocks.append(_section(chunk))
    if footer:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(footer)}]})
    return {"text": text, "blocks": blocks, "header": subject}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def email_rendering(subject: str, body: str, footer: str = "") -> dict[str, Any]:
    """An e-mail: subject, plain text, and HTML with every value escaped."""
    plain = body + (f"\n\n-- \n{footer}" if footer else "")
    parts = []
    for p in _paragraphs(body):
        lines = p.splitlines()
        if all(ln.lstrip().startswith("- ") for ln in lines):
            items = "".join(f"<li>{escape(ln.lstrip()[2:])}</li>" for ln in lines)
            parts.append(f"<ul>{items}</ul>")
        else:
            parts.append("<p>" + "<br>\n".join(str(escape(ln)) for ln in lines) + "</p>")
    foot = f'<hr><p style="color:#666;font-size:smaller">{escape(footer)}</p>' if footer else ""
    html = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
        f"{escape(subject)}</title></head>\n"
        '<body style="font-family:Helvetica,Arial,sans-serif;line-height:1.4">\n'
        f"<h2>{escape(subject)}</h2>\n" + "\n".join(parts) + f"\n{foot}\n</body></html>\n"
    )
    return {"subject": subject, "text": plain, "html": html}


# -- limits ------------------------------------------------------------------------------------
_EMAIL = re.compile(r"^[^@\s<>,;]+@[^@\s<>,;]+\.[^@\s<>,;]+$")


def check_limits(rendered: dict[str, dict[str, Any]], recipients: dict[str, Any]) -> list[Problem]:
    """What stops these renderings from going out (errors), and what deserves a look (warnings)."""
    problems: list[Problem] = []
    for ch, r in rendered.items():
        if ch == "slack":
            if len(r["text"]) > SLACK_TEXT_MAX:
                problems.append(
                    Problem(
                        ch,
                        "body",
                        f"Slack cuts messages at {SLACK_TEXT_MAX:,} characters; this one has {len(r['text']):,}.",
                    )
                )
            if len(r["blocks"]) > SLACK_BLOCKS_MAX:
                problems.append(
                    Problem(
                        ch,
                        "body",
                        f"Slack takes at most {SLACK_BLOCKS_MAX} blocks; this message needs {len(r['blocks'])}.",
                    )
                )
            if len(r.get("header", "")) > SLACK_HEADER_MAX:
                problems.append(
                    Problem(
                        ch,
                        "subject",
                        f"The Slack header shows {SLACK_HEADER_MAX} characters; the subject has {len(r['header'])} and is cut.",
                        "warning",
                    )
                )
            if not r.get("header", "").strip():
                problems.append(Problem(ch, "subject", "The Slack message has no headline."))
        elif ch == "email":
            subj = r["subject"]
            if not subj.strip():
                problems.append(Problem(ch, "subject", "The e-mail needs a subject."))
            elif len(subj) > EMAIL_SUBJECT_MAX:
                problems.append(
                    Problem(
                        ch,
                        "subject",
                        f"Keep the e-mail subject under {EMAIL_SUBJECT_MAX} characters (it has {len(subj)}).",
                    )
                )
            to = list(recipients.get("email_to") or [])
            cc = list(recipients.get("email_cc") or [])
            if not to:
                problems.append(Problem(ch, "email_to", "The e-mail has no recipients (To)."))
            for addr in to + cc:
                if not _EMAIL.match(addr):
                    problems.append(Problem(ch, "email_to", f"'{addr}' is not an e-mail address."))
        elif ch == "statuspage":
            if r["status"] not in STATUSPAGE_STATUSES:
                problems.append(
                    Problem(
                        ch,
                        "statuspage_status",
                        f"The status page status must be one of {', '.join(STATUSPAGE_STATUSES)} (got '{r['status'] or 'nothing'}').",
                    )
                )
            if not r["name"].strip():
                problems.append(Problem(ch, "subject", "The status page incident needs a name."))
            elif len(r["name"]) > STATUSPAGE_NAME_MAX:
                problems.append(
                    Problem(
                        ch,
                        "subject",
                        f"A status page incident name holds {STATUSPAGE_NAME_MAX} characters; this one has {len(r['name'])}.",
                    )
                )
            if not r["body"].strip():
                problems.append(Problem(ch, "body", "The status page update has no text."))
            elif len(r["body"]) > STATUSPAGE_BODY_MAX:
                problems.append(
                    Problem(
                        ch,
                        "body",
                        f"A status page update holds {STATUSPAGE_BODY_MAX:,} characters; this one has {len(r['body']):,}.",
                    )
                )
    return problems


def missing_fields(tpl: CommsTemplate, values: dict[str, str]) -> list[str]:
    return [name for name in tpl.required if not str(values.get(name) or "").strip()]


def content_hash(channels: list[str], recipients: dict[str, Any], rendered: dict[str, Any]) -> str:
    """What an approval is an approval of: the channels, the recipients and every rendering."""
    doc = {"channels": list(channels), "recipients": recipients, "rendered": rendered}
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
