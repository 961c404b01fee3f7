"""Helpers for the alerting pipeline tests: settings on tmp paths, waiting on history, webhook verification."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from nethical_otel.alerting import AlertManager
from tests._support.net import wait_until

FAST_RETRIES = {"retry_initial_delay_seconds": 0.05, "retry_max_delay_seconds": 0.2}


def settings(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    """An ``alerting`` section whose SQLite file lives in ``tmp_path``, with fast retries."""
    return {"storage_path": str(tmp_path / "alerts.sqlite3"), "console": "off", **FAST_RETRIES, **overrides}


@contextmanager
def running(tmp_path: Path, **overrides: Any) -> Iterator[AlertManager]:
    manager = AlertManager(settings(tmp_path, **overrides))
    try:
        yield manager
    finally:
        manager.shutdown(timeout=2.0)


def wait_for_history(
    manager: AlertManager,
    done: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 15.0,
    limit: int = 1000,
) -> list[dict[str, Any]]:
    """Poll the history until ``done(history)`` holds; returns that history."""
    seen: list[dict[str, Any]] = []

    def check() -> bool:
        seen[:] = manager.get_alert_history(limit)
        return done(seen)

    wait_until(check, timeout, "the alert history to settle", interval=0.05)
    return seen


def statuses(entry: Mapping[str, Any]) -> dict[str, str]:
    return {channel: delivery["status"] for channel, delivery in entry["delivery"].items()}


def settled(history: list[dict[str, Any]]) -> bool:
    """No channel of any alert is still pending or retrying."""
    return bool(history) and all(
        status not in ("pending", "retrying") for entry in history for status in statuses(entry).values()
    )


def assert_each_alert_delivered_once_per_key(history: list[dict[str, Any]], requests: list[Any]) -> int:
    """Every alert reached the webhook as ``sent``; repeated requests (at-least-once) only ever repeat one
    notification: same ``webhook-id``, same document. Returns the number of requests."""
    assert all(statuses(entry) == {"webhook": "sent"} for entry in history)
    bodies: dict[str, set[bytes]] = {}
    for request in requests:
        bodies.setdefault(request.headers["webhook-id"], set()).add(request.body)
    assert set(bodies) == {entry["delivery"]["webhook"]["idempotency_key"] for entry in history}
    assert all(len(documents) == 1 for documents in bodies.values())
    return len(requests)


def verify_standard_webhook(headers: Mapping[str, str], body: bytes, secret: str) -> None:
    """Verify a Standard Webhooks signature as a receiver does: with the specification's official library."""
    from standardwebhooks import Webhook

    Webhook(secret).verify(body, dict(headers))
