"""collector/prometheus.yml and the alert rules, checked by the real promtool (Debian's prometheus
package): the configuration as shipped (container host names and all), the rules, and their unit tests.
The thresholds must be the SDK's defaults, and every rule must be tested firing and not firing."""

from __future__ import annotations

import re
import subprocess

import pytest

from nethical_otel.config import AlertRulesConfig
from tests._support.deployment import (
    ALERT_RULES,
    ALERT_RULES_TESTS,
    PROMETHEUS_CONFIG,
    alert_rules,
    load_yaml,
)

DEFAULTS = AlertRulesConfig()
# Each rule's comparison, and the SDK default it must use. Latency: the SDK's threshold is in
# milliseconds, the histogram in seconds.
THRESHOLDS = {
    "NethicalHighLatency": (">", DEFAULTS.high_latency_threshold_ms / 1000.0),
    "NethicalHighThreatRate": (">", DEFAULTS.high_threat_rate_threshold),
    "NethicalHighErrorRate": (">", DEFAULTS.high_error_rate_threshold),
    "NethicalLowCacheHitRate": ("<", DEFAULTS.min_cache_hit_rate),
    "NethicalDetectorDown": ("==", 0.0),
    "NethicalAlertDeliveryFailing": (">", 0.0),
}
_TRAILING_COMPARISON = re.compile(r"(>|<|==)\s*([0-9.]+)\s*$")


def promtool(binary: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=60, check=False)


def test_promtool_accepts_the_prometheus_config_as_shipped(promtool_binary):
    result = promtool(promtool_binary, "check", "config", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    # It also loads the rule files the config names, relative to the config's directory.
    assert f"Checking {ALERT_RULES}" in result.stdout
    assert "SUCCESS: 6 rules found" in result.stdout


def test_promtool_accepts_the_rules(promtool_binary):
    result = promtool(promtool_binary, "check", "rules", str(ALERT_RULES))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 6 rules found" in result.stdout


def test_promtool_unit_tests_of_every_rule_pass(promtool_binary):
    result = promtool(promtool_binary, "test", "rules", str(ALERT_RULES_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_the_rules_are_the_six_predefined_alerts():
    assert set(alert_rules()) == set(THRESHOLDS)


@pytest.mark.parametrize("alert", sorted(THRESHOLDS))
def test_each_threshold_is_the_sdk_default(alert):
    expr = alert_rules()[alert]["expr"]
    # The delivery-failing rule has two branches, each compared with the same threshold.
    for branch in re.split(r"\n\s*or\s*\n", expr.strip()):
        match = _TRAILING_COMPARISON.search(branch.strip())
        assert match is not None, f"{alert}: no trailing comparison in {branch!r}"
        assert (match.group(1), float(match.group(2))) == THRESHOLDS[alert], alert


def test_every_rule_has_a_routable_severity_and_a_summary():
    for name, rule in alert_rules().items():
        assert rule["labels"]["severity"] in ("critical", "warning", "info"), name
        assert rule["annotations"]["summary"] and rule["annotations"]["description"], name


def test_every_rule_is_unit_tested_firing_and_not_firing():
    fired, silent = set(), set()
    for case in load_yaml(ALERT_RULES_TESTS)["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check["exp_alerts"] else silent).add(check["alertname"])
    assert fired == set(alert_rules()), "rules never tested firing"
    assert silent == set(alert_rules()), "rules never tested staying quiet"


def test_prometheus_sends_alerts_to_the_stacks_alertmanager():
    config = load_yaml(PROMETHEUS_CONFIG)
    (alertmanagers,) = config["alerting"]["alertmanagers"]
    assert alertmanagers["static_configs"] == [{"targets": ["alertmanager:9093"]}]
    assert config["rule_files"] == [ALERT_RULES.name]
