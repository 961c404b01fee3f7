"""Metric rules over the SDK's own metric stream: real detector calls, firing after ``for``, then resolving."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable

import pytest

from nethical_otel import instrument_detector
from nethical_otel.alerting import AlertingComponent, AlertRules, RuleInputs, get_alert_manager
from nethical_otel.alerting.rules import RULES, histogram_quantile
from nethical_otel.monitoring import get_prometheus_metrics
from tests._support.alerting import running, settings, settled, wait_for_history
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
    assert float(firing["NethicalHighLatency"]["annotations"]["value"]) > 20.0
    assert firing["NethicalHighErrorRate"]["annotations"]["value"] == "1"
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
                    {("NethicalDetectorDown", "pi"), ("NethicalLowCacheHits", "embeddings")}
                    <= alertnames(receiver, "firing")
                ),
            )
            metrics.set_detector_health("pi", True)
            wait_until(
                lambda: (
                    {("NethicalDetectorDown", "pi"), ("NethicalLowCacheHits", "embeddings")}
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


@pytest.mark.parametrize(
    ("quantile", "counts", "expected"),
    [
        (0.95, (0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0), 0.025 + 0.025 * 0.95),  # inside (0.025, 0.05]
        (0.5, (50, 50, 0, 0, 0, 0, 0, 0, 0, 0, 0), 0.005),  # the first bucket's upper bound
        (0.95, (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10), 5.0),  # +Inf bucket: the highest finite bound
        (0.95, (0,) * 11, None),
    ],
)
def test_histogram_quantile_interpolates_like_promql(quantile, counts, expected):
    bounds = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
    result = histogram_quantile(quantile, bounds, counts)
    assert result == (pytest.approx(expected) if expected is not None else None)


async def test_the_original_alert_rules_api_checks_the_original_metrics_mapping(tmp_path):
    metrics = {
        "histograms": {"action_latency": {"p95": 0.5, "p99": 0.9, "mean": 0.2}},
        "counters": {"actions": {"a": 60, "b": 40}, "violations": {"a": 70}},
        "gauges": {"error_rate": {"pi": 0.2, "ok": 0.01}},
    }
    with RecordingServer() as receiver, running(tmp_path, webhook_url=f"{receiver.url}/hook") as manager:
        await AlertRules.check_high_latency(metrics, manager, threshold_ms=200.0)
        # With the configured thresholds (latency 1000 ms) and an error-rate override of 50 %:
        await AlertRules.evaluate_all_rules(metrics, manager, {"high_error_rate_threshold": 0.5})
        history = wait_for_history(manager, lambda h: len(h) == 3 and settled(h))
    titles = [entry["title"] for entry in history]
    assert titles == [
        "High Latency Detected: all",
        "High Threat Rate Detected: all",  # 70 violations per 100 actions
        "Detector Health Issue: pi",  # the original heuristic: above 10 % errors means unhealthy
    ]
    assert history[1]["severity"] == "critical" and history[1]["channels"] == ["webhook"]
    assert history[0]["metadata"]["value"] == 500.0


def test_rule_inputs_from_the_original_mapping_and_the_rule_table():
    inputs = RuleInputs.from_mapping({"counters": {"cache_hits": {"e": 1}, "cache_misses": {"e": 3}}})
    assert inputs.cache_hit_rate == {"e": 0.25} and inputs.cache_lookups == {"e": 4.0}
    empty = RuleInputs.from_mapping({"histograms": "not a mapping", "gauges": {"error_rate": {"x": "high"}}})
    assert (empty.p95_latency_seconds, empty.error_rate, empty.threat_rate) == ({}, {}, {})
    assert [rule.key for rule in RULES] == [
        "high_latency",
        "high_threat_rate",
        "error_rate",
        "detector_health",
        "cache_performance",
    ]


def test_a_rule_alert_left_firing_by_a_previous_process_is_resolved_when_its_condition_is_gone(tmp_path):
    with RecordingServer() as receiver:
        alerting = settings(tmp_path, webhook_url=f"{receiver.url}/hook", rules=FAST_RULES)
        with capture({"alerting": alerting}):
            get_prometheus_metrics().set_detector_health("pi", False)
            wait_until(lambda: ("NethicalDetectorDown", "pi") in alertnames(receiver, "firing"), 10, "the rule")
        assert alertnames(receiver, "resolved") == set()
        with capture({"alerting": alerting}):  # the restarted application: the detector is fine now
            wait_until(lambda: ("NethicalDetectorDown", "pi") in alertnames(receiver, "resolved"), 10, "the resolve")
