"""The profiling section merged with the PYROSCOPE_* environment, and its error messages."""

from __future__ import annotations

import pytest

from nethical_otel.config import ConfigError, load_config
from nethical_otel.profiling import build_component
from nethical_otel.profiling._settings import PyroscopeSettings, profiling_enabled, resolve_settings


def settings(section: dict[str, object], environ: dict[str, str] | None = None) -> PyroscopeSettings:
    config = load_config({"profiling": section}, environ={})
    return resolve_settings(config.profiling, environ or {})


def test_defaults_push_to_localhost_at_100_hz_every_10_seconds_as_the_service() -> None:
    resolved = settings({"enabled": True})

    assert resolved.push_url == "http://127.0.0.1:4040/push.v1.PusherService/Push"
    assert resolved.application_name is None  # filled with the OTel service.name at start
    arguments = resolved.configure_arguments("svc")
    assert {k: arguments[k] for k in ("application_name", "sample_rate", "upload_interval", "tags")} == {
        "application_name": "svc",
        "sample_rate": 100,
        "upload_interval": 10,
        "tags": {},
    }


def test_environment_fills_what_the_config_leaves_unset_and_config_wins() -> None:
    environ = {
        "PYROSCOPE_SERVER_ADDRESS": "http://pyroscope:4040/",
        "PYROSCOPE_APPLICATION_NAME": "from-env",
        "PYROSCOPE_BASIC_AUTH_USER": "123456",
        "PYROSCOPE_BASIC_AUTH_PASSWORD": "glc_token",
        "PYROSCOPE_TENANT_ID": "team-a",
        "PYROSCOPE_LABELS": "region=eu-west-1, env=staging",
    }
    from_env = settings({}, environ)
    assert (from_env.server_address, from_env.application_name, from_env.tenant_id) == (
        "http://pyroscope:4040",
        "from-env",
        "team-a",
    )
    assert from_env.basic_auth_username == "123456"
    assert from_env.basic_auth_password.reveal() == "glc_token"
    assert from_env.tags == {"region": "eu-west-1", "env": "staging"}

    configured = settings({"server_address": "https://profiles.example:443", "tags": {"env": "prod"}}, environ)
    assert configured.server_address == "https://profiles.example:443"
    assert configured.tags == {"region": "eu-west-1", "env": "prod"}


def test_profiling_turns_on_with_pyroscope_server_address_unless_disabled_explicitly() -> None:
    unset = load_config({}, environ={}).profiling
    disabled = load_config({"profiling": {"enabled": False}}, environ={}).profiling
    with_server = {"PYROSCOPE_SERVER_ADDRESS": "http://pyroscope:4040"}

    assert not profiling_enabled(unset, {})
    assert profiling_enabled(unset, with_server)
    assert not profiling_enabled(disabled, with_server)
    assert build_component(load_config({}, environ={})) is None


def test_every_bad_setting_is_reported_with_its_key_and_no_secret() -> None:
    with pytest.raises(ConfigError) as caught:
        settings(
            {"basic_auth_username": "user", "tags": {"service_name": "x", "9lives": "y", "ok_tag": "z"}},
            {
                "PYROSCOPE_LABELS": "novalue",
                "PYROSCOPE_BASIC_AUTH_PASSWORD": "",
                "PYROSCOPE_SERVER_ADDRESS": "pyroscope:4040",
            },
        )
    assert sorted(str(issue) for issue in caught.value.issues) == [
        "PYROSCOPE_LABELS: 'novalue' is not key=value (expected key=value,key2=value2)",
        "profiling.basic_auth_username: basic auth needs both a username and a password (or neither)",
        "profiling.server_address (from PYROSCOPE_SERVER_ADDRESS): 'pyroscope:4040' is not an http:// or https:// URL",
        "profiling.tags.9lives: a tag name is letters, digits, '_' and '.', not starting with a digit",
        "profiling.tags.service_name: 'service_name' is set by nethical_otel or Pyroscope itself",
    ]


def test_credentials_in_the_server_url_are_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigError) as caught:
        settings({"server_address": "https://user:s3cret@profiles.example"})

    assert "s3cret" not in str(caught.value)
    assert "profiling.server_address: put credentials in basic_auth_username/basic_auth_password" in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        settings({}, {"PYROSCOPE_SERVER_ADDRESS": "ftp://user:s3cret@profiles.example"})
    assert "s3cret" not in str(caught.value)
    assert "'ftp://****@profiles.example' is not an http:// or https:// URL" in str(caught.value)


def test_the_password_never_shows_in_the_settings_repr() -> None:
    resolved = settings({"basic_auth_username": "u", "basic_auth_password": "hunter2"})

    assert "hunter2" not in repr(resolved)
    assert "hunter2" not in str(resolved.basic_auth_password)


def test_empty_tag_values_from_unset_variables_are_left_out() -> None:
    resolved = settings({"tags": {"region": "", "env": "dev"}})

    assert resolved.tags == {"env": "dev"}


def test_a_static_tag_cannot_shadow_the_detector_tag() -> None:
    with pytest.raises(ConfigError, match=r"profiling\.tags\.detector_type"):
        settings({"tags": {"detector_type": "x"}})
