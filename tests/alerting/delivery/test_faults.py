"""Delivery under faults, against real HTTP servers on 127.0.0.1: 5xx, 429 with Retry-After, timeouts,
permanent 4xx, giving up, and recovery; one failing channel never delays or re-sends another.

Measured numbers are printed (``pytest -s``) for docs/alerting.md.
"""

from __future__ import annotations

import time
from itertools import pairwise

import pytest

from tests._support.alerting import (
    assert_each_alert_delivered_once_per_key,
    running,
    settled,
    statuses,
    wait_for_history,
)
from tests._support.recorder import RecordingServer, Reply

pytestmark = pytest.mark.integration


@pytest.fixture
def receiver():
    with RecordingServer() as server:
        yield server


def test_5xx_is_retried_with_backoff_under_one_idempotency_key_until_delivered(tmp_path, receiver):
    receiver.script = [Reply(500), Reply(502), Reply(503)]
    with running(tmp_path, webhook_url=f"{receiver.url}/hook") as manager:
        manager.send_alert_sync("t", "m", "warning")
        (entry,) = wait_for_history(manager, settled)
    requests = receiver.received("/hook")
    assert len(requests) == 4
    assert {r.headers["webhook-id"] for r in requests} == {entry["delivery"]["webhook"]["idempotency_key"]}
    assert len({r.body for r in requests}) == 1  # the very same document each time
    assert entry["delivery"]["webhook"] | {"updated_at": None} == {
        "status": "sent",
        "reason": "",
        "attempts": 4,
        "updated_at": None,
        "idempotency_key": requests[0].headers["webhook-id"],
    }
    gaps = [b.received_at - a.received_at for a, b in pairwise(requests)]
    assert all(gap >= 0.02 for gap in gaps), gaps  # backoff (0.05 s ±50 %, doubling), not a hot loop
    print(f"\n5xx x3 then 200: delivered after {requests[-1].received_at - requests[0].received_at:.2f}s, gaps {gaps}")


def test_429_retry_after_is_honoured(tmp_path, receiver):
    receiver.script = [Reply(429, headers={"Retry-After": "1"})]
    with running(tmp_path, webhook_url=f"{receiver.url}/hook") as manager:
        manager.send_alert_sync("t", "m", "warning")
        (entry,) = wait_for_history(manager, settled)
    first, second = receiver.received("/hook")
    waited = second.received_at - first.received_at
    assert 0.95 <= waited < 3.0, waited
    assert statuses(entry) == {"webhook": "sent"}
    print(f"\n429 Retry-After: 1 -> retried after {waited:.2f}s")


def test_a_timeout_is_retried_and_the_duplicate_carries_the_same_idempotency_key(tmp_path, receiver):
    receiver.script = [Reply(200, delay=1.5)]  # received, but answered after the client gave up
    with running(tmp_path, webhook_url=f"{receiver.url}/hook", request_timeout_seconds=0.3) as manager:
        manager.send_alert_sync("t", "m", "warning")
        (entry,) = wait_for_history(manager, settled)
    first, second = receiver.received("/hook")
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert entry["delivery"]["webhook"]["status"] == "sent" and entry["delivery"]["webhook"]["attempts"] == 2


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (Reply(400), "HTTP 400"),
        (Reply(410), "HTTP 410: the receiver asked to stop (endpoint gone)"),
        (Reply(301, headers={"Location": "http://127.0.0.1:1/x"}), "HTTP 301: redirects are not followed"),
    ],
)
def test_permanent_answers_fail_at_once_with_the_reason(tmp_path, receiver, reply, reason):
    receiver.default = reply
    with running(tmp_path, webhook_url=f"{receiver.url}/hook") as manager:
        manager.send_alert_sync("t", "m", "warning")
        (entry,) = wait_for_history(manager, settled)
        time.sleep(0.3)
    assert entry["delivery"]["webhook"]["status"] == "failed"
    assert entry["delivery"]["webhook"]["reason"] == reason
    assert len(receiver.received("/hook")) == 1


def test_a_notification_is_given_up_after_give_up_after_seconds(tmp_path, receiver):
    receiver.default = Reply(500)
    with running(tmp_path, webhook_url=f"{receiver.url}/hook", give_up_after_seconds=0.5) as manager:
        manager.send_alert_sync("t", "m", "warning")
        (entry,) = wait_for_history(manager, settled)
    delivery = entry["delivery"]["webhook"]
    assert delivery["status"] == "failed" and delivery["reason"].startswith("gave up after")
    assert delivery["reason"].endswith("last: HTTP 500")


def test_a_hanging_channel_never_delays_or_resends_another(tmp_path, receiver):
    receiver.default = Reply(200, delay=1.5)  # the webhook hangs past its timeout, every time
    with RecordingServer() as alertmanager:
        with running(
            tmp_path,
            webhook_url=f"{receiver.url}/hook",
            alertmanager_url=alertmanager.url,
            console="on",
            request_timeout_seconds=0.5,
        ) as manager:
            started = time.monotonic()
            for i in range(5):
                manager.send_alert_sync(f"alert {i}", "m", "critical")
            alertmanager.wait_for(5, "/api/v2/alerts", timeout=10)
            fast = time.monotonic() - started
            history = wait_for_history(
                manager, lambda h: len(h) == 5 and all(statuses(e)["console"] == "sent" for e in h)
            )
            console_done = time.monotonic() - started
        assert fast < 1.0 and console_done < 1.5, (fast, console_done)
        assert all(statuses(e)["webhook"] in ("pending", "retrying") for e in history)
        assert len(alertmanager.received("/api/v2/alerts")) == 5  # sent once each, never again
    print(f"\nwebhook hanging: alertmanager got all 5 in {fast:.2f}s, console in {console_done:.2f}s")


def test_an_outage_then_recovery_delivers_every_alert_and_duplicates_share_their_key(tmp_path, receiver):
    recovered_at = time.time() + 1.0

    def outage_then_flaky(request):
        if time.time() < recovered_at:
            return Reply(503)
        # After recovery, every third answer is too slow: the client retries what the server already has.
        return Reply(200, delay=1.0) if len(receiver.requests) % 3 == 0 else Reply(200)

    receiver.handler = outage_then_flaky
    count = 30
    with running(
        tmp_path,
        webhook_url=f"{receiver.url}/hook",
        max_alerts_per_minute=1000,
        max_groups_per_source=100,
        request_timeout_seconds=0.5,
    ) as manager:
        started = time.monotonic()
        for i in range(count):
            manager.send_alert_sync(f"alert {i}", "m", "warning")
        history = wait_for_history(manager, lambda h: len(h) == count and settled(h), timeout=30)
        elapsed = time.monotonic() - started
    requests = assert_each_alert_delivered_once_per_key(history, receiver.received("/hook"))
    assert {r.json()["alerts"][0]["title"] for r in receiver.received("/hook")} == {f"alert {i}" for i in range(count)}
    attempts = sum(e["delivery"]["webhook"]["attempts"] for e in history)
    print(
        f"\noutage 1.0s + slow answers: {count} alerts delivered in {elapsed:.2f}s, "
        f"{requests} requests, {attempts} attempts recorded"
    )
