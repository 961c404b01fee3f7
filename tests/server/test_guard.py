"""What a stalled or hostile client can hold on the metrics server: raw sockets against the real server.

The timeouts are set to a second or two here so the suite stays fast; the figures with the default
settings (30 s) come from ``python -m benchmarks.faults``.
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Iterator

import pytest

import nethical_otel
from nethical_otel.monitoring import get_prometheus_metrics
from nethical_otel.pipeline import Telemetry
from tests._support.exposition import samples
from tests._support.net import wait_until
from tests.server.test_metrics_server import fetch

HALF_A_HEAD = b"GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Stalled: "


def serve(**settings: float) -> Telemetry:
    return nethical_otel.configure({"metrics_server": {"port": 0, **settings}, "alerting": {"enabled": False}})


def connect(telemetry: Telemetry, send: bytes = b"", receive_buffer: int | None = None) -> socket.socket:
    assert telemetry.metrics_server is not None
    client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer is not None:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    client.connect(("127.0.0.1", telemetry.metrics_server.port))
    if send:
        client.sendall(send)
    return client


def closed_by_server(client: socket.socket) -> bool:
    """True once the server has closed (or reset) the connection; reads and drops what it sent before."""
    client.settimeout(0.01)
    try:
        while chunk := client.recv(65536):
            del chunk
    except TimeoutError:
        return False
    except OSError:  # reset: the server aborted a connection that still had data in flight
        return True
    return True


def closures(telemetry: Telemetry) -> dict[str, float]:
    exposed = samples(get_prometheus_metrics().export_metrics().decode())
    return {
        dict(labels)["reason"]: value
        for (name, labels), value in exposed.items()
        if name == "nethical_metrics_server_connections_closed_total"
    }


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def clients() -> Iterator[list[socket.socket]]:
    opened: list[socket.socket] = []
    yield opened
    for client in opened:
        client.close()


def test_silent_and_half_sent_connections_are_closed_after_the_header_timeout_and_counted(clients):
    telemetry = serve(header_timeout_seconds=1.0)
    clients += [connect(telemetry, HALF_A_HEAD if index % 2 else b"") for index in range(20)]

    wait_until(lambda: all(closed_by_server(client) for client in clients), 30, "the server to close all 20")

    assert closures(telemetry)["header_timeout"] == 20
    assert fetch(telemetry.metrics_server.url + "/metrics")[0] == 200  # type: ignore[union-attr]


def test_at_the_connection_cap_stalled_clients_make_room_and_the_host_keeps_its_file_descriptors(clients, caplog):
    telemetry = serve(max_connections=10, header_timeout_seconds=60.0)
    before = open_fds()

    clients += [connect(telemetry, HALF_A_HEAD) for _ in range(100)]
    # Every stalled client past the cap is counted: evicted, or refused while the others were still opening.
    wait_until(lambda: sum(closures(telemetry).values()) == 100 - 10, 10, "the server to take all 100")
    server_side = open_fds() - before - len(clients)
    status, _, _ = fetch(telemetry.metrics_server.url + "/metrics")  # type: ignore[union-attr]

    assert server_side <= 10 + 2  # the capped connections, and at most a connection being refused
    assert status == 200  # a scraper always gets in: the longest-idle stalled client made room
    assert closures(telemetry)["evicted"] >= 1
    assert "reached metrics_server.max_connections=10" in caplog.text
    with open(os.devnull) as still_possible:  # the application can still open files
        assert still_possible.readable()


def test_a_client_that_does_not_read_its_response_is_cut_off_after_the_response_timeout(clients):
    telemetry = serve(response_timeout_seconds=1.0)
    metrics = get_prometheus_metrics()
    for index in range(1500):  # about 150 KB of exposition, pipelined 50 times: more than the socket buffers hold
        metrics.track_threat("pi", "HIGH", f"category-{index:04d}-" + "x" * 40)
    clients.append(connect(telemetry, b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" * 50, receive_buffer=4096))

    wait_until(lambda: closures(telemetry)["response_timeout"] == 1, 20, "the response timeout")
    assert telemetry.metrics_server.guard.open_connections == 0  # type: ignore[union-attr]


def test_a_request_body_never_sent_holds_the_connection_only_until_the_body_timeout(clients):
    telemetry = serve(body_timeout_seconds=1.0)
    client = connect(telemetry, b"GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nonly this")
    clients.append(client)

    client.settimeout(10)
    assert client.recv(12) == b"HTTP/1.1 200"  # answered at once: no handler reads a body
    wait_until(lambda: closed_by_server(client), 20, "the body timeout")
    assert closures(telemetry)["body_timeout"] == 1


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"\x16\x03\x01\x02\x00<script>alert(1)</script>\r\n\r\n",  # TLS to a plain port, with markup
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Long: " + b"<b>" * 4000 + b"\r\n\r\n",  # a header line too long
        b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 12<script>\r\n\r\n",
        b"G\x00T /metrics HTTP/1.1\r\n\r\n",
    ],
)
def test_malformed_requests_get_a_bare_status_line_and_a_debug_log_entry(clients, caplog, request_bytes):
    telemetry = serve()
    caplog.set_level(logging.DEBUG)
    client = connect(telemetry, request_bytes)
    clients.append(client)
    client.settimeout(10)
    answer = b""
    while chunk := client.recv(65536):
        answer += chunk

    status_line, _, rest = answer.partition(b"\r\n")
    assert status_line.split(b" ")[1] == b"400"
    assert answer.endswith(b"\r\n\r\n400: Bad Request\n")  # nothing of what the client sent comes back
    assert b"<" not in rest and b"script" not in rest
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert any("malformed request" in record.getMessage() for record in caplog.records)


@pytest.mark.parametrize(
    "accept", ["application/openmetrics-text; version=x", "application/openmetrics-text; version=1.1.<b>hi</b>"]
)
def test_a_bad_accept_header_gets_the_text_format_and_nothing_echoed(accept, caplog):
    telemetry = serve()
    status, headers, body = fetch(telemetry.metrics_server.url + "/metrics", accept=accept)  # type: ignore[union-attr]

    assert status == 200
    assert headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    assert b"nethical_metrics_server_connections_closed_total" in body
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
