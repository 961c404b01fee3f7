"""Metric families and their bound children, for the two ways measurements reach the SDK.

A *family* is one metric of the contract; a *child* is one label combination of it, bound once and
then recorded into on the hot path. Both backends share the label handling, the cardinality cap and the
refusal of NaN, infinite and out-of-range values; they differ only in where a recording goes:

* :class:`LocalBackend` aggregates in place (a lock, an add, a bisect) and hands cumulative data points
  to the SDK at collection time (see :mod:`nethical_otel.metrics._provider`). This is the hot path of
  every pipeline that nethical_otel builds.
* :class:`SdkBackend` records through ordinary OpenTelemetry instruments, for a MeterProvider built by
  someone else (for instance the stock ``opentelemetry-instrument`` configurator). Buckets then come
  from ``explicit_bucket_boundaries_advisory``, exemplars from the SDK's own reservoirs.

Exemplars: a recording may carry an :data:`ExemplarRef` (trace id, span id, time). A cell of a family
whose spec has ``exemplars`` keeps the most recent one per series (counter) or per bucket (histogram),
with its value: a fixed number of slots per cell, whatever the traffic.
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from opentelemetry.metrics import Meter
from opentelemetry.sdk.metrics.export import (
    Metric,
)

from nethical_otel.metrics._labels import LabelCleaner
from nethical_otel.metrics._points import ReaderState, Scope, build_metrics
from nethical_otel.semconv import MetricKind, MetricSpec

_logger = logging.getLogger("nethical_otel.metrics")

OVERFLOW_ATTRIBUTES = {"otel.metric.overflow": True}
# Valid ranges are clamped to finite floats, so one chained comparison refuses NaN and both infinities.
_FINITE_MAX = sys.float_info.max  # the SDK's overflow series, so both backends agree
_RAW_CACHE_MAX = 4096

Reject = Callable[[MetricSpec, float], None]

ExemplarRef = tuple[int, int, int]
"""What an exemplar links a measurement to: trace id, span id (both 0 without a span) and the time of
the measurement in nanoseconds since the epoch. One is made per detector call and shared by its recordings."""

# A kept exemplar: (value, ExemplarRef). Fixed size: a shared-memory cell lays it out as a 16-byte trace
# id, an 8-byte span id, a float64 value and an int64 time.
Kept = tuple[float, ExemplarRef]


class Child(Protocol):
    def record(self, value: float, exemplar: ExemplarRef | None = None) -> None:
        """Add to a counter, observe into a histogram, or set a gauge; keep ``exemplar`` if the family does."""


def _finite_range(spec: MetricSpec) -> tuple[float, float]:
    return max(spec.valid_min, -_FINITE_MAX), min(spec.valid_max, _FINITE_MAX)


class Family:
    """One metric of the contract; hands out children per label combination."""

    def __init__(self, spec: MetricSpec, clean: LabelCleaner, limit: int, reject: Reject) -> None:
        self.spec = spec
        self._clean = clean
        self._limit = limit
        self._reject = reject
        self._lock = threading.Lock()
        self._children: dict[tuple[str, ...], Any] = {}
        self._by_raw: dict[tuple[Any, ...], Any] = {}
        self._overflow: Any = None

    def child(self, *values: str) -> Any:
        """The child for already clean label values (see :meth:`labels` for raw ones)."""
        existing = self._children.get(values)
        if existing is not None:
            return existing
        with self._lock:
            existing = self._children.get(values)
            if existing is not None:
                return existing
            # One slot stays for the overflow series, as in the SDK's cardinality limit.
            if len(self._children) >= self._limit - 1:
                if self._overflow is None:
                    _logger.warning(
                        "%s reached its limit of %d series; further label combinations are counted in one "
                        'series labelled otel_metric_overflow="true"',
                        self.spec.prometheus_name,
                        self._limit,
                    )
                    self._overflow = self._new_child(OVERFLOW_ATTRIBUTES)
                return self._overflow
            created = self._new_child(dict(zip(self.spec.label_keys, values, strict=True)))
            self._children[values] = created
            return created

    def labels(self, *raw: object) -> Any:
        """The child for arbitrary label values: cleaned, and cached while the cache is small."""
        try:
            return self._by_raw[raw]
        except KeyError:
            pass
        except TypeError:  # unhashable label values: clean them every time
            return self.child(*map(self._clean, raw))
        found = self.child(*map(self._clean, raw))
        if found is not self._overflow and len(self._by_raw) < _RAW_CACHE_MAX:
            self._by_raw[raw] = found
        return found

    def declare(self, *values: str) -> None:
        """Expose this series from now on, at zero until recorded into: ``rate()`` and ``increase()`` then
        see its first increments (a series that appears already at 1 looks unchanged to them)."""
        self.child(*values).declare()

    def _new_child(self, attributes: dict[str, Any]) -> Any:
        raise NotImplementedError  # each backend's family defines it

    def points(self) -> Iterator[Any]:
        yield from self._children.values()
        if self._overflow is not None:
            yield self._overflow


# Local backend --------------------------------------------------------------------------------------
# Recording takes the child's lock with pre-bound acquire/release instead of `with`: half the cost, and
# nothing between them can raise.
class LocalCounter:
    __slots__ = ("_acquire", "_keeps", "_reject", "_release", "_spec", "attributes", "declared", "exemplar", "value")

    def __init__(self, spec: MetricSpec, attributes: dict[str, Any], reject: Reject) -> None:
        self._spec, self.attributes, self._reject = spec, attributes, reject
        lock = threading.Lock()
        self._acquire, self._release = lock.acquire, lock.release
        self.value = 0.0
        self.declared = False
        self._keeps = spec.exemplars
        self.exemplar: Kept | None = None

    def declare(self) -> None:
        self.declared = True

    def record(self, value: float = 1, exemplar: ExemplarRef | None = None) -> None:
        if not 0 <= value <= _FINITE_MAX:
            self._reject(self._spec, value)
            return
        self._acquire()
        self.value += value
        if exemplar is not None and self._keeps:
            self.exemplar = (value, exemplar)
        self._release()

    def snapshot(self) -> tuple[float, Kept | None]:
        self._acquire()
        value, exemplar = self.value, self.exemplar
        self._release()
        return value, exemplar


class LocalGauge:
    __slots__ = ("_hi", "_lo", "_reject", "_spec", "attributes", "value")

    def __init__(self, spec: MetricSpec, attributes: dict[str, Any], reject: Reject) -> None:
        self._spec, self.attributes, self._reject = spec, attributes, reject
        self._lo, self._hi = _finite_range(spec)
        self.value: float | None = None

    def record(self, value: float, exemplar: ExemplarRef | None = None) -> None:  # gauges keep no exemplars
        if not self._lo <= value <= self._hi:
            self._reject(self._spec, value)
            return
        self.value = value

    def declare(self) -> None:
        if self.value is None:
            self.value = 0.0


class LocalHistogram:
    __slots__ = (
        "_acquire",
        "_bounds",
        "_hi",
        "_lo",
        "_lock",
        "_reject",
        "_release",
        "_spec",
        "attributes",
        "count",
        "counts",
        "declared",
        "exemplars",
        "max",
        "min",
        "sum",
    )

    def __init__(self, spec: MetricSpec, attributes: dict[str, Any], reject: Reject) -> None:
        self._spec, self.attributes, self._reject = spec, attributes, reject
        self._lo, self._hi = _finite_range(spec)
        self._bounds = spec.buckets
        self._lock = threading.Lock()
        self._acquire, self._release = self._lock.acquire, self._lock.release
        self.counts = [0] * (len(spec.buckets) + 1)
        self.count = 0
        self.sum = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.declared = False
        # One slot per bucket, or None for a family without exemplars.
        self.exemplars: list[Kept | None] | None = [None] * len(self.counts) if spec.exemplars else None

    def declare(self) -> None:
        self.declared = True

    def record(self, value: float, exemplar: ExemplarRef | None = None) -> None:
        if not self._lo <= value <= self._hi:
            self._reject(self._spec, value)
            return
        index = bisect_left(self._bounds, value)  # bucket i holds values <= bounds[i], Prometheus' `le`
        self._acquire()
        self.counts[index] += 1
        self.count += 1
        self.sum += value
        if value < self.min:
            self.min = value
        if value > self.max:
            self.max = value
        if exemplar is not None and self.exemplars is not None:
            self.exemplars[index] = (value, exemplar)
        self._release()

    def snapshot(self) -> tuple[list[int], int, float, float, float, list[Kept | None]]:
        with self._lock:
            exemplars = list(self.exemplars) if self.exemplars is not None else []
            return list(self.counts), self.count, self.sum, self.min, self.max, exemplars


class LocalFamily(Family):
    def __init__(self, spec: MetricSpec, clean: LabelCleaner, limit: int, reject: Reject) -> None:
        super().__init__(spec, clean, limit, reject)
        self._child_type = {
            MetricKind.COUNTER: LocalCounter,
            MetricKind.GAUGE: LocalGauge,
            MetricKind.HISTOGRAM: LocalHistogram,
        }[spec.kind]

    def _new_child(self, attributes: dict[str, Any]) -> Any:
        return self._child_type(self.spec, attributes, self._reject)


class LocalBackend:
    """In-process aggregation, published to the SDK's readers as ordinary metric data."""

    def __init__(self, clean: LabelCleaner, cardinality_limit: int) -> None:
        self.clean = clean
        self._limit = cardinality_limit
        self._families: list[Family] = []
        self.start_time_ns = time.time_ns()

    @property
    def families(self) -> list[Family]:
        return self._families

    def family(self, spec: MetricSpec, reject: Reject) -> Family:
        created = LocalFamily(spec, self.clean, self._limit, reject)
        self._families.append(created)
        return created

    def new_reader_state(self, delta: bool, scope: Scope = Scope.MERGED, latest_exemplars: bool = False) -> ReaderState:
        return ReaderState(self.start_time_ns, delta, scope, latest_exemplars)

    def collect(self, state: ReaderState) -> list[Metric] | None:
        """The data for one reader; ``None`` when this process exports nothing to it."""
        return build_metrics([(f.spec, local_series(f)) for f in self._families], state, self.start_time_ns)


