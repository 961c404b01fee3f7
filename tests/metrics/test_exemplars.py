"""Exemplars: a call inside a sampled span links its buckets and series to that span, on /metrics
(OpenMetrics only) and in the data points every reader receives."""

from __future__ import annotations

import importlib.metadata
import logging
import subprocess
import sys
import textwrap
import time

import pytest
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import Exemplar, MeterProvider
from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import TracerProvider
from prometheus_client import CollectorRegistry
from prometheus_client.openmetrics.exposition import generate_latest
from prometheus_client.samples import Sample

import nethical_otel
from nethical_otel import instrument_detector, semconv
from nethical_otel.config import ConfigError
from nethical_otel.metrics import LabelCleaner, LocalBackend, NethicalMeterProvider, carry_exemplars
from nethical_otel.metrics._provider import SUPPORTED_PROMETHEUS_EXPORTER, _attach
from nethical_otel.monitoring import get_prometheus_metrics
from tests._support.exposition import exemplars, samples
from tests._support.pipeline import Captured, capture

RESULT = {"threat_level": "high", "category": "jailbreak", "confidence": 0.93}


def _ids(span: object) -> dict[str, str]:
    context = span.get_span_context()  # type: ignore[attr-defined]
    return {"trace_id": f"{context.trace_id:032x}", "span_id": f"{context.span_id:016x}"}


def _sdk_exemplars(reader: InMemoryMetricReader) -> dict[str, list[tuple[dict[str, object], object]]]:
    """Exemplars of one collection by metric name: (point attributes, exemplar)."""
    found: dict[str, list[tuple[dict[str, object], object]]] = {}
    data = reader.get_metrics_data()
    assert data is not None
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    for exemplar in point.exemplars:
                        found.setdefault(metric.name, []).append((dict(point.attributes), exemplar))
    return found


def _detect_twice(captured: Captured) -> tuple[list[object], object | None]:
    @instrument_detector("prompt_injection", model="pi-v2")
    def detect(prompt: str) -> dict[str, object]:
        return RESULT

    detect("first")
    detect("second")
    spans = [s for s in captured.spans() if s.name == "detect prompt_injection"]
    return spans, spans[-1] if spans else None


def test_a_call_in_a_sampled_span_links_its_buckets_and_threat_series_to_that_span_on_openmetrics(captured):
    spans, last = _detect_twice(captured)
    assert len(spans) == 2

    found = exemplars(captured.openmetrics())
    linked = _ids(last)
    confidence = found[("nethical_confidence_score_bucket", (("detector_type", "prompt_injection"), ("le", "1.0")))]
    assert confidence.labels == linked and confidence.value == 0.93
    threat = found[
        (
            "nethical_threats_detected_total",
            (("detector_type", "prompt_injection"), ("threat_category", "jailbreak"), ("threat_level", "high")),
        )
    ]
    assert threat.labels == linked and threat.value == 1.0
    (latency,) = [e for (name, _), e in found.items() if name == "nethical_request_latency_seconds_bucket"]
    (inference,) = [e for (name, _), e in found.items() if name == "nethical_model_inference_seconds_bucket"]
    assert latency.labels == inference.labels == linked
    assert latency.timestamp == threat.timestamp  # one time per call, shared by its recordings
    # Families without exemplars in the contract carry none (nethical_requests_total).
    assert {name for name, _ in found} == {
        "nethical_confidence_score_bucket",
        "nethical_threats_detected_total",
        "nethical_request_latency_seconds_bucket",
        "nethical_model_inference_seconds_bucket",
    }


def test_each_bucket_keeps_only_its_most_recent_exemplar():
    backend = LocalBackend(LabelCleaner(64), 100)
    family = backend.family(semconv.CONFIDENCE_SCORE, lambda spec, value: None)
    child = family.child("pi")
    for index in range(10_000):  # memory per cell does not grow with traffic: one slot per bucket
        child.record(0.05 if index % 2 else 0.95, (index + 1, index + 1, 1_000 + index))
    assert len(child.exemplars) == len(semconv.CONFIDENCE_BUCKETS) + 1
    kept = {i: slot for i, slot in enumerate(child.exemplars) if slot is not None}
    assert kept == {1: (0.05, (10_000, 10_000, 10_999)), 10: (0.95, (9_999, 9_999, 10_998))}


def test_the_0_0_4_text_format_never_carries_exemplars(captured):
    _detect_twice(captured)
    text = captured.exposition()
    assert " # {" not in text
    assert samples(text)[("nethical_confidence_score_count", (("detector_type", "prompt_injection"),))] == 2


