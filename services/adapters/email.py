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
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from models.enums import EntryKind
from services.adapters.base import (
    Adapter,
    ChangeToPlan,
    Planned,
    SecretField,
    SendContext,
    SendResult,
    SettingField,
)
from services.sync.transport import AuthFailure, Http, NotConfigured, PermanentFailure, TransientFailure

SECURITY = ("starttls", "tls", "none")


class EmailAdapter(Adapter):
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

    def base_url(self) -> str:
        return ""

    def headers(self) -> dict[str, str]:
        return {}

    def describe_error(self, status: int, body: Any, text: str) -> str:
        return text or f"SMTP {status}"

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

    def test_connection(self, http: Http) -> str:
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
