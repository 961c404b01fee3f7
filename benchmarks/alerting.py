"""The alerting pipeline's cost to detectors: the threat span processor, and a storm of threats."""

from __future__ import annotations

import tempfile
import time
import timeit
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from nethical_otel import instrument_detector, semconv
from nethical_otel.alerting._component import AlertingComponent
from nethical_otel.alerting.intake.queue import Intake
from nethical_otel.alerting.intake.span_processor import ThreatSpanProcessor
from nethical_otel.config import load_config
from nethical_otel.pipeline import current
from nethical_otel.pipeline._configure import _build

STORM_CALLS = 10_000
CATEGORIES = ("jailbreak", "exfiltration", "toxicity", "pii", "injection")


def on_end_ns(number: int = 200_000) -> dict[str, float]:
    """Nanoseconds per ``on_end`` for spans without a threat: a detector's, and a foreign one."""
    provider = TracerProvider()
    tracer = provider.get_tracer("benchmark")
    spans = {
        "detector span, no threat": tracer.start_span(
            "detect pi", attributes={semconv.ATTR_DETECTOR_TYPE: "pi", semconv.ATTR_THREAT_DETECTED: False}
        ),
        "span of another library": tracer.start_span("GET /", attributes={"http.request.method": "GET"}),
    }
    for span in spans.values():
        span.end()
    processor = ThreatSpanProcessor(Intake(10), "HIGH")
    empty = min(timeit.repeat(lambda: None, number=number, repeat=7))
    costs = {}
    for name, span in spans.items():
        spent = min(timeit.repeat(lambda s=span: processor.on_end(s), number=number, repeat=7)) - empty  # type: ignore[misc]
        costs[name] = spent / number * 1e9
    provider.shutdown()
    return costs


@dataclass
class StormResult:
    alerting: bool
    calls_per_second: float
    detector_cpu_us: float  # CPU of the detector's own thread per call
    accounted_seconds: float | None  # until every occurrence was in the alert history


def storm(alerting: bool, repeats: int = 3) -> StormResult:
    """10,000 back-to-back HIGH-threat detector calls, with the alerting pipeline on or off."""
    with tempfile.TemporaryDirectory() as workdir:
        config = load_config(
            {
                "metrics_server": {"enabled": False},
                "alerting": {
                    "enabled": alerting,
                    "storage_path": str(Path(workdir) / "alerts.sqlite3"),
                    "console": "off",
                    "webhook_url": "http://127.0.0.1:9/hook",  # refused at once: delivery retries off-thread
                },
            }
        )
        telemetry = _build(config, (), ())

        @instrument_detector("prompt_injection")
        def detect(index: int) -> dict[str, Any]:
            return {"threat_level": "HIGH", "category": CATEGORIES[index % len(CATEGORIES)], "confidence": 0.9}

        best_wall, best_cpu = float("inf"), float("inf")
        started = time.perf_counter()
        for _ in range(repeats):
            wall, cpu = time.perf_counter(), time.thread_time()
            for index in range(STORM_CALLS):
                detect(index)
            best_wall = min(best_wall, time.perf_counter() - wall)
            best_cpu = min(best_cpu, time.thread_time() - cpu)
        accounted = None
        component = telemetry.component(AlertingComponent)
        manager = component.manager if component is not None else None
        if manager is not None:
            total = repeats * STORM_CALLS
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                history = manager.get_alert_history(total)
                if sum(entry["occurrences"] for entry in history) >= total:
                    accounted = time.perf_counter() - started
                    break
                time.sleep(0.02)
        telemetry.shutdown(timeout=2.0)
        current.runtime = None
    return StormResult(alerting, STORM_CALLS / best_wall, best_cpu / STORM_CALLS * 1e6, accounted)


def table(on_end: dict[str, float], storms: list[StormResult]) -> list[str]:
    rows = ["| alerting | ns |", "|---|---:|"]
    rows += [f"| threat span processor `on_end`, {name} | {ns:,.0f} |" for name, ns in on_end.items()]
    rows += [
        "",
        f"| storm of {STORM_CALLS:,} HIGH-threat calls | calls per second | detector-thread CPU per call "
        "| every occurrence in the history after |",
        "|---|---:|---:|---:|",
    ]
    for result in storms:
        accounted = f"{result.accounted_seconds:.2f} s" if result.accounted_seconds is not None else "n/a"
        rows.append(
            f"| alerting {'on' if result.alerting else 'off'} | {result.calls_per_second:,.0f} "
            f"| {result.detector_cpu_us:.1f} µs | {accounted} |"
        )
    return rows
