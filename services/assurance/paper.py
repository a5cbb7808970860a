"""Paper mode: one printable pack for the day every system is down. The severity matrix, each role's
checklist, the escalation paths and ladders, the responders and stakeholders with their numbers, the
vendors, the message templates with blanks to fill by hand, and the regulatory deadlines, each page
dated. The PDF is this HTML laid out by ui/printing.py.

Every section is built from data read afresh (the files in the config folder or the shipped ones, the
directory and the registry in the store), and each section's data has a digest. The last print is
remembered in the data folder (`paper/last-print.json`: where, when, by whom, the digests), so the
console can say that the copy on the shelf is older than a change, and which sections changed.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from models.types import as_utc
from resources import resource_path
from services.assurance.report import html_table
from services.comms.regulatory import RegulatoryRules
from services.comms.settings import CommsSettings
from services.comms.templates import RenderError, TemplateLibrary
from services.errors import ValidationError
from services.record.catalog import Catalog

FOLDER = "paper"
LAST_PRINT = "last-print.json"


@dataclass(frozen=True)
class PaperSection:
    id: str
    title: str
    html: str
    digest: str  # of the data the section shows (for a test or a diff), not of its layout or the print date


@dataclass(frozen=True)
class PaperPack:
    printed_at: datetime
    printed_by: str
    sections: tuple[PaperSection, ...]
    inputs: dict[str, str] = field(default_factory=dict)  # SECTION_INPUTS id -> digest at printing

    @property
    def banner(self) -> str:
        return f"SITREP PAPER PACK · printed {self.printed_at:%Y-%m-%d %H:%M} UTC"

    def html(self) -> str:
        page_break = ' style="page-break-before: always"'
        body = "\n".join(f"<div{page_break if n else ''}>{s.html}</div>" for n, s in enumerate(self.sections))
        return f"<html><head><meta charset='utf-8'><title>Paper pack</title>{_STYLE}</head><body>{body}</body></html>"


@dataclass(frozen=True)
class PaperStatus:
    path: str | None
    printed_at: datetime | None
    printed_by: str | None
    changed: tuple[str, ...]  # titles of the sections whose data changed since that print

    @property
    def stale(self) -> bool:
        return self.printed_at is None or bool(self.changed)

    def notice(self) -> str:
        if self.printed_at is None:
            return "No paper pack printed yet: File ▸ Print paper pack… makes one for the day systems are down."
        when = f"{self.printed_at:%Y-%m-%d %H:%M} UTC"
        if not self.changed:
            return f"Paper pack printed {when} ({self.path}) is up to date."
        return (f"Paper pack printed {when} is out of date: {', '.join(self.changed)} changed since. "
                "Print it again (File ▸ Print paper pack…).")  # fmt: skip


_STYLE = """<style>
body { font-family: sans-serif; font-size: 9.5pt; }
h1 { font-size: 18pt; } h2 { font-size: 13pt; margin-bottom: 4px; } h3 { font-size: 10.5pt; margin: 8px 0 2px 0; }
table { border-collapse: collapse; } th, td { border: 1px solid #777; padding: 3px 5px; vertical-align: top; }
th { background: #e4e4e4; text-align: left; } .small { font-size: 8.5pt; } .blank { color: #555; }
pre { font-family: monospace; font-size: 8.5pt; white-space: pre-wrap; }
</style>"""


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode("utf-8")).hexdigest()


def _lines(items) -> str:
    return "<br>".join(escape(str(i)) for i in items)


class PaperInputs:
    """What the pack shows, read afresh: the data files (config folder first) and the store's directory."""

    def __init__(self, sitrep, config_dir: Path | None) -> None:
        self.sitrep = sitrep
        self.catalog = Catalog(config_dir)
        self.rules = RegulatoryRules(config_dir)
        self.settings = CommsSettings.load(config_dir)
        self.templates = TemplateLibrary(config_dir, sitrep.sync.channels())
        self.people = sitrep.people.list()
        self.stakeholders = sitrep.comms.stakeholders()


# -- the sections ----------------------------------------------------------------------------------------
def cover(inp: PaperInputs, printed_at: datetime, printed_by: str, titles: list[str]) -> PaperSection:
    org = inp.settings.organisation or "our organisation"
    html = (f"<h1>Incident response paper pack</h1><p><b>Printed {printed_at:%A %d %B %Y, %H:%M} UTC</b> by "
            f"{escape(printed_by)}, from Sitrep, for {escape(org)}.</p>"
            "<p>Use this when the incident console, chat, paging or the network is down. Keep the timeline on "
            "paper: write every decision, action and message with its time (UTC) and your name, and enter it "
            "in Sitrep when it is back. A copy older than the last change to the people, the matrix or the "
            "templates may be wrong: check the print date on every page.</p>"
            "<h3>Contents</h3><ol>" + "".join(f"<li>{escape(t)}</li>" for t in titles) + "</ol>"
            "<h3>Paper timeline (copy this page)</h3>"
            + html_table(("Time (UTC)", "Who", "What happened, was decided or was said"), [("&nbsp;<br>&nbsp;", "", "")] * 14,
                     (14, 16, 70)))  # fmt: skip
    return PaperSection("cover", "Cover and paper timeline", html, _digest(org))


def severity_matrix(inp: PaperInputs) -> PaperSection:
    rows, data = [], []
    for lv in inp.catalog.severities.values():
        crit = "".join(f"<li>{escape(c)}</li>" for c in lv.criteria)
        rows.append((f"<b>{escape(lv.id)}</b><br>{escape(lv.label)}" + ("<br><i>major</i>" if lv.major else ""),
                     f"{escape(lv.description)}<ul class='small'>{crit}</ul>",
                     f"<span class='small'>{_lines(lv.obligations())}</span>"))  # fmt: skip
        data.append(lv.__dict__)
    html = ("<h2>1. Severity matrix</h2><p>Pick the highest level any row matches; when unsure, the higher one, "
            "and revisit later.</p>" + html_table(("Level", "What it looks like", "What it requires"), rows, (11, 50, 39)))
    return PaperSection("severity", "Severity matrix", html, _digest(data))


def role_checklists(inp: PaperInputs) -> PaperSection:
    parts, data = ["<h2>2. Roles and their first-ten-minute checklists</h2>"], []
    for role in inp.catalog.roles.values():
        items = "".join(f"<tr><td width=4%>&#9744;</td><td>{escape(c)}</td></tr>" for c in role.checklist)
        parts.append(f"<h3>{escape(role.name)} ({escape(role.short)})</h3><p class='small'>{escape(role.mission)}</p>"
                     f"<table width='100%' cellspacing='0'>{items}</table>")  # fmt: skip
        data.append(role.__dict__)
    return PaperSection("roles", "Role checklists", "".join(parts), _digest(data))


def escalation(inp: PaperInputs) -> PaperSection:
    by_group: dict[str, list] = {}
    for s in inp.stakeholders:
        by_group.setdefault(s.group, []).append(s)
    rows, data = [], []
    for path in inp.rules.paths.values():
        ladder = []
        for group in path.groups:
            people = by_group.get(group, [])
            names = ", ".join(f"{p.name} {p.phone or ''}".strip() for p in people) or "nobody registered"
            ladder.append(f"<b>{escape(group)}</b>: {escape(names)}")
        clocks = [inp.rules.clocks[c].label for c in path.clocks]
        rows.append((escape(path.label), "<br>".join(ladder) or "-", _lines(clocks) or "-"))
        data.append([path.__dict__, [[p.__dict__ for p in by_group.get(g, [])] for g in path.groups]])
    sev_rows = [(f"<b>{escape(lv.id)}</b>", escape(lv.page or "-"),
                 escape(", ".join(s.name for s in inp.stakeholders if lv.id in s.severities) or "-"))
                for lv in inp.catalog.severities.values()]  # fmt: skip
    html = ("<h2>3. Escalation paths and ladders</h2><h3>Who is paged, and who must hear, by severity</h3>"
            + html_table(("Level", "Page", "Stakeholders who must hear"), sev_rows, (10, 45, 45))
            + "<h3>Paths by incident type (groups in order, with their numbers; the clocks they start)</h3>"
            + html_table(("Incident type", "Bring in", "Regulatory clocks"), rows, (22, 48, 30)))  # fmt: skip
    return PaperSection("escalation", "Escalation paths", html,
                        _digest([data, [(lv.id, lv.page) for lv in inp.catalog.severities.values()]]))


def people(inp: PaperInputs) -> PaperSection:
    rows = [(f"<b>{escape(p.name)}</b><br><span class='small'>{escape(p.handle)}</span>", escape(p.phone or "-"),
             escape(p.email or "-"), escape(p.timezone)) for p in sorted(inp.people, key=lambda p: p.name.lower())]  # fmt: skip
    html = "<h2>4. Responders</h2>" + html_table(("Name", "Phone", "E-mail", "Time zone"), rows, (30, 22, 32, 16))
    return PaperSection("people", "Responders", html, _digest([p.__dict__ for p in inp.people]))


def stakeholders(inp: PaperInputs) -> PaperSection:
    rows = [(escape(s.group), f"<b>{escape(s.name)}</b>" + (f"<br><span class='small'>{escape(s.notes)}</span>" if s.notes else ""),
             escape(s.phone or "-"), escape(s.email or "-") + (f"<br>{escape(s.slack)}" if s.slack else ""),
             escape(", ".join(s.severities) or "-"))
            for s in sorted(inp.stakeholders, key=lambda s: (s.group, s.name.lower())) if s.group != "vendor"]  # fmt: skip
    html = "<h2>5. Stakeholders</h2>" + html_table(("Group", "Name", "Phone", "E-mail / Slack", "Must hear at"), rows,
                                                (14, 30, 18, 26, 12))  # fmt: skip
    return PaperSection("stakeholders", "Stakeholders", html,
                        _digest([s.__dict__ for s in inp.stakeholders if s.group != "vendor"]))


def vendor_register(sitrep) -> list[dict[str, Any]]:
    """The vendor register (contract, response and resolution times per priority, the escalation ladder) as the
    paper pack prints it; the register's own file problems are printed too, so a broken entry is not silent."""
    register = sitrep.vendors.register
    out: list[dict[str, Any]] = []
    for v in sorted(register.vendors.values(), key=lambda v: v.name.lower()):
        times = [f"{t.priority} {t.label}: respond {t.response_min} min"
                 + (f", resolve {t.resolution_min} min" if t.resolution_min is not None else ", no resolution time")
                 for t in v.priorities.values()]  # fmt: skip
        ladder = [f"L{lv.level} {lv.title}: {lv.contact} ({lv.reach()})"
                  + (f", climb after {lv.climb_after_min} min" if lv.climb_after_min else "")
                  for lv in v.ladder]  # fmt: skip
        support = " / ".join(x for x in (v.support_email, v.support_phone, v.portal) if x)
        out.append({"name": v.name, "contract": f"{v.contract} ({v.tier}); support {support}" if support
                    else f"{v.contract} ({v.tier})", "times": times, "ladder": ladder})  # fmt: skip
    for problem in register.problems:
        out.append({"name": "Not printed", "contract": problem, "times": [], "ladder": []})
    return out


def vendors(inp: PaperInputs) -> PaperSection:
    contacts = [s for s in inp.stakeholders if s.group == "vendor"]
    rows = [(f"<b>{escape(s.name)}</b>", escape(s.phone or "-"), escape(s.email or "-"), escape(s.notes or "-"))
            for s in sorted(contacts, key=lambda s: s.name.lower())]  # fmt: skip
    register = vendor_register(inp.sitrep)
    parts = ["<h2>6. Vendors and suppliers</h2>"]
    if register:
        reg_rows = [(f"<b>{escape(str(v.get('name', '')))}</b><br><span class='small'>{escape(str(v.get('contract', '')))}</span>",
                     _lines(v.get("times", [])), _lines(v.get("ladder", []))) for v in register]  # fmt: skip
        parts.append(html_table(("Vendor and contract", "Response / resolution", "Escalation ladder"), reg_rows, (30, 30, 40)))
    else:
        parts.append("<p class='small'>The vendor register (vendors.toml) has no vendors: contracts and ladders are "
                     "not printed. Vendor contacts from the stakeholder registry:</p>")  # fmt: skip
    parts.append(html_table(("Vendor contact", "Phone", "E-mail", "Notes"), rows or [("none registered", "", "", "")],
                        (28, 20, 27, 25)))  # fmt: skip
    return PaperSection("vendors", "Vendors", "".join(parts), _digest([register, [s.__dict__ for s in contacts]]))


def templates(inp: PaperInputs) -> PaperSection:
    parts = ["<h2>7. Message templates (fill the blanks by hand)</h2><p class='small'>Read them out on a call, "
             "hand them over, or type them into whatever still works. External messages still need the "
             "commander's approval: initial and time it.</p>"]  # fmt: skip
    data = []
    for tpl in sorted(inp.templates.templates.values(), key=lambda t: t.name.lower()):
        blanks = {name: f"[{tpl.label_of(name)}: ________]" for name in set(tpl.field_names()) | set(tpl.used)}
        try:
            text = inp.templates.render_text(tpl, blanks)
            body = escape(text.get("body", ""))
            subject = escape(text.get("subject", ""))
        except RenderError as err:
            subject, body = "", escape(f"(cannot be printed with blanks: {err.message})")
        aud = inp.settings.audiences.get(tpl.audience)
        parts.append(f"<h3>{escape(tpl.name)}</h3><p class='small'>For {escape(aud.label if aud else tpl.audience)}"
                     f"{' (needs approval)' if aud and aud.approval else ''}. {escape(tpl.description)}</p>"
                     f"<table width='100%' cellspacing='0'><tr><td><b>{subject}</b><pre>{body}</pre>"
                     "Approved by: ____________ at ______ UTC</td></tr></table>")  # fmt: skip
        data.append([tpl.id, tpl.source, tpl.audience])
    return PaperSection("templates", "Message templates", "".join(parts), _digest(data))


def regulatory(inp: PaperInputs) -> PaperSection:
    rows = [(f"<b>{escape(c.label)}</b><br><span class='small'>{escape(c.regime)}</span>", escape(c.jurisdiction or "-"),
             escape(c.recipient), escape(c.describe()), f"<span class='small'>{escape(c.notes)}</span>")
            for c in inp.rules.clocks.values()]  # fmt: skip
    html = (f"<h2>8. Regulatory deadlines</h2><p><b>{escape(inp.rules.review_status.capitalize())}.</b> Write down "
            "when the organisation became aware and who decided it: most clocks count from then.</p>"
            + html_table(("Clock", "Where", "Notify", "Deadline", "Notes"), rows, (24, 12, 16, 20, 28)))  # fmt: skip
    return PaperSection("regulatory", "Regulatory deadlines", html,
                        _digest([c.__dict__ for c in inp.rules.clocks.values()] + [inp.rules.review_status]))


SECTIONS = (severity_matrix, role_checklists, escalation, people, stakeholders, vendors, templates, regulatory)

# What each section is made from: data files (the config folder's copy, else the shipped one; a folder means
# its *.j2 files) and the store's directory. The digests of these, not of the rendered sections, are what
# the last print remembers: cheap enough for the console to re-check on a timer.
SECTION_INPUTS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "severity": ("Severity matrix", ("severity.toml",), ()),
    "roles": ("Role checklists", ("roles.toml",), ()),
    "escalation": ("Escalation paths", ("escalation.toml", "regulatory.toml", "severity.toml"), ("stakeholders",)),
    "people": ("Responders", (), ("people",)),
    "stakeholders": ("Stakeholders", (), ("stakeholders",)),
    "vendors": ("Vendors", ("vendors.toml",), ("stakeholders",)),
    "templates": ("Message templates", ("templates", "comms.toml"), ()),
    "regulatory": ("Regulatory deadlines", ("regulatory.toml",), ()),
}


def _file_bytes(name: str, config_dir: Path | None) -> list[tuple[str, bytes]]:
    builtin = Path(str(resource_path(name)))
    folders = [builtin] + ([Path(config_dir) / name] if config_dir is not None else [])
    if name == "templates":
        files = [f for folder in folders if folder.is_dir() for f in sorted(folder.glob("*.j2"))]
    else:
        override = Path(config_dir) / name if config_dir is not None else None
        files = [override if override is not None and override.is_file() else builtin]
    out = []
    for f in files:
        try:
            out.append((str(f), f.read_bytes()))
        except OSError:
            out.append((str(f), b"(unreadable)"))
    return out


def _store_rows(sitrep, name: str) -> list:
    if name == "people":
        return [p.__dict__ for p in sitrep.people.list()]
    return [s.__dict__ for s in sitrep.comms.stakeholders()]


def input_digests(sitrep, config_dir: Path | None) -> dict[str, str]:
    """Each section's id -> the digest of what it is made from, as the inputs stand now."""
    cache: dict[str, Any] = {}
    out = {}
    for sid, (_title, files, tables) in SECTION_INPUTS.items():
        h = hashlib.sha256()
        for name in files:
            if name not in cache:
                cache[name] = _file_bytes(name, config_dir)
            for path, data in cache[name]:
                h.update(path.encode() + b"\0" + hashlib.sha256(data).digest())
        for table in tables:
            if table not in cache:
                cache[table] = _digest(_store_rows(sitrep, table))
            h.update(cache[table].encode())
        out[sid] = h.hexdigest()
    return out


def build_pack(sitrep, config_dir: Path | None, *, printed_by: str) -> PaperPack:
    inp = PaperInputs(sitrep, config_dir)
    now = sitrep.now()
    body = [make(inp) for make in SECTIONS]
    return PaperPack(now, printed_by, (cover(inp, now, printed_by, [s.title for s in body]), *body),
                     input_digests(sitrep, config_dir))


# -- the last print ------------------------------------------------------------------------------------------
def record_print(data_dir: Path, pack: PaperPack, path: Path) -> None:
    folder = Path(data_dir) / FOLDER
    doc = {"path": str(Path(path).resolve()), "printed_at": pack.printed_at.isoformat(), "printed_by": pack.printed_by,
           "inputs": pack.inputs}  # fmt: skip
    tmp = folder / (LAST_PRINT + ".part")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp.write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
        os.replace(tmp, folder / LAST_PRINT)
    except OSError as exc:
        raise ValidationError(f"The pack was written, but where and when could not be remembered in {folder}: "
                              f"{exc.strerror}.") from None  # fmt: skip


def paper_status(sitrep, data_dir: Path | None, config_dir: Path | None) -> PaperStatus:
    doc = {}
    if data_dir is not None:
        try:
            doc = json.loads((Path(data_dir) / FOLDER / LAST_PRINT).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            doc = {}
    if not isinstance(doc, dict) or "printed_at" not in doc:
        return PaperStatus(None, None, None, ())
    try:
        printed = as_utc(datetime.fromisoformat(doc["printed_at"]))
    except (TypeError, ValueError):
        return PaperStatus(None, None, None, ())
    then = doc.get("inputs") or {}
    changed = tuple(SECTION_INPUTS[sid][0] for sid, digest in input_digests(sitrep, config_dir).items()
                    if then.get(sid) != digest)  # fmt: skip
    return PaperStatus(doc.get("path"), printed, doc.get("printed_by"), changed)
