"""`sitrep assess ...`, `sitrep toolchain review` and `sitrep paper`: the NIST/SRE self-assessment, the
toolchain interoperability review and the paper pack (the console's Review and File menus do the same
through the same services)."""

from __future__ import annotations

import sys
from pathlib import Path

from app.cli_context import Cli, command, with_json
from app.cli_output import emit_json
from services.assurance.assessment import HAND_STATUSES, MET, AssessmentService
from services.assurance.paper import build_pack, paper_status, record_print
from services.assurance.report import (
    assessment_html,
    assessment_markdown,
    headline,
    toolchain_markdown,
    toolchain_page,
    write_document,
)
from services.assurance.toolchain import review_toolchain
from services.errors import ValidationError


def add_assurance_commands(sub) -> None:
    sp = sub.add_parser("assess", help="the NIST CSF 2.0 / SRE self-assessment: run, answer by hand, report",
                        description="The self-assessment against NIST CSF 2.0 (Respond, Recover) and the SRE "
                        "practices: answered from the record where it can be, by hand where not.")  # fmt: skip
    a = sp.add_subparsers(dest="assess_command", metavar="ACTION", required=True)
    with_json(a.add_parser("run", help="answer every practice now and store the assessment (the next compares with it)"))
    p = with_json(a.add_parser("show", help="what an assessment would say now, without storing it"))
    p.add_argument("--evidence", action="store_true", help="list the records behind each answer")
    p = with_json(a.add_parser("answer", help="answer a practice the record cannot (who and when are recorded)"))
    p.add_argument("practice", help="the practice id (`sitrep assess show` lists them)")
    p.add_argument("status", choices=HAND_STATUSES)
    p.add_argument("evidence", help="what shows it: a document, a meeting, a link")
    with_json(a.add_parser("list", help="the stored assessments, oldest first"))
    p = a.add_parser("report", help="the newest stored assessment (run one first if none) with the toolchain review")
    p.add_argument("-o", "--output", required=True, help="FILE.md, FILE.html or FILE.pdf")
    p.add_argument("--no-toolchain", action="store_true", help="leave the toolchain review out")
    tp = sub.add_parser("toolchain", help="the toolchain interoperability review",
                        description="Which systems are connected, how each has done, where data still moves by hand.")  # fmt: skip
    t = tp.add_subparsers(dest="toolchain_command", metavar="ACTION", required=True)
    p = with_json(t.add_parser("review", help="connected systems, success rates, last errors, data moved by hand"))
    p.add_argument("-o", "--output", help="FILE.md, FILE.html or FILE.pdf (default: text on stdout)")
    p = command(sub, "paper", "print the paper pack for the day every system is down (PDF), or say whether the "
                "last one is out of date", json=True)  # fmt: skip
    p.add_argument("-o", "--output", help="FILE.pdf (or .html); without it, says when the last pack was printed "
                   "and what changed since")  # fmt: skip


def run_assurance(cli: Cli) -> int:
    if cli.a.command == "paper":
        return _paper(cli)
    if cli.a.command == "toolchain":
        return _toolchain(cli)
    svc = AssessmentService(cli.s, cli.paths.data, cli.paths.config)
    action = cli.a.assess_command
    if action == "answer":
        row = svc.answer(cli.a.practice, cli.a.status, cli.a.evidence, author=cli.author)
        cli.out(row.__dict__, f"{row.practice}: {row.status}, recorded by {row.answered_by} at {row.answered_at}.")
        return 0
    if action == "list":
        stored = svc.stored()
        cli.out([{"taken_at": s.taken_at, "taken_by": s.taken_by, "file": s.file,
                  "areas": {a.id: a.level for a in s.areas}} for s in stored],
                "\n".join(f"{s.taken_at}  {s.taken_by:<16} {headline(s)}" for s in stored)
                or "No assessment stored yet: `sitrep assess run` takes one.")  # fmt: skip
        return 0
    if action == "report":
        result = svc.latest() or svc.run(author=cli.author)
        tools = None if cli.a.no_toolchain else review_toolchain(cli.s, svc.book.toolchain, svc.book.period_days)
        out = Path(cli.a.output)
        _write(out, lambda: assessment_markdown(result, tools), lambda: assessment_html(result, tools),
               "Incident response self-assessment")  # fmt: skip
        print(f"Wrote {out}: {headline(result)}", file=sys.stderr)
        return 0
    result = svc.run(author=cli.author) if action == "run" else svc.evaluate(author=cli.author)
    if cli.a.json:
        emit_json(result.as_dict() | {"file": result.file})
        return 0
    print(headline(result))
    for p in result.practices:
        mark = "✓" if p.status == MET else "✗"
        print(f"{mark} {p.id:<20} {p.status:<14} {p.summary}")
        if getattr(cli.a, "evidence", False):
            for e in p.evidence:
                print(f"      {'✓' if e['ok'] else '✗'} {e['ref']}: {e['note']}")
    if result.file:
        print(f"Stored in {result.file}.", file=sys.stderr)
    return 0 if not result.missed() else 10


def _toolchain(cli: Cli) -> int:
    svc = AssessmentService(cli.s, cli.paths.data, cli.paths.config)
    review = review_toolchain(cli.s, svc.book.toolchain, svc.book.period_days)
    if cli.a.output:
        _write(Path(cli.a.output), lambda: toolchain_markdown(review) + "\n", lambda: toolchain_page(review),
               "Toolchain interoperability review")  # fmt: skip
        return 0
    if cli.a.json:
        emit_json({"systems": [s.__dict__ | {"success_rate": s.success_rate} for s in review.systems],
                   "by_hand": [h.__dict__ for h in review.by_hand], "missing": [m.__dict__ for m in review.missing]})  # fmt: skip
        return 0
    print(toolchain_markdown(review))
    return 0


def _paper(cli: Cli) -> int:
    if not cli.a.output:
        status = paper_status(cli.s, cli.paths.data, cli.paths.config)
        cli.out({"path": status.path, "printed_at": status.printed_at, "printed_by": status.printed_by,
                 "changed": list(status.changed), "stale": status.stale}, status.notice())  # fmt: skip
        return 1 if status.stale else 0
    out = Path(cli.a.output)
    pack = build_pack(cli.s, cli.paths.config, printed_by=cli.author)
    if out.suffix.lower() == ".html":
        _write_text(out, pack.html())
    elif out.suffix.lower() == ".pdf":
        _pdf(pack.html(), out, "Incident response paper pack", banner=pack.banner)
    else:
        raise ValidationError(f"Write the paper pack as .pdf or .html, not '{out.suffix or out.name}'.")
    if not cli.s.read_only:  # a read-only store's data folder is left as it is; the pack is still printed
        record_print(cli.paths.data, pack, out)
    cli.out({"path": str(out), "printed_at": pack.printed_at, "sections": [s.title for s in pack.sections]},
            f"Wrote {out}: {len(pack.sections)} sections, printed {pack.printed_at:%Y-%m-%d %H:%M} UTC.")  # fmt: skip
    return 0


def _write(out: Path, markdown, html, title: str) -> None:
    write_document(out, markdown, html, lambda page, path: _pdf(page, path, title))


def _write_text(out: Path, text: str) -> None:
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"Cannot write {out}: {exc.strerror}.") from None


def _pdf(page: str, path: Path, title: str, banner: str | None = None) -> None:
    # Deferred start-up cost: the PDF writer is Qt's, and no other headless command loads Qt.
    from ui.printing import write_pdf

    write_pdf(page, path, title=title, landscape=False, banner=banner)
