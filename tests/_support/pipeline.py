"""Configure nethical_otel with in-memory readers and read back spans and metrics whole."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.metrics.export import HistogramDataPoint, InMemoryMetricReader, NumberDataPoint
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics_latest

import nethical_otel
from nethical_otel import Telemetry


@dataclass
class Captured:
    telemetry: Telemetry
    span_exporter: InMemorySpanExporter
    metric_reader: InMemoryMetricReader

    def spans(self) -> list[ReadableSpan]:
        return list(self.span_exporter.get_finished_spans())

    def span_dicts(self) -> list[dict[str, Any]]:
        """Each finished span as a plain dict, for whole comparisons."""
        return [
            {
                "name": span.name,
                "kind": span.kind.name,
                "status": span.status.status_code.name,
                "attributes": dict(span.attributes or {}),
                "events": [(event.name, dict(event.attributes or {})) for event in span.events],
                "parent": span.parent.span_id if span.parent else None,
            }
            for span in self.spans()
        ]

    def metrics(self) -> dict[str, dict[tuple[tuple[str, Any], ...], Any]]:
        """Collected data points by metric name, keyed by sorted attributes.

        Counters and gauges give their value; histograms give (count, sum, bucket counts).
        """
        data = self.metric_reader.get_metrics_data()
        result: dict[str, dict[tuple[tuple[str, Any], ...], Any]] = {}
        if data is None:
            return result
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    points = result.setdefault(metric.name, {})
                    for point in metric.data.data_points:
                        key = tuple(sorted(point.attributes.items()))
                        if isinstance(point, HistogramDataPoint):
                            points[key] = (point.count, point.sum, tuple(point.bucket_counts))
                        else:
                            assert isinstance(point, NumberDataPoint)
                            points[key] = point.value
        return result

    def exposition(self) -> str:
        assert self.telemetry.prometheus_registry is not None
        return generate_latest(self.telemetry.prometheus_registry).decode()

    def openmetrics(self) -> str:
        """What /metrics serves to a scraper that asks for OpenMetrics (Prometheus does)."""
        assert self.telemetry.prometheus_registry is not None
        return openmetrics_latest(self.telemetry.prometheus_registry).decode()


@contextlib.contextmanager
def capture(config: Mapping[str, Any] | None = None) -> Iterator[Captured]:
    settings: dict[str, Any] = {"metrics_server": {"enabled": False}}
    for key, value in (config or {}).items():
        settings[key] = value
    exporter = InMemorySpanExporter()
    reader = InMemoryMetricReader()
    telemetry = nethical_otel.configure(
        settings, additional_metric_readers=[reader], additional_span_processors=[SimpleSpanProcessor(exporter)]
    )
    try:
        yield Captured(telemetry, exporter, reader)
    finally:
        telemetry.shutdown()


def attrs(**labels: Any) -> tuple[tuple[str, Any], ...]:
    """The key :meth:`Captured.metrics` uses for a set of attributes."""
    return tuple(sorted(labels.items()))
