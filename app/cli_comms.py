"""`sitrep comms ...`: draft messages from templates, approve and send them, the stakeholder registry,
contacts made outside Sitrep and the regulatory clocks, headless."""

from __future__ import annotations

import sys
from pathlib import Path

from app.cli_context import Cli
from app.cli_output import emit_json, local_time, plain
from app.terminal import exact_stdout
from services.adapters.discovery import discover_adapters
from services.comms.by_hand import HOW as BY_HAND_HOW
from services.comms.views import ContactInput
from services.errors import ValidationError


def _recipient_arguments(parser, channels) -> None:
    """Each installed channel's recipient fields as options (e.g. --to, --cc, --slack-channel)."""
    for cls in channels.values():
        for f in cls.recipient_fields:
            parser.add_argument(f.flag, dest=f"recipient_{f.key}", action="append" if f.addresses else "store",
                                help=f.help or f.label)  # fmt: skip


def _field_pairs(pairs: list[str] | None) -> dict[str, str]:
    out = {}
    for pair in pairs or []:
        name, sep, value = pair.partition("=")
        if not sep or not name.strip():
            raise ValidationError(f"--field takes NAME=VALUE (got '{pair}').", field="field")
        out[name.strip()] = value.replace("\\n", "\n")
    return out


def add_comms_commands(sub) -> None:
    sp = sub.add_parser("comms", help="communications: draft from templates, approve, send, and the stakeholder log",
                        description="Draft messages from templates, get them approved, send them through the "
                        "outbox, and keep the stakeholder log.")  # fmt: skip
    c = sp.add_subparsers(dest="comms_command", metavar="ACTION", required=True)

    def act(name: str, help_: str):
        r = c.add_parser(name, help=help_, description=help_)
        r.add_argument("--json", action="store_true", help="print JSON for scripts")
        return r

    act("templates", "the message templates there are (and any that failed to load)")
    r = act("draft", "draft a message for an incident from a template")
    r.add_argument("incident")
    r.add_argument("template")
    r.add_argument("--audience", help="who it is for (default: the template's)")
    channels = discover_adapters().channels()
    r.add_argument("--channel", action="append",
                   help=f"{', '.join(channels)} (repeat; default: the template's)")  # fmt: skip
    r.add_argument(
        "--field", action="append", metavar="NAME=VALUE", help="set a field (repeat; \\n for a new line)"
    )
    _recipient_arguments(r, channels)
    r.add_argument("--tz", help="time zone the times are written in (default: the audience's)")
    r = act("edit", "change a draft (an approved message needs approval again)")
    r.add_argument("message", help="INC-0042/3: the incident and the message number")
    r.add_argument("--field", action="append", metavar="NAME=VALUE")
    r.add_argument("--channel", action="append")
    _recipient_arguments(r, channels)
    r.add_argument("--tz")
    r = act("show", "a message: its state, approval, each channel's rendering and delivery")
    r.add_argument("message")
    r = act("list", "an incident's messages")
    r.add_argument("incident")
    r = act("submit", "ask for approval")
    r.add_argument("message")
    r = act("approve", "approve a message (the incident commander or a configured approver)")
    r.add_argument("message")
    r = act("reject", "return a message to its drafter with a comment")
    r.add_argument("message")
    r.add_argument("--comment", required=True)
    r = act("send", "release a message to its channels (queued while a channel is offline)")
    r.add_argument("message")
    r.add_argument(
        "--wait", action="store_true", help="deliver now and report each channel (blocks on the network)"
    )
    r = act("sent-by-hand", "record that a message went out another way (a call, a vendor's console): "
            "same approval rules, nothing queued")
    r.add_argument("message")
    r.add_argument("--how", required=True, choices=BY_HAND_HOW, help="how it went out")
    r.add_argument("--at", help="when it went out (default: now)")
    r.add_argument("--note", default="", help="who was told, on which call…")
    r = act("log", "the stakeholder log: every message sent and contact made; filter, search, export")
    r.add_argument("incident", nargs="?")
    r.add_argument("--search", help="text in the content, subject, author or approver")
    r.add_argument("--channel")
    r.add_argument("--audience")
    r.add_argument("--kind", choices=["message", "contact"])
    r.add_argument("--since", help="from this time")
    r.add_argument("--until", help="up to this time")
    r.add_argument("--export", choices=["csv", "json", "pdf"], help="write the log for an auditor")
    r.add_argument("-o", "--output", help="file to write (required for pdf; default: standard output)")
    r = act("contact", "record a contact made outside Sitrep (a call, a vendor's e-mail)")
    r.add_argument("incident")
    r.add_argument("text", help="what was said or agreed")
    r.add_argument("--channel", required=True, help="phone, email, meeting, letter, portal, sms, other")
    r.add_argument("--audience", required=True, help="customers, regulators, vendors, executives, ...")
    r.add_argument("--with", dest="recipients", action="append", default=[], help="who (repeat)")
    r.add_argument("--subject", default="")
    r.add_argument("--inbound", action="store_true", help="they contacted us")
    r.add_argument("--at", help="when it happened (default: now)")
    r = act("stakeholders", "the stakeholder registry: list, add or edit people and groups")
    r.add_argument("action", nargs="?", choices=["list", "add", "edit"], default="list")
    r.add_argument("handle", nargs="?")
    r.add_argument("--name")
    r.add_argument(
        "--group", help="executives, legal, compliance, pr, customer_success, regulator, vendor, ..."
    )
    r.add_argument("--kind", choices=["person", "group"])
    r.add_argument("--email")
    r.add_argument("--phone")
    r.add_argument("--slack")
    r.add_argument("--tz")
    r.add_argument("--severity", action="append", help="must hear about this severity (repeat)")
    r.add_argument(
        "--type", dest="incident_type", action="append", help="must hear about this incident type (repeat)"
    )
    r.add_argument("--notes")
    r.add_argument("--inactive", action="store_true")
    r = act("escalate", "apply the incident type's escalation path: groups to bring in, regulatory clocks")
    r.add_argument("incident")
    r.add_argument("--aware-at", help="when the organisation became aware (default: detected or declared)")
    r = act("clocks", "the regulatory clocks on an incident (rules need review by counsel)")
    r.add_argument("incident")
    r = act("clock", "start a waiting regulatory clock, or close one as met or withdrawn")
    r.add_argument("incident")
    r.add_argument("rule", help="e.g. sec_8k_item_1_05")
    r.add_argument("action", choices=["start", "met", "withdrawn"])
    r.add_argument("--at", help="when the trigger happened or the notice was made (default: now)")
    r.add_argument("--note", default="")


