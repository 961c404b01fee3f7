"""``configure()``: building the pipeline from a :class:`Config`, the one active pipeline, and its exit hook."""

from __future__ import annotations

import atexit
import logging
import os
import threading
from collections.abc import Sequence

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider, sampling

from nethical_otel._version import __version__
from nethical_otel.config import Config, ConfigSource, load_config
from nethical_otel.metrics import (
    ExemplarSource,
    Instruments,
    LabelCleaner,
    LocalBackend,
    MultiprocessBackend,
    MultiprocessDir,
    NethicalMeterProvider,
    Scope,
    SdkBackend,
    exemplar_source,
    resolve_exemplar_filter,
    sdk_exemplar_filter,
)
from nethical_otel.pipeline import _globals
from nethical_otel.pipeline._bounded import Exporter
from nethical_otel.pipeline._components import build_components
from nethical_otel.pipeline._providers import (
    build_multiprocess_dir,
    build_otlp_metric_reader,
    build_prometheus_reader,
    build_resource,
    build_tracer_provider,
    otlp_endpoint,
    otlp_scope,
    sdk_disabled,
)
from nethical_otel.pipeline._runtime import DetectorRegistry, Runtime, current
from nethical_otel.pipeline._telemetry import Telemetry
from nethical_otel.semconv import INSTRUMENTATION_NAME, ExemplarFilter, LevelCase

_logger = logging.getLogger("nethical_otel")

_configure_lock = threading.RLock()
_active: Telemetry | None = None


def configure(
    config: ConfigSource = None,
    *,
    additional_metric_readers: Sequence[MetricReader] = (),
    additional_span_processors: Sequence[SpanProcessor] = (),
) -> Telemetry:
    """Set up metrics, traces and the optional parts from ``config`` and make them active.

    ``config`` is a YAML path, a mapping, a :class:`~nethical_otel.config.Config`, or ``None`` (the file
    named by ``NETHICAL_OTEL_CONFIG``, else defaults). Calling it again replaces the running pipeline.
    ``additional_metric_readers`` and ``additional_span_processors`` are attached as they are (tests use
    in-memory ones).
    """
    global _active  # noqa: PLW0603
    resolved = load_config(config)  # refuse bad config before touching what runs
    resolve_exemplar_filter(resolved.prometheus.exemplar_filter, os.environ)  # and a bad OTEL_METRICS_EXEMPLAR_FILTER
    with _configure_lock:
        if _active is not None:
            _active.shutdown()
        if sdk_disabled():
            _logger.info("OTEL_SDK_DISABLED=true: nethical_otel records and exports nothing")
            _active = Telemetry(resolved)
            return _active
        _active = _build(resolved, additional_metric_readers, additional_span_processors)
        return _active


def shutdown(timeout: float | None = None) -> None:
    """Shut down the pipeline set up by :func:`configure`, if any, within ``timeout`` seconds (default
    ``shutdown.timeout_seconds``)."""
    global _active  # noqa: PLW0603
    with _configure_lock:
        if _active is not None:
            _active.shutdown(timeout)
            _active = None


def active_telemetry() -> Telemetry | None:
    """The pipeline currently set up by :func:`configure`, if any."""
    return _active


def ensure_configured() -> Telemetry:
    """The active pipeline, configured from ``NETHICAL_OTEL_CONFIG`` or defaults (without a metrics
    server) when nothing was configured yet: the original ``get_prometheus_metrics()`` API needs no setup.
    """
    with _configure_lock:
        if _active is not None and not _active.is_shut_down:
            return _active
        config = load_config(None)
        from dataclasses import replace

        quiet = replace(config, metrics_server=replace(config.metrics_server, enabled=False))
        return configure(quiet)


def _build(
    config: Config, extra_readers: Sequence[MetricReader], extra_processors: Sequence[SpanProcessor]
) -> Telemetry:
    environ = os.environ
    clean = _label_cleaner(config)
    directory = build_multiprocess_dir(config, environ)
    limit = config.prometheus.cardinality_limit
    local = LocalBackend(clean, limit) if directory is None else MultiprocessBackend(clean, limit, directory)
    try:
        return _build_on(config, local, directory, extra_readers, extra_processors)
    except BaseException:
        if directory is not None:
            directory.close(fold=True)
        raise


def _build_on(
    config: Config,
    local: LocalBackend,
    directory: MultiprocessDir | None,
    extra_readers: Sequence[MetricReader],
    extra_processors: Sequence[SpanProcessor],
) -> Telemetry:
    environ = os.environ
    exemplars = resolve_exemplar_filter(config.prometheus.exemplar_filter, environ)
    resource = build_resource(config)
    clean = local.clean
    instruments = Instruments(local)
    components = build_components(config)
    scopes: dict[MetricReader, Scope] = {}

    readers: list[MetricReader] = []
    registry = None
    if config.prometheus.enabled:
        prometheus_reader, registry = build_prometheus_reader(config)
        readers.append(prometheus_reader)
    exporters: list[Exporter] = []
    metrics_endpoint = otlp_endpoint(config.otlp, "metrics", environ)
    if metrics_endpoint is not None:
        otlp_reader = build_otlp_metric_reader(config, metrics_endpoint, exporters)
        readers.append(otlp_reader)
        scopes[otlp_reader] = otlp_scope(config)
    for component in components:
        readers.extend(component.metric_readers())
    readers.extend(extra_readers)
    meter_provider = NethicalMeterProvider(
        local,
        readers,
        resource,
        reader_scopes=scopes,
        shutdown_on_exit=False,
        exemplar_filter=sdk_exemplar_filter(exemplars),
    )

    tracer_provider = None
    if config.tracing.enabled:
        processors = [p for component in components for p in component.span_processors()]
        tracer_provider = build_tracer_provider(config, resource, environ, [*processors, *extra_processors], exporters)

    runtime = _runtime(config, instruments, clean, tracer_provider, exemplar_source(exemplars))
    telemetry = Telemetry(
        config,
        resource=resource,
        meter_provider=meter_provider,
        tracer_provider=tracer_provider,
        prometheus_registry=registry,
        runtime=runtime,
        components=components,
        exporters=exporters,
        multiprocess=directory,
    )
    _start(telemetry)
    _globals.install(_live_tracer_provider, _live_meter_provider)
    return telemetry


