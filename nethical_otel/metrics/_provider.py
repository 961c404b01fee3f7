"""The bridge between nethical_otel's local cells and the OpenTelemetry SDK and its Prometheus exporter.

Local aggregation keeps the detector hot path to a lock and an add; this module is what makes those
values ordinary OpenTelemetry metric data. At each collection :class:`NethicalMeterProvider` appends
them, as one more ``ScopeMetrics``, to what the SDK collected, so any reader (Prometheus, OTLP,
in-memory, a rule evaluator) renders them with the SDK's own exporters, naming rules and temporality.

It is the one module that reaches into SDK and exporter internals, for two things:

* the provider wraps each reader's collect callback (``_measurement_consumer``, ``_set_collect_callback``,
  ``_instrument_class_temporality``): opentelemetry-sdk >=1.45.2,<1.46, as pinned in pyproject.toml;
* :func:`carry_exemplars` makes a ``PrometheusMetricReader`` put the data points' exemplars on the
  samples it renders (the released exporter drops them; opentelemetry-python#4228): the exporter's
  private ``_CustomCollector._translate_metric`` in opentelemetry-exporter-prometheus
  :data:`SUPPORTED_PROMETHEUS_EXPORTER`. With any other layout it logs once and exposes no exemplars;
  the metrics themselves are untouched.
"""

from __future__ import annotations

import inspect
import logging
import threading
from bisect import bisect_left
from collections.abc import Mapping, Sequence
from typing import Any

import opentelemetry.exporter.prometheus as exporter_prometheus
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import Exemplar, MeterProvider
from opentelemetry.sdk.metrics._internal.instrument import _Counter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Histogram,
    HistogramDataPoint,
    MetricReader,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
    Sum,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from prometheus_client.samples import Exemplar as OpenMetricsExemplar
from prometheus_client.samples import Sample

from nethical_otel._version import __version__
from nethical_otel.metrics._families import LocalBackend
from nethical_otel.metrics._points import Scope
from nethical_otel.semconv import EXEMPLAR_SPAN_ID, EXEMPLAR_TRACE_ID, INSTRUMENTATION_NAME

_logger = logging.getLogger("nethical_otel.metrics")

SCOPE = InstrumentationScope(INSTRUMENTATION_NAME, __version__)
SUPPORTED_PROMETHEUS_EXPORTER = ("0.66b2",)
# The opentelemetry-sdk releases whose collection internals this module was written and tested against
# (pyproject.toml pins the same range; a test checks both agree with what is installed).
SDK_VERSIONS = ">=1.45.2,<1.46"


class NethicalMeterProvider(MeterProvider):
    """An SDK MeterProvider that publishes a :class:`LocalBackend` alongside its own instruments."""

    def __init__(
        self,
        local: LocalBackend,
        metric_readers: Sequence[MetricReader] = (),
        resource: Resource | None = None,
        reader_scopes: Mapping[MetricReader, Scope] | None = None,
        **kwargs: Any,
    ) -> None:
        self._local = local
        # Multiprocess mode: which values each reader gets (merged unless said otherwise).
        self._scopes = dict(reader_scopes or {})
        self._resource = resource or Resource.create({})
        super().__init__(metric_readers=metric_readers, resource=self._resource, **kwargs)
        for reader in metric_readers:
            self._publish_local_to(reader)

    def add_metric_reader(self, metric_reader: MetricReader) -> None:
        super().add_metric_reader(metric_reader)
        self._publish_local_to(metric_reader)

    def _publish_local_to(self, reader: MetricReader) -> None:
        # The SDK wires each reader to its measurement consumer; we wrap that one callback.
        sdk_collect = self._measurement_consumer.collect
        delta = reader._instrument_class_temporality[_Counter] is AggregationTemporality.DELTA
        state = self._local.new_reader_state(
            delta,
            self._scopes.get(reader, Scope.MERGED),
            latest_exemplars=isinstance(reader, PrometheusMetricReader),
        )
        state_lock = threading.Lock()
        resource = self._resource

        def collect(metric_reader: MetricReader, timeout_millis: float = 10_000) -> MetricsData | None:
            collected = sdk_collect(metric_reader, timeout_millis)
            with state_lock:
                local = self._local.collect(state)
            if local is None:  # multiprocess mode: another process exports the merged view
                return None
            if not local:
                return collected
            ours = ScopeMetrics(scope=SCOPE, metrics=local, schema_url="")
            if collected is None:
                return MetricsData([ResourceMetrics(resource, [ours], resource.schema_url)])
            first, *rest = collected.resource_metrics
            merged = ResourceMetrics(first.resource, [*first.scope_metrics, ours], first.schema_url)
            return MetricsData([merged, *rest])

        reader._set_collect_callback(collect)  # type: ignore[arg-type]  # the SDK's own hint is off


