"""The same application for ASGI servers: ``uvicorn --workers`` or gunicorn's uvicorn workers.

cd examples/prefork
export NETHICAL_OTEL_CONFIG=multiprocess.yaml OTEL_PYTHON_DISTRO=nethical
opentelemetry-instrument uvicorn --workers 4 asgi:app
opentelemetry-instrument gunicorn -c gunicorn.conf.py -k uvicorn_worker.UvicornWorker asgi:app
"""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import parse_qs

import detectors

Receive = Any
Send = Any


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    if scope["path"] == "/classify":
        text = parse_qs(scope.get("query_string", b"").decode()).get("text", [""])[0]
        payload: dict[str, object] = {"verdict": detectors.classify(text), "worker": os.getpid()}
    else:
        payload = {"status": "ok", "worker": os.getpid()}
    body = json.dumps(payload).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})
