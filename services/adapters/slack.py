"""Slack: posts the messages the communications lead releases, through an incoming webhook or
`chat.postMessage` with a bot token. Only comms messages go to Slack; the timeline is not mirrored.

Slack has no idempotency key. A webhook returns nothing to look up, and looking a message up after a
lost answer needs history scopes we do not ask for, so an attempt that may have reached Slack is not
repeated blindly: the item fails and a person decides (retry or cancel).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from models.enums import EntryKind
from services.adapters.channel import (
    CommsChannel,
    LoggedMessage,
    MessageText,
    PreviewPart,
    Problem,
    RecipientField,
    paragraphs,
)
from services.adapters.failures import AuthFailure, NotConfigured, PermanentFailure, TransientFailure
from services.adapters.http import Http
from services.adapters.interface import Adapter, HttpApi, SecretField, SettingField
from services.adapters.values import ChangeToPlan, NewLink, Planned, SendContext, SendResult

_AUTH_ERRORS = frozenset({"not_authed", "invalid_auth", "account_inactive", "token_revoked", "token_expired",
                          "missing_scope", "not_allowed_token_type", "no_permission"})  # fmt: skip
_RATE_ERRORS = frozenset({"ratelimited", "rate_limited"})
_SERVER_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable", "request_timeout"})
_HINTS = {
    "channel_not_found": "check the channel name or id",
    "not_in_channel": "invite the Sitrep app to the channel",
    "is_archived": "the channel is archived",
    "msg_too_long": "the message is too long for Slack",
    "invalid_blocks": "Slack did not accept the message layout",
    "no_text": "the message had no text",
}


# Slack's limits: a message's text is cut at 40,000 characters; a header block holds 150, a section
# 3,000, and a message at most 50 blocks.
TEXT_MAX = 40_000
HEADER_MAX = 150
SECTION_MAX = 3_000
BLOCKS_MAX = 50


def slack_escape(text: str) -> str:
    """Slack treats &, < and > as control characters in mrkdwn; everything else is literal."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_paragraph(p: str) -> str:
    lines = []
    for ln in p.splitlines():
        if ln.lstrip().startswith("- "):
            ln = ln.replace("- ", "• ", 1)
        lines.append(slack_escape(ln))
    return "\n".join(lines)


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def slack_rendering(subject: str, body: str, footer: str = "") -> dict[str, Any]:
    """A Slack message: `text` (mrkdwn, also the notification fallback) and Block Kit `blocks`."""
    paras = [_slack_paragraph(p) for p in paragraphs(body)]
    text = f"*{slack_escape(subject)}*\n" + "\n\n".join(paras)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": subject[:HEADER_MAX], "emoji": True}}
    ]
    chunk = ""
    for p in paras:
        # Sections hold 3,000 characters: paragraphs share a section while they fit.
        while len(p) > SECTION_MAX:
            if chunk:
                blocks.append(_section(chunk))
                chunk = ""
            blocks.append(_section(p[:SECTION_MAX]))
            p = p[SECTION_MAX:]
        candidate = f"{chunk}\n\n{p}" if chunk else p
        if len(candidate) > SECTION_MAX:
            blocks.append(_section(chunk))
            chunk = p
        else:
            chunk = candidate
    if chunk:
        blocks.append(_section(chunk))
    if footer:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": slack_escape(footer)}]})
    return {"text": text, "blocks": blocks, "header": subject}


def mrkdwn_html(text: str) -> str:
    """A close look at how Slack shows mrkdwn: *bold*, bullets and line breaks (the text is already escaped)."""
    html = re.sub(r"(?<![\w*])\*([^*\n]+)\*(?![\w*])", r"<b>\1</b>", text)
    return "<div style='font-family:sans-serif'>" + html.replace("\n", "<br>") + "</div>"


