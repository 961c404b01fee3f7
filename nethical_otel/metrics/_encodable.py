"""Metric data every exporter can encode, whoever recorded it.

nethical_otel cleans its own label values when it records them; the SDK instruments of the same
MeterProvider (the application's own, an instrumentation's) may carry anything. One attribute value
holding a lone surrogate (``json.loads('"\\ud800"')`` makes one) used to make every ``/metrics``
scrape answer 500 and every OTLP export fail, for good. The readers nethical_otel builds therefore
pass what they collected through :func:`encodable_metrics`: invalid Unicode in attribute values,
descriptions, units and resource attributes becomes U+FFFD (see :mod:`nethical_otel._text`), and
everything else stays as recorded. nethical_otel's own series are clean by construction and are not
looked at, so the cost is one ``str.isascii`` per foreign string.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics.export import Metric, MetricsData, ResourceMetrics, ScopeMetrics
from opentelemetry.sdk.resources import Resource

from nethical_otel._text import valid_unicode
from nethical_otel.metrics._provider import SCOPE


def _valid(value: Any) -> Any:
    """``value`` itself when it encodes, else a copy that does (strings and sequences of strings)."""
    if type(value) is str:
        return value if value.isascii() else valid_unicode(value)
    if isinstance(value, (tuple, list)) and any(type(item) is str for item in value):
        fixed = [_valid(item) for item in value]
        return value if all(a is b for a, b in zip(fixed, value, strict=True)) else type(value)(fixed)
    return value


def _valid_attributes(attributes: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
    if not attributes:
        return attributes
    changed = False
    fixed: dict[str, Any] = {}
    for key, value in attributes.items():
        valid_key, valid_value = _valid(key), _valid(value)
        changed = changed or valid_key is not key or valid_value is not value
        fixed[valid_key] = valid_value
    return fixed if changed else attributes


def _valid_point(point: Any) -> Any:
    attributes = _valid_attributes(point.attributes)
    return point if attributes is point.attributes else dataclasses.replace(point, attributes=attributes)


def _valid_metric(metric: Metric) -> Metric:
    data: Any = metric.data
    points = [_valid_point(point) for point in data.data_points]
    changed = any(a is not b for a, b in zip(points, data.data_points, strict=True))
    description, unit = _valid(metric.description), _valid(metric.unit)
    if not changed and description is metric.description and unit is metric.unit:
        return metric
    return Metric(metric.name, description, unit, dataclasses.replace(data, data_points=points) if changed else data)


def _valid_scope(scope_metrics: ScopeMetrics) -> ScopeMetrics:
    if scope_metrics.scope is SCOPE:
        return scope_metrics
    metrics = [_valid_metric(metric) for metric in scope_metrics.metrics]
    if all(a is b for a, b in zip(metrics, scope_metrics.metrics, strict=True)):
        return scope_metrics
    return ScopeMetrics(scope_metrics.scope, metrics, scope_metrics.schema_url)


def encodable_resource(resource: Resource) -> Resource:
    """``resource`` with every string attribute valid Unicode; the same object when it already was."""
    attributes = _valid_attributes(resource.attributes)
    return resource if attributes is resource.attributes else Resource(dict(attributes or {}), resource.schema_url)


def encodable_metrics(data: MetricsData | None) -> MetricsData | None:
    """``data`` with every string valid Unicode; the same object when it already was."""
    if data is None:
        return None
    resource_metrics = []
    changed = False
    for item in data.resource_metrics:
        resource = encodable_resource(item.resource)
        scopes = [_valid_scope(scope) for scope in item.scope_metrics]
        if resource is item.resource and all(a is b for a, b in zip(scopes, item.scope_metrics, strict=True)):
            resource_metrics.append(item)
            continue
        changed = True
        resource_metrics.append(ResourceMetrics(resource, scopes, item.schema_url))
    return MetricsData(resource_metrics) if changed else data


class EncodablePrometheusMetricReader(PrometheusMetricReader):
    """A PrometheusMetricReader whose exposition always encodes (see :func:`encodable_metrics`)."""

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> None:
        encodable = encodable_metrics(metrics_data)
        if encodable is not None:
            super()._receive_metrics(encodable, timeout_millis, **kwargs)
