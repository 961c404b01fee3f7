"""The predefined rules: the one definition both the SDK's evaluator and Prometheus use.

``nethical-otel rules export --format prometheus`` writes ``collector/alert-rules.yml`` and its promtool
tests from this table, and the docs' rules table is generated from it. Thresholds are settings of
``alerting.rules``; windows and ``for`` durations are each rule's own (``alerting.rules.window_seconds``
and ``for_seconds`` override them in-process and in an export made with that configuration).

Durations follow Prometheus practice: rates over 5 minutes (at least four scrapes at the usual 15 s,
so one missed scrape does not move a rate much), and a condition must hold 5 minutes before a rate
rule fires. A detector reporting itself down fires after a minute; a low cache hit rate is a
performance matter and waits 10 minutes.
"""

from __future__ import annotations

from nethical_otel import semconv
from nethical_otel.alerting.rules.spec import (
    Comparison,
    GaugeMin,
    Increase,
    Quantile,
    Ratio,
    RuleSpec,
    Selector,
    Threshold,
    Unit,
)
from nethical_otel.semconv import AlertChannel, AlertSeverity

_SLACK, _EMAIL, _PAGERDUTY = AlertChannel.SLACK, AlertChannel.EMAIL, AlertChannel.PAGERDUTY
_REQUESTS = Selector(semconv.REQUESTS)
_FIVE_MINUTES = 300.0

HIGH_LATENCY = RuleSpec(
    alertname="NethicalHighLatency",
    group="nethical-detectors",
    measure=Quantile(Selector(semconv.REQUEST_LATENCY), 0.95),
    by=semconv.DETECTOR_TYPE,
    comparison=Comparison.ABOVE,
    threshold=Threshold("high_latency_threshold_ms", scale=0.001),  # the setting is in ms, the histogram in s
    unit=Unit.SECONDS,
    window_seconds=_FIVE_MINUTES,
    for_seconds=_FIVE_MINUTES,
    severity=AlertSeverity.WARNING,
    summary="P95 latency of {subject} is {value:duration}",
    description=(
        "95% of {subject} calls finished within {value:duration} over the last {window}, above the"
        " {threshold:duration} threshold, for {for}. Look at the detector drill-down dashboard's latency heatmap"
        " and the Pyroscope flame graph."
    ),
    key="high_latency",
    title="High Latency Detected",
    channels=(_SLACK, _EMAIL),
)
HIGH_THREAT_RATE = RuleSpec(
    alertname="NethicalHighThreatRate",
    group="nethical-detectors",
    measure=Ratio((Selector(semconv.THREATS_DETECTED),), (_REQUESTS,)),
    by=semconv.DETECTOR_TYPE,
    comparison=Comparison.ABOVE,
    threshold=Threshold("high_threat_rate_threshold"),
    unit=Unit.RATIO,
    window_seconds=_FIVE_MINUTES,
    for_seconds=_FIVE_MINUTES,
    severity=AlertSeverity.CRITICAL,
    summary="{subject} flags {value:percent} of requests as threats",
    description=(
        "More than {threshold:percent} of the requests {subject} handled in the last {window} were threats, for"
        " {for}: an attack in progress or a misbehaving detector."
    ),
    key="high_threat_rate",
    title="High Threat Rate Detected",
    channels=(_SLACK, _PAGERDUTY, _EMAIL),
)
HIGH_ERROR_RATE = RuleSpec(
    alertname="NethicalHighErrorRate",
    group="nethical-detectors",
    # Failed requests among all requests: the numerator is a part of the denominator, so the rate is a share.
    measure=Ratio((Selector(semconv.REQUESTS, ((semconv.STATUS, semconv.STATUS_ERROR),)),), (_REQUESTS,)),
    by=semconv.DETECTOR_TYPE,
    comparison=Comparison.ABOVE,
    threshold=Threshold("high_error_rate_threshold"),
    unit=Unit.RATIO,
    window_seconds=_FIVE_MINUTES,
    for_seconds=_FIVE_MINUTES,
    severity=AlertSeverity.WARNING,
    summary="{subject} fails {value:percent} of requests",
    description=(
        "More than {threshold:percent} of {subject} calls raised an error over the last {window}, for {for}."
        " nethical_errors_total's error_type label says which exception."
    ),
    key="error_rate",
    title="High Error Rate",
    channels=(_SLACK, _EMAIL),
)
DETECTOR_DOWN = RuleSpec(
    alertname="NethicalDetectorDown",
    group="nethical-detectors",
    measure=GaugeMin(Selector(semconv.DETECTOR_HEALTH)),
    by=semconv.DETECTOR_TYPE,
    comparison=Comparison.EQUAL,
    threshold=Threshold(constant=0.0),
    unit=Unit.NUMBER,
    window_seconds=None,
    for_seconds=60.0,
    severity=AlertSeverity.CRITICAL,
    summary="Detector {subject} is unhealthy",
    description=(
        "At least one instance has reported {subject} unhealthy for {for}; its requests are not being screened."
    ),
    key="detector_health",
    title="Detector Health Issue",
    channels=(_SLACK, _PAGERDUTY),
)
LOW_CACHE_HIT_RATE = RuleSpec(
    alertname="NethicalLowCacheHitRate",
    group="nethical-performance",
    measure=Ratio(
        (Selector(semconv.CACHE_HITS),),
        (Selector(semconv.CACHE_HITS), Selector(semconv.CACHE_MISSES)),
    ),
    by=semconv.CACHE_TYPE,
    comparison=Comparison.BELOW,
    threshold=Threshold("min_cache_hit_rate"),
    unit=Unit.RATIO,
    window_seconds=_FIVE_MINUTES,
    for_seconds=600.0,
    # The original AlertRules check sent a warning; Alertmanager routes warning and info alike (to chat).
    severity=AlertSeverity.WARNING,
    summary="{subject} cache hit rate is {value:percent}",
    description=(
        "Fewer than {threshold:percent} of the {subject} cache lookups hit over the last {window}, for {for}:"
        " detectors do more model work than they need to."
    ),
    key="cache_performance",
    title="Low Cache Hit Rate",
    channels=(_SLACK, _EMAIL),
)
ALERT_DELIVERY_FAILING = RuleSpec(
    alertname="NethicalAlertDeliveryFailing",
    group="nethical-alerting",
    # Notifications given up on after the SDK's retries. Prometheus only: in-process, the process logs
    # each failure itself, and the failing channel would be asked to carry news of its own failure.
    measure=Increase(Selector(semconv.ALERTS, ((semconv.OUTCOME, semconv.DeliveryStatus.FAILED.value),))),
    by=semconv.CHANNEL,
    comparison=Comparison.ABOVE,
    threshold=Threshold(constant=0.0),
    unit=Unit.NUMBER,
    window_seconds=600.0,
    for_seconds=0.0,
    severity=AlertSeverity.WARNING,
    summary="Alert notifications to {subject} are failing",
    description=(
        "nethical_otel gave up delivering at least one {subject} notification in the last {window}. Check the"
        " channel's URL and credentials, and the application's log for the reason."
    ),
)

RULES: tuple[RuleSpec, ...] = (
    HIGH_LATENCY,
    HIGH_THREAT_RATE,
    HIGH_ERROR_RATE,
    DETECTOR_DOWN,
    LOW_CACHE_HIT_RATE,
    ALERT_DELIVERY_FAILING,
)
IN_PROCESS: tuple[RuleSpec, ...] = tuple(rule for rule in RULES if rule.in_process)
BY_KEY = {rule.key: rule for rule in IN_PROCESS}
