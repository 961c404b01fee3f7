"""A full disk under the alert store (a real 1 MiB tmpfs): CRITICAL threats are delivered from memory,
what is held is written once there is room again, and what is finally given up is counted and logged
once with the store's path. Nothing is lost silently."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest

from nethical_otel import instrument_detector
from nethical_otel.alerting import get_alert_manager
from tests._support.alerting import settings
from tests._support.mounts import fill, tmpfs
from tests._support.net import wait_until
from tests._support.pipeline import attrs, capture
from tests._support.recorder import RecordingServer

pytestmark = pytest.mark.integration
THREATS = 20


def critical_detector():
    @instrument_detector("prompt_injection")
    def detect(category: str) -> dict[str, Any]:
        return {"threat_level": "CRITICAL", "category": category, "confidence": 0.99}

    return detect


def told(requests) -> int:
    """Occurrences the receiver was told about (a notification counts its group's occurrences)."""
    return sum(r.json()["occurrences"] for r in requests)


def test_a_disk_full_for_good_delivers_critical_threats_from_memory_and_counts_the_rest_as_dropped(tmp_path, caplog):
    with tmpfs(tmp_path / "disk", "1m") as disk, RecordingServer() as receiver:
        alerting = settings(disk, webhook_url=f"{receiver.url}/hook", max_alerts_per_minute=10)
        with caplog.at_level(logging.WARNING, "nethical_otel.alerting"), capture({"alerting": alerting}) as cap:
            manager = get_alert_manager()
            assert manager is not None
            fill(disk)
            detect = critical_detector()
            for index in range(THREATS):
                detect(f"attack-{index}")
            receiver.wait_for(1, "/hook", timeout=10)
            manager.shutdown(timeout=5.0)  # the disk is still full: what could not be told is given up
            counts = cap.metrics()["nethical_alerts"]
        delivered = told(receiver.received("/hook"))
    dropped = counts.get(attrs(channel="webhook", severity="critical", outcome="dropped"), 0)
    print(f"\nfull disk, {THREATS} CRITICAL: {delivered} delivered from memory, {dropped} counted as dropped")
    assert delivered >= 10 and delivered + dropped == THREATS
    messages = [r.getMessage() for r in caplog.records]
    assert sum("cannot be written" in m and str(disk) in m for m in messages if "dropped" in m) == 1
    assert any("held in memory" in m and str(disk) in m for m in messages)


def test_critical_threats_during_a_full_disk_are_delivered_and_recorded_once_there_is_room(tmp_path):
    with tmpfs(tmp_path / "disk", "1m") as disk, RecordingServer() as receiver:
        alerting = settings(disk, webhook_url=f"{receiver.url}/hook", max_alerts_per_minute=60)
        with capture({"alerting": alerting}):
            manager = get_alert_manager()
            assert manager is not None
            filler = fill(disk)
            detect = critical_detector()
            started = time.monotonic()
            for index in range(THREATS):
                detect(f"attack-{index}")
            receiver.wait_for(THREATS, "/hook", timeout=10)
            from_memory = time.monotonic() - started
            assert manager.get_alert_history() == []  # nothing could be written yet
            filler.unlink()

            def recorded() -> bool:
                return sum(e["occurrences"] for e in manager.get_alert_history()) == THREATS

            wait_until(recorded, 40, "the held threats to be written")
            history = manager.get_alert_history()
        requests = receiver.received("/hook")
    print(f"\nfull disk: {THREATS} CRITICAL delivered from memory in {from_memory:.2f}s, recorded after the disk freed")
    assert told(requests) == THREATS and len({r.headers["webhook-id"] for r in requests}) == THREATS
    assert {e["delivery"]["webhook"]["status"] for e in history} == {"sent"}
    assert all("from memory" in e["delivery"]["webhook"]["reason"] for e in history)
