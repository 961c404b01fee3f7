"""Real SMTP servers (aiosmtpd) on 127.0.0.1: plain, STARTTLS or implicit TLS, with AUTH and scripted replies.

The TLS certificate is made at test time with ``openssl``: self-signed for ``127.0.0.1`` and
``localhost``, so a client verifies it only when told to trust it (``ca_file``). Scripted replies stand
in for a server in trouble: a list per stage (``mail``, ``rcpt``, ``data``) is answered in order before
normal service, and ``data_delay`` holds the DATA answer back to exercise client timeouts.
"""

from __future__ import annotations

import asyncio
import collections
import ssl
import subprocess
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, Literal

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests._support.binaries import require_binary
from tests._support.net import free_port


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def make_certificate(directory: Path) -> Certificate:
    """A self-signed certificate (its own CA) for 127.0.0.1 and localhost, made with openssl."""
    openssl = require_binary("openssl", package="openssl")
    cert, key = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"),
            *("-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            *("-addext", "basicConstraints=critical,CA:TRUE"),
            *("-addext", "keyUsage=critical,digitalSignature,keyCertSign"),
        ],
        check=True,
        capture_output=True,
    )
    return Certificate(cert, key)


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    encrypted: bool
    login: str | None

    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=default_policy).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed


Stage = Literal["mail", "rcpt", "data"]


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self._server = server

    async def handle_MAIL(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        scripted = self._server.scripted("mail")
        if scripted:
            return scripted
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, smtp: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        scripted = self._server.scripted("rcpt") or self._server.refused_recipients.get(address)
        if scripted:
            return scripted
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, smtp: SMTP, session: Session, envelope: Envelope) -> str:
        if self._server.data_delay:
            await asyncio.sleep(self._server.data_delay)
        scripted = self._server.scripted("data")
        if scripted:
            return scripted
        assert smtp.transport is not None
        mail = ReceivedMail(
            str(envelope.mail_from),
            tuple(envelope.rcpt_tos),
            bytes(envelope.original_content or b""),
            smtp.transport.get_extra_info("ssl_object") is not None,
            session.auth_data.login.decode() if isinstance(session.auth_data, LoginPassword) else None,
        )
        self._server.received.append(mail)
        return "250 Message accepted for delivery"


class SmtpServer:
    """An aiosmtpd server on a free loopback port; use as a context manager.

    ``security``: ``"none"`` (plain, STARTTLS not offered), ``"starttls"`` (offered, not required, so a
    client's own TLS policy is what is tested) or ``"implicit"`` (TLS from the first byte).
    ``credentials`` turns AUTH on (PLAIN and LOGIN; AUTH is offered on plain connections too, so the
    client's refusal to authenticate in cleartext is what is tested).
    """

    def __init__(
        self,
        *,
        security: Literal["none", "starttls", "implicit"] = "starttls",
        certificate: Certificate | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        if security != "none" and certificate is None:
            raise ValueError(f"security={security!r} needs a certificate")
        self.security = security
        self.credentials = credentials
        self.received: list[ReceivedMail] = []
        self.auth_attempts: list[tuple[str, bool]] = []  # (login, success)
        self.refused_recipients: dict[str, str] = {}
        self.data_delay = 0.0
        self._scripts: dict[Stage, collections.deque[str]] = collections.defaultdict(collections.deque)
        self._lock = threading.Lock()
        context = certificate.server_context() if certificate is not None else None
        self.port = free_port()
        kwargs: dict[str, Any] = {
            "hostname": "127.0.0.1",
            "port": self.port,
            "server_hostname": "smtp.test",
            "ready_timeout": 10.0,
            # AUTH is offered without TLS as well: aiosmtpd cannot tell an implicit-TLS listener is
            # encrypted (aio-libs/aiosmtpd#281), and the client's own cleartext refusal is under test.
            "auth_require_tls": False,
        }
        if credentials is not None:
            kwargs["authenticator"] = self._authenticate
        if security == "starttls":
            kwargs["tls_context"] = context
        elif security == "implicit":
            kwargs["ssl_context"] = context
        self._controller = Controller(_Handler(self), **kwargs)

    def script(self, stage: Stage, *replies: str) -> None:
        """Answer the next commands of ``stage`` with these replies (e.g. ``"451 4.3.0 try later"``)."""
        with self._lock:
            self._scripts[stage].extend(replies)

    def scripted(self, stage: Stage) -> str | None:
        with self._lock:
            return self._scripts[stage].popleft() if self._scripts[stage] else None

    def _authenticate(self, smtp: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword) and self.credentials is not None
        login, password = data.login.decode(), data.password.decode()
        success = (login, password) == self.credentials
        self.auth_attempts.append((login, success))
        return AuthResult(success=success, handled=False, auth_data=data)

    def start(self) -> SmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
