"""Deciding what each alert occurrence means for each channel: notify, group, rate-limit, or silence.

Plain data in, plain data out (no I/O, no clock of its own): the manager feeds occurrences and the time,
and stores what comes back.

* Identity is the fingerprint (rule name and labels). One *group* per fingerprint and channel.
* The first occurrence of a firing group is notified; later ones are counted into the group and go out
  as one follow-up ("and 37 more") once ``repeat_interval`` has passed since the last notification.
* A notification needs a token from the channel's bucket and from the group's bucket (both refill at
  ``max_alerts_per_minute``). Without one the occurrence is *rate-limited*: counted, and carried by the
  group's next notification. A CRITICAL alert that starts a group goes out at once, tokens or not.
* A resolve is told to channels that deliver resolves and were told the alert fired.
* Channels that need it (Alertmanager) get firing alerts without an end time re-sent periodically.
* Silences are label matchers with a time window; a silenced occurrence is recorded, not notified.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from nethical_otel.alerting.model import (
    SEVERITY_RANK,
    Alert,
    AlertChannel,
    AlertSeverity,
    AlertStatus,
    DeliveryStatus,
)

REASON_FIRST = "first notification"
REASON_REPEAT = "repeat interval elapsed"
REASON_RESOLVED = "alert resolved"
REASON_RESEND = "re-sent while firing"
_MAX_BUCKETS = 50_000


# Token buckets ------------------------------------------------------------------------------------
class TokenBucket:
    __slots__ = ("capacity", "rate", "stamp", "tokens")

    def __init__(self, capacity: float, per_second: float, now: float) -> None:
        self.capacity = capacity
        self.rate = per_second
        self.tokens = capacity
        self.stamp = now

    def _refill(self, now: float) -> None:
        if now > self.stamp:
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now

    def available(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= 1.0

    def take(self, now: float) -> None:
        """Spend a token, going no lower than zero (a CRITICAL bypass spends what is there)."""
        self._refill(now)
        self.tokens = max(0.0, self.tokens - 1.0)

    def full(self, now: float) -> bool:
        self._refill(now)
        return self.tokens >= self.capacity


class RateLimiter:
    """Token buckets by key: at most ``max_alerts_per_minute`` per key per minute, with that much burst.

    The original Nethical API: ``should_send(key, severity)`` is always true for CRITICAL (the pipeline
    never drops those; it counts them into their group's next notification instead).
    """

    def __init__(self, max_alerts_per_minute: int = 10) -> None:
        if max_alerts_per_minute < 1:
            raise ValueError("max_alerts_per_minute must be at least 1")
        self.max_alerts = max_alerts_per_minute
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def _bucket(self, key: str, now: float) -> TokenBucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= _MAX_BUCKETS:
                # Full buckets carry no state: forgetting them changes nothing.
                for stale in [k for k, b in self._buckets.items() if b.full(now)]:
                    del self._buckets[stale]
            bucket = self._buckets[key] = TokenBucket(self.max_alerts, self.max_alerts / 60.0, now)
        return bucket

    def available(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            return self._bucket(key, now).available(now)

    def take(self, key: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            self._bucket(key, now).take(now)

    def try_acquire(self, key: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        with self._lock:
            bucket = self._bucket(key, now)
            if not bucket.available(now):
                return False
            bucket.take(now)
            return True

    def should_send(self, alert_key: str, severity: AlertSeverity | str) -> bool:
        if AlertSeverity(severity) is AlertSeverity.CRITICAL:
            return True
        return self.try_acquire(alert_key)


# Silences -----------------------------------------------------------------------------------------
_OPERATORS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True)
class Matcher:
    """A label matcher as in Alertmanager: ``=``, ``!=``, ``=~`` and ``!~`` (regexes match the whole value)."""

    name: str
    value: str
    operator: str = "="

    def __post_init__(self) -> None:
        if self.operator not in _OPERATORS:
            raise ValueError(f"matcher operator must be one of {', '.join(_OPERATORS)}, not {self.operator!r}")
        if self.operator in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as error:
                raise ValueError(f"matcher {self.name!r}: invalid regular expression: {error}") from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")  # a missing label matches as empty, as in Alertmanager
        if self.operator == "=":
            return actual == self.value
        if self.operator == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.operator == "=~" else not found

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "operator": self.operator, "value": self.value}


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float  # Unix seconds
    ends_at: float
    comment: str = ""
    created_at: float = 0.0

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(matcher.matches(labels) for matcher in self.matchers)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "matchers": [m.to_dict() for m in self.matchers],
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "comment": self.comment,
            "created_at": self.created_at,
        }


def matchers_from(spec: Mapping[str, str] | Iterable[Matcher | tuple[str, str, str]]) -> tuple[Matcher, ...]:
    """Matchers from ``{"label": "value"}`` (equality) or from Matcher / ``(name, operator, value)`` items."""
    if isinstance(spec, Mapping):
        found = tuple(Matcher(str(name), str(value)) for name, value in spec.items())
    else:
        found = tuple(item if isinstance(item, Matcher) else Matcher(item[0], item[2], item[1]) for item in spec)
    if not found:
        raise ValueError("a silence needs at least one matcher")
    return found


def new_silence(
    matchers: tuple[Matcher, ...], starts_at: float, ends_at: float, comment: str, created_at: float
) -> Silence:
    if ends_at <= starts_at:
        raise ValueError("a silence must end after it starts")
    return Silence(uuid.uuid4().hex, matchers, starts_at, ends_at, comment, created_at)


def match_labels(alert: Alert) -> dict[str, str]:
    """The labels silences match on: the alert's own, plus ``alertname`` and ``severity``."""
    return {**alert.labels, "alertname": alert.name, "severity": alert.severity.value}


# Groups -------------------------------------------------------------------------------------------
@dataclass
class Group:
    """The state of one fingerprint on one channel, persisted so that restarts keep the rhythm."""

    fingerprint: str
    channel: AlertChannel
    alert: Alert  # the latest occurrence: the one a follow-up shows
    alert_id: int = 0  # history id of ``alert``
    firing: bool = True
    told_firing: bool = False  # the channel has been notified of the firing alert
    notified_at: float | None = None
    pending: int = 0  # occurrences not yet carried by a notification
    pending_since: float = 0.0
    wait_until: float | None = None  # group_wait: first notification not before this
    last_sent_at: float = 0.0  # for re-sends

    @property
    def key(self) -> tuple[str, AlertChannel]:
        return (self.fingerprint, self.channel)


@dataclass(frozen=True)
class PlannedNotification:
    """A notification the router wants sent; the store gives it its idempotency key."""

    channel: AlertChannel
    alert: Alert
    alert_id: int
    occurrences: int
    first_seen: float
    last_seen: float
    reason: str


@dataclass(frozen=True)
class ChannelDecision:
    channel: AlertChannel
    status: DeliveryStatus  # PENDING means "notified": see ``notification``
    reason: str = ""
    notification: PlannedNotification | None = None


@dataclass(frozen=True)
class RoutingPolicy:
    max_per_minute: int
    repeat_interval: float
    group_wait: float
    resend_every: Mapping[AlertChannel, float] = field(default_factory=dict)  # channel -> seconds
    told_of_resolves: frozenset[AlertChannel] = frozenset()


class Router:
    """Grouping, rate limiting, silences and follow-ups. Used from one thread (the alerting loop)."""

    def __init__(self, policy: RoutingPolicy) -> None:
        self.policy = policy
        self.groups: dict[tuple[str, AlertChannel], Group] = {}
        self.silences: dict[str, Silence] = {}
        self._channel_buckets = RateLimiter(policy.max_per_minute)
        self._group_buckets = RateLimiter(policy.max_per_minute)
        self._attention: set[tuple[str, AlertChannel]] = set()  # groups with something due later
        self._resending: set[tuple[str, AlertChannel]] = set()  # firing groups on channels that need re-sends
        self.changed: set[tuple[str, AlertChannel]] = set()  # groups to persist

    # Occurrences ----------------------------------------------------------------------------------
    def route(
        self,
        alert: Alert,
        alert_id: int,
        channels: Iterable[AlertChannel],
        now: float,
        count: int = 1,
        since: float | None = None,
    ) -> list[ChannelDecision]:
        """What ``count`` occurrences of ``alert`` (the latest of them; history id ``alert_id``) mean for
        each channel. ``since`` is when the earliest of them happened (default: the alert's start)."""
        since = alert.starts_at or now if since is None else since
        silence = self._silence_for(alert, now) if self.silences else None
        decisions = []
        for channel in channels:
            if silence is not None:
                decisions.append(ChannelDecision(channel, DeliveryStatus.SILENCED, f"silence {silence.id}"))
            elif alert.status is AlertStatus.RESOLVED:
                decisions.append(self._resolve(alert, alert_id, channel, now))
            else:
                decisions.append(self._fire(alert, alert_id, channel, now, count, since))
        return decisions

    def _silence_for(self, alert: Alert, now: float) -> Silence | None:
        labels = match_labels(alert)
        return next((s for s in self.silences.values() if s.active(now) and s.matches(labels)), None)

    def _fire(
        self, alert: Alert, alert_id: int, channel: AlertChannel, now: float, count: int, since: float
    ) -> ChannelDecision:
        key = (alert.fingerprint, channel)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(alert.fingerprint, channel, alert, alert_id, firing=False)
        starts_episode = not group.firing
        group.alert, group.alert_id, group.firing = alert, alert_id, True
        self.changed.add(key)
        if starts_episode:
            group.told_firing = False
            group.notified_at = None
            if self.policy.group_wait > 0 and alert.severity is not AlertSeverity.CRITICAL:
                group.wait_until = now + self.policy.group_wait
        recent = group.notified_at is not None and now - group.notified_at < self.policy.repeat_interval
        if recent or (group.wait_until is not None and now < group.wait_until):
            self._count(group, count, since)
            return ChannelDecision(channel, DeliveryStatus.GROUPED)
        critical_first = alert.severity is AlertSeverity.CRITICAL and not group.told_firing
        if critical_first or self._tokens_available(group, now):
            reason = REASON_REPEAT if group.told_firing else REASON_FIRST
            return ChannelDecision(
                channel, DeliveryStatus.PENDING, notification=self._notify(group, now, count, reason, since)
            )
        self._count(group, count, since)
        return ChannelDecision(channel, DeliveryStatus.RATE_LIMITED, "over max_alerts_per_minute")

    def _resolve(self, alert: Alert, alert_id: int, channel: AlertChannel, now: float) -> ChannelDecision:
        key = (alert.fingerprint, channel)
        group = self.groups.get(key)
        was_told = group is not None and group.told_firing
        if group is not None:
            group.alert, group.alert_id, group.firing = alert, alert_id, False
            group.pending, group.wait_until, group.told_firing = 0, None, False
            self._attention.discard(key)
            self._resending.discard(key)
            self.changed.add(key)
        if group is None or not was_told:
            return ChannelDecision(channel, DeliveryStatus.SKIPPED, "the channel was not told that the alert fired")
        if channel not in self.policy.told_of_resolves:
            return ChannelDecision(channel, DeliveryStatus.SKIPPED, "the channel is not told of resolved alerts")
        # Resolves are few (one per firing episode) and must not be lost: no token needed.
        planned = PlannedNotification(channel, alert, alert_id, 1, alert.starts_at or now, now, REASON_RESOLVED)
        group.notified_at = now
        return ChannelDecision(channel, DeliveryStatus.PENDING, notification=planned)

    def _count(self, group: Group, count: int, since: float) -> None:
        if group.pending == 0:
            group.pending_since = since
        group.pending += count
        self._attention.add(group.key)

    def _tokens_available(self, group: Group, now: float) -> bool:
        return self._channel_buckets.available(group.channel.value, now) and self._group_buckets.available(
            f"{group.fingerprint}/{group.channel.value}", now
        )

    def _notify(self, group: Group, now: float, extra: int, reason: str, since: float) -> PlannedNotification:
        self._channel_buckets.take(group.channel.value, now)
        self._group_buckets.take(f"{group.fingerprint}/{group.channel.value}", now)
        occurrences = group.pending + extra
        last_seen = group.alert.starts_at or now
        first_seen = min(group.pending_since, since) if group.pending else min(since, last_seen)
        group.pending, group.wait_until = 0, None
        group.notified_at = group.last_sent_at = now
        group.told_firing = True
        self._attention.discard(group.key)
        if group.channel in self.policy.resend_every and group.alert.ends_at is None:
            self._resending.add(group.key)
        self.changed.add(group.key)
        return PlannedNotification(
            group.channel, group.alert, group.alert_id, occurrences, first_seen, last_seen, reason
        )

    # Time -----------------------------------------------------------------------------------------
    def due(self, now: float, *, final: bool = False) -> list[PlannedNotification]:
        """Follow-ups whose time has come: after group_wait, after repeat_interval, and re-sends.

        ``final`` (at shutdown): report every counted occurrence now that tokens allow, without waiting
        for group_wait or repeat_interval, so no count is left for another process to tell late.
        """
        planned: list[PlannedNotification] = []
        # Critical groups first, then the longest waiting: when tokens are short they go to those.
        waiting = sorted(
            (self.groups[key] for key in self._attention if key in self.groups),
            key=lambda g: (-SEVERITY_RANK[g.alert.severity], g.pending_since),
        )
        for group in waiting:
            if not group.firing or group.pending == 0:
                self._attention.discard(group.key)
                continue
            if not final and group.wait_until is not None and now < group.wait_until:
                continue
            if not final and group.notified_at is not None and now - group.notified_at < self.policy.repeat_interval:
                continue
            critical_first = group.alert.severity is AlertSeverity.CRITICAL and not group.told_firing
            if critical_first or self._tokens_available(group, now):
                reason = REASON_REPEAT if group.told_firing else REASON_FIRST
                planned.append(self._notify(group, now, 0, reason, group.pending_since))
        for key in list(self._resending):
            firing = self.groups.get(key)
            if firing is None or not firing.firing or not firing.told_firing or firing.alert.ends_at is not None:
                self._resending.discard(key)
                continue
            if now - firing.last_sent_at >= self.policy.resend_every[firing.channel]:
                firing.last_sent_at = now
                self.changed.add(key)
                alert = firing.alert
                planned.append(
                    PlannedNotification(firing.channel, alert, firing.alert_id, 1, alert.starts_at, now, REASON_RESEND)
                )
        return planned

    def forget_idle(self, now: float, idle_for: float) -> list[tuple[str, AlertChannel]]:
        """Drop groups with nothing pending whose alert ended or that have been quiet for ``idle_for``."""
        gone = []
        for key, group in list(self.groups.items()):
            if group.pending or group.wait_until is not None:
                continue
            ended = group.alert.ends_at is not None and group.alert.ends_at < now
            quiet = now - max(group.notified_at or 0.0, group.alert.starts_at) > idle_for
            if (not group.firing or ended) and quiet:
                del self.groups[key]
                self.changed.discard(key)
                self._resending.discard(key)
                gone.append(key)
        return gone

    def restore(self, groups: Iterable[Group], silences: Iterable[Silence]) -> None:
        for group in groups:
            self.groups[group.key] = group
            if group.pending or group.wait_until is not None:
                self._attention.add(group.key)
            if group.channel in self.policy.resend_every and group.firing and group.told_firing:
                self._resending.add(group.key)
        for silence in silences:
            self.silences[silence.id] = silence

    def firing(self) -> list[Alert]:
        """The latest alert of every firing group, once per fingerprint."""
        return list({g.fingerprint: g.alert for g in self.groups.values() if g.firing and g.told_firing}.values())

    def take_changed(self) -> list[Group]:
        changed = [self.groups[key] for key in self.changed if key in self.groups]
        self.changed.clear()
        return changed
