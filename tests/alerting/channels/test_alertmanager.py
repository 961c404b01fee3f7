"""The Alertmanager channel against a real Alertmanager (Debian's prometheus-alertmanager) on 127.0.0.1.

Alertmanager routes everything to a recording webhook with ``group_wait``/``group_interval`` of 1 s, so
a firing alert and its resolve both come out of Alertmanager within seconds.
"""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from nethical_otel.alerting.channels import alertmanager
from nethical_otel.alerting.channels._base import HttpResponse, Outcome
from nethical_otel.alerting.channels.alertmanager import peer_name
from nethical_otel.alerting.model import AlertChannel, AlertSeverity
from nethical_otel.config import ConfigError, load_config
from tests._support.alertmanager import AlertmanagerServer
from tests._support.emulators.alerts import HOSTILE, deliver, make_alert, make_notification, resolved
from tests._support.net import closed_port
from tests._support.recorder import RecordingServer, Reply

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def webhook():
    with RecordingServer() as server:
        yield server


@pytest.fixture(scope="module")
def am(alertmanager_binary, tmp_path_factory, webhook):
    config = {
        "route": {
            "receiver": "recorder",
            "group_by": ["alertname"],
            "group_wait": "1s",
            "group_interval": "1s",
            "repeat_interval": "1h",
        },
        "receivers": [{"name": "recorder", "webhook_configs": [{"url": f"{webhook.url}/hook", "send_resolved": True}]}],
    }
    with AlertmanagerServer(alertmanager_binary, tmp_path_factory.mktemp("alertmanager"), config) as server:
        yield server


def channel_for(url: str | list[str], **settings) -> alertmanager.AlertmanagerChannel:
    channel = alertmanager.from_settings(load_config({"alerting": {"alertmanager_url": url, **settings}}).alerting)
    assert channel is not None
    return channel


def held(am: AlertmanagerServer, name: str) -> list[dict]:
    return [alert for alert in am.alerts() if alert["labels"]["alertname"] == name]


def notifications(webhook: RecordingServer, name: str) -> list[dict]:
    bodies = [request.json() for request in webhook.received("/hook")]
    return [body for body in bodies if body["groupLabels"].get("alertname") == name]


def wait_for_notifications(webhook: RecordingServer, name: str, count: int) -> list[dict]:
    deadline = time.monotonic() + 20
    while len(notifications(webhook, name)) < count and time.monotonic() < deadline:
        time.sleep(0.2)
    return notifications(webhook, name)


def parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


async def test_firing_then_resolved_alert_goes_through_a_real_alertmanager(am, webhook):
    channel = channel_for(am.url)
    alert = make_alert(name="nethical_high_threat", annotations={"runbook_url": "https://runbooks.example/high"})

    sent = await deliver(channel, make_notification(alert, AlertChannel.ALERTMANAGER, occurrences=3))
    assert (sent.outcome, sent.status) == (Outcome.SENT, 200)
    (active,) = held(am, "nethical_high_threat")
    assert active["labels"] == {
        "alertname": "nethical_high_threat",
        "severity": "critical",
        "detector_type": "prompt_injection",
        "threat_level": "HIGH",
    }
    assert active["annotations"]["summary"] == "Prompt injection detected"
    assert active["annotations"]["runbook_url"] == "https://runbooks.example/high"
    assert active["annotations"]["occurrences"] == "3"
    assert active["annotations"]["trace_id"] == alert.trace_id
    assert active["status"]["state"] == "active"
    # endsAt well past the next re-send, so Alertmanager never resolves an alert that is still firing.
    assert parse_time(active["endsAt"]) - time.time() > 3 * channel.resend_firing_every

    (firing,) = wait_for_notifications(webhook, "nethical_high_threat", 1)
    assert firing["status"] == "firing"
    assert firing["alerts"][0]["labels"] == active["labels"]

    gone = await deliver(channel, make_notification(resolved(alert), AlertChannel.ALERTMANAGER))
    assert gone.outcome is Outcome.SENT
    _firing, second = wait_for_notifications(webhook, "nethical_high_threat", 2)
    assert second["status"] == "resolved"
    assert second["alerts"][0]["labels"] == active["labels"]
    assert abs(parse_time(second["alerts"][0]["endsAt"]) - time.time()) < 10
    assert held(am, "nethical_high_threat") == []


