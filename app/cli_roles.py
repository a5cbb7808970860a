"""`sitrep role` and `sitrep people`: who holds which incident role, and the responder directory."""

from __future__ import annotations

from app.cli_context import Cli, with_json
from app.cli_output import local_time
from services.record.roles import HANDOVER_FIELDS

_ROLE_HELP = "assign, hand over or release incident roles"
_PEOPLE_HELP = "the responder directory"


def add_role_commands(sub) -> None:
    sp = sub.add_parser("role", help=_ROLE_HELP, description=_ROLE_HELP)
    rsub = sp.add_subparsers(dest="role_command", metavar="ACTION", required=True)
    r = with_json(rsub.add_parser("assign", help="give a role to a responder"))
    r.add_argument("incident")
    r.add_argument("role")
    r.add_argument("handle")
    r.add_argument("--at")
    r = with_json(rsub.add_parser("handover", help="hand a role to someone else, with a brief"))
    r.add_argument("incident")
    r.add_argument("role")
    r.add_argument("handle", help="the incoming holder")
    for key, label in HANDOVER_FIELDS.items():
        r.add_argument(f"--{key.replace('_', '-')}", dest=key, required=True, help=label)
    r.add_argument("--at")
    r = with_json(rsub.add_parser("release", help="release a role"))
    r.add_argument("incident")
    r.add_argument("role")
    r.add_argument("--reason")
    r.add_argument("--at")
    r = with_json(rsub.add_parser("list", help="who holds which role (now, at a time, or the whole history)"))
    r.add_argument("incident")
    r.add_argument("--history", action="store_true")
    r.add_argument("--at", help="who held each role at this time")
    r = with_json(rsub.add_parser("checklist", help="tick a role's first-10-minutes checklist item"))
    r.add_argument("incident")
    r.add_argument("role")
    r.add_argument("item", type=int, nargs="?", help="item number (1-based); omit to list")
    r.add_argument("--undo", action="store_true")
    r = with_json(rsub.add_parser("catalog", help="the roles there are"))

    sp = sub.add_parser("people", help=_PEOPLE_HELP, description=_PEOPLE_HELP)
    psub = sp.add_subparsers(dest="people_command", metavar="ACTION", required=True)
    r = with_json(psub.add_parser("add", help="add a responder"))
    r.add_argument("name")
    r.add_argument("handle")
    r.add_argument("--email")
    r.add_argument("--phone")
    r.add_argument("--tz", default="UTC", help="IANA time zone, e.g. Europe/Berlin")
    r = with_json(psub.add_parser("edit", help="change a responder"))
    r.add_argument("handle")
    r.add_argument("--name")
    r.add_argument("--new-handle")
    r.add_argument("--email")
    r.add_argument("--phone")
    r.add_argument("--tz")
    with_json(psub.add_parser("list", help="list responders"))


def run_roles(cli: Cli) -> int:
    return _role(cli) if cli.a.command == "role" else _people(cli)


def _role(cli: Cli) -> int:
    a = cli.a
    rc = a.role_command
    if rc == "catalog":
        roles = list(cli.s.catalog.roles.values())
        cli.out(roles, "\n".join(f"{r.id:<8} {r.name}: {r.mission}" for r in roles))
    elif rc == "assign":
        h = cli.s.roles.assign(a.incident, a.role, a.handle, author=cli.author, at=cli.when(a.at, "at"))
        cli.out(h, f"{h.person.name} is {cli.s.catalog.role(h.role).name}")
    elif rc == "handover":
        brief = {k: getattr(a, k) for k in HANDOVER_FIELDS}
        h = cli.s.roles.hand_over(
            a.incident, a.role, a.handle, brief, author=cli.author, at=cli.when(a.at, "at")
        )
        cli.out(h, f"{h.person.name} is now {cli.s.catalog.role(h.role).name}")
    elif rc == "release":
        cli.s.roles.release(a.incident, a.role, author=cli.author, reason=a.reason, at=cli.when(a.at, "at"))
        cli.out({"released": a.role}, f"{a.role} released")
    elif rc == "list":
        if a.at:
            at = cli.when(a.at, "at")
            rows = [h for r in cli.s.catalog.roles if (h := cli.s.roles.who_held(a.incident, r, at))]
        elif a.history:
            rows = cli.s.roles.history(a.incident)
        else:
            rows = cli.s.roles.holders(a.incident)
        lines = [
            f"{cli.s.catalog.role(h.role).name:<28} {h.person.name:<20} {local_time(h.started_at)} → {local_time(h.ended_at) if h.ended_at else 'now'}"
            for h in rows
        ]
        cli.out(rows, "\n".join(lines) or "Nobody holds a role.")
    elif rc == "checklist":
        role = cli.s.catalog.role(a.role)
        if a.item is not None:
            cli.s.roles.tick_checklist(a.incident, role.id, a.item - 1, not a.undo, author=cli.author)
        holder = next((h for h in cli.s.roles.holders(a.incident) if h.role == role.id), None)
        done = set(holder.checklist_done) if holder else set()
        items = [{"item": i + 1, "text": t, "done": i in done} for i, t in enumerate(role.checklist)]
        cli.out(
            items, "\n".join(f"[{'x' if it['done'] else ' '}] {it['item']}. {it['text']}" for it in items)
        )
    return 0


def _people(cli: Cli) -> int:
    a = cli.a
    pc = a.people_command
    if pc == "add":
        p = cli.s.people.add(a.name, a.handle, email=a.email, phone=a.phone, timezone=a.tz)
        cli.out(p, f"Added {p.name} (@{p.handle})")
    elif pc == "edit":
        p = cli.s.people.update(
            a.handle, name=a.name, new_handle=a.new_handle, email=a.email, phone=a.phone, timezone=a.tz
        )
        cli.out(p, f"Updated {p.name} (@{p.handle})")
    else:
        rows = cli.s.people.list()
        text = "\n".join(
            f"@{p.handle:<16} {p.name:<24} {p.timezone:<20} {p.email or '-':<28} {p.phone or '-'}"
            for p in rows
        )
        cli.out(rows, text or "The responder directory is empty.")
    return 0
