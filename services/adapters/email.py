"""E-mail over SMTP: the messages the communications lead releases, as plain text and HTML.

STARTTLS (port 587) or implicit TLS (465); plain SMTP only when chosen outright (a relay on the same
host). The password lives in the keyring. Each message carries a Message-ID made from its outbox key,
so a receiving system can tell a repeat. SMTP gives no way to ask whether a message arrived, so an
attempt that may have been accepted is not repeated blindly: a person decides.
"""

from __future__ import annotations

import hashlib
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from markupsafe import escape

from models.enums import EntryKind
from services.adapters.channel import (
    CommsChannel,
    LoggedMessage,
    MessageText,
    PreviewPart,
    Problem,
    RecipientField,
    is_email_address,
    paragraphs,
)
from services.adapters.failures import AuthFailure, NotConfigured, PermanentFailure, TransientFailure
from services.adapters.http import Http
from services.adapters.interface import Adapter, SecretField, SettingField
from services.adapters.values import ChangeToPlan, Planned, SendContext, SendResult

SECURITY = ("starttls", "tls", "none")


SUBJECT_MAX = 200  # a header line must stay under 998 characters (RFC 5322); a subject far shorter


def email_rendering(subject: str, body: str, footer: str = "") -> dict[str, Any]:
    """An e-mail: subject, plain text, and HTML with every value escaped."""
    plain = body + (f"\n\n-- \n{footer}" if footer else "")
    parts = []
    for p in paragraphs(body):
        lines = p.splitlines()
        if all(ln.lstrip().startswith("- ") for ln in lines):
            items = "".join(f"<li>{escape(ln.lstrip()[2:])}</li>" for ln in lines)
            parts.append(f"<ul>{items}</ul>")
        else:
            parts.append("<p>" + "<br>\n".join(str(escape(ln)) for ln in lines) + "</p>")
    foot = f'<hr><p style="color:#666;font-size:smaller">{escape(footer)}</p>' if footer else ""
    html = (
        '<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>'
        f"{escape(subject)}</title></head>\n"
        '<body style="font-family:Helvetica,Arial,sans-serif;line-height:1.4">\n'
        f"<h2>{escape(subject)}</h2>\n" + "\n".join(parts) + f"\n{foot}\n</body></html>\n"
    )
    return {"subject": subject, "text": plain, "html": html}


class EmailMessages(CommsChannel):
    """E-mail as a comms channel: a subject, plain text and HTML, to the To and Cc addresses."""

    channel_label = "E-mail"
    channel_rank = 20
    recipient_fields = (
        RecipientField("email_to", "E-mail to", addresses=True, cli_flag="--to",
                       placeholder="addresses, comma separated", help="e-mail recipients (repeat or comma separate)",
                       suggest_from="email"),
        RecipientField("email_cc", "Cc", addresses=True, cli_flag="--cc", help="e-mail copy recipients"),
    )  # fmt: skip

    @classmethod
    def render_message(cls, text: MessageText) -> dict[str, Any]:
        return email_rendering(text.subject, text.body, text.footer)

    @classmethod
    def message_problems(cls, rendering: dict[str, Any], recipients: Mapping[str, Any]) -> list[Problem]:
        ch = cls.name
        problems: list[Problem] = []
        subj = rendering["subject"]
        if not subj.strip():
            problems.append(Problem(ch, "subject", "The e-mail needs a subject."))
        elif len(subj) > SUBJECT_MAX:
            problems.append(Problem(ch, "subject", f"Keep the e-mail subject under {SUBJECT_MAX} characters "
                                    f"(it has {len(subj)})."))  # fmt: skip
        to = list(recipients.get("email_to") or [])
        cc = list(recipients.get("email_cc") or [])
        if not to:
            problems.append(Problem(ch, "email_to", "The e-mail has no recipients (To)."))
        for addr in to + cc:
            if not is_email_address(addr):
                problems.append(Problem(ch, "email_to", f"'{addr}' is not an e-mail address."))
        return problems

    @classmethod
    def subject_of(cls, rendering: dict[str, Any]) -> str:
        return rendering.get("subject") or ""

    @classmethod
    def entry_payload(cls, rendering: dict[str, Any], recipients: Mapping[str, Any], ref: str) -> dict[str, Any]:
        return {"subject": rendering["subject"], "text": rendering["text"], "html": rendering["html"],
                "to": list(recipients.get("email_to") or []), "cc": list(recipients.get("email_cc") or []),
                "message_ref": ref}  # fmt: skip

    @classmethod
    def logged(cls, rendering: dict[str, Any], recipients: Mapping[str, Any]) -> LoggedMessage:
        to = list(recipients.get("email_to") or []) + [f"cc:{a}" for a in recipients.get("email_cc") or []]
        return LoggedMessage(rendering["subject"], rendering["text"], to, {"html": rendering["html"]})

    @classmethod
    def preview(cls, rendering: dict[str, Any]) -> list[PreviewPart]:
        # The HTML part shows as a mail client would; every value in it was escaped when rendered.
        return [PreviewPart("HTML", html=rendering["html"]),
                PreviewPart("Plain text", text=f"Subject: {rendering['subject']}\n\n{rendering['text']}")]  # fmt: skip


