"""What a `sitrep` command is handed when it runs (`Cli`), and the two parser helpers the command modules
share. Like app/cli_output.py it holds no command, so command modules import it without a loop."""

from __future__ import annotations

import argparse
import getpass
import os
from datetime import datetime
from typing import Any

from app.cli_output import emit_json
from services.text.timeparse import parse_when


def default_author() -> str:
    env = os.environ.get("SITREP_USER")
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


class Cli:
    """One run of one command: the open store (`s`), the parsed arguments (`a`), the data paths and who acts."""

    def __init__(self, sitrep, args: argparse.Namespace, paths) -> None:
        self.s = sitrep
        self.a = args
        self.paths = paths
        self.author = args.author or default_author()

    def when(self, text: str | None, field: str = "time") -> datetime | None:
        """A time as typed on the command line ("10m ago", "14:05", ISO), looking back from now."""
        return None if not text else parse_when(text, now=self.s.now(), field=field)

    def out(self, value: Any, text: str) -> None:
        """`value` as JSON when --json was given, else `text` for a person."""
        if getattr(self.a, "json", False):
            emit_json(value)
        else:
            print(text)


def command(sub, name: str, help_: str, *, json: bool = True) -> argparse.ArgumentParser:
    """A sub-command whose help doubles as its description; with `json`, it also takes --json."""
    sp = sub.add_parser(name, help=help_, description=help_)
    return with_json(sp) if json else sp


def with_json(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
    sp.add_argument("--json", action="store_true", help="print JSON for scripts")
    return sp
