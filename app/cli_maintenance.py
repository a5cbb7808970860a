"""`sitrep maintenance ...`: plan and run maintenance windows headless (the console's Maintenance panel
does the same through the same service). Times are read as people type them, looking ahead: "22:00" is
the next 22:00 in your time zone, "+2h" two hours from now; they are printed in your time zone."""

from __future__ import annotations

from datetime import datetime

from app.cli_context import Cli, with_json
from app.cli_output import emit_json, local_time
from models.enums import MaintenanceStatus
from services.detection.muting import matcher_text, parse_matcher_text
from services.errors import ValidationError
from services.text.timeparse import parse_duration, parse_when
from services.text.timetext import utc_text


def add_maintenance_commands(sub) -> None:
    sp = sub.add_parser(
        "maintenance",
        help="plan maintenance windows and keep the status page's scheduled maintenance up to date",
        description="Plan maintenance windows, post their updates and move them through scheduled, in "
        "progress, verifying and completed (or cancel them). Each change is queued for the status page "
        "and sent by `sitrep sync` (or the console) when it answers.",
    )
    m = sp.add_subparsers(dest="maintenance_command", metavar="ACTION", required=True)

    def act(name: str, help_: str):
        return with_json(m.add_parser(name, help=help_, description=help_))

    def times(r, *, required: bool) -> None:
        r.add_argument("--start", required=required, help="when it starts: 22:00 (the next one, your time "
                       "zone), +2h, 'in 3 days' or ISO such as 2026-03-14T22:00Z")  # fmt: skip
        end = r.add_mutually_exclusive_group(required=required)
        end.add_argument("--end", help="when it ends (same forms as --start)")
        end.add_argument("--duration", help="how long it lasts instead of --end, e.g. 90m, 2h, 2h30m")

    def quiet(r) -> None:
        r.add_argument(
            "--quiet", action="store_true", help="do not notify status-page subscribers of this one"
        )

    r = act("plan", "plan a maintenance window")
    r.add_argument("title")
    times(r, required=True)
    r.add_argument("-m", "--description", default="", help="what will happen and what users will notice")
    r.add_argument("--service", action="append", default=[], help="an affected service (repeatable)")
    r.add_argument("--quiet", action="store_true", help="do not notify subscribers about this window")
    r.add_argument("--no-reminder", action="store_true", help="do not remind subscribers before it starts")
    r.add_argument(
        "--manual-start", action="store_true", help="the status page does not start it on time by itself"
    )
    r.add_argument(
        "--manual-complete", action="store_true", help="the status page does not complete it at its end"
    )
    r.add_argument("--match", action="append", default=[], help="mute alerts matching this during the window: "
                   "service=payments, env!=staging, instance=~db-.* (repeatable; all must match)")  # fmt: skip
    r.add_argument("--every", help="repeat it: an RRULE such as FREQ=WEEKLY;BYDAY=SU (needs --tz)")
    r.add_argument("--tz", help="the IANA zone a repeating window keeps its local time in, e.g. Europe/Berlin")
    r.add_argument("--backfill", action="store_true", help="record a window that already began or ended")
    r.add_argument(
        "--status", choices=[s.value for s in MaintenanceStatus], help="with --backfill: its status"
    )

    r = act("list", "list maintenance windows: open ones by start time, then finished ones")
    r.add_argument("--all", action="store_true", help="include completed and cancelled windows")

    r = act("show", "one window: details, where the status page has it, and its history")
    r.add_argument("window", help="MNT-0007, 7 or its id")

    r = act("update", "post an update, move the status, or change the title, description or services")
    r.add_argument("window")
    r.add_argument("-m", "--message", default="", help="the update subscribers read")
    r.add_argument("--status", choices=[s.value for s in MaintenanceStatus])
    r.add_argument("--title")
    r.add_argument("--description")
    r.add_argument("--service", action="append", help="the affected services (repeat; replaces the list)")
    quiet(r)

    r = act("reschedule", "move a window, or extend one that is under way")
    r.add_argument("window")
    times(r, required=False)
    r.add_argument("-m", "--message", default="", help="tell subscribers why")
    quiet(r)

    for name, help_ in (("start", "the work has begun (in progress)"), ("complete", "the work is done"),
                        ("cancel", "it will not happen (the status page shows it completed, saying it was cancelled)")):  # fmt: skip
        r = act(name, help_)
        r.add_argument("window")
        r.add_argument(
            "-m",
            "--message",
            default="",
            help="what subscribers read (default: the status page's standard words)",
        )
        quiet(r)


def _t(value: datetime | None) -> str:
    return local_time(value, seconds=False)


