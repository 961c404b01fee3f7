"""What the original ``AlertRules`` checks judge: :class:`RuleInputs`, per rule the measured values,
built from the original Nethical metrics mapping or by hand."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nethical_otel.alerting.rules.measure import Measured
from nethical_otel.alerting.rules.table import (
    DETECTOR_DOWN,
    HIGH_ERROR_RATE,
    HIGH_LATENCY,
    HIGH_THREAT_RATE,
    LOW_CACHE_HIT_RATE,
)

ALL = "all"  # the subject of rules fed the original, unlabelled metrics mapping
_UNHEALTHY_ERROR_RATE = 0.1  # the original heuristic: above 10 % errors a component counts as unhealthy


@dataclass(frozen=True)
class RuleInputs:
    """Per rule (by alertname), what it measured over one window."""

    window_seconds: float = 0.0
    measured: Mapping[str, Measured] = field(default_factory=dict)

    def of(self, alertname: str) -> Measured:
        return self.measured.get(alertname, Measured())

    @classmethod
    def from_mapping(cls, metrics: Mapping[str, Any]) -> RuleInputs:
        """The original AlertRules input: ``{"histograms": {"action_latency": {"p95": s}}, "counters":
        {"actions": {...}, "violations": {...}, "cache_hits": {...}, "cache_misses": {...}},
        "gauges": {"error_rate": {component: rate}, "detector_health": {detector: 0|1}}}``."""
        histograms = _section(metrics, "histograms")
        counters = _section(metrics, "counters")
        gauges = _section(metrics, "gauges")
        p95 = _number(_section(histograms, "action_latency").get("p95"))
        actions = sum(_numbers(_section(counters, "actions")).values())
        violations = sum(_numbers(_section(counters, "violations")).values())
        error_rate = _numbers(_section(gauges, "error_rate"))
        health = _numbers(_section(gauges, "detector_health"))
        if not health:
            health = {name: 0.0 if rate > _UNHEALTHY_ERROR_RATE else 1.0 for name, rate in error_rate.items()}
        hits = _numbers(_section(counters, "cache_hits"))
        misses = _numbers(_section(counters, "cache_misses"))
        lookups = {cache: hits.get(cache, 0.0) + misses.get(cache, 0.0) for cache in {*hits, *misses}}
        return cls(
            measured={
                HIGH_LATENCY.alertname: Measured({ALL: p95} if p95 is not None else {}),
                HIGH_THREAT_RATE.alertname: Measured({ALL: violations / actions} if actions > 0 else {}),
                HIGH_ERROR_RATE.alertname: Measured(error_rate),
                DETECTOR_DOWN.alertname: Measured(health),
                LOW_CACHE_HIT_RATE.alertname: Measured(
                    {cache: hits.get(cache, 0.0) / total for cache, total in lookups.items() if total > 0}, lookups
                ),
            }
        )


def _section(metrics: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = metrics.get(key)
    return value if isinstance(value, Mapping) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _numbers(values: Mapping[str, Any]) -> dict[str, float]:
    return {str(k): n for k, v in values.items() if (n := _number(v)) is not None}
