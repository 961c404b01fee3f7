"""At-least-once across a crash: alerts accepted by a process killed with SIGKILL are delivered by the next."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests._support.alerting import assert_each_alert_delivered_once_per_key, running, settled, wait_for_history
from tests._support.recorder import RecordingServer, Reply

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_alerts_queued_when_the_process_is_killed_are_all_delivered_after_restart(tmp_path):
    count = 25
    storage = tmp_path / "alerts.sqlite3"
    released = False

    async def hang_until_released(request):  # nothing is acknowledged while the first process lives
        while not released:
            await asyncio.sleep(0.05)
        return Reply(200)

    with RecordingServer() as receiver:
        receiver.handler = hang_until_released
        child = subprocess.Popen(
            [sys.executable, "-m", "tests._support.alerting_child", str(storage), f"{receiver.url}/hook", str(count)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            assert child.stdout is not None
            line = child.stdout.readline()
            assert line.strip() == "ACCEPTED", line + child.stdout.read()
            receiver.wait_for(1, "/hook")  # deliveries are under way, unanswered
        finally:
            os.kill(child.pid, signal.SIGKILL)
            child.wait(10)
            if child.stdout is not None:
                child.stdout.close()
        in_flight = len(receiver.received("/hook"))
        released = True
        started = time.monotonic()
        with running(tmp_path, webhook_url=f"{receiver.url}/hook", max_alerts_per_minute=10_000) as manager:
            history = wait_for_history(manager, lambda h: len(h) == count and settled(h), timeout=30)
            recovered = time.monotonic() - started
    assert_each_alert_delivered_once_per_key(history, receiver.received("/hook"))
    titles = sorted(request.json()["alerts"][0]["title"] for request in receiver.received("/hook"))
    assert set(titles) == {f"alert {i}" for i in range(count)}
    print(
        f"\nkill -9 with {count} accepted alerts ({in_flight} requests in flight, unanswered): "
        f"all delivered {recovered:.2f}s after restart; {len(titles)} requests in total"
    )
