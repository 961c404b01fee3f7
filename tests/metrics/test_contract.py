"""The nethical_* exposition is the original contract: names, types, label keys and buckets."""

from __future__ import annotations

import pytest
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import CollectorRegistry, generate_latest

from nethical_otel import semconv
from nethical_otel.metrics import Instruments, LabelCleaner, LocalBackend, NethicalMeterProvider, SdkBackend
from nethical_otel.monitoring import get_prometheus_metrics
from tests._support.exposition import FamilyShape, families, le, samples, type_lines
from tests._support.pipeline import capture

D, S, L, C = semconv.DETECTOR_TYPE, semconv.STATUS, semconv.THREAT_LEVEL, semconv.THREAT_CATEGORY

CONTRACT = {
    "nethical_requests_total": FamilyShape("nethical_requests_total", "counter", frozenset({D, S})),
    "nethical_request_latency_seconds": FamilyShape(
        "nethical_request_latency_seconds",
        "histogram",
        frozenset({D}),
        le([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5]),
    ),
    "nethical_threats_detected_total": FamilyShape("nethical_threats_detected_total", "counter", frozenset({D, L, C})),
    "nethical_confidence_score": FamilyShape(
        "nethical_confidence_score", "histogram", frozenset({D}), le([i / 10 for i in range(11)])
    ),
    "nethical_false_positives_total": FamilyShape("nethical_false_positives_total", "counter", frozenset({D})),
    "nethical_model_inference_seconds": FamilyShape(
        "nethical_model_inference_seconds",
        "histogram",
        frozenset({"model_name"}),
        le([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5]),
    ),
    "nethical_cache_hits_total": FamilyShape("nethical_cache_hits_total", "counter", frozenset({"cache_type"})),
    "nethical_cache_misses_total": FamilyShape("nethical_cache_misses_total", "counter", frozenset({"cache_type"})),
    "nethical_errors_total": FamilyShape("nethical_errors_total", "counter", frozenset({D, "error_type"})),
    "nethical_active_detectors": FamilyShape("nethical_active_detectors", "gauge", frozenset({D})),
    "nethical_queue_size": FamilyShape("nethical_queue_size", "gauge", frozenset({"queue_name"})),
    "nethical_detector_health": FamilyShape("nethical_detector_health", "gauge", frozenset({D})),
    "nethical_throughput_requests_per_second": FamilyShape(
        "nethical_throughput_requests_per_second",
        "histogram",
        frozenset({D}),
        le([1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]),
    ),
}


def exercise_every_family() -> None:
    metrics = get_prometheus_metrics()
    metrics.track_request("prompt_injection", 0.042, "success")
    metrics.track_request("prompt_injection", 0.3, "error")
    metrics.track_threat("prompt_injection", "HIGH", "malicious", 0.95)
    metrics.track_false_positive("prompt_injection")
    metrics.track_model_inference("pi-v2", 0.012)
    metrics.track_cache("embedding", hit=True)
    metrics.track_cache("embedding", hit=False)
    metrics.track_error("prompt_injection", "TimeoutError")
    metrics.set_active_detectors("prompt_injection", 3)
    metrics.set_queue_size("detection", 7)
    metrics.set_detector_health("prompt_injection", True)
    metrics.track_throughput("prompt_injection", 120.0)


def test_metrics_endpoint_exposes_exactly_the_original_families_names_labels_and_buckets(captured):
    exercise_every_family()
    text = captured.exposition()

    exposed = families(text)
    own_health = {spec.prometheus_name for spec in (semconv.ALERTS, semconv.ALERT_DELIVERY_LATENCY)}
    assert {name: shape for name, shape in exposed.items() if name not in own_health} == CONTRACT
    assert set(exposed) - set(CONTRACT) == own_health, "only the documented self-metrics besides the contract"
    assert sorted(type_lines(text)) == sorted(set(type_lines(text))), "one TYPE line per family"
    assert "otel_scope" not in text
    assert "target_info" not in text


def test_contract_table_in_semconv_matches_the_exposed_names():
    assert sorted(spec.prometheus_name for spec in semconv.CONTRACT) == sorted(CONTRACT)


def test_target_info_is_exposed_when_enabled():
    with capture({"prometheus": {"target_info": True}, "service": {"name": "detectors-prod"}}) as result:
        get_prometheus_metrics().track_request("pi", 0.01, "success")
        text = result.exposition()
    info = [key for key in samples(text) if key[0] == "target_info"]
    assert len(info) == 1
    assert ("service_name", "detectors-prod") in info[0][1]


def _exposition_through(backend_kind: str) -> str:
    """Record the same measurements through one backend and render them with the SDK's exporter."""
    registry = CollectorRegistry(auto_describe=False)
    reader = PrometheusMetricReader(disable_target_info=True, scope_info_enabled=False, registry=registry)
    clean = LabelCleaner(128)
    if backend_kind == "local":
        local = LocalBackend(clean, 2000)
        provider: MeterProvider = NethicalMeterProvider(local, [reader])
        instruments = Instruments(local)
    else:
        provider = MeterProvider([reader])
        instruments = Instruments(SdkBackend(provider.get_meter("nethical_otel"), clean, 2000))
    instruments.requests.child("pi", "success").record(3)
    for value in (0.004, 0.03, 0.7, 9.0):
        instruments.request_latency.child("pi").record(value)
    instruments.confidence_score.child("pi").record(0.95)
    instruments.threats_detected.labels("pi", "HIGH", "jailbreak").record(1)
    instruments.detector_health.child("pi").record(1)
    instruments.queue_size.child("q").record(4)
    try:
        return generate_latest(registry).decode()
    finally:
        provider.shutdown()


def test_both_recording_backends_render_the_same_exposition():
    local, sdk = _exposition_through("local"), _exposition_through("sdk")
    comments = lambda text: sorted(line for line in text.splitlines() if line.startswith("#"))  # noqa: E731
    assert samples(sdk) == samples(local)
    assert comments(sdk) == comments(local)
    assert families(local)["nethical_request_latency_seconds"] == CONTRACT["nethical_request_latency_seconds"]


def test_histogram_buckets_hold_values_up_to_and_including_their_bound(captured):
    metrics = get_prometheus_metrics()
    for latency in (0.005, 0.0051, 5.0, 7.5):
        metrics.track_request("pi", latency, "success")
    exposed = samples(captured.exposition())
    bucket = lambda bound: exposed[  # noqa: E731
        ("nethical_request_latency_seconds_bucket", (("detector_type", "pi"), ("le", bound)))
    ]
    assert (bucket("0.005"), bucket("0.01"), bucket("5.0"), bucket("+Inf")) == (1, 2, 3, 4)
    assert exposed[("nethical_request_latency_seconds_sum", (("detector_type", "pi"),))] == pytest.approx(12.5101)
