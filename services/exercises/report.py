"""The after-action report and improvement plan (AAR/IP, HSEEP shape) of one exercise, as Markdown or
HTML (the PDF is the HTML laid out by ui/printing.py, as the stakeholder log's is).

The report is built once as plain blocks (headings, paragraphs, tables) and written out in either
format, so the two never disagree. Every page says EXERCISE.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from services.errors import ValidationError
from services.exercises.sandbox import would_have_sent
from services.exercises.scenario import clock_text
from services.exercises.service import HOTWASH_KINDS, RATINGS
from services.exercises.sheet import ExerciseState
from services.text.timetext import utc_text

BANNER = "EXERCISE — not a real incident"


@dataclass(frozen=True)
class Block:
    kind: str  # h1 | h2 | h3 | p | table | banner
    text: str = ""
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class ReportInputs:
    state: ExerciseState
    entries: list  # (incident key, EntryRow) of the exercise's incidents, in order
    sent: list[str]  # "would have sent to …" lines from the sandbox
    participants: list[str]


def _t(state: ExerciseState, when: datetime | None) -> str:
    return "" if when is None else clock_text(state.clock.at(when))


def build_blocks(inp: ReportInputs) -> list[Block]:
    st, sc = inp.state, inp.state.scenario
    counts = st.counts()
    b: list[Block] = [Block("banner", BANNER), Block("h1", f"After-Action Report / Improvement Plan: {sc.title}")]
    started = st.clock.started_at
    b.append(Block("p", f"Exercise held {utc_text(started) if started else 'not started'}"
                        f"{' to ' + utc_text(st.run.ended_at) if st.run.ended_at else ' (still running)'}; "
                        f"facilitator {st.run.facilitator}. Scenario time reached {st.clock_text}."))  # fmt: skip
    b.append(Block("h2", "Executive summary"))
    ratings = ", ".join(f"{o.id} {st.ratings[o.id][0]}" for o in sc.objectives if o.id in st.ratings) or "not rated yet"
    b.append(Block("p", f"Of {len(st.sheet)} expected actions, {counts.get('met', 0)} were met on time, "
                        f"{counts.get('late', 0)} late and {counts.get('missed', 0)} missed; "
                        f"{counts.get('to mark', 0) + counts.get('not yet due', 0)} were not decided and "
                        f"{counts.get('not played', 0) + counts.get('waiting', 0)} belong to injects not played. "
                        f"Objective ratings: {ratings}. Corrective actions raised: {len(st.actions)}."))  # fmt: skip
    b.append(Block("h2", "Exercise overview"))
    b.append(Block("table", header=("", ""), rows=(
        ("Exercise", sc.title), ("Type", sc.type), ("Threat or hazard", sc.threat or "—"),
        ("Session length", f"{sc.duration_min:g} minutes for {sc.scenario_min:g} scenario minutes"),
        ("Player roles", ", ".join(sc.player_roles) or "—"), ("Participants", ", ".join(inp.participants) or "—"),
        ("Scenario file", sc.path.name),
    )))  # fmt: skip
    if sc.summary:
        b.append(Block("p", sc.summary))
    b.append(Block("h2", "Objectives and ratings"))
    b.append(Block("table", header=("Objective", "Capability", "Rating", "Evaluator notes"), rows=tuple(
        (f"{o.id}: {o.text}", o.capability, _rating(st.ratings.get(o.id)), st.ratings.get(o.id, ("", "", ""))[1])
        for o in sc.objectives
    )))  # fmt: skip
    b.append(Block("p", "Ratings: " + "; ".join(f"{k} = {v}" for k, v in RATINGS.items()) + "."))
    b.append(Block("h2", "Inject by inject: what was expected, what the team did"))
    by_inject: dict[str, list] = {}
    for row in st.sheet:
        by_inject.setdefault(row.expectation.inject_id, []).append(row)
    for m in st.msel:
        delivered = f"delivered {clock_text(m.delivered_s)}" if m.delivered_s is not None else f"not delivered ({m.status})"
        b.append(Block("h3", f"{m.id} {m.when}: {m.title}"))
        b.append(Block("p", f"To {', '.join(m.to)} via {m.channel}; {delivered}. {m.content}"))
        rows = by_inject.get(m.id, [])
        if rows:
            b.append(Block("table", header=("Expected action", "Within", "Result", "When", "Delay", "By", "Shown by"),
                           rows=tuple(_sheet_cells(r) for r in rows)))  # fmt: skip
    b.append(Block("h2", "Evaluator notes"))
    b.append(Block("table", header=("Scenario time", "Evaluator", "Note"),
                   rows=tuple((n.scenario_text, n.author, n.data["text"]) for n in st.notes) or (("", "", "No notes."),)))  # fmt: skip
    b.append(Block("h2", "Hot wash"))
    for kind, label in HOTWASH_KINDS.items():
        items = [h for h in st.hotwash if h.data["kind"] == kind]
        b.append(Block("h3", label + "s" if not label.endswith("k") else label))
        b.append(Block("table", header=("Finding", "From"), rows=tuple((h.data["text"], h.data.get("who") or h.author) for h in items)
                       or (("None recorded.", ""),)))  # fmt: skip
    b.append(Block("h2", "Improvement plan"))
    b.append(Block("table", header=("Id", "Objective / capability", "Issue", "Corrective action", "Element", "Organisation",
                                    "Point of contact", "Start", "Due", "Status"), rows=tuple(
        (a.id, _capability(st, a.objective), a.issue, a.action, a.element, a.organisation or "—", a.owner,
         a.raised_at.date().isoformat(), a.due, a.status) for a in st.actions
    ) or (("", "", "No corrective actions yet.", "", "", "", "", "", "", ""),)))  # fmt: skip
    if any(m.questions for m in sc.modules):
        b.append(Block("h2", "Discussion questions"))
        for mod in sc.modules:
            b.append(Block("h3", f"{mod.id} {mod.title}"))
            b.append(Block("table", header=("Question",), rows=tuple((q,) for q in mod.questions)))
    b.append(Block("h2", "Full timeline"))
    b.append(Block("table", header=("Scenario time", "Recorded (UTC)", "Entry", "Kind", "Author", "Text"), rows=tuple(
        (_t(st, e.recorded_at), utc_text(e.recorded_at), f"{key} #{e.seq}", e.kind.replace("_", " "), e.author, e.body)
        for key, e in inp.entries
    ) or (("", "", "", "", "", "Nothing was recorded."),)))  # fmt: skip
    b.append(Block("h2", "What would have been sent (recording sandbox)"))
    b.append(Block("p", "Nothing left this machine during the exercise. These are the requests a real incident would have made:"))
    b.append(Block("table", header=("Would have sent",), rows=tuple((line,) for line in inp.sent) or (("Nothing.",),)))
    b.append(Block("banner", BANNER))
    return b


def _rating(r: tuple[str, str, str] | None) -> str:
    return "not rated" if r is None else f"{r[0]} ({RATINGS[r[0]].lower()})"


def _capability(st: ExerciseState, objective_id: str) -> str:
    o = st.scenario.objective(objective_id) if objective_id else None
    return f"{o.id}: {o.capability or o.text}" if o else "—"


def _sheet_cells(r) -> tuple[str, ...]:
    e = r.expectation
    result = r.status + (f" (marked by {r.marked_by})" if r.marked_by else "") + (f": {r.note}" if r.note else "")
    return (f"{e.id}: {e.text}", f"{e.within_min:g} min" if e.within_min is not None else "—", result,
            clock_text(r.met_s) if r.met_s is not None else "", r.delay_text, r.evidence.who if r.evidence else "",
            r.evidence.what if r.evidence else ("evaluator" if e.rule is None else ""))  # fmt: skip


# -- writers ------------------------------------------------------------------------------------
def to_markdown(blocks: list[Block]) -> str:
    out: list[str] = []
    for blk in blocks:
        if blk.kind == "banner":
            out.append(f"> **{blk.text}**\n")
        elif blk.kind in ("h1", "h2", "h3"):
            out.append("#" * int(blk.kind[1]) + " " + blk.text + "\n")
        elif blk.kind == "p":
            out.append(blk.text.strip() + "\n")
        elif blk.kind == "table":
            def cell(v: str) -> str:
                return " ".join(str(v).split()).replace("|", "\\|")

            out.append("| " + " | ".join(cell(h) or " " for h in blk.header) + " |")
            out.append("|" + "---|" * len(blk.header))
            out += ["| " + " | ".join(cell(c) for c in row) + " |" for row in blk.rows]
            out.append("")
    return "\n".join(out)


_CSS = """
body { font-family: sans-serif; font-size: 10pt; color: #1b1b1f; }
h1 { font-size: 17pt; margin: 4px 0 6px 0; } h2 { font-size: 13pt; margin-top: 14px; border-bottom: 1px solid #999; }
h3 { font-size: 11pt; margin: 10px 0 2px 0; }
table { border-collapse: collapse; margin: 4px 0 8px 0; width: 100%; }
th, td { border: 1px solid #aaa; padding: 3px 5px; vertical-align: top; text-align: left; }
th { background: #e8e8ee; }
.banner { background: #7a1f1f; color: white; font-weight: bold; padding: 4px 8px; text-align: center; }
"""


def to_html(blocks: list[Block], title: str) -> str:
    esc = html.escape
    out = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(title)}</title><style>{_CSS}</style></head><body>"]
    for blk in blocks:
        if blk.kind == "banner":
            out.append(f"<p class='banner' style='background:#7a1f1f;color:#ffffff'><b>{esc(blk.text)}</b></p>")
        elif blk.kind in ("h1", "h2", "h3"):
            out.append(f"<{blk.kind}>{esc(blk.text)}</{blk.kind}>")
        elif blk.kind == "p":
            out.append(f"<p>{esc(blk.text.strip())}</p>")
        elif blk.kind == "table":
            head = "".join(f"<th>{esc(h)}</th>" for h in blk.header) if any(blk.header) else ""
            rows = "".join("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>" for row in blk.rows)
            out.append(f"<table border='1' cellspacing='0' cellpadding='3' width='100%'>{'<tr>' + head + '</tr>' if head else ''}{rows}</table>")
    out.append("</body></html>")
    return "\n".join(out)


# -- gathering and writing ----------------------------------------------------------------------
def gather(sitrep) -> ReportInputs:
    """What the report shows, read from an exercise's store (its Sitrep)."""
    state = sitrep.exercises.state()
    entries = []
    people: set[str] = set()
    handles = {p.handle: p.name for p in sitrep.people.list()}
    for inc in sorted(sitrep.incidents.list(limit=50), key=lambda i: i.key):
        for e in sitrep.timeline.entries(inc.id):
            entries.append((inc.key, e))
            if e.author in handles:
                people.add(f"{handles[e.author]} (@{e.author})")
            person = (e.data or {}).get("person") if e.kind == "role_change" else None
            if person in handles:
                people.add(f"{handles[person]} (@{person})")
    sent = [would_have_sent(i) for i in reversed(sitrep.sync.items(limit=500))]
    return ReportInputs(state, entries, sent, sorted(people))


def report_files(folder, stem: str = "aar") -> dict[str, Path]:
    folder = Path(folder)
    return {fmt: folder / f"{stem}.{fmt}" for fmt in ("md", "html", "pdf")}


def write_text_reports(sitrep, folder) -> tuple[dict[str, Path], str]:
    """Write aar.md and aar.html into the exercise's folder; returns the paths and the HTML (for the PDF)."""
    inputs = gather(sitrep)
    blocks = build_blocks(inputs)
    title = f"AAR/IP: {inputs.state.scenario.title} (EXERCISE)"
    files = report_files(folder)
    page = to_html(blocks, title)
    try:
        files["md"].write_text(to_markdown(blocks), encoding="utf-8")
        files["html"].write_text(page, encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"Cannot write the report into {folder}: {exc.strerror}.") from None
    return files, page
