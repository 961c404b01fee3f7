"""The Slack channel against the Slack webhook emulator on 127.0.0.1."""

from __future__ import annotations

import html
import logging
import time
from email.utils import formatdate

import pytest

from nethical_otel.alerting.channels import slack
from nethical_otel.alerting.channels._base import Outcome
from nethical_otel.alerting.channels._text import body_text, one_line
from nethical_otel.alerting.model import AlertChannel, AlertSeverity
from nethical_otel.config import ChannelSettings, ConfigError, Secret, load_config
from tests._support.emulators.alerts import HOSTILE, deliver, hostile_alert, make_alert, make_notification, resolved
from tests._support.emulators.slack import SlackEmulator
from tests._support.net import free_port
from tests._support.recorder import Reply


@pytest.fixture
def emulator():
    with SlackEmulator(burst=100) as server:
        yield server


def channel_for(server: SlackEmulator, **settings) -> slack.SlackChannel:
    config = load_config({"alerting": {"slack_webhook_url": server.webhook_url, **settings}})
    channel = slack.from_settings(config.alerting)
    assert channel is not None
    return channel


def unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


async def test_firing_alert_arrives_as_one_coloured_attachment_with_labels_as_fields(emulator):
    alert = make_alert(annotations={"runbook": "https://runbooks.example/pi"})
    result = await deliver(channel_for(emulator), make_notification(alert, AlertChannel.SLACK, occurrences=38))

    assert result.outcome is Outcome.SENT and result.status == 200
    (message,) = emulator.messages
    attachment = message.attachment
    assert attachment["color"] == "#D00000"
    assert attachment["title"] == "[FIRING] CRITICAL: Prompt injection detected"
    assert attachment["text"].startswith("Detector prompt_injection reported a HIGH threat.")
    assert "and 37 more since" in attachment["text"]
    fields = {f["title"]: f["value"] for f in attachment["fields"]}
    assert fields == {
        "detector_type": "prompt_injection",
        "threat_level": "HIGH",
        "runbook": "https://runbooks.example/pi",
        "trace_id": alert.trace_id,
        "span_id": alert.span_id,
    }
    assert alert.fingerprint in attachment["footer"]
    assert attachment["ts"] == int(alert.starts_at)
    assert message.control_sequences == [] and message.violations == []


async def test_resolved_alert_is_green_and_slack_is_not_told_by_default(emulator):
    channel = channel_for(emulator)
    result = await deliver(channel, make_notification(resolved(make_alert()), AlertChannel.SLACK))

    assert result.outcome is Outcome.SENT
    assert emulator.messages[0].attachment["color"] == "#2EB886"
    assert emulator.messages[0].attachment["title"].startswith("[RESOLVED]")
    assert channel.delivers_resolved is False  # Alertmanager's default for Slack


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_untrusted_strings_are_escaped_so_no_mention_or_link_is_injected(emulator, case):
    text = HOSTILE[case]
    result = await deliver(channel_for(emulator), make_notification(hostile_alert(text), AlertChannel.SLACK))

    assert result.outcome is Outcome.SENT, result.reason
    (message,) = emulator.messages
    assert message.control_sequences == []
    assert message.violations == []
    attachment = message.attachment
    if len(text) < slack.FIELD_VALUE_LIMIT:  # short enough to arrive whole: escaping loses nothing
        assert unescape(attachment["text"]) == body_text(text)  # the one policy: controls and bidi gone
        category = next(f["value"] for f in attachment["fields"] if f["title"] == "threat_category")
        assert category == html.escape(one_line(text), quote=False)


