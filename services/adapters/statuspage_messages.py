"""The status page as a comms channel: a released message becomes a public incident (its name, the
update's text and the status it moves to). Kept apart from the Statuspage adapter's sync half so each
file reads on its own; StatuspageAdapter declares it."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from services.adapters.channel import (
    ChannelField,
    CommsChannel,
    LoggedMessage,
    MessageText,
    PreviewPart,
    Problem,
)

STATUSES = ("investigating", "identified", "monitoring", "resolved")
# Statuspage's limits: an incident name holds 255 characters, an update's body 25,000.
NAME_MAX = 255
BODY_MAX = 25_000
# A new draft's status page status, from the incident's status.
STATUS_FOR_INCIDENT = {
    "declared": "investigating", "investigating": "investigating", "identified": "identified",
    "mitigated": "monitoring", "resolved": "resolved", "closed": "resolved",
}  # fmt: skip


class StatuspageMessages(CommsChannel):
    channel_label = "Status page"
    channel_rank = 30
    channel_fields = (
        ChannelField("statuspage_status", "Status page status (investigating, identified, monitoring, resolved)",
                     choices=STATUSES),
    )  # fmt: skip

    @classmethod
    def render_message(cls, text: MessageText) -> dict[str, Any]:
        status = text.status or text.values.get("statuspage_status") or ""
        return {"name": text.title or text.subject, "body": text.body, "status": status.strip().lower()}

    @classmethod
    def message_problems(cls, rendering: dict[str, Any], recipients: Mapping[str, Any]) -> list[Problem]:
        ch, r = cls.name, rendering
        problems: list[Problem] = []
        if r["status"] not in STATUSES:
            problems.append(Problem(ch, "statuspage_status", f"The status page status must be one of "
                                    f"{', '.join(STATUSES)} (got '{r['status'] or 'nothing'}')."))  # fmt: skip
        if not r["name"].strip():
            problems.append(Problem(ch, "subject", "The status page incident needs a name."))
        elif len(r["name"]) > NAME_MAX:
            problems.append(Problem(ch, "subject", f"A status page incident name holds {NAME_MAX} characters; "
                                    f"this one has {len(r['name'])}."))  # fmt: skip
        if not r["body"].strip():
            problems.append(Problem(ch, "body", "The status page update has no text."))
        elif len(r["body"]) > BODY_MAX:
            problems.append(Problem(ch, "body", f"A status page update holds {BODY_MAX:,} characters; this one "
                                    f"has {len(r['body']):,}."))  # fmt: skip
        return problems

    @classmethod
    def subject_of(cls, rendering: dict[str, Any]) -> str:
        return rendering.get("name") or ""

    @classmethod
    def entry_payload(cls, rendering: dict[str, Any], recipients: Mapping[str, Any], ref: str) -> dict[str, Any]:
        return {"name": rendering["name"], "body": rendering["body"], "status": rendering["status"]}

    @classmethod
    def logged(cls, rendering: dict[str, Any], recipients: Mapping[str, Any]) -> LoggedMessage:
        r = rendering
        return LoggedMessage(r["name"], f"[{r['status']}] {r['name']}\n\n{r['body']}", ["public status page"])

    @classmethod
    def prefill(cls, incident_status: str) -> dict[str, str]:
        return {"statuspage_status": STATUS_FOR_INCIDENT.get(incident_status, "investigating")}

    @classmethod
    def preview(cls, rendering: dict[str, Any]) -> list[PreviewPart]:
        r = rendering
        html = (f"<h3>{escape(r['name'])}</h3><p><b>{escape(r['status'].capitalize() or '(no status)')}</b> — "
                + escape(r["body"]).replace("\n", "<br>") + "</p>")  # fmt: skip
        return [PreviewPart("Status page", html=html)]
