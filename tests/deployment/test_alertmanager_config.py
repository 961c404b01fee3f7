"""collector/alertmanager.yml checked by the real amtool (Debian's prometheus-alertmanager): the file is
valid, every severity the rules use reaches its receiver, and the receivers' credentials are exactly
the files the entrypoint writes from the environment."""

from __future__ import annotations

import os
import re
import stat
import subprocess
from pathlib import Path

import pytest

from tests._support.deployment import ALERTMANAGER_CONFIG, ALERTMANAGER_ENTRYPOINT, alert_rules, load_yaml

ROUTES = {"critical": "pager", "warning": "chat", "info": "chat-digest"}
SECRETS = {"slack_webhook_url": "SLACK_WEBHOOK_URL", "pagerduty_routing_key": "PAGERDUTY_ROUTING_KEY"}


def amtool(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=False)


def _credential_files() -> set[str]:
    return set(re.findall(r"_file:\s*(\S+)", ALERTMANAGER_CONFIG.read_text(encoding="utf-8")))


def test_amtool_accepts_the_config(amtool_binary):
    result = amtool(amtool_binary, "check-config", str(ALERTMANAGER_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


@pytest.mark.parametrize(("severity", "receiver"), sorted(ROUTES.items()))
def test_each_severity_routes_to_its_receiver(amtool_binary, severity, receiver):
    result = amtool(
        amtool_binary,
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER_CONFIG}",
        f"severity={severity}",
        "alertname=NethicalHighErrorRate",
        "detector_type=prompt_injection",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == receiver


def test_every_severity_the_rules_use_has_a_route():
    assert {rule["labels"]["severity"] for rule in alert_rules().values()} <= set(ROUTES)


def test_receivers_read_credentials_only_from_the_files_the_entrypoint_writes():
    config = load_yaml(ALERTMANAGER_CONFIG)
    text = ALERTMANAGER_CONFIG.read_text(encoding="utf-8")
    # No literal URL or key in the file: api_url/routing_key/service_key only as *_file.
    for receiver in config["receivers"]:
        for integration in receiver.get("slack_configs", []):
            assert "api_url" not in integration and "api_url_file" in integration
        for integration in receiver.get("pagerduty_configs", []):
            assert "routing_key" not in integration and "service_key" not in integration
    assert "hooks.slack.com" not in text
    files = _credential_files()
    assert {Path(f).parent for f in files} == {Path("/run/alertmanager-secrets")}
    assert {Path(f).name for f in files} == set(SECRETS)


def test_entrypoint_writes_each_credential_privately_then_runs_alertmanager(tmp_path):
    secrets_dir = tmp_path / "secrets"
    marker = tmp_path / "started"
    environ = {
        "PATH": os.environ["PATH"],
        "ALERTMANAGER_SECRETS_DIR": str(secrets_dir),
        # Stands in for /bin/alertmanager: records the arguments it was started with.
        "ALERTMANAGER_BINARY": "/bin/sh",
        "SLACK_WEBHOOK_URL": "https://chat.example/hook/with\\backslash",
    }
    result = subprocess.run(
        ["/bin/sh", str(ALERTMANAGER_ENTRYPOINT), "-c", f'printf "%s" "$0" > {marker}', "--config.file=x.yml"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert marker.read_text() == "--config.file=x.yml"
    assert (secrets_dir / "slack_webhook_url").read_bytes() == b"https://chat.example/hook/with\\backslash"
    assert (secrets_dir / "pagerduty_routing_key").read_bytes() == b""
    for name in SECRETS:
        assert stat.S_IMODE((secrets_dir / name).stat().st_mode) == 0o600, name
    assert stat.S_IMODE(secrets_dir.stat().st_mode) == 0o700
    # An unset variable is reported by name, a set one never echoed.
    assert "PAGERDUTY_ROUTING_KEY is not set" in result.stderr
    assert "chat.example" not in result.stderr + result.stdout
