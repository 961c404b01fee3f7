"""Exemplars end to end, with real parts: from a latency bucket to the trace that landed in it.

* Pull: a real Prometheus (``--enable-feature=exemplar-storage``) scrapes the demo over OpenMetrics while
  the demo exports its spans over OTLP to a local receiver; ``/api/v1/query_exemplars`` must answer with
  trace and span ids of exported detector spans, of the detector the series belongs to.
* Push: the demo's OTLP goes through rotel (the collector hop) to a receiver; the metric data points carry
  the same links. What rotel forwarded is then given to VictoriaMetrics' OTLP endpoint, which stores the
  series but no exemplars (VictoriaMetrics decided not to support them, VictoriaMetrics#1169): its
  ``query_exemplars`` answers with an empty list, kept only so Grafana's exemplar queries do not fail.
"""

from __future__ import annotations

import contextlib
import gzip
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests._support.binaries import require_binary
from tests._support.demo import DemoProcess
from tests._support.net import wait_until
from tests._support.otlp import OtlpReceiver
from tests._support.prometheus import PrometheusServer
from tests._support.rotel import RotelCollector, require_rotel
from tests._support.victoria import VictoriaMetricsServer

pytestmark = pytest.mark.integration

DURATION, RATE = 8.0, 60.0
HISTOGRAMS = ("nethical_request_latency_seconds_bucket", "nethical_confidence_score_bucket")


@dataclass
class Run:
    receiver: OtlpReceiver
    summary: dict[str, Any]
    started: float


def _detector_spans(receiver: OtlpReceiver) -> dict[tuple[str, str], str]:
    """(trace id, span id) of every exported detector span -> its detector type."""
    return {
        (span["trace_id"], span["span_id"]): span["attributes"]["nethical.detector.type"]
        for span in receiver.span_dicts()
        if span["name"].startswith("detect ")
    }


@contextlib.contextmanager
def _demo(workdir: Any, otlp_endpoint: str) -> Iterator[DemoProcess]:
    demo = DemoProcess(
        workdir,
        duration=DURATION,
        rate=RATE,
        linger=600.0,  # stopped by the fixture
        env={
            "OTEL_EXPORTER_OTLP_ENDPOINT": otlp_endpoint,
            "OTEL_METRIC_EXPORT_INTERVAL": "1000",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "NETHICAL_OTEL_CONFIG": "",
        },
    )
    with demo:
        yield demo


@pytest.fixture(scope="module")
def scraped(tmp_path_factory, prometheus_binary) -> Iterator[tuple[PrometheusServer, Run]]:
    workdir = tmp_path_factory.mktemp("exemplars-prometheus")
    started = time.time()
    with contextlib.ExitStack() as running:
        receiver = running.enter_context(OtlpReceiver())
        demo = running.enter_context(_demo(workdir, receiver.url))
        prometheus = PrometheusServer(
            prometheus_binary,
            workdir,
            [f"127.0.0.1:{demo.port}"],
            extra_args=["--enable-feature=exemplar-storage"],
        )
        running.enter_context(prometheus)
        summary = demo.wait_workload(timeout=DURATION + 60)
        prometheus.wait_for_scrapes(3)
        yield prometheus, Run(receiver, summary, started)


def _query_exemplars(server: PrometheusServer | VictoriaMetricsServer, expr: str, since: float) -> list[Any]:
    return list(server.api("query_exemplars", query=expr, start=f"{since - 60:.3f}", end=f"{time.time() + 60:.3f}"))