def local_series(family: Family) -> list[Any]:
    """The series of this process's in-memory cells of ``family``."""
    series: list[Any] = []
    for child in family.points():
        if isinstance(child, LocalCounter):
            value, kept = child.snapshot()
            series.append((id(child), child.attributes, value, child.declared, kept))
        elif isinstance(child, LocalGauge):
            series.append((id(child), child.attributes, child.value))
        elif isinstance(child, LocalHistogram):
            counts, _count, total, low, high, kept_list = child.snapshot()
            series.append((id(child), child.attributes, counts, total, low, high, child.declared, kept_list))
    return series


# SDK backend ----------------------------------------------------------------------------------------
class SdkChild:
    __slots__ = ("_hi", "_lo", "_record", "_reject", "_spec", "attributes")

    def __init__(self, spec: MetricSpec, record: Callable[..., None], attributes: dict[str, Any], reject: Reject):
        self._spec, self._record, self.attributes, self._reject = spec, record, attributes, reject
        self._lo, self._hi = _finite_range(spec)
        if spec.kind is MetricKind.COUNTER:
            self._lo = 0.0

    def record(self, value: float = 1, exemplar: ExemplarRef | None = None) -> None:
        # The SDK's reservoirs take exemplars from the current context (the decorator records inside its span).
        if not self._lo <= value <= self._hi:
            self._reject(self._spec, value)
            return
        self._record(value, self.attributes)

    def declare(self) -> None:
        if self._spec.kind is not MetricKind.HISTOGRAM:  # a histogram cannot hold a series without a value
            self._record(0, self.attributes)


