"""The Discord channel against the Discord webhook emulator on 127.0.0.1."""

from __future__ import annotations

import logging
import re
import time

import pytest

from nethical_otel.alerting.channels import discord
from nethical_otel.alerting.channels._base import Outcome
from nethical_otel.alerting.channels._text import body_text
from nethical_otel.alerting.model import AlertChannel, AlertSeverity
from nethical_otel.config import ChannelSettings, ConfigError, Secret, load_config
from tests._support.emulators.alerts import HOSTILE, deliver, hostile_alert, make_alert, make_notification, resolved
from tests._support.emulators.discord import DiscordEmulator
from tests._support.recorder import Reply

UNESCAPED_MARKDOWN = re.compile(r"(?<!\\)[\[\]<>*_~`|]")


@pytest.fixture
def emulator():
    with DiscordEmulator(limit=100) as server:
        yield server


def channel_for(server: DiscordEmulator, **settings) -> discord.DiscordChannel:
    config = load_config({"alerting": {"discord_webhook_url": server.webhook_url, **settings}})
    channel = discord.from_settings(config.alerting)
    assert channel is not None
    return channel


def embed_size(embed: dict) -> int:
    texts = [embed.get("title", ""), embed.get("description", ""), embed["footer"]["text"]]
    texts += [text for item in embed.get("fields", []) for text in (item["name"], item["value"])]
    return sum(len(text.encode("utf-16-le")) // 2 for text in texts)


async def test_firing_alert_arrives_as_one_embed_that_pings_nobody(emulator):
    alert = make_alert()
    result = await deliver(channel_for(emulator), make_notification(alert, AlertChannel.DISCORD, occurrences=3))

    assert (result.outcome, result.status) == (Outcome.SENT, 204)
    (message,) = emulator.messages
    assert message.payload["allowed_mentions"] == {"parse": []}
    assert "content" not in message.payload and message.pinged == []
    embed = message.embed
    assert embed["title"] == r"\[FIRING\] CRITICAL: Prompt injection detected"
    assert embed["color"] == discord.COLOURS[AlertSeverity.CRITICAL]
    assert embed["description"].startswith("Detector prompt\\_injection reported a HIGH threat.")
    assert "*and 2 more since " in embed["description"]
    assert {f["name"]: f["value"] for f in embed["fields"]} == {
        "detector\\_type": "prompt\\_injection",
        "threat\\_level": "HIGH",
        "trace\\_id": alert.trace_id,
        "span\\_id": alert.span_id,
    }
    assert embed["timestamp"].endswith("Z") and alert.fingerprint in embed["footer"]["text"]


async def test_resolved_alert_is_sent_green(emulator):
    channel = channel_for(emulator)
    result = await deliver(channel, make_notification(resolved(make_alert()), AlertChannel.DISCORD))

    assert result.outcome is Outcome.SENT and channel.delivers_resolved is True
    assert emulator.messages[0].embed["color"] == discord.RESOLVED_COLOUR


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_untrusted_strings_ping_nobody_and_cannot_smuggle_links_or_markdown(emulator, case):
    text = HOSTILE[case]
    result = await deliver(channel_for(emulator), make_notification(hostile_alert(text), AlertChannel.DISCORD))

    assert result.outcome is Outcome.SENT, result.reason
    (message,) = emulator.messages
    assert message.pinged == [] and message.payload["allowed_mentions"] == {"parse": []}
    embed = message.embed
    for shown in [embed["title"], embed["description"]] + [f["name"] + f["value"] for f in embed["fields"]]:
        assert UNESCAPED_MARKDOWN.search(shown) is None, shown[:200]
    assert "\r" not in embed["title"] and "\n" not in embed["title"]
    if len(text) < discord.FIELD_VALUE_LIMIT // 2:  # arrives whole: unescaping gives the text back
        assert re.sub(r"\\(.)", r"\1", embed["description"]) == body_text(text).strip()


@pytest.mark.parametrize(
    "shape",
    ["huge_message", "huge_title", "many_huge_labels", "huge_everything", "non_bmp_everywhere", "exactly_25_facts"],
)
async def test_every_embed_limit_holds_whatever_the_alert_carries(emulator, shape):
    huge, emoji = HOSTILE["huge"], HOSTILE["huge_non_bmp"]
    alert = {
        "huge_message": make_alert(message=huge),
        "huge_title": make_alert(title=huge.replace("A", "*")),
        "many_huge_labels": make_alert(labels={f"label_{i:02d}": huge for i in range(40)}),
        "huge_everything": make_alert(
            title=huge, message=huge, labels={f"{i}{huge[:500]}": huge for i in range(30)}, annotations={"a": huge}
        ),
        "non_bmp_everywhere": make_alert(title=emoji, message=emoji, labels={f"l{i}": emoji for i in range(30)}),
        "exactly_25_facts": make_alert(labels={f"label_{i:02d}": "v" for i in range(23)}),
    }[shape]
    result = await deliver(channel_for(emulator), make_notification(alert, AlertChannel.DISCORD, occurrences=9))

    assert result.outcome is Outcome.SENT, result.reason  # the emulator refuses any limit broken
    embed = emulator.messages[0].embed
    assert embed_size(embed) <= discord.TOTAL_LIMIT
    assert len(embed["fields"]) <= discord.MAX_FIELDS
    assert "\ufffd" not in embed["title"] + embed.get("description", "")  # no character cut in half
    if shape == "exactly_25_facts":
        assert len(embed["fields"]) == 25 and embed["fields"][-1]["name"] == r"span\_id"
    elif shape in ("many_huge_labels", "huge_everything", "non_bmp_everywhere"):
        assert embed["fields"][-1]["name"] == "…" and embed["fields"][-1]["value"].endswith("more not shown")
    if shape in ("huge_message", "huge_everything"):
        assert "A…" in embed["description"]  # the message is cut, the count it stands for is kept
        assert re.search(r"\*and 8 more since [^*]+ UTC\*$", embed["description"])


async def test_configured_roles_and_users_are_the_only_pings_and_only_for_critical(emulator):
    channel = channel_for(emulator, discord_mention_roles=["111122223333444455"], discord_mention_users=["42"])
    await deliver(channel, make_notification(make_alert(title="@everyone <@&999>"), AlertChannel.DISCORD))
    await deliver(channel, make_notification(make_alert(severity=AlertSeverity.INFO), AlertChannel.DISCORD))

    critical, info = emulator.messages
    assert critical.payload["allowed_mentions"] == {"parse": [], "roles": ["111122223333444455"], "users": ["42"]}
    assert critical.pinged == ["role:111122223333444455", "user:42"]
    assert info.pinged == [] and "content" not in info.payload


async def test_rate_limit_answers_retry_after_from_the_float_body_and_succeeds_after_it():
    with DiscordEmulator(limit=2, per_seconds=1.0) as server:
        channel = channel_for(server)
        results = [await deliver(channel, make_notification(make_alert(), AlertChannel.DISCORD)) for _ in range(3)]

        assert [r.outcome for r in results] == [Outcome.SENT, Outcome.SENT, Outcome.RETRY_AFTER]
        limited = results[-1]
        assert limited.status == 429 and 0.1 < limited.retry_after <= 0.5
        assert limited.retry_after != int(limited.retry_after)  # the precise float, not the rounded header
        time.sleep(limited.retry_after)
        assert (await deliver(channel, make_notification(make_alert(), AlertChannel.DISCORD))).outcome is Outcome.SENT


@pytest.mark.parametrize(
    ("headers", "delay"),
    [({"Retry-After": "3"}, 3.0), ({"X-RateLimit-Reset-After": "0.750"}, 0.75), ({}, None)],
)
async def test_rate_limit_without_a_body_falls_back_to_the_headers(emulator, headers, delay):
    emulator.fail_next(Reply(429, b"", headers))
    result = await deliver(channel_for(emulator), make_notification(make_alert(), AlertChannel.DISCORD))

    assert result.outcome is (Outcome.RETRY if delay is None else Outcome.RETRY_AFTER)
    assert result.retry_after == delay


@pytest.mark.parametrize(
    ("reply", "outcome", "reason"),
    [
        (Reply(502, b"<html>bad gateway</html>"), Outcome.RETRY, "HTTP 502: <html>bad gateway</html>"),
        (Reply(500, b'{"message": "Internal Server Error", "code": 0}'), Outcome.RETRY, "Internal Server Error"),
        (
            Reply(400, b'{"code": 50035, "message": "Invalid Form Body", "errors": {"embeds": ["0"]}}'),
            Outcome.FAILED,
            'HTTP 400: Invalid Form Body (code 50035) {"embeds":["0"]}',
        ),
        (Reply(404, b'{"message": "Unknown Webhook", "code": 10015}'), Outcome.FAILED, "Unknown Webhook (code 10015)"),
    ],
)
async def test_error_statuses_are_classified_with_discords_message(emulator, reply, outcome, reason):
    emulator.fail_next(reply)
    result = await deliver(channel_for(emulator), make_notification(make_alert(), AlertChannel.DISCORD))

    assert result.outcome is outcome and result.status == reply.status
    assert reason in result.reason


async def test_wrong_token_is_a_permanent_failure_that_never_shows_the_token(emulator, caplog):
    caplog.set_level(logging.DEBUG)
    url = emulator.webhook_url.replace(emulator.token, "another-token-that-is-also-secret-0123456789")
    channel = discord.from_settings(ChannelSettings(discord_webhook_url=Secret(url)))
    assert channel is not None
    result = await deliver(channel, make_notification(make_alert(), AlertChannel.DISCORD))

    assert (result.outcome, result.reason) == (Outcome.FAILED, "HTTP 401: Invalid Webhook Token (code 50027)")
    emulator.fail_next(Reply(400, f'{{"message": "bad {emulator.webhook_url}"}}'.encode()))
    echoed = await deliver(channel_for(emulator), make_notification(make_alert(), AlertChannel.DISCORD))
    assert echoed.outcome is Outcome.FAILED and "***" in echoed.reason
    for text in (repr(channel), result.reason, echoed.reason, caplog.text):
        assert emulator.token not in text and "another-token" not in text


async def test_slow_service_beyond_the_request_timeout_is_retried(emulator):
    emulator.latency = 1.0
    result = await deliver(
        channel_for(emulator, request_timeout_seconds=0.3), make_notification(make_alert(), AlertChannel.DISCORD)
    )

    assert (result.outcome, result.reason) == (Outcome.RETRY, "no answer within 0.3s")


def test_settings_without_a_webhook_url_build_no_channel():
    assert discord.from_settings(ChannelSettings()) is None


@pytest.mark.parametrize(
    ("settings", "key"),
    [
        ({"discord_webhook_url": "http://discord.example/api/webhooks/1/secret-token-value"}, "discord_webhook_url"),
        (
            {"discord_webhook_url": "https://discord.example/api/webhooks/1/t", "discord_mention_roles": ["@admins"]},
            "discord_mention_roles[0]",
        ),
        (
            {"discord_webhook_url": "https://discord.example/api/webhooks/1/t", "discord_mention_users": ["1"] * 101},
            "discord_mention_users",
        ),
    ],
)
def test_invalid_settings_name_the_key_without_echoing_the_url(settings, key):
    with pytest.raises(ConfigError) as raised:
        discord.from_settings(load_config({"alerting": settings}).alerting)

    assert [issue.path for issue in raised.value.issues] == [f"alerting.{key}"]
    assert "secret-token-value" not in str(raised.value)