# Exemplars on /metrics ------------------------------------------------------------------------------
_ExporterCollector: Any = getattr(exporter_prometheus, "_CustomCollector", None)


def carry_exemplars(reader: PrometheusMetricReader) -> bool:
    """Make ``reader`` render the exemplars of counter and histogram data points; False if it cannot.

    prometheus_client prints them only in the OpenMetrics format; the 0.0.4 text format has no place for them.
    """
    collector = getattr(reader, "_collector", None)
    if _ExporterCollector is None or type(collector) is not _ExporterCollector or not _translates(collector):
        _logger.warning(
            "/metrics will carry no exemplars: this opentelemetry-exporter-prometheus is not one nethical_otel "
            "supports for them (%s)",
            ", ".join(SUPPORTED_PROMETHEUS_EXPORTER),
        )
        return False
    # The same object stays registered with the registry; only its translation step changes.
    collector.__class__ = _ExemplarCollector
    return True


def _translates(collector: Any) -> bool:
    method = getattr(collector, "_translate_metric", None)
    try:
        parameters = list(inspect.signature(method).parameters) if method is not None else []
    except (TypeError, ValueError):
        return False
    return parameters == ["metric", "scope_attrs", "resource_attrs", "metric_family_id_metric_family"]


class _ExemplarCollector(_ExporterCollector or object):  # type: ignore[misc]
    """The exporter's collector, plus the data points' exemplars on the samples it appends."""

    def _translate_metric(
        self, metric: Any, scope_attrs: Any, resource_attrs: Any, metric_family_id_metric_family: dict[str, Any]
    ) -> None:
        families = metric_family_id_metric_family
        data = metric.data
        carries = isinstance(data, Histogram) or (isinstance(data, Sum) and data.is_monotonic)
        if not carries or not any(point.exemplars for point in data.data_points):
            super()._translate_metric(metric, scope_attrs, resource_attrs, families)
            return
        before = {key: len(family.samples) for key, family in families.items()}
        super()._translate_metric(metric, scope_attrs, resource_attrs, families)
        grown = [(key, family) for key, family in families.items() if len(family.samples) > before.get(key, 0)]
        if len(grown) == 1:
            key, family = grown[0]
            if _attach(family.samples, before.get(key, 0), data.data_points):
                return
        _warn_layout(metric.name)


def _attach(samples: list[Sample], start: int, points: Sequence[Any]) -> bool:
    """Put each point's exemplars on its samples (from ``start``); False if the samples are not laid out
    as expected (one ``_total`` per counter point; buckets, ``_count`` and ``_sum`` per histogram point)."""
    expected = sum(len(p.bucket_counts) + 2 if isinstance(p, HistogramDataPoint) else 1 for p in points)
    if len(samples) - start != expected:
        return False
    index = start
    for point in points:
        if isinstance(point, HistogramDataPoint):
            latest: dict[int, Exemplar] = {}
            for exemplar in point.exemplars:
                bucket = bisect_left(point.explicit_bounds, exemplar.value)
                kept = latest.get(bucket)
                if kept is None or exemplar.time_unix_nano >= kept.time_unix_nano:
                    latest[bucket] = exemplar
            for bucket, exemplar in latest.items():
                if not _set(samples, index + bucket, "_bucket", exemplar):
                    return False
            index += len(point.bucket_counts) + 2
        else:
            if point.exemplars:
                newest = max(point.exemplars, key=lambda exemplar: exemplar.time_unix_nano)
                if not _set(samples, index, "_total", newest):
                    return False
            index += 1
    return True


def _set(samples: list[Sample], index: int, suffix: str, exemplar: Exemplar) -> bool:
    sample = samples[index]
    if not sample.name.endswith(suffix):
        return False
    labels = {}
    if exemplar.trace_id:
        labels = {
            EXEMPLAR_TRACE_ID: format(exemplar.trace_id, "032x"),
            EXEMPLAR_SPAN_ID: format(exemplar.span_id or 0, "016x"),
        }
    samples[index] = sample._replace(
        exemplar=OpenMetricsExemplar(labels, float(exemplar.value), exemplar.time_unix_nano / 1e9)
    )
    return True


_warned: set[str] = set()


def _warn_layout(name: str) -> None:
    if name not in _warned:
        _warned.add(name)
        _logger.warning("%s: the exporter laid out samples unexpectedly; its exemplars are left out", name)
