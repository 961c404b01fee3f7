"""Configuration: YAML, dict or environment, validated against one schema."""

from nethical_otel.config._alerting import AlertingConfig, AlertRulesConfig
from nethical_otel.config._channels import ChannelSettings, SmtpConfig
from nethical_otel.config._fields import Secret, Url, redact_url
from nethical_otel.config._loader import CONFIG_ENV_VAR, ConfigError, ConfigIssue, ConfigSource, load_config
from nethical_otel.config._profiling import ProfilingConfig
from nethical_otel.config._schema import (
    DEFAULT_METRICS_HOST,
    DEFAULT_METRICS_PORT,
    DEFAULT_SERVICE_NAME,
    MULTIPROCESS_DIR_ENV_VAR,
    OTLP_MERGED,
    OTLP_PER_WORKER,
    Config,
    IntegrationConfig,
    MetricsServerConfig,
    OtlpConfig,
    PrivacyConfig,
    PrometheusConfig,
    ServiceConfig,
    ShutdownConfig,
    TracingConfig,
)

__all__ = [
    "CONFIG_ENV_VAR",
    "DEFAULT_METRICS_HOST",
    "DEFAULT_METRICS_PORT",
    "DEFAULT_SERVICE_NAME",
    "MULTIPROCESS_DIR_ENV_VAR",
    "OTLP_MERGED",
    "OTLP_PER_WORKER",
    "AlertRulesConfig",
    "AlertingConfig",
    "ChannelSettings",
    "Config",
    "ConfigError",
    "ConfigIssue",
    "ConfigSource",
    "IntegrationConfig",
    "MetricsServerConfig",
    "OtlpConfig",
    "PrivacyConfig",
    "ProfilingConfig",
    "PrometheusConfig",
    "Secret",
    "ServiceConfig",
    "ShutdownConfig",
    "SmtpConfig",
    "TracingConfig",
    "Url",
    "load_config",
    "redact_url",
]