def _message_lines(m, deliveries) -> list[str]:
    lines = [f"{m.ref}  {m.state.label}  {m.template_name}  for {m.audience}  via {', '.join(m.channels)}"]
    lines.append(f"  drafted by {m.author} at {local_time(m.created_at)}")
    if m.approver:
        lines.append(f"  approved by {m.approver} at {local_time(m.approved_at)}")
    elif m.needs_approval and m.state.value != "sent":
        lines.append("  needs approval by the incident commander or a configured approver")
    if m.rejection_comment:
        lines.append(f"  rejected by {m.rejected_by}: {m.rejection_comment}")
    if m.sent_at:
        lines.append(f"  sent by {m.sent_by} at {local_time(m.sent_at)}")
    for d in deliveries:
        extra = f" ({d.last_error})" if d.last_error else ""
        lines.append(f"  {d.label:<12} {d.state}{extra}")
    return lines


def run_comms(cli: Cli) -> int:
    a, s = cli.a, cli.s
    cc = a.comms_command
    comms = s.comms
    if cc == "templates":
        rows = list(comms.templates.templates.values())
        problems = [str(p) for p in comms.templates.problems]
        text = "\n".join(f"{t.id:<22} {t.audience:<13} {','.join(t.channels):<24} {t.name}\n"
                         f"{'':<22} needs: {', '.join(t.required) or 'nothing beyond the incident'}"
                         + (f"; also asks for: {', '.join(f.name for f in t.fields if f.name not in t.required)}"
                            if any(f.name not in t.required for f in t.fields) else "")
                         for t in rows)  # fmt: skip
        cli.out({"templates": [{"id": t.id, "name": t.name, "audience": t.audience, "channels": list(t.channels),
                                "required": list(t.required), "origin": t.origin} for t in rows],
                 "problems": problems}, text)  # fmt: skip
        for p in problems:
            print(f"sitrep: template problem: {p}", file=sys.stderr)
        return 0
    if cc in ("draft", "edit"):
        given = {k.removeprefix("recipient_"): v for k, v in vars(a).items() if k.startswith("recipient_")}
        recipients = {k: v or "" for k, v in given.items()} if any(given.values()) else None
        if cc == "draft":
            m = comms.draft(a.incident, a.template, author=cli.author, audience=a.audience, channels=a.channel,
                            fields=_field_pairs(a.field), recipients=recipients, timezone=a.tz)  # fmt: skip
        else:
            m = comms.edit(a.message, author=cli.author, fields=_field_pairs(a.field), channels=a.channel,
                           recipients=recipients, timezone=a.tz)  # fmt: skip
        pv = comms.preview(m.template_id, m.fields, m.channels, m.recipients)
        text = "\n".join(_message_lines(m, []))
        for p in pv.problems:
            text += f"\n  {'!' if p.level == 'error' else '~'} {p.message}"
        cli.out({"message": m, "problems": pv.problems}, text)
        return 0
    if cc == "show":
        m = comms.get(a.message)
        deliveries = comms.deliveries(m.ref)
        if a.json:
            emit_json({"message": m, "deliveries": deliveries})
            return 0
        print("\n".join(_message_lines(m, deliveries)))
        channels = comms.channels()
        for ch, r in m.rendered.items():
            print(f"--- {comms.channel_label(ch)} ---")
            if ch in channels:
                shown = channels[ch].logged(r, m.recipients)
                print(f"Subject: {shown.subject}\nTo: {', '.join(shown.recipients)}\n\n{shown.content}")
        return 0
    if cc == "list":
        rows = comms.messages(a.incident)
        text = "\n".join(
            f"{m.ref:<14} {m.state.label:<17} {m.audience:<12} {m.template_name}: {m.subject}" for m in rows
        )
        cli.out(rows, text or "No messages.")
        return 0
    if cc == "submit":
        m = comms.submit(a.message, author=cli.author)
        cli.out(m, f"{m.ref} waits for approval")
        return 0
    if cc == "approve":
        m = comms.approve(a.message, approver=cli.author)
        cli.out(m, f"{m.ref} approved by {m.approver}")
        return 0
    if cc == "reject":
        m = comms.reject(a.message, by=cli.author, comment=a.comment)
        cli.out(m, f"{m.ref} returned to {m.author}: {m.rejection_comment}")
        return 0
    if cc == "sent-by-hand":
        m = comms.record_sent_by_hand(a.message, author=cli.author, how=a.how, note=a.note,
                                      occurred_at=cli.when(a.at, "at") if a.at else None)  # fmt: skip
        cli.out(m, f"{m.ref} recorded as sent by hand ({a.how}) by {m.sent_by}")
        return 0
    if cc == "send":
        m = comms.send(a.message, author=cli.author)
        if a.wait:
            s.sync.drain_once(max_wait_s=10)
        deliveries = comms.deliveries(m.ref)
        cli.out({"message": m, "deliveries": deliveries}, "\n".join(_message_lines(m, deliveries)))
        failed = [d for d in deliveries if d.state == "failed"]
        return 8 if failed and a.wait else 0
    if cc == "log":
        rows = comms.log(a.incident, text=a.search, channel=a.channel, audience=a.audience, kind=a.kind,
                         since=cli.when(a.since, "since"), until=cli.when(a.until, "until"))  # fmt: skip
        if a.export:
            return _export_log(cli, rows)
        delivery = comms.log_delivery(rows)
        keys = comms.incident_keys(r.incident_id for r in rows)
        lines = []
        for r in rows:
            approved = f" approved by {r.approver}" if r.approver else ""
            lines.append(f"{local_time(r.occurred_at)}  {keys.get(r.incident_id)} #{r.seq}  {r.kind:<7} {r.channel:<10} "
                         f"{r.audience:<11} {', '.join(r.recipients)}  by {r.author}{approved}  {delivery.get(r.id, '')}")  # fmt: skip
            lines.append(
                "    " + (r.subject + ": " if r.subject else "") + r.content.replace("\n", " ")[:160]
            )
        cli.out(rows, "\n".join(lines) or "The stakeholder log is empty.")
        return 0
    if cc == "contact":
        row = comms.record_contact(a.incident, ContactInput(
            a.channel, a.audience, a.text, recipients=a.recipients, direction="inbound" if a.inbound else "outbound",
            subject=a.subject, occurred_at=cli.when(a.at, "at")), author=cli.author)  # fmt: skip
        cli.out(
            row, f"Logged #{row.seq}: {row.channel} contact with {', '.join(row.recipients) or row.audience}"
        )
        return 0
    if cc == "stakeholders":
        return _stakeholders(cli)
    if cc == "escalate":
        clocks = comms.apply_escalation(
            a.incident, author=cli.author, aware_at=cli.when(a.aware_at, "aware_at")
        )
        _print_clocks(cli, clocks)
        return 0
    if cc == "clocks":
        _print_clocks(cli, comms.regulatory_clocks(a.incident))
        return 0
    if cc == "clock":
        at = cli.when(a.at, "at")
        if a.action == "start":
            view = comms.start_clock(a.incident, a.rule, author=cli.author, at=at, note=a.note)
        else:
            view = comms.close_clock(
                a.incident, a.rule, author=cli.author, outcome=a.action, at=at, note=a.note
            )
        _print_clocks(cli, [view])
        return 0
    raise ValidationError(f"Unknown comms action '{cc}'.")


