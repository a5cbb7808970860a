"""`sitrep rotation ...`: hours per person per role, night hours and stretches on duty across incidents,
fatigue on an incident with who could take over, the follow-the-sun handover plan, rotation goals and a
casting for the next exercise. The console's Rotation panel and the role board use the same service."""

from __future__ import annotations

from app.cli_context import Cli, command
from services.errors import NotFound
from services.exercises.scenario import load_scenarios
from services.exercises.workspace import build_vocabulary
from services.rotation.goals import cast_exercise, goal_gaps
from services.text.timetext import utc_text

_HELP = "rotation and fatigue: hours per role, night hours, key people, takeover suggestions, handovers"


def add_rotation_commands(sub) -> None:
    sp = sub.add_parser("rotation", help=_HELP, description=__doc__.split("\n\n")[0])
    r = sp.add_subparsers(dest="rotation_command", metavar="ACTION", required=True)
    p = command(r, "report", "hours per person per role, night hours in their own zone, longest stretch, key people")
    p.add_argument("--since", required=True, help="start of the period ('90d ago', '2026-07-01', ISO)")
    p.add_argument("--until", help="end of the period (default: now)")
    p = command(r, "profile", "set a responder's working hours and role training")
    p.add_argument("handle")
    p.add_argument("--hours", help="'Mon-Fri 09:00-17:30' in their own time zone ('' = the default)")
    p.add_argument("--trained", help="role ids they are trained for, comma-separated (IC,COMMS)")
    p = command(r, "fatigue", "who on an incident is past their role's limit, and who could take over")
    p.add_argument("incident")
    p = command(r, "handover", "each responder's day on the incident and the next sensible handover")
    p.add_argument("incident")
    command(r, "goals", "who has not held the goal roles (IC, comms lead) in the last two quarters")
    p = command(r, "exercise", "a suggested casting for the next exercise: who plays which role")
    p.add_argument("--scenario", help="a scenario id: cast its player roles (default: the goal roles)")


def run_rotation(cli: Cli) -> int:
    return {
        "report": _report,
        "profile": _profile,
        "fatigue": _fatigue,
        "handover": _handover,
        "goals": _goals,
        "exercise": _exercise,
    }[cli.a.rotation_command](cli)


def _h(hours: float) -> str:
    return f"{hours:.1f}"


def _report(cli: Cli) -> int:
    since = cli.when(cli.a.since, "since")
    until = cli.when(cli.a.until, "until")
    rep = cli.s.rotation.report(since, until)
    names = rep.role_names
    lines = [f"Rotation {utc_text(rep.since)} to {utc_text(rep.until)}: {rep.incidents} incident(s) with roles held"]
    if not rep.people:
        lines.append("Nobody held a role in this period.")
    else:
        lines.append(f"  {'person':<22} {'zone':<20} {'hours':>6} {'night':>6} {'longest':>8}  roles")
        for p in rep.people:
            longest = p.longest.length.total_seconds() / 3600 if p.longest else 0
            roles = ", ".join(f"{names.get(r.role, r.role)} {_h(r.hours)} h" + (f" ({_h(r.night_hours)} at night)"
                                                                                 if r.night_hours else "")
                              for r in p.roles)  # fmt: skip
            lines.append(f"  {p.person.name:<22} {p.person.timezone:<20} {_h(p.hours):>6} {_h(p.night_hours):>6} "
                         f"{_h(longest):>7}h  {roles}")  # fmt: skip
    if rep.key_people:
        lines.append("Key-person dependencies (one person holds a role in most incidents):")
        for k in rep.key_people:
            lines.append(f"  {names.get(k.role, k.role)}: {k.person.name} in {k.incidents} of {k.of} ({k.share:.0%})")
    cli.out(rep.as_dict(), "\n".join(lines))
    return 0


def _profile(cli: Cli) -> int:
    trained = None if cli.a.trained is None else cli.a.trained.split(",")
    p = cli.s.rotation.set_profile(cli.a.handle, working_hours=cli.a.hours, trained_roles=trained)
    hours = p.working_hours or f"{cli.s.rotation.rules.default_hours.text} (the default)"
    cli.out({"handle": p.handle, "working_hours": p.working_hours, "trained_roles": list(p.trained_roles)},
            f"{p.name}: works {hours} ({p.timezone}); trained for {', '.join(p.trained_roles) or 'no role yet'}")
    return 0


