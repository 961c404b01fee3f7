"""collector/prometheus.yml and the alert rules, checked by the real promtool (Debian's prometheus
package): the configuration as shipped (container host names and all), the rules, and their unit tests.
The rule files are the export of the SDK's rule table, and every rule is tested firing and not firing."""

from __future__ import annotations

import subprocess

from nethical_otel.alerting.rules import RULES
from nethical_otel.alerting.rules.export import prometheus
from nethical_otel.cli import main
from tests._support.deployment import (
    ALERT_RULES,
    ALERT_RULES_TESTS,
    PROMETHEUS_CONFIG,
    alert_rules,
    load_yaml,
)


def promtool(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=False)


def test_the_shipped_rules_and_their_tests_are_the_export_of_the_rule_table():
    exported = prometheus()
    assert ALERT_RULES.read_text(encoding="utf-8") == exported.rules, "run: nethical-otel rules export " + (
        "--format prometheus --output collector/alert-rules.yml"
    )
    assert ALERT_RULES_TESTS.read_text(encoding="utf-8") == exported.tests


def test_the_export_command_with_check_agrees_with_the_shipped_files(monkeypatch):
    monkeypatch.delenv("NETHICAL_OTEL_CONFIG", raising=False)
    assert main(["rules", "export", "--format", "prometheus", "--output", str(ALERT_RULES), "--check"]) == 0


def test_promtool_accepts_the_prometheus_config_as_shipped(promtool_binary):
    result = promtool(promtool_binary, "check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    # It also loads the rule files the config names, relative to the config's directory.
    assert f"Checking {ALERT_RULES}" in result.stdout
    assert f"SUCCESS: {len(RULES)} rules found" in result.stdout


def test_promtool_accepts_the_rules(promtool_binary):
    result = promtool(promtool_binary, "check", "rules", str(ALERT_RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(RULES)} rules found" in result.stdout


def test_promtool_unit_tests_of_every_rule_pass(promtool_binary):
    result = promtool(promtool_binary, "test", "rules", str(ALERT_RULES_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_rules_are_the_tables_with_its_names_severities_and_durations():
    shipped = alert_rules()
    assert list(shipped) == [rule.alertname for rule in RULES]
    for rule in RULES:
        assert shipped[rule.alertname]["labels"] == {"severity": rule.severity.value}
    assert shipped["NethicalLowCacheHitRate"]["for"] == "10m" and shipped["NethicalDetectorDown"]["for"] == "1m"


def test_every_rule_is_unit_tested_firing_and_not_firing():
    fired, silent = set(), set()
    for case in load_yaml(ALERT_RULES_TESTS)["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check["exp_alerts"] else silent).add(check["alertname"])
    assert fired == set(alert_rules()), "rules never tested firing"
    assert silent == set(alert_rules()), "rules never tested staying quiet"


def test_prometheus_sends_alerts_to_every_peer_of_the_stacks_alertmanager_cluster():
    config = load_yaml(PROMETHEUS_CONFIG)
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"] == [{"targets": ["alertmanager:9093", "alertmanager-2:9093"]}]
    assert config["rule_files"] == [ALERT_RULES.name]
