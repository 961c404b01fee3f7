"""How long the history is kept: removed by age and by count, or cleared on request. Notifications still
being delivered are never removed (their bodies are self-contained)."""

from __future__ import annotations

from nethical_otel.alerting.store.database import Database
from nethical_otel.alerting.store.leases import ACTIVE


def clear_history(db: Database) -> int:
    """Remove the history; returns how many alerts it held."""
    with db.transaction():
        count = int(db.row("SELECT count(*) FROM alerts")[0])
        db.execute("DELETE FROM alerts")
        db.execute("DELETE FROM deliveries")
        db.execute("DELETE FROM occurrences")
        db.execute("DELETE FROM notifications WHERE state NOT IN (?, ?)", ACTIVE)
    return count


def apply_retention(db: Database, now: float, max_age_seconds: float, max_alerts: int) -> int:
    """Delete history older than ``max_age_seconds`` or beyond ``max_alerts``; returns the alerts removed."""
    with db.transaction():
        cutoff = now - max_age_seconds
        floor = db.row("SELECT id FROM alerts ORDER BY id DESC LIMIT 1 OFFSET ?", (max_alerts,))
        removed = db.execute(
            "DELETE FROM alerts WHERE created_at < ? OR id <= ?", (cutoff, floor[0] if floor else -1)
        ).rowcount
        db.execute("DELETE FROM deliveries WHERE alert_id NOT IN (SELECT id FROM alerts)")
        db.execute("DELETE FROM occurrences WHERE alert_id NOT IN (SELECT id FROM alerts)")
        db.execute("DELETE FROM notifications WHERE state NOT IN (?, ?) AND updated_at < ?", (*ACTIVE, cutoff))
    return int(removed)
