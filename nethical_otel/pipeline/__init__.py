"""The pipeline: providers, readers and exporters built from the configuration, and their lifecycle."""

from nethical_otel.pipeline._components import Component, MetricsEndpoint
from nethical_otel.pipeline._configure import (
    active_telemetry,
    adopt_global_providers,
    configure,
    ensure_configured,
    shutdown,
)
from nethical_otel.pipeline._providers import multiprocess_path, otlp_endpoint, sdk_disabled
from nethical_otel.pipeline._runtime import DetectorRegistry, Runtime, Threat, ThreatListener, current
from nethical_otel.pipeline._telemetry import Telemetry

__all__ = [
    "Component",
    "DetectorRegistry",
    "MetricsEndpoint",
    "Runtime",
    "Telemetry",
    "Threat",
    "ThreatListener",
    "active_telemetry",
    "adopt_global_providers",
    "configure",
    "current",
    "ensure_configured",
    "multiprocess_path",
    "otlp_endpoint",
    "sdk_disabled",
    "shutdown",
]
