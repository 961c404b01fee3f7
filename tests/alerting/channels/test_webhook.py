"""The generic webhook channel against a real HTTP receiver: body, Standard Webhooks signature, answers."""

from __future__ import annotations

import base64

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from nethical_otel.alerting.channels import webhook
from nethical_otel.alerting.channels._base import Outcome
from nethical_otel.alerting.channels._text import one_line
from nethical_otel.alerting.model import AlertChannel
from nethical_otel.config import ConfigError, load_config
from tests._support.alerting import verify_standard_webhook
from tests._support.emulators.alerts import HOSTILE, deliver, hostile_alert, make_alert, make_notification, resolved
from tests._support.recorder import RecordingServer, Reply

KEY = base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
SECRET = f"whsec_{KEY}"


def channel_for(url: str, **settings: object) -> webhook.WebhookChannel:
    channel = webhook.from_settings(load_config({"alerting": {"webhook_url": url, **settings}}).alerting)
    assert channel is not None
    return channel


@pytest.fixture
def receiver():
    with RecordingServer() as server:
        yield server


async def test_a_firing_alert_is_posted_as_an_alertmanager_v4_like_body_with_a_verifiable_signature(receiver):
    channel = channel_for(f"{receiver.url}/hook", webhook_secret=SECRET)
    notification = make_notification(make_alert(), AlertChannel.WEBHOOK, occurrences=38)
    assert (await deliver(channel, notification)).outcome is Outcome.SENT
    (request,) = receiver.received("/hook")
    verify_standard_webhook(request.headers, request.body, SECRET)
    assert request.headers["webhook-id"] == notification.idempotency_key
    assert request.headers["Content-Type"] == "application/json"
    body = request.json()
    alert = body["alerts"][0]
    assert body["version"] == "4" and body["status"] == "firing" and body["receiver"] == "nethical-otel"
    assert body["groupKey"] == notification.alert.fingerprint == alert["fingerprint"]
    assert body["occurrences"] == 38 and body["notification_reason"] == "first notification"
    assert body["commonLabels"] == {
        "alertname": "high_threat",
        "severity": "critical",
        "detector_type": "prompt_injection",
        "threat_level": "HIGH",
    }
    assert alert["endsAt"] == "0001-01-01T00:00:00Z" and alert["traceId"] == "0af7651916cd43dd8448eb211c80319c"


async def test_a_resolved_alert_says_so_with_its_end_time(receiver):
    channel = channel_for(f"{receiver.url}/hook")
    await deliver(channel, make_notification(resolved(make_alert()), AlertChannel.WEBHOOK))
    body = receiver.received("/hook")[0].json()
    assert body["status"] == "resolved" and body["alerts"][0]["endsAt"].endswith("Z")
    assert "webhook-signature" not in receiver.received("/hook")[0].headers  # no secret configured


def test_the_signature_covers_the_exact_bytes_and_a_retry_keeps_the_id():
    channel = channel_for("http://127.0.0.1:1/hook", webhook_secret="plain-text-secret")
    notification = make_notification(make_alert(), AlertChannel.WEBHOOK)
    first, again = channel.render(notification), channel.render(notification)
    assert first.body == again.body and first.headers["webhook-id"] == again.headers["webhook-id"]
    verify_standard_webhook(first.headers, first.body, "plain-text-secret")
    with pytest.raises(WebhookVerificationError):
        verify_standard_webhook(first.headers, first.body.replace(b"critical", b"info"), "plain-text-secret")


@pytest.mark.parametrize(
    "secret",
    [
        "whsec_" + base64.b64encode(b"k" * 32).decode(),  # the specification's format
        "whsec_" + base64.b64encode(b"k" * 32).decode().rstrip("="),  # unpadded: the library accepts it
        "whsec_" + base64.b64encode(b"k" * 31).decode().rstrip("="),
        base64.b64encode(b"k" * 24).decode(),  # no prefix
        "plain-text-secret",  # the library reads any string as base64, and so do we
    ],
)
def test_every_secret_the_official_library_accepts_signs_what_it_verifies(secret):
    channel = channel_for("http://127.0.0.1:1/hook", webhook_secret=secret)
    request = channel.render(make_notification(make_alert(), AlertChannel.WEBHOOK))
    assert Webhook(secret).verify(request.body, dict(request.headers))["receiver"] == "nethical-otel"


