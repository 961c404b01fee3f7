"""Local aggregation: cardinality cap, refusal of impossible values, temporality."""

from __future__ import annotations

import math

import pytest
from opentelemetry.sdk.metrics.export import AggregationTemporality, InMemoryMetricReader

from nethical_otel.metrics import Instruments, LabelCleaner, LocalBackend, NethicalMeterProvider
from nethical_otel.monitoring import get_prometheus_metrics
from tests._support.exposition import samples
from tests._support.pipeline import attrs, capture


def test_attacker_chosen_categories_fold_into_one_overflow_series_beyond_the_cardinality_limit():
    with capture({"prometheus": {"cardinality_limit": 50}}) as result:
        metrics = get_prometheus_metrics()
        for i in range(5000):
            metrics.track_threat("pi", "HIGH", f"attacker-category-{i}")
        points = result.metrics()["nethical_threats_detected"]

    assert len(points) == 50
    assert points[attrs(**{"otel.metric.overflow": True})] == 5000 - 49
    assert sum(points.values()) == 5000


@pytest.mark.parametrize(
    ("latency", "reason"),
    [(math.nan, "nan"), (math.inf, "infinite"), (-0.5, "out_of_range"), ("fast", "nan")],
)
def test_impossible_latencies_are_refused_and_counted_never_raised(captured, latency, reason, caplog):
    get_prometheus_metrics().track_request("pi", latency, "success")
    get_prometheus_metrics().track_request("pi", latency, "success")

    points = captured.metrics()
    assert "nethical_request_latency" not in points
    assert points["nethical_invalid_measurements"] == {
        attrs(metric="nethical_request_latency_seconds", reason=reason): 2
    }
    assert points["nethical_requests"] == {attrs(detector_type="pi", status="success"): 2}
    assert len([r for r in caplog.records if "refused" in r.message]) == 1, "one warning, not one per value"


@pytest.mark.parametrize("confidence", [1.5, -0.1, math.nan])
def test_confidences_outside_zero_to_one_are_refused_and_counted(captured, confidence):
    get_prometheus_metrics().track_threat("pi", "HIGH", "jailbreak", confidence)

    points = captured.metrics()
    assert "nethical_confidence_score" not in points
    assert points["nethical_threats_detected"] == {
        attrs(detector_type="pi", threat_level="HIGH", threat_category="jailbreak"): 1
    }
    assert sum(points["nethical_invalid_measurements"].values()) == 1


def test_a_reader_preferring_delta_temporality_receives_deltas():
    local = LocalBackend(LabelCleaner(64), 100)
    reader = InMemoryMetricReader(
        preferred_temporality={cls: AggregationTemporality.DELTA for cls in _instrument_classes()}
    )
    provider = NethicalMeterProvider(local, [reader])
    instruments = Instruments(local)
    counter, histogram = instruments.requests.child("pi", "success"), instruments.request_latency.child("pi")
    try:
        counter.record(3)
        histogram.record(0.01)
        first = _points(reader)
        counter.record(2)
        histogram.record(0.2)
        histogram.record(0.3)
        second = _points(reader)
    finally:
        provider.shutdown()
    assert first == {"nethical_requests": 3, "nethical_request_latency": (1, 0.01)}
    assert second == {"nethical_requests": 2, "nethical_request_latency": (2, pytest.approx(0.5))}


def _instrument_classes():
    from opentelemetry.sdk.metrics import Counter, Histogram, ObservableCounter, UpDownCounter

    return (Counter, Histogram, ObservableCounter, UpDownCounter)


def _points(reader: InMemoryMetricReader) -> dict:
    data = reader.get_metrics_data()
    found = {}
    for metric in data.resource_metrics[0].scope_metrics[0].metrics:
        (point,) = metric.data.data_points
        found[metric.name] = (point.count, point.sum) if hasattr(point, "bucket_counts") else point.value
    return found


def test_exposition_keeps_the_overflow_series_readable_for_prometheus():
    with capture({"prometheus": {"cardinality_limit": 3}}) as result:
        metrics = get_prometheus_metrics()
        for category in ("a", "b", "c", "d"):
            metrics.track_threat("pi", "HIGH", category)
        exposed = samples(result.exposition())
    overflow = [
        key
        for key in exposed
        if key[0] == "nethical_threats_detected_total" and ("otel_metric_overflow", "true") in key[1]
    ]
    assert len(overflow) == 1 and exposed[overflow[0]] == 2