def test_prometheus_answers_exemplars_whose_traces_the_app_exported(scraped):
    prometheus, run = scraped
    requests_by_detector = {row["detector_type"] for row in run.summary["requests"]}
    for metric in HISTOGRAMS:
        answer = _query_exemplars(prometheus, metric, run.started)
        linked = [
            (series["seriesLabels"], exemplar)
            for series in answer
            for exemplar in series["exemplars"]
            if series["seriesLabels"].get("job") == "nethical"
        ]
        assert linked, f"Prometheus stored no exemplar for {metric}"
        wait_until(
            lambda linked=linked: (
                {(e["labels"]["trace_id"], e["labels"]["span_id"]) for _, e in linked}
                <= set(_detector_spans(run.receiver))
            ),
            30,
            f"the spans of every {metric} exemplar to be exported",
        )
        spans = _detector_spans(run.receiver)
        for labels, exemplar in linked:
            assert set(exemplar["labels"]) == {"trace_id", "span_id"}
            # The exemplar's span is a call of the detector whose series holds it, in the bucket holding its value.
            assert spans[exemplar["labels"]["trace_id"], exemplar["labels"]["span_id"]] == labels["detector_type"]
            assert float(exemplar["value"]) <= float(labels["le"])
        if metric.startswith("nethical_request_latency"):
            assert {labels["detector_type"] for labels, _ in linked} == requests_by_detector


def test_prometheus_stores_exemplars_of_threat_counters_too(scraped):
    prometheus, run = scraped
    answer = _query_exemplars(prometheus, "nethical_threats_detected_total", run.started)
    spans = _detector_spans(run.receiver)
    linked = [(series["seriesLabels"], e) for series in answer for e in series["exemplars"]]
    assert linked
    for labels, exemplar in linked:
        assert spans[exemplar["labels"]["trace_id"], exemplar["labels"]["span_id"]] == labels["detector_type"]
        assert float(exemplar["value"]) == 1.0


def test_pushed_data_points_link_the_same_way(scraped):
    _, run = scraped
    pushed = run.receiver.exemplars("nethical_request_latency")
    assert pushed
    spans = _detector_spans(run.receiver)
    for exemplar in pushed:
        assert spans[exemplar.trace_id, exemplar.span_id] == dict(exemplar.attributes)["detector_type"]


# The collector path ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def collected(tmp_path_factory) -> Iterator[tuple[OtlpReceiver, VictoriaMetricsServer, float]]:
    victoria_binary = require_binary("victoria-metrics", package="victoria-metrics from trixie")
    rotel_binary = require_rotel()
    workdir = tmp_path_factory.mktemp("exemplars-collector")
    started = time.time()
    with contextlib.ExitStack() as running:
        receiver = running.enter_context(OtlpReceiver())
        victoria = running.enter_context(VictoriaMetricsServer(victoria_binary, workdir))
        rotel = RotelCollector(
            rotel_binary, workdir, endpoint=receiver.url, metrics_endpoint=f"{receiver.url}/v1/metrics"
        )
        running.enter_context(rotel)
        demo = running.enter_context(_demo(workdir, rotel.otlp_http_url))
        demo.wait_workload(timeout=DURATION + 60)
        wait_until(lambda: bool(receiver.exemplars("nethical_request_latency")), 30, "exemplars through rotel")
        yield receiver, victoria, started


def test_rotel_forwards_exemplars_linked_to_the_spans_it_forwarded(collected):
    receiver, _, _ = collected
    wait_until(lambda: bool(_detector_spans(receiver)), 30, "spans through rotel")
    pushed = receiver.exemplars("nethical_request_latency") + receiver.exemplars("nethical_confidence_score")
    linked = [e for e in pushed if (e.trace_id, e.span_id) in _detector_spans(receiver)]
    assert linked and len(linked) >= len(pushed) / 2  # the newest spans may still be on their way


def test_victoria_metrics_stores_the_series_rotel_forwards_but_no_exemplars(collected):
    receiver, victoria, started = collected
    for recorded in receiver.received("/v1/metrics"):
        body = recorded.body if recorded.body[:2] != b"\x1f\x8b" else gzip.decompress(recorded.body)
        request = urllib.request.Request(
            victoria.otlp_metrics_url, data=body, headers={"Content-Type": "application/x-protobuf"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status in (200, 204)
    wait_until(
        lambda: bool(victoria.query("nethical_request_latency_seconds_bucket")),
        30,
        "the latency series in VictoriaMetrics",
    )
    assert _query_exemplars(victoria, "nethical_request_latency_seconds_bucket", started) == []
