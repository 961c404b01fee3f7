"""The ``profiling`` section: continuous profiling to Pyroscope.

Settings left unset here fall back to the environment variables Pyroscope's own agents read
(``PYROSCOPE_SERVER_ADDRESS`` and friends, see :data:`PYROSCOPE_ENV_VARS`), the way unset OTLP settings
fall back to ``OTEL_*``.
"""

from __future__ import annotations

from dataclasses import dataclass

from nethical_otel.config._fields import Secret, hide_url_credentials, setting

DEFAULT_PYROSCOPE_ADDRESS = "http://127.0.0.1:4040"

# Config field -> the environment variable that fills it when the config leaves it unset.
PYROSCOPE_ENV_VARS = {
    "server_address": "PYROSCOPE_SERVER_ADDRESS",
    "application_name": "PYROSCOPE_APPLICATION_NAME",
    "basic_auth_username": "PYROSCOPE_BASIC_AUTH_USER",
    "basic_auth_password": "PYROSCOPE_BASIC_AUTH_PASSWORD",
    "tenant_id": "PYROSCOPE_TENANT_ID",
    "tags": "PYROSCOPE_LABELS",  # "key=value,key2=value2", merged under the configured tags
}


@dataclass(frozen=True)
class ProfilingConfig:
    enabled: bool | None = setting(None, doc="unset: on when PYROSCOPE_SERVER_ADDRESS is set")
    server_address: str | None = setting(
        None, url=True, doc=f"Pyroscope server URL (unset: PYROSCOPE_SERVER_ADDRESS, then {DEFAULT_PYROSCOPE_ADDRESS})"
    )
    application_name: str | None = setting(
        None, doc="service_name of the profiles (unset: PYROSCOPE_APPLICATION_NAME, then the OTel service.name)"
    )
    sampling_rate_hz: int = setting(100, minimum=1, maximum=1000, doc="stack samples per second")
    oncpu: bool = setting(
        True,
        doc="sample threads on a CPU only; false samples waiting threads too (wall-clock, for I/O-bound detectors)",
    )
    tags: dict[str, str] = setting(default_factory=dict, doc="static labels on every profile, over PYROSCOPE_LABELS")
    basic_auth_username: str | None = setting(
        None, doc="for Grafana Cloud or an authenticating proxy (unset: PYROSCOPE_BASIC_AUTH_USER)"
    )
    basic_auth_password: Secret | None = setting(None, doc="unset: PYROSCOPE_BASIC_AUTH_PASSWORD")
    tenant_id: str | None = setting(None, doc="sent as X-Scope-OrgID (unset: PYROSCOPE_TENANT_ID)")
    upload_interval_seconds: int = setting(10, minimum=1, maximum=3600, doc="one push per interval")
    detector_tags: bool = setting(True, doc="label samples with the detector_type of the detector running")
    span_links: bool = setting(True, doc="pyroscope.profile.id on root spans, span_id/span_name/trace_id labels")
    health_check_interval_seconds: float = setting(
        60.0, minimum=0.0, maximum=86400.0, doc="how often to check the server is reachable; 0 turns it off"
    )
    tag_value_max_length: int = setting(
        128, minimum=8, maximum=4096, doc="span names and other dynamic tag values are cut to this length"
    )

    def __post_init__(self) -> None:
        hide_url_credentials(self)
