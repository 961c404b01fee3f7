"""Run ``nethical-otel demo`` as a real subprocess serving /metrics on a known port."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests._support.net import free_port, http_ok, wait_until


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
        import os

        env = {**os.environ, **(self._env or {})}
        self._process = subprocess.Popen(self._command, stdout=self.log.open("wb"), stderr=subprocess.STDOUT, env=env)
        wait_until(lambda: self._alive() and http_ok(f"{self.url}/health"), 30, "the demo's metrics server")
        return self

    def _alive(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"demo exited early:\n{self.log.read_text(errors='replace')[-3000:]}")
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
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)

    def __enter__(self) -> DemoProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
