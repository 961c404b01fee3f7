"""The one place alerting persists anything: a SQLite outbox of notifications, the history, groups, silences.

Standard library ``sqlite3`` in WAL mode. An alert is *accepted* once the transaction recording it has
committed; from then on its notifications survive a crash or restart and are delivered at least once.
Each notification row carries its idempotency key, generated once, so every retry (in this process or
the next) presents the same key.

Several processes may share one file (pre-fork workers, a restarted process): each notification has an
owner (host and pid) and a lease renewed while the owner lives. Rows of a dead or silent owner are
claimed by the next process that starts or renews.

A :class:`Store` is used from one thread at a time (the alerting loop, or the CLI).
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import sqlite3
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from nethical_otel.alerting.model import (
    Alert,
    AlertChannel,
    AlertSeverity,
    AlertStatus,
    DeliveryStatus,
    Notification,
)
from nethical_otel.alerting.routing import ChannelDecision, Group, Matcher, PlannedNotification, Silence

SCHEMA_VERSION = 2
MEMORY = ":memory:"
LEASE_SECONDS = 60.0

_ACTIVE = ("pending", "retrying")
_live_owners: set[str] = set()  # owners of the Stores open in this process
_SCHEMA = """
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


# Rows <-> objects -----------------------------------------------------------------------------------
def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _plain(value: Any) -> Any:
    """A mapping as a dict, any other collection as a list (what JSON can encode)."""
    return dict(value) if isinstance(value, Mapping) else list(value)


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


def _group_state(group: Group) -> str:
    return _dumps(
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


def _group_from(fingerprint: str, channel: str, state: str) -> Group:
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


def _merge(one: Group, other: Group) -> Group:
    latest, older = (one, other) if (one.notified_at or 0.0) >= (other.notified_at or 0.0) else (other, one)
    latest.pending += older.pending
    if older.pending and (not latest.pending_since or older.pending_since < latest.pending_since):
        latest.pending_since = older.pending_since
    return latest


def iso(timestamp: float | None) -> str | None:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, tz=timezone.utc).isoformat()


# Values handed to and from the store --------------------------------------------------------------
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


@dataclass(frozen=True)
class HistoryQuery:
    limit: int = 100
    since: float | None = None
    until: float | None = None
    severity: tuple[str, ...] = ()
    status: str | None = None  # an alert status (firing, resolved) or a delivery status (sent, failed, ...)
    channel: str | None = None


