"""The original AlertManager API end to end: a real webhook receiver on 127.0.0.1, a real SQLite file."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from nethical_otel.alerting import AlertChannel, AlertManager, AlertSeverity, DeliveryStatus
from nethical_otel.config import ConfigError
from tests._support.alerting import running, settings, settled, statuses, verify_standard_webhook, wait_for_history
from tests._support.recorder import RecordingServer, Reply

SECRET = "whsec_" + "c2VjcmV0LWtleS1mb3ItdGVzdHMtMDEyMzQ1Njc4OQ=="


@pytest.fixture
def receiver():
    with RecordingServer() as server:
        yield server


async def test_send_alert_is_accepted_durably_then_delivered_with_the_original_history_keys(tmp_path, receiver):
    with running(tmp_path, webhook_url=f"{receiver.url}/hook", webhook_secret=SECRET) as manager:
        receipt = await manager.send_alert(
            title="Critical Threat",
            message="High-severity threat detected",
            severity=AlertSeverity.CRITICAL,
            channels=[AlertChannel.WEBHOOK],
            metadata={"detector": "prompt_injection", "score": 0.97},
        )
        assert receipt is not None and receipt.id >= 1
        (request,) = receiver.wait_for(1, "/hook")
        verify_standard_webhook(request.headers, request.body, SECRET)
        body = request.json()
        assert body["status"] == "firing" and body["version"] == "4"
        assert body["commonLabels"] == {"alertname": "Critical Threat", "severity": "critical"}
        assert body["alerts"][0]["annotations"] == {"detector": "prompt_injection", "score": "0.97"}
        (entry,) = wait_for_history(manager, settled)
    assert entry["title"] == "Critical Threat" and entry["message"] == "High-severity threat detected"
    assert entry["severity"] == "critical" and entry["channels"] == ["webhook"]
    assert entry["metadata"] == {"detector": "prompt_injection", "score": 0.97}
    assert entry["timestamp"].endswith("+00:00") and entry["id"] == receipt.id
    delivery = entry["delivery"]["webhook"]
    assert delivery["status"] == "sent" and delivery["attempts"] == 1
    assert delivery["idempotency_key"] == request.headers["webhook-id"]


def test_send_alert_sync_works_without_an_event_loop_and_strings_are_accepted(tmp_path, receiver):
    with running(tmp_path, webhook_url=f"{receiver.url}/hook") as manager:
        receipt = manager.send_alert_sync("Disk", "almost full", "warning", ["webhook"])
        assert receipt is not None
        receiver.wait_for(1, "/hook")
        assert manager.delivery_status(receipt) == {"webhook": ("sent", "")}


def test_repeats_of_one_title_are_grouped_and_reported_as_a_count(tmp_path, receiver):
    with running(tmp_path, webhook_url=f"{receiver.url}/hook", repeat_interval_seconds=1.0) as manager:
        for _ in range(6):
            manager.send_alert_sync("Storm", "again", AlertSeverity.WARNING)
        receiver.wait_for(1, "/hook")
        (follow_up_request,) = receiver.wait_for(2, "/hook")[1:]
        history = wait_for_history(manager, settled)
    follow_up = follow_up_request.json()
    assert follow_up["occurrences"] == 5 and follow_up["notification_reason"] == "repeat interval elapsed"
    assert [statuses(e)["webhook"] for e in history] == ["sent"] + ["grouped"] * 5
    reported = {e["delivery"]["webhook"]["reported_by"]["idempotency_key"] for e in history[1:]}
    assert reported == {follow_up_request.headers["webhook-id"]}
    assert len(receiver.received("/hook")) == 2


def test_a_channel_that_is_not_configured_is_recorded_as_failed_with_the_reason(tmp_path, receiver):
    with running(tmp_path, webhook_url=f"{receiver.url}/hook") as manager:
        manager.send_alert_sync("x", "y", "info", [AlertChannel.SLACK, AlertChannel.WEBHOOK])
        (entry,) = wait_for_history(manager, settled)
    assert entry["delivery"]["slack"] == {"status": "failed", "reason": "channel slack is not configured"}
    assert entry["delivery"]["webhook"]["status"] == "sent"


def test_default_channels_are_the_configured_ones_and_console_is_the_fallback(tmp_path, receiver):
    with running(tmp_path, webhook_url=f"{receiver.url}/hook", console="on") as manager:
        assert manager.default_channels == (AlertChannel.WEBHOOK, AlertChannel.CONSOLE)
    with running(tmp_path, console="auto") as manager:
        assert list(manager.channels) == [AlertChannel.CONSOLE]
    with running(tmp_path, console="off") as manager:
        assert manager.channels == {}


def test_disabled_alerting_sends_nothing_and_keeps_no_history(tmp_path):
    manager = AlertManager({"enabled": False, "storage_path": str(tmp_path / "a.db")})
    assert manager.send_alert_sync("t", "m", AlertSeverity.CRITICAL) is None
    assert asyncio.run(manager.send_alert("t", "m", AlertSeverity.CRITICAL)) is None
    assert manager.get_alert_history() == [] and manager.clear_history() == 0
    assert not (tmp_path / "a.db").exists()
    manager.shutdown()


def test_invalid_settings_are_refused_with_the_key_and_never_the_secret(tmp_path):
    with pytest.raises(ConfigError) as refused:
        AlertManager(settings(tmp_path, max_alerts_per_minute=0, webhook_url="ftp://secret-token@host/x"))
    text = str(refused.value)
    assert "alerting.max_alerts_per_minute" in text and "secret-token" not in text
    with pytest.raises(ConfigError, match=r"alerting\.webhook_url"):
        AlertManager(settings(tmp_path, webhook_url="ftp://secret-token@host/x"))
    with pytest.raises(ConfigError, match=r"alerting\.default_channels\[0\]"):
        AlertManager(settings(tmp_path, default_channels=["pager"]))
    with pytest.raises(ValueError):
        AlertManager(settings(tmp_path)).send_alert_sync("t", "m", "urgent")


def test_clear_history_returns_the_count_and_empties_it(tmp_path, receiver):
    with running(tmp_path, webhook_url=f"{receiver.url}/hook") as manager:
        for i in range(3):
            manager.send_alert_sync(f"t{i}", "m", "info")
        wait_for_history(manager, lambda h: len(h) == 3 and settled(h))
        assert manager.clear_history() == 3
        assert manager.get_alert_history() == [] and manager.alert_history == []


def test_silences_mute_matching_alerts_until_expired_and_survive_a_restart(tmp_path, receiver):
    with running(tmp_path, webhook_url=f"{receiver.url}/hook") as manager:
        silence = manager.add_silence({"alertname": "Noisy"}, duration_seconds=3600, comment="maintenance")
        manager.send_alert_sync("Noisy", "m", "critical")
        manager.send_alert_sync("Other", "m", "critical")
        history = wait_for_history(manager, lambda h: len(h) == 2 and settled(h))
        assert [statuses(e)["webhook"] for e in history] == ["silenced", "sent"]
        assert silence.id in history[0]["delivery"]["webhook"]["reason"]
    with running(tmp_path, webhook_url=f"{receiver.url}/hook") as manager:
        assert [s.id for s in manager.silences()] == [silence.id]
        assert manager.expire_silence(silence.id) is True
        assert manager.silences() == []
        manager.send_alert_sync("Noisy", "m", "critical")
        history = wait_for_history(manager, lambda h: len(h) == 3 and settled(h))
        assert statuses(history[-1])["webhook"] == "sent"


def test_secrets_appear_in_no_repr_history_or_log(tmp_path, caplog):
    hook_secret = "T000/B000/XXXXsupersecretXXXX"
    with RecordingServer() as server:
        url = f"{server.url}/services/{hook_secret}"
        caplog.set_level(logging.DEBUG)
        with running(
            tmp_path,
            webhook_url=url,
            webhook_secret="signing-secret-value",
            slack_webhook_url=f"{server.url}/slack/{hook_secret}",
            pagerduty_api_key="0123456789abcdef0123456789abcdef",
            pagerduty_events_url=f"{server.url}/v2/enqueue",
        ) as manager:
            # Error pages often quote the path they could not find: for webhooks that path is the secret.
            server.handler = lambda request: Reply(status=404, body=f"no route {request.path}".encode())
            manager.send_alert_sync("t", "m", "critical", ["webhook", "slack", "pagerduty"])
            history = wait_for_history(manager, settled)
            shown = repr(manager) + repr(manager.config) + repr(manager.channels) + repr(history)
    for secret in (hook_secret, "signing-secret-value", "0123456789abcdef0123456789abcdef"):
        assert secret not in shown
        assert secret not in caplog.text
    assert history[0]["delivery"]["webhook"]["status"] == "failed"


def test_wait_for_delivery_reports_final_statuses(tmp_path, receiver):
    with running(tmp_path, webhook_url=f"{receiver.url}/hook") as manager:
        receipt = manager.send_alert_sync("t", "m", "info")
        started = time.monotonic()
        states = asyncio.run(manager.wait_for_delivery(receipt, timeout=10))
        assert states == {"webhook": ("sent", "")} and time.monotonic() - started < 5


def test_shutdown_reports_counted_occurrences_at_once_instead_of_leaving_them_behind(tmp_path, receiver):
    with running(tmp_path, webhook_url=f"{receiver.url}/hook", repeat_interval_seconds=3600) as manager:
        for _ in range(4):
            manager.send_alert_sync("Storm", "again", "warning")
        receiver.wait_for(1, "/hook")
    final = receiver.wait_for(2, "/hook")[1].json()
    assert final["occurrences"] == 3 and final["notification_reason"] == "repeat interval elapsed"


def test_history_filters_take_names_or_enums_and_the_history_stays_readable_after_shutdown(tmp_path, receiver):
    with running(tmp_path, webhook_url=f"{receiver.url}/hook") as manager:
        manager.send_alert_sync("disk", "m", "warning")
        manager.send_alert_sync("breach", "m", AlertSeverity.CRITICAL, ["webhook", "slack"])  # slack: unconfigured
        wait_for_history(manager, lambda h: len(h) == 2 and settled(h))
        titles = lambda **query: [e["title"] for e in manager.get_alert_history(**query)]  # noqa: E731
        assert titles(severity="critical") == titles(severity=[AlertSeverity.CRITICAL]) == ["breach"]
        assert titles(status=DeliveryStatus.FAILED) == titles(status="failed") == ["breach"]
        assert titles(channel=AlertChannel.SLACK) == ["breach"] and titles(status="firing") == ["disk", "breach"]
    assert manager.store_path == str(tmp_path / "alerts.sqlite3")
    assert [e["title"] for e in manager.get_alert_history()] == ["disk", "breach"]  # read from the file itself
    assert manager.send_alert_sync("late", "m", "info") is None
    assert manager.clear_history() == 2 and manager.get_alert_history() == []
