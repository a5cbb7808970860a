"""`sitrep exercise ...`: run a tabletop exercise headless (the console's Exercise menu and facilitator
window do the same through the same services).

Outside an exercise, the commands act on the newest running exercise under the data folder's
`exercises/` (or the one named by --exercise); inside one (`sitrep --data-dir EXERCISE-FOLDER`),
on that one. Each exercise is a store of its own: nothing here touches the real incidents.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

from app.cli_context import Cli, with_json
from app.terminal import exact_stdout
from services.errors import NotFound, ValidationError
from services.exercises.report import BANNER
from services.exercises.scenario import ScenarioInvalid, clock_text, load_scenarios, read_scenario_file
from services.exercises.service import (
    ACTION_ELEMENTS,
    ACTION_STATES,
    HOTWASH_KINDS,
    MARKS,
    check_speed,
    due_date,
)
from services.exercises.session import end_exercise, open_exercise, refresh_outputs
from services.exercises.workspace import Workspace, build_vocabulary, create_exercise


def add_exercise_commands(sub) -> None:
    sp = sub.add_parser("exercise", help="tabletop exercises: scenarios, the scenario clock, injects, scoring, AAR/IP",
                        description=__doc__.split("\n\n")[0])  # fmt: skip
    x = sp.add_subparsers(dest="exercise_command", metavar="ACTION", required=True)

    def act(name: str, help_: str, *, pick: bool = True):
        r = with_json(x.add_parser(name, help=help_, description=help_))
        if pick:
            r.add_argument("--exercise", help="which exercise (its folder name; default: the newest running)")
        return r

    act("list", "the scenarios there are, and the exercises held", pick=False)
    r = act("check", "check scenario files; names the file, line and field of every problem", pick=False)
    r.add_argument("file", nargs="+")
    r = act("start", "start an exercise of a scenario in a store of its own", pick=False)
    r.add_argument("scenario", help="a scenario id (`sitrep exercise list`) or a .toml file")
    r.add_argument("--speed", type=float, help="scenario minutes per real minute (default: the scenario's)")
    r.add_argument("--paused", action="store_true", help="make the exercise store but do not start the clock")
    act("status", "the scenario clock, the MSEL and the expected-actions sheet (delivers what is due)")
    r = act("inject", "deliver an inject now (or the next one, or an ad-hoc one)")
    r.add_argument("inject", nargs="?", help="the inject's id (default: jump to the next one)")
    r.add_argument("--title", help="an ad-hoc inject's title (with --content)")
    r.add_argument("--content", help="an ad-hoc inject's text")
    r.add_argument("--to", action="append", default=[], help="a role id it is for (repeatable; default: all)")
    r.add_argument("--channel", default="facilitator", help="how it reaches the players")
    act("pause", "pause the scenario clock")
    r = act("resume", "start the paused clock again")
    r.add_argument("--speed", type=float, help="and run it at this speed")
    act("end", "end the exercise and write its AAR/IP (Markdown, HTML, PDF) into its folder")
    r = act("report", "write the AAR/IP")
    r.add_argument("--format", choices=("md", "html", "pdf"), default="md")
    r.add_argument("-o", "--output", help="file to write (default: stdout for md and html)")
    r = act("note", "an evaluator's note, stamped with scenario time")
    r.add_argument("text")
    r.add_argument("--expected", help="the expected action it is about")
    r = act("mark", "mark an expected action by hand (replaces the automatic result)")
    r.add_argument("expected")
    r.add_argument("result", choices=MARKS)
    r.add_argument("--note", default="")
    r = act("rate", "rate an objective P, S, M or U")
    r.add_argument("objective")
    r.add_argument("rating", choices=("P", "S", "M", "U"))
    r.add_argument("--notes", default="")
    r = act("hotwash", "record a hot-wash finding")
    r.add_argument("kind", choices=tuple(HOTWASH_KINDS))
    r.add_argument("text")
    r.add_argument("--who", default="", help="the participant it came from")
    r = act("action", "add a corrective action, or update one (with --status)")
    r.add_argument("text", help="the corrective action (or, with --status, its id, e.g. CA-1)")
    r.add_argument("--issue", help="the issue or area for improvement it answers")
    r.add_argument("--owner", help="point of contact")
    r.add_argument("--due", help="due date: 2027-01-15 or +14d")
    r.add_argument("--objective", default="")
    r.add_argument("--element", choices=ACTION_ELEMENTS, default="planning")
    r.add_argument("--organisation", default="")
    r.add_argument("--status", choices=ACTION_STATES)
    act("history", "ended exercises side by side: how the team's times move", pick=False)


@contextmanager
def _exercise(cli):
    """The exercise store to act on, opened for the command and closed after it."""
    if cli.s.in_exercise:
        yield cli.s
        return
    folder = Workspace(cli.paths.data, cli.paths.config).find(getattr(cli.a, "exercise", None)).path
    ex = open_exercise(folder)
    try:
        yield ex
    finally:
        ex.close()


def run_exercise(cli: Cli) -> int:
    a, action = cli.a, cli.a.exercise_command
    if action == "list":
        return _list(cli)
    if action == "check":
        return _check(cli)
    if action == "start":
        return _start(cli)
    if action == "history":
        rows = Workspace(cli.paths.data, cli.paths.config).history()
        lines = [f"{r.get('ended_at', '')[:16]:<16}  {r.get('title', ''):<36} declare {_m(r.get('minutes_to_declare'))}  "
                 f"roles {_m(r.get('minutes_to_roles'))}  first message {_m(r.get('minutes_to_first_message'))}  "
                 f"met {r.get('expected_met', 0)}/{r.get('expected_total', 0)}  missed {r.get('expected_missed', 0)}  "
                 f"actions open {r.get('actions_open', 0)}" for r in rows]  # fmt: skip
        cli.out(rows, "\n".join(lines) or "No exercise has ended yet.")
        return 0
    with _exercise(cli) as ex:
        svc, by = ex.exercises, cli.author
        if action == "status":
            return _status(cli, svc.tick_state()[1])
        if action == "inject":
            if a.title or a.content:
                inject_id = svc.adhoc(a.title or "", a.content or "", to=tuple(a.to) or ("all",), channel=a.channel, by=by)
            elif a.inject:
                svc.deliver_now(a.inject, by=by)
                inject_id = a.inject
            else:
                inject_id = svc.jump_to_next(by=by)
                if inject_id is None:
                    raise ValidationError("Every timed inject has been delivered.")
            cli.out({"inject": inject_id}, f"Delivered {inject_id} at {svc.state().clock_text}.")
        elif action == "pause":
            svc.pause(by=by)
            cli.out({"paused": True}, f"Paused at {svc.state().clock_text}.")
        elif action == "resume":
            if a.speed:
                svc.set_speed(a.speed, by=by)
            svc.resume(by=by)
            cli.out({"running": True}, f"Running at ×{svc.clock().speed:g} from {svc.state().clock_text}.")
        elif action == "end":
            files = end_exercise(ex, by=by)
            _pdf(files["html"].read_text(encoding="utf-8"), files["pdf"], svc.state().scenario.title)
            cli.out({k: str(v) for k, v in files.items()},
                    "Exercise ended. After-action report:\n" + "\n".join(f"  {p}" for p in files.values()))  # fmt: skip
        elif action == "report":
            return _report(cli, ex)
        elif action == "note":
            e = svc.note(a.text, by=by, expectation=a.expected)
            cli.out({"at": e.scenario_text}, f"Noted at {e.scenario_text}.")
        elif action == "mark":
            svc.mark(a.expected, a.result, by=by, note=a.note)
            cli.out({"marked": a.expected}, f"{a.expected}: {a.result}.")
        elif action == "rate":
            svc.rate(a.objective, a.rating, by=by, notes=a.notes)
            cli.out({"rated": a.objective}, f"{a.objective}: {a.rating}.")
        elif action == "hotwash":
            svc.hotwash(a.kind, a.text, by=by, who=a.who)
            cli.out({"recorded": a.kind}, f"Recorded ({HOTWASH_KINDS[a.kind].lower()}).")
        elif action == "action":
            if a.status:
                svc.update_action(a.text, a.status, by=by)
                cli.out({"id": a.text, "status": a.status}, f"{a.text}: {a.status}.")
            else:
                e = svc.add_action(a.issue or "", a.text, owner=a.owner or "", by=by, objective=a.objective,
                                   due=due_date(a.due, ex.now()) if a.due else None, element=a.element,
                                   organisation=a.organisation)  # fmt: skip
                cli.out(e.data, f"{e.data['id']}: {e.data['action']} (owner {e.data['owner']}, due {e.data['due']}).")
    return 0


def _m(value) -> str:
    return "—" if value is None else f"{value:g} min"


def _vocab(cli):
    return build_vocabulary(cli.s.catalog, cli.s.comms)


def _list(cli) -> int:
    shelf = load_scenarios(cli.paths.config, _vocab(cli))
    lines = ["Scenarios:"]
    lines += [f"  {s.id:<30} {s.title} ({s.type}, {s.duration_min:g} min, {len(s.injects)} injects)"
              for s in shelf.scenarios.values()]  # fmt: skip
    for path, problems in shelf.broken.items():
        lines.append(f"  (not loaded) {path}: {len(problems)} problem(s); `sitrep exercise check {path}`")
    held = Workspace(cli.paths.data, cli.paths.config).folders()
    if held:
        lines.append("Exercises:")
        lines += [f"  {f.name:<44} {f.title} ({'ended' if f.ended_at else 'running'})" for f in held]
    cli.out({"scenarios": [{"id": s.id, "title": s.title, "file": str(s.path)} for s in shelf.scenarios.values()],
             "broken": {p: [str(x) for x in v] for p, v in shelf.broken.items()},
             "exercises": [{"name": f.name, "title": f.title, "ended": bool(f.ended_at)} for f in held]},
            "\n".join(lines))  # fmt: skip
    return 0


def _check(cli) -> int:
    vocab, problems, good = _vocab(cli), [], 0
    for name in cli.a.file:
        try:
            read_scenario_file(Path(name), vocab)
            good += 1
        except ScenarioInvalid as exc:
            problems += exc.problems
    cli.out({"ok": good, "problems": [p.__dict__ for p in problems]},
            "\n".join(map(str, problems)) or f"{good} scenario file(s) check out.")  # fmt: skip
    return 1 if problems else 0


def _start(cli) -> int:
    if cli.s.in_exercise:
        raise ValidationError("This store is an exercise's own; start a new exercise from the real store.")
    if cli.a.speed is not None:
        check_speed(cli.a.speed)  # before anything is made
    vocab, target = _vocab(cli), cli.a.scenario
    if target.endswith(".toml"):
        scenario = read_scenario_file(Path(target), vocab)
    else:
        shelf = load_scenarios(cli.paths.config, vocab)
        scenario = shelf.scenarios.get(target)
        if scenario is None:
            raise NotFound(f"No scenario '{target}'. Known: {', '.join(shelf.scenarios) or 'none'}.")
    folder = create_exercise(cli.s, scenario, facilitator=cli.author, data_dir=cli.paths.data, config_dir=cli.paths.config)
    ex = open_exercise(folder)
    try:
        if not cli.a.paused:
            ex.exercises.start(by=cli.author, speed=cli.a.speed)
        clock = ex.exercises.clock()
    finally:
        ex.close()
    state = "paused" if cli.a.paused else f"running at ×{clock.speed:g}"
    cli.out({"folder": str(folder), "name": folder.name},
            f"Exercise '{scenario.title}' {state}: {folder.name}\n"
            f"Players open its console with:  sitrep --data-dir {folder}\n"
            f"(or Exercise ▸ Join as player in the console).")  # fmt: skip
    return 0


def _status(cli, st) -> int:
    if not st.clock.started or st.ended:
        clock = "ended" if st.ended else "not started"
    else:
        clock = f"running ×{st.clock.speed:g}" if st.clock.running else "paused"
    lines = [f"EXERCISE {st.scenario.title}: {st.clock_text} ({clock})", "", "MSEL:"]
    lines += [f"  {r.id:<4} {r.when:<16} {r.status:<10} {r.title}" for r in st.msel]
    lines += ["", "Expected actions:"]
    for row in st.sheet:
        when = f" at {clock_text(row.met_s)} ({row.delay_text} after the inject)" if row.met_s is not None else ""
        lines.append(f"  {row.expectation.id:<20} {row.status:<12} {row.expectation.text}{when}")
    counts = st.counts()
    lines.append("\n" + ", ".join(f"{k}: {v}" for k, v in sorted(counts.items())))
    cli.out({"clock": st.clock_text, "state": clock,
             "msel": [{"id": r.id, "status": r.status, "title": r.title} for r in st.msel],
             "sheet": [{"id": r.expectation.id, "status": r.status, "delay_s": r.delay_s,
                        "who": r.evidence.who if r.evidence else None} for r in st.sheet]}, "\n".join(lines))  # fmt: skip
    return 0


def _pdf(page: str, path: Path, title: str) -> None:
    from ui.printing import (
        write_pdf,  # deferred start-up cost: Qt only for the PDF, as `comms log --export pdf`
    )

    write_pdf(page, path, title=f"AAR/IP: {title} (EXERCISE)", landscape=True, banner=BANNER)


def _report(cli, ex) -> int:
    files, page = refresh_outputs(ex)
    fmt, out = cli.a.format, cli.a.output
    if fmt == "pdf":
        target = Path(out) if out else files["pdf"]
        _pdf(page, target, ex.exercises.state().scenario.title)
        print(f"Wrote {target}", file=sys.stderr)
        return 0
    text = files[fmt].read_text(encoding="utf-8")
    if out:
        try:
            Path(out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ValidationError(f"Cannot write {out}: {exc.strerror}.") from None
        print(f"Wrote {out}", file=sys.stderr)
    else:
        exact_stdout().write(text)
    return 0