async def test_re_sending_a_firing_alert_updates_the_one_alertmanager_holds(am):
    channel = channel_for(am.url)
    alert = make_alert(name="nethical_resent", severity=AlertSeverity.WARNING)
    await deliver(channel, make_notification(alert, AlertChannel.ALERTMANAGER, key="1"))
    (before,) = held(am, "nethical_resent")
    time.sleep(1.1)
    await deliver(channel, make_notification(alert, AlertChannel.ALERTMANAGER, key="2"))

    (after,) = held(am, "nethical_resent")
    assert after["fingerprint"] == before["fingerprint"]
    assert parse_time(after["endsAt"]) > parse_time(before["endsAt"])
    assert alertmanager.AlertmanagerChannel.resend_firing_every == 60.0


async def test_odd_label_names_and_huge_values_are_made_acceptable_to_alertmanager(am):
    labels = {
        "threat-category": HOSTILE["slack_control"],
        "1st_seen": "yes",
        "ünïcode": HOSTILE["non_bmp"],
        "empty": "",
        "huge": HOSTILE["huge"],
    }
    alert = make_alert(name="nethical odd/labels", labels=labels, title=HOSTILE["crlf_bcc"], message=HOSTILE["huge"])
    result = await deliver(channel_for(am.url), make_notification(alert, AlertChannel.ALERTMANAGER))

    assert result.outcome is Outcome.SENT, result.reason
    (held_alert,) = held(am, "nethical odd/labels")
    shown = held_alert["labels"]
    # Names that are not label names become distinct readable ones (ASCII part + hash), the original
    # name kept in front of the value.
    renamed = {name: alertmanager.label_name(name) for name in ("threat-category", "1st_seen", "ünïcode")}
    assert renamed["ünïcode"].startswith("unicode_") and renamed["threat-category"].startswith("threat_category_")
    assert set(shown) == {"alertname", "severity", "huge", *renamed.values()}
    assert shown[renamed["threat-category"]] == "threat-category: " + HOSTILE["slack_control"]
    assert shown[renamed["1st_seen"]] == "1st_seen: yes"
    assert len(shown["huge"]) == alertmanager.LABEL_VALUE_LIMIT and shown["huge"].endswith("…")
    # The summary is a one-liner (templates put it in subjects and titles); the description keeps its lines.
    assert held_alert["annotations"]["summary"] == HOSTILE["crlf_bcc"].replace("\r", " ").replace("\n", " ")
    assert held_alert["annotations"]["description"].startswith("AAAA")


@pytest.mark.parametrize(
    ("reply", "outcome", "reason"),
    [
        (Reply(400, b'{"code":400,"message":"start time must be before end time"}'), Outcome.FAILED, "start time"),
        (Reply(422, b"unprocessable"), Outcome.FAILED, "HTTP 422: unprocessable"),
        (Reply(500, b"boom"), Outcome.RETRY, "HTTP 500: boom"),
        (Reply(503), Outcome.RETRY, "HTTP 503"),
        (Reply(429, b"", {"Retry-After": "7"}), Outcome.RETRY_AFTER, "HTTP 429"),
    ],
)
async def test_answers_are_classified_2xx_sent_5xx_retry_4xx_failed(reply, outcome, reason):
    with RecordingServer(default=reply) as server:
        result = await deliver(channel_for(server.url), make_notification(make_alert(), AlertChannel.ALERTMANAGER))

        assert (result.outcome, result.status) == (outcome, reply.status)
        assert result.reason.startswith(f"HTTP {reply.status}") and reason in result.reason
        assert server.received()[0].path == "/api/v2/alerts"


async def test_base_url_with_a_path_prefix_posts_below_it_and_slow_answers_retry():
    with RecordingServer(default=Reply(200, delay=0.5)) as server:
        channel = channel_for(f"{server.url}/alertmanager/", request_timeout_seconds=0.2)
        result = await deliver(channel, make_notification(make_alert(), AlertChannel.ALERTMANAGER))

        assert (result.outcome, result.reason) == (Outcome.RETRY, "no answer within 0.2s")
        assert server.received()[0].path == "/alertmanager/api/v2/alerts"


