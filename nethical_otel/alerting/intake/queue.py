"""The hand-off from detector threads to the alerting loop: a bounded queue that never blocks the caller.

Detector threads append raw threat tuples (no formatting, no I/O, no lock on the common path) and wake
the loop at most once per batch. The loop drains in batches, so a storm becomes a few large SQLite
transactions instead of thousands of small ones.

When the queue is full, occurrences are not dropped: they are tallied per (detector, level, category)
and recorded as one history entry carrying the count. Only if even the tally overflows are occurrences
dropped, and then they are counted and logged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from nethical_otel.alerting.model import Alert, AlertChannel

_logger = logging.getLogger("nethical_otel.alerting")

BATCH_WINDOW_SECONDS = 0.02
_MAX_TALLIES = 10_000


class RawThreat(NamedTuple):
    """A threat as the detector thread queues it (a plain tuple there: the cheapest thing to build)."""

    detector: str
    level: str
    category: str
    confidence: float | None
    trace_id: int
    span_id: int
    at: float
    occurrences: int = 1


@dataclass
class Submission:
    """An alert handed to the intake by the API or a rule, with where it comes from."""

    alert: Alert
    channels: tuple[AlertChannel, ...]
    metadata: dict[str, Any]
    future: concurrent.futures.Future[int] | None = None
    source: str = ""


class Intake:
    """Thread-safe, bounded; ``offer_*`` may be called from any thread, ``drain`` only from the loop."""

    def __init__(self, bound: int) -> None:
        self._bound = bound
        self._queue: deque[Any] = deque()
        self._tally: dict[tuple[str, str, str], list[Any]] = {}
        self._tally_lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._on_ready: Callable[[], None] | None = None
        self._wake_pending = False
        self.closed = False
        self.dropped = 0

    def attach(self, loop: asyncio.AbstractEventLoop, on_ready: Callable[[], None]) -> None:
        """Start waking ``on_ready`` on ``loop`` (items offered before are drained at the first wake)."""
        self._loop, self._on_ready = loop, on_ready
        self._wake()

    def detach(self) -> None:
        self._loop = self._on_ready = None

    def offer_threat(
        self, detector: str, level: str, category: str, confidence: float | None, trace_id: int, span_id: int
    ) -> None:
        """From the detector's thread: cheap, never blocks, never raises for a full queue."""
        if self.closed:
            return
        now = time.time()
        if len(self._queue) < self._bound:
            self._queue.append((detector, level, category, confidence, trace_id, span_id, now, 1))
        else:
            self._count_overflow(detector, level, category, confidence, now)
        if not self._wake_pending:
            self._wake()

    def offer(self, item: Any) -> None:
        """An alert from the API or a rule: always queued (its caller waits for it, which bounds it)."""
        self._queue.append(item)
        if not self._wake_pending:
            self._wake()

    def _count_overflow(self, detector: str, level: str, category: str, confidence: float | None, now: float) -> None:
        key = (detector, level, category)
        with self._tally_lock:
            entry = self._tally.get(key)
            if entry is not None:
                entry[0] += 1
                entry[1] = now
                return
            if len(self._tally) < _MAX_TALLIES:
                self._tally[key] = [1, now, confidence]
                return
            self.dropped += 1
        if self.dropped == 1 or self.dropped % 10_000 == 0:
            _logger.warning(
                "alert intake is full: %d threat occurrences dropped so far (raise alerting.queue_size)", self.dropped
            )

    def _wake(self) -> None:
        loop, on_ready = self._loop, self._on_ready
        if loop is None or on_ready is None:
            return
        self._wake_pending = True
        try:
            loop.call_soon_threadsafe(loop.call_later, BATCH_WINDOW_SECONDS, on_ready)
        except RuntimeError:  # the loop closed under us: the alerting pipeline is shutting down
            self._wake_pending = False

    def drain(self, limit: int) -> list[Any]:
        """Up to ``limit`` items, tallied overflow last (on the loop)."""
        self._wake_pending = False
        items: list[Any] = []
        queue = self._queue
        while queue and len(items) < limit:
            item = queue.popleft()
            items.append(RawThreat(*item) if type(item) is tuple else item)
        if self._tally and len(items) < limit:
            with self._tally_lock:
                tally, self._tally = self._tally, {}
            for (detector, level, category), (count, at, confidence) in tally.items():
                items.append(RawThreat(detector, level, category, confidence, 0, 0, at, count))
        if queue or self._tally:  # more than one batch: come back for the rest
            self._wake()
        return items

    def __len__(self) -> int:
        return len(self._queue) + len(self._tally)