def test_otlp_style_readers_get_the_exemplars_recorded_since_their_last_collection_and_scrapes_keep_the_latest(
    captured,
):
    _, last = _detect_twice(captured)
    first = _sdk_exemplars(captured.metric_reader)
    (latency,) = first["nethical_request_latency"]
    assert (latency[1].trace_id, latency[1].span_id) == (
        last.get_span_context().trace_id,
        last.get_span_context().span_id,
    )
    assert latency[0] == {"detector_type": "prompt_injection"}
    assert set(first) == {
        "nethical_request_latency",
        "nethical_threats_detected",
        "nethical_confidence_score",
        "nethical_model_inference",
    }
    assert _sdk_exemplars(captured.metric_reader) == {}, "nothing new since the previous collection"
    # A scrape shows the latest exemplar every time: a second scraper or a curl takes nothing away.
    assert exemplars(captured.openmetrics()) == exemplars(captured.openmetrics()) != {}


def test_a_failing_call_links_its_latency_and_error_series_to_its_span(captured):
    @instrument_detector("pi")
    def detect(prompt: str) -> dict[str, object]:
        raise TimeoutError("model did not answer")

    with pytest.raises(TimeoutError):
        detect("x")
    (span,) = captured.spans()
    found = exemplars(captured.openmetrics())
    error = found[("nethical_errors_total", (("detector_type", "pi"), ("error_type", "TimeoutError")))]
    assert error.labels == _ids(span)


