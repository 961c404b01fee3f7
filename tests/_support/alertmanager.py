"""A real Alertmanager (Debian's prometheus-alertmanager) on 127.0.0.1, without clustering."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests._support.net import free_port, http_ok, wait_until
from tests._support.processes import log_tail, spawn, terminate


class AlertmanagerServer:
    def __init__(self, binary: str, workdir: Path, config: dict[str, Any] | str) -> None:
        self.binary = binary
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_file = workdir / "alertmanager.yml"
        text = config if isinstance(config, str) else yaml.safe_dump(config)
        self.config_file.write_text(text, encoding="utf-8")
        self.log = workdir / "alertmanager.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> AlertmanagerServer:
        command = [
            self.binary,
            f"--config.file={self.config_file}",
            f"--storage.path={self.workdir / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",  # no gossip port on all interfaces
        ]
        self._process = spawn(command, self.log)
        try:
            wait_until(self._ready, 30, "Alertmanager to be ready")
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"Alertmanager did not start:\n{log_tail(self.log)}") from None
        return self

    def _ready(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"Alertmanager exited:\n{log_tail(self.log)}")
        return http_ok(f"{self.url}/-/ready")

    def stop(self) -> None:
        process, self._process = self._process, None
        terminate(process)

    def __enter__(self) -> AlertmanagerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts Alertmanager currently holds (GET /api/v2/alerts)."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=10) as response:
            return list(json.load(response))
