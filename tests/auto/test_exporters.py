"""OTEL_TRACES_EXPORTER / OTEL_METRICS_EXPORTER under the Nethical configurator."""

from __future__ import annotations

import logging

from opentelemetry.sdk.metrics.export import ConsoleMetricExporter, PeriodicExportingMetricReader
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

from nethical_otel.auto._exporters import exporters_from_environment
from nethical_otel.config import load_config

CONFIG = load_config({"metrics_server": {"enabled": False}})


def test_nothing_set_adds_nothing_and_none_means_none():
    for environ in ({}, {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "None"}):
        extra = exporters_from_environment(CONFIG, environ)
        assert (extra.config, extra.metric_readers, extra.span_processors) == (CONFIG, [], [])


def test_named_exporters_are_found_through_the_sdks_entry_points():
    extra = exporters_from_environment(CONFIG, {"OTEL_TRACES_EXPORTER": "console", "OTEL_METRICS_EXPORTER": "console"})
    try:
        (processor,) = extra.span_processors
        assert isinstance(processor, BatchSpanProcessor)
        assert isinstance(processor.span_exporter, ConsoleSpanExporter)
        (reader,) = extra.metric_readers
        assert isinstance(reader, PeriodicExportingMetricReader)
        assert isinstance(reader._exporter, ConsoleMetricExporter)
    finally:
        for processor in extra.span_processors:
            processor.shutdown()
        for reader in extra.metric_readers:
            reader.shutdown()


def test_otlp_uses_the_configured_endpoint_or_else_the_standard_default():
    defaulted = exporters_from_environment(CONFIG, {"OTEL_TRACES_EXPORTER": "otlp"}).config
    assert defaulted.otlp.traces_endpoint == "http://localhost:4318/v1/traces"
    assert defaulted.otlp.metrics_endpoint is None

    environ = {"OTEL_METRICS_EXPORTER": "otlp_proto_http", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}
    assert exporters_from_environment(CONFIG, environ).config == CONFIG  # the exporter reads the variable itself

    configured = load_config({"otlp": {"endpoint": "http://collector:4318"}})
    assert exporters_from_environment(configured, {"OTEL_TRACES_EXPORTER": "otlp"}).config == configured


def test_otlp_over_grpc_is_refused_with_a_warning_and_exported_over_http(caplog):
    caplog.set_level(logging.WARNING, logger="nethical_otel.auto")
    environ = {"OTEL_TRACES_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}
    extra = exporters_from_environment(CONFIG, environ)
    assert extra.config.otlp.traces_endpoint == "http://localhost:4318/v1/traces"
    assert "OTEL_TRACES_EXPORTER=otlp asks for OTLP over gRPC" in caplog.text


def test_an_exporter_that_is_not_installed_is_named_and_left_out(caplog):
    caplog.set_level(logging.ERROR, logger="nethical_otel.auto")
    extra = exporters_from_environment(CONFIG, {"OTEL_METRICS_EXPORTER": "zipkin_json, console"})
    try:
        assert len(extra.metric_readers) == 1  # console still added
        assert "OTEL_METRICS_EXPORTER names 'zipkin_json', which is not installed (available: " in caplog.text
        assert "nethical_prometheus" in caplog.text
    finally:
        for reader in extra.metric_readers:
            reader.shutdown()
