"""CLIENT spans for the alert channels' HTTP calls, with the URL redacted to scheme, host and port.

``opentelemetry-instrumentation-aiohttp-client`` would record ``url.full``, and for Slack and Discord the
URL *is* the credential. This aiohttp ``TraceConfig`` records the HTTP semantic-convention attributes
with ``url.full`` cut to ``scheme://host:port/`` (the path and query never leave the process).
"""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp
from opentelemetry.semconv.attributes import error_attributes, http_attributes, server_attributes, url_attributes
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer
from yarl import URL


def redacted(url: URL) -> str:
    """``scheme://host:port/``: enough to tell which service was called, never the secret path."""
    host = url.raw_host or ""
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"{url.scheme}://{host}:{url.port}/" if url.port is not None else f"{url.scheme}://{host}/"


def client_trace_config(tracer: Tracer) -> aiohttp.TraceConfig:
    """A TraceConfig that wraps every request of the session in a CLIENT span from ``tracer``."""
    config = aiohttp.TraceConfig()

    async def on_request_start(
        session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestStartParams
    ) -> None:
        url = params.url
        attributes: dict[str, str | int] = {
            http_attributes.HTTP_REQUEST_METHOD: params.method,
            url_attributes.URL_FULL: redacted(url),
            url_attributes.URL_SCHEME: url.scheme,
            server_attributes.SERVER_ADDRESS: url.raw_host or "",
        }
        if url.port is not None:
            attributes[server_attributes.SERVER_PORT] = url.port
        context.span = tracer.start_span(params.method, kind=SpanKind.CLIENT, attributes=attributes)

    async def on_request_end(
        session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestEndParams
    ) -> None:
        span = getattr(context, "span", None)
        if span is None:
            return
        status = params.response.status
        span.set_attribute(http_attributes.HTTP_RESPONSE_STATUS_CODE, status)
        if status >= 400:
            span.set_attribute(error_attributes.ERROR_TYPE, str(status))
            span.set_status(Status(StatusCode.ERROR))
        span.end()

    async def on_request_exception(
        session: aiohttp.ClientSession, context: SimpleNamespace, params: aiohttp.TraceRequestExceptionParams
    ) -> None:
        span = getattr(context, "span", None)
        if span is None:
            return
        # The type only: the message of a connection error can quote the URL.
        error_type = type(params.exception).__qualname__
        span.set_attribute(error_attributes.ERROR_TYPE, error_type)
        span.set_status(Status(StatusCode.ERROR, error_type))
        span.end()

    config.on_request_start.append(on_request_start)
    config.on_request_end.append(on_request_end)
    config.on_request_exception.append(on_request_exception)
    return config
