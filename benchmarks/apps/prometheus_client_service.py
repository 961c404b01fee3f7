"""The detector service of the multiprocess benchmark, instrumented the prometheus_client way.

prometheus_client's multiprocess mode as its documentation sets it up: PROMETHEUS_MULTIPROC_DIR, a
MultiProcessCollector on /metrics (served by whichever worker gets the request), and
``multiprocess.mark_process_dead`` in gunicorn's ``child_exit`` (prometheus_client_gunicorn.conf.py).
The active-detectors gauge keeps the default mode, as in client_python#495.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

from nethical_otel import semconv

REQUESTS = Counter("nethical_requests", "", [semconv.DETECTOR_TYPE, semconv.STATUS])
LATENCY = Histogram("nethical_request_latency_seconds", "", [semconv.DETECTOR_TYPE], buckets=semconv.LATENCY_BUCKETS)
THREATS = Counter("nethical_threats_detected", "", [semconv.DETECTOR_TYPE, "threat_level", "threat_category"])
CONFIDENCE = Histogram("nethical_confidence_score", "", [semconv.DETECTOR_TYPE], buckets=semconv.CONFIDENCE_BUCKETS)
ACTIVE = Gauge("nethical_active_detectors", "", [semconv.DETECTOR_TYPE])
ACTIVE.labels("content_filter").set(1)


def classify(text: str) -> dict[str, Any]:
    started = time.perf_counter()
    status = "success"
    try:
        if "fail" in text:
            status = "error"
            raise ValueError("the model is down")
        if "jailbreak" in text:
            THREATS.labels("content_filter", "HIGH", "jailbreak").inc()
            CONFIDENCE.labels("content_filter").observe(0.75)
            return {"is_threat": True}
        return {"is_threat": False}
    finally:
        REQUESTS.labels("content_filter", status).inc()
        LATENCY.labels("content_filter").observe(time.perf_counter() - started)


def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "")
    if path == "/metrics":
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        body = generate_latest(registry)
    elif path == "/classify":
        text = parse_qs(environ.get("QUERY_STRING", "")).get("text", [""])[0]
        try:
            verdict: object = classify(text)
        except ValueError:
            verdict = "error"
        body = json.dumps({"verdict": verdict, "worker": os.getpid()}).encode()
    else:
        body = b'{"status": "ok"}'
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
