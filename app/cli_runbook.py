"""`sitrep runbook`: check, list, show, run, drill, step, stats, finding, folders — the runbooks headless."""

from __future__ import annotations

import sys
from pathlib import Path

from app.cli_context import Cli, with_json
from services.adapters.automation import JobControl
from services.errors import NotFound
from services.runbooks.document import read_runbook
from services.runbooks.service import RunView
from services.runbooks.setup import configured_folders, save_folders
from services.runbooks.usage import most_skipped_or_failed, usage

EXIT_PROBLEMS = 1  # `check`: the file has problems (each printed with its line)


def add_runbook_commands(sub) -> None:
    sp = sub.add_parser("runbook", help="runbooks: check, list, show, run in an incident, drill, usage",
                        description=__doc__.split("\n\n")[0])  # fmt: skip
    x = sp.add_subparsers(dest="runbook_command", metavar="ACTION", required=True)

    def act(name: str, help_: str):
        return with_json(x.add_parser(name, help=help_, description=help_))

    act("check", "check runbook files; names the line of every problem").add_argument("file", nargs="+")
    act("list", "the runbooks in the named folders, with what needs attention")
    act("show", "a runbook's steps, usage and open findings").add_argument("runbook")
    r = act("run", "start a runbook in an incident (then `sitrep runbook step`)")
    r.add_argument("runbook")
    r.add_argument("--incident", required=True, help="the incident (INC-0042, 42 or its id)")
    r = act("drill", "start a fire drill of a runbook against a named drill target (no incident)")
    r.add_argument("runbook")
    r.add_argument("--target", required=True, help="the drill target (e.g. staging-checkout)")
    r = act("step", "act on a step of a run: run (or --dry-run) an automated step, tick, choose, skip")
    r.add_argument("run", help="the run's id (printed by `run` and `drill`)")
    r.add_argument("step", type=int)
    how = r.add_mutually_exclusive_group()
    how.add_argument("--dry-run", action="store_true", help="check mode with diff; changes nothing")
    how.add_argument("--tick", action="store_true", help="mark a manual step done")
    how.add_argument("--choose", metavar="CHOICE", help="take a decision's branch")
    how.add_argument("--skip", metavar="REASON", help="skip the step, saying why")
    r.add_argument("--confirm", metavar="TARGET", help="the target's name, typed to run a destructive step")
    r.add_argument("--skip-gates", metavar="REASON", help="(commander only) run without its gates, saying why")
    act("stats", "usage per runbook and step, most in need of attention first")
    r = act("finding", "attach a finding to a runbook (open until a newer version)")
    r.add_argument("runbook")
    r.add_argument("text")
    r.add_argument("--incident")
    r = act("folders", "the folders that hold runbooks")
    r.add_argument("--add", action="append", default=[], metavar="FOLDER")
    r.add_argument("--remove", action="append", default=[], metavar="FOLDER")


def run_runbook(cli: Cli) -> int:
    a, svc, action = cli.a, cli.s.runbooks, cli.a.runbook_command
    if action == "check":
        return _check(cli)
    if action == "folders":
        return _folders(cli)
    if action in ("list", "stats"):
        rows = usage(svc, cli.s.now())
        data = [_usage_data(u) for u in rows]
        if action == "list":
            text = "\n".join(f"{u.runbook.slug:<26} v{u.runbook.version:<4} {u.runbook.owner:<20} "
                             f"{', '.join(u.flags) or 'ok'}" for u in rows)  # fmt: skip
        else:
            text = "\n\n".join(_stats_text(u) for u in rows)
        cli.out(data, text or "No runbooks found.")
        return 0
    if action == "show":
        u = next((u for u in usage(svc, cli.s.now()) if u.runbook.slug == a.runbook or u.runbook.title == a.runbook),
                 None)  # fmt: skip
        if u is None:
            raise NotFound(f"No runbook '{a.runbook}'. `sitrep runbook list` shows them.")
        rb = u.runbook
        lines = [f"{rb.title} (v{rb.version}, owner {rb.owner}) — {rb.path}",
                 f"services: {', '.join(rb.services)}; incident types: {', '.join(rb.incident_types)}"]
        lines += [f"  {s.number}. [{s.kind}{', destructive' if s.destructive else ''}] {s.title}" for s in rb.steps]
        lines += [f"  open finding: {f}" for f in u.open_findings]
        lines.append(_stats_text(u))
        cli.out(_usage_data(u), "\n".join(lines))
        return 0
    if action in ("run", "drill"):
        view = (svc.start(a.runbook, author=cli.author, incident=a.incident) if action == "run"
                else svc.start(a.runbook, author=cli.author, drill_target=a.target))  # fmt: skip
        cli.out(_run_data(view), _run_text(view))
        return 0
    if action == "step":
        return _step(cli)
    if action == "finding":
        svc.add_finding(a.runbook, a.text, author=cli.author, incident=a.incident)
        cli.out({"ok": True}, "Finding recorded; it stays open until a newer version of the runbook.")
        return 0
    raise NotFound(f"Unknown runbook action {action}")


