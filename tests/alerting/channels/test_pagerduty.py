"""The PagerDuty channel against the Events API v2 emulator on 127.0.0.1."""

from __future__ import annotations

import json
import logging

import pytest

from nethical_otel.alerting.channels import pagerduty
from nethical_otel.alerting.channels._base import Outcome
from nethical_otel.alerting.model import AlertChannel, AlertSeverity
from nethical_otel.config import ConfigError, load_config
from tests._support.emulators.alerts import HOSTILE, deliver, hostile_alert, make_alert, make_notification, resolved
from tests._support.emulators.pagerduty import PagerDutyEmulator
from tests._support.recorder import Reply

ROUTING_KEY = "R0UT1NGK3Y0F32CHARACTERSxyz01234"


@pytest.fixture
def emulator():
    with PagerDutyEmulator() as server:
        yield server


def channel_for(server: PagerDutyEmulator, **settings) -> pagerduty.PagerDutyChannel:
    alerting = {"pagerduty_api_key": ROUTING_KEY, "pagerduty_events_url": server.events_url, **settings}
    channel = pagerduty.from_settings(load_config({"alerting": alerting}).alerting)
    assert channel is not None
    return channel


async def test_the_incident_follows_the_alert_trigger_dedup_resolve_and_a_new_incident_after(emulator):
    channel = channel_for(emulator)
    alert = make_alert()
    key = pagerduty.dedup_key(alert)

    assert (await deliver(channel, make_notification(alert, AlertChannel.PAGERDUTY, key="1"))).status == 202
    (incident,) = emulator.incidents_for(key)
    assert incident.status == "triggered"

    repeat = make_notification(alert, AlertChannel.PAGERDUTY, occurrences=12, key="2")
    assert (await deliver(channel, repeat)).outcome is Outcome.SENT
    assert emulator.incidents_for(key) == [incident] and len(incident.events) == 2  # same incident

    assert (await deliver(channel, make_notification(resolved(alert), AlertChannel.PAGERDUTY))).outcome is Outcome.SENT
    assert incident.status == "resolved"

    assert (await deliver(channel, make_notification(make_alert(), AlertChannel.PAGERDUTY, key="3"))).status == 202
    first, second = emulator.incidents_for(key)
    assert (first.status, second.status) == ("resolved", "triggered")
    assert [entry.outcome for entry in emulator.log] == ["opened", "deduplicated", "resolved", "opened"]


async def test_dedup_key_is_stable_for_an_alert_and_different_between_alerts(emulator):
    channel = channel_for(emulator)
    one = make_alert(labels={"detector_type": "prompt_injection"})
    other = make_alert(labels={"detector_type": "jailbreak"})
    for alert in (one, other, make_alert(labels={"detector_type": "prompt_injection"}, starts_at=1.0)):
        assert (await deliver(channel, make_notification(alert, AlertChannel.PAGERDUTY))).outcome is Outcome.SENT

    assert len(emulator.incidents) == 2
    assert pagerduty.dedup_key(one) == f"nethical-otel/{one.fingerprint}"
    assert [e.event["dedup_key"] for e in emulator.log] == [pagerduty.dedup_key(a) for a in (one, other, one)]


async def test_trigger_carries_summary_source_severity_and_the_alert_details(emulator):
    alert = make_alert(labels={"detector_type": "prompt_injection", "threat_category": "jailbreak"})
    channel = channel_for(emulator, pagerduty_source="detector-host-7")
    await deliver(channel, make_notification(alert, AlertChannel.PAGERDUTY, occurrences=5))

    event = emulator.log[0].event
    assert set(event) == {"routing_key", "event_action", "dedup_key", "payload", "client"}
    payload = event["payload"]
    assert payload["summary"].startswith("[FIRING] CRITICAL: Prompt injection detected (and 4 more since ")
    assert (payload["source"], payload["severity"], payload["group"]) == ("detector-host-7", "critical", "high_threat")
    assert (payload["component"], payload["class"]) == ("prompt_injection", "jailbreak")
    details = payload["custom_details"]
    assert details["labels"] == dict(alert.labels) and details["occurrences"] == 5
    assert (details["trace_id"], details["span_id"]) == (alert.trace_id, alert.span_id)


async def test_resolve_event_carries_only_the_key_fields(emulator):
    channel = channel_for(emulator)
    alert = make_alert()
    await deliver(channel, make_notification(alert, AlertChannel.PAGERDUTY))
    await deliver(channel, make_notification(resolved(alert), AlertChannel.PAGERDUTY))

    assert emulator.log[1].event == {
        "routing_key": ROUTING_KEY,
        "dedup_key": pagerduty.dedup_key(alert),
        "event_action": "resolve",
    }
    assert channel.delivers_resolved is True


@pytest.mark.parametrize(
    ("severity", "expected"),
    [(AlertSeverity.CRITICAL, "critical"), (AlertSeverity.WARNING, "warning"), (AlertSeverity.INFO, "info")],
)
async def test_severity_maps_onto_pagerdutys_levels(emulator, severity, expected):
    await deliver(channel_for(emulator), make_notification(make_alert(severity=severity), AlertChannel.PAGERDUTY))

    assert emulator.log[0].event["payload"]["severity"] == expected


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_untrusted_strings_keep_the_event_valid_and_the_summary_one_line(emulator, case):
    result = await deliver(
        channel_for(emulator), make_notification(hostile_alert(HOSTILE[case]), AlertChannel.PAGERDUTY)
    )

    assert result.outcome is Outcome.SENT, result.reason
    summary = emulator.log[0].event["payload"]["summary"]
    assert len(summary.encode("utf-16-le")) // 2 <= pagerduty.SUMMARY_LIMIT
    assert not any(char in summary for char in "\r\n\x00\x1b\x85\u2028")


