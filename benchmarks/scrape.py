"""Scraping cost and memory per series, against prometheus_client exposing the same series itself."""

from __future__ import annotations

import gc
import tracemalloc
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, generate_latest

from benchmarks._timing import time_once
from nethical_otel.config import load_config
from nethical_otel.monitoring import PrometheusMetrics
from nethical_otel.pipeline import current
from nethical_otel.pipeline._configure import _build

SERIES = (10, 100, 1_000, 10_000)


@dataclass
class ScrapeResult:
    series: int
    nethical_ms: float
    prometheus_client_ms: float
    bytes_per_series: float

    @property
    def ratio(self) -> float:
        return self.nethical_ms / self.prometheus_client_ms


def measure(repeats: int) -> list[ScrapeResult]:
    results = []
    for count in SERIES:
        config = load_config(
            {
                "metrics_server": {"enabled": False},
                "alerting": {"enabled": False},
                "tracing": {"enabled": False},
                "prometheus": {"cardinality_limit": 2 * count},
            }
        )
        telemetry = _build(config, (), ())
        metrics = PrometheusMetrics()
        labels = [f"category-{i}" for i in range(count)]
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        for label in labels:
            metrics.track_threat("prompt_injection", "HIGH", label)
        series_bytes = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        registry = telemetry.prometheus_registry
        assert registry is not None
        own = CollectorRegistry(auto_describe=False)
        counter = Counter(
            "nethical_threats_detected",
            "Threats detected",
            ["detector_type", "threat_level", "threat_category"],
            registry=own,
        )
        for i in range(count):
            counter.labels("prompt_injection", "HIGH", f"category-{i}").inc()
        generate_latest(registry)  # first scrape builds the exporter's caches
        ours = time_once(lambda: generate_latest(registry), repeats)  # noqa: B023
        theirs = time_once(lambda: generate_latest(own), repeats)  # noqa: B023
        results.append(ScrapeResult(count, ours * 1000, theirs * 1000, series_bytes / count))
        telemetry.shutdown()
        current.runtime = None
    return results


def table(results: list[ScrapeResult]) -> list[str]:
    rows = [
        "| series | nethical_otel /metrics | prometheus_client | ratio | memory per series |",
        "|---:|---:|---:|---:|---:|",
    ]
    for result in results:
        rows.append(
            f"| {result.series:,} | {result.nethical_ms:,.2f} ms | {result.prometheus_client_ms:,.2f} ms "
            f"| {result.ratio:.2f}× | {result.bytes_per_series:,.0f} B |"
        )
    return rows
