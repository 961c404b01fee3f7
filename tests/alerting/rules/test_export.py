"""``nethical-otel rules export --format prometheus``: the rule table as Prometheus rules and promtool tests,
with a configuration's thresholds; the generated tests hold Prometheus to what the SDK's evaluator does."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from nethical_otel.cli import main


def export(tmp_path: Path, *extra: str) -> int:
    return main(["rules", "export", "--format", "prometheus", "--output", str(tmp_path / "rules.yml"), *extra])


def promtool_test(binary: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, "test", "rules", str(path)], capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("NETHICAL_OTEL_CONFIG", raising=False)
    path = tmp_path / "nethical.yaml"
    rules = {"high_threat_rate_threshold": 0.25, "min_requests": 50, "window_seconds": 120, "for_seconds": 60}
    path.write_text(yaml.safe_dump({"alerting": {"rules": rules}}), encoding="utf-8")
    return path


def test_the_export_writes_the_rules_and_their_tests_with_the_configured_thresholds(tmp_path, config, capsys):
    assert export(tmp_path, "--config", str(config)) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"wrote {tmp_path / 'rules.yml'}",
        f"wrote {tmp_path / 'rules.test.yml'}",
    ]
    rules = {r["alert"]: r for g in yaml.safe_load((tmp_path / "rules.yml").read_text())["groups"] for r in g["rules"]}
    threat = rules["NethicalHighThreatRate"]
    assert "> 0.25\n" in threat["expr"] and ">= 50\n" in threat["expr"] and "[2m]" in threat["expr"]
    assert threat["for"] == "1m"
    assert "More than 25% of the requests" in threat["annotations"]["description"]
    tests = yaml.safe_load((tmp_path / "rules.test.yml").read_text())
    assert tests["rule_files"] == ["rules.yml"] and tests["evaluation_interval"] == "24s"  # a fifth of the window


def test_check_reports_files_that_differ_from_the_export(tmp_path, config, capsys):
    assert export(tmp_path, "--check") == 1
    assert export(tmp_path) == 0
    assert export(tmp_path, "--check") == 0
    assert export(tmp_path, "--check", "--config", str(config)) == 1  # other thresholds: other files
    assert "rules.yml differs from the export" in capsys.readouterr().err


def test_without_output_the_rules_are_printed(monkeypatch, capsys):
    monkeypatch.delenv("NETHICAL_OTEL_CONFIG", raising=False)
    assert main(["rules", "export"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["groups"][0]["rules"][0]["alert"] == "NethicalHighLatency"


def test_an_invalid_config_is_refused_with_its_key(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("NETHICAL_OTEL_CONFIG", raising=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text("alerting:\n  rules:\n    window_seconds: -1\n", encoding="utf-8")
    assert main(["rules", "export", "--config", str(bad)]) == 2
    assert "alerting.rules.window_seconds" in capsys.readouterr().err


def test_the_tests_of_an_export_with_other_thresholds_and_windows_pass_in_promtool(tmp_path, config, promtool_binary):
    assert export(tmp_path, "--config", str(config)) == 0
    result = promtool_test(promtool_binary, tmp_path / "rules.test.yml")
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_rule_prometheus_reads_otherwise_than_the_sdk_fails_its_generated_test(
    tmp_path, monkeypatch, promtool_binary
):
    monkeypatch.delenv("NETHICAL_OTEL_CONFIG", raising=False)
    assert export(tmp_path) == 0
    rules = tmp_path / "rules.yml"
    text = rules.read_text(encoding="utf-8")
    assert text.count("> 0.5\n") == 1
    rules.write_text(text.replace("> 0.5\n", "> 0.7\n"), encoding="utf-8")  # the SDK still fires at 60 %
    result = promtool_test(promtool_binary, tmp_path / "rules.test.yml")
    assert result.returncode != 0
    assert "alertname: NethicalHighThreatRate" in result.stdout + result.stderr