async def test_every_slack_limit_holds_for_100kb_strings_and_many_labels(emulator):
    huge, emoji = HOSTILE["huge"], HOSTILE["huge_non_bmp"]
    labels = {f"label_{index:02d}_{huge[:300]}": emoji for index in range(40)}
    alert = make_alert(title=emoji, message=huge.replace("A", "<"), labels=labels, annotations={"a": huge})
    result = await deliver(channel_for(emulator), make_notification(alert, AlertChannel.SLACK))

    assert result.outcome is Outcome.SENT
    (message,) = emulator.messages
    assert message.violations == [] and message.control_sequences == []
    attachment = message.attachment
    assert len(attachment["title"].encode("utf-16-le")) // 2 <= slack.TITLE_LIMIT
    assert attachment["title"].endswith("…") and "\ufffd" not in attachment["title"]  # no emoji cut in half
    assert len(attachment["text"]) <= slack.TEXT_LIMIT and attachment["text"].endswith("&lt;…")
    assert len(attachment["fields"]) == slack.MAX_FIELDS
    assert attachment["fields"][-1] == {"title": "…", "value": "24 more not shown", "short": False}
    for item in attachment["fields"]:
        assert len(item["title"]) <= slack.FIELD_TITLE_LIMIT and len(item["value"]) <= slack.FIELD_VALUE_LIMIT


async def test_configured_mentions_go_only_on_firing_alerts_at_the_mention_severity(emulator):
    channel = channel_for(emulator, slack_mentions=["<!here>", "<!subteam^S0SECOPS>"], mention_severity="critical")
    critical = make_alert(title="<!channel> from the attacker")
    await deliver(channel, make_notification(critical, AlertChannel.SLACK))
    await deliver(channel, make_notification(make_alert(severity=AlertSeverity.WARNING), AlertChannel.SLACK))
    await deliver(channel, make_notification(resolved(critical), AlertChannel.SLACK))

    first, warning, resolution = emulator.messages
    assert first.control_sequences == [
        ("attachments[0].pretext", "<!here>"),
        ("attachments[0].pretext", "<!subteam^S0SECOPS>"),
    ]
    assert "pretext" in first.attachment["mrkdwn_in"]
    assert warning.control_sequences == [] and "pretext" not in warning.attachment
    assert resolution.control_sequences == []


@pytest.mark.parametrize(
    ("status", "error", "outcome"),
    [
        (500, "rollup_error", Outcome.RETRY),
        (503, "service_unavailable", Outcome.RETRY),
        (400, "invalid_attachments", Outcome.FAILED),
        (403, "action_prohibited", Outcome.FAILED),
        (404, "channel_not_found", Outcome.FAILED),
        (410, "channel_is_archived", Outcome.FAILED),
    ],
)
async def test_error_statuses_are_classified_with_slacks_reason(emulator, status, error, outcome):
    emulator.refuse_next(status, error)
    result = await deliver(channel_for(emulator), make_notification(make_alert(), AlertChannel.SLACK))

    assert (result.outcome, result.status) == (outcome, status)
    assert result.reason == f"HTTP {status}: {error}"
    assert emulator.messages == []


async def test_ok_false_json_answer_is_a_permanent_failure(emulator):
    emulator.answer_ok_false("invalid_blocks")
    result = await deliver(channel_for(emulator), make_notification(make_alert(), AlertChannel.SLACK))

    assert result.outcome is Outcome.FAILED
    assert result.reason == "Slack refused: invalid_blocks"


async def test_rate_limit_answers_retry_after_and_the_delivery_succeeds_after_that_delay():
    with SlackEmulator(rate_per_second=1.0, burst=2) as server:
        channel = channel_for(server)
        results = [await deliver(channel, make_notification(make_alert(), AlertChannel.SLACK)) for _ in range(3)]
        assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT, Outcome.RETRY_AFTER]
        limited = results[-1]
        assert limited.status == 429 and limited.retry_after == 1.0
        time.sleep(limited.retry_after)
        assert (await deliver(channel, make_notification(make_alert(), AlertChannel.SLACK))).outcome is Outcome.SENT
        assert len(server.messages) == 3


