"""A real SMTP server on loopback (aiosmtpd), with STARTTLS or implicit TLS and a login, that keeps what it gets."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import threading
from email import message_from_bytes, policy
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

USER, PASSWORD = "sitrep", "s3cret-pass"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_cert(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 (the client trusts it as its CA file)."""
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    return cert_path, key_path


class Mailbox:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.envelopes: list[tuple[str, list[str], bytes]] = []
        self.received = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        with self.lock:
            self.envelopes.append(
                (
                    envelope.mail_from,
                    list(envelope.rcpt_tos),
                    bytes(envelope.original_content or envelope.content),
                )
            )
        self.received.set()
        return "250 OK queued"

    def messages(self):
        with self.lock:
            return [message_from_bytes(raw, policy=policy.default) for _f, _t, raw in self.envelopes]


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == USER.encode()
        and auth_data.password == PASSWORD.encode()
    )
    # handled=False: the server itself answers a failure with 535, as a real one does (with the
    # default, aiosmtpd assumes the authenticator replied, and the client waits for nothing).
    return AuthResult(success=ok, handled=False)


class SmtpServer:
    """start()/stop() on a fixed port, so the client sees a server go down and come back."""

    def __init__(self, folder: Path, *, implicit_tls: bool = False) -> None:
        self.cert, self.key = make_cert(folder)
        self.port = free_port()
        self.implicit_tls = implicit_tls
        self.mailbox = Mailbox()
        self._controller: Controller | None = None

    def _context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        return ctx

    def start(self) -> SmtpServer:
        # aiosmtpd only counts STARTTLS as TLS for AUTH; an implicit-TLS session is encrypted from the start.
        kw = dict(
            hostname="127.0.0.1",
            port=self.port,
            authenticator=_authenticator,
            auth_require_tls=not self.implicit_tls,
        )
        if self.implicit_tls:
            c = Controller(self.mailbox, ssl_context=self._context(), **kw)
        else:
            c = Controller(self.mailbox, tls_context=self._context(), require_starttls=True, **kw)
        c.start()
        self._controller = c
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
