"""The rules' view of the metric stream: a pull :class:`MetricReader` on the pipeline's MeterProvider,
so the rules read exactly the ``nethical_*`` data that Prometheus and OTLP see."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk.metrics.export import HistogramDataPoint, MetricReader, MetricsData, NumberDataPoint

from nethical_otel.alerting.rules.measure import Point, Sample, Selection, reduce


class RuleReader(MetricReader):
    """Collected when the evaluator asks (:meth:`sample`), never on a timer of its own."""

    def __init__(self) -> None:
        super().__init__()  # cumulative temporality for every instrument
        self._latest: MetricsData | None = None
        self.wanted: tuple[Selection, ...] = ()

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> None:
        self._latest = metrics_data

    def sample(self, at: float) -> Sample:
        self._latest = None
        self.collect()
        data, self._latest = self._latest, None
        return reduce(at, points(data), self.wanted)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._latest = None


def points(data: MetricsData | None) -> Iterator[Point]:
    if data is None:
        return
    for resource_metrics in data.resource_metrics:
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                for point in metric.data.data_points:
                    attributes = point.attributes or {}
                    if isinstance(point, HistogramDataPoint):
                        histogram = (tuple(point.explicit_bounds), tuple(float(c) for c in point.bucket_counts))
                        yield (metric.name, attributes, histogram)
                    elif isinstance(point, NumberDataPoint):
                        yield (metric.name, attributes, float(point.value))