class SlackMessages(CommsChannel):
    """Slack as a comms channel: mrkdwn text and Block Kit blocks, to the chosen or configured channel."""

    channel_label = "Slack"
    channel_rank = 10
    recipient_fields = (
        RecipientField("slack_channel", "Slack channel", cli_flag="--slack-channel",
                       placeholder="#channel (chat.postMessage mode; a webhook posts to its own)",
                       help="the Slack channel (chat.postMessage mode)"),
    )  # fmt: skip

    @classmethod
    def render_message(cls, text: MessageText) -> dict[str, Any]:
        return slack_rendering(text.subject, text.body, text.footer)

    @classmethod
    def message_problems(cls, rendering: dict[str, Any], recipients: Mapping[str, Any]) -> list[Problem]:
        ch, r = cls.name, rendering
        problems: list[Problem] = []
        if len(r["text"]) > TEXT_MAX:
            problems.append(Problem(ch, "body", f"Slack cuts messages at {TEXT_MAX:,} characters; this one has "
                                    f"{len(r['text']):,}."))  # fmt: skip
        if len(r["blocks"]) > BLOCKS_MAX:
            problems.append(Problem(ch, "body", f"Slack takes at most {BLOCKS_MAX} blocks; this message needs "
                                    f"{len(r['blocks'])}."))  # fmt: skip
        if len(r.get("header", "")) > HEADER_MAX:
            problems.append(Problem(ch, "subject", f"The Slack header shows {HEADER_MAX} characters; the subject "
                                    f"has {len(r['header'])} and is cut.", "warning"))  # fmt: skip
        if not r.get("header", "").strip():
            problems.append(Problem(ch, "subject", "The Slack message has no headline."))
        return problems

    @classmethod
    def subject_of(cls, rendering: dict[str, Any]) -> str:
        return rendering.get("header") or ""

    @classmethod
    def entry_payload(cls, rendering: dict[str, Any], recipients: Mapping[str, Any], ref: str) -> dict[str, Any]:
        return {"text": rendering["text"], "blocks": rendering["blocks"],
                "channel": recipients.get("slack_channel") or None}  # fmt: skip

    @classmethod
    def logged(cls, rendering: dict[str, Any], recipients: Mapping[str, Any]) -> LoggedMessage:
        to = recipients.get("slack_channel") or "(the configured Slack channel)"
        return LoggedMessage(rendering.get("header", ""), rendering["text"], [to])

    @classmethod
    def preview(cls, rendering: dict[str, Any]) -> list[PreviewPart]:
        return [PreviewPart("mrkdwn", html=mrkdwn_html(rendering["text"])),
                PreviewPart("Block Kit", text=json.dumps(rendering["blocks"], indent=2, ensure_ascii=False))]  # fmt: skip


