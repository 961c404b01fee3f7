"""``configure()`` and the :class:`Telemetry` handle it returns."""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
from collections.abc import Sequence
from functools import partial
from typing import TypeVar

from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider, sampling
from prometheus_client import CollectorRegistry

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
from nethical_otel.pipeline._background import BackgroundLoop
from nethical_otel.pipeline._bounded import Exporter, Step, remaining, run_all_within, run_within, stop_abandoned
from nethical_otel.pipeline._components import Component, MetricsEndpoint, build_components
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
from nethical_otel.semconv import INSTRUMENTATION_NAME, ExemplarFilter, LevelCase

_logger = logging.getLogger("nethical_otel")
C = TypeVar("C", bound=Component)


class Telemetry:
    """The pipeline built by :func:`configure`. ``shutdown()`` flushes and stops it; it is idempotent."""

    def __init__(
        self,
        config: Config,
        *,
        resource: Resource | None = None,
        meter_provider: MeterProvider | None = None,
        tracer_provider: TracerProvider | None = None,
        prometheus_registry: CollectorRegistry | None = None,
        runtime: Runtime | None = None,
        components: Sequence[Component] = (),
        adopted_readers: Sequence[MetricReader] | None = None,
        exporters: Sequence[Exporter] = (),
        multiprocess: MultiprocessDir | None = None,
    ) -> None:
        self.config = config
        self.resource = resource
        self.meter_provider = meter_provider
        self.tracer_provider = tracer_provider
        self.prometheus_registry = prometheus_registry
        self.runtime = runtime
        self.components = list(components)
        # Set when the providers belong to someone else: only these readers of ours are removed at shutdown.
        self._adopted_readers = adopted_readers
        self._exporters = list(exporters)  # the OTLP exporters built here, stopped if shutdown abandons them
        self.metrics_server: MetricsEndpoint | None = None  # set by the metrics-server component
        # Multiprocess mode: the directory of the workers' metric files (None in a single process).
        self.multiprocess = multiprocess
        self._background: BackgroundLoop | None = None
        self._lock = threading.Lock()
        self._shut_down = False
        self._pid = os.getpid()

    @property
    def enabled(self) -> bool:
        """False when ``OTEL_SDK_DISABLED=true``: nothing is recorded or exported."""
        return self.runtime is not None

    @property
    def is_shut_down(self) -> bool:
        return self._shut_down

    @property
    def instruments(self) -> Instruments | None:
        return self.runtime.instruments if self.runtime else None

    @property
    def background(self) -> BackgroundLoop:
        """The I/O thread shared by the metrics server and alert delivery, started on first use."""
        with self._lock:
            if self._background is None:
                self._background = BackgroundLoop()
            return self._background

    def is_evaluating_process(self) -> bool:
        """Whether metric rules are evaluated here: always in one process; in multiprocess mode, in one
        process of the directory (the pre-fork master, else the oldest live worker), over the merged view."""
        return self.multiprocess is None or self.multiprocess.is_primary()

    def component(self, kind: type[C]) -> C | None:
        """The running component of type ``kind`` (for instance the alerting pipeline), if enabled."""
        return next((c for c in self.components if isinstance(c, kind)), None)

    def force_flush(self, timeout: float | None = None) -> None:
        """Export what the providers hold; returns within ``timeout`` (default ``shutdown.timeout_seconds``)."""
        budget = self.config.shutdown.timeout_seconds if timeout is None else timeout
        deadline = time.monotonic() + budget
        steps: list[Step] = []
        if self.tracer_provider is not None:
            steps.append(("flushing spans", partial(self.tracer_provider.force_flush, int(budget * 1000))))
        if self.meter_provider is not None:
            steps.append(("flushing metrics", partial(self.meter_provider.force_flush, budget * 1000)))
        self._report_late(run_all_within(deadline, steps), budget)

    def shutdown(self, timeout: float | None = None) -> None:
        """Stop serving, flush spans, metrics and alerts, and release ports and threads.

        Returns within ``timeout`` seconds (default ``shutdown.timeout_seconds``) whatever the exporters'
        peers do; what is still being exported then is abandoned, and logged.
        """
        with self._lock:
            if self._shut_down:
                return
            self._shut_down = True
        budget = self.config.shutdown.timeout_seconds if timeout is None else max(0.0, timeout)
        deadline = time.monotonic() + budget
        if current.runtime is self.runtime:
            current.runtime = None
        late: list[str] = []
        if os.getpid() == self._pid:
            late += self._stop_components(deadline)
        # else: a forked child's copy. The server, the I/O thread and the components' threads live in the
        # parent; the child only flushes what it recorded itself through the (fork-aware) SDK providers.
        late += run_all_within(deadline, self._provider_steps(deadline))
        if self.multiprocess is not None:
            self._fold_worker_file()
        if self._background is not None and os.getpid() == self._pid:
            self._background.stop(remaining(deadline))
        if late:
            stop_abandoned(self._exporters)
        self._report_late(late, budget)

    def _fold_worker_file(self) -> None:
        """Multiprocess mode, after the providers: nothing records any more, so this worker's counters
        and histograms join the archive now (a forked child's copy leaves its parent's file alone)."""
        assert self.multiprocess is not None
        try:
            self.multiprocess.close(fold=True)
        except OSError:
            _logger.exception("folding this worker's metrics into %s failed", self.multiprocess.path)

    def _provider_steps(self, deadline: float) -> list[Step]:
        meter_provider, tracer_provider = self.meter_provider, self.tracer_provider
        if self._adopted_readers is not None:
            if meter_provider is None:
                return []
            return [
                (f"removing {type(reader).__name__}", partial(meter_provider.remove_metric_reader, reader))
                for reader in self._adopted_readers
            ]
        steps: list[Step] = []
        if tracer_provider is not None:
            steps.append(("exporting spans", tracer_provider.shutdown))
        if meter_provider is not None:
            steps.append(
                ("exporting metrics", lambda: meter_provider.shutdown(timeout_millis=remaining(deadline) * 1000))
            )
        return steps

    def _stop_components(self, deadline: float) -> list[str]:
        late: list[str] = []
        for component in reversed(self.components):
            stop = partial(component.shutdown, remaining(deadline))
            late += run_within(deadline, f"shutting down {component.name}", stop)
        return late

    @staticmethod
    def _report_late(late: list[str], budget: float) -> None:
        if late:
            _logger.warning(
                "%s did not finish within %.1f s (a collector or channel not answering?); what was still in "
                "flight there is abandoned",
                ", ".join(late),
                budget,
            )

    def __repr__(self) -> str:
        state = "shut down" if self._shut_down else ("running" if self.enabled else "disabled")
        port = f", metrics on {self.metrics_server.url}" if self.metrics_server and not self._shut_down else ""
        return f"<Telemetry {state}{port}>"


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
