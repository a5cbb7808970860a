"""`sitrep sync ...`, `sitrep backend ...` and `sitrep oncall`: the sync queue, backend settings and who is on
call, headless."""

from __future__ import annotations

import getpass
import sys
from typing import Any

from app.cli_context import Cli, command, with_json
from app.cli_output import emit_json
from services.errors import NotFound, ValidationError
from services.sync.oncall import on_call_inputs
from services.sync.outcome import sync_outcome
from services.sync.posting import link_related, post_to_backends


def add_sync_commands(sub) -> None:
    sp = command(
        sub, "sync", "send what the backends are owed (PagerDuty, Jira, Statuspage) and pull their news"
    )
    sp.add_argument(
        "--status", action="store_true", help="show each backend's queue and health; send nothing"
    )
    sp.add_argument(
        "--pull", action="store_true", help="also bring changes made in the backends onto the timeline"
    )
    sp.add_argument("--wait", type=float, default=30.0, metavar="S",
                    help="longest back-off to wait out before leaving the rest for later (default 30 s)")  # fmt: skip
    ssub = sp.add_subparsers(dest="sync_command", metavar="ACTION")
    r = with_json(ssub.add_parser("list", help="list queued items (newest first)"))
    r.add_argument(
        "--state", action="append", choices=["pending", "in_flight", "sent", "failed", "cancelled"]
    )
    r.add_argument("--backend")
    r.add_argument("--limit", type=int, default=50)
    r = with_json(ssub.add_parser("show", help="one item in full"))
    r.add_argument("id", type=int)
    r = with_json(ssub.add_parser("retry", help="send a failed or waiting item again, now"))
    r.add_argument("id", type=int)
    r = with_json(ssub.add_parser("cancel", help="drop an item that is no longer owed"))
    r.add_argument("id", type=int)
    r = with_json(ssub.add_parser("post", help="log an update and send it to the named backends"))
    r.add_argument("incident")
    r.add_argument("text")
    r.add_argument("--to", required=True, help="comma-separated backends, e.g. statuspage,pagerduty")
    r.add_argument("--quiet", action="store_true", help="do not notify status-page subscribers")
    r = with_json(
        ssub.add_parser("link", help="link a related issue (e.g. a Jira key) to the incident's ticket")
    )
    r.add_argument("incident")
    r.add_argument("ref", help="the related item, e.g. OPS-123")
    r.add_argument("--backend", default="jira", help="which backend holds it (default: jira)")
    r.add_argument("--why", help="a few words on how it is related")
    r = with_json(ssub.add_parser("links", help="an incident's counterparts in the backends"))
    r.add_argument("incident")

    sp = command(
        sub,
        "backend",
        "configure the sync backends (settings in the config folder, credentials in the keyring)",
        json=False,
    )
    bsub = sp.add_subparsers(dest="backend_command", metavar="ACTION", required=True)
    with_json(bsub.add_parser("list", help="the backends there are and whether they are set up"))
    r = with_json(bsub.add_parser("show", help="one backend's settings and which credentials are stored"))
    r.add_argument("name")
    r = with_json(bsub.add_parser("set", help="change settings; store a credential from standard input"))
    r.add_argument("name")
    r.add_argument("--url", help="the backend's API URL")
    en = r.add_mutually_exclusive_group()
    en.add_argument("--enable", dest="enabled", action="store_const", const=True)
    en.add_argument("--disable", dest="enabled", action="store_const", const=False)
    r.add_argument("--set", dest="assignments", action="append", default=[], metavar="KEY=VALUE",
                   help="a setting (repeatable); lists as a,b or JSON, maps as k=v,k=v or JSON")  # fmt: skip
    r.add_argument("--unset", action="append", default=[], metavar="KEY")
    r.add_argument("--secret", help="which credential --token-from-stdin stores (default: the first one)")
    r.add_argument("--token-from-stdin", action="store_true",
                   help="read the credential from standard input and store it in the OS keyring")  # fmt: skip
    r = with_json(bsub.add_parser("forget", help="remove a stored credential from the keyring"))
    r.add_argument("name")
    r.add_argument("--secret", required=True)
    r = with_json(bsub.add_parser("test", help="check the settings and credentials with one request"))
    r.add_argument("name")
    r = with_json(bsub.add_parser("components", help="the status page's components (to map services to)"))
    r.add_argument("name", nargs="?", help="the backend (default: the one installed that lists components)")
    r = with_json(bsub.add_parser("keyring", help="which keyring is in use and whether Sitrep can use it"))

    sp = command(sub, "oncall", "who is on call in PagerDuty now, matched to the responder directory")
    sp.add_argument("--incident", help="also read the on-call of this incident's mapped services, and say "
                    "who already holds a role in it")  # fmt: skip
    sp.add_argument("--add", action="append", default=[], metavar="EMAIL",
                    help="add this on-call person to the responder directory (repeatable)")  # fmt: skip
    sp.add_argument("--add-missing", action="store_true",
                    help="add every on-call person who is not in the directory yet")  # fmt: skip
    sp.add_argument("--handle", help="the handle for the one person --add adds (default: from the e-mail)")


