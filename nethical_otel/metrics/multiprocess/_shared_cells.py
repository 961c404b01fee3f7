"""Cells that live in this worker's memory-mapped file (multiprocess mode), recorded into on the hot path.

The same job as the local cells of :mod:`nethical_otel.metrics._families`, with the value in shared
memory so that whichever process serves ``/metrics`` reads it. One writer per file (this process); the
in-process lock only orders this process's threads. See :mod:`nethical_otel.metrics.multiprocess._cell_file`
for the layout and why a reader never sees a torn value.
"""

from __future__ import annotations

import logging
import math
import threading
from bisect import bisect_left
from collections.abc import Callable
from typing import Any

from nethical_otel.metrics._families import (
    _FINITE_MAX,
    ExemplarRef,
    Family,
    LocalCounter,
    LocalGauge,
    LocalHistogram,
    Reject,
    _finite_range,
)
from nethical_otel.metrics._labels import LabelCleaner
from nethical_otel.metrics.multiprocess._cell_file import (
    _MASK64,
    EXEMPLAR_WORDS,
    KIND_COUNTER,
    KIND_GAUGE,
    KIND_HISTOGRAM,
    Slot,
    encode_key,
    slot_words,
)
from nethical_otel.semconv import MetricKind, MetricSpec

_logger = logging.getLogger("nethical_otel.metrics")

Allocate = Callable[[bytes, int, int], Slot]


class _Exemplars:
    """The exemplar blocks of one cell (see the layout in :mod:`nethical_otel.metrics.multiprocess._cell_file`)."""

    __slots__ = ("d", "first", "q", "sequences")

    def __init__(self, slot: Slot, first: int, count: int) -> None:
        self.d, self.q, self.first = slot.d, slot.q, first
        self.sequences = [0] * count  # this process is the only writer: its own copies decide

    def keep(self, number: int, value: float, exemplar: ExemplarRef) -> None:
        """Under the cell's lock."""
        q, at = self.q, self.first + number * EXEMPLAR_WORDS
        trace_id, span_id, time_ns = exemplar
        seq = self.sequences[number] + 1
        self.sequences[number] = seq + 1
        q[at] = seq  # odd: being written
        q[at + 1] = trace_id >> 64
        q[at + 2] = trace_id & _MASK64
        q[at + 3] = span_id
        self.d[at + 4] = value
        q[at + 5] = time_ns
        q[at] = seq + 1


class SharedCounter:
    __slots__ = ("_acquire", "_d", "_exemplars", "_i", "_reject", "_release", "_spec", "attributes")

    def __init__(self, spec: MetricSpec, attributes: dict[str, Any], reject: Reject, slot: Slot) -> None:
        self._spec, self.attributes, self._reject = spec, attributes, reject
        self._d, self._i = slot.d, slot.index
        self._exemplars = _Exemplars(slot, slot.index + 2, 1) if spec.exemplars else None
        lock = threading.Lock()
        self._acquire, self._release = lock.acquire, lock.release

    def declare(self) -> None:
        self._d[self._i + 1] = 1.0

    def record(self, value: float = 1, exemplar: ExemplarRef | None = None) -> None:
        if not 0 <= value <= _FINITE_MAX:
            self._reject(self._spec, value)
            return
        self._acquire()
        self._d[self._i] += value  # one 8-byte store: never torn
        if exemplar is not None and self._exemplars is not None:
            self._exemplars.keep(0, value, exemplar)
        self._release()


class SharedGauge:
    __slots__ = ("_d", "_hi", "_i", "_lo", "_reject", "_spec", "attributes")

    def __init__(self, spec: MetricSpec, attributes: dict[str, Any], reject: Reject, slot: Slot) -> None:
        self._spec, self.attributes, self._reject = spec, attributes, reject
        self._lo, self._hi = _finite_range(spec)
        self._d, self._i = slot.d, slot.index

    def record(self, value: float, exemplar: ExemplarRef | None = None) -> None:  # gauges keep no exemplars
        if not self._lo <= value <= self._hi:
            self._reject(self._spec, value)
            return
        self._d[self._i] = value

    def declare(self) -> None:
        if math.isnan(self._d[self._i]):
            self._d[self._i] = 0.0


