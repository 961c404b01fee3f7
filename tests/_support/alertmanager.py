"""A real Alertmanager (Debian's prometheus-alertmanager) on 127.0.0.1: one on its own, or the peers of a
gossip cluster."""

from __future__ import annotations

import contextlib
import json
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests._support.managed import ManagedProcess
from tests._support.net import free_port, http_ok, wait_until

# Short cluster timings so a test sees gossip settle and failover within seconds (defaults: 15 s peer
# timeout, 1 m push-pull, 200 ms gossip).
CLUSTER_TIMINGS = ("--cluster.peer-timeout=2s", "--cluster.pushpull-interval=1s", "--cluster.gossip-interval=50ms")


class AlertmanagerServer(ManagedProcess):
    def __init__(
        self,
        binary: str,
        workdir: Path,
        config: dict[str, Any] | str,
        *,
        cluster_port: int | None = None,
        peers: Sequence[int] = (),
        name: str = "alertmanager",
    ) -> None:
        self.workdir = workdir / name
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.cluster_port = cluster_port
        self.config_file = self.workdir / "alertmanager.yml"
        text = config if isinstance(config, str) else yaml.safe_dump(config)
        self.config_file.write_text(text, encoding="utf-8")
        command = [
            binary,
            f"--config.file={self.config_file}",
            f"--storage.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
        ]
        if cluster_port is None:
            command.append("--cluster.listen-address=")  # no gossip port on all interfaces
        else:
            command += [
                f"--cluster.listen-address=127.0.0.1:{cluster_port}",
                f"--cluster.advertise-address=127.0.0.1:{cluster_port}",
                *(f"--cluster.peer=127.0.0.1:{peer}" for peer in peers),
                *CLUSTER_TIMINGS,
            ]
        super().__init__(name, command, self.workdir / "alertmanager.log", lambda: http_ok(f"{self.url}/-/ready"))

    def alerts(self) -> list[dict[str, Any]]:
        """Alerts Alertmanager currently holds (GET /api/v2/alerts)."""
        return list(self._get("/api/v2/alerts"))

    def cluster_peers(self) -> list[str]:
        """The addresses of the cluster members this peer sees (itself included)."""
        status = self._get("/api/v2/status")
        return sorted(peer["address"] for peer in status["cluster"].get("peers") or [])

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(f"{self.url}{path}", timeout=10) as response:
            return json.load(response)


@contextlib.contextmanager
def cluster(
    binary: str, workdir: Path, config: dict[str, Any] | str, size: int = 2
) -> Iterator[list[AlertmanagerServer]]:
    """``size`` peers gossiping on 127.0.0.1, started and waited for until each sees all the others."""
    ports = [free_port() for _ in range(size)]
    peers = [
        AlertmanagerServer(
            binary, workdir, config, cluster_port=port, peers=[p for p in ports if p != port], name=f"peer-{index}"
        )
        for index, port in enumerate(ports)
    ]
    with contextlib.ExitStack() as stack:
        for peer in peers:
            stack.enter_context(peer)
        expected = sorted(f"127.0.0.1:{port}" for port in ports)
        wait_until(lambda: all(peer.cluster_peers() == expected for peer in peers), 30, "the cluster to form")
        yield peers