def _when(value) -> str:
    return value.astimezone().strftime("%Y-%m-%d %H:%M:%S") if value else "-"


def run_sync(cli: Cli) -> int:
    return {"sync": _sync, "backend": _backend, "oncall": _oncall}[cli.a.command](cli)


def _sync(cli: Cli) -> int:
    a, sync = cli.a, cli.s.sync
    action = getattr(a, "sync_command", None)
    if a.status and action is None:
        return _sync_status(cli)
    if action == "list":
        rows = sync.items(states=a.state, backend=a.backend, limit=a.limit)
        cli.out(rows, "\n".join(_item_line(i) for i in rows) or "The sync queue is empty.")
        return 0
    if action == "show":
        item = sync.queue.get(a.id)
        lines = [_item_line(item), f"  attempts {item.attempts}; last try {_when(item.last_attempt_at)}; "
                 f"next {_when(item.next_attempt_at)}; remote {item.remote_ref or '-'}"]  # fmt: skip
        if item.last_error:
            lines.append(f"  {item.last_error}")
        cli.out(item, "\n".join(lines))
        return 0
    if action == "retry":
        item = sync.retry(a.id)
        cli.out(item, f"#{item.id} will be sent at the next `sitrep sync`.")
        return 0
    if action == "cancel":
        item = sync.cancel(a.id)
        cli.out(item, f"#{item.id} cancelled; it will not be sent.")
        return 0
    if action == "post":
        targets = [t.strip() for t in a.to.split(",") if t.strip()]
        entry = post_to_backends(cli.s, a.incident, a.text, targets, author=cli.author, notify=not a.quiet)
        key = cli.s.incidents.get(entry.incident_id).key
        cli.out(entry, f"{key} #{entry.seq} queued for {', '.join(targets)}; `sitrep sync` sends it.")
        return 0
    if action == "link":
        entry = link_related(cli.s, a.incident, a.backend, a.ref, author=cli.author, why=a.why)
        key = cli.s.incidents.get(entry.incident_id).key
        cli.out(entry, f"{key} #{entry.seq}: {entry.body} `sitrep sync` sends the link.")
        return 0
    if action == "links":
        inc = cli.s.incidents.get(a.incident)
        links = sync.links(inc.id)
        text = "\n".join(
            f"{lk.backend:<11} {lk.remote_id:<14} {lk.remote_state or '-':<14} {lk.url or ''}" for lk in links
        )
        cli.out(links, text or f"{inc.key} has no counterpart in any backend yet.")
        return 0
    return _sync_drain(cli)


def _sync_status(cli: Cli) -> int:
    st = cli.s.sync.status()
    if cli.a.json:
        emit_json({"headline": st.headline(), "online": st.online, "pending": st.pending, "failed": st.failed,
                   "problem": st.problem, "backends": st.lanes})  # fmt: skip
        return 0
    print(st.headline())
    for lane in st.lanes:
        state = "enabled" if lane.enabled else "disabled"
        print(f"  {lane.label:<11} {state:<8} pending {lane.pending + lane.in_flight:<4} failed {lane.failed:<4} "
              f"sent {lane.sent:<5} breaker {lane.breaker}")  # fmt: skip
        if lane.last_error and not lane.online:
            print(f"      last error: {lane.last_error}")
    if st.problem:
        print(f"  {st.problem}")
    return 0


