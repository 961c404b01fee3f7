"""A real OpenTelemetry collector on 127.0.0.1: rotel (a Rust OTLP collector shipped as a PyPI wheel).

The official otelcol-contrib is not installable here; rotel receives OTLP over gRPC and HTTP, batches it
and exports OTLP/HTTP, which is the collector hop of the compose stack minus the prometheus exporter.
"""

from __future__ import annotations

import functools
import importlib.util
import socket
from pathlib import Path

from tests._support.binaries import unavailable
from tests._support.managed import ManagedProcess
from tests._support.net import free_port


def require_rotel() -> str:
    """Path of the rotel-agent binary inside the installed ``rotel`` wheel; skip (or fail under CI=true)."""
    spec = importlib.util.find_spec("rotel")
    if spec is not None and spec.origin is not None:
        agent = Path(spec.origin).parent / "rotel-agent"
        if agent.is_file():
            return str(agent)
    unavailable("rotel-agent not found (pip package rotel, in the project's test extra)")


class RotelCollector(ManagedProcess):
    def __init__(
        self,
        binary: str,
        workdir: Path,
        *,
        endpoint: str,
        metrics_endpoint: str,
        resource_attributes: dict[str, str] | None = None,
    ) -> None:
        self.grpc_port = free_port()
        self.http_port = free_port()
        self.otlp_http_url = f"http://127.0.0.1:{self.http_port}"
        command = [
            binary,
            "start",
            "--otlp-grpc-endpoint",
            f"127.0.0.1:{self.grpc_port}",
            "--otlp-http-endpoint",
            f"127.0.0.1:{self.http_port}",
            "--exporter",
            "otlp",
            "--otlp-exporter-protocol",
            "http",
            # Traces (and logs) go to `endpoint` + /v1/traces; metrics to their own full URL.
            "--otlp-exporter-endpoint",
            endpoint,
            "--otlp-exporter-metrics-endpoint",
            metrics_endpoint,
            # The defaults are fixed paths in /tmp, shared by every rotel on the machine.
            "--pid-file",
            str(workdir / "rotel.pid"),
            "--log-file",
            str(workdir / "rotel-agent.log"),
        ]
        if resource_attributes:
            command += [
                "--otel-resource-attributes",
                ",".join(f"{key}={value}" for key, value in resource_attributes.items()),
            ]
        ready = functools.partial(_listening, self.http_port)
        super().__init__("rotel", command, workdir / "rotel.log", ready)


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