@pytest.mark.parametrize(
    ("make_reply", "low", "high"),
    [
        (lambda: Reply(429, b"rate_limited", {"Retry-After": "12"}), 12.0, 12.0),
        (lambda: Reply(429, b"", {"Retry-After": formatdate(time.time() + 30, usegmt=True)}), 25.0, 30.0),
        (lambda: Reply(429, b'{"ok": false, "retry_after": 2}', {"Content-Type": "application/json"}), 2.0, 2.0),
        (lambda: Reply(429, b"", {"Retry-After": str(10**9)}), 3600.0, 3600.0),
    ],
    ids=["seconds", "http-date", "json-body", "capped"],
)
async def test_retry_after_is_read_as_seconds_or_a_date_and_capped_at_an_hour(emulator, make_reply, low, high):
    emulator.fail_next(make_reply())
    result = await deliver(channel_for(emulator), make_notification(make_alert(), AlertChannel.SLACK))

    assert result.outcome is Outcome.RETRY_AFTER and low <= result.retry_after <= high


async def test_slow_service_beyond_the_request_timeout_is_retried(emulator):
    emulator.latency = 1.0
    channel = channel_for(emulator, request_timeout_seconds=0.3)
    started = time.monotonic()
    result = await deliver(channel, make_notification(make_alert(), AlertChannel.SLACK))

    assert result.outcome is Outcome.RETRY and result.reason == "no answer within 0.3s"
    assert time.monotonic() - started < 0.9


async def test_unreachable_service_is_retried_without_naming_the_url():
    url = f"http://127.0.0.1:{free_port()}/services/T0/B0/unreachable-secret-token-xyz"
    channel = slack.from_settings(ChannelSettings(slack_webhook_url=Secret(url)))
    assert channel is not None
    result = await deliver(channel, make_notification(make_alert(), AlertChannel.SLACK))

    assert result.outcome is Outcome.RETRY
    assert result.reason == "connection failed: ClientConnectorError"


async def test_webhook_secret_stays_out_of_reprs_reasons_and_logs(emulator, caplog):
    caplog.set_level(logging.DEBUG)
    wrong = emulator.webhook_url.replace(emulator.secret, "wrong-secret-but-still-a-secret-0123")
    channel = slack.from_settings(ChannelSettings(slack_webhook_url=Secret(wrong)))
    assert channel is not None
    result = await deliver(channel, make_notification(make_alert(), AlertChannel.SLACK))

    assert (result.outcome, result.reason) == (Outcome.FAILED, "HTTP 403: invalid_token")
    emulator.refuse_next(400, f"echoing the url {emulator.webhook_url} back")
    echoed = await deliver(channel_for(emulator), make_notification(make_alert(), AlertChannel.SLACK))
    assert echoed.outcome is Outcome.FAILED
    for text in (repr(channel), repr(channel_for(emulator)), result.reason, echoed.reason, caplog.text):
        assert emulator.secret not in text and "wrong-secret" not in text


def test_settings_without_a_webhook_url_build_no_channel():
    assert slack.from_settings(ChannelSettings()) is None


@pytest.mark.parametrize(
    ("settings", "key", "problem"),
    [
        (
            {"slack_webhook_url": "http://hooks.example.com/services/T/B/plaintext-secret-value"},
            "alerting.slack_webhook_url",
            "must use https://",
        ),
        ({"slack_webhook_url": "hooks.example.com/no-scheme-secret-value"}, "alerting.slack_webhook_url", "absolute"),
        (
            {"slack_webhook_url": "https://hooks.example.com/s", "slack_mentions": ["<!here>", "@channel"]},
            "alerting.slack_mentions[1]",
            "is not a Slack mention",
        ),
    ],
)
def test_invalid_settings_name_the_key_without_echoing_the_secret(settings, key, problem):
    with pytest.raises(ConfigError) as raised:
        slack.from_settings(load_config({"alerting": settings}).alerting)

    (issue,) = raised.value.issues
    assert issue.path == key and problem in issue.problem
    assert "secret-value" not in str(raised.value)
