"""`sitrep vendor ...`: the vendor register and vendor cases held to their contracts, headless."""

from __future__ import annotations

import sys

from app.cli_context import Cli, command
from app.cli_output import local_time, plain
from services.comms.views import LOG_CHANNELS
from services.vendors.views import VendorCaseView


def add_vendor_commands(sub) -> None:
    sp = sub.add_parser("vendor", help="vendor register and vendor cases held to their contracts",
                        description="The vendor register (contracts, response and resolution times, escalation "
                        "ladders) and the cases opened with vendors during incidents.")  # fmt: skip
    v = sp.add_subparsers(dest="vendor_command", metavar="ACTION", required=True)
    command(v, "list", "the vendor register: contracts, times per priority, escalation ladders")
    r = command(v, "cases", "vendor cases, newest first (all incidents unless one is named)")
    r.add_argument("incident", nargs="?")
    r.add_argument("--open", action="store_true", help="only the cases still open")
    r = command(v, "show", "one case: its contract, clocks, ladder and what happened on it")
    r.add_argument("case", help="VND-0007")
    r = command(v, "open-case", "open a case with a vendor for an incident (starts the contract's clocks)")
    r.add_argument("incident")
    r.add_argument("vendor", help="the vendor's id in the register (`sitrep vendor list`)")
    r.add_argument("--priority", required=True, help="the contract's priority (P1, P2 ...)")
    r.add_argument("--ticket", help="their ticket reference")
    r.add_argument("--service", default="", help="what of theirs is affected (default: the register's services)")
    r.add_argument("--channel", default="portal", help=f"how it was raised ({', '.join(LOG_CHANNELS)})")
    r.add_argument("--at", help="when it was raised with them, if earlier (\"10m ago\", \"14:05\")")
    r = command(v, "reply", "record a vendor's reply (the first one meets the response time)")
    r.add_argument("case")
    r.add_argument("text", help="what they said")
    r.add_argument("--channel", default="email", help=f"how it came ({', '.join(LOG_CHANNELS)})")
    r.add_argument("--ticket", help="their ticket reference, if it came with the reply")
    r.add_argument("--at", help="when it came, if earlier")
    r = command(v, "climb", "escalate to the next level of the vendor's ladder (drafts the escalation message)")
    r.add_argument("case")
    r.add_argument("--note", default="", help="what to add to the escalation")
    r = command(v, "close", "close a case: resolved (meets the resolution time) or withdrawn")
    r.add_argument("case")
    r.add_argument("--outcome", choices=("resolved", "withdrawn"), default="resolved")
    r.add_argument("--note", default="")
    r.add_argument("--at", help="when, if earlier")


def _case_line(c: VendorCaseView, now) -> str:
    return (f"{c.key}  {c.incident_key:<9} {c.vendor_name} {c.priority}  ticket {c.ticket_ref or '-'}  "
            f"level {c.level} ({c.level_title})  {c.state_text(now)}")  # fmt: skip


def _case_detail(cli: Cli, c: VendorCaseView) -> str:
    now = cli.s.now()
    t = c.terms
    lines = [_case_line(c, now),
             f"  contract {c.contract_ref} ({t.get('tier') or '-'}), {c.priority}: {t.get('priority_label', '')}",
             f"  affected: {c.service or '-'}",
             f"  opened {local_time(c.opened_at)} by {c.opened_by}"]  # fmt: skip
    for clock in c.clocks():
        lines.append(f"  {clock.label:<44} due {local_time(clock.due_at)}  {clock.state(now)}"
                     + (f" (met {local_time(clock.met_at)})" if clock.met_at else ""))  # fmt: skip
    climb = c.climb_due_at
    if climb is not None:
        lines.append(f"  climb to level {c.level + 1} due {local_time(climb)}")
    lines.append("  ladder:")
    lines += [f"  {line}" for line in c.ladder_lines()]
    lines.append("  what happened:")
    lines += [f"    {local_time(e.at)}  {e.author}: {e.text}" for e in cli.s.vendors.events(c.id)]
    return "\n".join(lines)


def run_vendors(cli: Cli) -> int:
    a, s = cli.a, cli.s
    vc = a.vendor_command
    service = s.vendors
    if vc == "list":
        reg = service.register
        lines = [f"Vendor register: {reg.source}"]
        for v in reg.vendors.values():
            lines.append(f"{v.id:<12} {v.name} (contract {v.contract}, {v.tier or 'no tier'}); "
                         f"services: {', '.join(v.services) or '-'}")  # fmt: skip
            lines.append(f"{'':<12} support: {' / '.join(x for x in (v.support_email, v.support_phone, v.portal) if x)}")
            for p in v.priorities.values():
                res = f"resolution {p.resolution_min} min" if p.resolution_min else "no resolution time"
                lines.append(f"{'':<12} {p.priority:<4} response {p.response_min} min, {res}: {p.label}")
            for lv in v.ladder:
                after = f" after {lv.climb_after_min} min" if lv.climb_after_min else ""
                lines.append(f"{'':<12} L{lv.level}{after}: {lv.title}, {lv.contact} ({lv.reach()})")
        cli.out({"source": str(reg.source), "vendors": plain(list(reg.vendors.values())),
                 "problems": list(reg.problems)}, "\n".join(lines))  # fmt: skip
        for p in reg.problems:
            print(f"sitrep: vendor register problem: {p}", file=sys.stderr)
        return 1 if reg.problems else 0
    if vc == "cases":
        cases = service.cases(a.incident, open_only=a.open)
        now = s.now()
        cli.out([{**plain(c), "state": c.state_text(now)} for c in cases],
                "\n".join(_case_line(c, now) for c in cases) or "No vendor cases.")  # fmt: skip
        return 0
    if vc == "show":
        c = service.get(a.case)
        cli.out({**plain(c), "events": plain(service.events(c.id))}, _case_detail(cli, c))
        return 0
    if vc == "open-case":
        c = service.open_case(a.incident, a.vendor, a.priority, author=cli.author, ticket_ref=a.ticket,
                              service=a.service, channel=a.channel, at=cli.when(a.at, "at"))  # fmt: skip
        cli.out(plain(c), _case_detail(cli, c))
        return 0
    if vc == "reply":
        c = service.reply(a.case, a.text, author=cli.author, at=cli.when(a.at, "at"), channel=a.channel,
                          ticket_ref=a.ticket)  # fmt: skip
        cli.out(plain(c), _case_detail(cli, c))
        return 0
    if vc == "climb":
        c, m = service.climb(a.case, author=cli.author, note=a.note)
        to = ", ".join(m.recipients.get("email_to") or []) or "no e-mail address (phone them)"
        cli.out({"case": plain(c), "message": plain(m)},
                _case_detail(cli, c) + f"\nEscalation drafted: {m.incident_key}/{m.number} to {to}. Review and send it "
                f"with `sitrep comms show {m.incident_key}/{m.number}` and `sitrep comms send ...`.")  # fmt: skip
        return 0
    if vc == "close":
        c = service.close(a.case, author=cli.author, outcome=a.outcome, note=a.note, at=cli.when(a.at, "at"))
        cli.out(plain(c), _case_detail(cli, c))
        return 0
    return 2
