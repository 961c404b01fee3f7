"""The original PrometheusMetrics API on top of the OpenTelemetry pipeline."""

from __future__ import annotations

import math

import nethical_otel
from nethical_otel.monitoring import get_prometheus_metrics
from tests._support.exposition import samples
from tests._support.pipeline import attrs


def test_each_track_call_records_its_series(captured):
    metrics = get_prometheus_metrics()
    metrics.track_request("prompt_injection", 0.042, "success")
    metrics.track_threat("prompt_injection", "high", "malicious", 0.95)
    metrics.track_model_inference("pi-v2", 0.012)
    metrics.track_cache("embedding", True)
    metrics.track_cache("embedding", False)
    metrics.track_error("prompt_injection", "TimeoutError")
    metrics.track_false_positive("prompt_injection")
    metrics.set_active_detectors("prompt_injection", 4)
    metrics.set_queue_size("detection", 12)
    metrics.set_detector_health("prompt_injection", False)
    metrics.track_throughput("prompt_injection", 250.0)

    points = captured.metrics()
    pi = attrs(detector_type="prompt_injection")
    assert points["nethical_requests"] == {attrs(detector_type="prompt_injection", status="success"): 1}
    assert points["nethical_threats_detected"] == {
        attrs(detector_type="prompt_injection", threat_level="high", threat_category="malicious"): 1
    }
    assert points["nethical_confidence_score"][pi][:2] == (1, 0.95)
    assert points["nethical_model_inference"][attrs(model_name="pi-v2")][:2] == (1, 0.012)
    assert points["nethical_cache_hits"] == {attrs(cache_type="embedding"): 1}
    assert points["nethical_cache_misses"] == {attrs(cache_type="embedding"): 1}
    assert points["nethical_errors"] == {attrs(detector_type="prompt_injection", error_type="TimeoutError"): 1}
    assert points["nethical_false_positives"] == {pi: 1}
    assert points["nethical_active_detectors"] == {pi: 4}
    assert points["nethical_queue_size"] == {attrs(queue_name="detection"): 12}
    assert points["nethical_detector_health"] == {pi: 0}
    assert points["nethical_throughput_requests_per_second"][pi][:2] == (1, 250.0)


def test_export_metrics_returns_the_exposition_and_its_content_type(captured):
    metrics = get_prometheus_metrics()
    metrics.track_request("pi", 0.01, "success")
    exported = metrics.export_metrics()
    assert isinstance(exported, bytes)
    assert (
        samples(exported.decode())[("nethical_requests_total", (("detector_type", "pi"), ("status", "success")))] == 1
    )
    assert metrics.get_content_type() == "text/plain; version=0.0.4; charset=utf-8"


class Hostile:
    def __str__(self) -> str:
        raise ValueError("cannot stringify")

    def __float__(self) -> float:
        raise ValueError("not a number either")


def test_hostile_input_never_raises_and_never_breaks_the_exposition(captured):
    metrics = get_prometheus_metrics()
    metrics.track_request(Hostile(), Hostile(), Hostile())
    metrics.track_threat(["unhashable"], "HIGH", "cat\n# TYPE fake counter\nfake 1", math.inf)
    metrics.track_error("pi", "x" * 100_000)
    metrics.set_queue_size("q", -3)
    metrics.track_cache({"a": 1}, hit=True)

    exposed = samples(captured.exposition())
    assert exposed[("nethical_requests_total", (("detector_type", "invalid"), ("status", "invalid")))] == 1
    categories = [
        dict(labels)["threat_category"] for name, labels in exposed if name == "nethical_threats_detected_total"
    ]
    assert categories == ["cat# TYPE fake counter"[:128] + "fake 1"]
    assert not any(name == "fake" for name, _ in exposed)
    assert (
        "nethical_invalid_measurements_total",
        (("metric", "nethical_queue_size"), ("reason", "out_of_range")),
    ) in exposed


def test_tracking_after_shutdown_is_a_quiet_no_op():
    metrics = get_prometheus_metrics()
    nethical_otel.shutdown()
    metrics.track_request("pi", 0.01, "success")
    assert metrics.export_metrics() == b""