class EmailAdapter(EmailMessages, Adapter):
    name = "email"
    label = "E-mail"
    fields = (
        SettingField("host", "SMTP server", "str", None, required=True),
        SettingField("port", "SMTP port", "int", 587),
        SettingField("security", "starttls, tls (implicit, usually 465) or none", "str", "starttls"),
        SettingField("from_address", "From address", "str", None, required=True),
        SettingField("reply_to", "Reply-To address", "str", None),
        SettingField("username", "SMTP user name (the password goes in the keyring)", "str", None),
        SettingField("ca_file", "CA certificates file to trust (a private CA)", "str", None),
    )
    secrets = (SecretField("password", "SMTP password", required=False),)

    def missing(self) -> list[str]:
        out = super().missing()
        if str(self.setting("security")).lower() not in SECURITY:
            out.append(f"E-mail: 'security' must be one of {', '.join(SECURITY)}.")
        return out

    # -- planning ------------------------------------------------------------------------
    def plan(self, change: ChangeToPlan) -> list[Planned]:
        invite = change.data.get("invitation")
        if change.entry.kind == EntryKind.SYSTEM.value and isinstance(invite, dict) and not change.data.get("remote"):
            # A review meeting's invitation: the calendar object rides along as text/calendar.
            payload = {k: invite.get(k) for k in ("subject", "text", "to", "ics", "message_ref")}
            return [Planned("send_email", payload, f"{self.name}:{change.entry.id}")]
        comms = change.data.get("comms")
        if change.entry.kind != EntryKind.COMMS.value or not isinstance(comms, dict):
            return []
        mail = (comms.get("channels") or {}).get(self.name)
        if not isinstance(mail, dict):
            return []
        payload = {k: mail.get(k) for k in ("subject", "text", "html", "to", "cc", "message_ref")}
        return [Planned("send_email", payload, f"{self.name}:{change.entry.id}")]

    # -- sending -------------------------------------------------------------------------
    def _tls_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context()
        if self.setting("ca_file"):
            try:
                ctx.load_verify_locations(cafile=self.setting("ca_file"))
            except (OSError, ssl.SSLError) as exc:
                raise NotConfigured(
                    f"The CA file {self.setting('ca_file')} cannot be used ({exc})."
                ) from None
        return ctx

    def _connect(self) -> smtplib.SMTP:
        host, port = self.setting("host"), int(self.setting("port"))
        timeout = float(self.setting("timeout_s") or 20.0)
        security = str(self.setting("security")).lower()
        where = f"{host}:{port}"
        smtp: smtplib.SMTP | None = None
        try:
            try:
                if security == "tls":
                    smtp = smtplib.SMTP_SSL(host, port, timeout=timeout, context=self._tls_context())
                else:
                    smtp = smtplib.SMTP(host, port, timeout=timeout)
                smtp.ehlo()
                if security == "starttls":
                    if not smtp.has_extn("starttls"):
                        raise NotConfigured(f"The mail server {where} does not offer STARTTLS; Sitrep will not send "
                                            "in clear text. Choose security 'tls' or fix the server.")  # fmt: skip
                    smtp.starttls(context=self._tls_context())
                    smtp.ehlo()
                user = self.setting("username")
                if user:
                    smtp.login(user, self.secret("password"))
                return smtp
            except BaseException:
                # Refused, cut off or misconfigured half-way: the socket (TLS or not) is not left open.
                if smtp is not None:
                    smtp.close()
                raise
        except smtplib.SMTPAuthenticationError as exc:
            raise AuthFailure(
                f"The mail server {where} refused the login ({exc.smtp_code}).", status=exc.smtp_code
            ) from None
        except smtplib.SMTPNotSupportedError as exc:
            raise NotConfigured(f"The mail server {where} cannot do what the settings ask ({exc}).") from None
        except ssl.SSLError as exc:
            raise NotConfigured(
                f"TLS with the mail server {where} failed ({exc.reason or type(exc).__name__})."
            ) from None
        except (ConnectionRefusedError, socket.gaierror, TimeoutError, smtplib.SMTPConnectError,
                smtplib.SMTPServerDisconnected, OSError) as exc:  # fmt: skip
            raise TransientFailure(f"The mail server {where} is unreachable ({_reason(exc)}).") from None

    def build(self, p: dict[str, Any], idempotency_key: str) -> EmailMessage:
        msg = EmailMessage()
        sender = self.setting("from_address")
        domain = sender.rpartition("@")[2] or "sitrep.invalid"
        msg["From"] = sender
        msg["To"] = ", ".join(p.get("to") or [])
        if p.get("cc"):
            msg["Cc"] = ", ".join(p["cc"])
        if self.setting("reply_to"):
            msg["Reply-To"] = self.setting("reply_to")
        msg["Subject"] = p.get("subject") or ""
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = f"<sitrep.{hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]}@{domain}>"
        if p.get("message_ref"):
            msg["X-Sitrep-Message"] = str(p["message_ref"])
        msg.set_content(p.get("text") or "")
        if p.get("html"):
            msg.add_alternative(p["html"], subtype="html")
        if p.get("ics"):
            msg.add_attachment(p["ics"].encode("utf-8"), maintype="text", subtype="calendar",
                               filename="invite.ics", params={"method": "REQUEST"})  # fmt: skip
        return msg

    def send(self, ctx: SendContext) -> SendResult:
        if ctx.item.op != "send_email":
            raise PermanentFailure(f"E-mail does not know the operation '{ctx.item.op}'.")
        ctx.refuse_blind_resend("e-mail")
        p = ctx.item.payload
        rcpts = list(p.get("to") or []) + list(p.get("cc") or [])
        if not rcpts:
            raise PermanentFailure("The e-mail has no recipients.")
        msg = self.build(p, ctx.item.idempotency_key)
        smtp = self._connect()
        where = f"{self.setting('host')}:{self.setting('port')}"
        try:
            refused = smtp.send_message(msg, self.setting("from_address"), rcpts)
        except smtplib.SMTPRecipientsRefused as exc:
            raise PermanentFailure(
                f"The mail server refused every recipient: {', '.join(exc.recipients)}."
            ) from None
        except smtplib.SMTPSenderRefused as exc:
            raise PermanentFailure(
                f"The mail server refused the sender {self.setting('from_address')} ({exc.smtp_code})."
            ) from None
        except smtplib.SMTPResponseException as exc:
            text = f"The mail server {where} answered {exc.smtp_code}: {_text(exc.smtp_error)}"
            if 400 <= exc.smtp_code < 500:
                raise TransientFailure(text, status=exc.smtp_code) from None
            raise PermanentFailure(text, status=exc.smtp_code) from None
        except (smtplib.SMTPServerDisconnected, TimeoutError, OSError) as exc:
            raise TransientFailure(f"The mail server {where} dropped the connection while sending ({_reason(exc)}); "
                                   "the message may or may not have been accepted.", uncertain=True) from None  # fmt: skip
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
        note = ""
        if refused:
            note = "Refused by the mail server: " + ", ".join(f"{a} ({c})" for a, (c, _m) in refused.items())
        return SendResult(remote_ref=msg["Message-ID"], note=note)

    def test_connection(self, http: Http | None) -> str:
        smtp = self._connect()
        try:
            smtp.noop()
        finally:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()
        how = {"starttls": "STARTTLS", "tls": "TLS", "none": "no encryption"}[
            str(self.setting("security")).lower()
        ]
        who = f", logged in as {self.setting('username')}" if self.setting("username") else ""
        return f"Connected to {self.setting('host')}:{self.setting('port')} ({how}{who})."


def _reason(exc: BaseException) -> str:
    return (str(exc).strip() or type(exc).__name__)[:160]


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")[:200]
    return str(value)[:200]
