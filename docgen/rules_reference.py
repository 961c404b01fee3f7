"""The rules table: every rule of ``nethical_otel.alerting.rules.table``, as both engines run it."""

from __future__ import annotations

from docgen.blocks import cell
from nethical_otel.alerting.rules.spec import GaugeMin, Increase, Quantile, RuleSpec, Selector
from nethical_otel.alerting.rules.table import RULES
from nethical_otel.alerting.rules.templates import in_words
from nethical_otel.config import AlertRulesConfig


def _series(selector: Selector) -> str:
    labels = ",".join(f'{name}="{value}"' for name, value in selector.matchers)
    return f"`{selector.family.prometheus_name}{{{labels}}}`" if labels else f"`{selector.family.prometheus_name}`"


def _sum(selectors: tuple[Selector, ...]) -> str:
    return " + ".join(f"Δ{_series(selector)}" for selector in selectors)


def _threshold(rule: RuleSpec) -> str:
    threshold = rule.threshold
    if threshold.key is None:
        return f"{threshold.constant:g}"
    scale = f" / {1 / threshold.scale:g}" if threshold.scale != 1.0 else ""  # a setting in ms, a metric in s
    return f"`{threshold.key}`{scale}"


def _condition(rule: RuleSpec) -> str:
    spec = rule.measure
    if isinstance(spec, Quantile):
        measured = f"P{spec.quantile * 100:g} of {_series(spec.histogram)}"
    elif isinstance(spec, GaugeMin):
        measured = f"lowest {_series(spec.gauge)}"
    elif isinstance(spec, Increase):
        measured = f"Δ{_series(spec.counter)}"
    else:
        measured = f"({_sum(spec.numerator)}) / ({_sum(spec.denominator)})"
    guard = ", with at least `min_requests` in the window" if rule.guarded else ""
    return f"{measured} {rule.comparison.value} {_threshold(rule)}{guard}"


def rules_table() -> str:
    """One row per rule: what it measures per label, its window, ``for``, severity and who evaluates it."""
    defaults = AlertRulesConfig()
    rows = [
        "| alert (`alertname`) | fires when, per value of the label | label | window | for | severity | evaluated by |",
        "|---|---|---|---|---|---|---|",
    ]
    for rule in RULES:
        window = rule.window(defaults)
        over = in_words(window) if window else "current values"
        where = "SDK and Prometheus" if rule.in_process else "Prometheus"
        rows.append(
            f"| `{rule.alertname}` | {cell(_condition(rule))} | `{rule.by}` | {over}"
            f" | {in_words(rule.hold_for(defaults))} | {rule.severity.value} | {where} |"
        )
    return "\n".join(rows)
