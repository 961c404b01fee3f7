"""The ``profiling`` config section merged with the ``PYROSCOPE_*`` environment and checked."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nethical_otel import semconv
from nethical_otel._text import valid_unicode
from nethical_otel.config import ConfigError, ConfigIssue, ProfilingConfig, Secret, redact_url
from nethical_otel.config._profiling import DEFAULT_PYROSCOPE_ADDRESS, PYROSCOPE_ENV_VARS

# Sample labels nethical_otel sets itself (pyroscope-otel's names for the span links).
# Series labels the agent or the server set; a static tag must not shadow them.
_RESERVED_TAGS = frozenset(
    {
        "__name__",
        "service_name",
        semconv.PROFILE_DETECTOR_TAG,
        semconv.PROFILE_SPAN_ID_TAG,
        semconv.PROFILE_SPAN_NAME_TAG,
        semconv.PROFILE_TRACE_ID_TAG,
    }
)
_TAG_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*\Z")


@dataclass(frozen=True)
class PyroscopeSettings:
    """Everything the agent is started with; ``application_name`` None means the OTel service name."""

    server_address: str
    application_name: str | None
    sample_rate: int
    oncpu: bool
    tags: Mapping[str, str]
    basic_auth_username: str
    basic_auth_password: Secret
    tenant_id: str
    upload_interval: int
    detector_tags: bool
    span_links: bool
    health_check_interval: float
    tag_value_max_length: int

    @property
    def push_url(self) -> str:
        """Where pyroscope-io >= 1.0 pushes (Connect unary ``push.v1.PusherService/Push``)."""
        return f"{self.server_address}/push.v1.PusherService/Push"

    def configure_arguments(self, application_name: str) -> dict[str, Any]:
        """Keyword arguments for ``pyroscope.configure`` (pyroscope-io 1.x)."""
        return {
            "application_name": application_name,
            "server_address": self.server_address,
            "sample_rate": self.sample_rate,
            "oncpu": self.oncpu,
            # A waiting thread does not hold the GIL: wall-clock profiles must not be limited to GIL holders.
            "gil_only": self.oncpu,
            "tags": dict(self.tags),
            "basic_auth_username": self.basic_auth_username,
            "basic_auth_password": self.basic_auth_password.reveal(),
            "tenant_id": self.tenant_id,
            "upload_interval": self.upload_interval,
            # The Rust side logs straight to stderr, bypassing `logging`; the health check reports instead.
            "enable_logging": False,
        }

    def __repr__(self) -> str:
        auth = f", basic_auth_username={self.basic_auth_username!r}" if self.basic_auth_username else ""
        return (
            f"PyroscopeSettings(server_address={self.server_address!r}, application_name={self.application_name!r}, "
            f"sample_rate={self.sample_rate}, tags={dict(self.tags)!r}{auth})"
        )


def profiling_enabled(config: ProfilingConfig, environ: Mapping[str, str]) -> bool:
    """``profiling.enabled``; when unset, on exactly when ``PYROSCOPE_SERVER_ADDRESS`` is set."""
    if config.enabled is not None:
        return config.enabled
    return bool(environ.get(PYROSCOPE_ENV_VARS["server_address"], "").strip())


def resolve_settings(config: ProfilingConfig, environ: Mapping[str, str]) -> PyroscopeSettings:
    """Merge the config with the environment; raise :class:`ConfigError` naming each bad key."""
    issues: list[ConfigIssue] = []

    def pick(name: str) -> tuple[str, str]:
        """(value, where it came from) for a string setting the environment may fill."""
        value = getattr(config, name)
        if isinstance(value, Secret):
            value = value.reveal()
        if value:
            return str(value), f"profiling.{name}"
        variable = PYROSCOPE_ENV_VARS[name]
        value = environ.get(variable, "").strip()
        if valid_unicode(value) is not value:
            issues.append(ConfigIssue(variable, "is not valid Unicode text (it holds bytes that are not UTF-8)"))
            value = ""
        return value, f"profiling.{name} (from {variable})"

    address, address_origin = pick("server_address")
    server_address = _check_address(address or DEFAULT_PYROSCOPE_ADDRESS, address_origin, issues)
    application_name, name_origin = pick("application_name")
    if application_name and not application_name.strip():
        issues.append(ConfigIssue(name_origin, "must not be blank"))
    username, _ = pick("basic_auth_username")
    password, _ = pick("basic_auth_password")
    if bool(username) != bool(password):
        issues.append(
            ConfigIssue("profiling.basic_auth_username", "basic auth needs both a username and a password (or neither)")
        )
    tenant_id, _ = pick("tenant_id")
    tags = _environment_tags(environ, issues)
    tags.update(config.tags)
    tags = _check_tags(tags, issues)
    if issues:
        raise ConfigError(issues)
    return PyroscopeSettings(
        server_address=server_address,
        application_name=application_name or None,
        sample_rate=config.sampling_rate_hz,
        oncpu=config.oncpu,
        tags=tags,
        basic_auth_username=username,
        basic_auth_password=Secret(password),
        tenant_id=tenant_id,
        upload_interval=config.upload_interval_seconds,
        detector_tags=config.detector_tags,
        span_links=config.span_links,
        health_check_interval=config.health_check_interval_seconds,
        tag_value_max_length=config.tag_value_max_length,
    )


def _check_address(address: str, origin: str, issues: list[ConfigIssue]) -> str:
    parsed = urllib.parse.urlsplit(address.strip())
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        issues.append(ConfigIssue(origin, f"{redact_url(address)!r} is not an http:// or https:// URL"))
    elif parsed.username is not None or parsed.password is not None:
        # Credentials in a URL end up in logs; the warning messages quote this address.
        issues.append(ConfigIssue(origin, "put credentials in basic_auth_username/basic_auth_password, not in the URL"))
    elif parsed.query or parsed.fragment:
        issues.append(ConfigIssue(origin, "must not have a query string or fragment"))
    return address.strip().rstrip("/")


def _environment_tags(environ: Mapping[str, str], issues: list[ConfigIssue]) -> dict[str, str]:
    variable = PYROSCOPE_ENV_VARS["tags"]
    tags: dict[str, str] = {}
    for item in environ.get(variable, "").split(","):
        if not item.strip():
            continue
        key, separator, value = item.partition("=")
        if not separator or not key.strip():
            issues.append(ConfigIssue(variable, f"{item.strip()!r} is not key=value (expected key=value,key2=value2)"))
            continue
        tags[key.strip()] = value.strip()
    return tags


def _check_tags(tags: Mapping[str, str], issues: list[ConfigIssue]) -> dict[str, str]:
    checked = {}
    for key, value in tags.items():
        path = f"profiling.tags.{key}"
        if not _TAG_NAME.match(key):
            issues.append(ConfigIssue(path, "a tag name is letters, digits, '_' and '.', not starting with a digit"))
        elif key in _RESERVED_TAGS:
            issues.append(ConfigIssue(path, f"{key!r} is set by nethical_otel or Pyroscope itself"))
        elif valid_unicode(value) is not value:
            issues.append(ConfigIssue(path, "is not valid Unicode text (it holds bytes that are not UTF-8)"))
        elif value:  # empty values (an unset ${VAR:-}) are left out
            checked[key] = value
    return checked
