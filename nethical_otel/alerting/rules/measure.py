"""The in-process half of the rule engine: samples of the metric stream, and what a rule measures
between two of them. Plain data in, plain data out.

A :class:`Sample` keeps only what the rules read, already summed (or, for a health gauge, minimised)
per value of each rule's ``by`` label, so a window of samples costs a few numbers per detector.
Counters are cumulative: a rule takes the increase between the sample at the start of its window and
the newest one; a sum that went backwards was reset (a new pipeline), and its new value is the increase.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nethical_otel import semconv
from nethical_otel.alerting.rules.spec import GaugeMin, Increase, Quantile, Ratio, RuleSpec, Selector

Histogram = tuple[tuple[float, ...], tuple[float, ...]]  # bucket bounds, per-bucket counts (+Inf last)
Point = tuple[str, Mapping[str, Any], "float | Histogram"]  # family (instrument) name, attributes, value


class How(enum.Enum):
    SUM = "sum"
    MIN = "min"
    HISTOGRAM = "histogram"


@dataclass(frozen=True)
class Selection:
    """What a rule reads of the stream: one selector's series, combined per value of ``by``."""

    selector: Selector
    by: str
    how: How


def selections(rule: RuleSpec) -> tuple[Selection, ...]:
    measure = rule.measure
    if isinstance(measure, Ratio):
        return tuple(Selection(s, rule.by, How.SUM) for s in (*measure.numerator, *measure.denominator))
    if isinstance(measure, Quantile):
        return (Selection(measure.histogram, rule.by, How.HISTOGRAM),)
    if isinstance(measure, GaugeMin):
        return (Selection(measure.gauge, rule.by, How.MIN),)
    return (Selection(measure.counter, rule.by, How.SUM),)


@dataclass
class Sample:
    at: float
    values: dict[Selection, dict[str, float]] = field(default_factory=dict)
    histograms: dict[Selection, dict[str, Histogram]] = field(default_factory=dict)


def reduce(at: float, points: Iterable[Point], wanted: Iterable[Selection]) -> Sample:
    """A sample holding, for each wanted selection, its series combined per ``by`` value."""
    by_family: dict[str, list[Selection]] = {}
    for selection in dict.fromkeys(wanted):  # a family read twice by one rule is summed once
        by_family.setdefault(selection.selector.family.name, []).append(selection)
    sample = Sample(at)
    for family, attributes, value in points:
        for selection in by_family.get(family, ()):
            if not selection.selector.matches(attributes):
                continue
            subject = str(attributes.get(selection.by, semconv.UNKNOWN))
            if selection.how is How.HISTOGRAM:
                if isinstance(value, tuple):
                    _add_histogram(sample.histograms.setdefault(selection, {}), subject, value)
                continue
            if isinstance(value, tuple):
                continue
            values = sample.values.setdefault(selection, {})
            known = values.get(subject)
            if selection.how is How.MIN:
                values[subject] = value if known is None else min(known, value)
            else:
                values[subject] = value + (known or 0.0)
    return sample


def _add_histogram(histograms: dict[str, Histogram], subject: str, value: Histogram) -> None:
    known = histograms.get(subject)
    if known is None:
        histograms[subject] = value
    elif known[0] == value[0]:  # series of one family share their bounds; others cannot be summed
        histograms[subject] = (known[0], tuple(a + b for a, b in zip(known[1], value[1], strict=True)))


def histogram_quantile(quantile: float, bounds: Sequence[float], counts: Sequence[float]) -> float | None:
    """PromQL's ``histogram_quantile`` over one set of (non-cumulative) bucket counts."""
    total = sum(counts)
    if total <= 0 or not bounds:
        return None
    rank = quantile * total
    seen = 0.0
    for index, count in enumerate(counts):
        if seen + count >= rank and count > 0:
            if index >= len(bounds):  # the +Inf bucket: the highest finite bound, as Prometheus answers
                return float(bounds[-1])
            lower = 0.0 if index == 0 else float(bounds[index - 1])
            upper = float(bounds[index])
            return lower + (upper - lower) * (rank - seen) / count
        seen += count
    return float(bounds[-1])


@dataclass(frozen=True)
class Measured:
    """What one rule measured: per subject (value of its ``by`` label) the value, and the volume of
    requests or lookups behind it (None for a rule that needs none)."""

    values: Mapping[str, float] = field(default_factory=dict)
    volume: Mapping[str, float] | None = None


def measure(rule: RuleSpec, old: Sample, new: Sample) -> Measured:
    """What ``rule`` measures between ``old`` (the start of its window) and ``new``."""
    spec = rule.measure
    if isinstance(spec, GaugeMin):
        return Measured(dict(new.values.get(Selection(spec.gauge, rule.by, How.MIN), {})))
    if isinstance(spec, Increase):
        return Measured(_increase(Selection(spec.counter, rule.by, How.SUM), old, new))
    if isinstance(spec, Quantile):
        selection = Selection(spec.histogram, rule.by, How.HISTOGRAM)
        before = old.histograms.get(selection, {})
        values, volume = {}, {}
        for subject, (bounds, cumulative) in new.histograms.get(selection, {}).items():
            earlier = before.get(subject)
            counts = cumulative
            if earlier is not None and earlier[0] == bounds:
                increases = tuple(c - b for b, c in zip(earlier[1], cumulative, strict=True))
                counts = increases if min(increases, default=0.0) >= 0 else cumulative  # else: reset
            value = histogram_quantile(spec.quantile, bounds, counts)
            if value is not None:
                values[subject], volume[subject] = value, sum(counts)
        return Measured(values, volume)
    numerator = _sum(spec.numerator, rule.by, old, new)
    denominator = _sum(spec.denominator, rule.by, old, new)
    return Measured(
        {subject: numerator.get(subject, 0.0) / total for subject, total in denominator.items() if total > 0},
        denominator,
    )


def _sum(selectors: Iterable[Selector], by: str, old: Sample, new: Sample) -> dict[str, float]:
    total: dict[str, float] = {}
    for selector in selectors:
        for subject, value in _increase(Selection(selector, by, How.SUM), old, new).items():
            total[subject] = total.get(subject, 0.0) + value
    return total


def _increase(selection: Selection, old: Sample, new: Sample) -> dict[str, float]:
    before = old.values.get(selection, {})
    increases = {}
    for subject, value in new.values.get(selection, {}).items():
        start = before.get(subject, 0.0)
        increases[subject] = value - start if value >= start else value
    return increases


def breaches(rule: RuleSpec, measured: Measured, threshold: float, min_volume: float) -> list[tuple[str, float]]:
    """The subjects for which ``rule`` holds, with their values, in order."""
    volume = measured.volume if rule.guarded else None
    return [
        (subject, value)
        for subject, value in sorted(measured.values.items())
        if rule.comparison.holds(value, threshold) and (volume is None or volume.get(subject, 0.0) >= min_volume)
    ]
