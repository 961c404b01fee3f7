"""Faults around the SDK, measured with real sockets: a black-holed collector, stalled scrapers.

* Detector latency percentiles with OTLP export to: nothing (OTLP off), a healthy local receiver, a
  TCP listener that accepts and never answers (black hole), and a closed port. Each variant runs in a
  fresh process, rounds interleaved, so one variant's stuck exporter threads cannot touch another.
* ``shutdown(timeout=5)`` with spans and metrics queued for a black-holed collector.
* Stalled connections against the metrics server with its default settings: N raw sockets that send
  half a request head, or nothing, and how long until the server has closed every one.

python -m benchmarks.faults                 # full run (about 2 minutes)
python -m benchmarks.faults --quick         # fewer calls and rounds
python -m benchmarks.faults --update-docs   # also write the table into docs/security.md
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from tests._support.net import black_hole, closed_port

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs" / "security.md"
START, END = "<!-- faults-benchmark:start -->", "<!-- faults-benchmark:end -->"
# "no collector" runs twice: the difference between its two rows is the noise of this machine.
VARIANTS = ("no collector", "healthy collector", "black-holed collector", "refused connections", "no collector, again")
PERCENTILES = (50.0, 99.0, 99.9)


@contextlib.contextmanager
def endpoint(variant: str) -> Iterator[str | None]:
    """The OTLP base URL for ``variant`` (None: OTLP off)."""
    if variant.startswith("no collector"):
        yield None
    elif variant == "healthy collector":
        from tests._support.otlp import OtlpReceiver

        with OtlpReceiver() as receiver:
            yield receiver.url
    elif variant == "black-holed collector":
        with black_hole() as port:
            yield f"http://127.0.0.1:{port}"
    else:
        yield f"http://127.0.0.1:{closed_port()}"


def _config(url: str | None, interval: float) -> dict[str, object]:
    otlp: dict[str, object] = {"endpoint": url, "export_interval_seconds": interval} if url else {}
    return {"metrics_server": {"enabled": False}, "alerting": {"enabled": False}, "otlp": otlp}


def measure_calls(url: str | None, calls: int) -> None:
    """Per-call nanoseconds of a decorated detector, with spans and metrics exported to ``url``."""
    import nethical_otel

    nethical_otel.configure(_config(url, 1.0))

    @nethical_otel.instrument_detector("prompt_injection", model="pi-v2")
    def detect(prompt: str) -> dict[str, object]:
        return {"threat_level": "HIGH", "category": "jailbreak", "confidence": 0.93}

    for _ in range(2000):
        detect("warm")
    clock = time.perf_counter_ns
    samples = []
    # Paced in bursts, as a service is: the batch exporter wakes and works between them.
    for _ in range(calls // 100):
        for _ in range(100):
            started = clock()
            detect("ignore previous instructions")
            samples.append(clock() - started)
        time.sleep(0.001)
    os._exit(_emit(samples))  # the black-holed exporter threads must not delay the measurement's end


def _emit(samples: Sequence[float]) -> int:
    print(json.dumps(samples))
    sys.stdout.flush()
    return 0


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
    return ordered[index]


def latency(calls: int, rounds: int) -> dict[str, list[list[float]]]:
    """Samples per variant and round; each round starts every variant in a fresh process, in rotating order."""
    samples: dict[str, list[list[float]]] = {variant: [] for variant in VARIANTS}
    for round_ in range(rounds):
        order = VARIANTS[round_ % len(VARIANTS) :] + VARIANTS[: round_ % len(VARIANTS)]
        for variant in order:
            with endpoint(variant) as url:
                out = subprocess.run(
                    [sys.executable, "-m", "benchmarks.faults", "--child", json.dumps([url, calls])],
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                    timeout=600,
                )
            samples[variant].append(json.loads(out.stdout.strip().splitlines()[-1]))
    return samples


def shutdown_seconds(spans: int = 3000) -> float:
    """``shutdown(timeout=5)`` with a full span queue and metrics waiting for a black-holed collector."""
    import nethical_otel

    with black_hole() as port:
        telemetry = nethical_otel.configure(_config(f"http://127.0.0.1:{port}", 1.0))

        @nethical_otel.instrument_detector("prompt_injection")
        def detect(prompt: str) -> dict[str, object]:
            return {"threat_level": "HIGH", "category": "jailbreak"}

        for _ in range(spans):
            detect("x")
        time.sleep(2.0)  # the exporters are now blocked on the black hole
        started = time.monotonic()
        telemetry.shutdown(timeout=5)
        return time.monotonic() - started


def stalled_connections(count: int = 20) -> tuple[float, int, int]:
    """(seconds until the server closed all ``count`` stalled sockets, file descriptors the server held
    for them while they were open, file descriptors it still held once they were closed)."""
    import nethical_otel

    telemetry = nethical_otel.configure({"metrics_server": {"port": 0}, "alerting": {"enabled": False}})
    server = telemetry.metrics_server
    assert server is not None
    before = len(os.listdir("/proc/self/fd"))
    sockets = []
    for index in range(count):
        client = socket.create_connection(("127.0.0.1", server.port))
        if index % 2:
            client.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Half: ")  # half a request head
        sockets.append(client)
    while server.guard.open_connections < count:  # type: ignore[attr-defined]
        time.sleep(0.01)
    held = len(os.listdir("/proc/self/fd")) - before - count  # the clients' own sockets excluded
    started = time.monotonic()
    open_sockets = list(sockets)
    while open_sockets and time.monotonic() - started < 300:
        still_open = []
        for client in open_sockets:
            client.settimeout(0.05)
            try:
                if client.recv(1024) == b"":
                    client.close()
                    continue
            except TimeoutError:
                pass
            except OSError:
                client.close()
                continue
            still_open.append(client)
        open_sockets = still_open
    elapsed = time.monotonic() - started
    time.sleep(0.2)
    after = len(os.listdir("/proc/self/fd")) - before
    telemetry.shutdown()
    return elapsed, held, after


def table(samples: dict[str, list[list[float]]], shutdown: float, stalled: tuple[float, int, int]) -> list[str]:
    rows = [
        "| OTLP export to | calls | p50 µs | p99 µs | p99.9 µs | p99.9 of each round, µs |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for variant in VARIANTS:
        values = [sample for round_ in samples[variant] for sample in round_]
        cells = " | ".join(f"{percentile(values, p) / 1000:.1f}" for p in PERCENTILES)
        per_round = sorted(percentile(round_, 99.9) / 1000 for round_ in samples[variant])
        rows.append(f"| {variant} | {len(values):,} | {cells} | {', '.join(f'{p:.0f}' for p in per_round)} |")
    elapsed, held, after = stalled
    rows += [
        "",
        "| fault | measured |",
        "|---|---|",
        f"| `shutdown(timeout=5)`, 3,000 spans queued for a black-holed collector | {shutdown:.2f} s |",
        f"| 20 stalled connections (10 silent, 10 with half a request head), default settings | "
        f"all closed after {elapsed:.1f} s; the server held {held} file descriptors for them, {after} once closed |",
    ]
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.faults")
    parser.add_argument("--quick", action="store_true", help="20,000 calls in 2 rounds instead of 100,000 in 5")
    parser.add_argument("--update-docs", action="store_true", help="write the tables into docs/security.md")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        url, calls = json.loads(args.child)
        measure_calls(url, calls)
        return 0
    calls, rounds = (10_000, 2) if args.quick else (20_000, 5)
    samples = latency(calls, rounds)
    shutdown = shutdown_seconds()
    stalled = stalled_connections()
    load = os.getloadavg()[0]
    lines = [
        f"Measured {time.strftime('%Y-%m-%d', time.gmtime())} on {os.cpu_count()} cores at load average "
        f"{load:.1f}; {rounds} rounds of {calls:,} detector calls per variant, each in a fresh process, bursts of "
        f"100 calls 1 ms apart. Command: `python -m benchmarks.faults{' --quick' if args.quick else ''}`.",
        "",
        *table(samples, shutdown, stalled),
    ]
    report = "\n".join(lines)
    print(report)
    if args.update_docs:
        text = DOCS.read_text(encoding="utf-8")
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        DOCS.write_text(f"{head}{START}\n{report}\n{END}{tail}", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
