"""Alerting names: severities, channels, statuses, delivery outcomes, and the alerting self-metrics."""

from __future__ import annotations

import enum

from nethical_otel.semconv._spec import GaugeMerge, MetricKind, MetricSpec

__all__ = [
    "ACTIVE_DELIVERY_STATUSES",
    "ALERTS",
    "ALERT_DELIVERY_LATENCY",
    "ALERT_OUTCOMES",
    "ALERT_PEER_UP",
    "ALERT_QUEUE_DEPTH",
    "CHANNEL",
    "HISTORY_STATUSES",
    "NO_CHANNEL",
    "OUTCOME",
    "PEER",
    "SEVERITY",
    "AlertChannel",
    "AlertSeverity",
    "AlertStatus",
    "DeliveryStatus",
]


class AlertSeverity(str, enum.Enum):
    """Severities of alerts, in increasing order (also the ``severity`` label Alertmanager routes on)."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {severity: rank for rank, severity in enumerate(AlertSeverity)}


class AlertChannel(str, enum.Enum):
    """Where notifications go; each has a module of that name in ``nethical_otel.alerting.channels``."""

    SLACK = "slack"
    EMAIL = "email"
    PAGERDUTY = "pagerduty"
    DISCORD = "discord"
    WEBHOOK = "webhook"
    ALERTMANAGER = "alertmanager"
    CONSOLE = "console"  # last: the fallback when no other channel is configured


class AlertStatus(str, enum.Enum):
    FIRING = "firing"
    RESOLVED = "resolved"


class DeliveryStatus(str, enum.Enum):
    """What happened to one alert on one channel, as the history reports it."""

    PENDING = "pending"  # a notification is queued and not yet attempted
    RETRYING = "retrying"  # attempted, failed for now, will be retried
    SENT = "sent"
    FAILED = "failed"  # permanently, with the reason
    RATE_LIMITED = "rate_limited"  # over a budget: counted into the group's next notification
    GROUPED = "grouped"  # folded into its group's notification (the "and N more")
    SILENCED = "silenced"  # matched an active silence
    SKIPPED = "skipped"  # nothing to say on this channel (a resolve for a channel not told of resolves)
    OVERFLOW = "overflow"  # its source had too many alert groups open: counted in the source's overflow group
    DROPPED = "dropped"  # given up without being recorded (the store could not be written): counted and logged


# Notifications still to be delivered; their rows are leased to one process.
ACTIVE_DELIVERY_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.RETRYING)
# What the history can show (an alert's own status, or a delivery status; dropped ones are never recorded).
HISTORY_STATUSES = (*AlertStatus, *(status for status in DeliveryStatus if status is not DeliveryStatus.DROPPED))

# The alerting pipeline's own health, on the same /metrics.
CHANNEL = "channel"
SEVERITY = "severity"
OUTCOME = "outcome"
ALERTS = MetricSpec(
    "nethical_alerts",
    MetricKind.COUNTER,
    "Alert notifications by channel, severity and outcome (sent, failed, rate_limited, grouped, silenced, overflow,"
    " dropped)",
    (CHANNEL, SEVERITY, OUTCOME),
)
ALERT_DELIVERY_LATENCY = MetricSpec(
    "nethical_alert_delivery",
    MetricKind.HISTOGRAM,
    "Time from accepting an alert to its delivery, by channel",
    (CHANNEL,),
    unit="s",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
    valid_min=0.0,
)
ALERT_QUEUE_DEPTH = MetricSpec(
    "nethical_alert_queue_depth",
    MetricKind.GAUGE,
    "Notifications waiting for delivery (retries included), by channel",
    (CHANNEL,),
    valid_min=0.0,
    merge=GaugeMerge.SUM,
)
PEER = "peer"
ALERT_PEER_UP = MetricSpec(
    "nethical_alert_peer_up",
    MetricKind.GAUGE,
    "Whether the last notification posted to this Alertmanager peer was accepted (1) or not (0), by peer"
    " (scheme://host:port)",
    (PEER,),
    valid_min=0.0,
    valid_max=1.0,
    merge=GaugeMerge.MIN,  # a peer is down if any worker's last post to it failed
)
# The ``outcome`` values of nethical_alerts_total: every delivery status but the two that are not outcomes.
ALERT_OUTCOMES = tuple(s for s in DeliveryStatus if s not in (DeliveryStatus.PENDING, DeliveryStatus.SKIPPED))
NO_CHANNEL = "none"  # the channel label of occurrences dropped before any channel was chosen
