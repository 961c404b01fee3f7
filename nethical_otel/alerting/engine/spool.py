"""Alerts held in memory while the store cannot be written (a full disk, a locked or read-only file).

A batch whose transaction failed is held here, in arrival order, and recorded again once the store takes
writes (tried with a backoff from 0.5 s to 30 s). While the store fails, new batches join the queue
instead of failing one by one, and the CRITICAL alerts among them are routed and delivered from memory
(:meth:`AlertManager` does that), so a full disk never delays a page.

The queue is bounded (``store_buffer_size`` occurrences). Past it the oldest non-CRITICAL occurrences
go first, then the oldest CRITICAL ones; whatever is given up, there or at shutdown, is counted as
``dropped`` and logged once per episode with the store's path and the reason.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from nethical_otel.alerting.intake.queue import RawThreat, Submission
from nethical_otel.alerting.model import AlertChannel, AlertSeverity
from nethical_otel.semconv import ThreatLevel

_logger = logging.getLogger("nethical_otel.alerting")

FIRST_RETRY_SECONDS = 0.5
MAX_RETRY_SECONDS = 30.0


@dataclass
class Held:
    """One intake item waiting for the store, and whether it was already routed from memory."""

    item: Any  # RawThreat or Submission
    critical: bool
    announced: bool = False

    @property
    def occurrences(self) -> int:
        return self.item.occurrences if isinstance(self.item, RawThreat) else 1


@dataclass
class Dropped:
    """Occurrences given up, by what they would have been: (severity, channels) -> count."""

    counts: dict[tuple[AlertSeverity, tuple[AlertChannel, ...]], int] = field(default_factory=dict)


class Spool:
    """Bounded FIFO of held items, with the failure episode's state. Used from the alerting loop."""

    def __init__(self, capacity: int, path: str, critical_level: str) -> None:
        self.capacity = capacity
        self.path = path
        floor = ThreatLevel(critical_level).rank
        self._critical_levels = frozenset(level.value for level in ThreatLevel if level.rank >= floor)
        self._held: deque[Held] = deque()
        self._size = 0
        self.failing_since: float | None = None
        self.error = ""
        self._delay = FIRST_RETRY_SECONDS
        self.retry_at = 0.0
        self._told_drop = False

    def __len__(self) -> int:
        return self._size

    @property
    def failing(self) -> bool:
        return self.failing_since is not None

    def is_critical(self, item: Any) -> bool:
        if isinstance(item, RawThreat):
            return item.level.upper() in self._critical_levels  # levels are recorded as given
        return isinstance(item, Submission) and item.alert.severity is AlertSeverity.CRITICAL

    def failed(self, error: BaseException, now: float) -> None:
        """A write failed: start (or continue) the episode and schedule the next try."""
        if self.failing_since is None:
            self.failing_since = now
            self.error = _describe(error)
            _logger.warning(
                "alert store %s cannot be written (%s): alerts are held in memory (up to %d occurrences, "
                "alerting.store_buffer_size), CRITICAL ones delivered from memory, and written when it works again",
                self.path,
                self.error,
                self.capacity,
            )
        else:
            self._delay = min(self._delay * 2.0, MAX_RETRY_SECONDS)
        self.retry_at = now + self._delay

    def recovered(self) -> None:
        if self.failing_since is not None:
            _logger.warning("alert store %s can be written again: %d held occurrences recorded", self.path, self._size)
        self.failing_since = None
        self._delay = FIRST_RETRY_SECONDS
        self._told_drop = False

    def hold(self, items: Iterable[Any], *, first: bool = False) -> Dropped:
        """Queue ``items`` (at the front when they were taken from it for a try that failed)."""
        held = [item if isinstance(item, Held) else Held(item, self.is_critical(item)) for item in items]
        if first:
            self._held.extendleft(reversed(held))
        else:
            self._held.extend(held)
        self._size += sum(h.occurrences for h in held)
        return self._trim()

    def take(self) -> list[Held]:
        held, self._held, self._size = list(self._held), deque(), 0
        return held

    def unannounced_critical(self) -> list[Held]:
        return [h for h in self._held if h.critical and not h.announced]

    def _trim(self) -> Dropped:
        dropped = Dropped()
        for critical in (False, True):
            if self._size <= self.capacity:
                break
            kept: deque[Held] = deque()
            for held in self._held:
                if self._size > self.capacity and held.critical is critical:
                    self._size -= held.occurrences
                    self._count(dropped, held)
                else:
                    kept.append(held)
            self._held = kept
        self.tell_dropped(dropped, f"the memory buffer of {self.capacity} occurrences is full")
        return dropped

    def give_up(self, reason: str) -> Dropped:
        """Drop everything held (at shutdown, when the store still fails)."""
        dropped = Dropped()
        for held in self.take():
            self._count(dropped, held)
        self.tell_dropped(dropped, reason)
        return dropped

    @staticmethod
    def _count(dropped: Dropped, held: Held) -> None:
        item = held.item
        if held.announced:  # delivered from memory already: only its history is lost
            return
        if isinstance(item, RawThreat):
            key = (AlertSeverity.CRITICAL if held.critical else AlertSeverity.WARNING, ())
        else:
            key = (item.alert.severity, item.channels)
        dropped.counts[key] = dropped.counts.get(key, 0) + held.occurrences

    def tell_dropped(self, dropped: Dropped, reason: str) -> None:
        total = sum(dropped.counts.values())
        if not total:
            return
        if not self._told_drop:
            self._told_drop = True
            _logger.error(
                "alert store %s cannot be written (%s) and %s: %d alert occurrences dropped "
                '(counted as nethical_alerts_total{outcome="dropped"}; further drops are only counted)',
                self.path,
                self.error or "unknown error",
                reason,
                total,
            )


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]
