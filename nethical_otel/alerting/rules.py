"""Metric rules over the SDK's own metric stream, with ``for`` durations and resolves.

A :class:`RuleReader` is attached to the MeterProvider like any exporter's reader, so it sees exactly the
``nethical_*`` data that Prometheus and OTLP see. Every ``evaluation_interval_seconds`` the evaluator
collects one cumulative sample, keeps the samples of the last ``window_seconds``, and judges the
difference between the newest and the oldest one:

=====================  ======================================================================  ========
rule (alertname)       fires when                                                              severity
=====================  ======================================================================  ========
NethicalHighLatency    P95 of nethical_request_latency_seconds > ``high_latency_threshold_ms``  warning
NethicalHighThreatRate threats / requests > ``high_threat_rate_threshold``                      critical
NethicalHighErrorRate  requests with status=error / requests > ``high_error_rate_threshold``    warning
NethicalDetectorDown   nethical_detector_health == 0                                           critical
NethicalLowCacheHits   hits / (hits + misses) < ``min_cache_hit_rate``                           warning
=====================  ======================================================================  ========

Rates are per detector (per cache type for the cache rule) and need ``min_requests`` in the window. The
P95 is interpolated within buckets as PromQL's ``histogram_quantile`` does. A condition must hold for
``for_seconds`` before the alert fires (against flapping); a firing alert resolves at the first
evaluation where its condition no longer holds or its data has gone.

:class:`AlertRules` keeps the original Nethical API (``check_high_latency`` and friends) on top of the
same rule definitions.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry.sdk.metrics.export import (
    HistogramDataPoint,
    MetricReader,
    MetricsData,
    NumberDataPoint,
)

from nethical_otel import semconv
from nethical_otel.alerting.model import Alert, AlertChannel, AlertSeverity, AlertStatus
from nethical_otel.config import AlertRulesConfig

if TYPE_CHECKING:
    from nethical_otel.alerting.manager import AlertManager

ALL = "all"  # the label value of rules fed the original, unlabelled metrics mapping


# Reading the metric stream -----------------------------------------------------------------------
class RuleReader(MetricReader):
    """A pull reader: the evaluator calls :meth:`sample` on its own schedule."""

    def __init__(self) -> None:
        super().__init__()  # cumulative temporality for every instrument
        self._latest: MetricsData | None = None

    def _receive_metrics(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> None:
        self._latest = metrics_data

    def sample(self, at: float) -> Sample:
        self._latest = None
        self.collect()
        return Sample.from_data(self._latest, at)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._latest = None


@dataclass
class Sample:
    """Cumulative values at one collection, by detector type (cache type for the cache counters)."""

    at: float
    requests: dict[str, float] = field(default_factory=dict)
    errors: dict[str, float] = field(default_factory=dict)
    threats: dict[str, float] = field(default_factory=dict)
    latency: dict[str, tuple[tuple[float, ...], tuple[int, ...]]] = field(default_factory=dict)
    health: dict[str, float] = field(default_factory=dict)
    cache_hits: dict[str, float] = field(default_factory=dict)
    cache_misses: dict[str, float] = field(default_factory=dict)

    @classmethod
    def from_data(cls, data: MetricsData | None, at: float) -> Sample:
        sample = cls(at)
        if data is None:
            return sample
        for resource_metrics in data.resource_metrics:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    sample._add(metric.name, metric.data.data_points)
        return sample

    def _add(self, name: str, points: Sequence[Any]) -> None:
        for point in points:
            attributes = point.attributes or {}
            if isinstance(point, HistogramDataPoint):
                if name == semconv.REQUEST_LATENCY.name:
                    key = str(attributes.get(semconv.DETECTOR_TYPE, semconv.UNKNOWN))
                    self.latency[key] = (tuple(point.explicit_bounds), tuple(point.bucket_counts))
                continue
            if not isinstance(point, NumberDataPoint):
                continue
            value = float(point.value)
            detector = str(attributes.get(semconv.DETECTOR_TYPE, semconv.UNKNOWN))
            if name == semconv.REQUESTS.name:
                _add_to(self.requests, detector, value)
                if attributes.get(semconv.STATUS) == semconv.STATUS_ERROR:
                    _add_to(self.errors, detector, value)
            elif name == semconv.THREATS_DETECTED.name:
                _add_to(self.threats, detector, value)
            elif name == semconv.DETECTOR_HEALTH.name:
                self.health[detector] = value
            elif name in (semconv.CACHE_HITS.name, semconv.CACHE_MISSES.name):
                cache = str(attributes.get(semconv.CACHE_TYPE, semconv.UNKNOWN))
                _add_to(self.cache_hits if name == semconv.CACHE_HITS.name else self.cache_misses, cache, value)


def _add_to(values: dict[str, float], key: str, value: float) -> None:
    values[key] = values.get(key, 0.0) + value


def _delta(new: Mapping[str, float], old: Mapping[str, float]) -> dict[str, float]:
    # A counter that went backwards was reset (a new pipeline): its new value is the increase.
    return {key: value - old.get(key, 0.0) if value >= old.get(key, 0.0) else value for key, value in new.items()}


def histogram_quantile(quantile: float, bounds: Sequence[float], counts: Sequence[float]) -> float | None:
    """PromQL's ``histogram_quantile`` over one set of (non-cumulative) bucket counts."""
    total = sum(counts)
    if total <= 0 or not bounds:
        return None
    rank = quantile * total
    seen = 0.0
    for index, count in enumerate(counts):
        if seen + count >= rank and count > 0:
            if index >= len(bounds):  # the +Inf bucket: the highest finite bound, as Prometheus answers
                return float(bounds[-1])
            lower = 0.0 if index == 0 else float(bounds[index - 1])
            upper = float(bounds[index])
            return lower + (upper - lower) * (rank - seen) / count
        seen += count
    return float(bounds[-1])


