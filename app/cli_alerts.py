"""`sitrep alerts ...`: the alerts Sitrep holds (polled from Alertmanager or posted to its receiver),
their groups, triage and quality, headless. The console's Alerts panel does the same through the same
services."""

from __future__ import annotations

import contextlib
import signal
import sys
import threading

from app.cli_context import Cli, with_json
from app.cli_output import local_time
from services.adapters.bridge import save_bridge_template
from services.detection.intake import poll_alertmanagers
from services.detection.receiver import SECRET_BACKEND, AlertReceiver, webhook_parsers
from services.detection.triage import Walk
from services.errors import NotFound, ValidationError
from services.text.timeparse import parse_duration


def add_alerts_commands(sub) -> None:
    sp = sub.add_parser("alerts", help="alerts from Alertmanager and webhooks: list, acknowledge, silence, triage",
                        description="Alerts Sitrep holds, deduplicated by fingerprint with their firing/resolved "
                        "history; their correlated groups; triage into an incident; alert quality.")  # fmt: skip
    m = sp.add_subparsers(dest="alerts_command", metavar="ACTION", required=True)

    def act(name: str, help_: str):
        return with_json(m.add_parser(name, help=help_, description=help_))

    r = act("list", "list alerts, newest first")
    r.add_argument("--state", choices=["firing", "resolved", "all"], default="firing")
    r.add_argument("--limit", type=int, default=200)
    r = act("show", "one alert: labels, annotations, history")
    r.add_argument("alert", help="its id or fingerprint (a unique start is enough)")
    r = act("ack", "acknowledge a firing alert")
    r.add_argument("alert")
    r = act("silence", "mute an alert here and silence it in Alertmanager (sent once through the outbox)")
    r.add_argument("alert")
    r.add_argument("--for", dest="duration", default="2h", help="how long, e.g. 30m, 2h (default 2h)")
    r.add_argument("-m", "--comment", default="", help="why")
    act("poll", "read every configured Alertmanager's alerts now")
    r = act("groups", "correlated groups of firing alerts, with their likely origin")
    r.add_argument("--window", default="10m", help="how close in time alerts must be to group (default 10m)")
    act("quality", "rules missing required labels, fire counts, noise rate, detection gaps, uncovered services")
    r = act("triage", "walk a decision tree for a group (by number from `alerts groups`) and act on it")
    r.add_argument("group", type=int)
    r.add_argument("--tree", default="incident")
    r.add_argument("--answer", action="append", type=int, default=[], help="answer number, in order (repeat)")
    r.add_argument("--title", help="the incident's title when the walk ends in an incident")
    r.add_argument("--severity", help="instead of the severity the tree proposes")
    r.add_argument("--bridge", action="store_true", help="open the bridge even when the level does not demand it")
    r = act("receive", "run the webhook receiver in the foreground (Ctrl-C stops it)")
    r.add_argument("--host", default="127.0.0.1", help="bind address (default loopback only)")
    r.add_argument("--port", type=int, default=9199)
    r = act("receiver-secret", "store the receiver's shared secret or bearer token in the keyring (read from stdin)")
    r.add_argument("name", choices=["shared_secret", "bearer_token"])
    r = act("bridge", "set the bridge: a standing room's URL template")
    r.add_argument("--template", required=True, help="e.g. https://meet.example.com/ir-{key} (key, number, slug, severity)")
    r.add_argument("--dial-in", default="")


def alert_line(a) -> str:
    flag = " [fired during maintenance]" if a.during_maintenance else ""
    return (f"{a.id[:8]}  {local_time(a.starts_at)}  {a.severity:<8} {a.status_text:<12} "
            f"{a.service or '-':<14} {a.rule}: {a.summary}{flag}")  # fmt: skip


def group_line(n: int, g) -> str:
    return (f"{n:>2}. {g.headline()}  first {local_time(g.first_at)}; layers {', '.join(g.layers) or '-'}; "
            f"likely origin {g.origin or '-'} ({g.origin_reason})" + (f"; {g.critical} critical" if g.critical else ""))  # fmt: skip


