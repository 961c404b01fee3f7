"""Rows <-> objects: how alerts, notification bodies and group states are kept as JSON text."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from nethical_otel.alerting.grouping.routing import Group
from nethical_otel.alerting.model import Alert, AlertChannel, AlertSeverity, AlertStatus


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def plain(value: Any) -> Any:
    """A mapping as a dict, any other collection as a list (what JSON can encode)."""
    return dict(value) if isinstance(value, Mapping) else list(value)


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat()


def alert_to_dict(alert: Alert) -> dict[str, Any]:
    return {
        "name": alert.name,
        "title": alert.title,
        "message": alert.message,
        "severity": alert.severity.value,
        "labels": dict(alert.labels),
        "annotations": dict(alert.annotations),
        "status": alert.status.value,
        "starts_at": alert.starts_at,
        "ends_at": alert.ends_at,
        "trace_id": alert.trace_id,
        "span_id": alert.span_id,
    }


def alert_from_dict(data: Mapping[str, Any]) -> Alert:
    return Alert(
        name=data["name"],
        title=data["title"],
        message=data["message"],
        severity=AlertSeverity(data["severity"]),
        labels=dict(data["labels"]),
        annotations=dict(data["annotations"]),
        status=AlertStatus(data["status"]),
        starts_at=float(data["starts_at"]),
        ends_at=None if data["ends_at"] is None else float(data["ends_at"]),
        trace_id=data["trace_id"],
        span_id=data["span_id"],
    )


def group_state(group: Group) -> str:
    return dumps(
        {
            "alert": alert_to_dict(group.alert),
            "alert_id": group.alert_id,
            "firing": group.firing,
            "told_firing": group.told_firing,
            "notified_at": group.notified_at,
            "pending": group.pending,
            "pending_since": group.pending_since,
            "wait_until": group.wait_until,
            "last_sent_at": group.last_sent_at,
            "source": group.source,
        }
    )


def group_from(fingerprint: str, channel: str, state: str) -> Group:
    data = json.loads(state)
    return Group(
        fingerprint=fingerprint,
        channel=AlertChannel(channel),
        alert=alert_from_dict(data["alert"]),
        alert_id=int(data["alert_id"]),
        firing=bool(data["firing"]),
        told_firing=bool(data["told_firing"]),
        notified_at=data["notified_at"],
        pending=int(data["pending"]),
        pending_since=float(data["pending_since"]),
        wait_until=data["wait_until"],
        last_sent_at=float(data["last_sent_at"]),
        source=str(data.get("source", "")),
    )
