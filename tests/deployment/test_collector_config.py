"""otel-collector.yaml, validated statically: no otelcol binary installs here (the collector path itself
runs with rotel in test_stack.py). What is checked is what breaks a deployment silently: a component
defined but not wired, processors in the wrong order, names rewritten, ports that disagree with
Prometheus, the app and the compose healthcheck."""

from __future__ import annotations

from typing import Any

import pytest

from tests._support.deployment import OTEL_COLLECTOR_CONFIG, PROMETHEUS_CONFIG, host_port, load_yaml


@pytest.fixture(scope="module")
def collector() -> dict[str, Any]:
    return dict(load_yaml(OTEL_COLLECTOR_CONFIG))


def _scrape_targets(job: str) -> list[str]:
    (scrape,) = [s for s in load_yaml(PROMETHEUS_CONFIG)["scrape_configs"] if s["job_name"] == job]
    return [target for static in scrape["static_configs"] for target in static["targets"]]


def test_every_component_is_defined_and_every_defined_component_is_used(collector):
    service = collector["service"]
    used = {"receivers": set(), "processors": set(), "exporters": set()}
    for pipeline in service["pipelines"].values():
        for kind, names in used.items():
            names.update(pipeline.get(kind, []))
    for kind, names in used.items():
        assert names == set(collector[kind]), f"{kind}: used {sorted(names)}, defined {sorted(collector[kind])}"
    assert set(service["extensions"]) == set(collector["extensions"])


def test_metrics_and_traces_pipelines_receive_otlp_and_export_to_prometheus_and_the_trace_backend(collector):
    pipelines = collector["service"]["pipelines"]
    assert set(pipelines) == {"metrics", "traces"}
    assert pipelines["metrics"]["receivers"] == ["otlp"] == pipelines["traces"]["receivers"]
    assert pipelines["metrics"]["exporters"] == ["prometheus"]
    assert pipelines["traces"]["exporters"] == ["otlp/jaeger"]


def test_memory_limiter_runs_first_and_batch_last_in_every_pipeline(collector):
    for name, pipeline in collector["service"]["pipelines"].items():
        processors = pipeline["processors"]
        assert processors[0] == "memory_limiter", name
        assert processors[-1] == "batch", name


def test_the_prometheus_exporter_keeps_the_nethical_names(collector):
    exporter = collector["exporters"]["prometheus"]
    # A namespace would prefix every name; disabling suffixes would drop _total and _seconds; a
    # translation strategy other than the default escaping-with-suffixes would change them too.
    assert "namespace" not in exporter
    assert exporter.get("add_metric_suffixes", True) is True
    assert exporter.get("translation_strategy", "UnderscoreEscapingWithSuffixes") == "UnderscoreEscapingWithSuffixes"
    assert exporter["resource_to_telemetry_conversion"]["enabled"] is False


def test_the_prometheus_exporter_serves_openmetrics_so_exemplars_reach_prometheus(collector):
    assert collector["exporters"]["prometheus"]["enable_open_metrics"] is True


def test_prometheus_scrapes_the_ports_the_collector_serves(collector):
    _, exporter_port = host_port(collector["exporters"]["prometheus"]["endpoint"])
    assert _scrape_targets("otel-collector") == [f"otel-collector:{exporter_port}"]
    (reader,) = collector["service"]["telemetry"]["metrics"]["readers"]
    internal = reader["pull"]["exporter"]["prometheus"]
    assert _scrape_targets("otel-collector-internal") == [f"otel-collector:{internal['port']}"]


def test_receivers_listen_where_the_app_and_host_apps_send(collector, services):
    protocols = collector["receivers"]["otlp"]["protocols"]
    grpc, http = host_port(protocols["grpc"]["endpoint"]), host_port(protocols["http"]["endpoint"])
    # 0.0.0.0: the apps reach the collector over the compose network, not its loopback.
    assert grpc == ("0.0.0.0", 4317)
    assert http == ("0.0.0.0", 4318)
    assert host_port(services["nethical"]["environment"]["NETHICAL_OTLP_ENDPOINT"]) == ("otel-collector", http[1])
    published = {int(port["target"]) for port in services["otel-collector"]["ports"]}
    assert published == {grpc[1], http[1]}


def test_the_compose_healthcheck_polls_the_health_check_extension(collector, services):
    _, port = host_port(collector["extensions"]["health_check"]["endpoint"])
    assert f"http://127.0.0.1:{port}/" in services["otel-collector"]["healthcheck"]["test"]


def test_traces_go_to_the_jaeger_service_of_the_stack(collector, services):
    exporter = collector["exporters"]["otlp/jaeger"]
    host, port = host_port(exporter["endpoint"])
    assert host in services
    assert port == 4317  # Jaeger v2's OTLP/gRPC receiver
    assert exporter["tls"]["insecure"] is True  # plain text inside the compose network only


def test_debugging_endpoints_stay_inside_the_compose_network(collector, services):
    published = {int(port["target"]) for port in services["otel-collector"]["ports"]}
    for extension in ("zpages", "pprof", "health_check"):
        _, port = host_port(collector["extensions"][extension]["endpoint"])
        assert port not in published, f"{extension} is published to the host"
