"""Configuration: the original YAML layout, ${VAR} interpolation, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from nethical_otel.config import CONFIG_ENV_VAR, Config, ConfigError, Secret, load_config

REPO = Path(__file__).resolve().parents[2]


def issues(raw: dict, environ: dict | None = None) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load_config(raw, environ=environ or {})
    return [str(issue) for issue in raised.value.issues]


def test_no_config_means_the_documented_defaults(monkeypatch):
    monkeypatch.delenv(CONFIG_ENV_VAR, raising=False)
    config = load_config(None)
    assert config == Config()
    assert (config.metrics_server.host, config.metrics_server.port) == ("127.0.0.1", 9091)
    assert config.prometheus.target_info is False


def test_the_shipped_example_loads_and_follows_the_original_layout():
    config = load_config(REPO / "config" / "monitoring.yaml", environ={})
    assert config.prometheus.enabled and config.metrics_server.enabled
    assert config.profiling.sampling_rate_hz == 100
    assert config.alerting.slack_webhook_url is None


def test_the_environment_variable_names_the_file(tmp_path, monkeypatch):
    path = tmp_path / "nethical.yaml"
    path.write_text("metrics_server:\n  port: 9999\n")
    monkeypatch.setenv(CONFIG_ENV_VAR, str(path))
    assert load_config(None).metrics_server.port == 9999


def test_references_are_interpolated_and_typed():
    config = load_config(
        {
            "metrics_server": {"port": "${PORT:-9092}", "enabled": "${ON}"},
            "service": {"name": "detectors-${REGION}"},
            "alerting": {"slack_webhook_url": "${SLACK}", "smtp": {"to": ["${TO}", "ops@example.com"]}},
            "profiling": {"tags": {"cost_center": "$${literal}"}},
        },
        environ={"ON": "false", "REGION": "eu", "SLACK": "https://hooks.example/T/B/secret", "TO": "sec@example.com"},
    )
    assert (config.metrics_server.port, config.metrics_server.enabled) == (9092, False)
    assert config.service.name == "detectors-eu"
    assert config.alerting.slack_webhook_url == Secret("https://hooks.example/T/B/secret")
    assert config.alerting.smtp.to == ("sec@example.com", "ops@example.com")
    assert config.profiling.tags == {"cost_center": "${literal}"}


def test_a_single_string_is_accepted_where_a_list_is_expected():
    config = load_config({"alerting": {"smtp": {"to": "soc@example.com"}}}, environ={})
    assert config.alerting.smtp.to == ("soc@example.com",)


def test_every_problem_is_reported_with_its_key_path_value_and_expectation():
    assert issues(
        {
            "metrics_server": {"port": 70000, "hots": "0.0.0.0"},
            "prometheus": {"enabled": "yes", "cardinality_limit": 0},
            "tracing": [],
            "nonsense": 1,
        }
    ) == [
        "metrics_server.port: 70000 is out of range (expected 0 to 65535)",
        "metrics_server.hots: unknown key; did you mean 'host'? (expected one of: body_timeout_seconds, enabled, "
        "header_timeout_seconds, host, max_connections, port, response_timeout_seconds)",
        "prometheus.enabled: expected true or false, got str 'yes'",
        "prometheus.cardinality_limit: 0 is out of range (expected 1 to 1e+06)",
        "tracing: expected a mapping, got list []",
        "nonsense: unknown key (expected one of: alerting, integration, metrics_server, otlp, privacy, profiling, "
        "prometheus, service, shutdown, tracing)",
    ]


def test_an_unset_variable_without_default_is_an_error_unless_its_section_is_disabled():
    assert issues({"alerting": {"slack_webhook_url": "${SLACK_WEBHOOK_URL}"}}) == [
        "alerting.slack_webhook_url: environment variable SLACK_WEBHOOK_URL is not set and has no default "
        "(write ${SLACK_WEBHOOK_URL:-} to make it optional)"
    ]
    config = load_config(
        {"alerting": {"enabled": False, "slack_webhook_url": "${SLACK_WEBHOOK_URL}", "smtp": {"password": "${PW}"}}},
        environ={},
    )
    assert config.alerting.enabled is False


def test_secret_values_never_appear_in_errors_or_reprs():
    secret = "https://hooks.slack.example/services/T0/B0/very-secret-token"
    problems = issues({"alerting": {"slack_webhook_url": 12345, "smtp": {"password": ["x", secret]}}})
    assert problems == [
        "alerting.slack_webhook_url: expected a string, got a int (value hidden: secret)",
        "alerting.smtp.password: expected a string, got a list (value hidden: secret)",
    ]
    config = load_config({"alerting": {"slack_webhook_url": secret}}, environ={})
    assert secret not in repr(config) and secret not in str(config.alerting.slack_webhook_url)
    assert config.alerting.slack_webhook_url.reveal() == secret


def test_a_broken_file_is_reported_with_its_name(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("metrics_server: [unclosed\n")
    with pytest.raises(ConfigError, match=r"(?s)bad\.yaml.*not valid YAML"):
        load_config(path)
    with pytest.raises(ConfigError, match="cannot read the file"):
        load_config(tmp_path / "missing.yaml")
