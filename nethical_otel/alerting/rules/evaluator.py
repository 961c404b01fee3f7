"""The in-process rule engine: samples on a schedule, each rule judged over its own window, alerts
that fire after the rule's ``for`` and resolve when the condition is gone.

Rule state is memory only; the alerts that fired are in the store, and :meth:`RuleEvaluator.adopt`
takes over those a previous process left firing.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from nethical_otel.alerting.model import Alert, AlertStatus
from nethical_otel.alerting.rules import templates
from nethical_otel.alerting.rules.measure import Measured, Sample, Selection, breaches, measure, selections
from nethical_otel.alerting.rules.spec import RuleSpec
from nethical_otel.alerting.rules.table import IN_PROCESS
from nethical_otel.config import AlertRulesConfig

Key = tuple[str, tuple[tuple[str, str], ...]]


def context(rule: RuleSpec, config: AlertRulesConfig) -> templates.Context:
    return templates.Context(rule.by, rule.threshold.value(config), rule.window(config), rule.hold_for(config))


def rule_alert(rule: RuleSpec, subject: str, value: float, where: templates.Context, starts_at: float) -> Alert:
    """The alert of one breach: the rule's name, its ``by`` label, the texts Prometheus would write."""
    return Alert(
        name=rule.alertname,
        title=f"{rule.title or rule.alertname}: {subject}",
        message=templates.render(rule.description, where, subject, value),
        severity=rule.severity,
        labels={rule.by: subject},
        annotations={
            "summary": templates.render(rule.summary, where, subject, value),
            "value": f"{value:.6g}",
            "rule": rule.key or rule.alertname,
        },
        starts_at=starts_at,
    )


def resolved(alert: Alert, now: float) -> Alert:
    return Alert(
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


@dataclass
class _State:
    since: float
    alert: Alert
    firing: bool = False
    keep_until: float = 0.0  # an adopted alert is not resolved before a full window has been seen


class RuleEvaluator:
    """Turns samples into firing and resolved alerts. ``sample(at)`` reads the stream (see
    :class:`~.reader.RuleReader`); ``emit`` takes the alerts."""

    def __init__(
        self,
        config: AlertRulesConfig,
        sample: Callable[[float], Sample],
        emit: Callable[[Alert], None],
        rules: Iterable[RuleSpec] = IN_PROCESS,
    ) -> None:
        self.config = config
        self.rules = tuple(rules)
        self._sample = sample
        self._emit = emit
        self._contexts = {rule.alertname: context(rule, config) for rule in self.rules}
        self._longest = max((rule.window(config) or 0.0 for rule in self.rules), default=0.0)
        self._samples: deque[Sample] = deque()
        self._states: dict[Key, _State] = {}

    @property
    def wanted(self) -> tuple[Selection, ...]:
        """What the rules read of the metric stream."""
        return tuple(dict.fromkeys(s for rule in self.rules for s in selections(rule)))

    def evaluate(self, now: float | None = None) -> None:
        now = time.time() if now is None else now
        newest = self._sample(now)
        samples = self._samples
        samples.append(newest)
        # Keep the newest sample at or before the start of the longest window, as that window's baseline.
        while len(samples) > 2 and samples[1].at <= now - self._longest:
            samples.popleft()
        seen: set[Key] = set()
        for rule in self.rules:
            where = self._contexts[rule.alertname]
            measured = self._measure(rule, where, newest, now)
            for subject, value in breaches(rule, measured, where.threshold, self.config.min_requests):
                key: Key = (rule.alertname, ((rule.by, subject),))
                seen.add(key)
                state = self._states.get(key)
                if state is None:
                    state = self._states[key] = _State(now, rule_alert(rule, subject, value, where, now))
                else:
                    state.alert = rule_alert(rule, subject, value, where, state.since)
                if not state.firing and now - state.since >= where.hold_for:
                    state.firing = True
                    self._emit(state.alert)
        for key in [k for k, state in self._states.items() if k not in seen and now >= state.keep_until]:
            state = self._states.pop(key)
            if state.firing:
                self._emit(resolved(state.alert, now))

    def _measure(self, rule: RuleSpec, where: templates.Context, newest: Sample, now: float) -> Measured:
        if where.window is None:  # current values
            return measure(rule, newest, newest)
        if len(self._samples) < 2:  # no rate from a single sample
            return Measured()
        start = now - where.window
        baseline = next((s for s in reversed(self._samples) if s.at <= start), self._samples[0])
        return measure(rule, baseline, newest)

    def adopt(self, alerts: Iterable[Alert], now: float | None = None) -> None:
        """Take over rule alerts a previous process left firing. Each is resolved if its condition does
        not hold over the first full window seen here, so an incident opened before a restart is closed
        rather than re-sent forever."""
        now = time.time() if now is None else now
        for alert in alerts:
            where = self._contexts.get(alert.name)
            if where is None or alert.status is not AlertStatus.FIRING:
                continue
            key = (alert.name, tuple(sorted(alert.labels.items())))
            keep = now + (where.window or self.config.evaluation_interval_seconds)
            self._states.setdefault(key, _State(alert.starts_at, alert, firing=True, keep_until=keep))

    def firing(self) -> list[Alert]:
        return [state.alert for state in self._states.values() if state.firing]

    def pending(self) -> list[Alert]:
        """Alerts whose condition holds but not yet for the rule's ``for``."""
        return [state.alert for state in self._states.values() if not state.firing]
