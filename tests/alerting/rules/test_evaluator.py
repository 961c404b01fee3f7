"""The in-process rule engine over the SDK's own metric stream: real detector calls, firing after ``for``, then
resolving, with the texts of the rule table."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

from nethical_otel import instrument_detector
from nethical_otel.alerting import AlertingComponent, get_alert_manager
from nethical_otel.monitoring import get_prometheus_metrics
from tests._support.alerting import settings, settled, wait_for_history
from tests._support.net import wait_until
from tests._support.pipeline import capture
from tests._support.recorder import RecordingServer

FAST_RULES = {
    "evaluation_interval_seconds": 0.1,
    "window_seconds": 1.0,
    "for_seconds": 0.3,
    "min_requests": 5,
    "high_latency_threshold_ms": 20.0,
    "high_threat_rate_threshold": 0.3,
    "high_error_rate_threshold": 0.2,
    "min_cache_hit_rate": 0.5,
}


def alertnames(receiver: RecordingServer, status: str) -> set[tuple[str, str]]:
    found = set()
    for request in receiver.received("/hook"):
        body = request.json()
        if body["status"] == status:
            labels = body["commonLabels"]
            found.add((labels["alertname"], labels.get("detector_type") or labels.get("cache_type", "")))
    return found


def keep_calling(call: Callable[[], object], until: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not until():
        if time.monotonic() > deadline:
            raise TimeoutError("the rule did not fire")
        for _ in range(10):
            call()
        time.sleep(0.02)


def test_latency_threat_rate_and_error_rate_rules_fire_on_real_calls_and_resolve_when_they_stop(tmp_path):
    with RecordingServer() as receiver:
        alerting = settings(tmp_path, webhook_url=f"{receiver.url}/hook", rules=FAST_RULES)
        with capture({"alerting": alerting}):

            @instrument_detector("slow")
            def slow() -> None:
                time.sleep(0.03)

            @instrument_detector("threatening")
            def threatening() -> dict:
                return {"threat_level": "LOW", "category": "spam"}  # below the threat alert level

            @instrument_detector("failing")
            def failing() -> None:
                raise RuntimeError("model unavailable")

            def call_all() -> None:
                slow()
                threatening()
                with contextlib.suppress(RuntimeError):
                    failing()

            expected = {
                ("NethicalHighLatency", "slow"),
                ("NethicalHighThreatRate", "threatening"),
                ("NethicalHighErrorRate", "failing"),
            }
            started = time.monotonic()
            keep_calling(call_all, lambda: expected <= alertnames(receiver, "firing"))
            fired = time.monotonic() - started
            assert fired >= FAST_RULES["for_seconds"]
            # The calls stop: the window empties and every alert resolves.
            wait_until(lambda: expected <= alertnames(receiver, "resolved"), 10, "the rules to resolve")
            manager = get_alert_manager()
            assert manager is not None
            history = wait_for_history(manager, settled)
    firing = {e["name"]: e for e in history if e["status"] == "firing"}
    assert firing["NethicalHighThreatRate"]["severity"] == "critical"
    assert firing["NethicalHighLatency"]["severity"] == "warning"
    assert float(firing["NethicalHighLatency"]["annotations"]["value"]) > 0.020  # seconds, as Prometheus has it
    assert firing["NethicalHighErrorRate"]["annotations"]["value"] == "1"
    # The rule table's texts, with this configuration's threshold, window and `for`.
    assert firing["NethicalHighErrorRate"]["annotations"]["summary"] == "failing fails 100% of requests"
    assert firing["NethicalHighErrorRate"]["message"] == (
        "More than 20% of failing calls raised an error over the last 1 second, for 0.3 seconds."
        " nethical_errors_total's error_type label says which exception."
    )
    assert firing["NethicalHighLatency"]["title"] == "High Latency Detected: slow"
    assert alertnames(receiver, "firing") == expected  # the healthy signals raised nothing else


def test_detector_health_and_cache_hit_rate_rules_follow_the_gauges_and_counters(tmp_path):
    with RecordingServer() as receiver:
        alerting = settings(tmp_path, webhook_url=f"{receiver.url}/hook", rules=FAST_RULES)
        with capture({"alerting": alerting}):
            metrics = get_prometheus_metrics()
            metrics.set_detector_health("pi", False)
            metrics.set_detector_health("ok", True)
            keep_calling(
                lambda: metrics.track_cache("embeddings", hit=False),
                lambda: (
                    {("NethicalDetectorDown", "pi"), ("NethicalLowCacheHitRate", "embeddings")}
                    <= alertnames(receiver, "firing")
                ),
            )
            metrics.set_detector_health("pi", True)
            wait_until(
                lambda: (
                    {("NethicalDetectorDown", "pi"), ("NethicalLowCacheHitRate", "embeddings")}
                    <= alertnames(receiver, "resolved")
                ),
                10,
                "health and cache alerts to resolve",
            )
    assert ("NethicalDetectorDown", "ok") not in alertnames(receiver, "firing")


def test_a_condition_shorter_than_for_never_fires(tmp_path):
    rules = {**FAST_RULES, "for_seconds": 30.0}
    with (
        RecordingServer() as receiver,
        capture({"alerting": settings(tmp_path, webhook_url=f"{receiver.url}/hook", rules=rules)}) as cap,
    ):
        get_prometheus_metrics().set_detector_health("pi", False)
        evaluator = cap.telemetry.component(AlertingComponent).rule_evaluator
        wait_until(lambda: bool(evaluator.pending()), 5, "the condition to be pending")
        time.sleep(0.5)
        assert evaluator.firing() == [] and [a.name for a in evaluator.pending()] == ["NethicalDetectorDown"]
    assert receiver.received("/hook") == []


def test_a_rule_alert_left_firing_by_a_previous_process_is_resolved_when_its_condition_is_gone(tmp_path):
    with RecordingServer() as receiver:
        alerting = settings(tmp_path, webhook_url=f"{receiver.url}/hook", rules=FAST_RULES)
        with capture({"alerting": alerting}):
            get_prometheus_metrics().set_detector_health("pi", False)
            wait_until(lambda: ("NethicalDetectorDown", "pi") in alertnames(receiver, "firing"), 10, "the rule")
        assert alertnames(receiver, "resolved") == set()
        with capture({"alerting": alerting}):  # the restarted application: the detector is fine now
            wait_until(lambda: ("NethicalDetectorDown", "pi") in alertnames(receiver, "resolved"), 10, "the resolve")