def _check(cli: Cli) -> int:
    worst, report = 0, []
    for name in cli.a.file:
        _, problems = read_runbook(Path(name))
        report.append({"file": name, "problems": [{"line": p.line, "message": p.message} for p in problems]})
        if problems:
            worst = EXIT_PROBLEMS
    text = "\n".join(f"{r['file']}:{p['line']}: {p['message']}" for r in report for p in r["problems"])
    cli.out(report, text or f"{len(report)} runbook(s): no problems.")
    return worst


def _folders(cli: Cli) -> int:
    folders = configured_folders(cli.paths.config)
    for f in cli.a.add:
        if not Path(f).expanduser().is_dir():
            raise NotFound(f"{f} is not a folder.")
        folders.append(Path(f).expanduser().resolve())
    folders = [f for f in folders if str(f) not in cli.a.remove]
    if cli.a.add or cli.a.remove:
        save_folders(cli.paths.config, list(dict.fromkeys(folders)))
    cli.out([str(f) for f in folders], "\n".join(str(f) for f in folders) or "Only the shipped examples.")
    return 0


def _step(cli: Cli) -> int:
    a, svc, by = cli.a, cli.s.runbooks, cli.author
    if a.tick:
        view = svc.tick(a.run, a.step, author=by)
    elif a.choose:
        view = svc.choose(a.run, a.step, a.choose, author=by)
    elif a.skip:
        view = svc.skip(a.run, a.step, author=by, reason=a.skip)
    else:
        live = None if getattr(a, "json", False) else JobControl(lambda text: (sys.stdout.write(text), sys.stdout.flush()))
        view = svc.run_step(a.run, a.step, author=by, dry_run=a.dry_run, confirmation=a.confirm,
                            skip_gates_reason=a.skip_gates, control=live)  # fmt: skip
        diff = view.state_of(a.step).dry_run_diff if a.dry_run else ""
        if diff and live:
            print("\nThe dry run would change:\n" + diff)
    cli.out(_run_data(view), _run_text(view))
    return 0


def _run_data(v: RunView) -> dict:
    return {"run": v.id, "runbook": v.runbook.slug, "version": v.runbook.version, **v.provenance.as_data(),
            "incident_id": v.incident_id, "drill_target": v.drill_target, "outcome": v.outcome,
            "steps": [{"step": s.step.number, "title": s.step.title, "kind": s.step.kind, "state": s.state,
                       "by": s.by, "at": s.at.isoformat() if s.at else None, "summary": s.summary}
                      for s in v.steps]}  # fmt: skip


def _run_text(v: RunView) -> str:
    where = f"drill on {v.drill_target}" if v.is_drill else "incident run"
    lines = [f"Run {v.id} — {v.runbook.title} v{v.runbook.version} ({v.provenance.short}), {where}"
             + (f", {v.outcome}" if v.outcome else "")]  # fmt: skip
    for s in v.steps:
        who = f" — {s.by} {s.at:%H:%M:%S}" if s.at else ""
        lines.append(f"  {s.step.number}. {s.state:<15} {s.step.title}{who}" + (f"  [{s.summary}]" if s.summary else ""))
    return "\n".join(lines)


def _usage_data(u) -> dict:
    return {"runbook": u.runbook.slug, "title": u.runbook.title, "version": u.runbook.version,
            "owner": u.runbook.owner, "incident_uses": u.incident_uses, "drills": u.drills,
            "success_rate": u.success_rate, "last_drilled": u.last_drilled.isoformat() if u.last_drilled else None,
            "last_reviewed": u.last_reviewed.isoformat() if u.last_reviewed else None, "flags": list(u.flags),
            "open_findings": list(u.open_findings), "incidents_not_used": list(u.incidents_not_used),
            "steps": [{"step": s.number, "title": s.title, "runs": s.runs, "skipped": s.skipped,
                       "failed": s.failed, "median_s": s.median_s} for s in u.steps]}  # fmt: skip


def _stats_text(u) -> str:
    rate = "—" if u.success_rate is None else f"{u.success_rate:.0%}"
    drilled = f"{u.last_drilled:%Y-%m-%d}" if u.last_drilled else "never"
    lines = [f"{u.runbook.title}: {u.incident_uses} incident use(s), {u.drills} drill(s), success {rate}, "
             f"last drilled {drilled}" + (f" — {', '.join(u.flags)}" if u.flags else "")]  # fmt: skip
    for s in u.steps:
        median = "—" if s.median_s is None else f"{s.median_s:.0f}s"
        lines.append(f"  {s.number}. {s.title}: {s.runs} run, {s.skipped} skipped, {s.failed} failed, median {median}")
    worst = most_skipped_or_failed(u)
    if worst:
        lines.append("  most skipped or failed: " + ", ".join(worst))
    return "\n".join(lines)
