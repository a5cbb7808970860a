"""The headless command line: the global options and the table of command areas. Same services as the GUI;
errors go to stderr with a non-zero exit code (app/__main__.py turns a SitrepError into one).

One shape for every command area, one module each (`app/cli_<area>.py`):

    def add_<area>_commands(sub) -> None       # add its sub-commands to the `sitrep` parser
    def run_<area>(cli: Cli) -> int            # run the one the user typed (cli.a.command says which)

`cli` (app/cli_context.py) carries the open store (`cli.s`), the arguments (`cli.a`), who acts
(`cli.author`), `cli.when(text)` for typed times and `cli.out(value, text)` for JSON-or-text output;
app/cli_output.py holds the shared output helpers. A command module imports those two, never this one,
so there is no import loop. A new area is its module plus one line in AREAS below.
"""

from __future__ import annotations

import argparse
import re

from app.cli_alerts import add_alerts_commands, run_alerts
from app.cli_assurance import add_assurance_commands, run_assurance
from app.cli_changes import add_change_commands, run_changes
from app.cli_checklists import add_checklist_commands, run_checklists
from app.cli_comms import add_comms_commands, run_comms
from app.cli_context import Cli
from app.cli_exercise import add_exercise_commands, run_exercise
from app.cli_flags import add_flag_commands, run_flags
from app.cli_globals import add_global_options
from app.cli_governance import add_governance_commands, run_governance
from app.cli_incidents import add_incident_commands, run_incidents
from app.cli_maintenance import add_maintenance_commands, run_maintenance
from app.cli_metrics import add_metrics_commands, run_metrics
from app.cli_problems import add_problem_commands, run_problems
from app.cli_review import add_review_commands, run_review
from app.cli_roles import add_role_commands, run_roles
from app.cli_rotation import add_rotation_commands, run_rotation
from app.cli_runbook import add_runbook_commands, run_runbook
from app.cli_store import add_store_commands, run_store
from app.cli_sync import add_sync_commands, run_sync
from app.cli_vendors import add_vendor_commands, run_vendors

# Each command area: what adds its sub-commands, and what runs them. The order is the order of `sitrep --help`.
AREAS = (
    (add_incident_commands, run_incidents),
    (add_role_commands, run_roles),
    (add_store_commands, run_store),
    (add_metrics_commands, run_metrics),
    (add_comms_commands, run_comms),
    (add_sync_commands, run_sync),
    (add_maintenance_commands, run_maintenance),
    (add_exercise_commands, run_exercise),
    (add_review_commands, run_review),
    (add_runbook_commands, run_runbook),
    (add_alerts_commands, run_alerts),
    (add_checklist_commands, run_checklists),
    (add_change_commands, run_changes),
    (add_flag_commands, run_flags),
    (add_governance_commands, run_governance),
    (add_problem_commands, run_problems),
    (add_vendor_commands, run_vendors),
    (add_rotation_commands, run_rotation),
    (add_assurance_commands, run_assurance),
)

# The help says "-10m" backdates, but argparse takes any "-<digit><letter>..." word for an unknown option
# and stops with "expected one argument". Such words are rewritten to the same time as "10m ago".
_RELATIVE_TIME_WORD = re.compile(r"^-(\d+)(s|sec|m|min|h|hr|hour|hours|d|day|days)$", re.I)


def relative_times_as_words(argv: list[str]) -> list[str]:
    return [_RELATIVE_TIME_WORD.sub(r"\1\2 ago", word) for word in argv]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sitrep",
        description="Sitrep incident commander console. With no command, opens the console window.",
    )
    add_global_options(p)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    for add_commands, run in AREAS:
        before = set(sub.choices)
        add_commands(sub)
        for name in set(sub.choices) - before:
            sub.choices[name].set_defaults(run_area=run)
    return p


def run_command(cli: Cli) -> int:
    """Run the command `build_parser` parsed into `cli.a`; its exit code."""
    return cli.a.run_area(cli) or 0