def run_alerts(cli: Cli) -> int:
    a, svc = cli.a, cli.s.alerts
    action = a.alerts_command
    if action == "list":
        rows = svc.list(state=None if a.state == "all" else a.state, limit=a.limit)
        cli.out(rows, "\n".join(alert_line(r) for r in rows) or f"No {'' if a.state == 'all' else a.state + ' '}alerts.")
        return 0
    if action == "show":
        alert = svc.get(a.alert)
        history = svc.history(alert.id)
        if cli.a.json:
            cli.out({"alert": alert, "history": history}, "")
            return 0
        print(alert_line(alert))
        print(f"  fingerprint {alert.fingerprint}; source {alert.source}; team {alert.team or '-'}; "
              f"environment {alert.environment or '-'}; layer {alert.layer or '-'}; fired {alert.fire_count}x")
        if alert.problems:
            print(f"  metadata problems: {'; '.join(alert.problems)}")
        if alert.runbook_url:
            print(f"  runbook: {alert.runbook_url}")
        for name, value in sorted(alert.labels.items()):
            print(f"  label {name}={value}")
        for name, value in sorted(alert.annotations.items()):
            print(f"  annotation {name}: {value}")
        for e in history:
            print(f"  {local_time(e.at)}  {e.event}  {e.detail}")
        return 0
    if action == "ack":
        alert = svc.ack(a.alert, author=cli.author)
        cli.out(alert, f"Acknowledged: {alert_line(alert)}")
        return 0
    if action == "silence":
        until = cli.s.now() + parse_duration(a.duration)
        alert = svc.silence(a.alert, until, author=cli.author, comment=a.comment)
        cli.out(alert, f"Silenced until {local_time(until)} (queued for Alertmanager): {alert_line(alert)}")
        return 0
    if action == "poll":
        report = poll_alertmanagers(cli.s)
        if not report.sources and not report.problems:
            raise ValidationError("No Alertmanager is set up: `sitrep backend set alertmanager --url ... --enable`.")
        cli.out(report, f"Read {report.alerts} alert(s) from {report.sources} Alertmanager(s): {report.new} new, "
                        f"{report.resolved} resolved." + "".join(f"\n  {p}" for p in report.problems))  # fmt: skip
        return 1 if report.problems else 0
    if action == "groups":
        groups = svc.groups(window=parse_duration(a.window))
        cli.out(groups, "\n".join(group_line(n, g) for n, g in enumerate(groups, 1)) or "No firing alerts to group.")
        return 0
    if action == "quality":
        return _quality(cli)
    if action == "triage":
        return _triage(cli)
    if action == "receive":
        return _receive(cli)
    if action == "receiver-secret":
        value = sys.stdin.readline().strip()
        if not value:
            raise ValidationError("Nothing was read from stdin; pipe the secret in.")
        cli.s.sync.secrets.set(SECRET_BACKEND, a.name, value)
        print(f"Stored the receiver's {a.name.replace('_', ' ')} in the keyring.")
        return 0
    if action == "bridge":
        save_bridge_template(cli.paths.config, a.template, a.dial_in)
        print(f"Bridge set: {a.template}")
        return 0
    raise ValidationError(f"Unknown alerts action '{action}'.")


def _quality(cli: Cli) -> int:
    q = cli.s.alerts.quality()
    if cli.a.json:
        cli.out(q, "")
        return 0
    print("Rules (fire count, incidents / noise / tickets from triage, false-positive rate):")
    for r in q.rules:
        rate = "-" if r.false_positive_rate is None else f"{r.false_positive_rate:.0%}"
        missing = f"  MISSING: {'; '.join(r.missing)}" if r.missing else ""
        print(f"  {r.rule} ({r.source}): fired {r.fired}, {r.incidents}/{r.noise}/{r.tickets}, FP {rate}{missing}")
    print("Detection gaps (incidents found by people, not alerts):")
    for service, by_people, total in q.detection_gaps or [("-", 0, 0)]:
        print(f"  {service}: {by_people} of {total}")
    print(f"Critical services with no alert rule seen: {', '.join(q.uncovered) or 'none'}")
    return 0


def _triage(cli: Cli) -> int:
    a = cli.a
    groups = cli.s.alerts.groups()
    if not 1 <= a.group <= len(groups):
        raise NotFound(f"No group {a.group}; `sitrep alerts groups` lists {len(groups)}.")
    group = groups[a.group - 1]
    load = cli.s.triage.trees()
    tree = load.trees.get(a.tree)
    if tree is None:
        raise NotFound(f"No triage tree '{a.tree}'." + "".join(f" {p}" for p in load.problems))
    walk = Walk.start(tree)
    for number in a.answer:
        try:
            walk.answer(number - 1)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
    if not walk.done:
        node = walk.node
        options = "; ".join(f"{i}. {x.label}" for i, x in enumerate(node.answers, 1))
        print(f"{node.id}: {node.ask}\n  {options}\nAdd --answer N and run again.")
        return 2
    if walk.outcome.verdict != "incident":
        cli.s.triage.record_outcome(group, walk, author=cli.author)
        print(f"Recorded: {walk.outcome.end}")
        return 0
    title = a.title or f"{group.origin or group.services[0] if group.services else 'Alerts'}: {group.rules[0]}"
    declared = cli.s.triage.declare_group(group, walk, title=title, author=cli.author, severity=a.severity,
                                          open_bridge=True if a.bridge else None)  # fmt: skip
    inc = declared.incident
    print(f"Declared {inc.key} at {inc.severity}: {inc.title} ({group.size} alerts linked)")
    if declared.bridge:
        print(f"  bridge open: {declared.bridge.url}")
    elif declared.bridge_problem:
        print(f"  bridge not opened: {declared.bridge_problem}")
    if declared.watched:
        print(f"  watching: {', '.join(declared.watched)}")
    return 0


def _receive(cli: Cli) -> int:
    receiver = AlertReceiver(cli.s.alerts.ingest, cli.s.sync.secrets, cli.s.now, config_dir=cli.paths.config,
                             parsers=webhook_parsers(cli.s.sync.available),
                             host=cli.a.host, port=cli.a.port).start()  # fmt: skip
    print(f"Receiving alerts at {receiver.url}/alertmanager and {receiver.url}/hooks/<name>; Ctrl-C stops.")
    for problem in receiver.problems:
        print(f"  {problem}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    receiver.stop()
    return 0
