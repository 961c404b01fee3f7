"""A real Alertmanager (Debian's prometheus-alertmanager) on 127.0.0.1, without clustering."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import yaml

from tests._support.managed import ManagedProcess
from tests._support.net import free_port, http_ok


class AlertmanagerServer(ManagedProcess):
    def __init__(self, binary: str, workdir: Path, config: dict[str, Any] | str) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config_file = workdir / "alertmanager.yml"
        text = config if isinstance(config, str) else yaml.safe_dump(config)
        self.config_file.write_text(text, encoding="utf-8")
        command = [
            binary,
            f"--config.file={self.config_file}",
            f"--storage.path={workdir / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            "--cluster.listen-address=",  # no gossip port on all interfaces
        ]
        super().__init__("Alertmanager", command, workdir / "alertmanager.log", lambda: http_ok(f"{self.url}/-/ready"))

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts Alertmanager currently holds (GET /api/v2/alerts)."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=10) as response:
            return list(json.load(response))
