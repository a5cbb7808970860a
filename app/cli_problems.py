"""`sitrep problem ...`: ITIL problem records shared by incidents (local, or a Jira issue of the problem type);
and the `sitrep change link|unlink|links|candidates` actions: the changes that may have caused an incident
(by hand, or a Jira issue of the change type). The change actions are added to `sitrep change`
(app/cli_changes.py) by `add_change_link_commands`."""

from __future__ import annotations

from app.cli_context import Cli, with_json
from services.resolution.itil_remote import incident_start
from services.resolution.problems import STATUSES, ProblemView

_HELP = "problem records: the causes shared by incidents"
LINK_ACTIONS = ("link", "unlink", "links", "candidates")


def add_problem_commands(sub) -> None:
    sp = sub.add_parser("problem", help=_HELP, description=_HELP)
    psub = sp.add_subparsers(dest="problem_command", metavar="ACTION", required=True)
    r = with_json(psub.add_parser("add", help="record a problem kept here, or add a Jira problem by key"))
    r.add_argument("title", nargs="?", help="the cause in a line (not with --jira)")
    r.add_argument("--jira", metavar="KEY", help="a Jira issue of the problem type: its summary and status are fetched")
    r.add_argument("--description", default="")
    r.add_argument("--root-cause")
    r.add_argument("--workaround", help="the known-error workaround (makes it a known error)")
    r.add_argument("--owner", help="who owns it (a handle)")
    r.add_argument("--link", metavar="INCIDENT", help="link this incident to it straight away")
    r = with_json(psub.add_parser("list", help="the problems, with the incidents linked to each"))
    r.add_argument("--status", choices=list(STATUSES))
    r = with_json(psub.add_parser("show", help="one problem (PRB-0001, its Jira key, or an incident's: INC-0042)"))
    r.add_argument("problem")
    r = with_json(psub.add_parser("link", help="link an incident to a problem (shows its workaround)"))
    r.add_argument("incident")
    r.add_argument("problem")
    r.add_argument("--why")
    r = with_json(psub.add_parser("unlink", help="unlink an incident from its problem"))
    r.add_argument("incident")
    r.add_argument("--why")
    r = with_json(psub.add_parser("workaround", help="record the known-error workaround (and root cause)"))
    r.add_argument("problem")
    r.add_argument("text")
    r.add_argument("--root-cause")
    r = with_json(psub.add_parser("update", help="change a problem's fields or status"))
    r.add_argument("problem")
    r.add_argument("--title")
    r.add_argument("--description")
    r.add_argument("--root-cause")
    r.add_argument("--status", choices=list(STATUSES))
    r.add_argument("--owner")
    r = with_json(psub.add_parser("refresh", help="fetch a Jira problem's summary and status again"))
    r.add_argument("problem")


def _text(p: ProblemView) -> str:
    lines = [f"{p.key}  {p.title}  [{p.status_label}]"]
    if p.remote_key:
        lines.append(f"  Jira: {p.remote_key} ({p.remote_status or 'status unknown'})")
    if p.owner:
        lines.append(f"  Owner: {p.owner}")
    if p.description:
        lines.append(f"  {p.description}")
    if p.root_cause:
        lines.append(f"  Root cause: {p.root_cause}")
    if p.workaround:
        lines.append(f"  Workaround: {p.workaround}")
    lines.append(f"  Incidents: {', '.join(p.incidents) or 'none yet'}")
    return "\n".join(lines)


