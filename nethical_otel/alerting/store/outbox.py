"""The outbox: accepted alerts and the notifications to deliver, each with its idempotency key.

An alert is *accepted* once the transaction recording it has committed; from then on its notifications
survive a crash or restart and are delivered at least once. Each notification row carries its
idempotency key, generated once, so every retry (in this process or the next) presents the same key.
A notification row is owned by one process at a time (see :mod:`.leases`); only the owner delivers it.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nethical_otel.alerting.grouping.routing import ChannelDecision, PlannedNotification
from nethical_otel.alerting.model import Alert, AlertChannel, DeliveryStatus, Notification
from nethical_otel.alerting.store.codec import alert_from_dict, alert_to_dict, dumps, plain
from nethical_otel.alerting.store.database import Database
from nethical_otel.alerting.store.leases import ACTIVE, LEASE_SECONDS

_PENDING, _SENT, _RETRYING, _FAILED = (
    DeliveryStatus.PENDING.value,
    DeliveryStatus.SENT.value,
    DeliveryStatus.RETRYING.value,
    DeliveryStatus.FAILED.value,
)
_COUNTED = (DeliveryStatus.GROUPED.value, DeliveryStatus.RATE_LIMITED.value)  # reported by a later follow-up


@dataclass(frozen=True)
class Accepted:
    """An alert occurrence to record, with what routing decided for each channel."""

    alert: Alert
    channels: tuple[str, ...]  # as requested (unconfigured ones included)
    metadata: Mapping[str, Any]
    created_at: float
    occurrences: int = 1


@dataclass(frozen=True)
class DueNotification:
    id: int
    notification: Notification
    attempts: int
    created_at: float


def _not_in(excluded: tuple[int, ...]) -> str:
    return f" AND id NOT IN ({','.join('?' * len(excluded))})" if excluded else ""


class Outbox:
    def __init__(self, db: Database, owner: str) -> None:
        self._db = db
        self._owner = owner

    # Accepting (inside a transaction) ---------------------------------------------------------------
    def insert_alerts(self, accepted: Sequence[Accepted]) -> list[int]:
        """Insert history rows; returns their ids in order."""
        if not accepted:
            return []
        # Occurrences of one storm share their label, metadata and channel objects: encode each once.
        encoded: dict[int, str] = {}

        def encode(value: Any) -> str:
            text = encoded.get(id(value))
            if text is None:
                text = encoded[id(value)] = dumps(value if isinstance(value, (dict, list)) else plain(value))
            return text

        rows = [
            (
                item.created_at,
                item.alert.fingerprint,
                item.alert.name,
                item.alert.title,
                item.alert.message,
                item.alert.severity.value,
                item.alert.status.value,
                encode(item.alert.labels),
                encode(item.alert.annotations),
                encode(item.metadata),
                encode(item.channels),
                item.alert.trace_id,
                item.alert.span_id,
                item.alert.starts_at,
                item.alert.ends_at,
                item.occurrences,
            )
            for item in accepted
        ]
        self._db.executemany(
            "INSERT INTO alerts (created_at, fingerprint, name, title, message, severity, status, labels, annotations,"
            " metadata, channels, trace_id, span_id, starts_at, ends_at, occurrences)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        # Inside one BEGIN IMMEDIATE transaction nobody else writes, so the rowids are consecutive.
        last = int(self._db.row("SELECT last_insert_rowid()")[0])
        return list(range(last - len(rows) + 1, last + 1))

    def insert_occurrences(self, rows: Iterable[tuple[int, float, str | None, str | None, float | None, int]]) -> None:
        """The individual threat occurrences a history entry stands for: time, trace and span ids, confidence."""
        self._db.executemany(
            "INSERT INTO occurrences (alert_id, at, trace_id, span_id, confidence, count) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    def insert_notification(self, planned: PlannedNotification, now: float) -> int:
        """A notification row owned by this process, due now."""
        body = dumps(
            {
                "alert": alert_to_dict(planned.alert),
                "occurrences": planned.occurrences,
                "first_seen": planned.first_seen,
                "last_seen": planned.last_seen,
                "reason": planned.reason,
            }
        )
        cursor = self._db.execute(
            "INSERT INTO notifications (idempotency_key, channel, alert_id, fingerprint, state, body, created_at,"
            " next_attempt_at, updated_at, owner, lease_until) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                secrets.token_hex(16),
                planned.channel.value,
                planned.alert_id,
                planned.alert.fingerprint,
                _PENDING,
                body,
                now,
                now,
                now,
                self._owner,
                now + LEASE_SECONDS,
            ),
        )
        return int(cursor.lastrowid or 0)

    def insert_deliveries(self, rows: Iterable[tuple[int, ChannelDecision, int | None]]) -> None:
        """Per alert and channel: what routing decided, and the notification when it notified."""
        self._db.executemany(
            "INSERT OR REPLACE INTO deliveries (alert_id, channel, outcome, reason, notification_id)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (alert_id, decision.channel.value, decision.status.value, decision.reason, notification_id)
                for alert_id, decision, notification_id in rows
            ],
        )

    def insert_unrouted(self, rows: Iterable[tuple[int, str, DeliveryStatus, str]]) -> None:
        """Per alert and channel name, a status that never reached the router (e.g. channel not configured)."""
        self._db.executemany(
            "INSERT OR REPLACE INTO deliveries (alert_id, channel, outcome, reason) VALUES (?, ?, ?, ?)",
            [(alert_id, channel, status.value, reason) for alert_id, channel, status, reason in rows],
        )

    def link_follow_up(self, fingerprint: str, channel: AlertChannel, notification_id: int) -> None:
        """Point the grouped and rate-limited occurrences of a group at the follow-up that reports them."""
        self._db.execute(
            "UPDATE deliveries SET notification_id = ? WHERE channel = ? AND notification_id IS NULL"
            " AND outcome IN (?, ?) AND alert_id IN (SELECT id FROM alerts WHERE fingerprint = ?)",
            (notification_id, channel.value, *_COUNTED, fingerprint),
        )

    # Delivering -------------------------------------------------------------------------------------
    def due(self, channel: AlertChannel, now: float, limit: int, exclude: Iterable[int]) -> list[int]:
        excluded = tuple(exclude)
        rows = self._db.rows(
            "SELECT id FROM notifications WHERE state IN (?, ?) AND channel = ? AND owner = ?"
            f" AND next_attempt_at <= ?{_not_in(excluded)} ORDER BY next_attempt_at, id LIMIT ?",
            (*ACTIVE, channel.value, self._owner, now, *excluded, limit),
        )
        return [int(row[0]) for row in rows]

    def next_due(self, channel: AlertChannel, exclude: Iterable[int]) -> float | None:
        excluded = tuple(exclude)
        row = self._db.row(
            "SELECT min(next_attempt_at) FROM notifications"
            f" WHERE state IN (?, ?) AND channel = ? AND owner = ?{_not_in(excluded)}",
            (*ACTIVE, channel.value, self._owner, *excluded),
        )
        return None if row is None or row[0] is None else float(row[0])

    def load(self, notification_id: int) -> DueNotification | None:
        row = self._db.row(
            "SELECT idempotency_key, channel, body, attempts, created_at FROM notifications"
            " WHERE id = ? AND state IN (?, ?) AND owner = ?",
            (notification_id, *ACTIVE, self._owner),
        )
        if row is None:
            return None
        key, channel, body, attempts, created_at = row
        data = json.loads(body)
        notification = Notification(
            alert=alert_from_dict(data["alert"]),
            channel=AlertChannel(channel),
            idempotency_key=key,
            occurrences=int(data["occurrences"]),
            first_seen=float(data["first_seen"]),
            last_seen=float(data["last_seen"]),
            reason=data["reason"],
        )
        return DueNotification(notification_id, notification, int(attempts), float(created_at))

    def mark_sent(self, notification_id: int, attempts: int, now: float) -> None:
        self._db.execute(
            "UPDATE notifications SET state = ?, attempts = ?, sent_at = ?, updated_at = ?, last_error = '',"
            " owner = NULL WHERE id = ?",
            (_SENT, attempts, now, now, notification_id),
        )

    def mark_retry(self, notification_id: int, attempts: int, next_attempt_at: float, reason: str, now: float) -> None:
        self._db.execute(
            "UPDATE notifications SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?,"
            " updated_at = ? WHERE id = ?",
            (_RETRYING, attempts, next_attempt_at, reason, now, notification_id),
        )

    def mark_failed(self, notification_id: int, attempts: int, reason: str, now: float) -> None:
        self._db.execute(
            "UPDATE notifications SET state = ?, attempts = ?, last_error = ?, updated_at = ?, owner = NULL"
            " WHERE id = ?",
            (_FAILED, attempts, reason, now, notification_id),
        )

    def active_by_channel(self) -> dict[str, int]:
        rows = self._db.rows(
            "SELECT channel, count(*) FROM notifications WHERE state IN (?, ?) AND owner = ? GROUP BY channel",
            (*ACTIVE, self._owner),
        )
        return {str(channel): int(count) for channel, count in rows}
