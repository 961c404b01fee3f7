"""Worked examples of every rule: input series over time, from which the promtool tests are generated.

Each example is judged by the in-process evaluator, and the promtool test asserts that Prometheus,
running the exported rule over the same series, fires the same alerts with the same texts. Times count
in steps: one minute with the shipped windows (see :func:`.promtool.step`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nethical_otel import semconv
from nethical_otel.semconv import AlertChannel, AlertSeverity, DeliveryStatus, MetricSpec

STEPS = 30  # every example's series run this many steps


@dataclass(frozen=True)
class Series:
    """A counter or gauge series: its value at each step (None: the series does not exist yet)."""

    family: MetricSpec
    labels: Mapping[str, str]
    values: tuple[float | None, ...]


@dataclass(frozen=True)
class Observations:
    """A histogram's series: each step adds ``per_step[i]`` observations to bucket i (the last is +Inf)."""

    family: MetricSpec
    labels: Mapping[str, str]
    bounds: tuple[float, ...]
    per_step: tuple[float, ...]


Input = Series | Observations


@dataclass(frozen=True)
class Example:
    comment: str
    inputs: tuple[Input, ...]
    checks: tuple[int, ...]  # the steps at which the firing alerts are compared


def grows(family: MetricSpec, per_step: float, **labels: str) -> Series:
    return Series(family, labels, tuple(float(per_step * step) for step in range(STEPS + 1)))


def values(family: MetricSpec, sequence: Sequence[float | None], **labels: str) -> Series:
    padded = list(sequence) + [sequence[-1]] * (STEPS + 1 - len(sequence))
    return Series(family, labels, tuple(padded))


_D, _C = semconv.DETECTOR_TYPE, semconv.CACHE_TYPE
_BOUNDS = (0.5, 1.0, 2.5)


def _requests(detector: str, per_step: float, status: str = semconv.STATUS_SUCCESS) -> Series:
    return grows(semconv.REQUESTS, per_step, **{_D: detector, semconv.STATUS: status})


def _calls(detector: str, per_step: tuple[float, ...]) -> Observations:
    return Observations(semconv.REQUEST_LATENCY, {_D: detector}, _BOUNDS, per_step)


def _threats(detector: str, per_step: float) -> Series:
    labels = {_D: detector, semconv.THREAT_LEVEL: semconv.ThreatLevel.HIGH.value, semconv.THREAT_CATEGORY: "jailbreak"}
    return grows(semconv.THREATS_DETECTED, per_step, **labels)


def _cache(cache: str, hits: float | None, misses: float) -> tuple[Series, ...]:
    found = [grows(semconv.CACHE_MISSES, misses, **{_C: cache})]
    if hits is not None:
        found.insert(0, grows(semconv.CACHE_HITS, hits, **{_C: cache}))
    return tuple(found)


def _alerts(channel: AlertChannel, severity: AlertSeverity, outcome: DeliveryStatus) -> dict[str, str]:
    return {semconv.CHANNEL: channel.value, semconv.SEVERITY: severity.value, semconv.OUTCOME: outcome.value}


def _failed(channel: AlertChannel, sequence: Sequence[float | None]) -> Series:
    labels = {**_alerts(channel, AlertSeverity.WARNING, DeliveryStatus.FAILED), "instance": "a"}
    return values(semconv.ALERTS, sequence, **labels)


_ABSENT: list[float | None] = [None] * 5

EXAMPLES: dict[str, Example] = {
    "NethicalHighLatency": Example(
        "60 calls a step between 1 s and 2.5 s fire; fast calls, and slow ones too few to judge, do not.",
        (_calls("slow", (0, 0, 60, 0)), _calls("fast", (60, 0, 0, 0)), _calls("sparse", (0, 0, 1, 0))),
        (4, 10),
    ),
    "NethicalHighThreatRate": Example(
        "Threats per request above the threshold fire; exactly at it, and below, do not.",
        (
            _requests("attacked", 100),
            _threats("attacked", 60),
            _requests("at_threshold", 100),
            _threats("at_threshold", 50),
            _requests("quiet", 100),
            _threats("quiet", 5),
        ),
        (3, 10),
    ),
    "NethicalHighErrorRate": Example(
        "Failed requests per request above the threshold fire; exactly at it, and none, do not.",
        (
            _requests("failing", 90),
            _requests("failing", 10, semconv.STATUS_ERROR),
            _requests("at_threshold", 95),
            _requests("at_threshold", 5, semconv.STATUS_ERROR),
            _requests("healthy", 100),
        ),
        (3, 10),
    ),
    "NethicalDetectorDown": Example(
        "A detector unhealthy on one of two instances fires after `for`; healthy detectors do not.",
        (
            values(semconv.DETECTOR_HEALTH, [1, 1, 1, 0], **{_D: "flaky", "instance": "a"}),
            values(semconv.DETECTOR_HEALTH, [1], **{_D: "flaky", "instance": "b"}),
            values(semconv.DETECTOR_HEALTH, [1], **{_D: "steady", "instance": "a"}),
        ),
        (2, 3, 5),
    ),
    "NethicalLowCacheHitRate": Example(
        "A hit rate below the threshold fires (a cache that only misses too); at it, above it, and idle, not.",
        (
            *_cache("embedding", 40, 60),
            *_cache("cold", None, 20),
            *_cache("balanced", 50, 50),
            *_cache("allowlist", 90, 10),
            *_cache("idle", 0, 0),
        ),
        (8, 15),
    ),
    "NethicalAlertDeliveryFailing": Example(
        "Failures fire at once, on a counter that grows and on one that first appears with its first failure;"
        " sent notifications, and failures older than the window, do not.",
        (
            _failed(AlertChannel.SLACK, [0, 0, 0, 0, 0, 1]),
            _failed(AlertChannel.WEBHOOK, [*_ABSENT, 1]),
            values(
                semconv.ALERTS,
                [float(3 * step) for step in range(STEPS + 1)],
                **_alerts(AlertChannel.PAGERDUTY, AlertSeverity.CRITICAL, DeliveryStatus.SENT),
            ),
        ),
        (4, 6, 20),
    ),
}
