"""Entry point: `sitrep` or `python -m app`.

Order matters: arguments, paths, logging, the store opened and migrated, and only then Qt
(the headless commands never import it).
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile

from app.cli import build_parser, relative_times_as_words, run_command
from app.cli_context import Cli, default_author
from app.cli_hardening import run_backup_offline
from app.cli_output import print_error
from app.logging_setup import setup_logging
from app.terminal import human_output
from services.core import Sitrep
from services.errors import SitrepError, StoreError
from services.record.integrity import _redact, _version
from services.storage.paths import resolve_paths

log = logging.getLogger("sitrep")

EXIT_BUG = 70  # EX_SOFTWARE


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(relative_times_as_words(sys.argv[1:] if argv is None else list(argv)))
    if args.version:
        print(f"sitrep {_version('sitrep') or 'dev'}")
        return 0
    gui = args.command is None
    if gui and _no_display():
        print("sitrep: error: the console needs a display and none is set (DISPLAY and WAYLAND_DISPLAY are "
              "empty). Run it in a desktop session, over `ssh -X`, or in a virtual display: "
              "`xvfb-run -a scripts/run --demo`. The commands work without one: `sitrep --help`.",
              file=sys.stderr)  # fmt: skip
        return 4
    demo_dir = None
    if args.demo:
        if not gui:
            parser.error("--demo opens the console; it does not go with a command")
        if args.data_dir is None:  # a folder of one's own keeps the demo (and lets the vendor fakes in)
            demo_dir = tempfile.TemporaryDirectory(prefix="sitrep-demo-")
            args.data_dir = demo_dir.name
    if args.demo and args.read_only:
        parser.error("--demo makes a new store; it does not go with --read-only")
    paths = resolve_paths(args.data_dir)
    try:
        paths.create()
    except OSError as exc:
        # A store in a folder this process cannot write can still be read (opened read-only below).
        if not paths.database.exists():
            return _fail(gui, StoreError(f"Cannot create the data folder {exc.filename}: {exc.strerror}."))
    setup_logging(paths.logs)
    if not args.db:
        offline = run_backup_offline(args, paths)  # without opening a store that may be damaged
        if offline is not None:
            return offline
    url = args.db or f"sqlite:///{paths.database}"
    try:
        sitrep = Sitrep.open(
            url, backups_dir=paths.backups, config_dir=paths.config, read_only=args.read_only
        )
    except SitrepError as err:
        return _fail(gui, err)
    except Exception:
        log.exception("unexpected failure opening %s", _redact(url))  # a URL may carry a password
        return _fail(gui, SitrepError(f"Sitrep could not open its store; details are in {paths.logs / 'sitrep.log'}."),
                     code=EXIT_BUG)  # fmt: skip
    if sitrep.store.last_backup is not None:
        log.info("schema upgraded; previous database kept at %s", sitrep.store.last_backup)
    try:
        if gui:
            # Deferred start-up cost: Qt and the panels load for the console only; the headless
            # commands never import them.
            from ui.console import run_console

            return run_console(sitrep, paths=paths, author=args.author or os.environ.get("SITREP_USER") or None,
                               login=default_author(), demo=args.demo)  # fmt: skip
        human_output()
        try:
            return run_command(Cli(sitrep, args, paths))
        except SitrepError as err:
            print_error(err)
            return err.exit_code
        except KeyboardInterrupt:
            return 130
        except BrokenPipeError:
            return 0
        except Exception:
            log.exception("unexpected error in `sitrep %s`", args.command)
            print(
                f"sitrep: internal error (a bug, not your input). Nothing half-written was kept. "
                f"Details: {paths.logs / 'sitrep.log'}",
                file=sys.stderr,
            )
            return EXIT_BUG
    finally:
        sitrep.close()
        if demo_dir is not None:
            demo_dir.cleanup()


def _no_display() -> bool:
    """On Linux, Qt aborts the process (blaming an xcb library) when there is no display to open."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM", "").split(":")[0] not in ("", "xcb", "wayland"):
        return False
    return not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def _fail(gui: bool, err: SitrepError, code: int | None = None) -> int:
    if gui:
        try:
            from ui.console import show_startup_error  # deferred as run_console above

            show_startup_error(err.message)
        except ImportError:
            print_error(err)
    else:
        print_error(err)
    return code if code is not None else err.exit_code


if __name__ == "__main__":
    sys.exit(main())
