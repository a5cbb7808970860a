"""`sitrep checklist`: the resolution checklists of an incident — list, attach, tick (with values), waive,
reopen. A refused tick says which items are missing; the commander goes past it with --override REASON."""

from __future__ import annotations

from app.cli_context import Cli, with_json
from services.errors import ValidationError

_HELP = "resolution checklists that gate risky steps (rollback, resolve, isolate a host)"


def add_checklist_commands(sub) -> None:
    sp = sub.add_parser("checklist", help=_HELP, description=_HELP)
    csub = sp.add_subparsers(dest="checklist_command", metavar="ACTION", required=True)
    with_json(csub.add_parser("catalog", help="the checklists there are (shipped and your own folder)"))
    r = with_json(csub.add_parser("show", help="an incident's checklists and where each item stands"))
    r.add_argument("incident")
    r = with_json(csub.add_parser("attach", help="attach a checklist by hand"))
    r.add_argument("incident")
    r.add_argument("checklist")
    r = with_json(csub.add_parser("tick", help="record an item done, with its values (field=value)"))
    r.add_argument("incident")
    r.add_argument("checklist")
    r.add_argument("item")
    r.add_argument("values", nargs="*", metavar="FIELD=VALUE")
    r.add_argument("--override", metavar="REASON", help="incident commander only: go past open items")
    r = with_json(csub.add_parser("waive", help="settle an item without doing it (incident commander)"))
    r.add_argument("incident")
    r.add_argument("checklist")
    r.add_argument("item")
    r.add_argument("--reason", required=True)
    r = with_json(csub.add_parser("reopen", help="mark a done or waived item open again"))
    r.add_argument("incident")
    r.add_argument("checklist")
    r.add_argument("item")
    r.add_argument("--reason", default="")


def _values(words: list[str]) -> dict[str, str]:
    out = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not name.strip():
            raise ValidationError(f"'{word}' is not FIELD=VALUE (e.g. evidence='diff clean').", field="values")
        out[name.strip()] = value
    return out


def _state_json(st) -> dict:
    return {
        "checklist": st.definition.id,
        "title": st.definition.title,
        "attached_by": st.attached_by,
        "blocks": list(st.definition.blocked_steps()),
        "items": [
            {"item": it.item.id, "text": it.item.text, "required": it.item.required, "status": it.status,
             "values": it.values, "by": it.by, "at": it.at, "reason": it.reason,
             "requires": list(it.item.requires), "who": list(it.item.who),
             "fields": [f.id for f in it.item.fields]}  # fmt: skip
            for it in st.items
        ],
    }


def _state_text(st) -> str:
    mark = {"open": " ", "done": "x", "waived": "~"}
    lines = [f"{st.definition.title} [{st.definition.id}] (attached by {st.attached_by})"]
    for it in st.items:
        extra = "".join(f" {k}={v}" for k, v in it.values.items())
        need = f" (needs {', '.join(f.id for f in it.item.fields)})" if it.item.fields and not it.settled else ""
        lines.append(f"  [{mark[it.status]}] {it.item.id:<22} {it.item.text}{'' if it.item.required else ' (optional)'}"
                     f"{need}{extra}{f' — {it.by}' if it.by else ''}")  # fmt: skip
    return "\n".join(lines)


def run_checklists(cli: Cli) -> int:
    a = cli.a
    c = cli.s.checklists
    cc = a.checklist_command
    if cc == "catalog":
        rows = list(c.definitions.values())
        cli.out([{"id": d.id, "title": d.title, "origin": d.origin, "attach_types": d.attach_types,
                  "attach_services": d.attach_services, "blocks": d.blocked_steps()} for d in rows],
                "\n".join(f"{d.id:<26} {d.title} ({d.origin})" for d in rows))  # fmt: skip
        return 0
    if cc == "attach":
        c.attach(a.incident, a.checklist, author=cli.author)
    elif cc == "tick":
        c.tick(a.incident, a.checklist, a.item, author=cli.author, values=_values(a.values),
               override_reason=a.override)  # fmt: skip
    elif cc == "waive":
        c.waive(a.incident, a.checklist, a.item, author=cli.author, reason=a.reason)
    elif cc == "reopen":
        c.reopen(a.incident, a.checklist, a.item, author=cli.author, reason=a.reason)
    states = c.states(a.incident)
    if cc != "show":
        states = [st for st in states if st.definition.id == a.checklist]
    cli.out([_state_json(st) for st in states],
            "\n\n".join(_state_text(st) for st in states) or "No checklist is attached.")  # fmt: skip
    return 0
