"""A BatchSpanProcessor that sheds spans quietly when its queue is full.

When the collector is down or never answers, the SDK's span queue fills up and the SDK then logs
"Queue full, dropping Span" for every further span. Building that log record costs several µs on the
detector's own thread (the duplicate filter that silences it runs only after the record is made), so a dead
collector would slow every detector call. Here a span that finds the queue full is dropped before the SDK
sees it, counted, and reported in one warning at most every ``report_interval`` seconds.

The queue is read through the SDK's private ``_batch_processor``; with a layout this module does not know,
it leaves every span to the SDK, as a plain BatchSpanProcessor would (opentelemetry-sdk >=1.45,<1.46 is
what this is tested against).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sized
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

_logger = logging.getLogger("nethical_otel")

REPORT_INTERVAL_SECONDS = 60.0


class SheddingBatchSpanProcessor(BatchSpanProcessor):
    """A BatchSpanProcessor whose full queue costs the caller one length check per span."""

    def __init__(
        self, exporter: SpanExporter, destination: str, report_interval: float = REPORT_INTERVAL_SECONDS
    ) -> None:
        super().__init__(exporter)
        batch: Any = getattr(self, "_batch_processor", None)
        queue, capacity = getattr(batch, "_queue", None), getattr(batch, "_max_queue_size", None)
        self._queue: Sized | None = None
        self._capacity = 0
        if isinstance(queue, Sized) and isinstance(capacity, int):
            self._queue, self._capacity = queue, capacity
        self._destination = destination
        self._report_interval = report_interval
        self._lock = threading.Lock()
        self.dropped = 0  # every span shed since the start
        self._reported = 0
        self._next_report = 0.0

    def on_end(self, span: ReadableSpan) -> None:
        queue = self._queue
        if queue is None or len(queue) < self._capacity:
            super().on_end(span)
            return
        if span.context is None or not span.context.trace_flags.sampled:
            return  # the SDK would not have queued it either
        with self._lock:
            self.dropped += 1
            now = time.monotonic()
            if now < self._next_report:
                return
            self._next_report = now + self._report_interval
            new, self._reported = self.dropped - self._reported, self.dropped
        _logger.warning(
            "the span queue for %s is full (is the collector down or slow?): %d span(s) dropped since the last "
            "report, %d in all",
            self._destination,
            new,
            self.dropped,
        )