@pytest.mark.parametrize("secret", ["whsec_", "whsec_a", "é-not-ascii", "====="])
def test_a_secret_the_official_library_refuses_is_refused_at_configuration(secret):
    with pytest.raises(Exception) as library:
        Webhook(secret)
    with pytest.raises(ConfigError, match="webhook_secret") as ours:
        channel_for("http://127.0.0.1:1/hook", webhook_secret=secret)
    assert secret == "whsec_" or secret not in str(ours.value), library.value  # never echoed


@pytest.mark.parametrize("name", ["crlf_bcc", "html_script", "slack_control", "lone_surrogate", "huge"])
async def test_hostile_text_stays_inside_json_strings(receiver, name):
    channel = channel_for(f"{receiver.url}/hook", webhook_secret=SECRET)
    alert = hostile_alert(HOSTILE[name])
    assert (await deliver(channel, make_notification(alert, AlertChannel.WEBHOOK))).outcome is Outcome.SENT
    request = receiver.received("/hook")[0]
    verify_standard_webhook(request.headers, request.body, SECRET)
    body = request.json()
    title = body["alerts"][0]["title"]
    if name == "huge":  # cut so that the body stays within webhook_max_body_bytes
        assert len(request.body) <= 256 * 1024 and title.endswith("…") and title.startswith("AAAA")
    else:
        assert title == (one_line(HOSTILE[name]).strip() or "Untitled alert")
    assert set(request.headers) >= {"webhook-id", "webhook-timestamp", "webhook-signature"}
    assert not any(key.lower().startswith("bcc") for key in request.headers)


@pytest.mark.parametrize(
    ("reply", "outcome", "retry_after", "reason"),
    [
        (Reply(204), Outcome.SENT, None, ""),
        (Reply(500), Outcome.RETRY, None, "HTTP 500"),
        (Reply(429), Outcome.RETRY, None, "HTTP 429"),
        (Reply(429, headers={"Retry-After": "7"}), Outcome.RETRY_AFTER, 7.0, "HTTP 429"),
        (Reply(503, headers={"Retry-After": "2"}), Outcome.RETRY_AFTER, 2.0, "HTTP 503"),
        (Reply(400), Outcome.FAILED, None, "HTTP 400"),
        (Reply(410), Outcome.FAILED, None, "HTTP 410: the receiver asked to stop (endpoint gone)"),
        (Reply(302, headers={"Location": "/elsewhere"}), Outcome.FAILED, None, "HTTP 302: redirects are not followed"),
    ],
)
async def test_answers_are_classified_per_standard_webhooks(receiver, reply, outcome, retry_after, reason):
    receiver.default = reply
    delivery = await deliver(channel_for(f"{receiver.url}/hook"), make_notification(make_alert(), AlertChannel.WEBHOOK))
    assert (delivery.outcome, delivery.retry_after, delivery.reason) == (outcome, retry_after, reason)


async def test_a_refused_connection_is_retried_without_the_url_in_the_reason():
    channel = channel_for("http://127.0.0.1:1/hook/secret-token")
    delivery = await deliver(channel, make_notification(make_alert(), AlertChannel.WEBHOOK))
    assert delivery.outcome is Outcome.RETRY and "secret-token" not in delivery.reason


def test_settings_are_checked_with_the_key_and_never_echo_the_secret():
    assert webhook.from_settings(load_config({}).alerting) is None
    with pytest.raises(ConfigError, match=r"alerting\.webhook_url") as refused:
        channel_for("not a url with secret-token")
    assert "secret-token" not in str(refused.value)
    with pytest.raises(ConfigError, match=r"alerting\.webhook_secret"):
        channel_for("http://127.0.0.1:1/x", webhook_secret="whsec_%%%not-base64")
    assert repr(channel_for("https://hooks.example/x", webhook_secret=SECRET)) == "<WebhookChannel>"
