"""The configuration schema: every key, its type, default and limits.

The YAML layout is the original Nethical ``config/monitoring.yaml`` (``prometheus``, ``metrics_server``,
``alerting``, ``profiling``, ``integration``) plus the sections this SDK adds (``service``, ``tracing``,
``otlp``, ``privacy``). Defaults live here and only here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nethical_otel.config._alerting import AlertingConfig
from nethical_otel.config._fields import Secret, hide_url_credentials, setting
from nethical_otel.config._profiling import ProfilingConfig
from nethical_otel.semconv import ExemplarFilter, LevelCase

DEFAULT_SERVICE_NAME = "nethical"
DEFAULT_METRICS_PORT = 9091
DEFAULT_METRICS_HOST = "127.0.0.1"
# The variable prometheus_client's multiprocess mode reads; it fills prometheus.multiprocess_dir.
MULTIPROCESS_DIR_ENV_VAR = "PROMETHEUS_MULTIPROC_DIR"
OTLP_PER_WORKER, OTLP_MERGED = "per_worker", "merged"


@dataclass(frozen=True)
class ServiceConfig:
    # None: OTEL_SERVICE_NAME, then "nethical".
    name: str | None = setting(None, doc="service.name resource attribute")
    version: str | None = setting(None, doc="service.version resource attribute")
    environment: str | None = setting(None, doc="deployment.environment.name resource attribute")


@dataclass(frozen=True)
class PrometheusConfig:
    enabled: bool = setting(True, doc="publish the nethical_* metrics in Prometheus format")
    target_info: bool = setting(False, doc="expose the target_info series with the resource attributes")
    cardinality_limit: int = setting(
        2000, minimum=1, maximum=1_000_000, doc="series per metric before folding into an overflow series"
    )
    label_value_max_length: int = setting(128, minimum=8, maximum=4096, doc="label values are cut to this length")
    multiprocess_dir: str | None = setting(
        None,
        doc=f"pre-fork servers: one metrics file per worker in this directory, merged on /metrics "
        f"(unset: {MULTIPROCESS_DIR_ENV_VAR}; both unset: off)",
    )
    multiprocess_retry_seconds: float = setting(
        5.0, minimum=0.1, maximum=3600.0, doc="multiprocess mode: how often a worker retries to serve a free port"
    )
    exemplar_filter: str | None = setting(
        None,
        choices=tuple(choice.value for choice in ExemplarFilter),
        doc="measurements that carry an exemplar: trace_based (inside a sampled span), always_on, always_off "
        "(unset: OTEL_METRICS_EXEMPLAR_FILTER, then trace_based)",
    )
    threat_level_case: str = setting(
        LevelCase.AS_GIVEN.value,
        choices=tuple(choice.value for choice in LevelCase),
        doc="threat levels in labels, span attributes and alerts: as_given (as the detector spelled them), "
        "upper or lower",
    )


@dataclass(frozen=True)
class MetricsServerConfig:
    enabled: bool = setting(True, doc="serve /metrics, /health and / over HTTP")
    host: str = setting(DEFAULT_METRICS_HOST, doc="bind address; loopback unless you mean to expose it")
    port: int = setting(DEFAULT_METRICS_PORT, minimum=0, maximum=65535, doc="0 picks a free port")
    # Prometheus gives up on a scrape after 10 s by default: every timeout here is well above that.
    max_connections: int = setting(
        64,
        minimum=1,
        maximum=100_000,
        doc="open connections; past it a new one replaces the longest idle one, or is refused when none is idle",
    )
    header_timeout_seconds: float = setting(
        30.0,
        minimum=0.1,
        maximum=3600.0,
        doc="a connection must send a complete request head this soon after opening or after its last response",
    )
    body_timeout_seconds: float = setting(
        30.0, minimum=0.1, maximum=3600.0, doc="time allowed to read (and discard) a request body before closing"
    )
    response_timeout_seconds: float = setting(
        30.0, minimum=0.1, maximum=3600.0, doc="time allowed to deliver a response to a client that reads slowly"
    )


@dataclass(frozen=True)
class TracingConfig:
    enabled: bool = setting(True, doc="one span per detector call")
    attribute_value_max_length: int = setting(
        4096,
        minimum=64,
        maximum=1_000_000,
        doc="captured arguments and results, exception messages and stack traces are cut to this many characters",
    )


@dataclass(frozen=True)
class OtlpConfig:
    # None everywhere: the exporters read OTEL_EXPORTER_OTLP_* themselves; OTLP is on when any is set.
    endpoint: str | None = setting(None, url=True, doc="OTLP/HTTP base URL, e.g. http://collector:4318")
    metrics_endpoint: str | None = setting(None, url=True, doc="full URL for metrics (overrides endpoint)")
    traces_endpoint: str | None = setting(None, url=True, doc="full URL for traces (overrides endpoint)")
    headers: dict[str, Secret] = setting(default_factory=dict, doc="extra request headers (e.g. auth)")
    timeout_seconds: float = setting(10.0, minimum=0.1, maximum=300.0, doc="per-export timeout")
    export_interval_seconds: float | None = setting(
        None, minimum=0.1, maximum=3600.0, doc="metric push interval (default OTEL_METRIC_EXPORT_INTERVAL or 60 s)"
    )
    multiprocess: str = setting(
        OTLP_PER_WORKER,
        choices=(OTLP_PER_WORKER, OTLP_MERGED),
        doc="multiprocess mode: each worker pushes its own series, or one process pushes the merged view",
    )

    def __post_init__(self) -> None:
        hide_url_credentials(self)


@dataclass(frozen=True)
class PrivacyConfig:
    capture_content: bool = setting(
        False, doc="record detector arguments and results on spans; they may contain user prompts"
    )


@dataclass(frozen=True)
class IntegrationConfig:
    detectors: tuple[str, ...] = setting(
        default_factory=tuple, doc='detectors to instrument without code changes: "pkg.module:Class.method"'
    )


@dataclass(frozen=True)
class ShutdownConfig:
    timeout_seconds: float = setting(
        5.0,
        minimum=0.0,
        maximum=3600.0,
        doc="shutdown() and reconfiguring return within this; exports still in flight then are abandoned, and logged",
    )
    at_exit_timeout_seconds: float = setting(
        2.0, minimum=0.0, maximum=3600.0, doc="the same bound for the shutdown nethical_otel runs at interpreter exit"
    )


@dataclass(frozen=True)
class Config:
    """The whole nethical_otel configuration, validated."""

    service: ServiceConfig = field(default_factory=ServiceConfig)
    prometheus: PrometheusConfig = field(default_factory=PrometheusConfig)
    metrics_server: MetricsServerConfig = field(default_factory=MetricsServerConfig)
    tracing: TracingConfig = field(default_factory=TracingConfig)
    otlp: OtlpConfig = field(default_factory=OtlpConfig)
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)
    alerting: AlertingConfig = field(default_factory=AlertingConfig)
    profiling: ProfilingConfig = field(default_factory=ProfilingConfig)
    integration: IntegrationConfig = field(default_factory=IntegrationConfig)
    shutdown: ShutdownConfig = field(default_factory=ShutdownConfig)
