"""Metrics: the nethical_* families, label hygiene, and how measurements reach the OpenTelemetry SDK."""

from nethical_otel.metrics._families import OVERFLOW_ATTRIBUTES, Backend, Family, LocalBackend, Scope, SdkBackend
from nethical_otel.metrics._instruments import Instruments
from nethical_otel.metrics._labels import LabelCleaner
from nethical_otel.metrics._multiprocess import MultiprocessBackend, MultiprocessDir, role
from nethical_otel.metrics._provider import NethicalMeterProvider

__all__ = [
    "OVERFLOW_ATTRIBUTES",
    "Backend",
    "Family",
    "Instruments",
    "LabelCleaner",
    "LocalBackend",
    "MultiprocessBackend",
    "MultiprocessDir",
    "NethicalMeterProvider",
    "Scope",
    "SdkBackend",
    "role",
]
