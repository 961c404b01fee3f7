"""``OTEL_TRACES_EXPORTER`` and ``OTEL_METRICS_EXPORTER`` under the Nethical configurator.

The nethical config decides the pipeline; these variables keep their standard meaning on top of it:

* ``otlp`` / ``otlp_proto_http`` turn on nethical_otel's OTLP/HTTP export for that signal, at
  ``OTEL_EXPORTER_OTLP_*ENDPOINT`` or the default ``http://localhost:4318`` when neither the config
  nor the environment names an endpoint. nethical_otel exports OTLP over HTTP only; a gRPC request
  (``otlp_proto_grpc``, ``OTEL_EXPORTER_OTLP_PROTOCOL=grpc``) gets a warning.
* any other name is looked up in the entry-point group the SDK uses (``console``, ``prometheus``,
  ``nethical_prometheus``, or a third party's) and added as one more exporter or reader.
* ``none`` or nothing adds nothing.

A name that cannot be found or built is logged, naming the variable, and left out: the application
still starts.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from typing import Any

from opentelemetry.environment_variables import OTEL_METRICS_EXPORTER, OTEL_TRACES_EXPORTER
from opentelemetry.sdk.environment_variables import (
    OTEL_EXPORTER_OTLP_METRICS_PROTOCOL,
    OTEL_EXPORTER_OTLP_PROTOCOL,
    OTEL_EXPORTER_OTLP_TRACES_PROTOCOL,
)
from opentelemetry.sdk.metrics.export import MetricExporter, MetricReader, PeriodicExportingMetricReader
from opentelemetry.sdk.trace import SpanProcessor
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from nethical_otel.config import Config
from nethical_otel.pipeline import otlp_endpoint

_logger = logging.getLogger("nethical_otel.auto")

OTLP_HTTP_NAMES = frozenset({"otlp", "otlp_proto_http"})
OTLP_GRPC_NAME = "otlp_proto_grpc"
DEFAULT_OTLP_HTTP_ENDPOINT = "http://localhost:4318"

_SIGNALS = {
    # signal: (exporter variable, protocol variable, entry-point group of its exporters)
    "traces": (OTEL_TRACES_EXPORTER, OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, "opentelemetry_traces_exporter"),
    "metrics": (OTEL_METRICS_EXPORTER, OTEL_EXPORTER_OTLP_METRICS_PROTOCOL, "opentelemetry_metrics_exporter"),
}


@dataclass
class EnvironmentExporters:
    """The config (with OTLP endpoints the variables asked for) and the extra readers and processors."""

    config: Config
    metric_readers: list[MetricReader] = field(default_factory=list)
    span_processors: list[SpanProcessor] = field(default_factory=list)


def exporters_from_environment(config: Config, environ: Mapping[str, str]) -> EnvironmentExporters:
    result = EnvironmentExporters(config)
    for signal, (variable, protocol_variable, group) in _SIGNALS.items():
        for name in exporter_names(environ.get(variable, "")):
            protocol = environ.get(protocol_variable) or environ.get(OTEL_EXPORTER_OTLP_PROTOCOL) or ""
            if name == OTLP_GRPC_NAME or (name == "otlp" and protocol.strip() == "grpc"):
                _logger.warning(
                    "%s=%s asks for OTLP over gRPC; nethical_otel exports OTLP over HTTP/protobuf: point "
                    "OTEL_EXPORTER_OTLP_ENDPOINT at the collector's HTTP port (4318)",
                    variable,
                    name,
                )
            if name in OTLP_HTTP_NAMES or name == OTLP_GRPC_NAME:
                result.config = _with_otlp(result.config, signal, environ)
            else:
                _add_named(result, signal, variable, group, name)
    return result


def exporter_names(value: str) -> list[str]:
    names = [name.strip() for name in value.split(",") if name.strip()]
    return [] if [name.lower() for name in names] == ["none"] else names


def _with_otlp(config: Config, signal: str, environ: Mapping[str, str]) -> Config:
    if otlp_endpoint(config.otlp, signal, environ) is not None:
        return config  # the config or OTEL_EXPORTER_OTLP_*ENDPOINT already exports this signal
    url = f"{DEFAULT_OTLP_HTTP_ENDPOINT}/v1/{signal}"
    otlp = (
        replace(config.otlp, traces_endpoint=url) if signal == "traces" else replace(config.otlp, metrics_endpoint=url)
    )
    return replace(config, otlp=otlp)


def _add_named(result: EnvironmentExporters, signal: str, variable: str, group: str, name: str) -> None:
    found = entry_points(group=group, name=name)
    if not found:
        available = ", ".join(sorted({ep.name for ep in entry_points(group=group)} | OTLP_HTTP_NAMES))
        _logger.error("%s names %r, which is not installed (available: %s); left out", variable, name, available)
        return
    try:
        component: Any = next(iter(found)).load()
        if not isinstance(component, type):
            _logger.error("%s names %r, which is not an exporter class; left out", variable, name)
        elif signal == "traces" and issubclass(component, SpanExporter):
            result.span_processors.append(BatchSpanProcessor(component()))
        elif signal == "metrics" and issubclass(component, MetricReader):
            result.metric_readers.append(component())
        elif signal == "metrics" and issubclass(component, MetricExporter):
            result.metric_readers.append(PeriodicExportingMetricReader(component()))
        else:
            _logger.error("%s names %r, which is not a %s exporter; left out", variable, name, signal)
    except Exception as error:  # a third party's exporter failing to start must not stop the application
        _logger.error("%s=%s could not be started (%s: %s); left out", variable, name, type(error).__name__, error)
