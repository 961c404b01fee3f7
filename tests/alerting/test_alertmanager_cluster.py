"""Fleet mode against a real Alertmanager HA cluster: two ``prometheus-alertmanager`` peers gossiping on
127.0.0.1, three SDK processes with stores of their own standing in for three hosts. Each process posts
every alert to both peers; the cluster's notification log makes one notification of them. After a peer
is killed, a new incident still arrives, exactly once, and the processes report the dead peer."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests._support.alertmanager import cluster
from tests._support.net import wait_until
from tests._support.recorder import RecordingServer

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
HOSTS = 3
# No duplicate may arrive this long after the first notification: past group_wait, the second peer's
# turn (its position × peer timeout, 2 s) and the push-pull interval, with room for a loaded machine.
QUIET_SECONDS = 8.0


class SdkProcess:
    def __init__(self, storage: Path, peers: list[str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests._support.cluster_child", str(storage), *peers],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.expect("ready")

    def say(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def expect(self, wanted: str) -> list[str]:
        assert self.process.stdout is not None
        seen = []
        for line in self.process.stdout:
            if line.strip() == wanted:
                return seen
            seen.append(line.strip())
        raise AssertionError(f"the SDK process exited before {wanted!r}: {seen}")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.say("exit")
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


@contextlib.contextmanager
def hosts(tmp_path: Path, peers: list[str]) -> Iterator[list[SdkProcess]]:
    started: list[SdkProcess] = []
    try:
        for index in range(HOSTS):
            started.append(SdkProcess(tmp_path / f"host-{index}" / "alerts.sqlite3", peers))
        yield started
    finally:
        for host in started:
            host.close()


def incident(hosts: list[SdkProcess], category: str) -> None:
    for host in hosts:
        host.say(f"threat {category}")
    for host in hosts:
        host.expect(f"delivered {category}")


def notifications(receiver: RecordingServer, category: str) -> list[dict]:
    found = []
    for request in receiver.received("/hook"):
        body = request.json()
        if body["status"] == "firing" and body["groupLabels"].get("threat_category") == category:
            found.append(body)
    return found


def exactly_one(receiver: RecordingServer, category: str) -> dict:
    started = time.monotonic()
    wait_until(lambda: notifications(receiver, category), 30, f"the {category} notification")
    print(f"\n{category}: the cluster's notification arrived {time.monotonic() - started:.1f}s after delivery")
    time.sleep(QUIET_SECONDS)
    (notification,) = notifications(receiver, category)
    return notification


def test_three_hosts_raising_the_same_critical_threat_page_once_and_a_dead_peer_changes_nothing(
    alertmanager_binary, tmp_path
):
    with RecordingServer() as receiver:
        config = {
            "route": {
                "receiver": "pager",
                "group_by": ["alertname", "detector_type", "threat_category"],
                "group_wait": "1s",
                "group_interval": "1m",
                "repeat_interval": "1h",
            },
            "receivers": [
                {"name": "pager", "webhook_configs": [{"url": f"{receiver.url}/hook", "send_resolved": False}]}
            ],
        }
        with cluster(alertmanager_binary, tmp_path, config) as (first, second):
            peers = [first.url, second.url]
            with hosts(tmp_path, peers) as sdk:
                incident(sdk, "jailbreak")
                page = exactly_one(receiver, "jailbreak")
                (alert,) = page["alerts"]
                assert (
                    alert["labels"]["severity"] == "critical" and alert["labels"]["detector_type"] == "prompt_injection"
                )
                assert all(len(peer.alerts()) == 1 for peer in (first, second))  # each peer got it (from 3 hosts)

                first.stop()  # one peer dies; the hosts keep posting to both
                incident(sdk, "data_exfiltration")
                exactly_one(receiver, "data_exfiltration")

                sdk[0].say("metrics")
                health = sdk[0].expect("end")
    assert f'nethical_alert_peer_up{{peer="{first.url}"}} 0.0' in health
    assert f'nethical_alert_peer_up{{peer="{second.url}"}} 1.0' in health
