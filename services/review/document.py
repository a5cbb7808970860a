"""The review document of B6, filled from the record, and its Markdown form (export and re-import).

A section has two parts: what the record says (made fresh every time the document is made, so a
"re-fill" is simply making it again) and what people wrote (kept in the review row; only a person
changes it). The Markdown export marks each written part with HTML comments, so a file edited in
any editor comes back section by section and the generated parts are never read back as writing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from models.enums import EntryKind, Milestone
from services.analytics.metrics import MetricDefinition, format_minutes
from services.errors import ValidationError
from services.record.views import EntryRow, IncidentView, RoleHolding
from services.text.timetext import utc_text

# (id, title, what the author is asked to write) in B6's order.
SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("summary", "Summary", "Two or three sentences: what happened, why, the impact and how long it lasted."),
    ("impact", "Impact", "Exact numbers: customer impact minutes, users or accounts affected, error rates, data "
                         "lost, support tickets, SLO budget consumed, financial estimate if known."),
    ("leadup", "Leadup and trigger", "Prior changes and conditions; what set it off."),
    ("fault", "Fault", "What did not work as expected (link the graphs)."),
    ("detection", "Detection", "How and when it was detected; how the time to detect could be halved."),
    ("response", "Response", "Who responded and when; delays or barriers."),
    ("recovery", "Recovery and resolution", "Temporary and permanent fixes; how the time to mitigate could be "
                                            "halved."),
    ("timeline", "Timeline (UTC)", "Anything the record does not show."),
    ("factors", "Contributing factors", "Proximate and systemic factors, including what made it worse. One per "
                                        "line: '- [proximate] ...' or '- [systemic] ...'; '  - why: ...' lines "
                                        "under a factor for five whys. No 'human error' as a final cause."),
    ("lessons", "Lessons learned", "What went well; what went wrong; where we got lucky."),
    ("actions", "Action items", "Add items with `sitrep actions add` or the review panel; notes here."),
    ("recurrence", "Recurrence and backlog check", "Related past incidents; existing tickets that would have "
                                                   "prevented it."),
    ("process", "Process review", "How the response itself went: roles, cadence, handovers, tooling."),
    ("messaging", "Messaging", "Internal e-mail text; the external message (summary, what happened, what we are "
                               "doing, apology)."),
    ("supporting", "Supporting information", "Graphs, queries used, so others can reproduce."),
)
SECTION_IDS = tuple(s[0] for s in SECTIONS)
TITLES = {s[0]: s[1] for s in SECTIONS}
CALLED_OUT = {EntryKind.DECISION.value: "DECISION", EntryKind.ASSUMPTION.value: "ASSUMPTION",
              EntryKind.CORRECTION.value: "CORRECTION", EntryKind.CLOCK_BREACH.value: "CLOCK MISSED"}  # fmt: skip
STATUS_LABELS = {"draft": "Draft", "in_review": "In review", "reviewed": "Reviewed", "closed": "Closed"}
FACTOR_KINDS = ("proximate", "systemic")


@dataclass(frozen=True)
class ClockLine:
    label: str
    due_at: datetime
    met_at: datetime | None
    state: str  # met | met_late | breached | running


@dataclass
class ReviewRecord:
    """Everything the document is made from, read once."""

    incident: IncidentView
    review: dict[str, Any]  # the post_incident_reviews row
    entries: list[EntryRow]
    superseded: set[str]
    roles: list[RoleHolding]
    clocks: list[ClockLine]
    metrics: list[MetricDefinition]
    actions: list[dict[str, Any]]
    people_names: dict[str, str] = field(default_factory=dict)  # handle -> name
    added: dict[str, str] = field(default_factory=dict)  # section id -> Markdown other areas made from the record


@dataclass(frozen=True)
class DocSection:
    id: str
    number: int
    title: str
    filled: str  # Markdown made from the record ("" when the record has nothing for it)
    written: str  # what people wrote
    prompt: str


def _t(value: datetime | None) -> str:
    return utc_text(value) if value else "-"


def _cell(text: str) -> str:
    return " ".join((text or "").split()).replace("|", "\\|")


def metric_values(inc: IncidentView, metrics: list[MetricDefinition]) -> list[tuple[MetricDefinition, float | None]]:
    out = []
    for m in metrics:
        if m.kind != "duration" or m.end is None:
            continue
        start, end = inc.milestones.get(m.start), inc.milestones.get(m.end)
        value = (end - start).total_seconds() / 60 if start and end and end >= start else None
        out.append((m, value))
    return out


def severity_history(rec: ReviewRecord) -> list[tuple[datetime, str]]:
    """(from when, severity) in order: the declared severity, then each change."""
    out: list[tuple[datetime, str]] = []
    for e in rec.entries:
        data = e.data or {}
        if e.kind == EntryKind.STATUS_CHANGE.value and data.get("action") == "declared":
            out.append((e.occurred_at, str(data.get("severity") or rec.incident.severity)))
        elif e.kind == EntryKind.SEVERITY_CHANGE.value and data.get("to"):
            out.append((e.occurred_at, str(data["to"])))
    if not out:
        start = rec.incident.milestones.get(Milestone.DECLARED) or rec.incident.created_at
        out.append((start, rec.incident.severity))
    return out


def _header(rec: ReviewRecord) -> str:
    inc, r = rec.incident, rec.review
    authors = sorted({e.author for e in rec.entries if e.kind in (EntryKind.DECISION.value, EntryKind.NOTE.value)})
    ic = next((h for h in rec.roles if h.role.lower() == "ic" and h.ended_at is None), None) or next(
        (h for h in reversed(rec.roles) if h.role.lower() == "ic"), None)
    lines = [
        "| | |\n|---|---|",
        f"| Incident | {inc.key}: {_cell(inc.title)} |",
        f"| Severity (final) | {inc.severity}{' (major)' if inc.is_major else ''} |",
        f"| Date | {_t(inc.milestones.get(Milestone.DECLARED))} |",
        f"| Owner | {ic.person.name if ic else '-'} (incident commander) |",
        f"| Contributors on the record | {_cell(', '.join(authors)) or '-'} |",
        f"| Status | {STATUS_LABELS.get(r['status'], r['status'])} |",
        f"| Why a review | {_cell(', '.join(r.get('trigger_labels') or [])) or '-'} |",
        f"| Meeting | {_t(r.get('meeting_at')) if r.get('meeting_at') else 'not scheduled'}"
        f" (due by {_t(r['meeting_due_at'])}) |",
        f"| Publication due | {_t(r['publish_due_at'])} |",
        f"| Services | {', '.join(inc.services) or '-'} |",
    ]
    return "\n".join(lines)


def _impact(rec: ReviewRecord) -> str:
    inc = rec.incident
    ms = inc.milestones
    lines = ["| Measure | Value |", "|---|---|"]
    lines.append(f"| Users affected | {inc.affected_users if inc.affected_users is not None else 'not recorded'} |")
    lines.append(f"| Error rate | {f'{inc.error_rate_pct:g} %' if inc.error_rate_pct is not None else 'not recorded'} |")
    start, mitigated = ms.get(Milestone.IMPACT_STARTED), ms.get(Milestone.MITIGATED)
    if start and mitigated:
        minutes = (mitigated - start).total_seconds() / 60
        lines.append(f"| Customer impact duration | {format_minutes(minutes)} |")
        if inc.affected_users:
            lines.append(f"| Customer impact minutes | {inc.affected_users * minutes:,.0f} user-minutes |")
    history = severity_history(rec)
    end = ms.get(Milestone.RESOLVED) or rec.review.get("opened_at")
    spans: dict[str, float] = {}
    for i, (since, level) in enumerate(history):
        until = history[i + 1][0] if i + 1 < len(history) else end
        if until and until >= since:
            spans[level] = spans.get(level, 0.0) + (until - since).total_seconds() / 60
    for level, minutes in spans.items():
        lines.append(f"| Time at {level} | {format_minutes(minutes)} |")
    hist = "; ".join(f"{level} from {utc_text(at)}" for at, level in history)
    return "\n".join(lines) + f"\n\nSeverity history: {hist}."


def _response(rec: ReviewRecord) -> str:
    out = ["People and roles (from the role record):", "", "| Role | Person | Time zone | From | Until |",
           "|---|---|---|---|---|"]  # fmt: skip
    for h in rec.roles:
        out.append(f"| {h.role} | {_cell(h.person.name)} (@{h.person.handle}) | {h.person.timezone} | "
                   f"{_t(h.started_at)} | {_t(h.ended_at) if h.ended_at else 'end'} |")
    if not rec.roles:
        out.append("| - | nobody was assigned a role | | | |")
    comms = [e for e in rec.entries if e.kind == EntryKind.COMMS.value and e.id not in rec.superseded]
    out += ["", "Communications sent:", ""]
    if comms:
        out += ["| Sent | By | Message |", "|---|---|---|"]
        out += [f"| {_t(e.occurred_at)} | {_cell(e.author)} | {_cell(e.body.splitlines()[0] if e.body else '')[:160]} |"
                for e in comms]  # fmt: skip
    else:
        out.append("None recorded.")
    return "\n".join(out)


def _timeline(rec: ReviewRecord) -> str:
    out = ["| Time (UTC) | Kind | What | By |", "|---|---|---|---|"]
    for e in sorted(rec.entries, key=lambda e: (e.occurred_at, e.seq)):
        if e.id in rec.superseded or _about_the_review(e):
            continue
        mark = CALLED_OUT.get(e.kind)
        kind = f"**{mark}**" if mark else EntryKind(e.kind).label if e.kind in EntryKind._value2member_map_ else e.kind
        body = _cell(e.body)[:300]
        if e.rationale:
            body += f" (why: {_cell(e.rationale)[:200]})"
        out.append(f"| {_t(e.occurred_at)} | {kind} | {body} | {_cell(e.author)} |")
    return "\n".join(out)


def _about_the_review(e: EntryRow) -> bool:
    """The review's own entries (sections written, items added, the invitation) are not the incident's story."""
    return bool(set(e.data or {}) & {"review", "action_item", "action_item_status", "invitation"})


def _clocks_and_metrics(rec: ReviewRecord) -> str:
    out = ["Clocks:", "", "| Clock | Due | Met | Result |", "|---|---|---|---|"]
    words = {"met": "met", "met_late": "MISSED (met late)", "breached": "MISSED", "running": "running"}
    for c in rec.clocks:
        out.append(f"| {c.label} | {_t(c.due_at)} | {_t(c.met_at)} | {words.get(c.state, c.state)} |")
    out += ["", "This incident's own figures (metric definitions of Sitrep):", "", "| Metric | Value | Formula |",
            "|---|---|---|"]  # fmt: skip
    for m, value in metric_values(rec.incident, rec.metrics):
        out.append(f"| {m.short} {m.label} | {format_minutes(value) if value is not None else 'not measurable'} | "
                   f"{m.formula} |")
    return "\n".join(out)


def _actions(rec: ReviewRecord) -> str:
    if not rec.actions:
        return "No action items yet."
    out = ["| Id | Action | Category | Priority | Owner | Due | Status | Tracking |", "|---|---|---|---|---|---|---|---|"]
    for a in rec.actions:
        owner = rec.people_names.get(a.get("owner") or "", a.get("owner") or "-")
        out.append(f"| {a['key']} | {_cell(a['title'])} | {a['category']} | {a['priority']} | {_cell(owner)} | "
                   f"{a.get('due_on') or '-'} | {a['status']} | {a.get('tracking_url') or '-'} |")
    return "\n".join(out)


def _factors(rec: ReviewRecord) -> str:
    out = []
    for f in rec.review.get("factors") or []:
        out.append(f"- [{f.get('kind', 'proximate')}] {f.get('text', '')}")
        out += [f"  - why: {w}" for w in f.get("whys") or []]
    return "\n".join(out)


def _evidence(rec: ReviewRecord) -> str:
    ev = rec.review.get("evidence") or []
    if not ev:
        return ""
    out = ["Evidence:", ""]
    for item in ev:
        if item["kind"] == "file":
            out.append(f"- file `{item['label']}` ({item.get('size', 0)} bytes), sha256 `{item['sha256']}`")
        elif item["kind"] == "entry":
            out.append(f"- timeline entry #{item.get('seq')}: {item.get('label')}")
        else:
            out.append(f"- {item.get('label') or item['ref']}: {item['ref']}")
    return "\n".join(out)


def _attendance(rec: ReviewRecord) -> str:
    people = rec.review.get("attendees") or []
    if not people:
        return ""
    out = ["Meeting attendance:", "", "| Person | Role | Time zone | Attendance |", "|---|---|---|---|"]
    out += [f"| {_cell(p.get('name', ''))} | {p.get('role') or '-'} | {p.get('timezone', 'UTC')} | "
            f"{p.get('attendance') or 'invited'} |" for p in people]  # fmt: skip
    return "\n".join(out)


def build_sections(rec: ReviewRecord) -> list[DocSection]:
    written = rec.review.get("sections") or {}
    filled = {
        "impact": _impact(rec),
        "detection": "Detected " + _t(rec.incident.milestones.get(Milestone.DETECTED)) + "; acknowledged "
        + _t(rec.incident.milestones.get(Milestone.ACKNOWLEDGED)) + "; declared "
        + _t(rec.incident.milestones.get(Milestone.DECLARED)) + ".",
        "response": _response(rec),
        "recovery": "Mitigated " + _t(rec.incident.milestones.get(Milestone.MITIGATED)) + "; resolved "
        + _t(rec.incident.milestones.get(Milestone.RESOLVED)) + ".\n\n" + _clocks_and_metrics(rec),
        "timeline": _timeline(rec),
        "factors": _factors(rec),
        "actions": _actions(rec),
        "process": _attendance(rec),
        "supporting": _evidence(rec),
    }
    for sid, text in rec.added.items():
        filled[sid] = (filled.get(sid, "") + "\n\n" + text).strip()
    return [
        DocSection(sid, i + 1, title, filled.get(sid, ""), str((written.get(sid) or {}).get("text", "")), prompt)
        for i, (sid, title, prompt) in enumerate(SECTIONS)
    ]


def header_text(rec: ReviewRecord) -> str:
    return _header(rec)


# -- Markdown ---------------------------------------------------------------------------------------
_BEGIN = "<!-- sitrep:write {sid} (your text below; everything outside these markers is made from the record) -->"
_END = "<!-- sitrep:end {sid} -->"
_WRITE_BLOCK = re.compile(r"<!-- sitrep:write (\w+)[^>]*-->\n?(.*?)\n?<!-- sitrep:end \1 -->", re.S)


def to_markdown(rec: ReviewRecord, *, editable: bool = True) -> str:
    inc = rec.incident
    out = [f"# Post-incident review: {inc.key} {inc.title}", "", header_text(rec), ""]
    for s in build_sections(rec):
        out += [f"## {s.number}. {s.title}", ""]
        if s.filled and s.id != "factors":
            out += [s.filled, ""]
        if editable:
            out += [f"<!-- prompt: {s.prompt} -->", _BEGIN.format(sid=s.id),
                    (s.written if s.id != "factors" else (s.filled + ("\n\n" + s.written if s.written else ""))).strip(),
                    _END.format(sid=s.id), ""]  # fmt: skip
        else:
            body = (s.filled if s.id == "factors" else "") + ("\n\n" if s.id == "factors" and s.written else "")
            body += s.written
            out += [body.strip() or f"_Not written yet. {s.prompt}_", ""]
    return "\n".join(out).rstrip() + "\n"


def parse_factors(text: str) -> tuple[list[dict[str, Any]], str]:
    """Factor lines out of the factors block; anything else in it is kept as free text."""
    factors: list[dict[str, Any]] = []
    rest: list[str] = []
    for line in (text or "").splitlines():
        m = re.match(r"\s*[-*]\s*\[(\w+)\]\s*(.+)", line)
        why = re.match(r"\s+[-*]\s*why:\s*(.+)", line, re.I)
        if m and not line.startswith((" ", "\t")):
            kind = m.group(1).lower()
            if kind not in FACTOR_KINDS:
                raise ValidationError(f"Contributing factor kind '{m.group(1)}' is not one of: "
                                      f"{', '.join(FACTOR_KINDS)}.", field="factors")
            factors.append({"kind": kind, "text": m.group(2).strip(), "whys": []})
        elif why and factors:
            factors[-1]["whys"].append(why.group(1).strip())
        else:
            rest.append(line)
    return factors, "\n".join(rest).strip()


def parse_markdown(text: str) -> dict[str, str]:
    """The written parts of an exported document, by section id. Unknown ids are refused by name."""
    found = {m.group(1): m.group(2).strip() for m in _WRITE_BLOCK.finditer(text)}
    if not found:
        raise ValidationError("This file has no sitrep:write sections; export it with `sitrep review export` "
                              "and edit the text between the markers.")
    unknown = sorted(set(found) - set(SECTION_IDS))
    if unknown:
        raise ValidationError(f"Unknown review section(s) in the file: {', '.join(unknown)}.")
    return found
