"""The ``profiling`` section: continuous profiling to Pyroscope."""

from __future__ import annotations

from dataclasses import dataclass

from nethical_otel.config._fields import Secret, setting


@dataclass(frozen=True)
class ProfilingConfig:
    enabled: bool = setting(False)
    server_address: str = setting("http://127.0.0.1:4040", doc="Pyroscope server URL")
    application_name: str | None = setting(None, doc="defaults to the OpenTelemetry service name")
    sampling_rate_hz: int = setting(100, minimum=1, maximum=1000)
    tags: dict[str, str] = setting(default_factory=dict)
    basic_auth_username: str | None = setting(None)
    basic_auth_password: Secret | None = setting(None)
    tenant_id: str | None = setting(None)
    upload_interval_seconds: int = setting(10, minimum=1, maximum=3600)
