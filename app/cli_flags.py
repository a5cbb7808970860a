"""`sitrep flag`: feature-flag kill switches from an incident — the flags mapped to its services, switching one
off (or on again) through the flag backend, read back. A switch the backend cannot take now is queued and
said to be queued (exit code 75); `sitrep sync` or the console sends it later."""

from __future__ import annotations

from app.cli_context import Cli, with_json

_HELP = "feature-flag kill switches (Unleash) for an incident's services"
QUEUED_EXIT = 75  # EX_TEMPFAIL: not done yet, will be when the backend answers


def add_flag_commands(sub) -> None:
    sp = sub.add_parser("flag", help=_HELP, description=_HELP)
    fsub = sp.add_subparsers(dest="flag_command", metavar="ACTION", required=True)
    r = with_json(fsub.add_parser("list", help="the flags mapped to the incident's services, read now"))
    r.add_argument("--incident", required=True)
    r.add_argument("--switches", action="store_true", help="the switches made on the incident instead")
    for action, what in (("off", "switch a flag off (kill switch)"), ("on", "switch a flag on again")):
        r = with_json(fsub.add_parser(action, help=what))
        r.add_argument("flag", help="the flag's key, as `sitrep flag list` shows it")
        r.add_argument("--incident", required=True)
        r.add_argument("--environment", help="default: the first the mapping names, else the backend's setting")
        r.add_argument("--why", required=True, help="why (goes on the change record)")


def run_flags(cli: Cli) -> int:
    a, flags = cli.a, cli.s.flags
    if a.flag_command == "list":
        if a.switches:
            done = flags.switches(a.incident)
            cli.out([o.__dict__ for o in done], "\n".join(o.text for o in done) or "No switches on this incident.")
            return 0
        mapped = flags.mapped(a.incident)
        if not mapped:
            cli.out([], "No flags are mapped to this incident's services (flags.toml in the config folder).")
            return 0
        rows = flags.read(a.incident)
        lines = [f"{r.mapping.key:<32} {r.environment:<12} "
                 f"{r.state.state_text if r.state else 'unknown: ' + (r.problem or '')}"
                 f"{'  (' + r.mapping.note + ')' if r.mapping.note else ''}" for r in rows]  # fmt: skip
        value = [{"flag": r.mapping.key, "service": r.mapping.service, "environment": r.environment,
                  "enabled": r.state.enabled if r.state else None, "problem": r.problem} for r in rows]  # fmt: skip
        cli.out(value, "\n".join(lines))
        return 0
    request = flags.request_switch(a.incident, a.flag, a.environment, on=a.flag_command == "on",
                                   author=cli.author, why=a.why)  # fmt: skip
    outcome = flags.deliver(request)
    cli.out(outcome.__dict__ | {"text": outcome.text}, outcome.text)
    return {"done": 0, "queued": QUEUED_EXIT}.get(outcome.state, 1)
