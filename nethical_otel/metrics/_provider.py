"""A MeterProvider whose every reader also receives nethical_otel's locally aggregated series.

Local aggregation keeps the detector hot path to a lock and an add; this provider is what makes those
values ordinary OpenTelemetry metric data. At each collection it appends them, as one more
``ScopeMetrics``, to what the SDK collected, so any reader (Prometheus, OTLP, in-memory, a rule
evaluator) renders them with the SDK's own exporters, naming rules and temporality.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics._internal.instrument import _Counter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    MetricReader,
    MetricsData,
    ResourceMetrics,
    ScopeMetrics,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.util.instrumentation import InstrumentationScope

from nethical_otel._version import __version__
from nethical_otel.metrics._families import LocalBackend, Scope
from nethical_otel.semconv import INSTRUMENTATION_NAME

SCOPE = InstrumentationScope(INSTRUMENTATION_NAME, __version__)
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
        # The SDK wires each reader to its measurement consumer; we wrap that one callback. Both reach into
        # SDK internals that have been stable for years; the pin on opentelemetry-sdk (SDK_VERSIONS) and the tests
        # that compare exposition whole guard against a change.
        sdk_collect = self._measurement_consumer.collect
        delta = reader._instrument_class_temporality[_Counter] is AggregationTemporality.DELTA
        state = self._local.new_reader_state(delta, self._scopes.get(reader, Scope.MERGED))
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
