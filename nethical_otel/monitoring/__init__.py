"""The original Nethical monitoring API (``get_prometheus_metrics``, ``start_metrics_server_async``, ...)."""

from nethical_otel.monitoring._prometheus_metrics import PrometheusMetrics, get_prometheus_metrics
from nethical_otel.server import MetricsServer, start_metrics_server, start_metrics_server_async

__all__ = [
    "MetricsServer",
    "PrometheusMetrics",
    "get_prometheus_metrics",
    "start_metrics_server",
    "start_metrics_server_async",
]
