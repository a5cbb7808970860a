"""`sitrep review ...`, `sitrep actions ...` and `sitrep archive ...`: the post-incident review, its
action items across incidents, and the incident archive (the console's Review menu does the same
through the same services)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from app.cli_context import Cli, command, with_json
from app.cli_output import emit_json
from services.errors import NotFound, ValidationError
from services.review.actions import CATEGORIES, PRIORITIES, STATUSES
from services.review.archive import build_archive, unpack_archive, verify_archive
from services.review.document import SECTION_IDS
from services.review.meeting import ATTENDANCE
from services.review.report import summary_fields
from services.text.timetext import utc_text


def add_review_commands(sub) -> None:
    sp = sub.add_parser("review", help="the post-incident review: draft, write, lint, checklist, meeting, report",
                        description=__doc__.split("\n\n")[0])  # fmt: skip
    r = sp.add_subparsers(dest="review_command", metavar="ACTION", required=True)

    def act(name: str, help_: str):
        p = with_json(r.add_parser(name, help=help_, description=help_))
        p.add_argument("incident", help="INC-0042 or 42")
        return p

    act("show", "the review's state, clocks, checklist and lint (add --document for the whole draft)") \
        .add_argument("--document", action="store_true")  # fmt: skip
    p = act("open", "ask for a review of an incident the triggers did not select")
    p.add_argument("--reason")
    p = act("fill", "make the draft from the record (what people wrote is kept); -o writes the editable Markdown")
    p.add_argument("-o", "--output")
    p = act("export", "the review as Markdown (editable, for any editor), HTML or PDF")
    p.add_argument("--format", choices=("md", "html", "pdf"), default="md")
    p.add_argument("--final", action="store_true", help="the finished report, without the editing markers")
    p.add_argument("-o", "--output", help="file to write (required for pdf; default: stdout)")
    p = act("import", "take the written sections of an edited Markdown export")
    p.add_argument("file")
    p = act("write", "write one section")
    p.add_argument("section", choices=SECTION_IDS)
    p.add_argument("text", help="the text, or - to read it from stdin")
    p = act("factor", "add a contributing factor")
    p.add_argument("text")
    p.add_argument("--kind", choices=("proximate", "systemic"), default="proximate")
    p.add_argument("--why", action="append", default=[], help="a 'why' (repeat for five whys)")
    p = act("evidence", "attach evidence: a URL, a timeline entry (#seq) or a file (kept by sha256)")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--url")
    g.add_argument("--entry", type=int, help="the timeline entry's number")
    g.add_argument("--file")
    p.add_argument("--label")
    act("lint", "the blameless-language lint (flags, never blocks)")
    p = act("tick", "tick (or --undo) a checklist item a reviewer checks")
    p.add_argument("item", choices=("facts_vs_fixes", "tone", "shared"))
    p.add_argument("--undo", action="store_true")
    p = act("status", "move the review: draft, in_review, reviewed (the checklist gates it), closed")
    p.add_argument("to", choices=("draft", "in_review", "reviewed", "closed"))
    p.add_argument("--override", help="the reason to mark it Reviewed with the checklist unmet")
    p = act("schedule", "schedule the meeting; --send mails the invitation through the e-mail channel")
    p.add_argument("--at", required=True, help="when (ISO time, '2026-12-09 14:00', 'in 1d' ...)")
    p.add_argument("--with", dest="attendees", action="append", required=True, help="a handle (repeatable)")
    p.add_argument("--minutes", type=int, default=30)
    p.add_argument("--ics", help="also write the invitation to this .ics file")
    p.add_argument("--send", action="store_true")
    p = act("attend", "record attendance at the meeting")
    p.add_argument("handle")
    p.add_argument("attendance", choices=ATTENDANCE)
    act("summary", "draft the customer-facing summary (post_incident_email) for the comms lead")

    sp = sub.add_parser("actions", help="post-incident action items across incidents",
                        description="Post-incident action items: open, overdue, by owner, by service.")  # fmt: skip
    a = sp.add_subparsers(dest="actions_command", metavar="ACTION", required=True)
    p = command(a, "list", "the action items (open and done), overdue flagged")
    p.add_argument("--overdue", action="store_true")
    p.add_argument("--owner")
    p.add_argument("--service")
    p.add_argument("--open", action="store_true", help="only items not done")
    p = command(a, "add", "add an action item to an incident")
    p.add_argument("incident")
    p.add_argument("title", help="starts with a verb: 'Add an alert on ...'")
    p.add_argument("--category", choices=CATEGORIES, required=True)
    p.add_argument("--priority", choices=PRIORITIES, default="P2")
    p.add_argument("--owner")
    p.add_argument("--due", help="YYYY-MM-DD")
    p.add_argument("--link", help="a tracking link (Jira fills it when it syncs)")
    p = command(a, "update", "change an action item")
    p.add_argument("item", help="ACT-0003 or 3")
    p.add_argument("--title")
    p.add_argument("--category", choices=CATEGORIES)
    p.add_argument("--priority", choices=PRIORITIES)
    p.add_argument("--owner")
    p.add_argument("--due")
    p.add_argument("--link")
    p.add_argument("--status", choices=STATUSES)
    command(a, "stats", "completion rate and age")

    sp = sub.add_parser("archive", help="the incident archive: export, report, log, attachments, manifest",
                        description="`sitrep archive INC-N -o FILE.zip` writes it; "
                                    "`sitrep archive verify FILE.zip` checks it on any machine; "
                                    "`sitrep archive unpack FILE.zip -o FOLDER` makes a data folder of it to open "
                                    "with `sitrep --data-dir FOLDER --read-only`.")  # fmt: skip
    sp.add_argument("target", help="INC-0042, 'verify' or 'unpack'")
    sp.add_argument("file", nargs="?", help="with verify or unpack: the archive")
    sp.add_argument("-o", "--output", help="the .zip to write")
    sp.add_argument("--json", action="store_true")


def run_review(cli: Cli) -> int:
    if cli.a.command == "actions":
        return _actions(cli)
    if cli.a.command == "archive":
        return _archive(cli)
    return REVIEW[cli.a.review_command](cli) or 0


def _show(cli: Cli) -> int:
    svc, ref = cli.s.reviews, cli.a.incident
    if cli.a.document:
        sys.stdout.write(svc.markdown(ref))
        return 0
    r = svc.get(ref)
    now = cli.s.now()
    checklist, lint = svc.checklist(ref), svc.lint(ref)
    lines = [f"{r.incident_key}: post-incident review, {r.status_label}", f"Why: {', '.join(r.trigger_labels)}"]
    for c in r.clocks():
        lines.append(f"  {c.label:<18} due {utc_text(c.due_at)}  {c.state(now).replace('_', ' ')}")
    if r.meeting_at:
        lines.append(f"Meeting: {utc_text(r.meeting_at)}")
        for p in r.row.get("attendees") or []:
            lines.append(f"  {p['name']:<22} {p.get('role') or '':<14} {p['timezone']:<20} {p.get('attendance') or 'invited'}")
    lines.append("Checklist:")
    lines += [f"  [{'x' if c.met else ' '}] {c.label}" + (f"  ({c.missing})" if c.missing else "") for c in checklist]
    lines.append(f"Lint: {len(lint)} flag(s)" + (" (see `sitrep review lint`)" if lint else ""))
    cli.out({"review": {k: v for k, v in r.row.items()}, "checklist": checklist, "lint": lint}, "\n".join(lines))
    return 0


def _open(cli: Cli) -> int:
    r = cli.s.reviews.request(cli.a.incident, author=cli.author, reason=cli.a.reason)
    print(f"{r.incident_key}: review opened; meeting due {utc_text(r.meeting_due_at)}.")
    return 0


def _fill(cli: Cli) -> int:
    svc, ref = cli.s.reviews, cli.a.incident
    sections = svc.sections(ref)
    if cli.a.output:
        _write(Path(cli.a.output), svc.markdown(ref, editable=True))
    rows = [{"section": s.id, "from_record": bool(s.filled), "written": bool(s.written)} for s in sections]
    text = "\n".join(f"{s.number:>2}. {s.title:<30} {'from the record' if s.filled else '':<16} "
                     f"{'written' if s.written else 'to write'}" for s in sections)  # fmt: skip
    cli.out(rows, text)
    return 0


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ValidationError(f"Cannot write {path}: {exc.strerror}.") from None


def _export(cli: Cli) -> int:
    svc, ref, fmt, out = cli.s.reviews, cli.a.incident, cli.a.format, cli.a.output
    if fmt == "md":
        text = svc.markdown(ref, editable=not cli.a.final)
    else:
        text = svc.report_html(ref)
    if fmt == "pdf":
        if not out:
            raise ValidationError("A PDF needs a file: add -o review.pdf.")
        _pdf_writer(text, Path(out), f"Post-incident review {cli.s.incidents.get(ref).key}")
    elif out:
        _write(Path(out), text)
    else:
        sys.stdout.write(text)
    if out:
        print(f"Wrote {out}", file=sys.stderr)
    return 0


def _import(cli: Cli) -> int:
    try:
        text = Path(cli.a.file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(f"Cannot read {cli.a.file}: {getattr(exc, 'strerror', None) or exc}.") from None
    changed = cli.s.reviews.import_markdown(cli.a.incident, text, author=cli.author)
    cli.out({"changed": changed}, f"Changed: {', '.join(changed)}" if changed else "Nothing changed.")
    return 0


def _write_section(cli: Cli) -> int:
    text = sys.stdin.read() if cli.a.text == "-" else cli.a.text
    cli.s.reviews.write_section(cli.a.incident, cli.a.section, text, author=cli.author)
    findings = [f for f in cli.s.reviews.lint(cli.a.incident) if f.section == cli.a.section]
    print(f"Written: {cli.a.section}." + (f" Lint: {len(findings)} flag(s)." if findings else ""))
    for f in findings:
        print(f"  lint ({f.rule}): \"{f.sentence}\" — {f.message}")
    return 0


def _factor(cli: Cli) -> int:
    cli.s.reviews.add_factor(cli.a.incident, cli.a.text, kind=cli.a.kind, whys=cli.a.why, author=cli.author)
    print("Contributing factor added.")
    return 0


def _evidence(cli: Cli) -> int:
    a = cli.a
    cli.s.reviews.add_evidence(a.incident, author=cli.author, url=a.url, entry_seq=a.entry,
                               file=Path(a.file) if a.file else None, label=a.label)  # fmt: skip
    print("Evidence added.")
    return 0


def _lint(cli: Cli) -> int:
    findings = cli.s.reviews.lint(cli.a.incident)
    text = "\n".join(f"{f.section}: ({f.rule}) \"{f.sentence}\"\n    {f.message}" for f in findings)
    cli.out(findings, text or "No flags: the language reads blameless.")
    return 0


def _tick(cli: Cli) -> int:
    cli.s.reviews.tick(cli.a.incident, cli.a.item, not cli.a.undo, author=cli.author)
    print("Checklist updated.")
    return 0


def _status(cli: Cli) -> int:
    r = cli.s.reviews.set_status(cli.a.incident, cli.a.to, author=cli.author, override_reason=cli.a.override)
    print(f"{r.incident_key}: review {r.status_label}.")
    return 0


def _organizer(cli: Cli) -> tuple[str, str]:
    """The invitation's organizer: the person acting, from the directory when they are in it."""
    try:
        p = cli.s.people.get(cli.author)
    except NotFound:
        return cli.author, "sitrep@localhost"
    return p.name, p.email or "sitrep@localhost"


