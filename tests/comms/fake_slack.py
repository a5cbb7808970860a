"""A loopback Slack: incoming webhooks and the Web API methods the console uses, checked as the spec says.

Webhook: POST /services/T…/B…/<secret>, JSON {text, blocks?, attachments?, mrkdwn?}; 200 "ok" as plain
text, or a plain-text error code. Web API: POST /api/<method> with a Bearer token, JSON or form body,
always HTTP 200 with {"ok": ...} (429 with Retry-After when rate limiting).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.contract import RequestInvalid
from tests.fakes.openapi import load_schema
from tests.fakes.server import FakeServer, Reply

TOKEN = "xoxb-test-0000"
WEBHOOK_PATH = "/services/T0001/B0002/hooksecret123"
CHANNELS = {"C0INCIDENT": "incidents", "C0STATUS": "status-updates"}
BLOCK_TYPES = {"header", "section", "context", "divider", "actions", "image", "input", "rich_text", "file"}


# chat.postMessage's arguments, as Slack's method page lists them.
POST_MESSAGE_ARGS = frozenset({
    "token", "channel", "text", "blocks", "attachments", "as_user", "icon_emoji", "icon_url", "link_names",
    "metadata", "mrkdwn", "parse", "reply_broadcast", "thread_ts", "unfurl_links", "unfurl_media", "username",
})  # fmt: skip


@cache
def _post_message_args() -> frozenset[str]:
    """The arguments chat.postMessage takes: the method page's list, narrowed by the published spec's
    when the specs are here."""
    spec = load_schema("slack-web.subset.json")
    if spec is None:
        return POST_MESSAGE_ARGS
    params = spec["paths"]["/chat.postMessage"]["post"]["parameters"]
    return POST_MESSAGE_ARGS & frozenset(p["name"] for p in params if p["in"] == "formData")


def check_blocks(blocks: Any) -> None:
    if not isinstance(blocks, list) or not blocks or len(blocks) > 50:
        raise RequestInvalid("blocks must be a list of 1 to 50 blocks")
    for b in blocks:
        if not isinstance(b, dict) or b.get("type") not in BLOCK_TYPES:
            raise RequestInvalid(f"unknown block {b!r:.80}")
        text = b.get("text")
        if b["type"] == "header" and (
            not isinstance(text, dict)
            or text.get("type") != "plain_text"
            or not 0 < len(text.get("text", "")) <= 150
        ):
            raise RequestInvalid("a header needs plain_text of 1 to 150 characters")
        if b["type"] == "section" and (
            not isinstance(text, dict) or not 0 < len(text.get("text", "")) <= 3000
        ):
            raise RequestInvalid("a section's text holds 1 to 3000 characters")


class FakeSlack(FakeServer):
    label = "Slack"

    def __init__(self) -> None:
        super().__init__()
        self.webhook_posts: list[dict] = []
        self.messages: list[dict] = []

    @property
    def webhook_url(self) -> str:
        return self.url + WEBHOOK_PATH

    def validate(self, method, path, query, headers, body) -> None:
        if method != "POST":
            raise RequestInvalid("Slack takes POST")

    def _send(self, h, rec, reply: Reply) -> None:
        # Webhooks answer plain text; the base class would label it JSON.
        if isinstance(reply.body, str):
            payload = reply.body.encode()
            rec.status = reply.status
            h.send_response(reply.status)
            h.send_header("Content-Type", "text/plain; charset=utf-8")
            for k, v in reply.headers.items():
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(payload)))
            h.end_headers()
            h.wfile.write(payload)
            return
        super()._send(h, rec, reply)

    def error_body(self, status: int, message: str) -> Any:
        return "rollup_error" if status >= 500 else "invalid_payload"

    def invalid_reply(self, message: str) -> Reply:
        return Reply(400, "invalid_payload")

    def handle(self, method, path, query, headers, body) -> Reply:
        if path.startswith("/services/"):
            return self._webhook(path, headers, body)
        if path.startswith("/api/"):
            return self._api(path[len("/api/") :], headers, body)
        return Reply(404, "no_service")

    def _webhook(self, path, headers, body) -> Reply:
        if path != WEBHOOK_PATH:
            return Reply(404, "no_service")
        if not (headers.get("Content-Type") or "").startswith("application/json"):
            raise RequestInvalid("a webhook takes application/json")
        doc = json.loads(body or b"null")
        if not isinstance(doc, dict):
            raise RequestInvalid("the payload must be a JSON object")
        extra = set(doc) - {"text", "blocks", "attachments", "mrkdwn"}
        if extra:
            raise RequestInvalid(
                f"a webhook cannot set {sorted(extra)} (channel, username and icon are fixed)"
            )
        if not doc.get("text") and not doc.get("blocks"):
            return Reply(400, "no_text")
        if "blocks" in doc:
            check_blocks(doc["blocks"])
        with self.lock:
            self.webhook_posts.append(doc)
        return Reply(200, "ok")

    def _api(self, method_name, headers, body) -> Reply:
        auth = headers.get("Authorization") or ""
        ctype = headers.get("Content-Type") or ""
        if ctype.startswith("application/json"):
            if "charset=utf-8" not in ctype.replace(" ", "").lower():
                raise RequestInvalid("JSON bodies must say charset=utf-8")
            args = json.loads(body or b"{}")
        else:
            args = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        token = auth[len("Bearer ") :] if auth.startswith("Bearer ") else args.pop("token", None)
        if not token:
            return Reply(200, {"ok": False, "error": "not_authed"})
        if token != TOKEN:
            return Reply(200, {"ok": False, "error": "invalid_auth"})
        if method_name == "auth.test":
            return Reply(200, {"ok": True, "url": "https://example.slack.com/", "team": "Example", "user": "sitrep",
                               "team_id": "T0001", "user_id": "U0001", "bot_id": "B0001"})  # fmt: skip
        if method_name != "chat.postMessage":
            return Reply(200, {"ok": False, "error": "unknown_method"})
        unknown = set(args) - _post_message_args()
        if unknown:
            return Reply(200, {"ok": False, "error": "invalid_arg_name", "detail": sorted(unknown)})
        channel = args.get("channel")
        if not channel:
            raise RequestInvalid("chat.postMessage needs a channel")
        if not args.get("text") and not args.get("blocks"):
            return Reply(200, {"ok": False, "error": "no_text"})
        if "blocks" in args:
            check_blocks(args["blocks"] if isinstance(args["blocks"], list) else json.loads(args["blocks"]))
        cid = (
            channel
            if channel in CHANNELS
            else next((k for k, v in CHANNELS.items() if "#" + v == channel or v == channel), None)
        )
        if cid is None:
            return Reply(200, {"ok": False, "error": "channel_not_found"})
        with self.lock:
            ts = f"1700000000.{len(self.messages) + 1:06d}"
            msg = {
                "type": "message",
                "text": args.get("text", ""),
                "ts": ts,
                "bot_id": "B0001",
                "blocks": args.get("blocks"),
            }
            self.messages.append({"channel": cid, **msg})
        return Reply(200, {"ok": True, "channel": cid, "ts": ts, "message": msg})
