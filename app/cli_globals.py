"""The options `sitrep` takes before any command. Defined once: app/cli.py puts them on the full parser, and
the console's start (app/__main__.py) reads them with nothing else, so opening the console does not build
every command area's parser (or import the services behind them) before its first paint."""

from __future__ import annotations

import argparse


def add_global_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", help="keep every file (database, logs, backups, settings) in this folder "
                   "(also SITREP_DATA_DIR)")  # fmt: skip
    p.add_argument("--db", help="SQLAlchemy database URL (default: sitrep.db in the data folder)")
    p.add_argument("--as", dest="author", default=None,
                   help="the person (directory handle) acting: every entry and approval is theirs (default: "
                   "SITREP_USER, else your login; the console asks once and remembers who is at its keyboard)")
    p.add_argument("--demo", action="store_true", help="open a throwaway store seeded with a realistic SEV1, as "
                   "its commander (with --data-dir DIR the demo is kept there and opens again)")  # fmt: skip
    p.add_argument("--read-only", action="store_true", help="open the store without changing anything in it "
                   "(automatic when its file or folder cannot be written)")  # fmt: skip
    p.add_argument("--version", action="store_true", help="print the version and exit")


def console_options(argv: list[str]) -> argparse.Namespace | None:
    """The global options when `argv` names no command and asks for no help (the console, or --version);
    None otherwise, and the full parser reads `argv`."""
    p = argparse.ArgumentParser(prog="sitrep", add_help=False, exit_on_error=False)
    add_global_options(p)
    try:
        args, rest = p.parse_known_args(argv)
    except argparse.ArgumentError:  # e.g. `--data-dir` without a folder: the full parser says so in its words
        return None
    if rest:
        return None
    args.command = None
    args.parser = p
    return args