def _schedule(cli: Cli) -> int:
    a, svc = cli.a, cli.s.reviews
    at = cli.when(a.at, "at")
    r = svc.schedule(a.incident, at, a.attendees, minutes=a.minutes, author=cli.author)
    if a.ics:
        Path(a.ics).write_bytes(svc.invitation(a.incident, organizer=_organizer(cli)))
    lines = [f"{r.incident_key}: meeting {utc_text(r.meeting_at)} ({a.minutes} min)"]
    lines += [f"  {p['name']:<22} {p['timezone']:<20} {p.get('email') or '(no e-mail)'}" for p in r.row["attendees"]]
    if a.send:
        n = svc.send_invitation(a.incident, author=cli.author, organizer=_organizer(cli))
        email = cli.s.sync.readiness("email")
        lines.append(f"Invitation to {n} recipient(s) " + ("queued for the e-mail channel." if email.ready else
                     f"recorded, but nothing leaves: {email.problem}"))  # fmt: skip
    print("\n".join(lines))
    return 0


def _attend(cli: Cli) -> int:
    cli.s.reviews.attend(cli.a.incident, cli.a.handle, cli.a.attendance, author=cli.author)
    print("Attendance recorded.")
    return 0


def _summary(cli: Cli) -> int:
    rec = cli.s.reviews.record(cli.a.incident)
    m = cli.s.comms.draft(rec.incident.key, "post_incident_email", author=cli.author, fields=summary_fields(rec))
    print(f"Drafted message {m.number} (post-incident e-mail) for {rec.incident.key}: edit, approve and send it "
          "from the communications panel or `sitrep comms`.")
    return 0


