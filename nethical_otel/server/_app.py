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
from prometheus_client.exposition import choose_encoder

from nethical_otel._version import __version__
from nethical_otel.config import DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT

if TYPE_CHECKING:
    from nethical_otel.pipeline import Telemetry

_logger = logging.getLogger("nethical_otel.server")

DEFAULT_HOST = DEFAULT_METRICS_HOST
DEFAULT_PORT = DEFAULT_METRICS_PORT


class MetricsServer:
    """Serves one pipeline's metrics (or, without ``telemetry``, whichever pipeline is active)."""

    def __init__(self, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, *, telemetry: Telemetry | None = None):
        self.host = host
        self._requested_port = port
        self._telemetry = telemetry
        self._runner: web.AppRunner | None = None
        self._started = 0.0
        self.port = port

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def start(self) -> MetricsServer:
        app = web.Application()
        app.router.add_get("/", self._index)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/health", self._health)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self._requested_port, reuse_address=True)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise OSError(
                exc.errno,
                f"metrics_server: cannot listen on {self.host}:{self._requested_port} ({exc.strerror}); "
                "set metrics_server.port to a free port, or 0 to pick one",
            ) from None
        self._runner = runner
        self._started = time.monotonic()
        server = site._server
        sockets = getattr(server, "sockets", None) or ()
        if sockets:
            self.port = sockets[0].getsockname()[1]
        _logger.info("serving metrics on %s/metrics", self.url)
        return self

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

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
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
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

    ensure_configured()
    return await MetricsServer(host, port).start()


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
