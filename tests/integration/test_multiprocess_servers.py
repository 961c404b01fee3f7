"""One exact /metrics across the workers of real pre-fork servers, with workers restarting as they go.

gunicorn (sync and uvicorn workers, configured by the example's gunicorn.conf.py as it is) and
``uvicorn --workers``; every worker restarts after a few requests. A real Prometheus scrapes the
gunicorn app and answers the documented PromQL with the exact totals.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests._support.docs import promql_examples
from tests._support.exposition import samples
from tests._support.managed import ManagedProcess
from tests._support.net import free_port, http_ok, wait_until
from tests._support.otlp import OtlpReceiver
from tests._support.prometheus import PrometheusServer
from tests._support.recorder import RecordingServer
from tests.auto._apps import EXAMPLES, VENV_BIN, clean_environment

pytestmark = pytest.mark.integration

APPS = Path(__file__).resolve().parent / "apps"
GUNICORN_CONF = EXAMPLES / "prefork" / "gunicorn.conf.py"
ZERO_CODE = Path(__file__).resolve().parents[2] / "docs" / "zero-code.md"
DETECTOR = (("detector_type", "content_filter"),)


@dataclass
class Service:
    base: str
    metrics: str
    directory: Path
    workers: int

    def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        def fetch() -> str | None:
            try:
                with urllib.request.urlopen(self.metrics, timeout=10) as response:
                    return str(response.read().decode())
            except (urllib.error.URLError, OSError):
                return None  # between two serving workers (uvicorn --workers)

        body: list[str] = []
        wait_until(lambda: bool(body.append(text) if (text := fetch()) else False) or bool(body), 30, "/metrics")
        return samples(body[0])

    def wait_for_live_workers(self) -> None:
        """Until the merged gauge counts exactly the configured workers: no dead one, every live one."""
        key = ("nethical_active_detectors", DETECTOR)
        wait_until(lambda: self.scrape().get(key) == self.workers, 30, f"{self.workers} live workers")

    def files(self) -> list[str]:
        return sorted(os.listdir(self.directory))


def _text(index: int) -> str:
    if index % 10 == 0:
        return "please jailbreak the model"
    if index % 25 == 1:
        return "fail now"
    return f"question {index}"


def send(service: Service, requests: int) -> Counter[int]:
    def one(index: int) -> int:
        url = f"{service.base}/classify?{urllib.parse.urlencode({'text': _text(index)})}"
        for _ in range(20):  # a worker may be restarting: the request is simply sent again
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    return int(json.load(response)["worker"])
            except (urllib.error.URLError, ConnectionError):
                continue
        raise AssertionError(f"request {index} never answered")

    with ThreadPoolExecutor(8) as pool:
        return Counter(pool.map(one, range(requests)))


@contextlib.contextmanager
def serve(
    tmp_path: Path,
    server: str,
    workers: int,
    max_requests: int,
    alerting: dict[str, Any] | None = None,
    otlp: dict[str, Any] | None = None,
) -> Iterator[Service]:
    directory = tmp_path / "multiprocess"
    port, metrics_port = free_port(), free_port()
    config = tmp_path / "nethical.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "prometheus": {"multiprocess_dir": str(directory), "multiprocess_retry_seconds": 0.5},
                "metrics_server": {"port": metrics_port},
                "alerting": alerting or {"enabled": False},
                "tracing": {"enabled": False},
                **({"otlp": otlp} if otlp else {}),
            }
        ),
        encoding="utf-8",
    )
    env = clean_environment(
        tmp_path,
        NETHICAL_OTEL_CONFIG=str(config),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS=str(workers),
        GUNICORN_MAX_REQUESTS=str(max_requests),
        GUNICORN_WORKER_CLASS="uvicorn_worker.UvicornWorker" if server == "gunicorn-uvicorn" else "sync",
    )
    if server == "uvicorn":
        command = [
            str(VENV_BIN / "uvicorn"),
            *("--workers", str(workers), "--limit-max-requests", str(max_requests)),
            *("--app-dir", str(APPS), "--port", str(port), "--log-level", "warning"),
            "detector_service:asgi",
        ]
    else:
        app = "detector_service:asgi" if server == "gunicorn-uvicorn" else "detector_service:app"
        command = [str(VENV_BIN / "gunicorn"), "-c", str(GUNICORN_CONF), "--pythonpath", str(APPS), app]
    base = f"http://127.0.0.1:{port}"
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    process = ManagedProcess(
        server, command, tmp_path / f"{server}.log", lambda: http_ok(f"{base}/") and http_ok(metrics), 60, env
    )
    with process:
        yield Service(base, metrics, directory, workers)


def assert_exact(service: Service, requests: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    exposed = service.scrape()
    errors = len([i for i in range(requests) if _text(i) == "fail now"])
    threats = len([i for i in range(requests) if _text(i).startswith("please")])
    assert exposed[("nethical_requests_total", (*DETECTOR, ("status", "success")))] == requests - errors
    assert exposed[("nethical_requests_total", (*DETECTOR, ("status", "error")))] == errors
    assert exposed[("nethical_request_latency_seconds_count", DETECTOR)] == requests
    assert exposed[("nethical_request_latency_seconds_bucket", (*DETECTOR, ("le", "+Inf")))] == requests
    threat = (*DETECTOR, ("threat_category", "jailbreak"), ("threat_level", "HIGH"))
    assert exposed[("nethical_threats_detected_total", threat)] == threats
    assert exposed[("nethical_confidence_score_sum", DETECTOR)] == 0.75 * threats
    return exposed


def test_gunicorn_sync_workers_restarting_give_exact_totals_and_no_dead_gauges(tmp_path, prometheus_binary):
    requests = 2000
    with serve(tmp_path, "gunicorn", workers=4, max_requests=50) as service:
        target = urllib.parse.urlsplit(service.metrics).netloc
        with PrometheusServer(prometheus_binary, tmp_path, [target]) as prometheus:
            served_by = send(service, requests)
            assert len(served_by) > 4 * 2, "workers should have restarted many times"
            assert_exact(service, requests)
            # Live workers only: every dead worker's gauge is gone (the last restarted ones may still be
            # booting); counts of all of them stay.
            service.wait_for_live_workers()
            assert len(service.files()) == 4 + 1
            prometheus.wait_for_scrapes(3)
            # The PromQL of docs/zero-code.md, answered by Prometheus from the one merged endpoint.
            expected = {
                "sum(nethical_requests_total)": requests,
                "sum(nethical_request_latency_seconds_count)": requests,
                'sum(nethical_requests_total{status="error"})': requests // 25,
                "sum(nethical_active_detectors)": 4,
            }
            documented = [example.expr for example in promql_examples([ZERO_CODE])]
            assert documented == list(expected)
            for expr, value in expected.items():
                assert prometheus.scalar(expr) == value, expr
            assert prometheus.scalar("count(up == 1)") == 1


def test_gunicorn_uvicorn_workers_restarting_give_exact_totals(tmp_path):
    requests = 600
    with serve(tmp_path, "gunicorn-uvicorn", workers=2, max_requests=50) as service:
        served_by = send(service, requests)
        # A uvicorn worker past max_requests finishes its open keep-alive connections before it exits, so how
        # many times each restarts varies; one restart is enough to prove the totals survive it.
        assert len(served_by) > 2, "workers should have restarted"
        assert_exact(service, requests)
        service.wait_for_live_workers()
        assert len(service.files()) == 2 + 1


def test_uvicorn_workers_restarting_give_exact_totals_whichever_worker_serves(tmp_path):
    requests = 600
    with serve(tmp_path, "uvicorn", workers=2, max_requests=100) as service:
        served_by = send(service, requests)
        assert len(served_by) > 2, "workers should have restarted"
        # No master pipeline here: a worker serves /metrics, and another takes over when it exits.
        service.wait_for_live_workers()
        assert_exact(service, requests)
        assert len(service.files()) == 2 + 1


def test_metric_rules_are_evaluated_once_over_the_merged_view(tmp_path):
    # 40 failing calls over two workers: about 20 each, under min_requests; 40 together, over it.
    rules = {
        "evaluation_interval_seconds": 0.5,
        "window_seconds": 60,
        "for_seconds": 0,
        "min_requests": 30,
        "high_error_rate_threshold": 0.5,
    }
    with RecordingServer() as receiver:
        alerting = {
            "webhook_url": f"{receiver.url}/hook",
            "storage_path": str(tmp_path / "alerts.sqlite3"),
            "group_wait_seconds": 0,
            "rules": rules,
        }
        with serve(tmp_path, "gunicorn", workers=2, max_requests=0, alerting=alerting) as service:
            failing = [i for i in range(2000) if _text(i) == "fail now"][:40]
            time.sleep(1.5)  # the evaluator's first sample is the baseline its window starts from

            def one(index: int) -> int:
                url = f"{service.base}/classify?{urllib.parse.urlencode({'text': _text(index)})}"
                with urllib.request.urlopen(url, timeout=10) as response:
                    return int(json.load(response)["worker"])

            with ThreadPoolExecutor(4) as pool:
                served_by = Counter(pool.map(one, failing))
            assert len(served_by) == 2 and max(served_by.values()) < 30, served_by
            receiver.wait_for(1, "/hook", timeout=30)
            time.sleep(3)  # six more evaluation intervals: a second evaluator would have sent by now
            alerts = [alert for hook in receiver.received("/hook") for alert in hook.json()["alerts"]]
    names = [alert["labels"]["alertname"] for alert in alerts]
    assert names == ["NethicalHighErrorRate"], names


def test_merged_otlp_is_one_stream_from_the_master_with_the_exact_totals(tmp_path):
    requests = 300
    with OtlpReceiver() as receiver:
        otlp = {"endpoint": receiver.url, "export_interval_seconds": 0.5, "multiprocess": "merged"}
        with serve(tmp_path, "gunicorn", workers=2, max_requests=40, otlp=otlp) as service:
            served_by = send(service, requests)
            assert len(served_by) > 2, "workers should have restarted"
            success = (*DETECTOR, ("status", "success"))

            def pushed() -> dict[tuple[str, Any], Any]:
                return {k: v for k, v in receiver.last_values("nethical_requests").items() if k[1] == success}

            errors = len([i for i in range(requests) if _text(i) == "fail now"])
            wait_until(lambda: sum(pushed().values()) == requests - errors, 30, "the merged totals over OTLP")
            assert len(pushed()) == 1, "one stream (one service.instance.id), not one per worker"