class SharedHistogram:
    __slots__ = (
        "_a",
        "_acquire",
        "_b",
        "_bounds",
        "_d",
        "_exemplars",
        "_hi",
        "_lo",
        "_max",
        "_min",
        "_q",
        "_reject",
        "_release",
        "_seq",
        "_sequence",
        "_spec",
        "_sum",
        "attributes",
    )

    def __init__(self, spec: MetricSpec, attributes: dict[str, Any], reject: Reject, slot: Slot) -> None:
        self._spec, self.attributes, self._reject = spec, attributes, reject
        self._lo, self._hi = _finite_range(spec)
        self._bounds = spec.buckets
        self._d, self._q, self._seq = slot.d, slot.q, slot.index
        self._a = slot.index + 2  # slot 0
        self._b = self._a + slot_words(len(spec.buckets))  # slot 1
        self._sum = len(spec.buckets) + 1  # offset of the sum in a slot; min and max follow it
        first = self._b + slot_words(len(spec.buckets))
        self._exemplars = _Exemplars(slot, first, len(spec.buckets) + 1) if spec.exemplars else None
        # This process is the only writer: its own copies of the sequence and the extremes decide.
        self._sequence = 0
        self._min, self._max = math.inf, -math.inf
        lock = threading.Lock()
        self._acquire, self._release = lock.acquire, lock.release

    def declare(self) -> None:
        self._d[self._seq + 1] = 1.0

    def record(self, value: float, exemplar: ExemplarRef | None = None) -> None:
        if not self._lo <= value <= self._hi:
            self._reject(self._spec, value)
            return
        index = bisect_left(self._bounds, value)  # bucket i holds values <= bounds[i], Prometheus' `le`
        d, a, b, total = self._d, self._a, self._b, self._sum
        self._acquire()
        q, seq_at = self._q, self._seq
        seq = self._sequence + 1
        self._sequence = seq + 1
        low, high = value < self._min, value > self._max
        if low:
            self._min = value
        if high:
            self._max = value
        # The two slots' updates are written out twice on purpose: a loop costs more on this hot path.
        q[seq_at] = seq  # odd: readers take slot 1 while slot 0 changes
        d[a + index] += 1.0
        d[a + total] += value
        if low:
            d[a + total + 1] = value
        if high:
            d[a + total + 2] = value
        q[seq_at] = seq + 1  # even: readers take slot 0 while slot 1 catches up
        d[b + index] += 1.0
        d[b + total] += value
        if low:
            d[b + total + 1] = value
        if high:
            d[b + total + 2] = value
        if exemplar is not None and self._exemplars is not None:
            self._exemplars.keep(index, value, exemplar)
        self._release()


_SHARED = {MetricKind.COUNTER: SharedCounter, MetricKind.GAUGE: SharedGauge, MetricKind.HISTOGRAM: SharedHistogram}
_LOCAL = {MetricKind.COUNTER: LocalCounter, MetricKind.GAUGE: LocalGauge, MetricKind.HISTOGRAM: LocalHistogram}
KIND_CODES = {MetricKind.COUNTER: KIND_COUNTER, MetricKind.GAUGE: KIND_GAUGE, MetricKind.HISTOGRAM: KIND_HISTOGRAM}


class SharedFamily(Family):
    """A family whose children are allocated in this worker's file."""

    def __init__(self, spec: MetricSpec, clean: LabelCleaner, limit: int, reject: Reject, allocate: Allocate):
        super().__init__(spec, clean, limit, reject)
        self._allocate = allocate
        self._kind = KIND_CODES[spec.kind]

    def _new_child(self, attributes: dict[str, Any]) -> Any:
        try:
            slot = self._allocate(encode_key(self.spec.name, attributes), self._kind, len(self.spec.buckets))
        except OSError as error:
            # A full or read-only disk: keep recording in this process rather than fail the detector.
            _logger.error(
                "cannot extend the multiprocess metrics file (%s): %s%s is recorded by this worker only and "
                "missing from the merged /metrics",
                error.strerror,
                self.spec.prometheus_name,
                attributes,
            )
            return _LOCAL[self.spec.kind](self.spec, attributes, self._reject)
        return _SHARED[self.spec.kind](self.spec, attributes, self._reject, slot)