def adopt_global_providers(config: ConfigSource = None) -> Telemetry:
    """Record through the global OpenTelemetry providers someone else set up, instead of building our own.

    For applications whose SDK is configured elsewhere, e.g. by the stock ``opentelemetry-instrument``
    configurator: the nethical_* metrics then go through standard SDK instruments on the global
    MeterProvider (buckets from ``explicit_bucket_boundaries_advisory``), spans through the global
    TracerProvider, and our readers and span processors are added to those providers when they are the SDK's.
    """
    global _active  # noqa: PLW0603
    resolved = load_config(config)
    with _configure_lock:
        if _active is not None:
            _active.shutdown()
        if sdk_disabled():
            _active = Telemetry(resolved)
            return _active
        _active = _adopt(resolved)
        return _active


def _adopt(config: Config) -> Telemetry:
    global_meter_provider = metrics.get_meter_provider()
    global_tracer_provider = trace.get_tracer_provider()
    meter_provider = global_meter_provider if isinstance(global_meter_provider, MeterProvider) else None
    tracer_provider = global_tracer_provider if isinstance(global_tracer_provider, TracerProvider) else None
    clean = _label_cleaner(config)
    meter = global_meter_provider.get_meter(INSTRUMENTATION_NAME, __version__)
    instruments = Instruments(SdkBackend(meter, clean, config.prometheus.cardinality_limit))
    components = build_components(config)

    readers: list[MetricReader] = []
    registry = None
    if meter_provider is not None:
        if config.prometheus.enabled:
            prometheus_reader, registry = build_prometheus_reader(config)
            readers.append(prometheus_reader)
        readers.extend(reader for component in components for reader in component.metric_readers())
        for reader in readers:
            meter_provider.add_metric_reader(reader)
    elif any(component.metric_readers() for component in components):
        _logger.warning("the global MeterProvider is not the OpenTelemetry SDK's: metric alert rules cannot run")
    if tracer_provider is not None and config.tracing.enabled:
        for component in components:
            for processor in component.span_processors():
                tracer_provider.add_span_processor(processor)

    tracer = global_tracer_provider if config.tracing.enabled else None
    telemetry = Telemetry(
        config,
        resource=tracer_provider.resource if tracer_provider is not None else None,
        meter_provider=meter_provider,
        tracer_provider=tracer_provider,
        prometheus_registry=registry,
        # The SDK's instruments take exemplars from the current context themselves, under the filter the
        # provider's owner chose.
        runtime=_runtime(config, instruments, clean, tracer, exemplar_source(ExemplarFilter.ALWAYS_OFF)),
        components=components,
        adopted_readers=readers,
    )
    _start(telemetry)
    return telemetry


def _label_cleaner(config: Config) -> LabelCleaner:
    return LabelCleaner(config.prometheus.label_value_max_length, LevelCase(config.prometheus.threat_level_case))


def _runtime(
    config: Config,
    instruments: Instruments,
    clean: LabelCleaner,
    tracer_provider: trace.TracerProvider | None,
    exemplars: ExemplarSource,
) -> Runtime:
    tracer = None
    # With the ALWAYS_OFF sampler no span is ever recorded or sampled: do not make span objects at all.
    if tracer_provider is not None and getattr(tracer_provider, "sampler", None) is not sampling.ALWAYS_OFF:
        tracer = tracer_provider.get_tracer(INSTRUMENTATION_NAME, __version__)
    return Runtime(
        instruments=instruments,
        clean=clean,
        tracer=tracer,
        capture_content=config.privacy.capture_content,
        detectors=DetectorRegistry(config.prometheus.cardinality_limit),
        attribute_max_length=config.tracing.attribute_value_max_length,
        exemplars=exemplars,
    )


def _start(telemetry: Telemetry) -> None:
    """Start the components (the metrics server among them), then make the pipeline the active one."""
    try:
        for component in telemetry.components:
            component.start(telemetry)
    except BaseException:
        telemetry.shutdown()
        raise
    current.runtime = telemetry.runtime


def _live_tracer_provider() -> TracerProvider | None:
    return _active.tracer_provider if _active is not None and not _active.is_shut_down else None


def _live_meter_provider() -> MeterProvider | None:
    return _active.meter_provider if _active is not None and not _active.is_shut_down else None


@atexit.register
def _shutdown_at_exit() -> None:
    active = _active
    if active is not None:
        shutdown(timeout=active.config.shutdown.at_exit_timeout_seconds)