class Store:
    """The SQLite file behind the outbox and history."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        _live_owners.add(self.owner)
        if path == MEMORY:
            self._db = sqlite3.connect(MEMORY, isolation_level=None, check_same_thread=False)
        else:  # location.open_store makes the directory and the file, private
            self._db = sqlite3.connect(path, timeout=15.0, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            # NORMAL in WAL mode: a commit survives a crash of the process (not necessarily of the machine).
            self._db.execute("PRAGMA synchronous=NORMAL")
        columns = [row[1] for row in self._db.execute("PRAGMA table_info(groups)")]
        if columns and "owner" not in columns:  # groups of schema 1: soft state, started afresh
            self._db.execute("DROP TABLE groups")
        self._db.executescript(_SCHEMA)
        self._instance = self._meta("instance_id") or self._set_meta("instance_id", uuid.uuid4().hex)
        if self._meta("schema_version") is None:
            self._set_meta("schema_version", str(SCHEMA_VERSION))

    def close(self) -> None:
        _live_owners.discard(self.owner)
        self._db.close()

    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, key: str, value: str) -> str:
        self._db.execute("INSERT OR IGNORE INTO meta (key, value) VALUES (?, ?)", (key, value))
        return self._meta(key) or value

    def probe(self, now: float) -> None:
        """A small write, to learn whether the file takes writes again."""
        self._db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('written_at', ?)", (str(now),))

    # Accepting --------------------------------------------------------------------------------------
    def begin(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self._db.execute("COMMIT")

    def rollback(self) -> None:
        if self._db.in_transaction:
            self._db.execute("ROLLBACK")

    def insert_alerts(self, accepted: Sequence[Accepted]) -> list[int]:
        """Insert history rows (inside :meth:`begin`); returns their ids in order."""
        if not accepted:
            return []
        # Occurrences of one storm share their label, metadata and channel objects: encode each once.
        encoded: dict[int, str] = {}

        def encode(value: Any) -> str:
            text = encoded.get(id(value))
            if text is None:
                text = encoded[id(value)] = _dumps(value if isinstance(value, (dict, list)) else _plain(value))
            return text

        rows = []
        for item in accepted:
            alert = item.alert
            rows.append(
                (
                    item.created_at,
                    alert.fingerprint,
                    alert.name,
                    alert.title,
                    alert.message,
                    alert.severity.value,
                    alert.status.value,
                    encode(alert.labels),
                    encode(alert.annotations),
                    encode(item.metadata),
                    encode(item.channels),
                    alert.trace_id,
                    alert.span_id,
                    alert.starts_at,
                    alert.ends_at,
                    item.occurrences,
                )
            )
        self._db.executemany(
            "INSERT INTO alerts (created_at, fingerprint, name, title, message, severity, status, labels, annotations,"
            " metadata, channels, trace_id, span_id, starts_at, ends_at, occurrences)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        # Inside one BEGIN IMMEDIATE transaction nobody else writes, so the rowids are consecutive.
        last = int(self._db.execute("SELECT last_insert_rowid()").fetchone()[0])
        return list(range(last - len(rows) + 1, last + 1))

    def insert_occurrences(self, rows: Iterable[tuple[int, float, str | None, str | None, float | None, int]]) -> None:
        """The individual threat occurrences a history entry stands for: time, trace and span ids, confidence."""
        self._db.executemany(
            "INSERT INTO occurrences (alert_id, at, trace_id, span_id, confidence, count) VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    def occurrences(self, alert_id: int) -> list[dict[str, Any]]:
        rows = self._db.execute(
            "SELECT at, trace_id, span_id, confidence, count FROM occurrences WHERE alert_id = ? ORDER BY at, rowid",
            (alert_id,),
        )
        return [
            {"timestamp": iso(at), "trace_id": trace_id, "span_id": span_id, "confidence": confidence, "count": count}
            for at, trace_id, span_id, confidence, count in rows.fetchall()
        ]

    def insert_notification(self, planned: PlannedNotification, now: float) -> int:
        """A notification row owned by this process, due now (inside :meth:`begin`)."""
        key = secrets.token_hex(16)
        body = _dumps(
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
            " next_attempt_at, updated_at, owner, lease_until) VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
            (
                key,
                planned.channel.value,
                planned.alert_id,
                planned.alert.fingerprint,
                body,
                now,
                now,
                now,
                self.owner,
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
            " AND outcome IN ('grouped', 'rate_limited')"
            " AND alert_id IN (SELECT id FROM alerts WHERE fingerprint = ?)",
            (notification_id, channel.value, fingerprint),
        )

    def save_groups(self, groups: Iterable[Group]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO groups (owner, fingerprint, channel, state) VALUES (?, ?, ?, ?)",
            [(self.owner, g.fingerprint, g.channel.value, _group_state(g)) for g in groups],
        )

    def delete_groups(self, keys: Iterable[tuple[str, AlertChannel]]) -> None:
        self._db.executemany(
            "DELETE FROM groups WHERE owner = ? AND fingerprint = ? AND channel = ?",
            [(self.owner, fp, ch.value) for fp, ch in keys],
        )

    def release_groups(self) -> None:
        """Hand this process's groups over to whichever process opens the file next (at shutdown)."""
        self._db.execute("UPDATE OR REPLACE groups SET owner = '' WHERE owner = ?", (self.owner,))

    def adopt_groups(self) -> list[Group]:
        """Take over the groups handed over at shutdown and those of dead processes; live ones keep theirs.

        Several rows for one group (two processes that died) are merged: the latest notification time
        wins and counts not yet reported add up.
        """
        host = socket.gethostname()
        self.begin()
        try:
            rows = self._db.execute("SELECT owner, fingerprint, channel, state FROM groups").fetchall()
            adopted: dict[tuple[str, str], Group] = {}
            orphans = set()
            for owner, fingerprint, channel, state in rows:
                if owner and (owner == self.owner or not _dead_local_owner(owner, host)):
                    continue
                orphans.add(owner)
                try:
                    group = _group_from(fingerprint, channel, state)
                except (ValueError, KeyError, TypeError):
                    continue  # a group of a channel this version does not know: start it afresh
                known = adopted.get((fingerprint, channel))
                adopted[(fingerprint, channel)] = group if known is None else _merge(known, group)
            self._db.executemany("DELETE FROM groups WHERE owner = ?", [(owner,) for owner in orphans])
            self.save_groups(adopted.values())
            self.commit()
        except BaseException:
            self.rollback()
            raise
        return list(adopted.values())

    # Silences ---------------------------------------------------------------------------------------
    def save_silence(self, silence: Silence) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO silences (id, matchers, starts_at, ends_at, comment, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                silence.id,
                _dumps([m.to_dict() for m in silence.matchers]),
                silence.starts_at,
                silence.ends_at,
                silence.comment,
                silence.created_at,
            ),
        )

    def load_silences(self, now: float) -> list[Silence]:
        self._db.execute("DELETE FROM silences WHERE ends_at < ?", (now,))
        rows = self._db.execute("SELECT id, matchers, starts_at, ends_at, comment, created_at FROM silences")
        return [
            Silence(
                sid,
                tuple(Matcher(m["name"], m["value"], m["operator"]) for m in json.loads(matchers)),
                starts,
                ends,
                comment,
                created,
            )
            for sid, matchers, starts, ends, comment, created in rows.fetchall()
        ]

    # Delivering -------------------------------------------------------------------------------------
    def claim(self, now: float) -> int:
        """Take over active notifications with no owner, an expired lease, or a dead owner on this host."""
        host = socket.gethostname()
        owners = [
            row[0]
            for row in self._db.execute("SELECT DISTINCT owner FROM notifications WHERE state IN (?, ?)", _ACTIVE)
        ]
        dead = [owner for owner in owners if owner and owner != self.owner and _dead_local_owner(owner, host)]
        marks = ",".join("?" * len(dead))
        dead_clause = f" OR owner IN ({marks})" if dead else ""
        cursor = self._db.execute(
            f"UPDATE notifications SET owner = ?, lease_until = ? WHERE state IN (?, ?) AND owner IS NOT ?"
            f" AND (owner IS NULL OR lease_until < ?{dead_clause})",
            (self.owner, now + LEASE_SECONDS, *_ACTIVE, self.owner, now, *dead),
        )
        return int(cursor.rowcount)

    def renew(self, now: float) -> None:
        self._db.execute(
            "UPDATE notifications SET lease_until = ? WHERE owner = ? AND state IN (?, ?)",
            (now + LEASE_SECONDS, self.owner, *_ACTIVE),
        )

    def release(self) -> None:
        """Give up ownership so the next process takes over at once (at shutdown)."""
        self._db.execute("UPDATE notifications SET owner = NULL, lease_until = 0 WHERE owner = ?", (self.owner,))

    def due(self, channel: AlertChannel, now: float, limit: int, exclude: Iterable[int]) -> list[int]:
        excluded = tuple(exclude)
        marks = ",".join("?" * len(excluded))
        not_in = f" AND id NOT IN ({marks})" if excluded else ""
        rows = self._db.execute(
            f"SELECT id FROM notifications WHERE state IN (?, ?) AND channel = ? AND owner = ?"
            f" AND next_attempt_at <= ?{not_in} ORDER BY next_attempt_at, id LIMIT ?",
            (*_ACTIVE, channel.value, self.owner, now, *excluded, limit),
        )
        return [int(row[0]) for row in rows.fetchall()]

    def next_due(self, channel: AlertChannel, exclude: Iterable[int]) -> float | None:
        excluded = tuple(exclude)
        marks = ",".join("?" * len(excluded))
        not_in = f" AND id NOT IN ({marks})" if excluded else ""
        row = self._db.execute(
            "SELECT min(next_attempt_at) FROM notifications"
            f" WHERE state IN (?, ?) AND channel = ? AND owner = ?{not_in}",
            (*_ACTIVE, channel.value, self.owner, *excluded),
        ).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def load(self, notification_id: int) -> DueNotification | None:
        row = self._db.execute(
            "SELECT idempotency_key, channel, body, attempts, created_at FROM notifications"
            " WHERE id = ? AND state IN (?, ?) AND owner = ?",
            (notification_id, *_ACTIVE, self.owner),
        ).fetchone()
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
            "UPDATE notifications SET state = 'sent', attempts = ?, sent_at = ?, updated_at = ?, last_error = '',"
            " owner = NULL WHERE id = ?",
            (attempts, now, now, notification_id),
        )

    def mark_retry(self, notification_id: int, attempts: int, next_attempt_at: float, reason: str, now: float) -> None:
        self._db.execute(
            "UPDATE notifications SET state = 'retrying', attempts = ?, next_attempt_at = ?, last_error = ?,"
            " updated_at = ? WHERE id = ?",
            (attempts, next_attempt_at, reason, now, notification_id),
        )

    def mark_failed(self, notification_id: int, attempts: int, reason: str, now: float) -> None:
        self._db.execute(
            "UPDATE notifications SET state = 'failed', attempts = ?, last_error = ?, updated_at = ?, owner = NULL"
            " WHERE id = ?",
            (attempts, reason, now, notification_id),
        )

    def active_by_channel(self) -> dict[str, int]:
        rows = self._db.execute(
            "SELECT channel, count(*) FROM notifications WHERE state IN (?, ?) AND owner = ? GROUP BY channel",
            (*_ACTIVE, self.owner),
        )
        return {str(channel): int(count) for channel, count in rows.fetchall()}

    def notification_states(self, alert_id: int) -> dict[str, tuple[str, str]]:
        """Per channel, the effective delivery status of one alert and its reason."""
        return {
            entry["channel"]: (entry["status"], entry["reason"])
            for entry in self._deliveries([alert_id]).get(alert_id, [])
        }

    # History --------------------------------------------------------------------------------------
    def history(self, query: HistoryQuery) -> list[dict[str, Any]]:
        """Recent alerts, oldest first, in the original ``get_alert_history`` shape plus delivery status."""
        clauses, params = self._history_filter(query)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        rows = self._db.execute(
            "SELECT id, created_at, fingerprint, name, title, message, severity, status, labels, annotations,"
            f" metadata, channels, trace_id, span_id, starts_at, ends_at, occurrences FROM alerts a{where}"
            " ORDER BY id DESC LIMIT ?",
            (*params, max(0, query.limit)),
        ).fetchall()
        rows.reverse()
        deliveries = self._deliveries([row[0] for row in rows])
        return [_history_entry(row, deliveries.get(row[0], [])) for row in rows]

    def _history_filter(self, query: HistoryQuery) -> tuple[list[str], list[Any]]:
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
        if query.status in ("firing", "resolved"):
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

    def _deliveries(self, alert_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
        found: dict[int, list[dict[str, Any]]] = {}
        for start in range(0, len(alert_ids), 500):
            chunk = alert_ids[start : start + 500]
            rows = self._db.execute(
                f"SELECT d.alert_id, d.channel, {_EFFECTIVE_STATUS}, d.outcome, d.reason, n.last_error, n.attempts,"
                " n.updated_at, n.idempotency_key, n.state FROM deliveries d"
                " LEFT JOIN notifications n ON n.id = d.notification_id"
                f" WHERE d.alert_id IN ({','.join('?' * len(chunk))}) ORDER BY d.channel",
                chunk,
            ).fetchall()
            for alert_id, channel, status, outcome, reason, error, attempts, updated, key, state in rows:
                entry: dict[str, Any] = {"channel": channel, "status": status, "reason": reason or error or ""}
                if key is not None:
                    entry["attempts"] = attempts
                    entry["updated_at"] = iso(updated)
                    entry["idempotency_key"] = key
                    if outcome != "pending":  # grouped: which notification reports it, and how it went
                        entry["reported_by"] = {"idempotency_key": key, "status": state, "reason": error or ""}
                found.setdefault(alert_id, []).append(entry)
        return found

    def count_alerts(self) -> int:
        return int(self._db.execute("SELECT coalesce(sum(occurrences), 0) FROM alerts").fetchone()[0])

    def clear_history(self) -> int:
        """Remove the history; notifications still being delivered are kept (their bodies are self-contained)."""
        self.begin()
        try:
            count = int(self._db.execute("SELECT count(*) FROM alerts").fetchone()[0])
            self._db.execute("DELETE FROM alerts")
            self._db.execute("DELETE FROM deliveries")
            self._db.execute("DELETE FROM occurrences")
            self._db.execute("DELETE FROM notifications WHERE state NOT IN (?, ?)", _ACTIVE)
            self.commit()
        except BaseException:
            self.rollback()
            raise
        return count

    def apply_retention(self, now: float, max_age_seconds: float, max_alerts: int) -> int:
        """Delete history older than the retention or beyond the row limit; returns the alerts removed."""
        self.begin()
        try:
            cutoff = now - max_age_seconds
            floor = self._db.execute(
                "SELECT id FROM alerts ORDER BY id DESC LIMIT 1 OFFSET ?", (max_alerts,)
            ).fetchone()
            removed = self._db.execute(
                "DELETE FROM alerts WHERE created_at < ? OR id <= ?", (cutoff, floor[0] if floor else -1)
            ).rowcount
            self._db.execute("DELETE FROM deliveries WHERE alert_id NOT IN (SELECT id FROM alerts)")
            self._db.execute("DELETE FROM occurrences WHERE alert_id NOT IN (SELECT id FROM alerts)")
            self._db.execute(
                "DELETE FROM notifications WHERE state NOT IN (?, ?) AND updated_at < ?", (*_ACTIVE, cutoff)
            )
            self.commit()
        except BaseException:
            self.rollback()
            raise
        return int(removed)


# The status a history entry shows: the notification's state when the alert was notified, else the outcome.
_EFFECTIVE_STATUS = "(CASE WHEN d.outcome = 'pending' AND n.state IS NOT NULL THEN n.state ELSE d.outcome END)"


def _history_entry(row: Sequence[Any], deliveries: list[dict[str, Any]]) -> dict[str, Any]:
    (
        alert_id,
        created_at,
        fingerprint,
        name,
        title,
        message,
        severity,
        status,
        labels,
        annotations,
        metadata,
        channels,
        trace_id,
        span_id,
        starts_at,
        ends_at,
        occurrences,
    ) = row
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


def _dead_local_owner(owner: str, host: str) -> bool:
    """Whether ``owner`` (host:pid:token) names a process of this host that no longer runs."""
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != host:
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return owner not in _live_owners  # a Store of this very process that was closed
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False
