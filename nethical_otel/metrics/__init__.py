"""Metrics: the nethical_* families, label hygiene, and how measurements reach the OpenTelemetry SDK."""

from nethical_otel.metrics._encodable import EncodablePrometheusMetricReader, encodable_metrics, encodable_resource
from nethical_otel.metrics._families import OVERFLOW_ATTRIBUTES, Backend, Family, LocalBackend, SdkBackend
from nethical_otel.metrics._instruments import Instruments
from nethical_otel.metrics._labels import LabelCleaner
from nethical_otel.metrics._provider import NethicalMeterProvider

__all__ = [
    "OVERFLOW_ATTRIBUTES",
    "Backend",
    "EncodablePrometheusMetricReader",
    "Family",
    "Instruments",
    "LabelCleaner",
    "LocalBackend",
    "NethicalMeterProvider",
    "SdkBackend",
    "encodable_metrics",
    "encodable_resource",
]
