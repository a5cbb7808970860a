"""The console's start reads the global options alone (no command parser); a command or a help request goes
to the full parser, and `sitrep --version` imports none of the command areas or the services."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from app.cli_globals import console_options

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
