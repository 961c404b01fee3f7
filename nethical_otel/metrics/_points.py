"""From series to SDK metric data: what each reader is given, cumulative or as deltas, with exemplars.

A series comes from this process's cells (:func:`nethical_otel.metrics._families.local_series`) or from
the merge of every worker's file (:mod:`nethical_otel.metrics.multiprocess._merge`); either way it becomes the same
data points here.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Hashable, Iterable
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.metrics import Exemplar
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    Gauge,
    Histogram,
    HistogramDataPoint,
    Metric,
    NumberDataPoint,
    Sum,
)

from nethical_otel.semconv import MetricKind, MetricSpec

if TYPE_CHECKING:
    from nethical_otel.metrics._families import Kept


class Scope(enum.Enum):
    """Which values a reader is given (multiprocess mode; a single process has only its own)."""

    OWN = "own"  # this process's cells (OTLP per worker)
    MERGED = "merged"  # every worker's cells (/metrics, rule evaluation)
    MERGED_IF_PRIMARY = "merged_if_primary"  # merged, from one process only (merged OTLP)


class ReaderState:
    """What one reader was last sent, to turn cumulative values into deltas when it asks for them.

    ``latest_exemplars``: a scraped exposition shows each bucket's most recent exemplar at every scrape, as
    OpenMetrics clients do (a second scraper, or a curl, takes nothing away from Prometheus); a pushing
    reader gets only the exemplars recorded since its previous collection, as the SDK's reservoirs give.
    """

    def __init__(
        self, start_time_ns: int, delta: bool, scope: Scope = Scope.MERGED, latest_exemplars: bool = False
    ) -> None:
        self.delta = delta
        self.scope = scope
        self.latest_exemplars = latest_exemplars
        self.last_time_ns = start_time_ns
        self.previous: dict[Hashable, Any] = {}

    def exemplars(self, kept: Iterable[Kept | None]) -> list[Exemplar]:
        """The SDK exemplars of ``kept`` slots that this reader should see."""
        after = 0 if self.latest_exemplars else self.last_time_ns
        found = []
        for slot in kept:
            if slot is None:
                continue
            value, (trace_id, span_id, at) = slot
            if at > after:
                found.append(Exemplar({}, _number(float(value)), at, span_id or None, trace_id or None))
        return found


# One series as collection sees it, from this process's cells or merged from the workers' files.
# key: stable identity across collections (for deltas); counts: per bucket, +Inf last; kept: exemplars.
CounterSeries = tuple[Hashable, dict[str, Any], float, bool, "Kept | None"]  # key, attributes, value, declared
GaugeSeries = tuple[Hashable, dict[str, Any], float]  # key, attributes, value
# key, attributes, counts, sum, min, max, declared, one kept exemplar (or None) per bucket
HistogramSeries = tuple[Hashable, dict[str, Any], list[int], float, float, float, bool, "list[Kept | None]"]


def build_metrics(families: list[tuple[MetricSpec, list[Any]]], state: ReaderState, start_ns: int) -> list[Metric]:
    """SDK metric data for these series: cumulative, or deltas since the reader's last collection."""
    now = time.time_ns()
    start = state.last_time_ns if state.delta else start_ns
    temporality = AggregationTemporality.DELTA if state.delta else AggregationTemporality.CUMULATIVE
    metrics: list[Metric] = []
    for spec, series in families:
        data: Any
        if spec.kind is MetricKind.COUNTER:
            points: list[Any] = []
            for key, attributes, total, declared, kept in series:
                value = total
                if state.delta:
                    value, state.previous[key] = total - state.previous.get(key, 0.0), total
                if total or declared:
                    exemplars = state.exemplars((kept,)) if kept is not None else []
                    points.append(NumberDataPoint(attributes, start, now, _number(value), exemplars))
            data = Sum(points, temporality, is_monotonic=True) if points else None
        elif spec.kind is MetricKind.GAUGE:
            points = [NumberDataPoint(a, start, now, v) for _key, a, v in series if v is not None and not math.isnan(v)]
            data = Gauge(points) if points else None
        else:
            points = [p for item in series if (p := _histogram_point(spec, item, state, start, now))]
            data = Histogram(points, temporality) if points else None
        if data is not None:
            metrics.append(Metric(spec.name, spec.description, spec.unit, data))
    state.last_time_ns = now
    return metrics


def _number(value: float) -> float | int:
    return int(value) if value.is_integer() else value


def _histogram_point(
    spec: MetricSpec, series: HistogramSeries, state: ReaderState, start: int, now: int
) -> HistogramDataPoint | None:
    key, attributes, counts, total, low, high, declared, kept = series
    count = sum(counts)
    if not count:
        if not declared:
            return None
        low = high = 0.0
    if state.delta:
        previous = state.previous.get(key)
        state.previous[key] = (counts, count, total)
        if previous is not None:
            counts = [a - b for a, b in zip(counts, previous[0], strict=True)]
            count, total = count - previous[1], total - previous[2]
    # min and max are lifetime extremes; the exporter for Prometheus ignores them.
    exemplars = state.exemplars(kept)
    return HistogramDataPoint(attributes, start, now, count, total, counts, spec.buckets, low, high, exemplars)
