"""`sitrep impact` (an incident's customer impact and the severity it proposes) and `sitrep delegations`
(the register of delegations of authority and its reviews). `add_impact_arguments` also serves `declare`."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli_context import Cli, with_json
from services.governance.delegations import DelegationView
from services.governance.impact import ImpactView, describe_inputs
from services.governance.impact_model import EXPOSURES, ImpactInputs

EXIT_FLAGGED = 10  # `sitrep delegations` when a delegation has expired or its review is overdue


def add_impact_arguments(sp: argparse.ArgumentParser, *, with_error_rate: bool = True) -> None:
    g = sp.add_argument_group("customer impact (the impact model proposes a severity from these)")
    g.add_argument("--affected-pct", help="share of users or tenants affected, 0-100")
    if with_error_rate:
        g.add_argument("--error-rate", help="user-facing error rate, percent")
    g.add_argument("--journey", action="append", default=None, help="an affected user journey (repeatable)")
    core = g.add_mutually_exclusive_group()
    core.add_argument("--core", dest="core_journey", action="store_true", default=None,
                      help="the journeys are core (default: from resources/impact.toml's list)")  # fmt: skip
    core.add_argument("--not-core", dest="core_journey", action="store_false")
    g.add_argument("--revenue-per-min", help="revenue lost or at risk per minute")
    g.add_argument("--data-exposure", choices=EXPOSURES)
    reg = g.add_mutually_exclusive_group()
    reg.add_argument("--regulatory", dest="regulatory", action="store_true", default=None,
                     help="a regulator may have to be told")  # fmt: skip
    reg.add_argument("--not-regulatory", dest="regulatory", action="store_false")


def impact_arguments(a: argparse.Namespace) -> dict[str, Any]:
    raw = {"affected_pct": a.affected_pct, "error_rate_pct": a.error_rate, "journeys": a.journey,
           "core_journey": a.core_journey, "revenue_per_min": a.revenue_per_min, "data_exposure": a.data_exposure,
           "regulatory": a.regulatory}  # fmt: skip
    return {k: v for k, v in raw.items() if v is not None}


def add_governance_commands(sub) -> None:
    sp = sub.add_parser("impact", help="an incident's customer impact and the severity the impact model proposes",
                        description="Record an incident's customer impact (a timeline entry) and see the severity "
                        "the impact model (resources/impact.toml) proposes, with its reasons.")  # fmt: skip
    c = sp.add_subparsers(dest="impact_command", metavar="ACTION", required=True)
    r = with_json(c.add_parser("show", help="the recorded impact and the proposal"))
    r.add_argument("--incident", required=True)
    r = with_json(c.add_parser("set", help="record or update the impact (given inputs replace those recorded)"))
    r.add_argument("--incident", required=True)
    r.add_argument("--replace", action="store_true", help="forget the inputs not given")
    add_impact_arguments(r)
    r = with_json(c.add_parser("propose", help="the proposal for an impact, without recording it"))
    add_impact_arguments(r)

    sp = sub.add_parser("delegations", help="delegations of authority: list, add, review, confirm, change, revoke",
                        description="The register of who may declare a major incident, approve external messages, "
                        "authorise spending and talk to regulators. Exit code 10 when a delegation has expired or "
                        "its review is overdue.")  # fmt: skip
    with_json(sp)
    sp.add_argument("--all", action="store_true", help="also revoked delegations")
    c = sp.add_subparsers(dest="delegations_command", metavar="ACTION")
    r = with_json(c.add_parser("list", help="the register (the default)"))
    r.add_argument("--all", action="store_true", help="also revoked delegations")
    r = with_json(c.add_parser("add", help="delegate an authority"))
    r.add_argument("authority", help="declare_major, approve_external, authorise_spending, talk_to_regulators")
    r.add_argument("holder", help="a directory handle")
    r.add_argument("--owner", required=True, help="who reviews it (a directory handle)")
    r.add_argument("--deputy", action="append", default=[], help="a deputy's handle (repeatable)")
    r.add_argument("--expires", help="the last day it holds, YYYY-MM-DD (default: until revoked)")
    r.add_argument("--scope", default="", help="what it covers, in words")
    r = with_json(c.add_parser("review", help="a delegation and its history of reviews"))
    r.add_argument("delegation", help="its id (the first 8 characters are enough)")
    for name, help_ in (("confirm", "the owner confirms it stands as it is"), ("revoke", "the owner revokes it")):
        r = with_json(c.add_parser(name, help=help_))
        r.add_argument("delegation")
        r.add_argument("--note", default="")
    r = with_json(c.add_parser("change", help="the owner changes it (this counts as its review)"))
    r.add_argument("delegation")
    r.add_argument("--holder")
    r.add_argument("--deputy", action="append", default=None, help="the deputies now (repeatable)")
    r.add_argument("--no-deputies", action="store_true")
    r.add_argument("--owner")
    r.add_argument("--expires", help="YYYY-MM-DD, or 'never'")
    r.add_argument("--scope")
    r.add_argument("--note", default="")


def run_governance(cli: Cli) -> int:
    return _impact(cli) if cli.a.command == "impact" else _delegations(cli)


def _impact_text(v: ImpactView) -> str:
    inputs = describe_inputs(ImpactInputs.of(v.inputs))
    lines = [f"{v.incident_key}: severity {v.severity}", f"  impact:   {inputs}",
             f"  proposed: {v.explanation}"]  # fmt: skip
    if v.proposed_severity and not v.agrees:
        lines.append(f"  the severity ({v.severity}) differs from the proposal; the commander decides")
    if v.recorded_by:
        lines.append(f"  recorded by {v.recorded_by} at {v.updated_at:%Y-%m-%d %H:%M} UTC")
    return "\n".join(lines)


def _impact(cli: Cli) -> int:
    a, s = cli.a, cli.s
    if a.impact_command == "show":
        v = s.impact.show(a.incident)
        cli.out(v.as_dict(), _impact_text(v))
    elif a.impact_command == "set":
        v = s.impact.record(a.incident, impact_arguments(a), author=cli.author, replace=a.replace)
        cli.out(v.as_dict(), _impact_text(v))
    else:
        p = s.impact.propose(impact_arguments(a))
        cli.out({"proposed_severity": p.severity, "explanation": p.explanation}, p.explanation)
    return 0


def _line(d: DelegationView) -> str:
    deputies = f"; deputies {', '.join('@' + h for h in d.deputies)}" if d.deputies else ""
    until = f"until {d.expires_on}" if d.expires_on else "no expiry"
    review = f"review due {d.review_due_on}" if d.review_due_on else "no review (from comms.toml)"
    mark = "!" if d.flagged else " "
    return (f"{mark} {d.id[:8]:<8}  {d.authority_label:<27} {d.holder_name} (@{d.holder}){deputies}\n"
            f"  {'':<8}  owner {d.owner_name}; {until}; {review}; {d.state}")  # fmt: skip


def _flag_sentence(reg, d: DelegationView) -> str:
    if d.state == "expired":
        return reg.blocked_sentence(d)[:-1] + f" (`sitrep delegations change {d.id[:8]} --expires YYYY-MM-DD`, by its owner)."
    return f"{d.problem[0].upper()}{d.problem[1:]} (owner: {d.owner_name}, @{d.owner}); its owner confirms, changes or revokes it."


def _delegations(cli: Cli) -> int:
    a, reg = cli.a, cli.s.delegations
    dc = a.delegations_command or "list"
    if dc == "list":
        rows = reg.list(include_revoked=a.all)
        flagged = [d for d in rows if d.flagged]
        text = "\n".join(_line(d) for d in rows) or "No delegations in the register. `sitrep delegations add` adds one."
        if flagged:
            text += "\n\n" + "\n".join(f"! {_flag_sentence(reg, d)}" for d in flagged)
        cli.out({"delegations": [d.as_dict() for d in rows], "flagged": [d.id for d in flagged]}, text)
        return EXIT_FLAGGED if flagged else 0
    if dc == "add":
        d = reg.add(a.authority, a.holder, a.owner, author=cli.author, deputies=a.deputy, expires_on=a.expires,
                    scope=a.scope)  # fmt: skip
        cli.out(d.as_dict(), "Added:\n" + _line(d))
        return 0
    if dc == "review":
        d = reg.get(a.delegation)
        history = reg.reviews(d.id)
        lines = [_line(d)] + ([f"  scope: {d.scope}"] if d.scope else [])
        for r in history:
            line = f"  {r.at:%Y-%m-%d %H:%M} {r.action} by {r.by}" + (f": {r.note}" if r.note else "")
            if r.action == "changed":
                moved = [f"{k}: {v.get('from')} → {v.get('to')}" for k, v in r.changes.items() if isinstance(v, dict)]
                line += f" ({'; '.join(moved)})"
            lines.append(line)
        cli.out({**d.as_dict(), "reviews": [{"action": r.action, "by": r.by, "at": r.at.isoformat(), "note": r.note,
                                             "changes": r.changes} for r in history]}, "\n".join(lines))  # fmt: skip
        return 0
    if dc == "confirm":
        d = reg.confirm(a.delegation, by=cli.author, note=a.note)
    elif dc == "revoke":
        d = reg.revoke(a.delegation, by=cli.author, note=a.note)
    else:
        deputies = [] if a.no_deputies else a.deputy
        d = reg.change(a.delegation, by=cli.author, note=a.note, holder=a.holder, deputies=deputies, owner=a.owner,
                       expires_on=a.expires if a.expires is not None else "keep", scope=a.scope)  # fmt: skip
    cli.out(d.as_dict(), {"confirm": "Confirmed", "revoke": "Revoked", "change": "Changed"}[dc] + ":\n" + _line(d))
    return 0