def _print_clocks(cli: Cli, clocks) -> None:
    now = cli.s.now()
    lines = [
        f"{c.label:<40} {('due ' + local_time(c.deadline_at)) if c.deadline_at else '':<32} {c.status_text(now)}"
        for c in clocks
    ]
    if clocks:
        lines.append(f"(Rules: {cli.s.comms.rules.review_status}.)")
    cli.out(
        [{**plain(c), "status": c.status_text(now)} for c in clocks],
        "\n".join(lines) or "No regulatory clocks.",
    )


def _export_log(cli: Cli, rows) -> int:
    fmt, out = cli.a.export, cli.a.output
    if fmt == "pdf":
        if not out:
            raise ValidationError("A PDF needs a file: add -o log.pdf.")
        # Deferred start-up cost: the PDF writer is Qt's, and no other headless command loads Qt.
        from ui.printing import write_pdf

        write_pdf(cli.s.comms.export_log(rows, "html"), Path(out), title="Stakeholder communications log")
        print(f"Wrote {len(rows)} log entries to {out}", file=sys.stderr)
        return 0
    text = cli.s.comms.export_log(rows, fmt)
    if out:
        try:
            Path(out).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise ValidationError(f"Cannot write {out}: {exc.strerror}.") from None
        print(f"Wrote {len(rows)} log entries to {out}", file=sys.stderr)
    else:
        exact_stdout().write(text)
    return 0