def run_problems(cli: Cli) -> int:
    a, problems = cli.a, cli.s.problems
    cmd = a.problem_command
    if cmd == "add":
        if a.jira:
            backend, record = cli.s.itil.record(a.jira, "problem")
            p = problems.add_tracked(record, backend=backend, author=cli.author)
        else:
            p = problems.add(a.title or "", author=cli.author, description=a.description, root_cause=a.root_cause,
                             workaround=a.workaround, owner=a.owner)  # fmt: skip
        if a.link:
            p = problems.link(a.link, p.id, author=cli.author).problem
        cli.out(p.as_json(), _text(p))
        return 0
    if cmd == "list":
        rows = problems.list(a.status)
        cli.out([p.as_json() for p in rows], "\n".join(
            f"{p.key}  {p.status_label:<12} {len(p.incidents):>3} incident(s)  {p.title}"
            + (f"  ({p.remote_key})" if p.remote_key else "") for p in rows) or "No problems recorded.")  # fmt: skip
        return 0
    if cmd == "show":
        ref = a.problem.strip()
        p = problems.for_incident(ref) if ref.upper().startswith("INC-") else problems.get(ref)
        if p is None:
            cli.out(None, f"{ref.upper()} is not linked to a problem.")
            return 0
        cli.out(p.as_json(), _text(p))
        return 0
    if cmd == "link":
        out = problems.link(a.incident, a.problem, author=cli.author, why=a.why)
        p = out.problem
        said = f"{out.incident_key} is already linked to {p.key}." if out.already else \
            f"Linked {out.incident_key} to {p.key} “{p.title}”" + (f" (was {out.replaced})." if out.replaced else ".")  # fmt: skip
        if p.workaround:
            said += f"\nKnown error. Workaround: {p.workaround}"
        others = [k for k in p.incidents if k != out.incident_key]
        if others:
            said += f"\nAlso linked to it: {', '.join(others)}"
        cli.out({"incident": out.incident_key, "replaced": out.replaced, "problem": p.as_json()}, said)
        return 0
    if cmd == "unlink":
        p = problems.unlink(a.incident, author=cli.author, why=a.why)
        cli.out(p.as_json(), f"Unlinked {a.incident.upper()} from {p.key}.")
        return 0
    if cmd == "workaround":
        p = problems.update(a.problem, author=cli.author, workaround=a.text, root_cause=a.root_cause)
        cli.out(p.as_json(), _text(p))
        return 0
    if cmd == "update":
        p = problems.update(a.problem, author=cli.author, title=a.title, description=a.description,
                            root_cause=a.root_cause, status=a.status, owner=a.owner)  # fmt: skip
        cli.out(p.as_json(), _text(p))
        return 0
    p = problems.get(a.problem)  # refresh
    if not p.remote_key:
        cli.out(p.as_json(), f"{p.key} is kept here, not in a tracker: nothing to fetch.")
        return 0
    _backend, record = cli.s.itil.record(p.remote_key, "problem", p.remote_backend)
    p = problems.refresh_tracked(p.key, record)
    cli.out(p.as_json(), _text(p))
    return 0


# -- `sitrep change link|unlink|links|candidates` -------------------------------------------------------------
def add_change_link_commands(csub) -> None:
    r = with_json(csub.add_parser("link", help="link a change that may have caused the incident"))
    r.add_argument("incident")
    r.add_argument("ref", help="the change's reference (CHG0030012), or a Jira key with --jira")
    r.add_argument("--jira", action="store_true", help="REF is a Jira issue of the change type: fetch it")
    r.add_argument("--summary", help="what the change was (by hand)")
    r.add_argument("--when", help="when it was made (by hand): '3h ago', '2026-03-14 09:40'")
    r.add_argument("--ci", default="", help="the configuration item or service it changed")
    r.add_argument("--why")
    r = with_json(csub.add_parser("unlink", help="unlink a change: not a cause after all"))
    r.add_argument("incident")
    r.add_argument("ref")
    r.add_argument("--why")
    r = with_json(csub.add_parser("links", help="the changes linked as possible causes of an incident"))
    r.add_argument("incident")
    r = with_json(csub.add_parser("candidates", help="Jira change records made in the hours before an incident"))
    r.add_argument("incident")
    r.add_argument("--hours", type=float, default=24.0, help="how far back from the incident's start (24)")


def run_change_links(cli: Cli) -> int:
    a, links = cli.a, cli.s.change_links
    cmd = a.change_command
    if cmd == "link":
        if a.jira:
            backend, record = cli.s.itil.record(a.ref, "change")
            link = links.link_tracked(a.incident, record, backend=backend, author=cli.author, why=a.why)
        else:
            link = links.link(a.incident, author=cli.author, ref=a.ref, summary=a.summary or "",
                              changed_at=cli.when(a.when, "when"), ci=a.ci, why=a.why)  # fmt: skip
        cli.out(link.as_json(), f"Linked to {link.incident_key} as a possible cause: {link.line}")
        return 0
    if cmd == "unlink":
        links.unlink(a.incident, a.ref, author=cli.author, why=a.why)
        cli.out({"incident": a.incident, "ref": a.ref, "unlinked": True}, f"Unlinked {a.ref}.")
        return 0
    if cmd == "links":
        rows = links.list(a.incident)
        cli.out([r.as_json() for r in rows], "\n".join(r.line for r in rows) or "No changes linked.")
        return 0
    inc = cli.s.incidents.get(a.incident)
    _backend, rows = cli.s.itil.change_candidates(incident_start(inc), hours_before=a.hours, now=cli.s.now())
    cli.out([{"key": r.key, "summary": r.summary, "status": r.status, "created": r.created_at.isoformat()
              if r.created_at else None, "components": list(r.components)} for r in rows],
            "\n".join(f"{r.key}  {r.created_at:%Y-%m-%d %H:%M}Z  [{r.status}]  {r.summary}" if r.created_at else
                      f"{r.key}  [{r.status}]  {r.summary}" for r in rows) or "No change records in that window.")  # fmt: skip
    return 0
