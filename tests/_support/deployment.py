"""The deployment files of this repository, read the way their consumers read them."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]
COLLECTOR_DIR = ROOT / "collector"
PROMETHEUS_CONFIG = COLLECTOR_DIR / "prometheus.yml"
ALERT_RULES = COLLECTOR_DIR / "alert-rules.yml"
ALERT_RULES_TESTS = COLLECTOR_DIR / "alert-rules.test.yml"
ALERTMANAGER_CONFIG = COLLECTOR_DIR / "alertmanager.yml"
ALERTMANAGER_ENTRYPOINT = COLLECTOR_DIR / "alertmanager-entrypoint.sh"
OTEL_COLLECTOR_CONFIG = ROOT / "otel-collector.yaml"
DEPLOYMENT_CONFIG = ROOT / "config" / "deployment.yaml"
GRAFANA_DIR = ROOT / "grafana"
DOCKERFILE = ROOT / "Dockerfile"
COLLECTOR_DOCKERFILE = COLLECTOR_DIR / "otel-collector.Dockerfile"

# The environment the tests give `docker compose config`: the one required variable, nothing else.
COMPOSE_ENVIRONMENT = {"GRAFANA_ADMIN_PASSWORD": "test-only-password"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def host_port(address: str) -> tuple[str, int]:
    """``host:port``, ``http://host:port/path`` or ``0.0.0.0:port`` as (host, port)."""
    parts = urlsplit(address if "://" in address else f"//{address}")
    assert parts.hostname is not None and parts.port is not None, f"no host:port in {address!r}"
    return parts.hostname, parts.port


def alert_rules() -> dict[str, dict[str, Any]]:
    """Every alerting rule of collector/alert-rules.yml, by alert name."""
    return {
        rule["alert"]: rule for group in load_yaml(ALERT_RULES)["groups"] for rule in group["rules"] if "alert" in rule
    }
