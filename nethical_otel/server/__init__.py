"""The metrics server: ``/metrics``, ``/health`` and ``/`` over aiohttp."""

from nethical_otel.server._app import MetricsServer, start_metrics_server, start_metrics_server_async

__all__ = ["MetricsServer", "start_metrics_server", "start_metrics_server_async"]
