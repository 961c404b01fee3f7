"""``OTEL_METRICS_EXPORTER=nethical_prometheus``: a Prometheus endpoint that keeps the original names.

The stock ``prometheus`` name starts a reader with every default on: the ``target_info`` series and
``otel_scope_*`` labels on every series, which changes what the original Nethical dashboards and alert
rules match. This reader is configured the way nethical_otel's own Prometheus export is (target_info
from ``prometheus.target_info`` in the nethical config, off by default; no scope labels; a private
registry; exemplars in the OpenMetrics format) and serves ``/metrics`` where the standard variables
say: ``OTEL_EXPORTER_PROMETHEUS_HOST`` (default ``localhost``) and ``OTEL_EXPORTER_PROMETHEUS_PORT``
(default 9464).

It is for SDKs that another configurator built (the stock one of ``opentelemetry-distro``); under the
Nethical configurator the nethical metrics server already serves ``/metrics``.
"""

from __future__ import annotations

import os
from typing import Any

from opentelemetry.sdk.environment_variables import OTEL_EXPORTER_PROMETHEUS_HOST, OTEL_EXPORTER_PROMETHEUS_PORT
from prometheus_client import CollectorRegistry, start_http_server

from nethical_otel.config import load_config
from nethical_otel.metrics import EncodablePrometheusMetricReader, carry_exemplars

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 9464


class NethicalPrometheusMetricReader(EncodablePrometheusMetricReader):
    """A PrometheusMetricReader with nethical_otel's settings, serving its own registry over HTTP."""

    def __init__(self) -> None:
        config = load_config(None)
        host = os.environ.get(OTEL_EXPORTER_PROMETHEUS_HOST) or DEFAULT_HOST
        port = _port(os.environ.get(OTEL_EXPORTER_PROMETHEUS_PORT))
        self.registry = CollectorRegistry(auto_describe=False)
        super().__init__(
            disable_target_info=not config.prometheus.target_info, scope_info_enabled=False, registry=self.registry
        )
        carry_exemplars(self)  # the SDK's exemplars, in the OpenMetrics exposition
        try:
            self._server, self._thread = start_http_server(port, host, self.registry)
        except OSError as error:
            super().shutdown()
            raise OSError(
                error.errno,
                f"cannot serve Prometheus metrics on {host}:{port} ({error.strerror}); set "
                f"{OTEL_EXPORTER_PROMETHEUS_PORT} to a free port",
            ) from None
        self.port: int = self._server.server_port

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        super().shutdown(timeout_millis, **kwargs)
        self._server.shutdown()
        self._server.server_close()


def _port(value: str | None) -> int:
    if not value:
        return DEFAULT_PORT
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise ValueError(f"{OTEL_EXPORTER_PROMETHEUS_PORT} must be a port number from 0 to 65535, got {value!r}")
    return port
