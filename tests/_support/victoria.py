"""A real VictoriaMetrics (Debian trixie's package, unpacked by scripts/fetch-trixie-tools) on 127.0.0.1.

It stands in for the Prometheus that scrapes the Collector's prometheus exporter: it ingests OTLP and
answers the same PromQL HTTP API. ``-opentelemetry.usePrometheusNaming`` applies the Prometheus naming
rules the Collector's exporter applies (unit suffixes, ``_total`` on counters).
"""

from __future__ import annotations

import functools
from pathlib import Path

from tests._support.managed import ManagedProcess
from tests._support.net import free_port, http_ok
from tests._support.prometheus import PrometheusServer


class VictoriaMetricsServer(ManagedProcess):
    # The query side is Prometheus' HTTP API: the same client methods serve both.
    api = PrometheusServer.api
    query = PrometheusServer.query
    scalar = PrometheusServer.scalar

    def __init__(self, binary: str, workdir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.otlp_metrics_url = f"{self.url}/opentelemetry/v1/metrics"
        command = [
            binary,
            f"-httpListenAddr=127.0.0.1:{self.port}",
            f"-storageDataPath={workdir / 'vm-data'}",
            "-retentionPeriod=1d",
            "-opentelemetry.usePrometheusNaming",
            # Answer queries with the newest samples, not only those older than 30 s (the default keeps
            # dashboards from showing half-ingested points; a test wants what was just pushed).
            "-search.latencyOffset=0s",
        ]
        ready = functools.partial(http_ok, f"{self.url}/health")
        super().__init__("VictoriaMetrics", command, workdir / "victoria-metrics.log", ready)
