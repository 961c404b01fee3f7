"""Who delivers what: notification rows belong to one process (host:pid:token) under a lease.

Several processes may share one file (pre-fork workers, a restarted process): each renews the lease of
its rows while it lives. Rows with no owner, an expired lease, or an owner that is a dead process of
this host are claimed by the next process that starts or renews.
"""

from __future__ import annotations

import os
import socket
import uuid

from nethical_otel.alerting.store.database import Database
from nethical_otel.semconv import ACTIVE_DELIVERY_STATUSES

LEASE_SECONDS = 60.0
ACTIVE = tuple(status.value for status in ACTIVE_DELIVERY_STATUSES)
_live_owners: set[str] = set()  # owners of the stores open in this process


def new_owner() -> str:
    owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
    _live_owners.add(owner)
    return owner


def retire(owner: str) -> None:
    _live_owners.discard(owner)


def dead_local_owner(owner: str, host: str) -> bool:
    """Whether ``owner`` (host:pid:token) names a process of this host that no longer runs."""
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != host:
        return False
    try:
        pid = int(parts[1])
    except ValueError:
        return False
    if pid == os.getpid():
        return owner not in _live_owners  # a store of this very process that was closed
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


class Leases:
    def __init__(self, db: Database, owner: str) -> None:
        self._db = db
        self._owner = owner

    def claim(self, now: float) -> int:
        """Take over active notifications with no owner, an expired lease, or a dead owner on this host."""
        host = socket.gethostname()
        owners = [
            row[0] for row in self._db.rows("SELECT DISTINCT owner FROM notifications WHERE state IN (?, ?)", ACTIVE)
        ]
        dead = [owner for owner in owners if owner and owner != self._owner and dead_local_owner(owner, host)]
        dead_clause = f" OR owner IN ({','.join('?' * len(dead))})" if dead else ""
        cursor = self._db.execute(
            f"UPDATE notifications SET owner = ?, lease_until = ? WHERE state IN (?, ?) AND owner IS NOT ?"
            f" AND (owner IS NULL OR lease_until < ?{dead_clause})",
            (self._owner, now + LEASE_SECONDS, *ACTIVE, self._owner, now, *dead),
        )
        return int(cursor.rowcount)

    def renew(self, now: float) -> None:
        self._db.execute(
            "UPDATE notifications SET lease_until = ? WHERE owner = ? AND state IN (?, ?)",
            (now + LEASE_SECONDS, self._owner, *ACTIVE),
        )

    def release(self) -> None:
        """Give up ownership so the next process takes over at once (at shutdown)."""
        self._db.execute("UPDATE notifications SET owner = NULL, lease_until = 0 WHERE owner = ?", (self._owner,))
