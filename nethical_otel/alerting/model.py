"""The alerting data model: what an alert is, and what a channel is asked to deliver."""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nethical_otel.semconv import AlertChannel, AlertSeverity, AlertStatus, DeliveryStatus


def fingerprint(name: str, labels: Mapping[str, str]) -> str:
    """Alert identity: the rule (or title) name and the label set, as 16 hex characters."""
    return _fingerprint(name, tuple(sorted(labels.items())))


@functools.lru_cache(maxsize=4096)  # a storm repeats a few label sets thousands of times
def _fingerprint(name: str, items: tuple[tuple[str, str], ...]) -> str:
    # ASCII escapes keep it defined for every string, lone surrogates included.
    canonical = json.dumps([name, items], separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()[:16]


@dataclass(frozen=True)
class Alert:
    """One occurrence of an alert. ``labels`` identify it; ``annotations`` describe it."""

    name: str
    title: str
    message: str
    severity: AlertSeverity
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    status: AlertStatus = AlertStatus.FIRING
    starts_at: float = 0.0  # Unix seconds
    ends_at: float | None = None
    trace_id: str | None = None  # 32 hex characters, when the alert came from a span
    span_id: str | None = None  # 16 hex characters

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.name, self.labels)


@dataclass(frozen=True)
class Notification:
    """What one channel is asked to deliver: the current state of one alert group.

    ``occurrences`` counts the alerts folded into this notification since the previous one for the same
    fingerprint ("and 37 more in the last minute" is ``occurrences - 1``). ``idempotency_key`` is stable
    across retries and restarts of the same notification on the same channel.
    """

    alert: Alert
    channel: AlertChannel
    idempotency_key: str
    occurrences: int = 1
    first_seen: float = 0.0
    last_seen: float = 0.0
    reason: str = "first notification"
    extra: Mapping[str, Any] = field(default_factory=dict)


__all__ = ["Alert", "AlertChannel", "AlertSeverity", "AlertStatus", "DeliveryStatus", "Notification", "fingerprint"]