def test_unsampled_spans_leave_no_exemplar_under_the_default_trace_based_filter(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0")
    with capture() as captured:
        _detect_twice(captured)
        assert exemplars(captured.openmetrics()) == {}
        assert _sdk_exemplars(captured.metric_reader) == {}


def test_always_off_turns_exemplars_off_everywhere(monkeypatch):
    monkeypatch.setenv("OTEL_METRICS_EXEMPLAR_FILTER", "always_off")
    with capture() as captured:
        spans, _ = _detect_twice(captured)
        assert len(spans) == 2
        assert exemplars(captured.openmetrics()) == {}
        assert _sdk_exemplars(captured.metric_reader) == {}


def test_always_on_keeps_exemplars_without_a_span_and_the_config_key_wins_over_the_variable(monkeypatch):
    monkeypatch.setenv("OTEL_METRICS_EXEMPLAR_FILTER", "always_off")
    with capture({"tracing": {"enabled": False}, "prometheus": {"exemplar_filter": "always_on"}}) as captured:
        _detect_twice(captured)
        found = exemplars(captured.openmetrics())
        confidence = found[("nethical_confidence_score_bucket", (("detector_type", "prompt_injection"), ("le", "1.0")))]
        assert confidence.labels == {} and confidence.value == 0.93 and confidence.timestamp is not None
        (_, latency), *_ = _sdk_exemplars(captured.metric_reader)["nethical_request_latency"]
        assert latency.trace_id is None and latency.span_id is None


def test_a_bad_exemplar_filter_variable_is_a_config_error_that_leaves_the_running_pipeline_alone(monkeypatch):
    running = nethical_otel.configure({"metrics_server": {"enabled": False}})
    monkeypatch.setenv("OTEL_METRICS_EXEMPLAR_FILTER", "sometimes")
    with pytest.raises(ConfigError, match="OTEL_METRICS_EXEMPLAR_FILTER: 'sometimes' is not one of trace_based"):
        nethical_otel.configure({"metrics_server": {"enabled": False}})
    assert not running.is_shut_down


def test_the_original_api_links_to_the_callers_sampled_span(captured):
    tracer = captured.telemetry.tracer_provider.get_tracer("caller")  # type: ignore[union-attr]
    metrics = get_prometheus_metrics()
    with tracer.start_as_current_span("handle request") as span:
        metrics.track_request("pi", 0.02)
        metrics.track_threat("pi", "critical", "exfiltration", 0.99)
        metrics.track_model_inference("pi-v2", 0.004)
        metrics.track_error("pi", "ValueError")
    metrics.track_request("outside", 0.02)  # no span: no exemplar

    found = exemplars(captured.openmetrics())
    assert {name for name, _ in found} == {
        "nethical_request_latency_seconds_bucket",
        "nethical_threats_detected_total",
        "nethical_confidence_score_bucket",
        "nethical_model_inference_seconds_bucket",
        "nethical_errors_total",
    }
    assert all(exemplar.labels == _ids(span) for exemplar in found.values())


def test_sdk_exemplars_of_a_foreign_meter_provider_reach_the_openmetrics_exposition():
    registry = CollectorRegistry(auto_describe=False)
    reader = PrometheusMetricReader(disable_target_info=True, scope_info_enabled=False, registry=registry)
    assert carry_exemplars(reader)
    provider = MeterProvider([reader])
    histogram = provider.get_meter("m").create_histogram("h", explicit_bucket_boundaries_advisory=[1.0, 2.0])
    tracer = TracerProvider().get_tracer("t")
    try:
        with tracer.start_as_current_span("s") as span:
            histogram.record(1.5, {"k": "v"})
        found = exemplars(generate_latest(registry).decode())
    finally:
        provider.shutdown()
    assert found == {("h_bucket", (("k", "v"), ("le", "2.0"))): found[("h_bucket", (("k", "v"), ("le", "2.0")))]}
    assert found[("h_bucket", (("k", "v"), ("le", "2.0")))].labels == _ids(span)


def test_the_decorator_on_adopted_providers_leaves_the_sdks_own_exemplars():
    # Global providers can be set once per process: run the scenario in a fresh interpreter.
    script = textwrap.dedent(
        """
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        import nethical_otel
        from nethical_otel.pipeline import adopt_global_providers

        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider([reader]))
        trace.set_tracer_provider(TracerProvider())
        telemetry = adopt_global_providers({"metrics_server": {"enabled": False}, "alerting": {"enabled": False}})
        nethical_otel.instrument_detector("pi")(lambda p: {"threat_level": "high", "confidence": 0.5})("x")
        data = reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics
        for metric in sorted(data, key=lambda m: m.name):
            print(metric.name, sum(len(point.exemplars) > 0 for point in metric.data.data_points))
        telemetry.shutdown()
        """
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    counted = dict(line.split() for line in output.stdout.splitlines())
    assert counted["nethical_request_latency"] == "1"
    assert counted["nethical_confidence_score"] == "1"
    assert counted["nethical_threats_detected"] == "1"


def test_the_installed_prometheus_exporter_is_a_supported_one():
    assert importlib.metadata.version("opentelemetry-exporter-prometheus") in SUPPORTED_PROMETHEUS_EXPORTER
    reader = PrometheusMetricReader(registry=CollectorRegistry(auto_describe=False))
    try:
        assert carry_exemplars(reader)
    finally:
        reader.shutdown()


def test_a_reader_whose_collector_is_not_the_supported_one_keeps_its_metrics_and_says_why(caplog):
    class OwnCollector:
        def collect(self) -> list[object]:
            return []

    reader = PrometheusMetricReader(registry=CollectorRegistry(auto_describe=False))
    reader._collector = OwnCollector()  # as a future exporter might lay itself out
    with caplog.at_level(logging.WARNING, "nethical_otel.metrics"):
        assert not carry_exemplars(reader)
    assert "/metrics will carry no exemplars" in caplog.text
    assert type(reader._collector) is OwnCollector


def test_a_pipeline_builds_readers_whose_local_series_carry_exemplars():
    local = LocalBackend(LabelCleaner(64), 100)
    reader = InMemoryMetricReader()
    provider = NethicalMeterProvider(local, [reader])
    try:
        family = local.family(semconv.REQUEST_LATENCY, lambda spec, value: None)
        at = time.time_ns()
        family.child("pi").record(0.3, (7, 8, at))
        (point,) = reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics[0].data.data_points
    finally:
        provider.shutdown()
    assert isinstance(point, HistogramDataPoint)
    (exemplar,) = point.exemplars
    assert (exemplar.value, exemplar.trace_id, exemplar.span_id, exemplar.time_unix_nano) == (0.3, 7, 8, at)


def test_samples_laid_out_otherwise_than_expected_get_no_exemplar_and_stay_as_they_are():
    point = NumberDataPoint({"k": "v"}, 0, 1, 3, [Exemplar({}, 1, 5, 7, 9)])
    samples = [Sample("x_total", {"k": "v"}, 3.0), Sample("x_created", {"k": "v"}, 1.0)]  # one sample too many
    assert not _attach(samples, 0, [point])
    assert [sample.exemplar for sample in samples] == [None, None]
    shifted = [Sample("x_created", {"k": "v"}, 1.0)]  # a sample that is not the counter's
    assert not _attach(shifted, 0, [point])
    assert shifted[0].exemplar is None
    laid_out = [Sample("x_total", {"k": "v"}, 3.0)]
    assert _attach(laid_out, 0, [point])
    assert laid_out[0].exemplar.labels == {"trace_id": f"{9:032x}", "span_id": f"{7:016x}"}
