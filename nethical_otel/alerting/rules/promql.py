"""The Prometheus half of the rule engine: each rule of the table as a PromQL alerting rule.

Values are taken per ``by`` label after summing over instances and jobs, as the in-process evaluator
sums a process's series. Ratios and quantiles also require ``alerting.rules.min_requests`` in the window,
as in-process. A ratio judged *below* its threshold counts a missing numerator as zero (a cache that
only ever missed has no hits series), as in-process.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nethical_otel.alerting.rules import templates
from nethical_otel.alerting.rules.evaluator import context
from nethical_otel.alerting.rules.spec import (
    Comparison,
    GaugeMin,
    Increase,
    Quantile,
    RuleSpec,
    Selector,
)
from nethical_otel.config import AlertRulesConfig

_UNITS = ((3_600_000, "h"), (60_000, "m"), (1000, "s"))


def duration(seconds: float) -> str:
    """A Prometheus duration, to the millisecond (its resolution): ``5m``, ``1h``, ``30s``, ``250ms``."""
    milliseconds = round(seconds * 1000.0)
    if milliseconds == 0:
        return "0s"
    for size, unit in _UNITS:
        if milliseconds >= size and milliseconds % size == 0:
            return f"{milliseconds // size}{unit}"
    return f"{milliseconds}ms"


def number(value: float) -> str:
    return f"{value:.15g}"


def series_name(selector: Selector, suffix: str = "") -> str:
    """The Prometheus name of a selector's family (``nethical_requests_total``, ``..._seconds_bucket``)."""
    return selector.family.prometheus_name + suffix


def vector(selector: Selector, suffix: str = "") -> str:
    """The instant-vector selector of one selector: ``name{label="value"}``."""
    labels = ",".join(f'{name}="{value}"' for name, value in selector.matchers)
    return series_name(selector, suffix) + (f"{{{labels}}}" if labels else "")


def summed(function: str, selectors: Sequence[Selector], by: str, window: str) -> str:
    """``function`` (rate, increase) of the selectors' series, summed per ``by`` over all of them.

    Two families are added as ``(a + b) or a or b``: a value of ``by`` that only one of them has keeps
    that one's sum (a plain ``a + b`` would drop it; a ``__name__`` regex cannot be summed after rate()).
    """
    terms = [f"sum by ({by}) ({function}({vector(selector)}[{window}]))" for selector in selectors]
    if len(terms) == 1:
        return terms[0]
    if len(terms) != 2:
        raise ValueError("a rule sums one or two families")
    return f"(\n    ({terms[0]} + {terms[1]})\n    or {terms[0]}\n    or {terms[1]}\n  )"


def expression(rule: RuleSpec, config: AlertRulesConfig) -> str:
    where = context(rule, config)
    by, threshold = rule.by, number(where.threshold)
    comparison = rule.comparison.value
    spec = rule.measure
    if isinstance(spec, GaugeMin):
        return f"min by ({by}) ({vector(spec.gauge)}) {comparison} {threshold}"
    window = duration(where.window or 0.0)
    if isinstance(spec, Increase):
        counter = vector(spec.counter)
        # The second branch catches a series that first appears with its first increase: it has no earlier
        # sample, so increase() alone would miss it (in-process, a new series counts from zero).
        return (
            f"sum by ({by}) (increase({counter}[{window}])) {comparison} {threshold}\n"
            "or\n"
            f"sum by ({by}) ({counter} unless {counter} offset {window}) {comparison} {threshold}"
        )
    if isinstance(spec, Quantile):
        buckets = vector(spec.histogram, "_bucket")
        value = f"histogram_quantile({number(spec.quantile)}, sum by ({by}, le) (rate({buckets}[{window}])))"
        volume = f"sum by ({by}) (increase({vector(spec.histogram, '_count')}[{window}]))"
    else:
        numerator = summed("rate", spec.numerator, by, window)
        denominator = summed("rate", spec.denominator, by, window)
        if rule.comparison is Comparison.BELOW:  # no numerator series at all: a share of zero
            numerator = f"(\n  {numerator}\n  or 0 * {denominator}\n)"
        value = f"{numerator}\n  / {denominator}"
        volume = summed("increase", spec.denominator, by, window)
    text = f"{value}\n{comparison} {threshold}"
    if rule.guarded:
        text += f"\nand on ({by})\n  {volume} >= {number(config.min_requests)}"
    return text


def alerting_rule(rule: RuleSpec, config: AlertRulesConfig) -> dict[str, Any]:
    where = context(rule, config)
    return {
        "alert": rule.alertname,
        "expr": expression(rule, config) + "\n",
        "for": duration(where.hold_for),
        "labels": {"severity": rule.severity.value},
        "annotations": {
            "summary": templates.to_go(rule.summary, where),
            "description": templates.to_go(rule.description, where),
        },
    }


def rule_groups(rules: Sequence[RuleSpec], config: AlertRulesConfig) -> dict[str, Any]:
    """The rule file's document: one group per ``group`` of the table, in table order."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for rule in rules:
        groups.setdefault(rule.group, []).append(alerting_rule(rule, config))
    return {"groups": [{"name": name, "rules": found} for name, found in groups.items()]}
