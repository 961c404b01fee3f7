"""Email over SMTP: a multipart text + HTML message, sent with the standard library in a worker thread.

TLS is required by default: STARTTLS on a plain connection (port 587), or TLS from the first byte
(port 465 or ``implicit_tls``), with certificate and host name verification (``ca_file`` trusts a
private CA). Credentials are never sent over a cleartext connection unless ``allow_plaintext_auth`` is
set, which is only accepted for a loopback host. Every header value built from alert content has line
breaks and control characters replaced by spaces and the Subject is capped, so a title carrying
``\\r\\nBcc: victim@example.com`` stays inside the Subject. The HTML part escapes everything it shows.

Replies classify as RFC 5321 says: 4xx (421, 450, 451, 452, 454) retry, 5xx (535, 550, 554) are
permanent; timeouts, resets and refused connections retry.
"""

from __future__ import annotations

import asyncio
import hashlib
import html
import smtplib
import socket
import ssl
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import formatdate

import aiohttp

from nethical_otel.alerting.channels import _summary
from nethical_otel.alerting.channels._base import Channel, Delivery, Outcome
from nethical_otel.alerting.channels._http import excerpt
from nethical_otel.alerting.channels._settings import invalid, is_loopback
from nethical_otel.alerting.channels._text import body_text, fit, one_line, safe_notification
from nethical_otel.alerting.model import AlertChannel, Notification
from nethical_otel.config import ChannelSettings, Secret

IMPLICIT_TLS_PORT = 465
SUBJECT_LIMIT = 200  # well under RFC 5322's 998 and readable in any mail client
MESSAGE_LIMIT = 262_144  # UTF-16 units: 100 KB of any script arrives whole
FACT_NAME_LIMIT = 256
FACT_VALUE_LIMIT = 4096


class _NotSent(Exception):
    """A delivery refused before anything was sent (a security rule, a missing server capability)."""


