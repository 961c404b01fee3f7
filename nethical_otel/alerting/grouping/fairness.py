"""Fair delivery across sources: no detector or rule can take a channel's whole budget.

Each source (see :mod:`~nethical_otel.alerting.grouping.identity`) has, on each channel:

* a *share*: a token bucket of ``source_share`` × the channel's ``max_alerts_per_minute``, so a flood from
  one detector always leaves tokens for the first notification of another;
* a *CRITICAL budget*: a CRITICAL alert that starts a group is sent at once even when the buckets are
  empty, but only ``critical_per_minute`` times per source and channel; past it, CRITICAL alerts wait for
  tokens like the others (counted, and carried by their group's next notification, never dropped);
* a turn: follow-ups go to the source served longest ago first (round-robin), so a source with a long
  queue of counted occurrences never delays the others' first notifications.
"""

from __future__ import annotations

from nethical_otel.alerting.grouping.buckets import RateLimiter
from nethical_otel.alerting.model import AlertChannel

_MAX_TURNS = 50_000


class SourceShares:
    """Per (source, channel): share bucket, CRITICAL budget, last turn. Used from the alerting loop."""

    def __init__(self, per_minute: int, critical_per_minute: int) -> None:
        self._share = RateLimiter(per_minute)
        self._critical = RateLimiter(critical_per_minute) if critical_per_minute > 0 else None
        self._served: dict[tuple[str, AlertChannel], float] = {}

    @staticmethod
    def _key(source: str, channel: AlertChannel) -> str:
        return f"{channel.value}\x00{source}"

    def available(self, source: str, channel: AlertChannel, now: float) -> bool:
        return self._share.available(self._key(source, channel), now)

    def take(self, source: str, channel: AlertChannel, now: float) -> None:
        self._share.take(self._key(source, channel), now)
        if len(self._served) >= _MAX_TURNS:  # turns older than an hour order nothing any more
            self._served = {key: at for key, at in self._served.items() if at > now - 3600.0}
        self._served[(source, channel)] = now

    def critical_pass(self, source: str, channel: AlertChannel, now: float) -> bool:
        """Whether a CRITICAL alert starting a group may go out now without tokens (spends the budget)."""
        return self._critical is not None and self._critical.try_acquire(self._key(source, channel), now)

    def last_turn(self, source: str, channel: AlertChannel) -> float:
        return self._served.get((source, channel), 0.0)

    def begin(self) -> None:
        self._share.begin()
        if self._critical is not None:
            self._critical.begin()

    def commit(self) -> None:
        self._share.commit()
        if self._critical is not None:
            self._critical.commit()

    def rollback(self) -> None:
        self._share.rollback()
        if self._critical is not None:
            self._critical.rollback()