def test_settings_without_a_url_build_no_channel_and_a_bad_url_names_the_key():
    assert alertmanager.from_settings(load_config({}).alerting) is None
    with pytest.raises(ConfigError) as raised:
        channel_for("ftp://alertmanager.example:9093")
    assert [issue.path for issue in raised.value.issues] == ["alerting.alertmanager_url"]


def test_credentials_a_service_echoes_back_are_masked_in_the_stored_reason():
    channel = channel_for("http://alice:s3cret-pass@127.0.0.1:9093")
    echoed = (
        b'{"message":"refused: Authorization: Basic YWxpY2U6czNjcmV0LXBhc3M= for alice:s3cret-pass,'
        b' Bearer eyJhbGciOiJIUzI1NiJ9.x.y"}'
    )
    delivery = channel.classify(HttpResponse(400, {}, echoed))
    assert delivery.outcome is Outcome.FAILED and delivery.reason.startswith("HTTP 400: refused")
    for secret in ("s3cret", "YWxpY2U6czNjcmV0LXBhc3M", "eyJhbGciOiJIUzI1NiJ9"):
        assert secret not in delivery.reason, delivery.reason


# A cluster: every alert posted to every peer ----------------------------------------------------------
async def test_each_alert_goes_to_every_peer_and_one_accepting_peer_delivers_it(am, webhook):
    dead = f"http://127.0.0.1:{closed_port()}"
    channel = channel_for([dead, am.url], alertmanager_peer_attempts=2)
    alert = make_alert(name="NethicalClusterCheck", labels={"detector_type": "pi"})
    started = time.monotonic()
    result = await deliver(channel, make_notification(alert, AlertChannel.ALERTMANAGER))
    assert result.outcome is Outcome.SENT
    assert result.peers == ((peer_name(dead), False), (peer_name(am.url), True))
    assert time.monotonic() - started >= 0.5  # the dead peer was tried twice, 0.5 s apart
    assert len(held(am, "NethicalClusterCheck")) == 1


async def test_a_peer_that_fails_for_now_is_tried_again_within_the_delivery():
    with RecordingServer() as flaky, RecordingServer() as steady:
        flaky.script = [Reply(503), Reply(200)]
        channel = channel_for([flaky.url, steady.url])
        result = await deliver(channel, make_notification(make_alert(), AlertChannel.ALERTMANAGER))
        assert result.outcome is Outcome.SENT and all(accepted for _, accepted in result.peers)
        assert len(flaky.received()) == 2 and len(steady.received()) == 1
        assert flaky.received()[1].body == steady.received()[0].body  # the same alert to every peer


async def test_without_an_accepting_peer_the_reason_names_each_peer_and_never_a_credential():
    with RecordingServer(default=Reply(400, b"bad alert")) as refusing, RecordingServer(default=Reply(500)) as broken:
        secret = refusing.url.replace("http://", "http://alice:s3cret@")
        channel = channel_for([secret, broken.url], alertmanager_peer_attempts=1)
        result = await deliver(channel, make_notification(make_alert(), AlertChannel.ALERTMANAGER))
        assert result.outcome is Outcome.RETRY  # a peer may recover: the dispatcher tries again
        assert result.reason == (
            f"no peer accepted ({peer_name(refusing.url)}: HTTP 400: bad alert; {peer_name(broken.url)}: HTTP 500)"
        )
        assert "s3cret" not in result.reason and "alice" not in result.reason
        broken.default = Reply(422, b"unprocessable")
        refused = await deliver(channel, make_notification(make_alert(), AlertChannel.ALERTMANAGER))
        assert refused.outcome is Outcome.FAILED  # every peer refused it for good


def test_peers_are_one_url_or_a_list_checked_one_by_one():
    assert channel_for("http://127.0.0.1:9093").peers == ("http://127.0.0.1:9093",)
    pair = channel_for(["http://127.0.0.1:9093/", "https://alertmanager-1.example"])
    assert pair.peers == ("http://127.0.0.1:9093", "https://alertmanager-1.example:443")
    with pytest.raises(ConfigError) as raised:
        channel_for(["http://127.0.0.1:9093", "ftp://alertmanager-1.example"])
    assert [issue.path for issue in raised.value.issues] == ["alerting.alertmanager_url[1]"]
    with pytest.raises(ConfigError, match="names the same peer twice"):
        channel_for(["http://127.0.0.1:9093", "http://127.0.0.1:9093/"])
