"""The metrics server as a part of the ``configure()`` pipeline, switched on by ``metrics_server.enabled``."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import TYPE_CHECKING

from nethical_otel.config import Config, MetricsServerConfig
from nethical_otel.metrics import role
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
        self._retry: concurrent.futures.Future[None] | None = None

    def start(self, telemetry: Telemetry) -> None:
        if telemetry.prometheus_registry is None:  # prometheus.enabled is false: nothing to serve
            return
        if telemetry.multiprocess is not None and role.coordinated:
            return  # multiprocess mode: the pre-fork master serves the merged view for every worker
        server = MetricsServer(self.config.host, self.config.port, telemetry=telemetry, settings=self.config)
        self._background = telemetry.background
        try:
            self._background.run(server.start())
        except OSError:
            if telemetry.multiprocess is None:
                raise
            # Multiprocess mode: another worker serves the merged view here; take over when it goes.
            _logger.info("another process serves %s/metrics for every worker", server.url)
            retry = _serve_when_free(server, telemetry.config.prometheus.multiprocess_retry_seconds)
            self._retry = self._background.submit(retry)
        self.server = server
        telemetry.metrics_server = server

    def shutdown(self, timeout: float) -> None:
        if self._retry is not None:
            self._retry.cancel()
        server, self.server = self.server, None
        if server is not None and self._background is not None:
            self._background.run(server.stop(), timeout)


async def _serve_when_free(server: MetricsServer, interval: float) -> None:
    while True:  # cancelled at shutdown
        await asyncio.sleep(interval)
        try:
            await server.start()
        except OSError:
            continue
        return


def build_component(config: Config) -> Component | None:
    """The metrics server, unless ``metrics_server.enabled`` is false."""
    return MetricsServerComponent(config.metrics_server) if config.metrics_server.enabled else None
