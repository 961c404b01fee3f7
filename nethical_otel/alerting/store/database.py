"""The SQLite connection behind the store, and the one rule that keeps forks from deadlocking on it.

SQLite guards its process-global state (the memory allocator, the VFS list) with mutexes. A process
that forks while one of its threads is inside SQLite copies those mutexes *locked*, and the child's
first SQLite call (``sqlite3.connect``) waits forever for a thread that does not exist there. So every
SQLite call of the store, in every thread, runs under :data:`SQLITE_LOCK`, and an ``os.register_at_fork``
hook takes that lock before any fork and gives it back after it: a fork waits for the call in progress
to end, and no call is ever in progress across a fork. (Only the store's calls are covered: an
application that uses ``sqlite3`` from other threads while it forks has the same hazard of its own.)

Statements are run and their rows fetched inside the lock; a transaction spans several statements and
may span a fork, which is harmless: the child never uses the parent's connection.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

MEMORY = ":memory:"
STORE_ERRORS = (sqlite3.DatabaseError,)  # OperationalError (full, locked, read-only, I/O) and corruption
SQLITE_LOCK = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(
        before=SQLITE_LOCK.acquire, after_in_parent=SQLITE_LOCK.release, after_in_child=SQLITE_LOCK.release
    )


class Database:
    """One connection in autocommit mode (transactions are explicit). Used from one thread at a time."""

    def __init__(self, path: str) -> None:
        self.path = path
        with SQLITE_LOCK:
            if path == MEMORY:
                self._db = sqlite3.connect(MEMORY, isolation_level=None, check_same_thread=False)
            else:
                self._db = sqlite3.connect(path, timeout=15.0, isolation_level=None, check_same_thread=False)
        try:
            if path != MEMORY:
                self.execute("PRAGMA journal_mode=WAL")
                # NORMAL in WAL mode: a commit survives a crash of the process (not necessarily of the machine).
                self.execute("PRAGMA synchronous=NORMAL")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        with SQLITE_LOCK:
            self._db.close()

    # Statements -------------------------------------------------------------------------------------
    def execute(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        """Run one statement that returns no rows; the cursor tells ``rowcount`` and ``lastrowid``."""
        with SQLITE_LOCK:
            return self._db.execute(sql, params)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        with SQLITE_LOCK:
            return self._db.executemany(sql, rows).rowcount

    def script(self, sql: str) -> None:
        with SQLITE_LOCK:
            self._db.executescript(sql)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with SQLITE_LOCK:
            return self._db.execute(sql, params).fetchall()

    def row(self, sql: str, params: Sequence[Any] = ()) -> Any:
        with SQLITE_LOCK:
            return self._db.execute(sql, params).fetchone()

    # Transactions -----------------------------------------------------------------------------------
    def begin(self) -> None:
        self.execute("BEGIN IMMEDIATE")

    def commit(self) -> None:
        self.execute("COMMIT")

    def rollback(self) -> None:
        with SQLITE_LOCK:
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back when the block raises."""
        self.begin()
        try:
            yield
            self.commit()
        except BaseException:
            self.rollback()
            raise
