"""config/deployment.yaml, loaded by the SDK's own loader with the environment docker-compose.yml gives
the app: every endpoint it names is a service of the stack, on the port that service listens on."""

from __future__ import annotations

import pytest

from nethical_otel.config import Config, load_config
from tests._support.deployment import DEPLOYMENT_CONFIG, host_port, load_yaml


@pytest.fixture(scope="module")
def app_config(services) -> Config:
    return load_config(DEPLOYMENT_CONFIG, environ=services["nethical"]["environment"])


def test_the_app_pushes_otlp_to_the_collector_every_scrape_interval(app_config, services):
    assert app_config.otlp.endpoint == "http://otel-collector:4318"
    assert "otel-collector" in services
    # The push interval is Prometheus' scrape interval, so each scrape of the collector sees new values.
    assert services["nethical"]["environment"]["OTEL_METRIC_EXPORT_INTERVAL"] == "15000"
    assert load_yaml(DEPLOYMENT_CONFIG)["otlp"].get("export_interval_seconds") is None


def test_the_app_serves_metrics_on_the_port_prometheus_scrapes(app_config, services):
    command = services["nethical"]["command"]
    assert command[command.index("--host") + 1] == "0.0.0.0"
    port = int(command[command.index("--port") + 1])
    assert port == app_config.metrics_server.port == 9091
    assert {int(p["target"]) for p in services["nethical"]["ports"]} == {port}


def test_fleet_mode_alerts_go_to_every_alertmanager_peer_and_the_metric_rules_run_in_prometheus(app_config, services):
    peers = [host_port(url) for url in app_config.alerting.alertmanager_url]
    assert [host for host, _ in peers] == ["alertmanager", "alertmanager-2"]
    for host, port in peers:
        assert f"http://127.0.0.1:{port}/-/ready" in services[host]["healthcheck"]["test"]
    assert app_config.alerting.enabled
    assert not app_config.alerting.rules.enabled  # collector/alert-rules.yml evaluates them over every instance


def test_profiles_go_to_the_pyroscope_service(app_config, services):
    assert app_config.profiling.enabled
    host, port = host_port(app_config.profiling.server_address or "")
    assert host == "pyroscope" and host in services
    assert {int(p["target"]) for p in services["pyroscope"]["ports"]} == {port}


def test_the_alert_outbox_lives_on_the_apps_named_volume(app_config, services):
    storage = app_config.alerting.storage_path or ""
    volumes = [v["target"] for v in services["nethical"]["volumes"] if v["type"] == "volume"]
    assert any(storage.startswith(f"{target}/") for target in volumes), storage


def test_prompt_content_stays_off_spans(app_config):
    assert app_config.privacy.capture_content is False
