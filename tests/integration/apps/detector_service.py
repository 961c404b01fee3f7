"""A detector service for the multiprocess tests, as WSGI (``app``) and ASGI (``asgi``).

Every worker reports itself in ``nethical_active_detectors`` (merged as a live sum), so the merged view
shows how many workers are alive, and none that died.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import nethical_otel
from nethical_otel.monitoring import get_prometheus_metrics
from nethical_otel.pipeline import active_telemetry

if active_telemetry() is None:  # uvicorn --workers has no pre-fork hooks: each worker configures itself
    nethical_otel.configure()
get_prometheus_metrics().set_active_detectors("content_filter", 1)


@nethical_otel.instrument_detector("content_filter")
def classify(text: str) -> dict[str, Any]:
    if "jailbreak" in text:
        return {"is_threat": True, "threat_level": "HIGH", "category": "jailbreak", "confidence": 0.75}
    if "fail" in text:
        raise ValueError("the model is down")
    return {"is_threat": False}


def _answer(path: str, query: str) -> bytes:
    if path != "/classify":  # health probes
        return json.dumps({"status": "ok", "worker": os.getpid()}).encode()
    text = parse_qs(query).get("text", [""])[0]
    try:
        verdict: object = classify(text)
    except ValueError:
        verdict = "error"
    return json.dumps({"verdict": verdict, "worker": os.getpid()}).encode()


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    body = _answer(environ.get("PATH_INFO", ""), environ.get("QUERY_STRING", ""))
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


async def asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body = _answer(scope["path"], scope.get("query_string", b"").decode())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