# What rules judge ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleInputs:
    """The numbers rules compare with their thresholds, for one window."""

    window_seconds: float = 0.0
    requests: Mapping[str, float] = field(default_factory=dict)
    threat_rate: Mapping[str, float] = field(default_factory=dict)
    error_rate: Mapping[str, float] = field(default_factory=dict)
    p95_latency_seconds: Mapping[str, float] = field(default_factory=dict)
    health: Mapping[str, float] = field(default_factory=dict)
    cache_lookups: Mapping[str, float] = field(default_factory=dict)
    cache_hit_rate: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def between(cls, old: Sample, new: Sample) -> RuleInputs:
        requests = _delta(new.requests, old.requests)
        errors = _delta(new.errors, old.errors)
        threats = _delta(new.threats, old.threats)
        p95: dict[str, float] = {}
        for detector, (bounds, cumulative) in new.latency.items():
            before = old.latency.get(detector)
            counts = cumulative
            if (
                before is not None
                and before[0] == bounds
                and all(b <= c for b, c in zip(before[1], cumulative, strict=True))
            ):
                counts = tuple(c - b for b, c in zip(before[1], cumulative, strict=True))
            value = histogram_quantile(0.95, bounds, counts)
            if value is not None:
                p95[detector] = value
        hits = _delta(new.cache_hits, old.cache_hits)
        misses = _delta(new.cache_misses, old.cache_misses)
        lookups = {cache: hits.get(cache, 0.0) + misses.get(cache, 0.0) for cache in {*hits, *misses}}
        return cls(
            window_seconds=new.at - old.at,
            requests=requests,
            threat_rate={d: threats.get(d, 0.0) / n for d, n in requests.items() if n > 0},
            error_rate={d: errors.get(d, 0.0) / n for d, n in requests.items() if n > 0},
            p95_latency_seconds=p95,
            health=dict(new.health),
            cache_lookups=lookups,
            cache_hit_rate={c: hits.get(c, 0.0) / n for c, n in lookups.items() if n > 0},
        )

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
        if not health:  # the original heuristic: above 10 % errors a detector counts as unhealthy
            health = {component: 0.0 if rate > 0.1 else 1.0 for component, rate in error_rate.items()}
        hits = _numbers(_section(counters, "cache_hits"))
        misses = _numbers(_section(counters, "cache_misses"))
        lookups = {cache: hits.get(cache, 0.0) + misses.get(cache, 0.0) for cache in {*hits, *misses}}
        return cls(
            requests={ALL: actions},
            threat_rate={ALL: violations / actions} if actions > 0 else {},
            error_rate=error_rate,
            p95_latency_seconds={ALL: p95} if p95 is not None else {},
            health=health,
            cache_lookups=lookups,
            cache_hit_rate={c: hits.get(c, 0.0) / n for c, n in lookups.items() if n > 0},
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


# The rules -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Breach:
    """One label set for which a rule's condition holds."""

    labels: Mapping[str, str]
    value: float
    summary: str  # "P95 latency of pi is 250.0 ms (threshold 200 ms)"


@dataclass(frozen=True)
class Rule:
    key: str  # the original method's subject, e.g. "high_latency"
    alertname: str
    title: str  # the original alert title
    severity: AlertSeverity
    original_channels: tuple[AlertChannel, ...]
    judge: Callable[[RuleInputs, AlertRulesConfig, float], list[Breach]]


def _enough(inputs: RuleInputs, key: str, minimum: float) -> bool:
    return inputs.requests.get(key, 0.0) >= minimum


def _high_latency(inputs: RuleInputs, config: AlertRulesConfig, minimum: float) -> list[Breach]:
    threshold = config.high_latency_threshold_ms
    return [
        Breach(
            {semconv.DETECTOR_TYPE: d},
            p95 * 1000,
            f"P95 latency of {d} is {p95 * 1000:.1f} ms (threshold {threshold:g} ms)",
        )
        for d, p95 in sorted(inputs.p95_latency_seconds.items())
        if p95 * 1000 > threshold and _enough(inputs, d, minimum)
    ]


def _high_threat_rate(inputs: RuleInputs, config: AlertRulesConfig, minimum: float) -> list[Breach]:
    threshold = config.high_threat_rate_threshold
    return [
        Breach(
            {semconv.DETECTOR_TYPE: d},
            rate,
            f"threat rate of {d} is {rate * 100:.1f}% of requests (threshold {threshold * 100:g}%)",
        )
        for d, rate in sorted(inputs.threat_rate.items())
        if rate > threshold and _enough(inputs, d, minimum)
    ]


def _high_error_rate(inputs: RuleInputs, config: AlertRulesConfig, minimum: float) -> list[Breach]:
    threshold = config.high_error_rate_threshold
    return [
        Breach(
            {semconv.DETECTOR_TYPE: d},
            rate,
            f"error rate of {d} is {rate * 100:.1f}% of requests (threshold {threshold * 100:g}%)",
        )
        for d, rate in sorted(inputs.error_rate.items())
        if rate > threshold and _enough(inputs, d, minimum)
    ]


def _detector_down(inputs: RuleInputs, config: AlertRulesConfig, minimum: float) -> list[Breach]:
    return [
        Breach({semconv.DETECTOR_TYPE: d}, value, f"detector {d} reports itself unhealthy")
        for d, value in sorted(inputs.health.items())
        if value == 0
    ]


def _low_cache_hits(inputs: RuleInputs, config: AlertRulesConfig, minimum: float) -> list[Breach]:
    floor = config.min_cache_hit_rate
    return [
        Breach(
            {semconv.CACHE_TYPE: c},
            rate,
            f"cache hit rate of {c} is {rate * 100:.1f}% (minimum {floor * 100:g}%)",
        )
        for c, rate in sorted(inputs.cache_hit_rate.items())
        if rate < floor and inputs.cache_lookups.get(c, 0.0) >= minimum
    ]


_SLACK, _EMAIL, _PAGERDUTY = AlertChannel.SLACK, AlertChannel.EMAIL, AlertChannel.PAGERDUTY
RULES: tuple[Rule, ...] = (
    Rule(
        "high_latency",
        "NethicalHighLatency",
        "High Latency Detected",
        AlertSeverity.WARNING,
        (_SLACK, _EMAIL),
        _high_latency,
    ),
    Rule(
        "high_threat_rate",
        "NethicalHighThreatRate",
        "High Threat Rate Detected",
        AlertSeverity.CRITICAL,
        (_SLACK, _PAGERDUTY, _EMAIL),
        _high_threat_rate,
    ),
    Rule(
        "error_rate",
        "NethicalHighErrorRate",
        "High Error Rate",
        AlertSeverity.WARNING,
        (_SLACK, _EMAIL),
        _high_error_rate,
    ),
    Rule(
        "detector_health",
        "NethicalDetectorDown",
        "Detector Health Issue",
        AlertSeverity.CRITICAL,
        (_SLACK, _PAGERDUTY),
        _detector_down,
    ),
    Rule(
        "cache_performance",
        "NethicalLowCacheHits",
        "Low Cache Hit Rate",
        AlertSeverity.WARNING,
        (_SLACK, _EMAIL),
        _low_cache_hits,
    ),
)
RULES_BY_KEY = {rule.key: rule for rule in RULES}


def rule_alert(rule: Rule, breach: Breach, window_seconds: float, starts_at: float) -> Alert:
    subject = next(iter(breach.labels.values()), ALL)
    return Alert(
        name=rule.alertname,
        title=f"{rule.title}: {subject}",
        message=f"{breach.summary[:1].upper()}{breach.summary[1:]} over the last {window_seconds:.0f}s.",
        severity=rule.severity,
        labels=dict(breach.labels),
        annotations={"value": f"{breach.value:.6g}", "rule": rule.key},
        starts_at=starts_at,
    )


# The evaluator -------------------------------------------------------------------------------------
@dataclass
class _State:
    since: float
    alert: Alert
    firing: bool = False
    keep_until: float = 0.0  # an adopted alert is not resolved before a full window has been seen


class RuleEvaluator:
    """Samples the reader, keeps the window, and turns breaches into firing and resolved alerts."""

    def __init__(self, config: AlertRulesConfig, reader: RuleReader, emit: Callable[[Alert], None]) -> None:
        self.config = config
        self._reader = reader
        self._emit = emit
        self._samples: deque[Sample] = deque()
        self._states: dict[tuple[str, tuple[tuple[str, str], ...]], _State] = {}

    def evaluate(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        sample = self._reader.sample(now)
        samples = self._samples
        samples.append(sample)
        # Keep the newest sample at or before the window's start as the baseline.
        while len(samples) > 2 and samples[1].at <= now - self.config.window_seconds:
            samples.popleft()
        inputs = RuleInputs.between(samples[0], sample) if len(samples) > 1 else RuleInputs()
        self.judge(inputs, now)

    def judge(self, inputs: RuleInputs, now: float) -> None:
        config = self.config
        seen = set()
        for rule in RULES:
            for breach in rule.judge(inputs, config, config.min_requests):
                key = (rule.key, tuple(sorted(breach.labels.items())))
                seen.add(key)
                state = self._states.get(key)
                if state is None:
                    state = self._states[key] = _State(now, rule_alert(rule, breach, inputs.window_seconds, now))
                else:
                    state.alert = rule_alert(rule, breach, inputs.window_seconds, state.since)
                if not state.firing and now - state.since >= config.for_seconds:
                    state.firing = True
                    self._emit(state.alert)
        for key in [k for k in self._states if k not in seen and now >= self._states[k].keep_until]:
            state = self._states.pop(key)
            if state.firing:
                alert = state.alert
                self._emit(
                    Alert(
                        name=alert.name,
                        title=alert.title,
                        message=f"Resolved: {alert.message}",
                        severity=alert.severity,
                        labels=alert.labels,
                        annotations=alert.annotations,
                        status=AlertStatus.RESOLVED,
                        starts_at=alert.starts_at,
                        ends_at=now,
                    )
                )

    def adopt(self, alerts: Iterable[Alert], now: float | None = None) -> None:
        """Take over rule alerts a previous process left firing (rule state itself is not persisted).

        Each is resolved if its condition does not hold over the first full window seen here, so an
        incident opened before a restart is closed rather than re-sent forever.
        """
        now = time.time() if now is None else now
        names = {rule.alertname: rule for rule in RULES}
        for alert in alerts:
            rule = names.get(alert.name)
            if rule is None or alert.status is not AlertStatus.FIRING:
                continue
            key = (rule.key, tuple(sorted(alert.labels.items())))
            self._states.setdefault(
                key, _State(alert.starts_at, alert, firing=True, keep_until=now + self.config.window_seconds)
            )

    def firing(self) -> list[Alert]:
        return [state.alert for state in self._states.values() if state.firing]

    def pending(self) -> list[Alert]:
        """Alerts whose condition holds but not yet for ``for_seconds``."""
        return [state.alert for state in self._states.values() if not state.firing]


# The original API ------------------------------------------------------------------------------------
class AlertRules:
    """The original Nethical rule checks, each sending through an :class:`AlertManager` when breached.

    ``metrics`` is :class:`RuleInputs` (what the evaluator computes) or the original metrics mapping
    (see :meth:`RuleInputs.from_mapping`). These checks fire at once, without ``for``: they are for code
    that runs its own schedule. ``configure()`` runs the same rules continuously with ``for`` and resolves.
    """

    @staticmethod
    async def _check(
        key: str, metrics: RuleInputs | Mapping[str, Any], alert_manager: AlertManager, config: AlertRulesConfig
    ) -> None:
        inputs = metrics if isinstance(metrics, RuleInputs) else RuleInputs.from_mapping(metrics)
        rule = RULES_BY_KEY[key]
        # The original checks judged whatever numbers they were given, without a minimum of requests.
        for breach in rule.judge(inputs, config, 0.0):
            alert = rule_alert(rule, breach, inputs.window_seconds, time.time())
            await alert_manager.send_alert(
                title=alert.title,
                message=alert.message,
                severity=rule.severity,
                channels=alert_manager.configured(rule.original_channels),
                metadata={"rule": rule.key, "value": breach.value, **breach.labels},
            )

    @staticmethod
    async def check_high_latency(
        metrics: RuleInputs | Mapping[str, Any], alert_manager: AlertManager, threshold_ms: float | None = None
    ) -> None:
        """Alert when P95 latency is above ``threshold_ms`` (default ``rules.high_latency_threshold_ms``)."""
        config = _with(alert_manager, high_latency_threshold_ms=threshold_ms)
        await AlertRules._check("high_latency", metrics, alert_manager, config)

    @staticmethod
    async def check_high_threat_rate(
        metrics: RuleInputs | Mapping[str, Any], alert_manager: AlertManager, threshold: float | None = None
    ) -> None:
        """Alert when threats per request are above ``threshold``."""
        config = _with(alert_manager, high_threat_rate_threshold=threshold)
        await AlertRules._check("high_threat_rate", metrics, alert_manager, config)

    @staticmethod
    async def check_error_rate(
        metrics: RuleInputs | Mapping[str, Any], alert_manager: AlertManager, threshold: float | None = None
    ) -> None:
        """Alert when errors per request are above ``threshold``."""
        config = _with(alert_manager, high_error_rate_threshold=threshold)
        await AlertRules._check("error_rate", metrics, alert_manager, config)

    @staticmethod
    async def check_detector_health(metrics: RuleInputs | Mapping[str, Any], alert_manager: AlertManager) -> None:
        """Alert for every detector whose health is 0."""
        await AlertRules._check("detector_health", metrics, alert_manager, _with(alert_manager))

    @staticmethod
    async def check_cache_performance(
        metrics: RuleInputs | Mapping[str, Any], alert_manager: AlertManager, min_hit_rate: float | None = None
    ) -> None:
        """Alert when a cache's hit rate is below ``min_hit_rate``."""
        config = _with(alert_manager, min_cache_hit_rate=min_hit_rate)
        await AlertRules._check("cache_performance", metrics, alert_manager, config)

    @staticmethod
    async def evaluate_all_rules(
        metrics: RuleInputs | Mapping[str, Any], alert_manager: AlertManager, config: Mapping[str, Any] | None = None
    ) -> None:
        """Every check, with thresholds from ``config`` (the original ``alerting.rules`` keys) when given."""
        overrides = dict(config or {})
        await AlertRules.check_high_latency(metrics, alert_manager, overrides.get("high_latency_threshold_ms"))
        await AlertRules.check_high_threat_rate(metrics, alert_manager, overrides.get("high_threat_rate_threshold"))
        await AlertRules.check_error_rate(metrics, alert_manager, overrides.get("high_error_rate_threshold"))
        await AlertRules.check_detector_health(metrics, alert_manager)
        await AlertRules.check_cache_performance(metrics, alert_manager, overrides.get("min_cache_hit_rate"))


def _with(alert_manager: AlertManager, **overrides: float | None) -> AlertRulesConfig:
    from dataclasses import replace

    given: dict[str, Any] = {key: float(value) for key, value in overrides.items() if value is not None}
    return replace(alert_manager.config.rules, **given)
