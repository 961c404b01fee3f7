"""What every human-readable channel says about a notification, before channel-specific formatting.

The strings here are still untrusted (they carry titles, labels and annotations that an attacker may
control); each channel escapes and cuts them by its own rules.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone

from nethical_otel.alerting.model import AlertSeverity, AlertStatus, Notification

# Slack's attachment colours ("danger" red, amber, blue; "good" green once resolved), used by email too.
COLOURS = {AlertSeverity.CRITICAL: "#D00000", AlertSeverity.WARNING: "#E8A317", AlertSeverity.INFO: "#439FE0"}
RESOLVED_COLOUR = "#2EB886"


def headline(notification: Notification) -> str:
    """``[FIRING] CRITICAL: <title>`` or ``[RESOLVED] CRITICAL: <title>``."""
    alert = notification.alert
    return f"[{alert.status.value.upper()}] {alert.severity.value.upper()}: {alert.title}"


def occurrence_note(notification: Notification) -> str | None:
    """ "and 37 more since 12:00:01 UTC" when the notification stands for several occurrences."""
    more = notification.occurrences - 1
    if more < 1:
        return None
    since = f" since {clock(notification.first_seen)}" if notification.first_seen > 0 else ""
    return f"and {more} more{since}"


def facts(notification: Notification) -> list[tuple[str, str]]:
    """Name/value pairs shown with the message: labels, then annotations, then the trace link ids."""
    alert = notification.alert
    pairs = sorted(alert.labels.items())
    pairs += sorted((name, value) for name, value in alert.annotations.items() if name not in alert.labels)
    if alert.trace_id:
        pairs.append(("trace_id", alert.trace_id))
    if alert.span_id:
        pairs.append(("span_id", alert.span_id))
    return pairs


def colour(notification: Notification) -> str:
    """The notification's colour as ``#RRGGBB``: by severity while firing, green once resolved."""
    alert = notification.alert
    return RESOLVED_COLOUR if alert.status is AlertStatus.RESOLVED else COLOURS[alert.severity]


def footer(notification: Notification) -> str:
    return f"nethical-otel · {notification.alert.name} · {notification.alert.fingerprint}"


def wants_mentions(notification: Notification, minimum: AlertSeverity) -> bool:
    """Deliberate mentions go out for firing alerts at or above ``minimum``, never for resolved ones."""
    alert = notification.alert
    return alert.status is AlertStatus.FIRING and alert.severity.rank >= minimum.rank


def event_time(notification: Notification) -> float:
    """When the alert started (or ended, once resolved); now when the alert does not say."""
    alert = notification.alert
    if alert.status is AlertStatus.RESOLVED and alert.ends_at:
        return alert.ends_at
    return alert.starts_at or time.time()


def iso8601(timestamp: float) -> str:
    """RFC 3339 UTC with milliseconds, e.g. ``2026-05-01T12:00:01.250Z``."""
    moment = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def clock(timestamp: float) -> str:
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
