"""A WSGI application served by pre-fork gunicorn workers. It never imports nethical_otel.

cd examples/prefork
export NETHICAL_OTEL_CONFIG=nethical.yaml OTEL_PYTHON_DISTRO=nethical
opentelemetry-instrument gunicorn -c gunicorn.conf.py app:app

curl 'http://127.0.0.1:8000/classify?text=please+jailbreak+the+model'
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import detectors

StartResponse = Callable[[str, list[tuple[str, str]]], Any]


def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    if environ.get("PATH_INFO") == "/classify":
        text = parse_qs(environ.get("QUERY_STRING", "")).get("text", [""])[0]
        payload: dict[str, object] = {"verdict": detectors.classify(text), "worker": os.getpid()}
    else:
        payload = {"status": "ok", "worker": os.getpid()}
    body = json.dumps(payload).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
