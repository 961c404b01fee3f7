"""What the service emulators share: a recording server, forced replies, latency, and rate limiters."""

from __future__ import annotations

import abc
import collections
import threading
import time
from dataclasses import replace
from typing import Any

from tests._support.recorder import Recorded, RecordingServer, Reply


class ServiceEmulator(abc.ABC):
    """An HTTP service on 127.0.0.1 (a :class:`RecordingServer` with the service's logic as handler).

    ``fail_next(...)`` queues replies answered before the service logic runs (outages, odd statuses);
    ``latency`` delays every answer (client timeouts). The service state is guarded by ``lock``.
    """

    def __init__(self) -> None:
        self.server = RecordingServer()
        self.server.handler = self._handle
        self.lock = threading.Lock()
        self.latency = 0.0
        self._forced: collections.deque[Reply] = collections.deque()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def requests(self) -> list[Recorded]:
        return self.server.received()

    def fail_next(self, *replies: Reply) -> None:
        with self.lock:
            self._forced.extend(replies)

    def _handle(self, recorded: Recorded) -> Reply:
        with self.lock:
            reply = self._forced.popleft() if self._forced else self.serve(recorded, time.monotonic())
        return replace(reply, delay=max(reply.delay, self.latency))

    @abc.abstractmethod
    def serve(self, request: Recorded, now: float) -> Reply:
        """The service's answer (called with ``lock`` held)."""

    def start(self) -> Any:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()

    def __enter__(self) -> Any:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class TokenBucket:
    """``rate`` tokens per second up to ``burst``; :meth:`take` answers how long to wait when empty."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._last = time.monotonic()

    def take(self, now: float) -> float:
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1:
            self._tokens -= 1
            return 0.0
        return (1 - self._tokens) / self.rate

    @property
    def remaining(self) -> int:
        return int(self._tokens)


class SlidingWindow:
    """At most ``limit`` events in any ``window`` seconds; :meth:`take` answers how long to wait when full."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._events: collections.deque[float] = collections.deque()

    def take(self, now: float) -> float:
        while self._events and self._events[0] <= now - self.window:
            self._events.popleft()
        if len(self._events) >= self.limit:
            return self._events[0] + self.window - now
        self._events.append(now)
        return 0.0


def utf16_length(text: str) -> int:
    """Length as the strictest reading of a documented "characters" limit: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2