@pytest.mark.parametrize(
    ("labels", "expected_details"),
    [
        ({f"label_{i}": HOSTILE["huge"] for i in range(8)}, "cut"),  # 900 KB of details: each string cut
        ({f"label_{i}": HOSTILE["huge"][:5000] for i in range(300)}, "removed"),  # still too big once cut
    ],
)
async def test_events_over_512kb_are_cut_and_then_stripped_of_details(emulator, labels, expected_details):
    alert = make_alert(title=HOSTILE["huge_non_bmp"], message=HOSTILE["huge"], labels=labels)
    notification = make_notification(alert, AlertChannel.PAGERDUTY)
    request = channel_for(emulator).render(notification)
    result = await deliver(channel_for(emulator), notification)

    assert result.outcome is Outcome.SENT, result.reason
    assert len(request.body) <= pagerduty.EVENT_LIMIT_BYTES
    payload = json.loads(request.body)["payload"]
    assert payload["summary"].endswith("…") and len(payload["summary"]) <= pagerduty.SUMMARY_LIMIT
    details = payload["custom_details"]
    if expected_details == "cut":
        assert details["message"].endswith("…") and len(details["message"]) == pagerduty.DETAIL_LIMIT
        assert all(value.endswith("…") for value in details["labels"].values())
    else:
        assert details == {"error": "custom details removed: the event exceeded 512000 bytes"}


@pytest.mark.parametrize(
    ("reply", "outcome"),
    [
        (Reply(500), Outcome.RETRY),
        (Reply(502, b"<html>Bad Gateway</html>"), Outcome.RETRY),
        (Reply(503), Outcome.RETRY),
        (Reply(403, b"Forbidden"), Outcome.FAILED),
    ],
)
async def test_server_errors_retry_and_other_refusals_fail(emulator, reply, outcome):
    emulator.fail_next(reply)
    result = await deliver(channel_for(emulator), make_notification(make_alert(), AlertChannel.PAGERDUTY))

    assert (result.outcome, result.status) == (outcome, reply.status)
    assert emulator.incidents == []


async def test_invalid_event_fails_with_pagerdutys_message_and_errors(emulator):
    body = {
        "status": "invalid event",
        "message": "Event object is invalid",
        "errors": ["Length of 'routing_key' is incorrect (should be 32 characters)", f"echo {ROUTING_KEY}"],
    }
    emulator.fail_next(Reply(400, json.dumps(body).encode(), {"Content-Type": "application/json"}))
    result = await deliver(channel_for(emulator), make_notification(make_alert(), AlertChannel.PAGERDUTY))

    assert result.outcome is Outcome.FAILED
    assert result.reason == (
        "HTTP 400: Event object is invalid Length of 'routing_key' is incorrect (should be 32 characters); echo ***"
    )


async def test_throttling_is_retried():
    with PagerDutyEmulator(limit_per_minute=2) as server:
        channel = channel_for(server)
        outcomes = [
            (await deliver(channel, make_notification(make_alert(), AlertChannel.PAGERDUTY))).outcome for _ in range(3)
        ]
        assert outcomes == [Outcome.SENT, Outcome.SENT, Outcome.RETRY]
        assert server.requests[-1].path == "/v2/enqueue" and len(server.log) == 2


async def test_slow_service_beyond_the_request_timeout_is_retried(emulator):
    emulator.latency = 1.0
    channel = channel_for(emulator, request_timeout_seconds=0.3)
    result = await deliver(channel, make_notification(make_alert(), AlertChannel.PAGERDUTY))

    assert (result.outcome, result.reason) == (Outcome.RETRY, "no answer within 0.3s")


async def test_routing_key_stays_out_of_reprs_reasons_and_logs(emulator, caplog):
    caplog.set_level(logging.DEBUG)
    channel = channel_for(emulator)
    emulator.fail_next(Reply(400, f"unknown key {ROUTING_KEY}".encode()))
    result = await deliver(channel, make_notification(make_alert(), AlertChannel.PAGERDUTY))

    assert result.reason == "HTTP 400: unknown key ***"
    for text in (repr(channel), result.reason, caplog.text):
        assert ROUTING_KEY not in text


def test_settings_without_a_routing_key_build_no_channel():
    assert pagerduty.from_settings(load_config({}).alerting) is None


@pytest.mark.parametrize(
    ("settings", "key", "problem"),
    [
        ({"pagerduty_api_key": "tooshort-secret"}, "pagerduty_api_key", "(got 15 characters)"),
        ({"pagerduty_api_key": "x" * 31 + "!"}, "pagerduty_api_key", "letters and digits"),
        (
            {"pagerduty_api_key": ROUTING_KEY, "pagerduty_events_url": "http://events.example/v2/enqueue"},
            "pagerduty_events_url",
            "must use https://",
        ),
        ({"pagerduty_api_key": ROUTING_KEY, "pagerduty_source": "\r\n"}, "pagerduty_source", "must not be empty"),
    ],
)
def test_invalid_settings_name_the_key_without_echoing_the_routing_key(settings, key, problem):
    with pytest.raises(ConfigError) as raised:
        pagerduty.from_settings(load_config({"alerting": settings}).alerting)

    (issue,) = raised.value.issues
    assert issue.path == f"alerting.{key}" and problem in issue.problem
    assert settings["pagerduty_api_key"] not in str(raised.value)
