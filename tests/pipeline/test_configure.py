"""configure(): lifecycle, standard OTEL_* variables, collector mode (OTLP/HTTP to a real receiver)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from opentelemetry import metrics, trace
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

import nethical_otel
from nethical_otel import instrument_detector
from nethical_otel.monitoring import get_prometheus_metrics
from tests._support.recorder import RecordingServer


def test_configure_twice_replaces_the_pipeline_and_shutdown_is_idempotent():
    first = nethical_otel.configure({"metrics_server": {"port": 0}})
    first_url = first.metrics_server.url
    second = nethical_otel.configure({"metrics_server": {"port": 0}})
    assert first.is_shut_down and not second.is_shut_down
    assert second.metrics_server.url != first_url or second.metrics_server is not first.metrics_server
    second.shutdown()
    second.shutdown()
    nethical_otel.shutdown()
    assert repr(second) == "<Telemetry shut down>"


def test_bad_config_is_refused_before_the_running_pipeline_is_touched():
    running = nethical_otel.configure({"metrics_server": {"enabled": False}})
    with pytest.raises(nethical_otel.ConfigError, match=r"metrics_server\.port"):
        nethical_otel.configure({"metrics_server": {"port": -1}})
    assert not running.is_shut_down


def test_otel_sdk_disabled_turns_everything_off(monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    telemetry = nethical_otel.configure()
    assert not telemetry.enabled and telemetry.metrics_server is None
    calls = []
    detect = instrument_detector("pi")(lambda prompt: calls.append(prompt) or {"threat_level": "HIGH"})
    assert detect("x") == {"threat_level": "HIGH"} and calls == ["x"]


def test_service_name_and_resource_attributes_come_from_the_standard_variables(monkeypatch):
    monkeypatch.setenv("OTEL_SERVICE_NAME", "detector-fleet")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment.name=prod,team=secops")
    telemetry = nethical_otel.configure({"metrics_server": {"enabled": False}})
    attributes = dict(telemetry.resource.attributes)
    assert attributes["service.name"] == "detector-fleet"
    assert attributes["team"] == "secops"
    assert len(attributes["service.instance.id"]) == 36


def test_config_service_name_wins_and_the_default_is_nethical(monkeypatch):
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_RESOURCE_ATTRIBUTES", raising=False)
    default = nethical_otel.configure({"metrics_server": {"enabled": False}})
    assert default.resource.attributes["service.name"] == "nethical"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "from-env")
    named = nethical_otel.configure({"metrics_server": {"enabled": False}, "service": {"name": "from-config"}})
    assert named.resource.attributes["service.name"] == "from-config"


def test_collector_mode_exports_metrics_and_spans_over_otlp_http_with_the_same_names(monkeypatch):
    monkeypatch.setenv("OTEL_SERVICE_NAME", "otlp-test")
    with RecordingServer() as collector:
        telemetry = nethical_otel.configure(
            {"metrics_server": {"enabled": False}, "otlp": {"endpoint": collector.url, "export_interval_seconds": 60}}
        )
        instrument_detector("pi")(lambda prompt: {"threat_level": "HIGH", "category": "jailbreak"})("x")
        get_prometheus_metrics().track_cache("embedding", hit=True)
        telemetry.shutdown()  # flushes both signals
        (metrics_post,) = collector.received("/v1/metrics")
        (traces_post,) = collector.received("/v1/traces")

    assert metrics_post.headers["Content-Type"] == "application/x-protobuf"
    exported = ExportMetricsServiceRequest.FromString(metrics_post.body)
    resource = {a.key: a.value.string_value for a in exported.resource_metrics[0].resource.attributes}
    assert resource["service.name"] == "otlp-test"
    names = {
        (metric.name, metric.unit)
        for rm in exported.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
    }
    assert {("nethical_requests", ""), ("nethical_request_latency", "s"), ("nethical_cache_hits", "")} <= names
    spans = ExportTraceServiceRequest.FromString(traces_post.body).resource_spans[0].scope_spans[0].spans
    assert [span.name for span in spans] == ["detect pi"]


def test_the_standard_otlp_variables_switch_collector_mode_on_and_set_the_export_interval(monkeypatch):
    with RecordingServer() as collector:
        monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.url)
        monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "200")
        telemetry = nethical_otel.configure({"metrics_server": {"enabled": False}})
        get_prometheus_metrics().track_request("pi", 0.01, "success")
        collector.wait_for(3, "/v1/metrics", timeout=10)  # periodic pushes, no flush needed
        telemetry.shutdown()


def test_global_providers_follow_the_active_pipeline():
    tracer = trace.get_tracer("user-code")
    first = nethical_otel.configure({"metrics_server": {"enabled": False}})
    span = tracer.start_span("a")
    assert span.get_span_context().is_valid
    span.end()
    first.shutdown()
    assert not tracer.start_span("b").get_span_context().is_valid
    nethical_otel.configure({"metrics_server": {"enabled": False}})
    assert tracer.start_span("c").is_recording()
    assert isinstance(metrics.get_meter_provider(), nethical_otel.pipeline._globals.ActiveMeterProvider)


def test_adopting_providers_configured_elsewhere_records_with_advisory_buckets():
    # Global providers can be set once per process: run the scenario in a fresh interpreter.
    script = textwrap.dedent(
        """
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
        import nethical_otel
        from nethical_otel.pipeline import adopt_global_providers

        reader, exporter = InMemoryMetricReader(), InMemorySpanExporter()
        metrics.set_meter_provider(MeterProvider([reader]))
        provider = TracerProvider(); provider.add_span_processor(SimpleSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        telemetry = adopt_global_providers({"metrics_server": {"port": 0}})
        nethical_otel.instrument_detector("pi")(lambda p: {"threat_level": "HIGH"})("x")
        data = reader.get_metrics_data().resource_metrics[0].scope_metrics[0].metrics
        latency = next(m for m in data if m.name == "nethical_request_latency")
        print(sorted(m.name for m in data))
        print(list(latency.data.data_points[0].explicit_bounds))
        print([s.name for s in exporter.get_finished_spans()])
        import urllib.request
        body = urllib.request.urlopen(telemetry.metrics_server.url + "/metrics").read().decode()
        print("nethical_threats_detected_total" in body)
        telemetry.shutdown()
        """
    )
    output = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    names, bounds, spans, served = output.stdout.splitlines()
    # Declared at zero: nethical_alerts for the alerting pipeline's channel (the console), and the metrics
    # server's protective closures.
    assert names == (
        "['nethical_alerts', 'nethical_metrics_server_connections_closed', 'nethical_request_latency', "
        "'nethical_requests', 'nethical_threats_detected']"
    )
    assert bounds == "[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]"
    assert spans == "['detect pi']"
    assert served == "True"