class EmailChannel(Channel):
    kind = AlertChannel.EMAIL
    delivers_resolved = False  # Alertmanager's send_resolved default for email

    def __init__(
        self,
        *,
        host: str,
        port: int,
        sender: Address,
        recipients: tuple[Address, ...],
        implicit_tls: bool = False,
        require_starttls: bool = True,
        tls_context: ssl.SSLContext | None = None,
        username: str | None = None,
        password: Secret | None = None,
        allow_plaintext_auth: bool = False,
        timeout_seconds: float = 15.0,
    ) -> None:
        self._host = host
        self._port = port
        self._sender = sender
        self._recipients = recipients
        self._implicit_tls = implicit_tls
        self._require_starttls = require_starttls
        self._tls = tls_context or ssl.create_default_context()
        self._username = username
        self._password = password
        self._allow_plaintext_auth = allow_plaintext_auth
        self.timeout_seconds = timeout_seconds
        self._hello = socket.getfqdn()

    @property
    def attempt_limit(self) -> float:
        # The timeout covers each step of a conversation of up to eight (connect, EHLO, STARTTLS, EHLO, AUTH,
        # MAIL, RCPT, DATA).
        return self.timeout_seconds * 8

    # The message --------------------------------------------------------------------------------------
    def message(self, notification: Notification) -> EmailMessage:
        notification = safe_notification(notification)
        alert = notification.alert
        domain = self._sender.domain or "localhost"
        message = EmailMessage(policy=default_policy)
        message["Subject"] = fit(one_line(self._subject(notification)), SUBJECT_LIMIT)
        message["From"] = self._sender
        message["To"] = self._recipients
        message["Date"] = formatdate(usegmt=True)
        # Stable across retries, so a receiver can drop an at-least-once duplicate.
        key = hashlib.sha256(notification.idempotency_key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        message["Message-ID"] = f"<{key}@{domain}>"
        # Every notification of one alert threads together in mail clients.
        message["References"] = f"<alert-{alert.fingerprint}@{domain}>"
        message["In-Reply-To"] = f"<alert-{alert.fingerprint}@{domain}>"
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to alerts
        message.set_content(self._text(notification), cte="quoted-printable")
        message.add_alternative(self._html(notification), subtype="html", cte="quoted-printable")
        return message

    @staticmethod
    def _subject(notification: Notification) -> str:
        note = _summary.occurrence_note(notification)
        return f"{_summary.headline(notification)} ({note})" if note else _summary.headline(notification)

    @staticmethod
    def _facts(notification: Notification) -> list[tuple[str, str]]:
        return [
            (fit(one_line(name), FACT_NAME_LIMIT), fit(one_line(value), FACT_VALUE_LIMIT))
            for name, value in _summary.facts(notification)
        ]

    def _text(self, notification: Notification) -> str:
        lines = [fit(one_line(_summary.headline(notification)), 1024), ""]
        lines += [fit(body_text(notification.alert.message), MESSAGE_LIMIT), ""]
        note = _summary.occurrence_note(notification)
        if note:
            lines += [note, ""]
        lines += [f"{name}: {value}" for name, value in self._facts(notification)]
        lines += ["", "-- ", _summary.footer(notification)]
        return "\n".join(lines) + "\n"

    def _html(self, notification: Notification) -> str:
        alert = notification.alert
        colour = _summary.colour(notification)
        title = html.escape(fit(one_line(_summary.headline(notification)), 1024))
        text = html.escape(fit(body_text(alert.message), MESSAGE_LIMIT))
        note = _summary.occurrence_note(notification)
        rows = "".join(
            f'<tr><th align="left" style="padding-right:1em">{html.escape(name)}</th><td>{html.escape(value)}</td></tr>'
            for name, value in self._facts(notification)
        )
        return (
            '<!DOCTYPE html>\n<html><body style="font-family:sans-serif">\n'
            f'<h2 style="color:{colour}">{title}</h2>\n'
            f'<p style="white-space:pre-wrap">{text}</p>\n'
            + (f"<p><em>{html.escape(note)}</em></p>\n" if note else "")
            + (f"<table>{rows}</table>\n" if rows else "")
            + f'<p style="color:#888888">{html.escape(_summary.footer(notification))}</p>\n</body></html>\n'
        )

    # Sending ------------------------------------------------------------------------------------------
    async def deliver(self, notification: Notification, session: aiohttp.ClientSession) -> Delivery:
        # smtplib blocks, and encoding a large message takes a while: both run off the dispatcher's loop.
        return await asyncio.to_thread(self._send, notification)

    def _send(self, notification: Notification) -> Delivery:
        try:
            refused = self._transmit(self.message(notification))
        except _NotSent as refusal:
            return Delivery(Outcome.FAILED, str(refusal))
        except smtplib.SMTPRecipientsRefused as error:  # every recipient refused
            codes = sorted({code for code, _ in error.recipients.values()})
            transient = any(400 <= code < 500 for code in codes)
            return Delivery(
                Outcome.RETRY if transient else Outcome.FAILED,
                f"all recipients refused ({', '.join(map(str, codes))})",
                status=codes[0] if codes else None,
            )
        except smtplib.SMTPResponseException as error:
            return self._reply(error.smtp_code, error.smtp_error, type(error).__name__)
        except smtplib.SMTPServerDisconnected as error:
            # smtplib reports a reply that timed out as a disconnection; say which it was.
            if isinstance(error.__context__, TimeoutError):
                return Delivery(Outcome.RETRY, f"no answer within {self.timeout_seconds:g}s")
            return Delivery(Outcome.RETRY, "the SMTP server closed the connection")
        except smtplib.SMTPException as error:  # a missing capability: AUTH, SMTPUTF8
            return Delivery(Outcome.FAILED, f"SMTP: {self._excerpt(str(error))}")
        except ssl.SSLCertVerificationError as error:
            return Delivery(Outcome.FAILED, f"TLS certificate not trusted: {error.verify_message}")
        except ssl.SSLError as error:
            return Delivery(Outcome.RETRY, f"TLS failed: {error.reason or type(error).__name__}")
        except TimeoutError:
            return Delivery(Outcome.RETRY, f"no answer within {self.timeout_seconds:g}s")
        except OSError as error:
            return Delivery(Outcome.RETRY, f"connection failed: {error.strerror or type(error).__name__}")
        if refused:
            codes = sorted({code for code, _ in refused.values()})
            return Delivery(Outcome.SENT, f"{len(refused)} of {len(self._recipients)} recipients refused {codes}")
        return Delivery(Outcome.SENT, status=250)

    def _transmit(self, message: EmailMessage) -> dict[str, tuple[int, bytes]]:
        client: smtplib.SMTP
        if self._implicit_tls:
            client = smtplib.SMTP_SSL(
                self._host, self._port, local_hostname=self._hello, timeout=self.timeout_seconds, context=self._tls
            )
        else:
            client = smtplib.SMTP(self._host, self._port, local_hostname=self._hello, timeout=self.timeout_seconds)
        with client:
            client.ehlo_or_helo_if_needed()
            encrypted = self._implicit_tls
            if not encrypted and self._require_starttls:
                if not client.has_extn("starttls"):
                    raise _NotSent("the SMTP server does not offer STARTTLS, which smtp.use_tls requires")
                client.starttls(context=self._tls)
                encrypted = True
            if self._username is not None and self._password is not None:
                if not encrypted and not self._allow_plaintext_auth:
                    raise _NotSent("refusing to send SMTP credentials over a connection without TLS")
                client.login(self._username, self._password.reveal())
            return client.send_message(
                message, from_addr=self._sender.addr_spec, to_addrs=[r.addr_spec for r in self._recipients]
            )

    def _reply(self, code: int, text: bytes | str, what: str) -> Delivery:
        reason = f"SMTP {code}: {self._excerpt(text)}" if text else f"SMTP {code} ({what})"
        transient = 400 <= code < 500 or code == -1  # -1: smtplib's code for a reply it could not read
        return Delivery(Outcome.RETRY if transient else Outcome.FAILED, reason, status=code)

    def _excerpt(self, text: bytes | str) -> str:
        return excerpt(text, (self._password.reveal(),) if self._password else ())


def _address(key: str, value: str) -> Address:
    """One mailbox (``user@example.com`` or ``Name <user@example.com>``), refused with a clear error."""
    try:
        header = default_policy.header_factory("to", value)
        addresses = header.addresses
        defects = [d for d in header.defects if type(d).__name__ != "NonASCIILocalPartDefect"]
    except Exception:  # the header parser raises assorted errors (IndexError, ...) on garbage
        invalid(key, f"{value[:80]!r} is not an email address")
    if (
        len(addresses) != 1
        or defects
        or not addresses[0].username
        or not addresses[0].domain
        or value != one_line(value)
    ):
        invalid(key, f"{value[:80]!r} is not a single email address like alerts@example.com")
    address: Address = addresses[0]
    return address


def _tls_context(ca_file: str | None) -> ssl.SSLContext:
    try:
        return ssl.create_default_context(cafile=ca_file)
    except (OSError, ssl.SSLError) as error:
        invalid("smtp.ca_file", f"cannot load CA certificates from {ca_file!r}: {error.strerror or error}")


def from_settings(settings: ChannelSettings) -> EmailChannel | None:
    """The email channel, or None without ``alerting.smtp.host``."""
    smtp = settings.smtp
    if not smtp.host:
        return None
    if smtp.host != one_line(smtp.host).strip():
        invalid("smtp.host", "must be a host name without spaces or control characters")
    implicit = smtp.implicit_tls or smtp.port == IMPLICIT_TLS_PORT
    if implicit and not smtp.use_tls:
        invalid("smtp.use_tls", "cannot be false with implicit TLS (port 465 or smtp.implicit_tls)")
    if not smtp.from_address:
        invalid("smtp.from", "is required when smtp.host is set")
    if not smtp.to:
        invalid("smtp.to", "needs at least one recipient address")
    if (smtp.username is None) != (smtp.password is None):
        invalid("smtp.password" if smtp.password is None else "smtp.username", "username and password go together")
    if smtp.allow_plaintext_auth and not is_loopback(smtp.host):
        invalid("smtp.allow_plaintext_auth", "is only accepted when smtp.host is a loopback address")
    return EmailChannel(
        host=smtp.host,
        port=smtp.port,
        sender=_address("smtp.from", smtp.from_address),
        recipients=tuple(_address(f"smtp.to[{index}]", value) for index, value in enumerate(smtp.to)),
        implicit_tls=implicit,
        require_starttls=smtp.use_tls,
        tls_context=_tls_context(smtp.ca_file),
        username=smtp.username,
        password=smtp.password,
        allow_plaintext_auth=smtp.allow_plaintext_auth,
        timeout_seconds=smtp.timeout_seconds,
    )
