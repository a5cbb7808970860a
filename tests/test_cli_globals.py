"""The console's start reads the global options alone (no command parser); a command or a help request goes
to the full parser, and `sitrep --version` imports none of the command areas or the services."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.cli_globals import _parsed_options, _plain_options, console_options

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], {"demo": False, "data_dir": None}),
        (["--demo"], {"demo": True}),
        (["--data-dir", "/tmp/x", "--as", "ana", "--read-only"], {"data_dir": "/tmp/x", "author": "ana", "read_only": True}),
        (["--version"], {"version": True}),
    ],
)
def test_the_console_options_alone(argv, expected):
    args = console_options(argv)
    assert args is not None and args.command is None
    assert {k: getattr(args, k) for k in expected} == expected


@pytest.mark.parametrize("argv", [["list"], ["--help"], ["-h"], ["--data-dir"], ["--demo", "log", "x"]])
def test_a_command_help_or_a_mistake_goes_to_the_full_parser(argv):
    assert console_options(argv) is None


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["--demo"],
        ["--data-dir", "/tmp/x", "--as", "ana", "--read-only"],
        ["--data-dir=/tmp/x", "--as=ana", "--db=sqlite:///x.db"],
        ["--as", "ana", "--as", "bea"],
        ["--data-dir", ""],
        ["--data-dir=", "--version"],
        ["--as=--odd"],
    ],
)
def test_the_options_read_without_a_parser_are_what_argparse_reads(argv):
    plain, parsed = _plain_options(argv), _parsed_options(argv)
    assert plain is not None and parsed is not None
    keep = lambda args: {k: v for k, v in vars(args).items() if k != "parser"}  # noqa: E731
    assert keep(plain) == keep(parsed)


@pytest.mark.parametrize(
    "argv",
    [["--data", "/tmp/x"], ["--as", "-x"], ["--data-dir"], ["list"], ["--demo", "--", "x"], ["-h"], ["--dem"]],
)
def test_anything_else_is_left_to_argparse(argv):
    assert _plain_options(argv) is None
    # and argparse reads it as it always has: an abbreviation is an option, a mistake goes to the full parser
    read, parsed = console_options(argv), _parsed_options(argv)
    assert (read is None) == (parsed is None)
    if read is not None:
        assert read.parser is not None and vars(read).keys() == vars(parsed).keys()
        assert read.data_dir == parsed.data_dir and read.demo == parsed.demo


def test_a_mistake_read_without_a_parser_is_said_by_argparse(capsys):
    args = console_options(["--demo", "--read-only"])
    with pytest.raises(SystemExit) as stop:
        args.parser.error("--demo makes a new store; it does not go with --read-only")
    assert stop.value.code == 2
    assert "sitrep: error: --demo makes a new store" in capsys.readouterr().err


def test_version_imports_no_command_area_and_no_services():
    script = (
        "import sys, contextlib, io\n"
        "from app.__main__ import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out: assert main(['--version']) == 0\n"
        "assert out.getvalue().startswith('sitrep ')\n"
        "heavy = sorted(m for m in sys.modules if m.startswith(('sqlalchemy', 'app.cli_incidents', 'services.core', 'PySide6')))\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=120)
