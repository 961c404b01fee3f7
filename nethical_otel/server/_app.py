"""An aiohttp server for Prometheus to scrape.

It binds to 127.0.0.1 unless told otherwise: ``/metrics`` reveals which threats your detectors see and
how often, which is worth keeping off the network unless a scraper needs it.
"""

from __future__ import annotations

import asyncio
import html
import json
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from aiohttp import web

from nethical_otel import semconv
from nethical_otel._version import __version__
from nethical_otel.config import DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT, MetricsServerConfig
from nethical_otel.metrics import Family
from nethical_otel.server._guard import ConnectionGuard
from nethical_otel.server._negotiation import choose_format

if TYPE_CHECKING:
    from nethical_otel.pipeline import Telemetry

_logger = logging.getLogger("nethical_otel.server")

DEFAULT_HOST = DEFAULT_METRICS_HOST
DEFAULT_PORT = DEFAULT_METRICS_PORT


class MetricsServer:
    """Serves one pipeline's metrics (or, without ``telemetry``, whichever pipeline is active)."""

    def __init__(
        self,
        host: str = DEFAULT_HOST,
        port: int = DEFAULT_PORT,
        *,
        telemetry: Telemetry | None = None,
        settings: MetricsServerConfig | None = None,
    ):
        """``settings`` bound what clients can hold (timeouts, connections); host and port are the arguments."""
        self.host = host
        self._requested_port = port
        self._telemetry = telemetry
        self.guard = ConnectionGuard(settings or MetricsServerConfig(), self._count_closed)
        self._runner: web.AppRunner | None = None
        self._listener: asyncio.Server | None = None
        self._started = 0.0
        self.port = port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> MetricsServer:
        app = web.Application(middlewares=[self.guard.middleware])
        app.router.add_get("/", self._index)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/health", self._health)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        assert runner.server is not None  # set up above
        loop = asyncio.get_running_loop()
        try:
            # The guard makes each connection's protocol (aiohttp's own, bounded); a TCPSite would not let it.
            listener = await loop.create_server(
                self.guard.protocol_factory(runner.server, loop),
                self.host,
                self._requested_port,
                reuse_address=True,
            )
        except OSError as exc:
            await runner.cleanup()
            raise OSError(
                exc.errno,
                f"metrics_server: cannot listen on {self.host}:{self._requested_port} ({exc.strerror}); "
                "set metrics_server.port to a free port, or 0 to pick one",
            ) from None
        self._runner, self._listener = runner, listener
        self._started = time.monotonic()
        if listener.sockets:
            self.port = listener.sockets[0].getsockname()[1]
        self._declare_closures()
        _logger.info("serving metrics on %s/metrics", self.url)
        return self

    async def stop(self) -> None:
        listener, self._listener = self._listener, None
        runner, self._runner = self._runner, None
        if listener is not None:
            listener.close()
        self.guard.close_all()  # stalled clients must not hold the shutdown
        await asyncio.sleep(0)  # let the aborted connections report their loss before the cleanup
        if runner is not None:
            await runner.cleanup()

    def _closures(self) -> Family | None:
        telemetry = self._pipeline()
        instruments = telemetry.instruments if telemetry is not None else None
        return instruments.family(semconv.METRICS_SERVER_CONNECTIONS_CLOSED) if instruments is not None else None

    def _declare_closures(self) -> None:
        family = self._closures()
        if family is not None:
            for reason in semconv.SERVER_CLOSE_REASONS:
                family.declare(reason)

    def _count_closed(self, reason: str) -> None:
        family = self._closures()
        if family is not None:
            family.child(reason).record(1)

    # Handlers ---------------------------------------------------------------------------------------
    def _pipeline(self) -> Telemetry | None:
        if self._telemetry is not None:
            return self._telemetry
        from nethical_otel.pipeline import active_telemetry

        return active_telemetry()

    async def _metrics(self, request: web.Request) -> web.Response:
        telemetry = self._pipeline()
        registry = telemetry.prometheus_registry if telemetry is not None and not telemetry.is_shut_down else None
        if registry is None:
            return web.Response(status=503, text="Prometheus export is off (prometheus.enabled is false)\n")
        encoder, content_type = choose_format(",".join(request.headers.getall("Accept", [])))
        # Rendering thousands of series is CPU work: keep it off the event loop.
        body = await asyncio.get_running_loop().run_in_executor(None, encoder, registry)
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def _health(self, request: web.Request) -> web.Response:
        telemetry = self._pipeline()
        detectors = telemetry.runtime.detectors.snapshot() if telemetry and telemetry.runtime else {}
        unhealthy = [name for name, healthy in detectors.items() if healthy is False]
        body = {
            "status": "degraded" if unhealthy else "healthy",
            "uptime_seconds": round(time.monotonic() - self._started, 3),
            "version": __version__,
            "detectors": {name: {"healthy": healthy} for name, healthy in sorted(detectors.items())},
        }
        return web.json_response(body, dumps=lambda obj: json.dumps(obj, indent=2))

    async def _index(self, request: web.Request) -> web.Response:
        links = "".join(
            f'<li><a href="{path}">{path}</a> {html.escape(text)}</li>'
            for path, text in (("/metrics", "Prometheus metrics"), ("/health", "health and detectors (JSON)"))
        )
        page = f"<!doctype html><title>nethical_otel</title><h1>nethical_otel {__version__}</h1><ul>{links}</ul>"
        return web.Response(text=page, content_type="text/html")


async def start_metrics_server_async(port: int = DEFAULT_PORT, host: str = DEFAULT_HOST) -> MetricsServer:
    """Start serving the active pipeline's metrics on the running loop; ``port=0`` picks a free port.

    Configures nethical_otel with defaults first if ``configure()`` was never called.
    """
    from nethical_otel.pipeline import ensure_configured

    telemetry = ensure_configured()
    return await MetricsServer(host, port, settings=telemetry.config.metrics_server).start()


def start_metrics_server(port: int = DEFAULT_PORT, host: str = DEFAULT_HOST) -> None:
    """Serve metrics in the foreground until interrupted (Ctrl-C or SIGTERM)."""
    asyncio.run(_serve_forever(lambda: start_metrics_server_async(port, host)))


async def _serve_forever(start: Callable[[], Awaitable[MetricsServer]]) -> None:
    server = await start()
    print(f"nethical_otel: serving {server.url}/metrics (Ctrl-C to stop)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.stop()
