"""The store's tables, and bringing an older file up to date."""

from __future__ import annotations

import uuid

from nethical_otel.alerting.store.database import Database

SCHEMA_VERSION = 2
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS alerts (
    id INTEGER PRIMARY KEY,
    created_at REAL NOT NULL,
    fingerprint TEXT NOT NULL,
    name TEXT NOT NULL,
    title TEXT NOT NULL,
    message TEXT NOT NULL,
    severity TEXT NOT NULL,
    status TEXT NOT NULL,
    labels TEXT NOT NULL,
    annotations TEXT NOT NULL,
    metadata TEXT NOT NULL,
    channels TEXT NOT NULL,
    trace_id TEXT,
    span_id TEXT,
    starts_at REAL,
    ends_at REAL,
    occurrences INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS alerts_by_time ON alerts (created_at);
CREATE INDEX IF NOT EXISTS alerts_by_fingerprint ON alerts (fingerprint, id);
CREATE TABLE IF NOT EXISTS occurrences (
    alert_id INTEGER NOT NULL,
    at REAL NOT NULL,
    trace_id TEXT,
    span_id TEXT,
    confidence REAL,
    count INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS occurrences_by_alert ON occurrences (alert_id);
CREATE TABLE IF NOT EXISTS notifications (
    id INTEGER PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    alert_id INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL,
    body TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    next_attempt_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    sent_at REAL,
    last_error TEXT NOT NULL DEFAULT '',
    owner TEXT,
    lease_until REAL NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (state, channel, next_attempt_at);
CREATE INDEX IF NOT EXISTS notifications_by_alert ON notifications (alert_id);
CREATE TABLE IF NOT EXISTS deliveries (
    alert_id INTEGER NOT NULL,
    channel TEXT NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    notification_id INTEGER,
    PRIMARY KEY (alert_id, channel)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS deliveries_by_notification ON deliveries (notification_id);
CREATE TABLE IF NOT EXISTS groups (
    owner TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    channel TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (owner, fingerprint, channel)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS silences (
    id TEXT PRIMARY KEY,
    matchers TEXT NOT NULL,
    starts_at REAL NOT NULL,
    ends_at REAL NOT NULL,
    comment TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


def migrate(db: Database) -> None:
    """Create what is missing; a file of an older schema keeps its history and outbox."""
    columns = [row[1] for row in db.rows("PRAGMA table_info(groups)")]
    if columns and "owner" not in columns:  # groups of schema 1: soft state, started afresh
        db.execute("DROP TABLE groups")
    db.script(_TABLES)
    _meta(db, "instance_id", uuid.uuid4().hex)
    _meta(db, "schema_version", str(SCHEMA_VERSION))


def _meta(db: Database, key: str, value: str) -> None:
    db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))


def probe(db: Database, now: float) -> None:
    """A small write, to learn whether the file takes writes (again)."""
    db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('written_at', ?)", (str(now),))
