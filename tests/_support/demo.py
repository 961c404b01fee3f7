"""Run ``nethical-otel demo`` as a real subprocess serving /metrics on a known port."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

from tests._support.managed import ManagedProcess
from tests._support.net import free_port, http_ok, wait_until


class DemoProcess(ManagedProcess):
    def __init__(
        self,
        workdir: Path,
        *,
        duration: float,
        rate: float = 80.0,
        linger: float = 0.0,
        seed: int = 7,
        config: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.summary_file = workdir / "demo-summary.json"
        options = {
            "port": self.port,
            "duration": duration,
            "rate": rate,
            "seed": seed,
            "summary": self.summary_file,
            "linger": linger,
            "config": config,
        }
        command = [sys.executable, "-m", "nethical_otel.cli", "demo"]
        for name, value in options.items():
            if value is not None:
                command += [f"--{name}", str(value)]
        super().__init__(
            "the demo",
            command,
            workdir / "demo.log",
            lambda: http_ok(f"{self.url}/health"),
            env={**os.environ, **(env or {})},
        )

    def workload_done(self) -> bool:
        return self.summary_file.exists()

    def wait_workload(self, timeout: float) -> dict[str, Any]:
        """Wait for the workload to end (the demo then lingers, still serving) and return its summary."""
        wait_until(self.workload_done, timeout, "the demo workload to finish")
        wait_until(lambda: self._read_summary() is not None, 5, "the demo summary")
        summary = self._read_summary()
        assert summary is not None
        return summary

    def _read_summary(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.summary_file.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            return None