def _actions(cli: Cli) -> int:
    a, svc = cli.a, cli.s.action_items
    if a.actions_command == "add":
        item = svc.add(a.incident, a.title, category=a.category, priority=a.priority, owner=a.owner, due_on=a.due,
                       tracking_url=a.link, author=cli.author)  # fmt: skip
        cli.out(item.as_dict(), f"{item.key} added to {item.incident_key}.")
        return 0
    if a.actions_command == "update":
        item = svc.update(a.item, author=cli.author, title=a.title, category=a.category, priority=a.priority,
                          owner=a.owner, due_on=a.due, tracking_url=a.link, status=a.status)  # fmt: skip
        cli.out(item.as_dict(), f"{item.key}: {item.status}.")
        return 0
    if a.actions_command == "stats":
        st = svc.stats()
        rate = f"{st.completion_rate:.0%}" if st.completion_rate is not None else "-"
        age = f"{st.median_open_age_days:.1f} d" if st.median_open_age_days is not None else "-"
        cli.out(st, f"{st.total} action items: {st.done} done, {st.open} open ({st.overdue} overdue). "
                    f"Completion rate {rate}; median age of open items {age}.")  # fmt: skip
        return 0
    rows = svc.list(overdue=a.overdue, owner=a.owner, service=a.service, open_only=a.open)
    today = cli.s.now().date()
    if a.json:
        emit_json([dict(r.as_dict(), overdue=r.overdue(today)) for r in rows])
        return 0
    lines = [f"{r.key}  {r.incident_key}  {r.status:<11} {r.priority} {r.category:<15} "
             f"{(r.owner_name or '-'):<18} due {r.due_on or '-':<10}{'  OVERDUE' if r.overdue(today) else ''}  {r.title}"
             for r in rows]  # fmt: skip
    print("\n".join(lines) or "No action items.")
    return 0


