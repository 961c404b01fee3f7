"""Token buckets: the original Nethical ``RateLimiter`` and the buckets routing keeps per channel, group and source.

A bucket holds up to ``capacity`` tokens and refills at ``rate`` per second; a notification spends one.
A :class:`RateLimiter` can record what it changes between :meth:`RateLimiter.begin` and
:meth:`RateLimiter.commit`, so a batch whose storage failed is undone with :meth:`RateLimiter.rollback`.
"""

from __future__ import annotations

import threading
import time

from nethical_otel.alerting.model import AlertSeverity

_MAX_BUCKETS = 50_000


class TokenBucket:
    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, capacity: float, per_second: float, now: float) -> None:
        self.capacity = capacity
        self.rate = per_second
        self.tokens = capacity
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def available(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= 1.0

    def take(self, now: float) -> None:
        """Spend a token, going no lower than zero (a CRITICAL bypass spends what is there)."""
        self._refill(now)
        self.tokens = max(0.0, self.tokens - 1.0)

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.capacity


class RateLimiter:
    """Token buckets by key: at most ``max_alerts_per_minute`` per key per minute, with that much burst.

    The original Nethical API: ``should_send(key, severity)`` is always true for CRITICAL (the pipeline
    never drops those; it counts them into their group's next notification instead).
    """

    def __init__(self, max_alerts_per_minute: int = 10) -> None:
        if max_alerts_per_minute < 1:
            raise ValueError("max_alerts_per_minute must be at least 1")
        self.max_alerts = max_alerts_per_minute
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()
        self._journal: dict[str, tuple[float, float] | None] | None = None

    def _bucket(self, key: str, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        journal = self._journal
        if journal is not None and key not in journal:
            journal[key] = None if bucket is None else (bucket.tokens, bucket.stamp)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS and journal is None:
                # Full buckets carry no state: forgetting them changes nothing.
                for stale in [k for k, b in self._buckets.items() if b.full(now)]:
                    del self._buckets[stale]
            bucket = self._buckets[key] = TokenBucket(self.max_alerts, self.max_alerts / 60.0, now)
        return bucket

    # Undo for one batch -----------------------------------------------------------------------------
    def begin(self) -> None:
        self._journal = {}

    def commit(self) -> None:
        self._journal = None

    def rollback(self) -> None:
        """Put every bucket touched since :meth:`begin` back as it was."""
        journal, self._journal = self._journal or {}, None
        for key, state in journal.items():
            if state is None:
                self._buckets.pop(key, None)
            else:
                bucket = self._buckets.get(key)
                if bucket is not None:
                    bucket.tokens, bucket.stamp = state

    # The original API -------------------------------------------------------------------------------
    def available(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            return self._bucket(key, now).available(now)

    def take(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._bucket(key, now).take(now)

    def try_acquire(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._bucket(key, now)
            if not bucket.available(now):
                return False
            bucket.take(now)
            return True

    def should_send(self, alert_key: str, severity: AlertSeverity | str) -> bool:
        if AlertSeverity(severity) is AlertSeverity.CRITICAL:
            return True
        return self.try_acquire(alert_key)
