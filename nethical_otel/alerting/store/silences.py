"""Silences kept in the store, so the CLI and every process sharing the file see the same ones."""

from __future__ import annotations

import json

from nethical_otel.alerting.grouping.silences import Matcher, Silence
from nethical_otel.alerting.store.codec import dumps
from nethical_otel.alerting.store.database import Database


class Silences:
    def __init__(self, db: Database) -> None:
        self._db = db

    def save(self, silence: Silence) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO silences (id, matchers, starts_at, ends_at, comment, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (
                silence.id,
                dumps([m.to_dict() for m in silence.matchers]),
                silence.starts_at,
                silence.ends_at,
                silence.comment,
                silence.created_at,
            ),
        )

    def load(self, now: float) -> list[Silence]:
        """The silences not yet over (expired ones are deleted)."""
        self._db.execute("DELETE FROM silences WHERE ends_at < ?", (now,))
        rows = self._db.rows("SELECT id, matchers, starts_at, ends_at, comment, created_at FROM silences")
        return [
            Silence(
                sid,
                tuple(Matcher(m["name"], m["value"], m["operator"]) for m in json.loads(matchers)),
                starts,
                ends,
                comment,
                created,
            )
            for sid, matchers, starts, ends, comment, created in rows
        ]
