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


_VALUED = {"--data-dir": "data_dir", "--db": "db", "--as": "author"}
_FLAGS = {"--demo": "demo", "--read-only": "read_only", "--version": "version"}


def console_options(argv: list[str]) -> argparse.Namespace | None:
    """The global options when `argv` names no command and asks for no help (the console, or --version);
    None otherwise, and the full parser reads `argv`.

    The everyday forms (each option whole, a value after it or after `=`) are read here without a parser:
    argparse looks up a translation of each of its messages on disk as it builds one, ~5-15 ms before the
    console's first paint. Anything else (an abbreviation, a value that starts with `-`, a command) goes to
    argparse, which reads exactly what it did before (tests/test_cli_globals.py holds both paths equal)."""
    args = _plain_options(argv)
    return args if args is not None else _parsed_options(argv)


def _plain_options(argv: list[str]) -> argparse.Namespace | None:
    values: dict[str, object] = {"data_dir": None, "db": None, "author": None,
                                 "demo": False, "read_only": False, "version": False}  # fmt: skip
    words = iter(argv)
    for word in words:
        if word in _FLAGS:
            values[_FLAGS[word]] = True
        elif word in _VALUED:
            value = next(words, None)
            if value is None or value.startswith("-"):
                return None
            values[_VALUED[word]] = value
        elif "=" in word and (option := word.split("=", 1)[0]) in _VALUED:
            values[_VALUED[option]] = word[len(option) + 1 :]
        else:
            return None
    args = argparse.Namespace(**values)
    args.command = None
    args.parser = _ParserOnDemand()
    return args


class _ParserOnDemand:
    """`args.parser` for options read without one: the parser is built only to say a mistake."""

    def error(self, message: str):
        _console_parser().error(message)


def _console_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="sitrep", add_help=False, exit_on_error=False)
    add_global_options(p)
    return p


def _parsed_options(argv: list[str]) -> argparse.Namespace | None:
    p = _console_parser()
    try:
        args, rest = p.parse_known_args(argv)
    except argparse.ArgumentError:  # e.g. `--data-dir` without a folder: the full parser says so in its words
        return None
    if rest:
        return None
    args.command = None
    args.parser = p
    return args
