"""Run the example applications under ``opentelemetry-instrument`` as real subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from tests._support.net import free_port, wait_until
from tests._support.processes import log_tail

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
VENV_BIN = Path(sys.executable).parent
OPENTELEMETRY_INSTRUMENT = VENV_BIN / "opentelemetry-instrument"


def clean_environment(workdir: Path, **extra: str) -> dict[str, str]:
    """This environment without OTEL_*/NETHICAL_* settings, the virtualenv first on PATH, plus ``extra``.

    Per-user state (the alert outbox, gunicorn's control socket) goes into ``workdir``, not ``$HOME``.
    """
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "NETHICAL_"))}
    env["XDG_DATA_HOME"] = str(workdir / "data")
    env["XDG_RUNTIME_DIR"] = str(workdir)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    env["NETHICAL_OTEL_RAISE_INTERNAL_ERRORS"] = "1"  # a bug of ours fails the app, and so the test
    env["OTEL_BSP_SCHEDULE_DELAY"] = "200"
    env.update(extra)
    return env


class InstrumentedApp:
    """``opentelemetry-instrument python <script>`` in an example directory, with its own metrics port."""

    def __init__(self, workdir: Path, example: str, script: str, env: Mapping[str, str], linger: float = 30.0):
        self.cwd = EXAMPLES / example
        self.metrics_port = free_port()
        self.summary_file = workdir / f"{script}.summary.json"
        self.log = workdir / f"{script}.log"
        self.command: Sequence[str] = (
            str(OPENTELEMETRY_INSTRUMENT),
            "python",
            script,
            "--linger",
            str(linger),
            "--summary",
            str(self.summary_file),
        )
        self.env = {"NETHICAL_METRICS_PORT": str(self.metrics_port), **env}
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> InstrumentedApp:
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                self.command, cwd=self.cwd, env=self.env, stdout=output, stderr=subprocess.STDOUT
            )
        return self

    def wait_workload(self, timeout: float = 30.0) -> dict[str, Any]:
        def done() -> bool:
            assert self.process is not None
            if self.process.poll() is not None and not self.summary_file.exists():
                raise AssertionError(f"the app exited early:\n{self.output()}")
            return self.summary_file.exists()

        wait_until(done, timeout, f"{self.command[2]} to finish its work")
        return dict(json.loads(self.summary_file.read_text(encoding="utf-8")))

    def scrape(self) -> str:
        """The nethical metrics server's /metrics."""
        return self.scrape_port(self.metrics_port)

    @staticmethod
    def scrape_port(port: int) -> str:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            return str(response.read().decode())

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM, as a process manager would, and the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def wait_exit(self, timeout: float = 20.0) -> int:
        """The exit code, once the app ends by itself (or after :meth:`stop`)."""
        assert self.process is not None
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)
            raise AssertionError(f"the app did not exit:\n{self.output()}") from None

    def output(self) -> str:
        return log_tail(self.log, 6000)

    def __enter__(self) -> InstrumentedApp:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(5)
