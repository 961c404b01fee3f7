"""The original Nethical ``AlertRules`` API: each check judges one rule of the table at once (no
``for``: it is for code that runs its own schedule) and sends through an ``AlertManager``."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any, Protocol

from nethical_otel.alerting.model import AlertChannel, AlertSeverity
from nethical_otel.alerting.rules import templates
from nethical_otel.alerting.rules.evaluator import context, rule_alert
from nethical_otel.alerting.rules.inputs import RuleInputs
from nethical_otel.alerting.rules.measure import breaches
from nethical_otel.alerting.rules.table import BY_KEY
from nethical_otel.config import AlertingConfig, AlertRulesConfig


class Sender(Protocol):
    """What the checks need of an ``AlertManager``."""

    config: AlertingConfig

    def configured(self, preferred: Iterable[AlertChannel]) -> tuple[AlertChannel, ...]: ...

    async def send_alert(
        self,
        title: str,
        message: str,
        severity: AlertSeverity | str,
        channels: Iterable[AlertChannel | str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> object: ...


Metrics = RuleInputs | Mapping[str, Any]


class AlertRules:
    """The original Nethical rule checks. ``metrics`` is :class:`RuleInputs` or the original metrics
    mapping (see :meth:`RuleInputs.from_mapping`). ``configure()`` runs the same rules continuously,
    with ``for`` and resolves."""

    @staticmethod
    async def _check(key: str, metrics: Metrics, alert_manager: Sender, config: AlertRulesConfig) -> None:
        inputs = metrics if isinstance(metrics, RuleInputs) else RuleInputs.from_mapping(metrics)
        rule = BY_KEY[key]
        where = context(rule, config)
        # The original checks judged whatever numbers they were given, without a minimum of requests.
        for subject, value in breaches(rule, inputs.of(rule.alertname), where.threshold, 0.0):
            alert = rule_alert(rule, subject, value, where, time.time())
            threshold = templates.formatted(where.threshold, rule.unit.value)
            await alert_manager.send_alert(
                title=alert.title,
                message=f"{alert.annotations['summary']} (threshold {threshold}).",
                severity=rule.severity,
                channels=alert_manager.configured(rule.channels),
                metadata={"rule": key, "value": value, rule.by: subject},
            )

    @staticmethod
    async def check_high_latency(metrics: Metrics, alert_manager: Sender, threshold_ms: float | None = None) -> None:
        """Alert when P95 latency is above ``threshold_ms`` (default ``rules.high_latency_threshold_ms``)."""
        config = _with(alert_manager, high_latency_threshold_ms=threshold_ms)
        await AlertRules._check("high_latency", metrics, alert_manager, config)

    @staticmethod
    async def check_high_threat_rate(metrics: Metrics, alert_manager: Sender, threshold: float | None = None) -> None:
        """Alert when threats per request are above ``threshold``."""
        config = _with(alert_manager, high_threat_rate_threshold=threshold)
        await AlertRules._check("high_threat_rate", metrics, alert_manager, config)

    @staticmethod
    async def check_error_rate(metrics: Metrics, alert_manager: Sender, threshold: float | None = None) -> None:
        """Alert when errors per request are above ``threshold``."""
        config = _with(alert_manager, high_error_rate_threshold=threshold)
        await AlertRules._check("error_rate", metrics, alert_manager, config)

    @staticmethod
    async def check_detector_health(metrics: Metrics, alert_manager: Sender) -> None:
        """Alert for every detector whose health is 0."""
        await AlertRules._check("detector_health", metrics, alert_manager, _with(alert_manager))

    @staticmethod
    async def check_cache_performance(
        metrics: Metrics, alert_manager: Sender, min_hit_rate: float | None = None
    ) -> None:
        """Alert when a cache's hit rate is below ``min_hit_rate``."""
        config = _with(alert_manager, min_cache_hit_rate=min_hit_rate)
        await AlertRules._check("cache_performance", metrics, alert_manager, config)

    @staticmethod
    async def evaluate_all_rules(
        metrics: Metrics, alert_manager: Sender, config: Mapping[str, Any] | None = None
    ) -> None:
        """Every check, with thresholds from ``config`` (the original ``alerting.rules`` keys) when given."""
        overrides = dict(config or {})
        await AlertRules.check_high_latency(metrics, alert_manager, overrides.get("high_latency_threshold_ms"))
        await AlertRules.check_high_threat_rate(metrics, alert_manager, overrides.get("high_threat_rate_threshold"))
        await AlertRules.check_error_rate(metrics, alert_manager, overrides.get("high_error_rate_threshold"))
        await AlertRules.check_detector_health(metrics, alert_manager)
        await AlertRules.check_cache_performance(metrics, alert_manager, overrides.get("min_cache_hit_rate"))


def _with(alert_manager: Sender, **overrides: float | None) -> AlertRulesConfig:
    given: dict[str, Any] = {key: float(value) for key, value in overrides.items() if value is not None}
    return replace(alert_manager.config.rules, **given)
