"""Connection limits of the metrics server: what a stalled or hostile client can hold, and for how long.

aiohttp closes a connection that never sends a request only after an hour, reads a request head
forever, and waits without limit for a client that does not read its response; connections that send
half a header, or nothing, held the host process's file descriptors until ``open()`` failed. So each
connection is tracked from its first byte:

* **header timeout**: a connection must deliver a complete request head within
  ``header_timeout_seconds`` of opening or of its previous response (this also ends idle keep-alive
  connections); then it is aborted;
* **body timeout**: a request body the handlers do not read (none does) is drained for at most
  ``body_timeout_seconds`` after the response, then the connection is closed;
* **response timeout**: a response must be taken by the client within ``response_timeout_seconds``;
* **connection cap**: at ``max_connections``, a new connection replaces the one idle the longest (a
  stalled client, never a request being served), or is refused when all are busy, so stalled clients
  cannot lock Prometheus out.

Every closure is counted in ``nethical_metrics_server_connections_closed_total{reason}`` and logged at
DEBUG; the first time the cap is reached, a warning says so. Malformed requests get a bare status line
back (aiohttp quotes the offending bytes) and are logged at DEBUG: they are the client's problem.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from aiohttp import StreamReader, web

from nethical_otel import semconv
from nethical_otel.config import MetricsServerConfig

_logger = logging.getLogger("nethical_otel.server")

Count = Callable[[str], None]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


if TYPE_CHECKING:
    _Adapter = logging.LoggerAdapter[logging.Logger]
else:  # not subscriptable at run time before Python 3.11
    _Adapter = logging.LoggerAdapter


class _ClientErrorsAtDebug(_Adapter):
    """aiohttp's server logger, for what reaches it here: requests a client got wrong."""

    def log(self, level: int, msg: object, *args: Any, **kwargs: Any) -> None:
        super().log(min(level, logging.DEBUG), msg, *args, **kwargs)


@dataclass(eq=False)
class _Connection:
    transport: asyncio.Transport | None = None
    busy: bool = False
    timer: asyncio.TimerHandle | None = None
    unread_body: StreamReader | None = None  # what aiohttp drains after a response, until it is complete


