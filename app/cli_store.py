"""`sitrep export`, `import`, `verify`, `doctor` and `backup`: the store as a whole, and records moving
between stores."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from app.cli_context import Cli, command
from app.cli_hardening import add_backup_arguments, take_backup, verify
from app.cli_output import emit_json
from app.terminal import exact_stdout
from services.errors import ValidationError


def add_store_commands(sub) -> None:
    sp = command(
        sub,
        "export",
        "export incidents as JSON with their timelines, roles, messages, stakeholder logs, regulatory "
        "clocks and remote links (all, or the ones named; a whole export also carries the stakeholders)",
        json=False,
    )
    sp.add_argument("incidents", nargs="*")
    sp.add_argument("-o", "--output", help="file to write (default: standard output)")

    sp = command(sub, "import", "import a Sitrep JSON export (validated; importing twice changes nothing)")
    sp.add_argument("file")

    sp = command(sub, "verify", "check the timelines' hash chains, their heads and each incident's state")
    sp.add_argument("--against-remote", action="store_true",
                    help="also compare with what PagerDuty and Jira received (the chain anchors in Sitrep's notes)")
    sp.add_argument("incident", nargs="?")

    command(sub, "doctor", "paths, versions, schema and an integrity check")
    add_backup_arguments(command(sub, "backup", "take a backup of the store now; or list the backups, or restore one"))


def run_store(cli: Cli) -> int:
    return _RUNS[cli.a.command](cli)


def _export(cli: Cli) -> int:
    doc = cli.s.exchange.export(cli.a.incidents or None)
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    if cli.a.output:
        try:
            tmp = Path(cli.a.output + ".part")
            tmp.write_text(text + "\n", encoding="utf-8")
            tmp.replace(cli.a.output)
        except OSError as exc:
            raise ValidationError(f"Cannot write {cli.a.output}: {exc.strerror}.") from None
        print(f"Exported {len(doc['incidents'])} incident(s) to {cli.a.output}", file=sys.stderr)
    else:
        exact_stdout().write(text + "\n")
    owed = cli.s.exchange.unsent_sync_items(
        [i["id"] for i in doc["incidents"]], storewide=not cli.a.incidents
    )
    if owed:
        print(
            f"sitrep: note: {owed} sync item(s) still owed to the backends for what was exported stay queued here and "
            "are not in the file; a store that imports it will not send them (`sitrep sync --status`).",
            file=sys.stderr,
        )
    return 0


def _import(cli: Cli) -> int:
    report = cli.s.exchange.import_file(Path(cli.a.file))
    parts = [
        f"created {len(report.created)}",
        f"extended {len(report.extended)}",
        f"unchanged {len(report.unchanged)}",
        f"{report.entries_added} timeline entries added",
        f"{len(report.people_added)} responders added",
    ]
    text = "Imported: " + ", ".join(parts)
    sections = cli.s.exchange.sections
    added = [
        f"{m.added} {sec.nouns[m.added != 1]}" for sec in sections if (m := report.records[sec.key]).added
    ]
    updated = [
        f"{m.updated} {sec.nouns[m.updated != 1]}"
        for sec in sections
        if (m := report.records[sec.key]).updated
    ]
    if added:
        text += "\n  added: " + ", ".join(added)
    if updated:
        text += "\n  updated to the file's later version: " + ", ".join(updated)
    for m in report.records.values():
        for old, new in m.renumbered.items():
            text += f"\n  {old} was taken here; imported as {new}"
    for key in report.refs_filled:
        text += f"\n  {key} now knows where it was imported from (external_ref)"
    for old, new in report.renumbered.items():
        text += f"\n  {old} was taken here; imported as {new}"
    cli.out(report.as_dict(), text)
    return 0


def _doctor(cli: Cli) -> int:
    report = cli.s.integrity.doctor(cli.paths.as_dict())
    if cli.a.json:
        emit_json(report)
    else:
        for k, v in report.items():
            if isinstance(v, dict):
                print(f"{k}:")
                for kk, vv in v.items():
                    print(f"  {kk:<14} {vv}")
            else:
                print(f"{k:<18} {v}")
    ok = report.get("integrity_check", "ok") == "ok" and report.get("foreign_key_check", "ok") == "ok"
    return 0 if ok else 6


_RUNS = {
    "export": _export,
    "import": _import,
    "verify": verify,
    "doctor": _doctor,
    "backup": take_backup,
}
