"""OTEL_METRICS_EXPORTER=nethical_prometheus: the original names, without target_info or scope labels."""

from __future__ import annotations

import urllib.request

import pytest
from opentelemetry.sdk.metrics import MeterProvider

from nethical_otel import semconv
from nethical_otel.auto.prometheus_reader import NethicalPrometheusMetricReader
from nethical_otel.metrics import Instruments, LabelCleaner, SdkBackend
from tests._support.exposition import families, le
from tests._support.net import free_port


def test_the_reader_serves_sdk_recorded_nethical_metrics_under_the_contract_names(monkeypatch):
    port = free_port()
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_PORT", str(port))
    reader = NethicalPrometheusMetricReader()
    provider = MeterProvider([reader])
    try:
        instruments = Instruments(SdkBackend(provider.get_meter("nethical_otel"), LabelCleaner(128), 2000))
        instruments.requests.child("pi", "success").record(1)
        instruments.request_latency.child("pi").record(0.02)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            text = response.read().decode()
    finally:
        provider.shutdown()

    assert 'nethical_requests_total{detector_type="pi",status="success"} 1.0' in text
    shapes = families(text)
    assert set(shapes) == {"nethical_requests_total", "nethical_request_latency_seconds"}
    assert shapes["nethical_request_latency_seconds"].buckets == le(semconv.LATENCY_BUCKETS)
    assert "target_info" not in text
    assert "otel_scope" not in text
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2)


def test_a_bad_port_names_the_variable(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_PORT", "ninety")
    with pytest.raises(ValueError, match="OTEL_EXPORTER_PROMETHEUS_PORT must be a port number from 0 to 65535"):
        NethicalPrometheusMetricReader()


def test_a_port_in_use_names_the_variable(monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_HOST", "127.0.0.1")
    monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_PORT", "0")
    first = NethicalPrometheusMetricReader()
    try:
        monkeypatch.setenv("OTEL_EXPORTER_PROMETHEUS_PORT", str(first.port))
        with pytest.raises(OSError, match=f"cannot serve Prometheus metrics on 127.0.0.1:{first.port}"):
            NethicalPrometheusMetricReader()
    finally:
        first.shutdown()