def _stakeholders(cli: Cli) -> int:
    a, comms = cli.a, cli.s.comms
    if a.action == "list":
        rows = comms.stakeholders(include_inactive=True)
        text = "\n".join(
            f"@{r.handle:<18} {r.name:<26} {r.group:<16} {r.email or '-':<28} {r.timezone:<18} "
            f"sev: {','.join(r.severities) or '-'}  types: {','.join(r.incident_types) or '-'}{'' if r.active else '  (inactive)'}"
            for r in rows
        )  # fmt: skip
        cli.out(rows, text or "The stakeholder registry is empty.")
        return 0
    if not a.handle:
        raise ValidationError("Name the stakeholder's handle.")
    values = {k: v for k, v in {"name": a.name, "kind": a.kind, "email": a.email, "phone": a.phone, "slack": a.slack,
              "timezone": a.tz, "severities": a.severity, "incident_types": a.incident_type, "notes": a.notes}.items()
              if v is not None}  # fmt: skip
    if a.inactive:
        values["active"] = False
    if a.action == "add":
        if not a.name or not a.group:
            raise ValidationError("A new stakeholder needs --name and --group.")
        values.pop("name")
        sv = comms.add_stakeholder(a.handle, a.name, a.group, **values)
    else:
        if a.group:
            values["group"] = a.group
        sv = comms.update_stakeholder(a.handle, **values)
    cli.out(sv, f"@{sv.handle} {sv.name} ({sv.group})")
    return 0
