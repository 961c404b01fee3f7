"""A real Prometheus scrapes the demo; the PromQL of the docs answers what the workload did."""

from __future__ import annotations

import math
import time
import urllib.request
from collections import defaultdict

import pytest

from tests._support.demo import DemoProcess
from tests._support.docs import PROMQL_COOKBOOK, promql_examples
from tests._support.exposition import samples
from tests._support.prometheus import PrometheusServer

pytestmark = pytest.mark.integration

DURATION, RATE, WINDOW = 30.0, 80.0, "20s"


def quantile_from_buckets(q: float, buckets: list[tuple[float, float]]) -> float:
    """Prometheus' histogram_quantile on cumulative (upper bound, count) pairs, +Inf last."""
    total = buckets[-1][1]
    rank = q * total
    lower, below = 0.0, 0.0
    for upper, count in buckets:
        if count >= rank:
            if math.isinf(upper):
                return lower
            return lower + (upper - lower) * (rank - below) / (count - below)
        lower, below = upper, count
    raise AssertionError("rank beyond the last bucket")


@pytest.fixture(scope="module")
def scraped_demo(tmp_path_factory, prometheus_binary):
    workdir = tmp_path_factory.mktemp("promql")
    demo = DemoProcess(workdir, duration=DURATION, rate=RATE, linger=6.0)
    with PrometheusServer(prometheus_binary, workdir, [f"127.0.0.1:{demo.port}"]) as prometheus, demo:
        summary = demo.wait_workload(timeout=DURATION + 30)
        workload_end = demo.summary_file.stat().st_mtime
        with urllib.request.urlopen(f"{demo.url}/metrics", timeout=5) as response:
            final_exposition = response.read().decode()
        prometheus.wait_for_scrapes(3)  # the lingering demo still serves its final values
        yield prometheus, summary, workload_end, final_exposition, time.time()


def test_every_promql_example_of_the_docs_returns_data(scraped_demo):
    prometheus, _, workload_end, _, _ = scraped_demo
    examples = promql_examples()
    assert len(examples) >= 8
    for example in examples:
        result = prometheus.query(example.expr.replace("[5m]", f"[{WINDOW}]"), at=workload_end)
        assert result, f"no data for the example {example.title!r} of {example.where}: {example.expr}"


def test_totals_in_prometheus_equal_the_workload_exactly(scraped_demo):
    prometheus, summary, _, _, now = scraped_demo
    requests = {
        (r["metric"]["detector_type"], r["metric"]["status"]): r["value"]
        for r in prometheus.query("sum by (detector_type, status) (nethical_requests_total)", at=now)
    }
    assert requests == {(r["detector_type"], r["status"]): r["count"] for r in summary["requests"]}
    threats = {
        r["metric"]["detector_type"]: r["value"]
        for r in prometheus.query("sum by (detector_type) (nethical_threats_detected_total)", at=now)
    }
    assert threats == summary["threats_by_detector"]
    for entry in summary["cache"]:
        family = "nethical_cache_hits_total" if entry["hit"] else "nethical_cache_misses_total"
        assert prometheus.scalar(f'{family}{{cache_type="{entry["cache_type"]}"}}', at=now) == entry["count"]


def test_rate_examples_match_the_workload_rates(scraped_demo):
    prometheus, summary, workload_end, _, _ = scraped_demo
    by_title = defaultdict(list)
    for example in promql_examples([PROMQL_COOKBOOK]):
        by_title[example.title].append(example.expr.replace("[5m]", f"[{WINDOW}]"))
    requests = defaultdict(float)
    for row in summary["requests"]:
        requests[row["detector_type"]] += row["count"]

    (total_rate,) = by_title["Request rate per second"]
    measured = sum(r["value"] for r in prometheus.query(total_rate, at=workload_end))
    assert measured == pytest.approx(sum(requests.values()) / DURATION, rel=0.15)

    (by_detector,) = by_title["Request rate per second, by detector"]
    for row in prometheus.query(by_detector, at=workload_end):
        detector = row["metric"]["detector_type"]
        assert row["value"] == pytest.approx(requests[detector] / DURATION, rel=0.35), detector

    (threat_rate,) = by_title["Threat detection rate (threats per request), by detector"]
    for row in prometheus.query(threat_rate, at=workload_end):
        detector = row["metric"]["detector_type"]
        expected = summary["threats_by_detector"].get(detector, 0) / requests[detector]
        assert row["value"] == pytest.approx(expected, abs=0.12), detector

    (cache_rate,) = by_title["Cache hit rate"]
    cache = {(e["cache_type"], e["hit"]): e["count"] for e in summary["cache"]}
    for row in prometheus.query(cache_rate, at=workload_end):
        kind = row["metric"]["cache_type"]
        expected = cache[kind, True] / (cache[kind, True] + cache[kind, False])
        assert row["value"] == pytest.approx(expected, abs=0.12), kind


def test_latency_quantiles_follow_prometheus_semantics_on_the_exposed_buckets(scraped_demo):
    prometheus, summary, workload_end, exposition, now = scraped_demo
    buckets: dict[str, list[tuple[float, float]]] = defaultdict(list)
    counts: dict[str, float] = {}
    for (name, labels), value in samples(exposition).items():
        label = dict(labels)
        if name == "nethical_request_latency_seconds_bucket":
            buckets[label["detector_type"]].append((float(label["le"]), value))
        elif name == "nethical_request_latency_seconds_count":
            counts[label["detector_type"]] = value
    requests = defaultdict(float)
    for row in summary["requests"]:
        requests[row["detector_type"]] += row["count"]
    assert counts == requests, "one latency observation per call, errors included"

    quantiles = {}
    for q in (0.5, 0.95, 0.99):
        cumulative = f"histogram_quantile({q}, sum by (detector_type, le) (nethical_request_latency_seconds_bucket))"
        for row in prometheus.query(cumulative, at=now):
            detector = row["metric"]["detector_type"]
            expected = quantile_from_buckets(q, sorted(buckets[detector]))
            assert row["value"] == pytest.approx(expected, rel=1e-9), (q, detector)
            quantiles[detector, q] = row["value"]
    for detector in requests:
        assert quantiles[detector, 0.5] <= quantiles[detector, 0.95] <= quantiles[detector, 0.99]
    p95 = "histogram_quantile(0.95, sum by (detector_type, le) (rate(nethical_request_latency_seconds_bucket[{}])))"
    windowed = prometheus.query(p95.format(WINDOW), at=workload_end)
    assert {row["metric"]["detector_type"] for row in windowed} == set(requests)
    for row in windowed:  # the simulated detectors' P95 lies between 2 ms (shadow_ai) and 250 ms
        assert 0.001 <= row["value"] <= 0.25, row