def window_line(w) -> str:
    return f"{w.key}  {w.status.label:<12} {_t(w.scheduled_for)} → {_t(w.scheduled_until)}  {w.title}"


def _ahead(cli: Cli, text: str | None, field: str) -> datetime | None:
    return None if not text else parse_when(text, now=cli.s.now(), field=field, ahead=True)


def _window_times(cli: Cli, start_text, end_text, duration_text, current=None):
    start = _ahead(cli, start_text, "scheduled_for")
    end = _ahead(cli, end_text, "scheduled_until")
    if duration_text:
        base = start or (current.scheduled_for if current is not None else None)
        end = base + parse_duration(duration_text)
    return start, end


def run_maintenance(cli: Cli) -> int:
    a, svc = cli.a, cli.s.maintenance
    action = a.maintenance_command
    notify = False if getattr(a, "quiet", False) else None
    if action == "plan":
        start, end = _window_times(cli, a.start, a.end, a.duration)
        w = svc.plan(
            a.title, start, end, author=cli.author, description=a.description, services=a.service,
            notify_subscribers=not a.quiet, remind_subscribers=not a.no_reminder,
            auto_in_progress=not a.manual_start, auto_complete=not a.manual_complete, backfill=a.backfill,
            status=a.status, matchers=[parse_matcher_text(t) for t in a.match], recurrence=a.every, time_zone=a.tz,
        )  # fmt: skip
        cli.out(w, f"Planned {window_line(w)}{_queued_note(cli, w)}")
        return 0
    if action == "list":
        rows = svc.list(include_finished=a.all)
        cli.out(rows, "\n".join(window_line(w) for w in rows) or "No maintenance windows planned.")
        return 0
    if action == "show":
        return _show_window(cli, a.window)
    if action == "update":
        fields = {"title": a.title, "description": a.description, "services": a.service}
        w = None
        if any(v is not None for v in fields.values()):
            w = svc.edit(
                a.window,
                author=cli.author,
                message="" if a.status else a.message,
                notify=notify,
                **fields,
            )
        if a.status or w is None:
            w = svc.post_update(a.window, a.message, author=cli.author, status=a.status, notify=notify)
        cli.out(w, window_line(w))
        return 0
    if action == "reschedule":
        current = svc.get(a.window)
        start, end = _window_times(cli, a.start, a.end, a.duration, current)
        w = svc.reschedule(a.window, start, end, author=cli.author, message=a.message, notify=notify)
        cli.out(w, f"Rescheduled {window_line(w)}")
        return 0
    if action in ("start", "complete", "cancel"):
        w = getattr(svc, action)(a.window, author=cli.author, message=a.message, notify=notify)
        cli.out(w, window_line(w))
        return 0
    raise ValidationError(f"Unknown maintenance action '{action}'.")


def _queued_note(cli: Cli, w) -> str:
    copies = cli.s.maintenance.remote_copies(w.id)
    if not copies:
        return ""
    names = ", ".join(c.label for c in copies)
    return f"\n  queued for {names}; `sitrep sync` sends it."


def _show_window(cli: Cli, ref: str) -> int:
    svc = cli.s.maintenance
    w = svc.get(ref)
    history = svc.history(w.id)
    copies = svc.remote_copies(w.id)
    if cli.a.json:
        emit_json({"window": w, "history": history, "remote": copies})
        return 0
    now = cli.s.now()
    print(window_line(w))
    print(f"  {w.phase(now)}; {utc_text(w.scheduled_for)} → {utc_text(w.scheduled_until)}")
    if w.description:
        print(f"  {w.description}")
    flags = [
        "notify subscribers" if w.notify_subscribers else "no notifications",
        "reminder beforehand" if w.remind_subscribers else "no reminder",
        "starts by itself" if w.auto_in_progress else "started by hand",
        "completes by itself" if w.auto_complete else "completed by hand",
    ]
    print(f"  services: {', '.join(w.services) or '-'}; {'; '.join(flags)}")
    print(f"  planned by {w.planned_by} at {_t(w.created_at)}")
    if w.matchers:
        print(f"  mutes alerts matching {', '.join(matcher_text(m) for m in w.matchers)} (never critical ones)")
    if w.recurrence:
        print(f"  repeats {w.recurrence} in {w.time_zone}")
    for c in copies:
        print(f"  {c.label}: {c.summary()}" + (f"  {c.url}" if c.url else ""))
    print("History:")
    for h in history:
        source = "" if h.source == "local" else f" (from {h.source})"
        print(f"  #{h.seq:<3} {_t(h.recorded_at)}  {h.author}{source}: {h.describe()}")
    return 0
