"""Real worker processes for the multiprocess-mode tests and benchmark: they register, write and exit.

Run as ``python -m tests._support.multiprocess DIR MODE ...``:

* ``write N``   record N detector calls (counter, latency 0.5 s, confidence 0.25), then exit normally;
* ``loop``      record calls until killed (for the SIGKILL test); prints "ready" after the first;
* ``churn N``   fork N short-lived workers one after another (as ``max_requests`` restarts do), each
  recording 10 calls; every fifth ends like a SIGKILL (no shutdown). Prints a JSON summary.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from nethical_otel.metrics import Instruments, LabelCleaner, MultiprocessBackend, MultiprocessDir
from nethical_otel.metrics._points import ReaderState
from nethical_otel.semconv import REQUEST_LATENCY

LATENCY = 0.5  # exact in binary: the merged sum must be exactly LATENCY x count
CONFIDENCE = 0.25
LIMIT = 2000


def backend(directory: str | Path, writes_file: bool = True) -> MultiprocessBackend:
    """A backend on ``directory`` with the contract's families (a reader must know them to merge them)."""
    created = MultiprocessBackend(LabelCleaner(64), LIMIT, MultiprocessDir(directory, LIMIT, writes_file=writes_file))
    created.instruments = Instruments(created)  # type: ignore[attr-defined]
    return created


def record(instruments: Instruments, calls: int, detector: str = "pi") -> None:
    requests = instruments.requests.child(detector, "success")
    latency = instruments.request_latency.child(detector)
    confidence = instruments.confidence_score.child(detector)
    for _ in range(calls):
        requests.record(1)
        latency.record(LATENCY)
        confidence.record(CONFIDENCE)


def merged(source: MultiprocessBackend) -> dict[str, Any]:
    """The merged view as plain numbers: requests, and per histogram (count, sum, bucket counts)."""
    out: dict[str, Any] = {}
    for metric in source.collect(ReaderState(0, False)) or []:
        for point in metric.data.data_points:
            labels = tuple(sorted(point.attributes.items()))
            if hasattr(point, "bucket_counts"):
                out[(metric.name, labels)] = (point.count, point.sum, list(point.bucket_counts))
            else:
                out[(metric.name, labels)] = point.value
    return out


def _churn(directory: str, workers: int) -> dict[str, Any]:
    coordinator = backend(directory, writes_file=False)
    most_files = 0
    started = time.perf_counter()
    for index in range(workers):
        pid = os.fork()
        if pid == 0:  # the worker
            worker = backend(directory)
            record(worker.instruments, 10)  # type: ignore[attr-defined]
            if index % 5 != 4:
                worker.close(fold=True)  # a clean exit (gunicorn worker_exit)
            os._exit(0)  # every fifth: no shutdown at all, like SIGKILL
        os.waitpid(pid, 0)
        coordinator.directory.compact()  # gunicorn child_exit
        most_files = max(most_files, coordinator.directory.file_count())
    elapsed = time.perf_counter() - started
    archive = Path(directory) / "archive.mmap"
    view = merged(coordinator)
    latency = next(v for (name, _l), v in view.items() if name == REQUEST_LATENCY.name)
    return {
        "workers": workers,
        "seconds": elapsed,
        "most_files": most_files,
        "files_after": coordinator.directory.file_count(),
        "archive_bytes": archive.stat().st_size,
        "requests": sum(v for (name, _l), v in view.items() if name == "nethical_requests"),
        "latency_count": latency[0],
        "latency_sum": latency[1],
    }


def main(argv: list[str]) -> int:
    directory, mode, *rest = argv
    if mode == "churn":
        print(json.dumps(_churn(directory, int(rest[0]))), flush=True)
        return 0
    worker = backend(directory)
    instruments: Instruments = worker.instruments  # type: ignore[attr-defined]
    instruments.active_detectors.child("pi").record(1)
    instruments.detector_health.child("pi").record(float(os.environ.get("WORKER_HEALTH", "1")))
    if mode == "write":
        record(instruments, int(rest[0]))
        worker.close(fold=os.environ.get("WORKER_FOLD", "1") == "1")
        return 0
    parent = os.getppid()
    record(instruments, 1)
    print("ready", flush=True)
    # Until killed, or orphaned: a test run that dies (a timeout, an interrupt) must not leave it spinning.
    while os.getppid() == parent:
        record(instruments, 100)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
