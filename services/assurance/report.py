"""The self-assessment report in Markdown and HTML (the PDF is the HTML laid out by ui/printing.py): the
maturity level per area with its trend, the practices the record shows as met and as missed, each
practice with its evidence, and the toolchain review."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape
from pathlib import Path

from services.assurance.assessment import MET, AreaResult, Assessment, PracticeResult
from services.assurance.toolchain import ToolchainReview
from services.errors import ValidationError

EVIDENCE_SHOWN = 12  # per practice: the misses first; the rest is counted, and is in the stored JSON


def _when(iso: str | None) -> str:
    if not iso:
        return "-"
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d %H:%M UTC")


def _day(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%Y-%m-%d")


def _score(a: AreaResult) -> str:
    return "-" if a.score is None else f"{a.score * 100:.0f}%"


def _level(a: AreaResult) -> str:
    return f"{a.level} {a.level_name}"


def _value(p: PracticeResult) -> str:
    if p.value is None:
        return "-"
    if p.target is not None and p.target > 1:
        return f"{p.value:g} (target {p.target:g})"
    target = f" (target {p.target * 100:.0f}%)" if p.target is not None else ""
    return f"{p.value * 100:.0f}%{target}"


def _change(p: PracticeResult) -> str:
    if p.previous_status is None or p.previous_status == p.status:
        return ""
    return f" (was {p.previous_status})"


def _who(p: PracticeResult) -> str:
    return f"answered by {p.answered_by}, {_when(p.answered_at)}" if p.answered_by else ""


def headline(a: Assessment) -> str:
    met, missed = len(a.met()), len(a.missed())
    return (f"{met} practice(s) met, {missed} missed or not shown, of {len(a.practices)}; "
            + "; ".join(f"{x.name}: level {_level(x)}" for x in a.areas))  # fmt: skip


# -- Markdown ---------------------------------------------------------------------------------------------
def assessment_markdown(a: Assessment, toolchain: ToolchainReview | None = None) -> str:
    out = ["# Incident response self-assessment", "",
           f"Taken {_when(a.taken_at)} by {a.taken_by}; the record from {_day(a.period_from)} to {_day(a.period_to)}.",
           f"Practices: {a.source}. " + (f"Compared with the assessment of {_when(a.previous_taken_at)}."
                                          if a.previous_taken_at else "No earlier assessment to compare with."),
           "", "## Maturity per area", "", "| area | level | score | met | missed | trend |", "|---|---|---|---|---|---|"]  # fmt: skip
    for x in a.areas:
        prev = f" (was {x.previous_level})" if x.previous_level is not None and x.previous_level != x.level else ""
        out.append(f"| {x.name} | {_level(x)}{prev} | {_score(x)} | {x.met} | {x.missed} | {x.trend} |")
    out += ["", "## Met", ""]
    out += [f"- **{p.id}** ({p.ref}): {p.text} — {p.summary}{_change(p)}" for p in a.met()] or ["- none"]
    out += ["", "## Missed or not shown by the record", ""]
    out += [f"- **{p.id}** ({p.ref}): {p.text} — *{p.status}*: {p.summary}{_change(p)}" for p in a.missed()] or ["- none"]
    for area in a.areas:
        out += ["", f"## {area.name}", ""]
        for p in (p for p in a.practices if p.area == area.id):
            out += [f"### {p.id}: {p.status}{_change(p)}", "", f"{p.text}  ", f"*{p.ref}* · answered "
                    f"{'from the record' if p.answer == 'record' else 'by hand'}", "",
                    f"{p.summary}" + (f" ({_value(p)})" if p.value is not None else "")
                    + (f" — {_who(p)}" if _who(p) else ""), ""]  # fmt: skip
            shown = sorted(p.evidence, key=lambda e: e["ok"])[:EVIDENCE_SHOWN]
            out += [f"- {'✓' if e['ok'] else '✗'} {e['ref']}: {e['note']}" for e in shown]
            if len(p.evidence) > len(shown):
                out.append(f"- … and {len(p.evidence) - len(shown)} more")
    if toolchain is not None:
        out += ["", toolchain_markdown(toolchain)]
    return "\n".join(out).rstrip() + "\n"


def toolchain_markdown(t: ToolchainReview) -> str:
    out = ["## Toolchain interoperability review", "",
           f"Reviewed {t.taken_at:%Y-%m-%d %H:%M UTC}; incidents since {t.since:%Y-%m-%d}.", "",
           "| system | state | sent | refused | retried | pending | success | last error |",
           "|---|---|---|---|---|---|---|---|"]  # fmt: skip
    for s in t.systems:
        rate = "-" if s.success_rate is None else f"{s.success_rate * 100:.0f}%"
        err = f"{s.last_error_at:%Y-%m-%d %H:%M}: {s.last_error}" if s.last_error else "-"
        out.append(f"| {s.label} | {s.state} | {s.sent} | {s.failed} | {s.retried} | {s.pending} | {rate} | "
                   f"{err.replace('|', '/')} |")  # fmt: skip
    out += ["", "### Data moving by hand", ""]
    out += [f"- {h.incident_key} {h.at:%Y-%m-%d %H:%M}: {h.what} by {h.way} to {h.audience} "
            f"({h.subject}); could have gone through {h.could_use}" for h in t.by_hand] or ["- none found"]  # fmt: skip
    out += ["", "### Incidents without the ticket or status page the rules expected", ""]
    out += [f"- {m.incident_key} ({m.severity}) {m.title}: no {m.missing} — {m.note}" for m in t.missing] or ["- none"]
    return "\n".join(out)


# -- HTML (also the PDF) ----------------------------------------------------------------------------------
_STYLE = """<style>
body { font-family: sans-serif; font-size: 9.5pt; }
h1 { font-size: 16pt; } h2 { font-size: 12.5pt; margin-top: 14px; } h3 { font-size: 10.5pt; margin-bottom: 2px; }
table { border-collapse: collapse; } th, td { border: 1px solid #999; padding: 3px 5px; vertical-align: top; }
th { background: #e8e8e8; text-align: left; } .met { color: #1b5e20; } .miss { color: #b3261e; }
.small { font-size: 8.5pt; color: #333; }
</style>"""


def _status_html(p: PracticeResult) -> str:
    cls = "met" if p.status == MET else "miss"
    return f'<b class="{cls}">{escape(p.status)}</b>{escape(_change(p))}'


def assessment_html(a: Assessment, toolchain: ToolchainReview | None = None) -> str:
    e = escape
    prev = (f"Compared with the assessment of {_when(a.previous_taken_at)}." if a.previous_taken_at
            else "No earlier assessment to compare with.")  # fmt: skip
    out = [f"<html><head><meta charset='utf-8'><title>Self-assessment</title>{_STYLE}</head><body>",
           "<h1>Incident response self-assessment</h1>",
           f"<p>Taken {_when(a.taken_at)} by {e(a.taken_by)}; the record from {_day(a.period_from)} to "
           f"{_day(a.period_to)}. Practices: {e(a.source)}. {prev}</p>",
           "<h2>Maturity per area</h2>", "<table width='100%' border='1' cellspacing='0' cellpadding='3'><tr><th>Area</th><th>Level</th><th>Score</th>"
           "<th>Met</th><th>Missed</th><th>Trend</th></tr>"]  # fmt: skip
    for x in a.areas:
        was = f" (was {x.previous_level})" if x.previous_level is not None and x.previous_level != x.level else ""
        out.append(f"<tr><td>{e(x.name)}</td><td>{e(_level(x))}{was}</td><td>{_score(x)}</td><td>{x.met}</td>"
                   f"<td>{x.missed}</td><td>{e(x.trend)}</td></tr>")  # fmt: skip
    out.append("</table>")
    for title, rows in (("Met", a.met()), ("Missed or not shown by the record", a.missed())):
        out.append(f"<h2>{title}</h2><table width='100%' border='1' cellspacing='0' cellpadding='3'><tr><th>Practice</th><th>Reference</th><th>What the "
                   "record or the answer shows</th></tr>")  # fmt: skip
        for p in rows:
            out.append(f"<tr><td><b>{e(p.id)}</b> {_status_html(p)}<br>{e(p.text)}</td><td>{e(p.ref)}</td>"
                       f"<td>{e(p.summary)}</td></tr>")  # fmt: skip
        if not rows:
            out.append("<tr><td colspan='3'>none</td></tr>")
        out.append("</table>")
    for area in a.areas:
        out.append(f"<h2>{e(area.name)}: level {e(_level(area))}</h2>")
        for p in (p for p in a.practices if p.area == area.id):
            how = "from the record" if p.answer == "record" else "by hand"
            value = f" ({_value(p)})" if p.value is not None else ""
            who = f" <span class='small'>{e(_who(p))}</span>" if _who(p) else ""
            out.append(f"<h3>{e(p.id)}: {_status_html(p)}</h3><p>{e(p.text)}<br><i class='small'>{e(p.ref)} · "
                       f"answered {how}</i><br>{e(p.summary)}{value}{who}</p>")  # fmt: skip
            shown = sorted(p.evidence, key=lambda x: x["ok"])[:EVIDENCE_SHOWN]
            if shown:
                items = "".join(f"<li>{'✓' if x['ok'] else '✗'} <b>{e(x['ref'])}</b>: {e(x['note'])}</li>" for x in shown)
                more = f"<li>… and {len(p.evidence) - len(shown)} more</li>" if len(p.evidence) > len(shown) else ""
                out.append(f"<ul class='small'>{items}{more}</ul>")
    if toolchain is not None:
        out.append(toolchain_html(toolchain))
    out.append("</body></html>")
    return "\n".join(out)


def toolchain_page(t: ToolchainReview) -> str:
    """The toolchain review as a page of its own (the console's tab, `sitrep toolchain review -o x.html`)."""
    return (f"<html><head><meta charset='utf-8'><title>Toolchain review</title>{_STYLE}</head><body>"
            f"{toolchain_html(t)}</body></html>")


def html_table(headers: tuple[str, ...], rows: list[tuple[str, ...]], widths: tuple[int, ...] = ()) -> str:
    """A bordered table of cells already escaped (they may hold markup); `widths` in percent per column."""
    head = "".join(f"<th{f' width={widths[n]}%' if widths else ''}>{escape(h)}</th>" for n, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table width='100%' border='1' cellspacing='0' cellpadding='3'><tr>{head}</tr>{body}</table>"


def toolchain_html(t: ToolchainReview) -> str:
    e = escape
    systems = []
    for s in t.systems:
        rate = "-" if s.success_rate is None else f"{s.success_rate * 100:.0f}%"
        err = f"{s.last_error_at:%Y-%m-%d %H:%M}: {s.last_error}" if s.last_error else "-"
        systems.append((e(s.label), e(s.state), str(s.sent), str(s.failed), str(s.retried), str(s.pending), rate,
                        f"<span class='small'>{e(err)}</span>"))  # fmt: skip
    by_hand = [(e(h.incident_key), f"{h.at:%Y-%m-%d %H:%M}", e(h.what), e(h.way), e(h.audience), e(h.subject),
                e(h.could_use)) for h in t.by_hand]  # fmt: skip
    missing = [(e(m.incident_key), e(m.severity), e(m.title), e(m.missing), e(m.note)) for m in t.missing]
    return "\n".join((
        "<h2>Toolchain interoperability review</h2>",
        f"<p>Reviewed {t.taken_at:%Y-%m-%d %H:%M UTC}; incidents since {t.since:%Y-%m-%d}.</p>",
        html_table(("System", "State", "Sent", "Refused", "Retried", "Pending", "Success", "Last error"), systems),
        "<h3>Data moving by hand</h3>",
        html_table(("Incident", "When", "What", "Way", "To", "About", "Could have gone through"), by_hand)
        if by_hand else "<p>None found.</p>",
        "<h3>Incidents without the ticket or status page the rules expected</h3>",
        html_table(("Incident", "Severity", "Title", "Missing", "Note"), missing) if missing else "<p>None.</p>",
    ))  # fmt: skip


def write_document(path: Path, markdown: Callable[[], str], html: Callable[[], str],
                   pdf_writer: Callable[[str, Path], None]) -> None:  # fmt: skip
    """Write a report in the format its file name ends with (.md, .html, .pdf). `pdf_writer(html, path)` is
    ui/printing.py's (Qt's text layout), handed in: services do not import Qt."""
    path = Path(path)
    kind = path.suffix.lower()
    if kind == ".pdf":
        pdf_writer(html(), path)
        return
    if kind not in (".md", ".html", ".htm"):
        raise ValidationError(f"Say the format by the file's ending: .md, .html or .pdf (not '{path.suffix or path.name}').")
    try:
        path.write_text(markdown() if kind == ".md" else html(), encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"Cannot write {path}: {exc.strerror}.") from None