class ConnectionGuard:
    """Protocol factory and middleware enforcing the bounds of one server's :class:`MetricsServerConfig`."""

    def __init__(self, settings: MetricsServerConfig, count: Count) -> None:
        self.settings = settings
        self._count = count
        # Insertion order is idle order: a connection moves to the end whenever it finishes a request.
        self._connections: dict[web.RequestHandler, _Connection] = {}
        self._warned = False

    @property
    def open_connections(self) -> int:
        return len(self._connections)

    def protocol_factory(self, server: web.Server, loop: asyncio.AbstractEventLoop) -> Callable[[], asyncio.Protocol]:
        settings = self.settings
        options = {
            "loop": loop,
            "access_log": None,
            "logger": _ClientErrorsAtDebug(logging.getLogger("aiohttp.server"), {}),
            # The guard enforces the timeouts (and counts them); aiohttp's own timers stay as a backstop.
            "keepalive_timeout": settings.header_timeout_seconds + 1.0,
            "lingering_time": settings.body_timeout_seconds,
        }

        def create() -> asyncio.Protocol:
            if len(self._connections) >= settings.max_connections and not self._make_room():
                return _Refused()
            handler = _GuardedHandler(self, server, **options)
            self._connections[handler] = _Connection()
            return handler

        return create

    def _make_room(self) -> bool:
        if not self._warned:
            self._warned = True
            _logger.warning(
                "the metrics server reached metrics_server.max_connections=%d; idle connections are closed to make "
                "room (counted in nethical_metrics_server_connections_closed_total)",
                self.settings.max_connections,
            )
        for handler, connection in self._connections.items():
            if not connection.busy and connection.transport is not None:
                self._close(handler, semconv.SERVER_CLOSE_EVICTED)
                return True
        self._count(semconv.SERVER_CLOSE_REFUSED)
        _logger.debug("metrics server: all %d connections busy; refused a new one", len(self._connections))
        return False

    # Connection lifecycle, called by _GuardedHandler ---------------------------------------------------
    def opened(self, handler: web.RequestHandler, transport: asyncio.Transport) -> None:
        connection = self._connections.get(handler)
        if connection is None:  # closed before it was set up
            transport.abort()
            return
        connection.transport = transport
        self._arm(handler, connection)

    def closed(self, handler: web.RequestHandler) -> None:
        connection = self._connections.pop(handler, None)
        if connection is not None and connection.timer is not None:
            connection.timer.cancel()

    def _arm(self, handler: web.RequestHandler, connection: _Connection) -> None:
        """Close the connection unless its next request head (or the rest of an unread body) comes in time."""
        if connection.unread_body is not None:
            delay, reason = self.settings.body_timeout_seconds, semconv.SERVER_CLOSE_BODY_TIMEOUT
        else:
            delay, reason = self.settings.header_timeout_seconds, semconv.SERVER_CLOSE_HEADER_TIMEOUT
        connection.timer = asyncio.get_running_loop().call_later(delay, self._close, handler, reason)

    def _close(self, handler: web.RequestHandler, reason: str) -> None:
        connection = self._connections.pop(handler, None)
        if connection is None:
            return
        if connection.timer is not None:
            connection.timer.cancel()
        _abort(connection)
        self._count(reason)
        _logger.debug("metrics server: closed a connection (%s)", reason.replace("_", " "))

    def close_all(self) -> None:
        for handler in list(self._connections):
            connection = self._connections.pop(handler)
            if connection.timer is not None:
                connection.timer.cancel()
            _abort(connection)

    # Requests -----------------------------------------------------------------------------------------
    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Mark the connection busy while a request is handled and delivered; bound the delivery."""
        protocol = request.protocol
        connection = self._connections.get(protocol) if isinstance(protocol, web.RequestHandler) else None
        if connection is not None:
            if connection.timer is not None:
                connection.timer.cancel()
            connection.busy, connection.unread_body = True, None
        try:
            response = await _respond(request, handler)
            try:
                await asyncio.wait_for(_deliver(request, response), self.settings.response_timeout_seconds)
            except asyncio.TimeoutError:  # not yet the built-in TimeoutError on Python 3.10
                if connection is not None and isinstance(protocol, web.RequestHandler):
                    self._close(protocol, semconv.SERVER_CLOSE_RESPONSE_TIMEOUT)
                    connection = None
            return response
        finally:
            if connection is not None and isinstance(protocol, web.RequestHandler) and protocol in self._connections:
                connection.busy = False
                del self._connections[protocol]
                self._connections[protocol] = connection
                connection.unread_body = request.content if request.can_read_body else None
                self._arm(protocol, connection)


def _abort(connection: _Connection) -> None:
    if connection.unread_body is not None:
        connection.unread_body.feed_eof()  # ends aiohttp's draining of it with the connection
    if connection.transport is not None:
        connection.transport.abort()  # close() would wait for a client that does not read


async def _respond(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as error:  # 404, 405: a plain response, so it is delivered like any other
        allow = {"Allow": error.headers["Allow"]} if "Allow" in error.headers else None
        return web.Response(status=error.status, text=f"{error.status}: {error.reason}\n", headers=allow)
    except Exception:  # a bug of ours, not the client's: ERROR here, and a bare 500 to the client
        _logger.exception("the metrics server failed to answer %s %s", request.method, request.path)
        return web.Response(status=500, text="500: Internal Server Error\n")


async def _deliver(request: web.Request, response: web.StreamResponse) -> None:
    await response.prepare(request)
    await response.write_eof()


class _GuardedHandler(web.RequestHandler):
    """aiohttp's connection handler, reporting to the guard and answering malformed requests tersely."""

    def __init__(self, guard: ConnectionGuard, server: web.Server, **options: Any) -> None:
        super().__init__(server, **options)
        self._guard = guard

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        self._guard.opened(self, transport)  # type: ignore[arg-type]  # a TCP transport

    def connection_lost(self, exc: BaseException | None) -> None:
        self._guard.closed(self)
        super().connection_lost(exc)

    def handle_error(
        self, request: Any, status: int = 500, exc: BaseException | None = None, message: str | None = None
    ) -> web.StreamResponse:
        self.logger.debug("malformed request from %s: %s", request.remote, exc.__class__.__name__ if exc else status)
        if request.writer.output_size > 0:
            raise ConnectionError("a response was already sent on this connection")
        phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
        response = web.Response(status=status, text=f"{status}: {phrase}\n")
        response.force_close()
        return response


class _Refused(asyncio.Protocol):
    """Takes a connection the server has no room for, and closes it at once."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport.abort()  # type: ignore[attr-defined]  # a TCP transport
