"""Alerting: the original Nethical ``AlertManager`` API, built on OpenTelemetry spans and metrics.

``configure()`` builds it from the ``alerting`` section: threat spans and metric rules raise alerts, which
are grouped, rate-limited, recorded in a SQLite outbox and history, and delivered to the configured
channels from a background thread. The running manager is :func:`get_alert_manager`; a standalone one is
``AlertManager(config_dict)``.
"""

from __future__ import annotations

from nethical_otel.alerting._component import AlertingComponent
from nethical_otel.alerting.grouping.buckets import RateLimiter
from nethical_otel.alerting.grouping.silences import Matcher, Silence
from nethical_otel.alerting.intake.submissions import AlertReceipt
from nethical_otel.alerting.manager import AlertManager
from nethical_otel.alerting.model import Alert, AlertChannel, AlertSeverity, AlertStatus, DeliveryStatus
from nethical_otel.alerting.rules import AlertRules, RuleInputs
from nethical_otel.config import Config
from nethical_otel.pipeline import Component, active_telemetry


def build_component(config: Config) -> Component | None:
    """The alerting part of the pipeline, or None when ``alerting.enabled`` is false."""
    return AlertingComponent(config) if config.alerting.enabled else None


def get_alert_manager() -> AlertManager | None:
    """The AlertManager that ``configure()`` started, if alerting is enabled and the pipeline runs."""
    telemetry = active_telemetry()
    if telemetry is None or telemetry.is_shut_down:
        return None
    component = telemetry.component(AlertingComponent)
    return component.manager if component is not None else None


__all__ = [
    "Alert",
    "AlertChannel",
    "AlertManager",
    "AlertReceipt",
    "AlertRules",
    "AlertSeverity",
    "AlertStatus",
    "AlertingComponent",
    "DeliveryStatus",
    "Matcher",
    "RateLimiter",
    "RuleInputs",
    "Silence",
    "build_component",
    "get_alert_manager",
]
