"""promtool unit tests of the exported rules, generated from :mod:`.examples`.

For each rule, its example's series are fed step by step to the in-process evaluator; the alerts it
has firing at each checked step, with their labels and texts, are what the test expects Prometheus to
have firing at that time. ``promtool test rules`` then runs the exported rule over the same series: a
rule the two engines read differently fails there.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from nethical_otel.alerting.rules.evaluator import RuleEvaluator
from nethical_otel.alerting.rules.examples import EXAMPLES, STEPS, Example, Observations, Series
from nethical_otel.alerting.rules.measure import Point, Sample, reduce, selections
from nethical_otel.alerting.rules.promql import duration, number
from nethical_otel.alerting.rules.spec import RuleSpec
from nethical_otel.config import AlertRulesConfig

_RATE_SAMPLES = 5  # samples per window at least, so a rate is a rate


def step(rules: Sequence[RuleSpec], config: AlertRulesConfig) -> float:
    """Seconds per example step: a minute, or less when a window is shorter than five minutes."""
    windows = [window for rule in rules if (window := rule.window(config)) is not None]
    return min([60.0, *(round(window * 1000 / _RATE_SAMPLES) / 1000 for window in windows)])


def tests_document(rules: Sequence[RuleSpec], config: AlertRulesConfig, rules_file: str) -> dict[str, Any]:
    seconds = step(rules, config)
    return {
        "rule_files": [rules_file],
        "evaluation_interval": duration(seconds),
        "tests": [_test(rule, EXAMPLES[rule.alertname], config, seconds) for rule in rules],
    }


def _test(rule: RuleSpec, example: Example, config: AlertRulesConfig, seconds: float) -> dict[str, Any]:
    timeline = {at: _sample(example, at, seconds, rule) for at in range(STEPS + 1)}
    evaluator = RuleEvaluator(config, lambda now: timeline[round(now / seconds)], lambda alert: None, (rule,))
    expected: dict[int, list[dict[str, Any]]] = {}
    for at in range(max(example.checks) + 1):
        evaluator.evaluate(at * seconds)
        if at in example.checks:
            expected[at] = [
                {
                    "exp_labels": {"severity": alert.severity.value, **alert.labels},
                    "exp_annotations": {"summary": alert.annotations["summary"], "description": alert.message},
                }
                for alert in sorted(evaluator.firing(), key=lambda a: sorted(a.labels.items()))
            ]
    return {
        "name": f"{rule.alertname}: {example.comment}",
        "interval": duration(seconds),
        "input_series": [
            {"series": name, "values": _values(points)} for item in example.inputs for name, points in _series(item)
        ],
        "alert_rule_test": [
            {"alertname": rule.alertname, "eval_time": duration(at * seconds), "exp_alerts": alerts}
            for at, alerts in expected.items()
        ],
    }


def _sample(example: Example, at: int, seconds: float, rule: RuleSpec) -> Sample:
    points: list[Point] = []
    for item in example.inputs:
        if isinstance(item, Series):
            value = item.values[at]
            if value is not None:
                points.append((item.family.name, item.labels, value))
        else:
            points.append((item.family.name, item.labels, (item.bounds, tuple(n * at for n in item.per_step))))
    return reduce(at * seconds, points, selections(rule))


def _series(item: Series | Observations) -> Iterator[tuple[str, Sequence[float | None]]]:
    name = item.family.prometheus_name
    if isinstance(item, Series):
        yield _name(name, item.labels), item.values
        return
    cumulative = 0.0
    for bound, count in zip((*item.bounds, "+Inf"), item.per_step, strict=True):
        cumulative += count
        labels = {**item.labels, "le": str(bound)}
        yield _name(f"{name}_bucket", labels), [cumulative * at for at in range(STEPS + 1)]
    yield _name(f"{name}_count", item.labels), [cumulative * at for at in range(STEPS + 1)]


def _name(name: str, labels: Any) -> str:
    return name + "{" + ",".join(f'{key}="{value}"' for key, value in labels.items()) + "}"


def _values(points: Sequence[float | None]) -> str:
    """promtool's series notation: ``0+60x30`` for a straight line, else each value (``_`` for none)."""
    if all(p is not None for p in points) and len(points) > 1:
        first, second = points[0], points[1]
        assert first is not None and second is not None
        slope = second - first
        if all(p == first + slope * i for i, p in enumerate(points)):
            return f"{number(first)}+{number(slope)}x{len(points) - 1}"
    return " ".join("_" if p is None else number(p) for p in points)
