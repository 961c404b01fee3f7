"""The original Nethical ``AlertRules`` API judges the rules of the table, at once, through an AlertManager."""

from __future__ import annotations

from nethical_otel.alerting import AlertRules, RuleInputs
from nethical_otel.alerting.rules import IN_PROCESS
from tests._support.alerting import running, settled, wait_for_history
from tests._support.recorder import RecordingServer


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
    assert history[0]["message"] == "P95 latency of all is 500ms (threshold 200ms)."
    assert history[1]["severity"] == "critical" and history[1]["channels"] == ["webhook"]
    assert history[0]["metadata"] == {"rule": "high_latency", "value": 0.5, "detector_type": "all"}


def test_rule_inputs_from_the_original_mapping_are_per_rule():
    inputs = RuleInputs.from_mapping({"counters": {"cache_hits": {"e": 1}, "cache_misses": {"e": 3}}})
    cache = inputs.of("NethicalLowCacheHitRate")
    assert cache.values == {"e": 0.25} and cache.volume == {"e": 4.0}
    empty = RuleInputs.from_mapping({"histograms": "not a mapping", "gauges": {"error_rate": {"x": "high"}}})
    assert [empty.of(rule.alertname).values for rule in IN_PROCESS] == [{}] * 5
    assert [rule.key for rule in IN_PROCESS] == [
        "high_latency",
        "high_threat_rate",
        "error_rate",
        "detector_health",
        "cache_performance",
    ]
