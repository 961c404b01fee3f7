"""The metrics server: ``/metrics``, ``/health`` and ``/`` over aiohttp."""

from nethical_otel.server._app import MetricsServer, start_metrics_server, start_metrics_server_async
from nethical_otel.server._component import MetricsServerComponent, build_component

__all__ = [
    "MetricsServer",
    "MetricsServerComponent",
    "build_component",
    "start_metrics_server",
    "start_metrics_server_async",
]
