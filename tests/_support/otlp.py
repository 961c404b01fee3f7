"""An OTLP/HTTP receiver on 127.0.0.1: records what exporters push and decodes it with opentelemetry-proto.

It is the far end an OpenTelemetry Collector would be: ``POST /v1/traces`` and ``POST /v1/metrics`` with
protobuf bodies (gzip when the exporter compresses), answered with 200 as the OTLP spec says.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span, Status

from tests._support.recorder import Recorded, RecordingServer

Labels = tuple[tuple[str, Any], ...]


@dataclass(frozen=True)
class ExportedPoint:
    """One data point as pushed: its resource, metric name, attributes and value.

    Counters and gauges give their value; histograms give (count, bucket counts); ``at`` is the
    point's time, to keep the last cumulative value of a series.
    """

    resource: dict[str, Any]
    metric: str
    attributes: Labels
    value: Any
    at: int


@dataclass(frozen=True)
class ExportedExemplar:
    """One exemplar as pushed: its data point's attributes, value, trace and span ids (hex) and time."""

    attributes: Labels
    value: float
    trace_id: str
    span_id: str
    time_unix_nano: int


class OtlpReceiver(RecordingServer):
    def traces(self) -> list[ExportTraceServiceRequest]:
        return [ExportTraceServiceRequest.FromString(_body(r)) for r in self.received("/v1/traces")]

    def metrics(self) -> list[ExportMetricsServiceRequest]:
        return [ExportMetricsServiceRequest.FromString(_body(r)) for r in self.received("/v1/metrics")]

    def span_dicts(self) -> list[dict[str, Any]]:
        """Every exported span in the form of ``tests._support.pipeline.Captured.span_dicts``, plus its resource."""
        spans = []
        for request in self.traces():
            for resource_spans in request.resource_spans:
                resource = attributes_dict(resource_spans.resource.attributes)
                for scope_spans in resource_spans.scope_spans:
                    for span in scope_spans.spans:
                        spans.append(
                            {
                                "name": span.name,
                                "kind": Span.SpanKind.Name(span.kind).removeprefix("SPAN_KIND_"),
                                "status": Status.StatusCode.Name(span.status.code).removeprefix("STATUS_CODE_"),
                                "attributes": attributes_dict(span.attributes),
                                "events": [(e.name, attributes_dict(e.attributes)) for e in span.events],
                                "parent": int.from_bytes(span.parent_span_id, "big") if span.parent_span_id else None,
                                "resource": resource,
                                "span_id": span.span_id.hex(),
                                "trace_id": span.trace_id.hex(),
                            }
                        )
        return spans

    def points(self) -> Iterator[ExportedPoint]:
        for request in self.metrics():
            for resource_metrics in request.resource_metrics:
                resource = attributes_dict(resource_metrics.resource.attributes)
                for scope_metrics in resource_metrics.scope_metrics:
                    for metric in scope_metrics.metrics:
                        yield from _points(resource, metric)

    def exemplars(self, metric: str) -> list[ExportedExemplar]:
        """Every exemplar pushed on the data points of ``metric``, with its point's attributes."""
        found = []
        for request in self.metrics():
            for resource_metrics in request.resource_metrics:
                for scope_metrics in resource_metrics.scope_metrics:
                    for pushed in scope_metrics.metrics:
                        if pushed.name != metric:
                            continue
                        for point in getattr(pushed, pushed.WhichOneof("data")).data_points:
                            labels = tuple(sorted(attributes_dict(point.attributes).items()))
                            for exemplar in point.exemplars:
                                value = (
                                    exemplar.as_double
                                    if exemplar.WhichOneof("value") == "as_double"
                                    else exemplar.as_int
                                )
                                found.append(
                                    ExportedExemplar(
                                        labels,
                                        value,
                                        exemplar.trace_id.hex(),
                                        exemplar.span_id.hex(),
                                        exemplar.time_unix_nano,
                                    )
                                )
        return found

    def last_values(self, metric: str) -> dict[tuple[str, Labels], Any]:
        """The latest value of each series of ``metric``, keyed by (service.instance.id, attributes)."""
        latest: dict[tuple[str, Labels], ExportedPoint] = {}
        for point in self.points():
            if point.metric != metric:
                continue
            key = (str(point.resource.get("service.instance.id")), point.attributes)
            if key not in latest or point.at >= latest[key].at:
                latest[key] = point
        return {key: point.value for key, point in latest.items()}


def _body(recorded: Recorded) -> bytes:
    # aiohttp already inflates gzip request bodies; inflate only what still is gzip.
    if recorded.body[:2] == b"\x1f\x8b":
        return gzip.decompress(recorded.body)
    return recorded.body


def _points(resource: dict[str, Any], metric: Any) -> Iterator[ExportedPoint]:
    kind = metric.WhichOneof("data")
    data = getattr(metric, kind)
    for point in data.data_points:
        labels = tuple(sorted(attributes_dict(point.attributes).items()))
        if kind == "histogram":
            value: Any = (point.count, tuple(point.bucket_counts))
        else:
            value = point.as_int if point.WhichOneof("value") == "as_int" else point.as_double
        yield ExportedPoint(resource, metric.name, labels, value, point.time_unix_nano)


def attributes_dict(attributes: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in attributes if isinstance(kv, KeyValue)}


def any_value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return tuple(any_value(v) for v in value.array_value.values)
    if kind == "kvlist_value":
        return attributes_dict(value.kvlist_value.values)
    return getattr(value, kind) if kind else None