def _fatigue(cli: Cli) -> int:
    svc, names, now = cli.s.rotation, cli.s.rotation.role_names(), cli.s.now()
    warnings = svc.fatigue(cli.a.incident)
    doc, lines = [], []
    if not warnings:
        lines.append("Nobody on this incident is past their role's limit.")
    for f in warnings:
        cands = svc.candidates(cli.a.incident, f.role)
        hours = f.on_duty.length.total_seconds() / 3600
        lines.append(f"{f.person.name} has been on duty {_h(hours)} h as {names.get(f.role, f.role)} "
                     f"(limit {_h(f.limit.total_seconds() / 3600)} h); {f.day.local:%H:%M} their time")  # fmt: skip
        free = [c for c in cands if c.free_now]
        lines += [f"  could take over: {c.person.name} (@{c.person.handle}): {c.why(names, now)}" for c in free[:3]]
        if not free:
            lines.append("  nobody trained for it is in their working day and free; next: "
                         + "; ".join(f"{c.person.name} ({c.why(names, now)})" for c in cands[:2]))  # fmt: skip
        doc.append({"role": f.role, "handle": f.person.handle, "on_duty_hours": round(hours, 2),
                    "limit_hours": f.limit.total_seconds() / 3600,
                    "candidates": [{"handle": c.person.handle, "free_now": c.free_now, "why": c.why(names, now)}
                                   for c in cands]})  # fmt: skip
    cli.out(doc, "\n".join(lines))
    return 0


def _handover(cli: Cli) -> int:
    svc, names = cli.s.rotation, cli.s.rotation.role_names()
    plan = svc.handover_plan(cli.a.incident)
    lines = []
    for d in plan.days:
        roles = ", ".join(names.get(r, r) for r in plan.holders.get(d.person.handle, ())) or "could take over"
        state = (f"working until {d.shift_end.astimezone(d.local.tzinfo):%H:%M}" if d.working
                 else f"off (day starts {d.shift_start.astimezone(d.local.tzinfo):%a %H:%M})")  # fmt: skip
        lines.append(f"  {d.person.name:<22} {d.local:%a %H:%M} {d.person.timezone:<20} {state:<32} {roles}")
    if plan.handover_at:
        to = f" to {plan.handover_to.person.name}" if plan.handover_to else " (nobody trained is in their day then)"
        lines.append(f"Next handover of command: {utc_text(plan.handover_at)}{to}")
    for person, role, ends, working in plan.reminders:
        lines.append(f"Reminder: {person.name}'s day ends {utc_text(ends)}; plan the {names.get(role, role)} handover"
                     if working else f"Reminder: {person.name} ({names.get(role, role)}) is outside their working day")
    doc = {"handover_at": plan.handover_at.isoformat() if plan.handover_at else None,
           "handover_to": plan.handover_to.person.handle if plan.handover_to else None,
           "people": [{"handle": d.person.handle, "local": d.local.isoformat(), "working": d.working,
                       "roles": list(plan.holders.get(d.person.handle, ()))} for d in plan.days]}  # fmt: skip
    cli.out(doc, "\n".join(lines))
    return 0


def _goals(cli: Cli) -> int:
    gaps = goal_gaps(cli.s.rotation, cli.s.now())
    names = cli.s.rotation.role_names()
    days = cli.s.rotation.rules.goal_days
    lines = []
    for role in cli.s.rotation.rules.goal_roles:
        mine = [g for g in gaps if g.role == role]
        lines.append(f"Not {names.get(role, role)} in the last {days} days: "
                     + (", ".join(g.person.name + ("" if g.trained else " (untrained)") for g in mine) or "nobody"))  # fmt: skip
    cli.out([{"role": g.role, "handle": g.person.handle, "trained": g.trained,
              "last_held": g.last_held.isoformat() if g.last_held else None} for g in gaps], "\n".join(lines))  # fmt: skip
    return 0


def _exercise(cli: Cli) -> int:
    roles = list(cli.s.rotation.rules.goal_roles)
    if cli.a.scenario:
        shelf = load_scenarios(cli.paths.config, build_vocabulary(cli.s.catalog, cli.s.comms))
        if cli.a.scenario not in shelf.scenarios:
            known = ", ".join(sorted(shelf.scenarios)) or "none"
            raise NotFound(f"No scenario '{cli.a.scenario}' (known: {known}).")
        roles = list(shelf.scenarios[cli.a.scenario].player_roles) or roles
    cast = cast_exercise(cli.s.rotation, roles, cli.s.now())
    names = cli.s.rotation.role_names()
    cli.out([{"role": c.role, "handle": c.person.handle if c.person else None, "why": c.why} for c in cast],
            "\n".join(f"{names.get(c.role, c.role):<24} {c.person.name if c.person else '-':<22} {c.why}"
                      for c in cast))  # fmt: skip
    return 0
