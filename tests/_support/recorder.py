"""A recording HTTP server on 127.0.0.1: keeps every request, answers from a script.

Used as the far end of webhooks (Alertmanager's webhook receiver, the SDK's webhook channel) and as the
base of the service emulators. It runs aiohttp on its own thread so synchronous tests can use it.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests._support.net import wait_until


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    received_at: float = field(default_factory=time.time)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (to exercise client timeouts)


Handler = Callable[[Recorded], Awaitable[Reply] | Reply]


class RecordingServer:
    """``script`` replies are used in order, then ``default``; ``handler`` overrides both when set."""

    def __init__(self, default: Reply | None = None) -> None:
        self.requests: list[Recorded] = []
        self.script: list[Reply] = []
        self.default = default or Reply()
        self.handler: Handler | None = None
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="recording-server")
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RecordingServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        return self

    async def _start(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        recorded = Recorded(
            request.method, request.path, dict(request.query), dict(request.headers), await request.read()
        )
        with self._lock:
            self.requests.append(recorded)
            reply = self.script.pop(0) if self.script else self.default
        if self.handler is not None:
            result = self.handler(recorded)
            reply = await result if asyncio.iscoroutine(result) else result  # type: ignore[assignment]
        if reply.delay:
            await asyncio.sleep(reply.delay)
        return web.Response(status=reply.status, body=reply.body, headers=reply.headers)

    def stop(self) -> None:
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self._loop.close()

    def __enter__(self) -> RecordingServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def received(self, path: str | None = None) -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_for(self, count: int, path: str | None = None, timeout: float = 30.0) -> list[Recorded]:
        wait_until(lambda: len(self.received(path)) >= count, timeout, f"{count} request(s) to {path or 'any path'}")
        return self.received(path)
