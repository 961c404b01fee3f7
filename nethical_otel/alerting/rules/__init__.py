"""Metric rules: one table (:mod:`.table`), evaluated in-process over the SDK's own metric stream and
exported to Prometheus from the same definitions."""

from __future__ import annotations

from nethical_otel.alerting.rules.evaluator import RuleEvaluator
from nethical_otel.alerting.rules.inputs import RuleInputs
from nethical_otel.alerting.rules.measure import Measured, histogram_quantile
from nethical_otel.alerting.rules.original import AlertRules
from nethical_otel.alerting.rules.reader import RuleReader
from nethical_otel.alerting.rules.spec import RuleSpec
from nethical_otel.alerting.rules.table import IN_PROCESS, RULES

__all__ = [
    "IN_PROCESS",
    "RULES",
    "AlertRules",
    "Measured",
    "RuleEvaluator",
    "RuleInputs",
    "RuleReader",
    "RuleSpec",
    "histogram_quantile",
]
