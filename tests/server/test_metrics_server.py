"""The metrics server: real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

import nethical_otel
from nethical_otel.monitoring import get_prometheus_metrics, start_metrics_server_async


def fetch(url: str, method: str = "GET", accept: str | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method, headers={"Accept": accept} if accept else {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.fixture
def served():
    telemetry = nethical_otel.configure({"metrics_server": {"port": 0}})
    assert telemetry.metrics_server is not None
    yield telemetry.metrics_server.url
    telemetry.shutdown()


def test_metrics_are_served_in_prometheus_text_format(served):
    get_prometheus_metrics().track_request("pi", 0.02, "success")
    status, headers, body = fetch(f"{served}/metrics")
    assert status == 200
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
    names = {family.name for family in text_string_to_metric_families(body.decode())}
    assert {"nethical_requests", "nethical_request_latency_seconds"} <= names


def test_openmetrics_is_served_when_the_scraper_asks_for_it(served):
    get_prometheus_metrics().track_request("pi", 0.02, "success")
    status, headers, body = fetch(f"{served}/metrics", accept="application/openmetrics-text; version=1.0.0")
    assert status == 200
    assert headers["Content-Type"].startswith("application/openmetrics-text")
    assert body.rstrip().endswith(b"# EOF")


def test_health_reports_uptime_and_known_detectors_with_their_health(served):
    metrics = get_prometheus_metrics()
    metrics.track_request("pi", 0.01, "success")
    metrics.set_detector_health("deepfake", False)
    status, headers, body = fetch(f"{served}/health")
    health = json.loads(body)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert health["status"] == "degraded"
    assert health["detectors"] == {"deepfake": {"healthy": False}, "pi": {"healthy": None}}
    assert health["uptime_seconds"] >= 0


def test_index_links_the_endpoints_and_wrong_methods_and_paths_are_refused(served):
    status, _, body = fetch(f"{served}/")
    assert status == 200 and b'href="/metrics"' in body and b'href="/health"' in body
    assert fetch(f"{served}/metrics", method="POST")[0] == 405
    assert fetch(f"{served}/nope")[0] == 404
    assert fetch(f"{served}/metrics", method="HEAD")[0] == 200


def test_the_server_binds_loopback_by_default(served):
    assert served.startswith("http://127.0.0.1:")


def test_a_taken_port_is_a_clear_error_naming_the_setting():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OSError, match=f"metrics_server: cannot listen on 127.0.0.1:{port}"):
            nethical_otel.configure({"metrics_server": {"port": port}})


async def test_start_metrics_server_async_serves_the_original_api_without_configure():
    nethical_otel.shutdown()
    server = await start_metrics_server_async(port=0)
    try:
        get_prometheus_metrics().track_threat("pi", "HIGH", "malicious", 0.95)
        assert server.port != 0
        # urllib would block this loop, so use aiohttp's client like any async caller.
        import aiohttp

        async with aiohttp.ClientSession() as session, session.get(f"{server.url}/metrics") as response:
            text = await response.text()
        assert (
            'nethical_threats_detected_total{detector_type="pi",threat_category="malicious",threat_level="HIGH"} 1.0'
            in text
        )
    finally:
        await server.stop()
