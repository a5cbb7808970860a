"""`sitrep verify` (the chains, their heads, each incident's state, and with --against-remote what the
backends received) and `sitrep backup [list | restore N]`.

`backup list` and `backup restore` run without opening the store (`run_backup_offline`): the store to
restore may be too damaged to open, and a restore must not hold the file it replaces.
"""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from app.cli_output import emit_json
from app.terminal import safe
from services.errors import SitrepError, ValidationError
from services.record.remote_anchor import verify_against_remote
from services.storage.backups import list_backups, resolve, restore
from services.storage.store_health import clear_marker

EXIT_BROKEN = 6  # the record does not hold (as `verify` has always said)
EXIT_UNREACHABLE = 8  # a backend to compare with could not be read


def add_backup_arguments(sp) -> None:
    sp.add_argument("action", nargs="?", choices=["list", "restore"],
                    help="list the backups, or restore one (default: take a backup now)")  # fmt: skip
    sp.add_argument("which", nargs="?", help="for restore: the backup's number in `backup list` (1 = newest) or file")


def verify(cli) -> int:
    a = cli.a
    report = cli.s.integrity.verify(a.incident)
    remote = None
    if getattr(a, "against_remote", False):
        remote = verify_against_remote(cli.s.sync, cli.s.store, sessions=cli.s.sync.read_back_session)
    # Files attached to post-incident reviews are kept by sha256: changed bytes are a break too.
    attachments = cli.s.reviews.attachment_problems()
    breaks = list(report.breaks) + (remote.breaks if remote else [])
    ok = not breaks and not attachments
    if a.json:
        doc = {"ok": ok, "incidents": report.incidents, "entries": report.entries,
               "log_entries": report.log_entries, "breaks": [b.__dict__ for b in breaks], "attachments": attachments}  # fmt: skip
        if remote is not None:
            doc["remote"] = {"backends": remote.backends, "anchors": remote.anchors, "unreachable": remote.unreachable}
        cli.out(doc, "")
    elif ok:
        print(
            f"OK: {report.entries} timeline entries in {report.incidents} incident(s) and "
            f"{report.log_entries} stakeholder log lines; every chain holds and ends at its head, and every "
            "incident's state is what its timeline says."
        )
        if remote is not None:
            where = ", ".join(remote.backends) or "no backend"
            print(f"Remote anchors: {remote.anchors} compared with what {where} received; all match.")
    for b in breaks:
        print(f"sitrep: verify: BROKEN: {safe(str(b))}", file=sys.stderr)
    for problem in attachments:
        print(f"sitrep: verify: BROKEN: {safe(problem)}", file=sys.stderr)
    for why in remote.unreachable if remote else ():
        print(f"sitrep: verify: could not compare with {safe(why)}", file=sys.stderr)
    if breaks or attachments:
        return EXIT_BROKEN
    if remote is not None and remote.unreachable:
        return EXIT_UNREACHABLE
    return 0


def take_backup(cli) -> int:
    store = cli.s.store
    path = store.backup(reason="manual")
    if path is None:
        raise ValidationError(
            "Backups are taken for SQLite stores only; back up a server database with its own tools."
        )
    kept = list_backups(store.backups_dir, store.path.stem)
    total = sum(b.size for b in kept)
    cli.out({"backup": str(path), "kept": len(kept), "bytes": total},
            f"Backed up to {path}\n{len(kept)} backup(s) kept, {total / 1e6:.1f} MB in all")  # fmt: skip
    return 0


def run_backup_offline(args, paths) -> int | None:
    """`backup list` / `backup restore`: None when the command is something else (the store is opened)."""
    if args.command != "backup" or args.action is None:
        return None
    database = paths.database
    try:
        if args.action == "list":
            return _list(database, paths.backups, args.json)
        if not args.which:
            raise ValidationError("Say which backup to restore: its number in `sitrep backup list` (1 = newest).")
        chosen = resolve(paths.backups, database.stem, args.which)
        kept = restore(chosen, database, paths.backups)
        clear_marker(database)
    except SitrepError as err:
        print(f"sitrep: error: {safe(err.message)}", file=sys.stderr)
        return err.exit_code
    lines = [f"Restored {chosen.name} into {database}."]
    if kept is not None:
        lines.append(f"What was there before is kept as {kept}.")
    lines.append("Run `sitrep verify` to check the restored record.")
    if args.json:
        emit_json({"restored": str(chosen), "kept": str(kept) if kept else None})
    else:
        print("\n".join(lines))
    return 0


def _list(database: Path, backups_dir: Path, as_json: bool) -> int:
    backups = list_backups(backups_dir, database.stem)
    if as_json:
        emit_json([b.as_dict() for b in backups])
        return 0
    if not backups:
        print(f"No backups yet in {backups_dir}. `sitrep backup` takes one now.")
        return 0
    now = datetime.now(UTC)
    for n, b in enumerate(backups, start=1):
        age = now - b.taken_at
        ago = f"{age.days} d ago" if age.days else f"{age.seconds // 3600} h {age.seconds // 60 % 60} min ago"
        print(f"{n:>3}  {b.taken_at:%Y-%m-%d %H:%M:%S} UTC  ({ago:>14})  {b.reason:<26} {b.size / 1e6:8.1f} MB  {b.path.name}")
    total = sum(b.size for b in backups)
    print(f"{len(backups)} backup(s), {total / 1e6:.1f} MB, in {backups_dir}. Restore one: sitrep backup restore N")
    return 0
