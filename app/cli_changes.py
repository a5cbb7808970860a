"""`sitrep change`: configuration change records made during an incident — add one, list them, export them
for a CMDB import (CSV or JSON with change_request's columns); and the changes that may have caused it
(link, unlink, links, candidates: app/cli_problems.py)."""

from __future__ import annotations

from pathlib import Path

from app.cli_context import Cli, with_json
from app.cli_problems import LINK_ACTIONS, add_change_link_commands, run_change_links
from services.errors import ValidationError
from services.resolution.change_records import to_csv, to_json

_HELP = "configuration change records (for the CMDB)"


def add_change_commands(sub) -> None:
    sp = sub.add_parser("change", help=_HELP, description=_HELP)
    csub = sp.add_subparsers(dest="change_command", metavar="ACTION", required=True)
    r = with_json(csub.add_parser("add", help="record a configuration change made during an incident"))
    r.add_argument("incident")
    r.add_argument("--ci", required=True, help="the configuration item (service, host, flag)")
    r.add_argument("--attribute", required=True, help="what about it changed")
    r.add_argument("--before", default="")
    r.add_argument("--after", default="")
    r.add_argument("--why", required=True)
    r.add_argument("--undo", required=True, help="how to undo it")
    r.add_argument("--step", help="the checklist step it belongs to (checklist/item)")
    r = with_json(csub.add_parser("list", help="the change records (of one incident, or all)"))
    r.add_argument("--incident")
    r = csub.add_parser("export", help="the change records as CSV or JSON for a CMDB import")
    r.add_argument("--incident")
    r.add_argument("--format", choices=["csv", "json"], default="csv")
    r.add_argument("--output", help="file to write (default: standard output)")
    add_change_link_commands(csub)  # the changes that may have caused an incident


def run_changes(cli: Cli) -> int:
    a = cli.a
    if a.change_command in LINK_ACTIONS:
        return run_change_links(cli)
    service = cli.s.change_records
    if a.change_command == "add":
        rec = service.add(a.incident, author=cli.author, ci=a.ci, attribute=a.attribute, before=a.before,
                          after=a.after, why=a.why, undo=a.undo, checklist_step=a.step)  # fmt: skip
        cli.out(rec.as_json(), f"Recorded on {rec.incident_key}: {rec.summary}")
        return 0
    records = service.list(a.incident)
    if a.change_command == "list":
        lines = [f"{r.incident_key}  {r.when:%Y-%m-%d %H:%M}Z  {r.who:<14} {r.summary}  (undo: {r.undo})"
                 for r in records]  # fmt: skip
        cli.out([r.as_json() for r in records], "\n".join(lines) or "No change records.")
        return 0
    text = to_csv(records) if a.format == "csv" else to_json(records) + "\n"
    if a.output:
        try:
            Path(a.output).write_text(text, encoding="utf-8", newline="")
        except OSError as exc:
            raise ValidationError(f"Cannot write {a.output}: {exc.strerror}.", field="output") from None
        print(f"Wrote {len(records)} change record(s) to {a.output}")
    else:
        print(text, end="")
    return 0
