"""The push-endpoint check: what it reports for each kind of server, and that it warns once per outage."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator

import pytest

from nethical_otel.config import load_config
from nethical_otel.profiling._health import PushHealthCheck, probe
from nethical_otel.profiling._settings import PyroscopeSettings, resolve_settings
from tests._support.net import free_port, wait_until
from tests._support.pyroscope_receiver import PUSH_PATH, PyroscopeReceiver


@pytest.fixture
def receiver() -> Iterator[PyroscopeReceiver]:
    with PyroscopeReceiver() as server:
        yield server


def settings_for(address: str, **profiling: object) -> PyroscopeSettings:
    config = load_config({"profiling": {"server_address": address, **profiling}}, environ={})
    return resolve_settings(config.profiling, {})


def test_a_pyroscope_refusing_the_empty_probe_counts_as_healthy(receiver: PyroscopeReceiver) -> None:
    assert probe(settings_for(receiver.url), timeout=5) is None

    (request,) = receiver.received(PUSH_PATH)
    assert request.method == "POST"
    assert request.headers["Content-Type"] == "application/proto"
    assert request.headers["Content-Encoding"] == "gzip"


def test_the_probe_sends_the_agents_credentials_and_tenant(receiver: PyroscopeReceiver) -> None:
    settings = settings_for(receiver.url, basic_auth_username="123", basic_auth_password="tok", tenant_id="team-a")

    assert probe(settings, timeout=5) is None
    (request,) = receiver.received(PUSH_PATH)
    headers = {name.lower(): value for name, value in request.headers.items()}  # names are case-insensitive
    assert headers["authorization"] == "Basic " + base64.b64encode(b"123:tok").decode()
    assert headers["x-scope-orgid"] == "team-a"


@pytest.mark.parametrize(
    ("status", "finding"),
    [
        (500, "answered HTTP 500"),
        (401, "refused the credentials (HTTP 401)"),
        (403, "refused the credentials (HTTP 403)"),
        (503, "answered HTTP 503"),
    ],
)
def test_failing_answers_are_described(receiver: PyroscopeReceiver, status: int, finding: str) -> None:
    receiver.failing(status)

    result = probe(settings_for(receiver.url), timeout=5)
    assert result is not None and result.startswith(finding)


def test_a_wrong_base_url_is_told_apart_from_a_down_server(receiver: PyroscopeReceiver) -> None:
    assert probe(settings_for(f"{receiver.url}/pyroscope"), timeout=5) == (
        "has no push endpoint (HTTP 404); is server_address the Pyroscope base URL?"
    )
    finding = probe(settings_for(f"http://127.0.0.1:{free_port()}"), timeout=5)
    assert finding is not None and finding.startswith("is unreachable (")


def test_one_warning_per_outage_and_one_info_on_recovery(
    receiver: PyroscopeReceiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="nethical_otel.profiling")
    check = PushHealthCheck(settings_for(receiver.url), interval=0.1)
    receiver.failing(500)
    check.start()
    try:
        wait_until(lambda: check.probes >= 4, 10, "four failing probes")
        receiver.failing(None)
        wait_until(lambda: check.problem is None and check.probes >= 6, 10, "healthy probes")
    finally:
        check.stop(5)

    messages = [(r.levelname, r.getMessage()) for r in caplog.records]
    warnings = [m for level, m in messages if level == "WARNING"]
    assert len(warnings) == 1
    assert warnings[0].startswith(f"continuous profiling: the Pyroscope server at {receiver.url} answered HTTP 500.")
    assert ("INFO", f"continuous profiling: the Pyroscope server at {receiver.url} takes pushes again") in messages
