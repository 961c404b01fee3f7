"""The SQLite outbox and history: WAL, stable idempotency keys, ownership across processes, retention."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time

from nethical_otel.alerting.grouping.routing import ChannelDecision, Group, PlannedNotification
from nethical_otel.alerting.model import Alert, AlertChannel, AlertSeverity, DeliveryStatus
from nethical_otel.alerting.store import Accepted, HistoryQuery, Store
from nethical_otel.alerting.store.location import open_store

WEBHOOK = AlertChannel.WEBHOOK


def record(store: Store, title: str = "t", severity: AlertSeverity = AlertSeverity.WARNING, notify: bool = True):
    alert = Alert(title, title, "message", severity, {"severity": severity.value}, starts_at=time.time())
    now = time.time()
    store.db.begin()
    (alert_id,) = store.outbox.insert_alerts([Accepted(alert, ("webhook",), {"k": 1}, now)])
    notification_id = None
    if notify:
        planned = PlannedNotification(WEBHOOK, alert, alert_id, 1, now, now, "first notification")
        notification_id = store.outbox.insert_notification(planned, now)
        decision = ChannelDecision(WEBHOOK, DeliveryStatus.PENDING, notification=planned)
    else:
        decision = ChannelDecision(WEBHOOK, DeliveryStatus.GROUPED)
    store.outbox.insert_deliveries([(alert_id, decision, notification_id)])
    store.db.commit()
    return alert_id, notification_id


def test_the_database_is_created_in_wal_mode_with_its_directory(tmp_path):
    path = tmp_path / "nested" / "alerts.sqlite3"
    open_store(str(path)).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"alerts", "notifications", "deliveries", "groups", "silences", "occurrences", "meta"} <= tables


def test_history_has_the_original_keys_and_the_delivery_status_per_channel(tmp_path):
    store = Store(str(tmp_path / "a.db"))
    _, notification_id = record(store, "Critical Threat", AlertSeverity.CRITICAL)
    (entry,) = store.history.query(HistoryQuery())
    assert {"title", "message", "severity", "channels", "timestamp", "metadata"} <= entry.keys()
    assert (entry["title"], entry["severity"], entry["channels"], entry["metadata"]) == (
        "Critical Threat",
        "critical",
        ["webhook"],
        {"k": 1},
    )
    assert entry["delivery"]["webhook"]["status"] == "pending"
    store.outbox.mark_retry(notification_id, 1, time.time() + 5, "HTTP 500", time.time())
    assert store.history.query(HistoryQuery())[0]["delivery"]["webhook"] | {"updated_at": None} == {
        "status": "retrying",
        "reason": "HTTP 500",
        "attempts": 1,
        "updated_at": None,
        "idempotency_key": entry["delivery"]["webhook"]["idempotency_key"],
    }
    store.outbox.mark_failed(notification_id, 2, "HTTP 404", time.time())
    assert store.history.query(HistoryQuery(status="failed"))[0]["delivery"]["webhook"]["reason"] == "HTTP 404"
    store.close()


def test_idempotency_keys_are_unique_and_survive_reopening(tmp_path):
    path = str(tmp_path / "a.db")
    store = Store(path)
    ids = [record(store)[1] for _ in range(3)]
    keys = [store.outbox.load(i).notification.idempotency_key for i in ids]
    assert len(set(keys)) == 3
    store.leases.release()
    store.close()
    again = Store(path)
    assert again.leases.claim(time.time()) == 3
    assert [again.outbox.load(i).notification.idempotency_key for i in ids] == keys
    again.close()


def test_history_queries_filter_by_time_severity_status_and_channel(tmp_path):
    store = Store(str(tmp_path / "a.db"))
    record(store, "a", AlertSeverity.INFO)
    middle = time.time()
    record(store, "b", AlertSeverity.CRITICAL)
    record(store, "c", AlertSeverity.WARNING, notify=False)
    titles = lambda **q: [e["title"] for e in store.history.query(HistoryQuery(**q))]  # noqa: E731
    assert titles() == ["a", "b", "c"]
    assert titles(limit=2) == ["b", "c"]
    assert titles(since=middle) == ["b", "c"]
    assert titles(until=middle) == ["a"]
    assert titles(severity=("critical", "info")) == ["a", "b"]
    assert titles(status="grouped") == ["c"]
    assert titles(status="pending") == ["a", "b"]
    assert titles(status="firing") == ["a", "b", "c"]
    assert titles(channel="slack") == []
    store.close()


def test_notifications_of_a_dead_process_are_claimed_at_once_and_a_live_owner_keeps_them(tmp_path):
    path = str(tmp_path / "a.db")
    child = (
        "import sys; from nethical_otel.alerting.store import Store;"
        "from tests.alerting.store.test_outbox import record;"
        "s = Store(sys.argv[1]); record(s); print(s.owner)"
    )
    done = subprocess.run([sys.executable, "-c", child, path], capture_output=True, text=True, check=True, timeout=60)
    dead_owner = done.stdout.strip()
    live = Store(path)
    other = Store(path)  # a second, live owner in this process
    record(other)
    now = time.time()
    assert live.leases.claim(now) == 1  # the dead process's notification, not the live store's
    assert dead_owner.split(":")[1] != str(__import__("os").getpid())
    assert other.leases.claim(now) == 0
    assert len(live.outbox.due(WEBHOOK, now + 1, 10, ())) == 1 and len(other.outbox.due(WEBHOOK, now + 1, 10, ())) == 1
    # A silent owner's lease runs out: then anyone takes over.
    assert live.leases.claim(now + 3600) == 1
    live.close()
    other.close()


def test_retention_removes_old_and_excess_history_but_never_undelivered_notifications(tmp_path):
    store = Store(str(tmp_path / "a.db"))
    for _ in range(5):
        record(store)
    assert store.apply_retention(time.time(), 3600, max_alerts=2) == 3
    assert len(store.history.query(HistoryQuery())) == 2
    assert len(store.outbox.due(WEBHOOK, time.time() + 1, 10, ())) == 5  # still delivered later
    assert store.apply_retention(time.time() + 7200, 3600, max_alerts=100) == 2
    assert store.history.query(HistoryQuery()) == []
    store.close()


def test_clear_history_keeps_notifications_still_being_delivered(tmp_path):
    store = Store(str(tmp_path / "a.db"))
    _, pending = record(store)
    _, delivered = record(store)
    store.outbox.mark_sent(delivered, 1, time.time())
    assert store.clear_history() == 2
    assert store.history.query(HistoryQuery()) == []
    assert store.outbox.load(pending) is not None
    store.close()


def group(fingerprint: str, pending: int, notified_at: float, since: float = 0.0) -> Group:
    alert = Alert("a", "a", "m", AlertSeverity.WARNING, {}, starts_at=notified_at)
    return Group(fingerprint, WEBHOOK, alert, pending=pending, pending_since=since, notified_at=notified_at)


def test_groups_are_handed_over_at_shutdown_adopted_from_the_dead_and_left_to_the_living(tmp_path):
    path = str(tmp_path / "a.db")
    leaving, living, dead = Store(path), Store(path), Store(path)
    leaving.groups.save([group("g1", 2, 100.0, 90.0)])
    dead.groups.save([group("g1", 3, 50.0, 40.0), group("g2", 1, 10.0, 5.0)])
    living.groups.save([group("g3", 7, 10.0)])
    leaving.groups.release()
    leaving.close()
    dead.close()  # a closed Store of this process counts as dead, like a killed one
    heir = Store(path)
    adopted = {g.fingerprint: g for g in heir.groups.adopt()}
    assert set(adopted) == {"g1", "g2"}  # not g3: its owner still runs
    assert (adopted["g1"].pending, adopted["g1"].notified_at, adopted["g1"].pending_since) == (5, 100.0, 40.0)
    assert heir.groups.adopt() == []  # its own groups are not adopted twice
    newcomer = Store(path)
    assert newcomer.groups.adopt() == []  # the heir lives: nothing left to adopt
    newcomer.close()
    living.close()
    heir.close()
