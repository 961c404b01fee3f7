"""Group state kept across restarts, so a restarted process keeps the rhythm of its notifications.

Each process saves its own groups; at shutdown it hands them over (owner ''). The next process to
start adopts those and the groups of dead processes; a live process keeps its own.
"""

from __future__ import annotations

import socket
from collections.abc import Iterable

from nethical_otel.alerting.grouping.routing import Group
from nethical_otel.alerting.model import AlertChannel
from nethical_otel.alerting.store.codec import group_from, group_state
from nethical_otel.alerting.store.database import Database
from nethical_otel.alerting.store.leases import dead_local_owner


def _merge(one: Group, other: Group) -> Group:
    """Two rows of one group (two processes that died): the latest notification wins, counts add up."""
    latest, older = (one, other) if (one.notified_at or 0.0) >= (other.notified_at or 0.0) else (other, one)
    latest.pending += older.pending
    if older.pending and (not latest.pending_since or older.pending_since < latest.pending_since):
        latest.pending_since = older.pending_since
    return latest


class Groups:
    def __init__(self, db: Database, owner: str) -> None:
        self._db = db
        self._owner = owner

    def save(self, groups: Iterable[Group]) -> None:
        self._db.executemany(
            "INSERT OR REPLACE INTO groups (owner, fingerprint, channel, state) VALUES (?, ?, ?, ?)",
            [(self._owner, g.fingerprint, g.channel.value, group_state(g)) for g in groups],
        )

    def delete(self, keys: Iterable[tuple[str, AlertChannel]]) -> None:
        self._db.executemany(
            "DELETE FROM groups WHERE owner = ? AND fingerprint = ? AND channel = ?",
            [(self._owner, fingerprint, channel.value) for fingerprint, channel in keys],
        )

    def release(self) -> None:
        """Hand this process's groups over to whichever process opens the file next (at shutdown)."""
        self._db.execute("UPDATE OR REPLACE groups SET owner = '' WHERE owner = ?", (self._owner,))

    def adopt(self) -> list[Group]:
        """Take over the groups handed over at shutdown and those of dead processes; live ones keep theirs."""
        host = socket.gethostname()
        with self._db.transaction():
            adopted: dict[tuple[str, str], Group] = {}
            orphans = set()
            for owner, fingerprint, channel, state in self._db.rows(
                "SELECT owner, fingerprint, channel, state FROM groups"
            ):
                if owner and (owner == self._owner or not dead_local_owner(owner, host)):
                    continue
                orphans.add(owner)
                try:
                    group = group_from(fingerprint, channel, state)
                except (ValueError, KeyError, TypeError):
                    continue  # a group of a channel this version does not know: start it afresh
                known = adopted.get((fingerprint, channel))
                adopted[(fingerprint, channel)] = group if known is None else _merge(known, group)
            self._db.executemany("DELETE FROM groups WHERE owner = ?", [(owner,) for owner in orphans])
            self.save(adopted.values())
        return list(adopted.values())
