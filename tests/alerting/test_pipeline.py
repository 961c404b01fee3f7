"""configure() wiring: the running AlertManager, its self-metrics on /metrics, shutdown flushing."""

from __future__ import annotations

import re
import time

import pytest

import nethical_otel
from nethical_otel import instrument_detector
from nethical_otel.alerting import AlertingComponent, AlertManager, get_alert_manager
from nethical_otel.config import ConfigError
from tests._support.alerting import running, settings, settled, wait_for_history
from tests._support.pipeline import capture
from tests._support.recorder import RecordingServer, Reply


def test_configure_starts_an_alert_manager_from_the_alerting_section_and_shutdown_stops_it(tmp_path):
    with capture({"alerting": settings(tmp_path, console="on")}) as cap:
        manager = get_alert_manager()
        assert isinstance(manager, AlertManager) and repr(manager) == "<AlertManager running, channels: console>"
        assert cap.telemetry.component(AlertingComponent).manager is manager
    assert get_alert_manager() is None
    assert repr(manager) == "<AlertManager shut down, channels: console>"


def test_alerting_disabled_builds_no_component(tmp_path):
    with capture({"alerting": settings(tmp_path, enabled=False)}) as cap:
        assert get_alert_manager() is None and cap.telemetry.component(AlertingComponent) is None


def test_invalid_channel_settings_refuse_configure_with_the_key(tmp_path):
    with pytest.raises(ConfigError, match=r"alerting\.pagerduty_api_key"):
        nethical_otel.configure(
            {"metrics_server": {"enabled": False}, "alerting": settings(tmp_path, pagerduty_api_key="short")}
        )


def test_self_metrics_are_on_the_pipelines_metrics_without_secrets(tmp_path):
    with RecordingServer() as receiver:
        url = f"{receiver.url}/hook/secret-path-token"
        with capture({"alerting": settings(tmp_path, webhook_url=url)}) as cap:

            @instrument_detector("pi")
            def detect() -> dict:
                return {"threat_level": "CRITICAL"}

            for _ in range(3):
                detect()
            manager = get_alert_manager()
            assert manager is not None
            wait_for_history(manager, lambda h: sum(e["occurrences"] for e in h) == 3 and settled(h))
            assert manager.flush(10)  # runs the upkeep once more: the queue gauge is set
            exposition = cap.exposition()
    assert 'nethical_alerts_total{channel="webhook",outcome="sent",severity="critical"} 1.0' in exposition
    assert 'nethical_alerts_total{channel="webhook",outcome="grouped",severity="critical"} 2.0' in exposition
    assert re.search(r'nethical_alert_delivery_seconds_count\{channel="webhook"\} 1\.0', exposition)
    assert 'nethical_alert_queue_depth{channel="webhook"} 0.0' in exposition
    assert "secret-path-token" not in exposition


def test_shutdown_delivers_what_is_due_within_the_deadline_and_keeps_the_rest(tmp_path):
    with RecordingServer() as receiver:
        receiver.default = Reply(200, delay=1.5)  # slower than the shutdown deadline
        manager = AlertManager(settings(tmp_path, webhook_url=f"{receiver.url}/hook", request_timeout_seconds=10))
        manager.send_alert_sync("t", "m", "critical")
        receiver.wait_for(1, "/hook")
        started = time.monotonic()
        manager.shutdown(timeout=0.5)
        assert time.monotonic() - started < 1.5
        receiver.default = Reply(200)
        with running(tmp_path, webhook_url=f"{receiver.url}/hook") as again:
            (entry,) = wait_for_history(again, settled)
    assert entry["delivery"]["webhook"]["status"] == "sent"
    assert len({r.headers["webhook-id"] for r in receiver.received("/hook")}) == 1
