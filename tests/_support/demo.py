"""Run ``nethical-otel demo`` as a real subprocess serving /metrics on a known port."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests._support.net import free_port, http_ok, wait_until
from tests._support.processes import log_tail, spawn, terminate


class DemoProcess:
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
        self.log = workdir / "demo.log"
        command = [
            sys.executable,
            "-m",
            "nethical_otel.cli",
            "demo",
            "--port",
            str(self.port),
            "--duration",
            str(duration),
            "--rate",
            str(rate),
            "--seed",
            str(seed),
            "--summary",
            str(self.summary_file),
            "--linger",
            str(linger),
        ]
        if config is not None:
            command += ["--config", str(config)]
        self._command = command
        self._env = env
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> DemoProcess:
        self._process = spawn(self._command, self.log, env={**os.environ, **(self._env or {})})
        wait_until(lambda: self._alive() and http_ok(f"{self.url}/health"), 30, "the demo's metrics server")
        return self

    def _alive(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"demo exited early:\n{log_tail(self.log)}")
        return True

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

    def stop(self) -> None:
        process, self._process = self._process, None
        terminate(process, timeout=15)

    def __enter__(self) -> DemoProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
