"""What a metric family is: its instrument kind, labels, buckets, bounds and merge policy."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

__all__ = [
    "GaugeMerge",
    "MetricKind",
    "MetricSpec",
]


class MetricKind(enum.Enum):
    COUNTER = "counter"
    HISTOGRAM = "histogram"
    GAUGE = "gauge"


class GaugeMerge(enum.Enum):
    """How a gauge's values from several worker processes combine into one series (multiprocess mode).

    Counters and histograms are always summed; a gauge says what it means. Gauges of dead workers are
    dropped in every policy.
    """

    SUM = "sum"  # a quantity spread over the workers (active detectors, queue length)
    MIN = "min"  # a health flag: the series is healthy only if every live worker says so
    MAX = "max"


@dataclass(frozen=True)
class MetricSpec:
    """One metric family: its OpenTelemetry instrument and the Prometheus family it becomes."""

    name: str
    kind: MetricKind
    description: str
    label_keys: tuple[str, ...]
    unit: str = ""
    buckets: tuple[float, ...] = ()
    # Values outside [valid_min, valid_max] (and NaN) are rejected and counted, never recorded.
    valid_min: float = -math.inf
    valid_max: float = math.inf
    # Gauges only: how the workers' values merge in multiprocess mode (required for every gauge).
    merge: GaugeMerge | None = None
    # Keeps the most recent exemplar (trace id, span id, value, time) per series, or per bucket of a
    # histogram. OpenMetrics allows exemplars on counters and histogram buckets only.
    exemplars: bool = False

    def __post_init__(self) -> None:
        if (self.kind is MetricKind.GAUGE) != (self.merge is not None):
            raise ValueError(f"{self.name}: a gauge needs a merge policy, and only a gauge has one")
        if self.exemplars and self.kind is MetricKind.GAUGE:
            raise ValueError(f"{self.name}: a gauge cannot carry exemplars")

    @property
    def prometheus_name(self) -> str:
        """The family name as it appears on ``/metrics`` (without ``_bucket``/``_sum``/``_count``)."""
        name = self.name
        if self.unit == "s" and not name.endswith("_seconds"):
            name += "_seconds"
        if self.kind is MetricKind.COUNTER:
            name += "_total"
        return name
