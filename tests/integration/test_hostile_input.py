"""Hostile strings through every label and attribute entry point cannot blind /metrics or break OTLP.

Once, one threat category holding a lone surrogate (``json.loads('"x\\ud800"')`` makes one) made every
scrape answer 500 until the process restarted, made ``export_metrics()`` raise, and made OTLP log an
ERROR at every export. Here Hypothesis sends arbitrary Unicode and undecodable bytes through the
decorator (detector type, model, level, category, extractor output, captured arguments and results,
exception messages and class names), the original ``track_*`` API, the SdkBackend path and the
application's own instruments; after each run /metrics parses with prometheus_client's text and
OpenMetrics parsers and passes ``promtool check metrics``, spans and metrics encode to OTLP whole, and
the OTLP exports reach a real receiver without one error logged.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from opentelemetry import metrics as otel_metrics
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as generate_openmetrics

import nethical_otel
from nethical_otel import instrument_detector
from nethical_otel.metrics import EncodablePrometheusMetricReader, Instruments, LabelCleaner, SdkBackend
from nethical_otel.monitoring import get_prometheus_metrics
from nethical_otel.pipeline import Threat
from nethical_otel.pipeline._providers import EncodablePeriodicReader
from tests._support.hostile import (
    check_exposition,
    check_otlp,
    check_span_attributes,
    hostile_text,
    no_export_errors,
)
from tests._support.otlp import OtlpReceiver
from tests.server.test_metrics_server import fetch

pytestmark = pytest.mark.integration

ATTRIBUTE_LIMIT = 256
OPENMETRICS = "application/openmetrics-text; version=1.0.0"


@contextlib.contextmanager
def pipeline() -> Iterator[tuple[nethical_otel.Telemetry, InMemorySpanExporter, OtlpReceiver]]:
    """A pipeline serving /metrics and pushing OTLP to a real receiver; its exporters must log nothing."""
    spans = InMemorySpanExporter()
    with OtlpReceiver() as receiver, no_export_errors():
        telemetry = nethical_otel.configure(
            {
                "metrics_server": {"port": 0},
                "alerting": {"enabled": False},
                "privacy": {"capture_content": True},  # arguments and results on spans: hostile too
                "tracing": {"attribute_value_max_length": ATTRIBUTE_LIMIT},
                "otlp": {"endpoint": receiver.url, "export_interval_seconds": 3600},
            },
            additional_span_processors=[SimpleSpanProcessor(spans)],
        )
        yield telemetry, spans, receiver
        telemetry.force_flush()
        telemetry.shutdown()
    assert receiver.metrics()  # decoded whole by opentelemetry-proto


def scraped(telemetry: nethical_otel.Telemetry) -> tuple[str, str]:
    assert telemetry.metrics_server is not None
    url = telemetry.metrics_server.url + "/metrics"
    text_status, _, text = fetch(url)
    openmetrics_status, _, openmetrics = fetch(url, accept=OPENMETRICS)
    assert (text_status, openmetrics_status) == (200, 200)
    return text.decode("utf-8"), openmetrics.decode("utf-8")


def hostile_exception(name: str, message: str) -> Exception:
    """An exception of a class made at run time with any name, carrying any message."""
    return type(name or "E", (ValueError,), {})(message)


@given(
    detector=hostile_text,
    model=hostile_text,
    level=hostile_text,
    category=hostile_text,
    argument=hostile_text,
    error=st.none() | st.tuples(hostile_text, hostile_text),
)
def _through_the_decorator(
    exporter: InMemorySpanExporter,
    detector: str,
    model: str,
    level: str,
    category: str,
    argument: str,
    error: tuple[str, str] | None,
) -> None:
    @instrument_detector(detector, model=model)
    def detect(prompt: str) -> dict[str, Any]:
        if error is not None:
            raise hostile_exception(*error)
        return {"threat_level": level, "category": category, "confidence": 0.5, "echo": prompt}

    @instrument_detector("extracted", threat=lambda result: Threat(level, category, 0.7))
    def detect_with_extractor(prompt: str) -> object:
        return object()

    with contextlib.suppress(ValueError):
        detect(argument)
    detect_with_extractor(argument)
    spans = exporter.get_finished_spans()
    exporter.clear()
    check_span_attributes(spans, ATTRIBUTE_LIMIT)
    check_otlp(spans, None)


def test_hostile_strings_through_the_decorator_leave_metrics_and_spans_well_formed(promtool_binary):
    with pipeline() as (telemetry, exporter, receiver):
        _through_the_decorator(exporter)
        text, openmetrics = scraped(telemetry)
        check_exposition(text, openmetrics, promtool_binary)
    assert {span["name"] for span in receiver.span_dicts()} >= {"detect extracted"}


@given(values=st.lists(hostile_text, min_size=4, max_size=4))
def _through_track(values: list[str]) -> None:
    tracked = get_prometheus_metrics()
    detector, level, category, other = values
    tracked.track_request(detector, 0.01, other)
    tracked.track_threat(detector, level, category, 0.5)
    tracked.track_model_inference(other, 0.02)
    tracked.track_cache(other, hit=True)
    tracked.track_error(detector, other)
    tracked.track_false_positive(detector)
    tracked.track_throughput(detector, 12.0)
    tracked.set_active_detectors(detector, 2)
    tracked.set_queue_size(other, 3)
    tracked.set_detector_health(detector, healthy=False)
    tracked.export_metrics().decode("utf-8")  # used to raise UnicodeEncodeError for good


def test_hostile_strings_through_the_original_track_api_leave_metrics_well_formed(promtool_binary):
    with pipeline() as (telemetry, _, _receiver):
        _through_track()
        text, openmetrics = scraped(telemetry)
        check_exposition(text, openmetrics, promtool_binary)
        health = fetch(telemetry.metrics_server.url + "/health")  # type: ignore[union-attr]
        assert health[0] == 200


@given(labels=st.lists(hostile_text, min_size=3, max_size=3), attribute=hostile_text)
def _through_foreign_providers(
    instruments: Instruments, application_counter: Any, labels: list[str], attribute: str
) -> None:
    instruments.threats_detected.labels(*labels).record(1)
    instruments.errors.labels(labels[0], labels[1]).record(1)
    instruments.request_latency.labels(labels[2]).record(0.1)
    # The application's own instrument on the same provider: not cleaned by nethical_otel, still encodable.
    application_counter.add(1, {"route": attribute, "tags": [attribute, "ok"]})


def test_hostile_strings_through_a_foreign_provider_and_its_other_instruments_leave_metrics_well_formed(
    promtool_binary,
):
    registry = CollectorRegistry(auto_describe=False)
    prometheus = EncodablePrometheusMetricReader(disable_target_info=True, scope_info_enabled=False, registry=registry)
    with OtlpReceiver() as receiver, no_export_errors():
        otlp = EncodablePeriodicReader(OTLPMetricExporter(receiver.url + "/v1/metrics"), export_interval_millis=3.6e6)
        provider = MeterProvider(metric_readers=[prometheus, otlp])
        instruments = Instruments(SdkBackend(provider.get_meter("nethical_otel"), LabelCleaner(128), 2000))
        counter = provider.get_meter("application").create_counter("app_requests", description="per route")
        try:
            _through_foreign_providers(instruments, counter)
            check_exposition(
                generate_latest(registry).decode("utf-8"),
                generate_openmetrics(registry).decode("utf-8"),
                promtool_binary,
            )
            provider.force_flush()
        finally:
            provider.shutdown()
        assert receiver.metrics()


def test_the_applications_own_instruments_on_the_pipeline_provider_cannot_blind_metrics(promtool_binary):
    with pipeline() as (telemetry, _, _receiver):
        counter = otel_metrics.get_meter("application").create_counter("app_requests", description="d\ud800")
        counter.add(1, {"route": "/x\ud800", "reversed": "\udc00\ud800"})
        get_prometheus_metrics().track_request("pi", 0.01)
        text, openmetrics = scraped(telemetry)
        check_exposition(text, openmetrics, promtool_binary)
        assert 'route="/x\ufffd"' in text
