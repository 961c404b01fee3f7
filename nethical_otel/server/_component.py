"""The metrics server as a part of the ``configure()`` pipeline, switched on by ``metrics_server.enabled``."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from nethical_otel.config import Config, MetricsServerConfig
from nethical_otel.pipeline import Component
from nethical_otel.server._app import MetricsServer

if TYPE_CHECKING:
    from nethical_otel.pipeline import Telemetry
    from nethical_otel.pipeline._background import BackgroundLoop

_logger = logging.getLogger("nethical_otel.server")


class MetricsServerComponent(Component):
    """Serves the pipeline's Prometheus registry on the pipeline's I/O thread."""

    name = "metrics_server"

    def __init__(self, config: MetricsServerConfig) -> None:
        self.config = config
        self.server: MetricsServer | None = None
        self._background: BackgroundLoop | None = None

    def start(self, telemetry: Telemetry) -> None:
        if telemetry.prometheus_registry is None:  # prometheus.enabled is false: nothing to serve
            return
        server = MetricsServer(self.config.host, self.config.port, telemetry=telemetry, settings=self.config)
        self._background = telemetry.background
        self._background.run(server.start())
        self.server = server
        telemetry.metrics_server = server

    def shutdown(self, timeout: float) -> None:
        server, self.server = self.server, None
        if server is not None and self._background is not None:
            self._background.run(server.stop(), timeout)


def build_component(config: Config) -> Component | None:
    """The metrics server, unless ``metrics_server.enabled`` is false."""
    return MetricsServerComponent(config.metrics_server) if config.metrics_server.enabled else None