def _sync_drain(cli: Cli) -> int:
    sync = cli.s.sync
    if sync.settings.problem:
        raise ValidationError(sync.settings.problem)
    if not any(b.enabled for b in sync.backends()):
        raise ValidationError("No sync backend is enabled. `sitrep backend list` shows them; "
                              "`sitrep backend set NAME --enable ...` sets one up.")  # fmt: skip
    total = max(sync.status().pending, 1)
    done = {"n": 0}
    tty = sys.stderr.isatty()

    def progress(event) -> None:
        if event.kind in ("sent", "failed"):
            done["n"] += 1
        if event.kind in ("sent", "failed", "retry", "paused", "breaker_open"):
            width = 30
            filled = min(width, int(width * done["n"] / total))
            bar = "#" * filled + "-" * (width - filled)
            what = f"{event.backend or ''} #{event.item_id}: {event.kind}" if event.item_id else event.kind
            line = f"[{bar}] {done['n']}/{total} {what}"
            if event.kind != "sent" and event.message:
                line += f" - {event.message}"
            print(
                ("\r\033[K" if tty else "") + line[:200],
                end="" if tty else "\n",
                file=sys.stderr,
                flush=True,
            )

    unsubscribe = sync.subscribe(progress)
    try:
        report = sync.drain_once(pull=cli.a.pull, max_wait_s=cli.a.wait)
    finally:
        unsubscribe()
        if tty:
            print(file=sys.stderr)
    summary = f"Sent {report.sent}, failed {report.failed}, still pending {report.left_pending}"
    if cli.a.pull:
        summary += f", pulled {report.pulled}"
    for note in report.notes:
        summary += f"\n  {note}"
    outcome = sync_outcome(sync)
    cli.out(report, summary)
    for line in outcome.stuck:
        print(f"sitrep: sync: stuck: {line}", file=sys.stderr)
    return outcome.code


def _backend(cli: Cli) -> int:
    a, sync = cli.a, cli.s.sync
    bc = a.backend_command
    if bc == "list":
        rows = sync.backends()
        lines = [f"{b.name:<11} {'enabled' if b.enabled else 'disabled':<9} "
                 f"{'ready' if not b.missing else 'needs: ' + ' '.join(b.missing)}" for b in rows]  # fmt: skip
        lines += [f"(could not load) {p}" for p in sync.discovered.problems]
        cli.out(
            [{"name": b.name, "enabled": b.enabled, "missing": b.missing} for b in rows], "\n".join(lines)
        )
        return 0
    if bc == "keyring":
        st = sync.secrets.status()
        cli.out(st, f"{st.label} ({st.backend}): " + ("usable" if st.usable else f"not usable: {st.reason}"))
        return 0
    if bc == "components":
        rows = sync.components(a.name)
        cli.out(
            rows,
            "\n".join(f"{c['id']:<16} {c['status']:<22} {c['name']}" for c in rows) or "No components.",
        )
        return 0
    cls = sync.adapter_class(a.name)
    if bc == "show":
        values = sync.settings.backend(a.name)
        stored = sync.secret_presence(a.name)
        lines = [f"{cls.label} ({a.name})"]
        for f in cls.all_fields():
            shown = values.get(f.key, f.default)
            mark = "" if f.key in values else "  (default)"
            lines.append(f"  {f.key:<22} {shown!r}{mark}")
        for s in cls.secrets:
            have = {True: "stored in the keyring", False: "not stored", None: "keyring unavailable"}[
                stored[s.name]
            ]
            lines.append(f"  {s.name:<22} {have}")
        cli.out({"settings": values, "credentials": stored}, "\n".join(lines))
        return 0
    if bc == "set":
        changes: dict[str, Any] = {}
        if a.url:
            changes["url"] = a.url
        if a.enabled is not None:
            changes["enabled"] = a.enabled
        for assignment in a.assignments:
            key, sep, value = assignment.partition("=")
            if not sep:
                raise ValidationError(f"--set takes KEY=VALUE, not '{assignment}'.")
            changes[key.strip()] = value
        if a.token_from_stdin:
            secret_name = a.secret or cls.secrets[0].name
            if sys.stdin.isatty():
                value = getpass.getpass(f"{cls.label} {secret_name.replace('_', ' ')}: ")
            else:
                value = sys.stdin.readline().strip()
            if not value:
                raise ValidationError("Nothing was read from standard input; no credential was stored.")
            sync.set_secret(a.name, secret_name, value)
            print(
                f"Stored the {cls.label} {secret_name.replace('_', ' ')} in the OS keyring.",
                file=sys.stderr,
            )
        elif a.secret:
            raise ValidationError(
                "--secret names which credential --token-from-stdin stores; add --token-from-stdin."
            )
        after = sync.settings.backend(a.name)
        if changes or a.unset:
            after = sync.configure(a.name, changes, unset=tuple(a.unset))
        ready = sync.readiness(a.name)
        text = f"{cls.label} settings saved."
        if ready.state == "incomplete":
            text += " Not ready yet: " + ready.detail
        cli.out(after, text)
        return 0
    if bc == "forget":
        gone = sync.delete_secret(a.name, a.secret)
        cli.out({"removed": gone}, "Removed." if gone else "There was no such credential.")
        return 0
    if bc == "test":
        message = sync.test_connection(a.name)
        cli.out({"ok": True, "message": message}, message)
        return 0
    return 2