class SlackAdapter(SlackMessages, Adapter, HttpApi):
    name = "slack"
    label = "Slack"
    default_max_requests_per_s = 1.0  # published: about one message per second per channel or webhook
    fields = (
        SettingField(
            "mode", "How to post: webhook (incoming webhook) or api (chat.postMessage)", "str", "webhook"
        ),
        SettingField("url", "Web API URL", "url", "https://slack.com/api"),
        SettingField("channel", "Default channel for chat.postMessage (name or id)", "str", None),
    )
    secrets = (
        SecretField("webhook_url", "Incoming webhook URL (it is the credential)", required=False),
        SecretField("bot_token", "Bot token (xoxb-...)", required=False),
    )

    @property
    def mode(self) -> str:
        return str(self.setting("mode") or "webhook").lower()

    def missing(self) -> list[str]:
        out = super().missing()
        if self.mode not in ("webhook", "api"):
            out.append("Slack: 'mode' must be webhook or api.")
        return out

    def base_url(self) -> str:
        return self.setting("url") if self.mode == "api" else ""

    def headers(self) -> dict[str, str]:
        if self.mode == "api":
            return {
                "Authorization": f"Bearer {self.secret('bot_token')}",
                "Content-Type": "application/json; charset=utf-8",
            }
        return {"Content-Type": "application/json"}

    def describe_error(self, status: int, body: Any, text: str) -> str:
        if isinstance(body, dict) and body.get("error"):
            return str(body["error"])
        return text.strip()[:200] or f"HTTP {status}"

    # -- planning ------------------------------------------------------------------------
    def plan(self, change: ChangeToPlan) -> list[Planned]:
        comms = change.data.get("comms")
        if change.entry.kind != EntryKind.COMMS.value or not isinstance(comms, dict):
            return []
        post = (comms.get("channels") or {}).get(self.name)
        if not isinstance(post, dict):
            return []
        payload = {"text": post.get("text", ""), "blocks": post.get("blocks") or [], "channel": post.get("channel"),
                   "message": comms.get("number")}  # fmt: skip
        return [Planned("post_message", payload, f"{self.name}:{change.entry.id}")]

    # -- sending -------------------------------------------------------------------------
    def send(self, ctx: SendContext) -> SendResult:
        if ctx.item.op != "post_message":
            raise PermanentFailure(f"Slack does not know the operation '{ctx.item.op}'.")
        ctx.refuse_blind_resend("Slack message")
        p = ctx.item.payload
        if self.mode == "webhook":
            return self._webhook(ctx.http, p)
        return self._post(ctx, p)

    def _webhook(self, http: Http, p: dict[str, Any]) -> SendResult:
        url = self.secret("webhook_url")
        if not url.startswith(("https://", "http://")):
            raise NotConfigured("The Slack webhook URL in the keyring is not a URL; set it again.")
        body: dict[str, Any] = {"text": p["text"]}
        if p.get("blocks"):
            body["blocks"] = p["blocks"]
        reply = http.request("POST", url, json_body=body, text_answer=True)
        return SendResult(
            note="" if (reply.body or "").strip() == "ok" else f"Slack answered: {str(reply.body)[:100]}"
        )

    def _post(self, ctx: SendContext, p: dict[str, Any]) -> SendResult:
        channel = p.get("channel") or self.setting("channel")
        if not channel:
            raise NotConfigured("No Slack channel: set the backend's 'channel' or choose one on the message.")
        body: dict[str, Any] = {
            "channel": channel,
            "text": p["text"],
            "unfurl_links": False,
            "unfurl_media": False,
        }
        if p.get("blocks"):
            body["blocks"] = p["blocks"]
        reply = ctx.http.request("POST", "/chat.postMessage", json_body=body)
        answer = reply.body if isinstance(reply.body, dict) else {}
        if not answer.get("ok"):
            self._refused(answer.get("error") or "unknown_error")
        where, ts = answer.get("channel") or channel, answer.get("ts")
        ref = f"{where}:{ts}" if ts else None
        links = (
            [NewLink("entry", ctx.item.entry_id, ctx.item.incident_id, "message", ref)]
            if ref and ctx.item.entry_id
            else []
        )
        return SendResult(remote_ref=ref, links=links)

    @staticmethod
    def _refused(error: str) -> None:
        if error in _RATE_ERRORS:
            raise TransientFailure("Slack is rate limiting us; waiting before the next try.", retry_after=1.0,
                                   counts_against_breaker=False)  # fmt: skip
        if error in _AUTH_ERRORS:
            raise AuthFailure(f"Slack refused the bot token ({error}).")
        if error in _SERVER_ERRORS:
            raise TransientFailure(f"Slack had a problem ({error}).", uncertain=True)
        hint = _HINTS.get(error)
        raise PermanentFailure(f"Slack refused the message: {error}" + (f" ({hint})." if hint else "."))

    def test_connection(self, http: Http) -> str:
        if self.mode == "webhook":
            self.secret("webhook_url")
            return "A Slack incoming webhook cannot be checked without posting; the URL is in the keyring."
        reply = http.request("POST", "/auth.test", json_body={})
        answer = reply.body if isinstance(reply.body, dict) else {}
        if not answer.get("ok"):
            self._refused(answer.get("error") or "unknown_error")
        return f"Connected to Slack workspace '{answer.get('team')}' as {answer.get('user')}."
