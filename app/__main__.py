"""Entry point: `sitrep` or `python -m app`.

Order matters: arguments, paths, logging, the store opened and migrated, and only then Qt
(the headless commands never import it).

Start-up deferral (documented, the one place it is allowed): the console's everyday start shows its first
paint from the read lane before SQLAlchemy, the services or the command parser are imported
(ui/startup.py, docs/performance.md), so this module imports them where a path needs them: the command
line in `_command_line`, the services in `_open_store`, the console window in `_console`.
"""

from __future__ import annotations

import gc
import logging
import os
import sys
import tempfile

from app.cli_globals import console_options
from app.logging_setup import setup_logging
from models.migrations import SCHEMA_HEAD
from services.errors import SitrepError, StoreError
from services.storage.paths import resolve_paths
from services.storage.read_lane import ReadLane, ReadLaneUnavailable

log = logging.getLogger("sitrep")

EXIT_BUG = 70  # EX_SOFTWARE


def main(argv: list[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    console = console_options(words)
    if console is not None and console.version:
        print(f"sitrep {_version()}")
        return 0
    if console is not None:
        return _console(console)
    return _command_line(words)


def _version() -> str:
    from importlib import metadata  # ~0.1-0.3 s of imports (email, zipfile): only `--version` needs it

    try:
        return metadata.version("sitrep")
    except metadata.PackageNotFoundError:
        return "dev"


def _console(args) -> int:
    """The console window: its first paint from the read lane when the store allows, the services
    loaded behind it; else (a new or demo store, another database, a schema to upgrade) as before."""
    if _no_display():
        print("sitrep: error: the console needs a display and none is set (DISPLAY and WAYLAND_DISPLAY are "
              "empty). Run it in a desktop session, over `ssh -X`, or in a virtual display: "
              "`xvfb-run -a scripts/run --demo`. The commands work without one: `sitrep --help`.",
              file=sys.stderr)  # fmt: skip
        return 4
    if args.demo and args.read_only:
        args.parser.error("--demo makes a new store; it does not go with --read-only")
    demo_dir = None
    if args.demo and args.data_dir is None:  # a folder of one's own keeps the demo (and lets the vendor fakes in)
        demo_dir = tempfile.TemporaryDirectory(prefix="sitrep-demo-")
        args.data_dir = demo_dir.name
    # Python's automatic cycle collection is off on the way to the first paint: the console collects on its GUI
    # thread (ui/gui_thread_gc.py), and until that starts the start makes few cycles and many objects, for
    # which CPython would otherwise make a full collection or two (~10 ms each) before anything is on screen.
    collecting = gc.isenabled()
    gc.disable()
    try:
        paths = _prepare_paths(args, gui=True)
        if isinstance(paths, int):
            return paths
        author = args.author or os.environ.get("SITREP_USER") or None
        lane = None if (args.demo or args.db) else _read_lane(paths)
        if lane is not None:
            return _console_after_first_paint(args, paths, lane, author)
        if collecting:  # no first paint to hurry: the store is opened (a demo seeded) collecting as usual
            gc.enable()
        sitrep = _open_store(args, paths, gui=True)
        if isinstance(sitrep, int):
            return sitrep
        try:
            from ui.console import run_console  # deferred: see the module's docstring

            return run_console(sitrep, paths=paths, author=author, login=_login(), demo=args.demo)
        finally:
            sitrep.close()
    finally:
        if collecting:
            gc.enable()
        if demo_dir is not None:
            demo_dir.cleanup()


def _console_after_first_paint(args, paths, lane, author: str | None) -> int:
    from PySide6.QtCore import QSettings  # deferred: see the module's docstring

    from ui.startup import run_with_first_paint

    opened: list = []

    def load():
        sitrep = _open_store(args, paths, gui=True, raising=True)
        opened.append(sitrep)
        # Deferred start-up cost, imported here on the loader thread: modules only (their module-level Qt values
        # are QColors, which any thread may make); every widget is made on the GUI thread in open_window.
        import ui.console  # noqa: F401  (deferred: see above)
        from ui.panels import load_panels  # deferred: see above

        sitrep.comms.templates  # noqa: B018 - read here: the comms panel lists them when it is built
        return sitrep, load_panels()

    def open_window(loaded, first_paint):
        from ui.console import open_console_window  # deferred: imported by the loader already

        sitrep, panels = loaded
        return open_console_window(sitrep, paths=paths, author=author, login=_login(), first_paint=first_paint,
                                   panels=panels)  # fmt: skip

    def fail(exc: BaseException) -> int:
        if isinstance(exc, SitrepError):
            return _fail(True, exc)
        log.error("unexpected failure opening the console", exc_info=exc)
        return _fail(True, SitrepError(f"Sitrep could not open its store; details are in {paths.logs / 'sitrep.log'}."),
                     code=EXIT_BUG)  # fmt: skip

    settings = QSettings(str(paths.config / "ui.ini"), QSettings.Format.IniFormat)
    try:
        return run_with_first_paint(lane, settings, load=load, open_window=open_window, fail=fail)
    finally:
        for sitrep in opened:
            sitrep.close()


def _read_lane(paths):
    """The read lane on the store, or None when the first paint cannot come from it."""
    try:
        return ReadLane(paths.database, SCHEMA_HEAD)
    except ReadLaneUnavailable as why:
        log.info("console starts without a first paint: %s", why)
        return None


def _login() -> str:
    from app.cli_context import default_author  # deferred: see the module's docstring

    return default_author()


def _prepare_paths(args, *, gui: bool):
    paths = resolve_paths(args.data_dir)
    try:
        paths.create()
    except OSError as exc:
        # A store in a folder this process cannot write can still be read (opened read-only below).
        if not paths.database.exists():
            return _fail(gui, StoreError(f"Cannot create the data folder {exc.filename}: {exc.strerror}."))
    setup_logging(paths.logs)
    return paths


def _open_store(args, paths, *, gui: bool, raising: bool = False):
    """The services on the store, or the exit code after saying why not (`raising`: the error itself)."""
    from services.core import Sitrep  # deferred: see the module's docstring
    from services.record.integrity import _redact

    url = args.db or f"sqlite:///{paths.database}"
    try:
        sitrep = Sitrep.open(url, backups_dir=paths.backups, config_dir=paths.config, read_only=args.read_only)
    except SitrepError as err:
        if raising:
            raise
        return _fail(gui, err)
    except Exception:
        log.exception("unexpected failure opening %s", _redact(url))  # a URL may carry a password
        err = SitrepError(f"Sitrep could not open its store; details are in {paths.logs / 'sitrep.log'}.")
        if raising:
            raise err from None
        return _fail(gui, err, code=EXIT_BUG)
    if sitrep.store.last_backup is not None:
        log.info("schema upgraded; previous database kept at %s", sitrep.store.last_backup)
    return sitrep


def _command_line(words: list[str]) -> int:
    # Deferred start-up cost (see the docstring): the command areas, and the services behind them.
    from app.cli import build_parser, relative_times_as_words, run_command
    from app.cli_context import Cli
    from app.cli_hardening import run_backup_offline  # deferred as app.cli above
    from app.cli_output import print_error  # deferred as app.cli above
    from app.terminal import human_output  # deferred as app.cli above

    parser = build_parser()
    args = parser.parse_args(relative_times_as_words(words))
    if args.version:
        print(f"sitrep {_version()}")
        return 0
    if args.command is None:
        args.parser = parser
        return _console(args)
    if args.demo:
        parser.error("--demo opens the console; it does not go with a command")
    paths = _prepare_paths(args, gui=False)
    if isinstance(paths, int):
        return paths
    if not args.db:
        offline = run_backup_offline(args, paths)  # without opening a store that may be damaged
        if offline is not None:
            return offline
    sitrep = _open_store(args, paths, gui=False)
    if isinstance(sitrep, int):
        return sitrep
    try:
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
            _print_error(err)
    else:
        _print_error(err)
    return code if code is not None else err.exit_code


def _print_error(err: SitrepError) -> None:
    from app.cli_output import print_error  # deferred: see the module's docstring

    print_error(err)


if __name__ == "__main__":
    sys.exit(main())