def _oncall(cli: Cli) -> int:
    a = cli.a
    if a.handle and (len(a.add) != 1 or a.add_missing):
        raise ValidationError("--handle names the one person --add adds; give exactly one --add with it.")
    report = cli.s.sync.on_call_suggestions(**on_call_inputs(cli.s, a.incident))
    if report.from_cache:
        print(f"sitrep: {report.problem} Showing the last known on-call, as of {_when(report.as_of)}.",
              file=sys.stderr)  # fmt: skip
    elif report.problem:
        print(f"sitrep: part of the on-call could not be read: {report.problem}", file=sys.stderr)
    added = _add_on_call(cli, report, a.add, a.add_missing, a.handle) if (a.add or a.add_missing) else []
    if a.json:
        emit_json({"as_of": report.as_of, "from_cache": report.from_cache, "problem": report.problem,
                   "scopes": report.scopes, "suggestions": report.suggestions, "added": added})  # fmt: skip
        return 0
    if a.add or a.add_missing:
        lines = [f"Added {p.name} (@{p.handle}) to the responder directory." for p in added]
        print("\n".join(lines) or "Everyone on call is already in the responder directory.")
        return 0
    print(f"On call in PagerDuty, as of {_when(report.as_of)}: {report.scope_text() or '-'}")
    if not report.suggestions:
        print("  Nobody is on call for these escalation policies.")
    for sug in report.suggestions:
        if sug.until is None:
            until = "no end"
        else:
            until = "until " + _when(sug.until) + (" (passed)" if sug.until <= cli.s.now() else "")
        if sug.person is None:
            who = "not in the directory"
        else:
            who = f"@{sug.person.handle}" + (f", holds {', '.join(sug.holds)}" if sug.holds else "")
        where = f" [for {', '.join(sug.for_services)}]" if sug.for_services else ""
        print(f"  {sug.level_text:<3} {sug.name:<24} {sug.schedule_text:<26} {until:<25}  {who}{where}")
        if sug.also:
            print(f"      also {'; '.join(sug.also)}")
    missing = [sug for sug in report.suggestions if sug.new_responder is not None and sug.email]
    if missing:
        print("Not in the directory yet? `sitrep oncall --add EMAIL` adds one "
              f"(e.g. --add {missing[0].email}), `--add-missing` adds them all.")  # fmt: skip
    return 0


def _add_on_call(cli: Cli, report, emails: list[str], everyone: bool, handle: str | None) -> list:
    wanted = []
    by_email = {(sug.email or "").lower(): sug for sug in report.suggestions if sug.email}
    for email in emails:
        sug = by_email.get(email.strip().lower())
        if sug is None:
            raise NotFound(
                f"Nobody with the e-mail {email} is on call in PagerDuty (as of {_when(report.as_of)})."
            )
        if sug.person is not None:
            raise ValidationError(f"{sug.name} is already in the directory as @{sug.person.handle}.")
        wanted.append(sug)
    if everyone:
        wanted += [sug for sug in report.suggestions if sug.new_responder is not None and sug not in wanted]
    added = []
    for sug in wanted:
        new = sug.new_responder
        added.append(cli.s.people.add(new.name, handle or new.handle, email=new.email, timezone=new.timezone))
    return added


def _item_line(i) -> str:
    what = i.incident_key or "-"
    flag = " (may have been delivered)" if i.uncertain and i.state != "sent" else ""
    return f"#{i.id:<5} {i.backend:<11} {i.state:<10} {what:<9} {i.op}{flag}" + (
        f"  [{i.last_error[:80]}]" if i.last_error and i.state != "sent" else ""
    )
