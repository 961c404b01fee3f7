"""Reading the history: recent alerts in the original ``get_alert_history`` shape, with each channel's
delivery status, filtered by time, severity, status and channel; and an entry's occurrences."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from nethical_otel.alerting.model import AlertChannel, AlertSeverity, AlertStatus, DeliveryStatus
from nethical_otel.alerting.store.codec import iso
from nethical_otel.alerting.store.database import Database

_PENDING = DeliveryStatus.PENDING.value
_ALERT_STATUSES = tuple(status.value for status in AlertStatus)
# The status a history entry shows: the notification's state when the alert was notified, else the outcome.
_EFFECTIVE_STATUS = f"(CASE WHEN d.outcome = '{_PENDING}' AND n.state IS NOT NULL THEN n.state ELSE d.outcome END)"
_CHUNK = 500
_COLUMNS = (
    "id, created_at, fingerprint, name, title, message, severity, status, labels, annotations, metadata, channels,"
    " trace_id, span_id, starts_at, ends_at, occurrences"
)


@dataclass(frozen=True)
class HistoryQuery:
    limit: int = 100
    since: float | None = None
    until: float | None = None
    severity: tuple[str, ...] = ()
    status: str | None = None  # an alert status (firing, resolved) or a delivery status (sent, failed, ...)
    channel: str | None = None

    @classmethod
    def of(
        cls,
        limit: int = 100,
        since: float | None = None,
        until: float | None = None,
        severity: AlertSeverity | str | Iterable[AlertSeverity | str] | None = None,
        status: DeliveryStatus | AlertStatus | str | None = None,
        channel: AlertChannel | str | None = None,
    ) -> HistoryQuery:
        """A query from the arguments of ``get_alert_history`` (names or enums; a severity or several)."""
        severities = [severity] if isinstance(severity, (AlertSeverity, str)) else list(severity or ())
        return cls(
            limit=limit,
            since=since,
            until=until,
            severity=tuple(AlertSeverity(s).value for s in severities),
            status=None if status is None else getattr(status, "value", status),
            channel=None if channel is None else AlertChannel(channel).value,
        )


class History:
    def __init__(self, db: Database) -> None:
        self._db = db

    def query(self, query: HistoryQuery) -> list[dict[str, Any]]:
        """Recent alerts, oldest first, in the original ``get_alert_history`` shape plus delivery status."""
        clauses, params = _filter(query)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.rows(
            f"SELECT {_COLUMNS} FROM alerts a{where} ORDER BY id DESC LIMIT ?", (*params, max(0, query.limit))
        )
        rows.reverse()
        deliveries = self._deliveries([row[0] for row in rows])
        return [_entry(row, deliveries.get(row[0], [])) for row in rows]

    def occurrences(self, alert_id: int) -> list[dict[str, Any]]:
        rows = self._db.rows(
            "SELECT at, trace_id, span_id, confidence, count FROM occurrences WHERE alert_id = ? ORDER BY at, rowid",
            (alert_id,),
        )
        return [
            {"timestamp": iso(at), "trace_id": trace_id, "span_id": span_id, "confidence": confidence, "count": count}
            for at, trace_id, span_id, confidence, count in rows
        ]

    def notification_states(self, alert_id: int) -> dict[str, tuple[str, str]]:
        """Per channel, the effective delivery status of one alert and its reason."""
        return {
            entry["channel"]: (entry["status"], entry["reason"])
            for entry in self._deliveries([alert_id]).get(alert_id, [])
        }

    def count_alerts(self) -> int:
        return int(self._db.row("SELECT coalesce(sum(occurrences), 0) FROM alerts")[0])

    def _deliveries(self, alert_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        found: dict[int, list[dict[str, Any]]] = {}
        for start in range(0, len(alert_ids), _CHUNK):
            chunk = alert_ids[start : start + _CHUNK]
            rows = self._db.rows(
                f"SELECT d.alert_id, d.channel, {_EFFECTIVE_STATUS}, d.outcome, d.reason, n.last_error, n.attempts,"
                " n.updated_at, n.idempotency_key, n.state FROM deliveries d"
                " LEFT JOIN notifications n ON n.id = d.notification_id"
                f" WHERE d.alert_id IN ({','.join('?' * len(chunk))}) ORDER BY d.channel",
                chunk,
            )
            for alert_id, channel, status, outcome, reason, error, attempts, updated, key, state in rows:
                entry: dict[str, Any] = {"channel": channel, "status": status, "reason": reason or error or ""}
                if key is not None:
                    entry["attempts"] = attempts
                    entry["updated_at"] = iso(updated)
                    entry["idempotency_key"] = key
                    if outcome != _PENDING:  # grouped: which notification reports it, and how it went
                        entry["reported_by"] = {"idempotency_key": key, "status": state, "reason": error or ""}
                found.setdefault(alert_id, []).append(entry)
        return found


def _filter(query: HistoryQuery) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.since is not None:
        clauses.append("a.created_at >= ?")
        params.append(query.since)
    if query.until is not None:
        clauses.append("a.created_at <= ?")
        params.append(query.until)
    if query.severity:
        clauses.append(f"a.severity IN ({','.join('?' * len(query.severity))})")
        params.extend(query.severity)
    if query.status in _ALERT_STATUSES:
        clauses.append("a.status = ?")
        params.append(query.status)
    elif query.status is not None or query.channel is not None:
        condition = ["d.alert_id = a.id"]
        if query.status is not None:
            condition.append(f"{_EFFECTIVE_STATUS} = ?")
            params.append(query.status)
        if query.channel is not None:
            condition.append("d.channel = ?")
            params.append(query.channel)
        clauses.append(
            "EXISTS (SELECT 1 FROM deliveries d LEFT JOIN notifications n ON n.id = d.notification_id"
            f" WHERE {' AND '.join(condition)})"
        )
    return clauses, params


def _entry(row: Sequence[Any], deliveries: list[dict[str, Any]]) -> dict[str, Any]:
    (alert_id, created_at, fingerprint, name, title, message, severity, status, labels, annotations, metadata,
     channels, trace_id, span_id, starts_at, ends_at, occurrences) = row  # fmt: skip
    return {
        "title": title,
        "message": message,
        "severity": severity,
        "channels": json.loads(channels),
        "timestamp": iso(created_at),
        "metadata": json.loads(metadata),
        "id": alert_id,
        "name": name,
        "fingerprint": fingerprint,
        "status": status,
        "labels": json.loads(labels),
        "annotations": json.loads(annotations),
        "trace_id": trace_id,
        "span_id": span_id,
        "starts_at": iso(starts_at),
        "ends_at": iso(ends_at),
        "occurrences": occurrences,
        "delivery": {entry.pop("channel"): entry for entry in deliveries},
    }