def _pdf_writer(page: str, path: Path, title: str) -> None:
    # Deferred start-up cost: the PDF writer is Qt's, and no other headless command loads Qt.
    from ui.printing import write_pdf

    write_pdf(page, path, title=title, landscape=False)


def _archive(cli: Cli) -> int:
    a = cli.a
    if a.target == "verify":
        if not a.file:
            raise ValidationError("Name the archive: sitrep archive verify FILE.zip")
        with tempfile.TemporaryDirectory(prefix="sitrep-archive-") as scratch:
            check = verify_archive(Path(a.file), Path(scratch))
        text = (f"OK: {check.files} files match the manifest; {check.incident}'s chains hold." if check.ok else
                "\n".join(f"sitrep: archive: BROKEN: {p}" for p in check.problems))  # fmt: skip
        cli.out(check, text)
        return 0 if check.ok else 6
    if a.target == "unpack":
        if not (a.file and a.output):
            raise ValidationError("sitrep archive unpack FILE.zip -o FOLDER")
        key = unpack_archive(Path(a.file), Path(a.output))
        cli.out({"incident": key, "folder": a.output},
                f"{key} unpacked into {a.output}; open it with: sitrep --data-dir {a.output} --read-only")  # fmt: skip
        return 0
    if not a.output:
        raise ValidationError("Name the archive to write: -o FILE.zip")
    manifest = build_archive(cli.s, a.target, Path(a.output), pdf_writer=_pdf_writer)
    cli.out(manifest, f"Wrote {a.output}: {len(manifest['files'])} files, manifest with their sha256.")
    return 0


REVIEW = {"show": _show, "open": _open, "fill": _fill, "export": _export, "import": _import, "write": _write_section,
          "factor": _factor, "evidence": _evidence, "lint": _lint, "tick": _tick, "status": _status,
          "schedule": _schedule, "attend": _attend, "summary": _summary}  # fmt: skip
