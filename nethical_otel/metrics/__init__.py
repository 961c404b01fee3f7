"""Metrics: the nethical_* families, label hygiene, and how measurements reach the OpenTelemetry SDK."""

from nethical_otel.metrics._encodable import EncodablePrometheusMetricReader, encodable_metrics, encodable_resource
from nethical_otel.metrics._exemplars import (
    ExemplarSource,
    current_exemplar,
    exemplar_source,
    resolve_exemplar_filter,
    sdk_exemplar_filter,
)
from nethical_otel.metrics._families import (
    OVERFLOW_ATTRIBUTES,
    Backend,
    ExemplarRef,
    Family,
    LocalBackend,
    SdkBackend,
)
from nethical_otel.metrics._instruments import Instruments
from nethical_otel.metrics._labels import LabelCleaner
from nethical_otel.metrics._points import Scope
from nethical_otel.metrics._provider import NethicalMeterProvider, carry_exemplars
from nethical_otel.metrics.multiprocess import MultiprocessBackend, MultiprocessDir, role

__all__ = [
    "OVERFLOW_ATTRIBUTES",
    "Backend",
    "EncodablePrometheusMetricReader",
    "ExemplarRef",
    "ExemplarSource",
    "Family",
    "Instruments",
    "LabelCleaner",
    "LocalBackend",
    "MultiprocessBackend",
    "MultiprocessDir",
    "NethicalMeterProvider",
    "Scope",
    "SdkBackend",
    "carry_exemplars",
    "current_exemplar",
    "encodable_metrics",
    "encodable_resource",
    "exemplar_source",
    "resolve_exemplar_filter",
    "role",
    "sdk_exemplar_filter",
]
