"""What a rule measures between two samples: plain data in, plain data out, as PromQL reads the same series."""

from __future__ import annotations

import pytest

from nethical_otel import semconv
from nethical_otel.alerting.rules import RuleEvaluator, histogram_quantile
from nethical_otel.alerting.rules.measure import breaches, measure, reduce, selections
from nethical_otel.alerting.rules.table import DETECTOR_DOWN, HIGH_ERROR_RATE, HIGH_LATENCY, LOW_CACHE_HIT_RATE
from nethical_otel.config import AlertRulesConfig

BOUNDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@pytest.mark.parametrize(
    ("quantile", "counts", "expected"),
    [
        (0.95, (0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0), 0.025 + 0.025 * 0.95),  # inside (0.025, 0.05]
        (0.5, (50, 50, 0, 0, 0, 0, 0, 0, 0, 0, 0), 0.005),  # the first bucket's upper bound
        (0.95, (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10), 5.0),  # +Inf bucket: the highest finite bound
        (0.95, (0,) * 11, None),
    ],
)
def test_histogram_quantile_interpolates_like_promql(quantile, counts, expected):
    result = histogram_quantile(quantile, BOUNDS, counts)
    assert result == (pytest.approx(expected) if expected is not None else None)


def requests(detector: str, status: str, value: float):
    return (semconv.REQUESTS.name, {semconv.DETECTOR_TYPE: detector, semconv.STATUS: status}, value)


def test_a_ratio_is_summed_per_label_value_and_a_reset_counter_counts_its_new_value():
    wanted = selections(HIGH_ERROR_RATE)
    old = reduce(0, [requests("a", "success", 100), requests("a", "error", 10), requests("b", "success", 500)], wanted)
    new = reduce(
        60,
        [
            requests("a", "success", 190),
            requests("a", "error", 20),
            requests("b", "success", 20),  # reset: 20 new requests
            requests("b", "error", 5),  # a series that appears counts from zero
        ],
        wanted,
    )
    measured = measure(HIGH_ERROR_RATE, old, new)
    assert measured.values == {"a": 10 / 100, "b": 5 / 25}
    assert measured.volume == {"a": 100, "b": 25}


def test_a_ratio_below_its_threshold_counts_a_missing_numerator_as_zero():
    wanted = selections(LOW_CACHE_HIT_RATE)
    misses = [(semconv.CACHE_MISSES.name, {semconv.CACHE_TYPE: "cold"}, value) for value in (0.0, 40.0)]
    measured = measure(LOW_CACHE_HIT_RATE, reduce(0, misses[:1], wanted), reduce(60, misses[1:], wanted))
    assert measured.values == {"cold": 0.0}
    assert breaches(LOW_CACHE_HIT_RATE, measured, 0.5, 10) == [("cold", 0.0)]
    assert breaches(LOW_CACHE_HIT_RATE, measured, 0.5, 41) == []  # not enough lookups to judge


def test_a_quantile_is_taken_over_the_observations_of_the_window_only():
    wanted = selections(HIGH_LATENCY)
    family = semconv.REQUEST_LATENCY.name
    before = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1000)  # a slow past
    after = (100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1000)  # 100 fast calls in the window
    old = reduce(0, [(family, {semconv.DETECTOR_TYPE: "pi"}, (BOUNDS, before))], wanted)
    new = reduce(60, [(family, {semconv.DETECTOR_TYPE: "pi"}, (BOUNDS, after))], wanted)
    measured = measure(HIGH_LATENCY, old, new)
    assert measured.values == {"pi": pytest.approx(0.005 * 0.95)} and measured.volume == {"pi": 100}


def test_a_health_gauge_is_down_when_any_of_its_series_is():
    wanted = selections(DETECTOR_DOWN)
    family = semconv.DETECTOR_HEALTH.name
    points = [
        (family, {semconv.DETECTOR_TYPE: "pi", "instance": "a"}, 1.0),
        (family, {semconv.DETECTOR_TYPE: "pi", "instance": "b"}, 0.0),
        (family, {semconv.DETECTOR_TYPE: "ok"}, 1.0),
    ]
    sample = reduce(0, points, wanted)
    assert breaches(DETECTOR_DOWN, measure(DETECTOR_DOWN, sample, sample), 0.0, 10) == [("pi", 0.0)]


def test_each_rule_is_judged_over_its_own_window_and_fires_after_its_own_for():
    timeline = {}
    wanted = selections(HIGH_ERROR_RATE) + selections(DETECTOR_DOWN)
    for minute in range(12):
        points = [requests("pi", "success", 90.0 * minute), requests("pi", "error", 10.0 * minute)]
        points.append((semconv.DETECTOR_HEALTH.name, {semconv.DETECTOR_TYPE: "pi"}, 0.0 if minute >= 3 else 1.0))
        timeline[minute * 60.0] = reduce(minute * 60.0, points, wanted)
    fired = []
    evaluator = RuleEvaluator(AlertRulesConfig(), timeline.__getitem__, fired.append, (HIGH_ERROR_RATE, DETECTOR_DOWN))
    for minute in range(12):
        evaluator.evaluate(minute * 60.0)
        if minute == 5:
            assert [a.name for a in fired] == ["NethicalDetectorDown"]  # down at 3, `for` 1 minute
    # The error rate holds from minute 1 (the first rate); its `for` is 5 minutes.
    assert [(a.name, a.starts_at) for a in fired] == [("NethicalDetectorDown", 180.0), ("NethicalHighErrorRate", 60.0)]
    assert fired[1].annotations["summary"] == "pi fails 10% of requests"
