"""A real Prometheus server (Debian's package) on 127.0.0.1, started and stopped by a test."""

from __future__ import annotations

import json
import time
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tests._support.managed import ManagedProcess
from tests._support.net import free_port, http_ok, wait_until


class PrometheusServer(ManagedProcess):
    def __init__(
        self,
        binary: str,
        workdir: Path,
        targets: Sequence[str] = (),
        *,
        scrape_interval: str = "1s",
        rule_files: Sequence[str] = (),
        alertmanagers: Sequence[str] = (),
        config: dict[str, Any] | None = None,
        extra_args: Sequence[str] = (),
    ) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        if config is None:
            config = {
                "global": {"scrape_interval": scrape_interval, "evaluation_interval": scrape_interval},
                "scrape_configs": [{"job_name": "nethical", "static_configs": [{"targets": list(targets)}]}],
            }
            if rule_files:
                config["rule_files"] = list(rule_files)
            if alertmanagers:
                config["alerting"] = {"alertmanagers": [{"static_configs": [{"targets": list(alertmanagers)}]}]}
        self.config_file = workdir / "prometheus.yml"
        self.config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        command = [
            binary,
            f"--config.file={self.config_file}",
            f"--storage.tsdb.path={workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            *extra_args,
        ]
        super().__init__("Prometheus", command, workdir / "prometheus.log", lambda: http_ok(f"{self.url}/-/ready"), 60)

    def api(self, path: str, **params: Any) -> Any:
        url = f"{self.url}/api/v1/{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as response:
            body = json.load(response)
        if body.get("status") != "success":
            raise AssertionError(f"Prometheus API {path} {params}: {body}")
        return body["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """Instant query; a list of {"metric": labels, "value": float}."""
        params: dict[str, Any] = {"query": expr}
        if at is not None:
            params["time"] = f"{at:.3f}"
        data = self.api("query", **params)
        if data["resultType"] == "scalar":
            return [{"metric": {}, "value": float(data["result"][1])}]
        return [{"metric": r["metric"], "value": float(r["value"][1])} for r in data["result"]]

    def scalar(self, expr: str, at: float | None = None) -> float:
        result = self.query(expr, at)
        assert len(result) == 1, f"{expr} returned {len(result)} series: {result}"
        return float(result[0]["value"])

    def wait_for_samples(self, expr: str, timeout: float = 30.0) -> None:
        wait_until(lambda: bool(self.query(expr)), timeout, f"Prometheus to have data for {expr}")

    def targets_up(self) -> bool:
        targets = self.api("targets")["activeTargets"]
        return bool(targets) and all(t["health"] == "up" for t in targets)

    def wait_for_scrapes(self, count: int = 2, interval: float = 1.0) -> None:
        """Let ``count`` more scrape intervals pass, so the latest values are in the TSDB."""
        time.sleep(count * interval + 0.5)
