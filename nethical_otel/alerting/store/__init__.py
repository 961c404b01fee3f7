"""The one place alerting persists anything: a SQLite file (standard ``sqlite3``, WAL mode) holding the
outbox of notifications, the history, group state and silences, each job in its own module.

:class:`Store` opens the file and hands out the parts: ``outbox`` (accepting and delivering),
``history`` (queries), ``leases`` (which process delivers what), ``groups`` and ``silences`` (state kept
across restarts), plus retention. Where the file lives and how it is opened safely is :mod:`.location`.
A store is used from one thread at a time (the alerting loop, or the CLI).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from nethical_otel.alerting.store import retention, schema
from nethical_otel.alerting.store.database import MEMORY, Database
from nethical_otel.alerting.store.groups import Groups
from nethical_otel.alerting.store.history import History, HistoryQuery
from nethical_otel.alerting.store.leases import Leases, new_owner, retire
from nethical_otel.alerting.store.outbox import Accepted, DueNotification, Outbox
from nethical_otel.alerting.store.silences import Silences


class Store:
    """The SQLite file at ``path`` (``:memory:`` for none), opened and brought up to the current schema."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.owner = new_owner()
        try:
            self.db = Database(path)
            try:
                schema.migrate(self.db)
            except BaseException:
                self.db.close()
                raise
        except BaseException:
            retire(self.owner)
            raise
        self.outbox = Outbox(self.db, self.owner)
        self.history = History(self.db)
        self.leases = Leases(self.db, self.owner)
        self.groups = Groups(self.db, self.owner)
        self.silences = Silences(self.db)

    def close(self) -> None:
        retire(self.owner)
        self.db.close()

    def transaction(self) -> contextlib.AbstractContextManager[None]:
        return self.db.transaction()

    def probe(self, now: float) -> None:
        """A small write, to learn whether the file takes writes (again)."""
        schema.probe(self.db, now)

    def clear_history(self) -> int:
        return retention.clear_history(self.db)

    def apply_retention(self, now: float, max_age_seconds: float, max_alerts: int) -> int:
        return retention.apply_retention(self.db, now, max_age_seconds, max_alerts)


@contextlib.contextmanager
def reading(path: str) -> Iterator[Store | None]:
    """A store of its own on ``path`` for one read, closed after; None when the store was in memory."""
    if path == MEMORY:
        yield None
        return
    store = Store(path)
    try:
        yield store
    finally:
        store.close()


__all__ = ["MEMORY", "Accepted", "DueNotification", "HistoryQuery", "Store", "reading"]
