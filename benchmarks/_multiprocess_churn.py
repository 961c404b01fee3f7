"""Worker restarts, the way ``max_requests`` makes them, for nethical_otel and for prometheus_client.

Run in a fresh interpreter (prometheus_client picks its multiprocess mode at import)::

    python -m benchmarks._multiprocess_churn nethical|prometheus_client DIR RESTARTS

Four long-lived workers stay up; RESTARTS short-lived workers come one after another, each recording
ten detector calls (a request count, a latency, a threat, a confidence and its active-detector gauge)
and exiting; the parent does what the gunicorn ``child_exit`` hook does in each library. Prints JSON:
files left, scrape time (median of 11) after the first restart and after the last, the merged request total.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

LIVE_WORKERS = 4
CALLS = 10


def _median_ms(scrape: Callable[[], bytes], repeats: int = 101) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        scrape()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def _run(
    worker: Callable[[bool], None], scrape: Callable[[], bytes], after_exit: Callable[[int], None], n: int
) -> tuple[float, float, float, bytes, int]:
    """``worker(exits)`` records; with ``exits`` it also does what a worker does on its way out."""
    directory = os.environ["CHURN_DIR"]
    live = []
    for _ in range(LIVE_WORKERS):
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(write)
            for _pid, sibling in live:  # or the siblings' pipes never see the parent close them
                os.close(sibling)
            worker(False)
            os.read(read, 1)  # until the parent is done
            os._exit(0)
        os.close(read)
        live.append((pid, write))
    time.sleep(0.5)

    def restart() -> None:
        pid = os.fork()
        if pid == 0:
            worker(True)
            os._exit(0)
        os.waitpid(pid, 0)
        after_exit(pid)

    # The first scrape once the first worker has come and gone: the same kinds of files as at the end.
    restart()
    first = _median_ms(scrape)
    started = time.perf_counter()
    for _ in range(n - 1):
        restart()
    churn_seconds = time.perf_counter() - started
    last = _median_ms(scrape)
    body = scrape()
    files = len(os.listdir(directory))  # with the live workers still up
    for pid, write in live:
        os.close(write)
        os.waitpid(pid, 0)
    return first, last, churn_seconds, body, files


def nethical(directory: str, restarts: int) -> dict[str, Any]:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from prometheus_client import CollectorRegistry, generate_latest

    from nethical_otel.metrics import (
        Instruments,
        LabelCleaner,
        MultiprocessBackend,
        MultiprocessDir,
        NethicalMeterProvider,
        role,
    )

    role.coordinator = True  # the parent is the pre-fork master; its forks are workers
    clean = LabelCleaner(128)
    master = MultiprocessBackend(clean, 2000, MultiprocessDir(directory, 2000, writes_file=False))
    Instruments(master)
    registry = CollectorRegistry(auto_describe=False)
    reader = PrometheusMetricReader(disable_target_info=True, scope_info_enabled=False, registry=registry)
    NethicalMeterProvider(master, [reader], shutdown_on_exit=False)

    def worker(exits: bool) -> None:
        backend = MultiprocessBackend(clean, 2000, MultiprocessDir(directory, 2000))
        instruments = Instruments(backend)
        instruments.active_detectors.child("prompt_injection").record(1)
        for _ in range(CALLS):
            instruments.requests.child("prompt_injection", "success").record(1)
            instruments.request_latency.child("prompt_injection").record(0.012)
            instruments.threats_detected.child("prompt_injection", "HIGH", "jailbreak").record(1)
            instruments.confidence_score.child("prompt_injection").record(0.93)
        if exits:
            backend.close(fold=True)  # gunicorn worker_exit

    return _result(*_run(worker, lambda: generate_latest(registry), lambda pid: master.directory.compact(), restarts))


def prometheus_client(directory: str, restarts: int) -> dict[str, Any]:
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = directory
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

    from nethical_otel import semconv

    requests = Counter("nethical_requests", "", [semconv.DETECTOR_TYPE, semconv.STATUS])
    latency = Histogram(
        "nethical_request_latency_seconds", "", [semconv.DETECTOR_TYPE], buckets=semconv.LATENCY_BUCKETS
    )
    threats = Counter("nethical_threats_detected", "", [semconv.DETECTOR_TYPE, "threat_level", "threat_category"])
    confidence = Histogram("nethical_confidence_score", "", [semconv.DETECTOR_TYPE], buckets=semconv.CONFIDENCE_BUCKETS)
    active = Gauge("nethical_active_detectors", "", [semconv.DETECTOR_TYPE], multiprocess_mode="livesum")
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)

    def worker(exits: bool) -> None:
        active.labels("prompt_injection").set(1)
        for _ in range(CALLS):
            requests.labels("prompt_injection", "success").inc()
            latency.labels("prompt_injection").observe(0.012)
            threats.labels("prompt_injection", "HIGH", "jailbreak").inc()
            confidence.labels("prompt_injection").observe(0.93)

    return _result(*_run(worker, lambda: generate_latest(registry), multiprocess.mark_process_dead, restarts))


def _result(first: float, last: float, seconds: float, body: bytes, files: int) -> dict[str, Any]:
    from prometheus_client.parser import text_string_to_metric_families

    total = 0.0
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            if sample.name == "nethical_requests_total":
                total += sample.value
    archive = os.path.join(os.environ["CHURN_DIR"], "archive.mmap")  # nethical_otel's; prometheus_client has none
    return {
        "files": files,
        "archive_bytes": os.path.getsize(archive) if os.path.exists(archive) else 0,
        "first_scrape_ms": first,
        "last_scrape_ms": last,
        "churn_seconds": seconds,
        "requests_total": total,
    }


if __name__ == "__main__":
    implementation, target, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    os.environ["CHURN_DIR"] = target
    run = nethical if implementation == "nethical" else prometheus_client
    print(json.dumps(run(target, count)), flush=True)
