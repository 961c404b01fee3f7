"""The email channel against real aiosmtpd servers on 127.0.0.1 (plain, STARTTLS, implicit TLS, AUTH)."""

from __future__ import annotations

import logging
import re
import time

import pytest

from nethical_otel.alerting.channels import email
from nethical_otel.alerting.channels._base import Outcome
from nethical_otel.alerting.model import AlertChannel
from nethical_otel.config import ConfigError, load_config
from tests._support.emulators.alerts import HOSTILE, deliver, hostile_alert, make_alert, make_notification
from tests._support.net import free_port
from tests._support.smtp import SmtpServer, make_certificate

PASSWORD = "correct-horse-battery-staple-42"
CREDENTIALS = ("alerts-user", PASSWORD)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return make_certificate(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def starttls_server(certificate):
    with SmtpServer(security="starttls", certificate=certificate, credentials=CREDENTIALS) as server:
        yield server


def smtp_settings(server: SmtpServer, certificate, **smtp) -> dict:
    return {
        "host": "127.0.0.1",
        "port": server.port,
        "ca_file": str(certificate.cert_file),
        "username": CREDENTIALS[0],
        "password": PASSWORD,
        "from": "Nethical Alerts <alerts@example.com>",
        "to": ["secops@example.com", "oncall@example.org"],
        **smtp,
    }


def channel_for(smtp: dict) -> email.EmailChannel:
    channel = email.from_settings(load_config({"alerting": {"smtp": smtp}}).alerting)
    assert channel is not None
    return channel


async def send(channel: email.EmailChannel, **alert):
    return await deliver(channel, make_notification(make_alert(**alert), AlertChannel.EMAIL, occurrences=4))


async def test_starttls_with_auth_delivers_a_multipart_text_and_html_message(starttls_server, certificate):
    result = await send(channel_for(smtp_settings(starttls_server, certificate)), title="Jailbreak <b>storm</b>")

    assert (result.outcome, result.status) == (Outcome.SENT, 250)
    (mail,) = starttls_server.received
    assert mail.encrypted and mail.login == CREDENTIALS[0]
    assert (mail.mail_from, mail.rcpt_tos) == ("alerts@example.com", ("secops@example.com", "oncall@example.org"))
    message = mail.message()
    assert message["Subject"].startswith("[FIRING] CRITICAL: Jailbreak <b>storm</b> (and 3 more since ")
    assert message["From"] == "Nethical Alerts <alerts@example.com>"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    text, html_part = message.iter_parts()
    assert text.get_content_type() == "text/plain" and html_part.get_content_type() == "text/html"
    assert "Detector prompt_injection reported a HIGH threat." in text.get_content()
    assert "detector_type: prompt_injection" in text.get_content()
    assert "Jailbreak &lt;b&gt;storm&lt;/b&gt;" in html_part.get_content()
    assert "<b>storm" not in html_part.get_content()


async def test_message_id_is_stable_across_retries_and_alerts_thread_together(starttls_server, certificate):
    channel = channel_for(smtp_settings(starttls_server, certificate))
    alert = make_alert()
    for key in ("n-1", "n-1", "n-2"):
        await deliver(channel, make_notification(alert, AlertChannel.EMAIL, key=key))

    first, retry, later = (mail.message() for mail in starttls_server.received)
    assert first["Message-ID"] == retry["Message-ID"] != later["Message-ID"]
    assert first["References"] == later["References"] == f"<alert-{alert.fingerprint}@example.com>"


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_hostile_titles_cannot_inject_headers_and_html_is_escaped(starttls_server, certificate, case):
    text = HOSTILE[case]
    channel = channel_for(smtp_settings(starttls_server, certificate))
    result = await deliver(channel, make_notification(hostile_alert(text), AlertChannel.EMAIL))

    assert result.outcome is Outcome.SENT, result.reason
    (mail,) = starttls_server.received
    assert mail.rcpt_tos == ("secops@example.com", "oncall@example.org")  # no injected recipient
    message = mail.message()
    assert message.get_all("Subject") is not None and len(message.get_all("Subject")) == 1
    assert message.get_all("Bcc") is None and message.get_all("X-Evil") is None
    assert not message.defects
    subject = message["Subject"]
    assert len(subject) <= email.SUBJECT_LIMIT and not any(char in subject for char in "\r\n\x00\x1b\u202e")
    text_part, html_part = message.iter_parts()
    assert "<script>" not in html_part.get_content() and "<img" not in html_part.get_content()
    # the text up to its first control or bidi character
    readable = re.split("[\x00-\x1f\x7f\ud800\u202a-\u202e\u2066-\u2069]", text)[0]
    assert readable[:1000] in text_part.get_content()


async def test_100kb_messages_arrive_whole_and_larger_ones_are_cut(starttls_server, certificate):
    message = HOSTILE["huge_non_bmp"] + "\n" + HOSTILE["huge"]
    channel = channel_for(smtp_settings(starttls_server, certificate))
    await send(channel, message=message)
    await send(channel, message=HOSTILE["huge"] * 3)

    whole, cut = (mail.message().get_body(("plain",)).get_content() for mail in starttls_server.received)
    assert message in whole.replace("\r\n", "\n")
    assert "A" * (email.MESSAGE_LIMIT - 1) + "…" in cut


async def test_implicit_tls_on_a_second_port_delivers(certificate):
    with SmtpServer(security="implicit", certificate=certificate, credentials=CREDENTIALS) as server:
        result = await send(channel_for(smtp_settings(server, certificate, implicit_tls=True)))

        assert result.outcome is Outcome.SENT
        assert server.received[0].encrypted and server.received[0].login == CREDENTIALS[0]


async def test_wrong_password_is_a_permanent_failure_that_never_shows_the_password(
    starttls_server, certificate, caplog
):
    caplog.set_level(logging.DEBUG)
    channel = channel_for(smtp_settings(starttls_server, certificate, password="wrong-password-value"))
    result = await send(channel)

    assert (result.outcome, result.status) == (Outcome.FAILED, 535)
    # smtplib tries each mechanism the server offers (PLAIN, then LOGIN) before giving up.
    assert starttls_server.auth_attempts == [(CREDENTIALS[0], False)] * 2 and starttls_server.received == []
    for text in (repr(channel), result.reason, caplog.text):
        assert "wrong-password-value" not in text and PASSWORD not in text


async def test_plain_server_is_refused_when_tls_is_required(certificate):
    with SmtpServer(security="none", credentials=CREDENTIALS) as server:
        result = await send(channel_for(smtp_settings(server, certificate)))

        assert result.outcome is Outcome.FAILED
        assert result.reason == "the SMTP server does not offer STARTTLS, which smtp.use_tls requires"
        assert server.received == [] and server.auth_attempts == []


async def test_credentials_are_never_sent_in_cleartext_unless_allowed_for_localhost(certificate):
    with SmtpServer(security="none", credentials=CREDENTIALS) as server:
        refused = await send(channel_for(smtp_settings(server, certificate, use_tls=False)))
        assert (refused.outcome, refused.reason) == (
            Outcome.FAILED,
            "refusing to send SMTP credentials over a connection without TLS",
        )
        assert server.auth_attempts == []

        allowed = await send(channel_for(smtp_settings(server, certificate, use_tls=False, allow_plaintext_auth=True)))
        assert allowed.outcome is Outcome.SENT
        assert server.auth_attempts == [(CREDENTIALS[0], True)] and not server.received[0].encrypted


async def test_a_certificate_the_client_does_not_trust_fails_without_sending(starttls_server, certificate):
    smtp = smtp_settings(starttls_server, certificate)
    del smtp["ca_file"]
    result = await send(channel_for(smtp))

    assert result.outcome is Outcome.FAILED and result.reason.startswith("TLS certificate not trusted")
    assert starttls_server.auth_attempts == [] and starttls_server.received == []


@pytest.mark.parametrize(
    ("stage", "reply", "outcome"),
    [
        ("mail", "421 4.3.2 Service shutting down", Outcome.RETRY),
        ("mail", "451 4.3.0 Temporary local problem", Outcome.RETRY),
        ("rcpt", "452 4.2.2 Mailbox full", Outcome.RETRY),
        ("data", "451 4.7.1 Greylisted, try again", Outcome.RETRY),
        ("mail", "550 5.7.1 Sender rejected", Outcome.FAILED),
        ("data", "554 5.6.0 Message refused", Outcome.FAILED),
        ("data", "552 5.3.4 Message too big", Outcome.FAILED),
    ],
)
async def test_smtp_replies_4xx_retry_and_5xx_fail(starttls_server, certificate, stage, reply, outcome):
    if stage == "rcpt":  # every recipient must be refused for the message to be refused
        starttls_server.script("rcpt", reply, reply)
    else:
        starttls_server.script(stage, reply)
    result = await send(channel_for(smtp_settings(starttls_server, certificate)))

    assert (result.outcome, result.status) == (outcome, int(reply[:3]))
    assert reply[4:] in result.reason or stage == "rcpt"
    assert starttls_server.received == []


async def test_some_recipients_refused_is_still_sent_and_says_so(starttls_server, certificate):
    starttls_server.refused_recipients["oncall@example.org"] = "550 5.1.1 No such user"
    result = await send(channel_for(smtp_settings(starttls_server, certificate)))

    assert result.outcome is Outcome.SENT and result.reason == "1 of 2 recipients refused [550]"
    assert starttls_server.received[0].rcpt_tos == ("secops@example.com",)


async def test_a_server_slower_than_the_timeout_is_retried(starttls_server, certificate):
    starttls_server.data_delay = 1.5
    started = time.monotonic()
    result = await send(channel_for(smtp_settings(starttls_server, certificate, timeout_seconds=0.4)))

    assert (result.outcome, result.reason) == (Outcome.RETRY, "no answer within 0.4s")
    assert time.monotonic() - started < 1.4


async def test_no_server_listening_is_retried(certificate):
    smtp = {"host": "127.0.0.1", "port": free_port(), "from": "alerts@example.com", "to": ["secops@example.com"]}
    result = await send(channel_for(smtp))

    assert result.outcome is Outcome.RETRY and result.reason == "connection failed: Connection refused"


def test_settings_without_a_host_build_no_channel():
    assert email.from_settings(load_config({"alerting": {"smtp": {"to": ["a@example.com"]}}}).alerting) is None


@pytest.mark.parametrize(
    ("smtp", "key", "problem"),
    [
        ({"to": ["a@example.com"]}, "smtp.from", "is required"),
        ({"from": "alerts@example.com"}, "smtp.to", "at least one recipient"),
        ({"from": "alerts@example.com", "to": ["a@example.com, b@example.com"]}, "smtp.to[0]", "single email address"),
        ({"from": "alerts@example.com\r\nBcc: x@evil.example", "to": ["a@example.com"]}, "smtp.from", "not a"),
        ({"from": "not an address", "to": ["a@example.com"]}, "smtp.from", "not a"),
        ({"from": "alerts@", "to": ["a@example.com"]}, "smtp.from", "not an email address"),
        ({"from": "alerts@example.com", "to": ["a@example.com"], "password": "hunter2-secret"}, "smtp.username", "go"),
        (
            {
                "from": "a@example.com",
                "to": ["b@example.com"],
                "host": "smtp.example.com",
                "allow_plaintext_auth": True,
            },
            "smtp.allow_plaintext_auth",
            "loopback",
        ),
        ({"from": "a@example.com", "to": ["b@example.com"], "port": 465, "use_tls": False}, "smtp.use_tls", "implicit"),
        (
            {"from": "a@example.com", "to": ["b@example.com"], "ca_file": "/nonexistent/ca.pem"},
            "smtp.ca_file",
            "cannot",
        ),
    ],
)
def test_invalid_settings_name_the_key_without_echoing_the_password(smtp, key, problem):
    with pytest.raises(ConfigError) as raised:
        email.from_settings(load_config({"alerting": {"smtp": {"host": "127.0.0.1", **smtp}}}).alerting)

    (issue,) = raised.value.issues
    assert issue.path == f"alerting.{key}" and problem in issue.problem
    assert "hunter2-secret" not in str(raised.value)
