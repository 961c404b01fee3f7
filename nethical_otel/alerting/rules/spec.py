"""What a metric rule is, as data: what it measures, how it compares, when it fires, what it says.

A :class:`RuleSpec` is written once (in :mod:`.table`) and read by two engines that must agree: the
in-process evaluator (:mod:`.measure`, :mod:`.evaluator`) and the PromQL export (:mod:`.promql`).
Every measure is taken per value of one label (``by``) over the contract's metric families.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from nethical_otel.semconv import AlertChannel, AlertSeverity, MetricKind, MetricSpec


class Comparison(str, enum.Enum):
    ABOVE = ">"
    BELOW = "<"
    EQUAL = "=="

    def holds(self, value: float, threshold: float) -> bool:
        if self is Comparison.ABOVE:
            return value > threshold
        if self is Comparison.BELOW:
            return value < threshold
        return value == threshold


class Unit(str, enum.Enum):
    """How a value or threshold of a rule is shown to people (Prometheus' humanize functions)."""

    RATIO = "percent"  # 0.25 -> 25%
    SECONDS = "duration"  # 2.425 -> 2.425s
    NUMBER = "number"


@dataclass(frozen=True)
class Selector:
    """Series of one metric family whose labels equal ``matchers``."""

    family: MetricSpec
    matchers: tuple[tuple[str, str], ...] = ()

    def matches(self, labels: Mapping[str, Any]) -> bool:
        return all(labels.get(name) == value for name, value in self.matchers)


@dataclass(frozen=True)
class Ratio:
    """Increase of the numerator's series over the increase of the denominator's (each a sum of
    families). The volume behind the value is the denominator's increase."""

    numerator: tuple[Selector, ...]
    denominator: tuple[Selector, ...]


@dataclass(frozen=True)
class Quantile:
    """``quantile`` of the histogram's observations in the window (PromQL's ``histogram_quantile``); the
    volume is their count."""

    histogram: Selector
    quantile: float

    def __post_init__(self) -> None:
        if self.histogram.family.kind is not MetricKind.HISTOGRAM:
            raise ValueError(f"{self.histogram.family.name} is not a histogram")


@dataclass(frozen=True)
class GaugeMin:
    """The lowest current value of the gauge's series (a health flag is down if any instance says so)."""

    gauge: Selector


@dataclass(frozen=True)
class Increase:
    """How much the counter's series grew in the window; a series that first appears counts from zero."""

    counter: Selector


Measure = Ratio | Quantile | GaugeMin | Increase


@dataclass(frozen=True)
class Threshold:
    """The value compared with: the setting ``alerting.rules.<key>`` times ``scale`` (its unit into the
    metric's), or a fixed ``constant``."""

    key: str | None = None
    scale: float = 1.0
    constant: float = 0.0

    def value(self, settings: Any) -> float:
        return self.constant if self.key is None else float(getattr(settings, self.key)) * self.scale


@dataclass(frozen=True)
class RuleSpec:
    """One rule. ``summary`` and ``description`` are templates (see :mod:`.templates`)."""

    alertname: str
    group: str  # the Prometheus rule group
    measure: Measure
    by: str  # the label the rule judges each value of
    comparison: Comparison
    threshold: Threshold
    unit: Unit  # of the measured value and the threshold
    window_seconds: float | None  # None: the rule reads current values (a gauge)
    for_seconds: float
    severity: AlertSeverity
    summary: str
    description: str
    # The original Nethical AlertRules check of this rule (None: evaluated by Prometheus only), its alert
    # title and the channels it sent to.
    key: str | None = None
    title: str = ""
    channels: tuple[AlertChannel, ...] = ()

    @property
    def in_process(self) -> bool:
        return self.key is not None

    @property
    def guarded(self) -> bool:
        """Rates and quantiles need ``alerting.rules.min_requests`` in the window."""
        return isinstance(self.measure, (Ratio, Quantile))

    def window(self, settings: Any) -> float | None:
        """The window in seconds: ``alerting.rules.window_seconds`` when set, else the rule's own."""
        if self.window_seconds is None:
            return None
        override = getattr(settings, "window_seconds", None)
        return float(override) if override is not None else self.window_seconds

    def hold_for(self, settings: Any) -> float:
        override = getattr(settings, "for_seconds", None)
        return float(override) if override is not None else self.for_seconds