class SdkFamily(Family):
    def __init__(self, spec: MetricSpec, clean: LabelCleaner, limit: int, reject: Reject, meter: Meter) -> None:
        super().__init__(spec, clean, limit, reject)
        if spec.kind is MetricKind.COUNTER:
            self._sdk_record = meter.create_counter(spec.name, spec.unit, spec.description).add
        elif spec.kind is MetricKind.GAUGE:
            self._sdk_record = meter.create_gauge(spec.name, spec.unit, spec.description).set
        else:
            self._sdk_record = meter.create_histogram(
                spec.name, spec.unit, spec.description, explicit_bucket_boundaries_advisory=list(spec.buckets)
            ).record

    def _new_child(self, attributes: dict[str, Any]) -> Any:
        return SdkChild(self.spec, self._sdk_record, attributes, self._reject)


class SdkBackend:
    """Recording through standard OpenTelemetry instruments of a MeterProvider nethical_otel did not build."""

    def __init__(self, meter: Meter, clean: LabelCleaner, cardinality_limit: int) -> None:
        self.clean = clean
        self._meter = meter
        # The SDK folds excess series itself; this cap only bounds our own child objects.
        self._limit = cardinality_limit

    def family(self, spec: MetricSpec, reject: Reject) -> SdkFamily:
        return SdkFamily(spec, self.clean, self._limit, reject, self._meter)


Backend = LocalBackend | SdkBackend
