"""Build the OpenTelemetry resource, readers, exporters and providers from a :class:`Config`.

Standard ``OTEL_*`` variables keep their meaning: the SDK and the OTLP exporters read them where the
configuration is silent (service name and resource attributes, OTLP endpoints and headers, the export
interval, the trace sampler).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.metrics.export import MetricReader, MetricsData, PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_INSTANCE_ID, SERVICE_NAME, SERVICE_VERSION, Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from prometheus_client import CollectorRegistry

from nethical_otel.config import (
    DEFAULT_SERVICE_NAME,
    MULTIPROCESS_DIR_ENV_VAR,
    OTLP_PER_WORKER,
    Config,
    ConfigError,
    ConfigIssue,
    OtlpConfig,
    redact_url,
)
from nethical_otel.metrics import (
    EncodablePrometheusMetricReader,
    MultiprocessDir,
    Scope,
    carry_exemplars,
    encodable_metrics,
    encodable_resource,
    role,
)
from nethical_otel.pipeline._bounded import Exporter
from nethical_otel.pipeline._span_queue import SheddingBatchSpanProcessor

DEPLOYMENT_ENVIRONMENT = "deployment.environment.name"

_OTLP_ENDPOINT_VARS = {
    "metrics": ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
    "traces": ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
}


def build_resource(config: Config) -> Resource:
    from_env = Resource.create({})  # OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME
    attributes: dict[str, str] = {}
    service = config.service
    if service.name:
        attributes[SERVICE_NAME] = service.name
    elif str(from_env.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        attributes[SERVICE_NAME] = DEFAULT_SERVICE_NAME
    if service.version:
        attributes[SERVICE_VERSION] = service.version
    if service.environment:
        attributes[DEPLOYMENT_ENVIRONMENT] = service.environment
    if SERVICE_INSTANCE_ID not in from_env.attributes:
        # Unique per process, so pre-fork workers pushing OTLP stay distinct series.
        attributes[SERVICE_INSTANCE_ID] = str(uuid.uuid4())
    # OTEL_RESOURCE_ATTRIBUTES may carry bytes that are not UTF-8 (decoded as lone surrogates).
    return encodable_resource(from_env.merge(Resource(attributes)))


def otlp_endpoint(otlp: OtlpConfig, signal: str, environ: Mapping[str, str]) -> str | None:
    """The OTLP/HTTP URL for ``signal`` ("metrics" or "traces"), or ``None`` when OTLP is off for it."""
    specific = otlp.metrics_endpoint if signal == "metrics" else otlp.traces_endpoint
    if specific:
        return specific
    if otlp.endpoint:
        return f"{otlp.endpoint.rstrip('/')}/v1/{signal}"
    if any(environ.get(name) for name in _OTLP_ENDPOINT_VARS[signal]):
        return ""  # the exporter resolves the environment variables itself
    return None


def multiprocess_path(config: Config, environ: Mapping[str, str]) -> str | None:
    """``prometheus.multiprocess_dir``, else ``PROMETHEUS_MULTIPROC_DIR``; ``None``: one process, no files."""
    return config.prometheus.multiprocess_dir or environ.get(MULTIPROCESS_DIR_ENV_VAR, "").strip() or None


def build_multiprocess_dir(config: Config, environ: Mapping[str, str]) -> MultiprocessDir | None:
    """The shared directory of multiprocess mode, or ``None`` when the mode is off."""
    path = multiprocess_path(config, environ)
    if path is None:
        return None
    try:
        # A coordinator (pre-fork master) keeps its own cells in memory: it is the one merging them.
        return MultiprocessDir(path, config.prometheus.cardinality_limit, writes_file=not role.coordinator)
    except OSError as error:
        key = "prometheus.multiprocess_dir"
        if not config.prometheus.multiprocess_dir:
            key += f" (from {MULTIPROCESS_DIR_ENV_VAR})"
        reason = error.strerror or str(error)
        raise ConfigError([ConfigIssue(key, f"cannot use {path!r} for the workers' metric files: {reason}")]) from None


def otlp_scope(config: Config) -> Scope:
    """Multiprocess mode: what the OTLP metric reader of a worker pushes."""
    return Scope.OWN if config.otlp.multiprocess == OTLP_PER_WORKER else Scope.MERGED_IF_PRIMARY


def build_prometheus_reader(config: Config) -> tuple[EncodablePrometheusMetricReader, CollectorRegistry]:
    # A private registry per pipeline: two readers on prometheus_client's global REGISTRY would print
    # every family twice.
    registry = CollectorRegistry(auto_describe=False)
    reader = EncodablePrometheusMetricReader(
        disable_target_info=not config.prometheus.target_info,
        scope_info_enabled=False,
        registry=registry,
    )
    carry_exemplars(reader)
    return reader, registry


class EncodablePeriodicReader(PeriodicExportingMetricReader):
    """The SDK's periodic OTLP reader, whose exports always encode (see :func:`encodable_metrics`)."""

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> None:
        encodable = encodable_metrics(metrics_data)
        if encodable is not None:
            super()._receive_metrics(encodable, timeout_millis, **kwargs)


def build_otlp_metric_reader(config: Config, endpoint: str, exporters: list[Exporter]) -> MetricReader:
    """The periodic OTLP metric reader; its exporter is added to ``exporters``."""
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    exporter = OTLPMetricExporter(
        endpoint=endpoint or None,
        headers=_otlp_headers(config.otlp),
        timeout=config.otlp.timeout_seconds,
    )
    exporters.append(exporter)
    interval = config.otlp.export_interval_seconds
    return EncodablePeriodicReader(exporter, export_interval_millis=interval * 1000 if interval is not None else None)


def build_tracer_provider(
    config: Config,
    resource: Resource,
    environ: Mapping[str, str],
    span_processors: Sequence[SpanProcessor],
    exporters: list[Exporter],
) -> TracerProvider:
    """The tracer provider, with an OTLP span exporter when configured (added to ``exporters``)."""
    provider = TracerProvider(resource=resource, shutdown_on_exit=False)
    for processor in span_processors:
        provider.add_span_processor(processor)
    endpoint = otlp_endpoint(config.otlp, "traces", environ)
    if endpoint is not None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter(
            endpoint=endpoint or None, headers=_otlp_headers(config.otlp), timeout=config.otlp.timeout_seconds
        )
        exporters.append(exporter)
        destination = redact_url(endpoint) if endpoint else "the OTEL_EXPORTER_OTLP_* traces endpoint"
        provider.add_span_processor(SheddingBatchSpanProcessor(exporter, destination))
    return provider


def _otlp_headers(otlp: OtlpConfig) -> dict[str, str] | None:
    return {key: value.reveal() for key, value in otlp.headers.items()} or None


def sdk_disabled(environ: Mapping[str, str] = os.environ) -> bool:
    return environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"
