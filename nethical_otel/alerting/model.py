"""The alerting data model: what an alert is, and what a channel is asked to deliver."""

from __future__ import annotations

import enum
import functools
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class AlertSeverity(str, enum.Enum):
    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"


class AlertChannel(str, enum.Enum):
    SLACK = "slack"
    EMAIL = "email"
    PAGERDUTY = "pagerduty"
    DISCORD = "discord"
    WEBHOOK = "webhook"
    ALERTMANAGER = "alertmanager"
    CONSOLE = "console"


class AlertStatus(str, enum.Enum):
    FIRING = "firing"
    RESOLVED = "resolved"


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


class DeliveryStatus(str, enum.Enum):
    """What happened to one alert on one channel, as the history reports it."""

    PENDING = "pending"  # a notification is queued and not yet attempted
    RETRYING = "retrying"  # attempted, failed for now, will be retried
    SENT = "sent"
    FAILED = "failed"  # permanently, with the reason
    RATE_LIMITED = (
        "rate_limited"  # over the channel's or the alert's budget: counted into the group's next notification
    )
    GROUPED = "grouped"  # folded into its group's notification (the "and N more")
    SILENCED = "silenced"  # matched an active silence
    SKIPPED = "skipped"  # nothing to say on this channel (e.g. a resolve for a channel that is not told of resolves)
    OVERFLOW = "overflow"  # its source had too many alert groups open: counted in the source's overflow group
    DROPPED = "dropped"  # given up without being recorded (the store could not be written): counted and logged


SEVERITY_RANK = {AlertSeverity.INFO: 0, AlertSeverity.WARNING: 1, AlertSeverity.CRITICAL: 2}
