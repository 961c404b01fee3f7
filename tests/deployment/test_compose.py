"""docker-compose.yml, validated by Docker Compose v2 itself (offline, no engine) and checked for the
properties the stack promises: repo configs mounted read-only, pinned images, unique loopback ports,
healthchecks, named volumes and a Grafana without default credentials."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

import nethical_otel
from tests._support.compose import compose_config
from tests._support.deployment import (
    COLLECTOR_DOCKERFILE,
    COMPOSE_ENVIRONMENT,
    DOCKERFILE,
    ROOT,
)

# What each service must read from this repository: (repo path, container path, where the service is
# told to read it). A file mounted but not read, or read from the image's own default, is a bug.
REPO_CONFIGS = {
    "nethical": [("config/deployment.yaml", "/etc/nethical/deployment.yaml", "command")],
    "otel-collector": [("otel-collector.yaml", "/etc/otelcol-contrib/config.yaml", "command")],
    "prometheus": [
        ("collector/prometheus.yml", "/etc/prometheus/prometheus.yml", "command"),
        ("collector/alert-rules.yml", "/etc/prometheus/alert-rules.yml", "collector/prometheus.yml"),
    ],
    "alertmanager": [
        ("collector/alertmanager.yml", "/etc/alertmanager/alertmanager.yml", "command"),
        ("collector/alertmanager-entrypoint.sh", "/etc/alertmanager/entrypoint.sh", "entrypoint"),
    ],
    "alertmanager-2": [
        ("collector/alertmanager.yml", "/etc/alertmanager/alertmanager.yml", "command"),
        ("collector/alertmanager-entrypoint.sh", "/etc/alertmanager/entrypoint.sh", "entrypoint"),
    ],
    "grafana": [
        ("grafana/provisioning/datasources", "/etc/grafana/provisioning/datasources", "image default"),
        ("grafana/provisioning/dashboards", "/etc/grafana/provisioning/dashboards", "image default"),
        ("grafana/dashboards", "/var/lib/grafana/dashboards", "grafana/provisioning/dashboards/dashboards.yml"),
    ],
}
# State that must survive `docker compose down` / `up`: service -> container path of its named volume.
STATE = {
    "nethical": "/var/lib/nethical",
    "prometheus": "/prometheus",
    "alertmanager": "/alertmanager",
    "alertmanager-2": "/alertmanager",
    "grafana": "/var/lib/grafana",
    "pyroscope": "/data",
}
# The original Nethical URLs: Grafana :3000, Prometheus :9090, the app's metrics :9091.
ORIGINAL_PORTS = {"grafana": 3000, "prometheus": 9090, "nethical": 9091}
_PINNED_TAG = re.compile(r"^[\w./-]+(:[\w][\w.-]*)?(@sha256:[0-9a-f]{64})?$")


def _binds(service: dict[str, Any]) -> list[dict[str, Any]]:
    return [volume for volume in service.get("volumes", []) if volume["type"] == "bind"]


def _is_pinned(image: str) -> bool:
    if not _PINNED_TAG.match(image):
        return False
    name, _, digest = image.partition("@")
    tag = name.rpartition(":")[2] if ":" in name.rpartition("/")[2] else ""
    return bool(digest) or (tag != "" and tag != "latest")


def test_docker_compose_v2_accepts_the_file(compose_command):
    result = compose_config(compose_command, COMPOSE_ENVIRONMENT, output="yaml")
    assert result.returncode == 0, result.stderr
    assert set(yaml.safe_load(result.stdout)["services"]) == {
        "nethical",
        "otel-collector",
        "prometheus",
        "alertmanager",
        "alertmanager-2",
        "grafana",
        "pyroscope",
        "jaeger",
    }


def test_compose_refuses_to_start_without_a_grafana_admin_password(compose_command):
    result = compose_config(compose_command, {})
    assert result.returncode != 0
    assert "GRAFANA_ADMIN_PASSWORD" in result.stderr


def test_every_bind_mount_is_an_existing_file_of_this_repository_mounted_read_only(services):
    for name, service in services.items():
        for bind in _binds(service):
            source = Path(bind["source"])
            # Docker creates a missing bind source as an empty directory: a typo would go unnoticed.
            assert source.exists(), f"{name}: {source} does not exist"
            assert source.resolve().is_relative_to(ROOT), f"{name}: {source} is outside the repository"
            assert bind.get("read_only") is True, f"{name}: {source} is mounted writable"


def test_each_service_reads_its_configuration_from_this_repository(services):
    for name, expected in REPO_CONFIGS.items():
        service = services[name]
        mounts = {bind["target"]: Path(bind["source"]) for bind in _binds(service)}
        for repo_path, container_path, read_by in expected:
            assert mounts.get(container_path) == ROOT / repo_path, f"{name}: {container_path} is not {repo_path}"
            if read_by in ("command", "entrypoint"):
                arguments = " ".join(service.get(read_by) or [])
                assert container_path in arguments, f"{name} is not told to read {container_path}"
            elif read_by != "image default":
                # The path is named by another repo file the service reads (relative names resolve
                # against that file's directory).
                assert Path(container_path).name in (ROOT / read_by).read_text(encoding="utf-8")


def test_every_image_is_pinned_to_a_version(services):
    for name, service in services.items():
        assert "image" in service, f"{name} has no image"
        assert _is_pinned(service["image"]), f"{name}: {service['image']} is not pinned to a version"
    for dockerfile in (DOCKERFILE, COLLECTOR_DOCKERFILE):
        bases = re.findall(r"^FROM\s+(\S+)", dockerfile.read_text(encoding="utf-8"), flags=re.M)
        assert bases, dockerfile
        for base in bases:
            assert _is_pinned(base), f"{dockerfile.name}: FROM {base} is not pinned to a version"


def test_built_images_are_tagged_with_the_version_they_contain(services):
    assert services["nethical"]["image"] == f"nethical-otel-demo:{nethical_otel.__version__}"
    collector_base = re.search(
        r"^FROM otel/opentelemetry-collector-contrib:(\S+)$",
        COLLECTOR_DOCKERFILE.read_text(encoding="utf-8"),
        flags=re.M,
    )
    assert collector_base is not None
    assert services["otel-collector"]["image"] == f"nethical-otel-collector:{collector_base.group(1)}"


def test_published_ports_are_unique_loopback_only_and_keep_the_original_urls(services):
    published: dict[int, str] = {}
    for name, service in services.items():
        for port in service.get("ports", []):
            host_port = int(port["published"])
            assert host_port not in published, f"port {host_port} published by {published.get(host_port)} and {name}"
            published[host_port] = name
            assert port.get("host_ip") == "127.0.0.1", f"{name} publishes {host_port} on every interface"
    for name, port in ORIGINAL_PORTS.items():
        assert published.get(port) == name, f"the original URL :{port} is not {name}"
    # Only what a person or a host-side app needs: UIs, the app's metrics, and OTLP in.
    assert set(published) == {3000, 9090, 9091, 9093, 9095, 4040, 16686, 4317, 4318}


def test_prometheus_keeps_the_exemplars_it_scrapes(services):
    # Without the flag Prometheus parses exemplars and drops them; Grafana's exemplar queries then answer nothing.
    assert "--enable-feature=exemplar-storage" in services["prometheus"]["command"]


def test_every_service_has_a_healthcheck_and_dependents_wait_for_it(services):
    for name, service in services.items():
        check = service.get("healthcheck") or {}
        test = check.get("test") or []
        assert test and test[0] in ("CMD", "CMD-SHELL"), f"{name} has no healthcheck"
        assert not check.get("disable"), name
        for dependency, condition in (service.get("depends_on") or {}).items():
            assert condition["condition"] == "service_healthy", f"{name} starts before {dependency} is healthy"


def test_healthchecks_poll_the_port_each_service_listens_on(services):
    for name, service in services.items():
        test = " ".join(service["healthcheck"]["test"])
        ports = [int(port["target"]) for port in service.get("ports", [])]
        urls = re.findall(r"http://127\.0\.0\.1:(\d+)", test)
        assert urls, f"{name}: healthcheck polls no local URL: {test}"
        if name not in ("otel-collector", "jaeger"):  # their health endpoints are unpublished ports
            assert int(urls[0]) in ports, f"{name}: healthcheck port {urls[0]} is not the service's port"


def test_state_lives_in_named_volumes(compose_model, services):
    declared = set(compose_model.get("volumes", {}))
    used = set()
    for name, path in STATE.items():
        volumes = [v for v in services[name].get("volumes", []) if v["type"] == "volume" and v["target"] == path]
        assert len(volumes) == 1, f"{name}: {path} is not a named volume"
        assert volumes[0]["source"] in declared
        used.add(volumes[0]["source"])
    assert used == declared, "a declared volume is used by no service"


def test_grafana_takes_its_admin_password_from_the_environment_with_sign_up_and_anonymous_access_off(services):
    environment = services["grafana"]["environment"]
    assert environment["GF_SECURITY_ADMIN_PASSWORD"] == COMPOSE_ENVIRONMENT["GRAFANA_ADMIN_PASSWORD"]
    assert environment["GF_USERS_ALLOW_SIGN_UP"] == "false"
    assert environment["GF_AUTH_ANONYMOUS_ENABLED"] == "false"
    home = environment["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    mounts = {bind["target"]: Path(bind["source"]) for bind in _binds(services["grafana"])}
    assert (mounts[str(Path(home).parent)] / Path(home).name).is_file(), home


def test_no_secret_is_written_into_the_compose_file(services):
    text = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    assignments = re.findall(r"^\s*(\w*(?:PASSWORD|TOKEN|KEY|WEBHOOK_URL)\w*):\s*(.+)$", text, flags=re.M)
    assert assignments, "the credentials are expected as environment references"
    for name, value in assignments:
        assert value.strip().startswith("${"), f"{name} is not taken from the environment: {value}"
    # Unset on this machine, so they must come out empty, not with a default baked in.
    for peer in ("alertmanager", "alertmanager-2"):
        assert services[peer]["environment"] == {"SLACK_WEBHOOK_URL": "", "PAGERDUTY_ROUTING_KEY": ""}


def test_the_two_alertmanagers_are_one_gossip_cluster_with_their_own_state(services):
    first, second = services["alertmanager"], services["alertmanager-2"]
    for peer, other in ((first, second), (second, first)):
        assert "--cluster.listen-address=0.0.0.0:9094" in peer["command"]
        assert [c for c in peer["command"] if c.startswith("--cluster.peer=")] == [
            f"--cluster.peer={'alertmanager' if other is first else 'alertmanager-2'}:9094"
        ]
        assert not [p for p in peer.get("ports", []) if int(p["target"]) == 9094]  # gossip stays inside
    assert first["image"] == second["image"] and first["entrypoint"] == second["entrypoint"]
    depends = services["prometheus"]["depends_on"]
    assert {"alertmanager", "alertmanager-2"} <= set(depends)
