"""Deciding what each alert occurrence means for each channel: notify, group, rate-limit, or silence.

Plain data in, plain data out (no I/O, no clock of its own): the manager feeds occurrences and the time,
and stores what comes back.

* Identity is the fingerprint (rule name and labels). One *group* per fingerprint and channel.
* The first occurrence of a firing group is notified; later ones are counted into the group and go out
  as one follow-up ("and 37 more") once ``repeat_interval`` has passed since the last notification.
* A notification needs a token from the channel's bucket and from the group's bucket (both refill at
  ``max_alerts_per_minute``) and from its source's share of the channel (:mod:`.fairness`). Without one
  the occurrence is *rate-limited*: counted, and carried by the group's next notification. A CRITICAL
  alert that starts a group goes out at once, tokens or not, within its source's CRITICAL budget.
* Follow-ups take turns across sources: the source served longest ago goes first.
* A batch is a transaction: :meth:`Router.begin`, then :meth:`Router.commit` once it is stored, or
  :meth:`Router.rollback` when storing failed, which puts every group and bucket back as it was.
* A resolve is told to channels that deliver resolves and were told the alert fired.
* Channels that need it (Alertmanager) get firing alerts without an end time re-sent periodically.
* Silences are label matchers with a time window; a silenced occurrence is recorded, not notified.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from nethical_otel.alerting.grouping.buckets import RateLimiter
from nethical_otel.alerting.grouping.fairness import SourceShares
from nethical_otel.alerting.grouping.silences import Silence, match_labels
from nethical_otel.alerting.model import (
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
    source: str = ""  # the detector, rule or API it comes from (fairness.py)

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
    source_per_minute: int | None = None  # a source's share of a channel; None: all of max_per_minute
    critical_per_minute: int | None = None  # CRITICAL first notifications past the buckets; None: no limit


class Router:
    """Grouping, rate limiting, silences and follow-ups. Used from one thread (the alerting loop)."""

    def __init__(self, policy: RoutingPolicy) -> None:
        self.policy = policy
        self.groups: dict[tuple[str, AlertChannel], Group] = {}
        self.silences: dict[str, Silence] = {}
        self._channel_buckets = RateLimiter(policy.max_per_minute)
        self._group_buckets = RateLimiter(policy.max_per_minute)
        unlimited = 1_000_000_000
        self._shares = SourceShares(
            policy.source_per_minute or policy.max_per_minute,
            unlimited if policy.critical_per_minute is None else policy.critical_per_minute,
        )
        self._attention: set[tuple[str, AlertChannel]] = set()  # groups with something due later
        self._resending: set[tuple[str, AlertChannel]] = set()  # firing groups on channels that need re-sends
        self.changed: set[tuple[str, AlertChannel]] = set()  # groups to persist
        self._journal: dict[tuple[str, AlertChannel], tuple[Group | None, bool, bool, bool]] | None = None

    # Transactions ---------------------------------------------------------------------------------
    def begin(self) -> None:
        """Record what changes from now on, until :meth:`commit` or :meth:`rollback`."""
        self._journal = {}
        for limiter in (self._channel_buckets, self._group_buckets, self._shares):
            limiter.begin()

    def commit(self) -> None:
        self._journal = None
        for limiter in (self._channel_buckets, self._group_buckets, self._shares):
            limiter.commit()

    def rollback(self) -> None:
        """Undo every change since :meth:`begin`: groups, their flags and the buckets."""
        journal, self._journal = self._journal or {}, None
        for key, (group, attention, resending, changed) in journal.items():
            if group is None:
                self.groups.pop(key, None)
            else:
                self.groups[key] = group
            for flags, wanted in ((self._attention, attention), (self._resending, resending), (self.changed, changed)):
                if wanted:
                    flags.add(key)
                else:
                    flags.discard(key)
        for limiter in (self._channel_buckets, self._group_buckets, self._shares):
            limiter.rollback()

    def _touch(self, key: tuple[str, AlertChannel]) -> None:
        """Keep the state of group ``key`` before its first change in the transaction."""
        journal = self._journal
        if journal is not None and key not in journal:
            group = self.groups.get(key)
            journal[key] = (
                None if group is None else dataclasses.replace(group),
                key in self._attention,
                key in self._resending,
                key in self.changed,
            )

    # Occurrences ----------------------------------------------------------------------------------
    def route(
        self,
        alert: Alert,
        alert_id: int,
        channels: Iterable[AlertChannel],
        now: float,
        count: int = 1,
        since: float | None = None,
        source: str = "",
    ) -> list[ChannelDecision]:
        """What ``count`` occurrences of ``alert`` (the latest of them; history id ``alert_id``) mean for
        each channel. ``since`` is when the earliest of them happened (default: the alert's start);
        ``source`` is the detector, rule or API it comes from (its share and budget are spent)."""
        since = alert.starts_at or now if since is None else since
        silence = self._silence_for(alert, now) if self.silences else None
        decisions = []
        for channel in channels:
            if silence is not None:
                decisions.append(ChannelDecision(channel, DeliveryStatus.SILENCED, f"silence {silence.id}"))
            elif alert.status is AlertStatus.RESOLVED:
                decisions.append(self._resolve(alert, alert_id, channel, now))
            else:
                decisions.append(self._fire(alert, alert_id, channel, now, count, since, source))
        return decisions

    def _silence_for(self, alert: Alert, now: float) -> Silence | None:
        labels = match_labels(alert)
        return next((s for s in self.silences.values() if s.active(now) and s.matches(labels)), None)

    def _fire(
        self, alert: Alert, alert_id: int, channel: AlertChannel, now: float, count: int, since: float, source: str
    ) -> ChannelDecision:
        key = (alert.fingerprint, channel)
        self._touch(key)
        group = self.groups.get(key)
        if group is None:
            group = self.groups[key] = Group(alert.fingerprint, channel, alert, alert_id, firing=False, source=source)
        starts_episode = not group.firing
        group.alert, group.alert_id, group.firing = alert, alert_id, True
        group.source = source or group.source
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
        if self._may_notify(group, now):
            reason = REASON_REPEAT if group.told_firing else REASON_FIRST
            return ChannelDecision(
                channel, DeliveryStatus.PENDING, notification=self._notify(group, now, count, reason, since)
            )
        self._count(group, count, since)
        return ChannelDecision(channel, DeliveryStatus.RATE_LIMITED, "over max_alerts_per_minute")

    def _resolve(self, alert: Alert, alert_id: int, channel: AlertChannel, now: float) -> ChannelDecision:
        key = (alert.fingerprint, channel)
        self._touch(key)
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

    def _may_notify(self, group: Group, now: float, fair: bool = True) -> bool:
        """Tokens from every bucket, or a CRITICAL first notification within its source's budget.

        Not ``fair`` (at shutdown, when nobody else will wait): the source's share is not asked.
        """
        channel = group.channel
        if (
            self._channel_buckets.available(channel.value, now)
            and self._group_buckets.available(f"{group.fingerprint}/{channel.value}", now)
            and (not fair or self._shares.available(group.source, channel, now))
        ):
            return True
        critical_first = group.alert.severity is AlertSeverity.CRITICAL and not group.told_firing
        return critical_first and self._shares.critical_pass(group.source, channel, now)

    def _notify(self, group: Group, now: float, extra: int, reason: str, since: float) -> PlannedNotification:
        self._channel_buckets.take(group.channel.value, now)
        self._group_buckets.take(f"{group.fingerprint}/{group.channel.value}", now)
        self._shares.take(group.source, group.channel, now)
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
    def due(self, now: float, *, final: bool = False, only: AlertSeverity | None = None) -> list[PlannedNotification]:
        """Follow-ups whose time has come: after group_wait, after repeat_interval, and re-sends.

        ``final`` (at shutdown): report every counted occurrence now that tokens allow, without waiting
        for group_wait or repeat_interval, so no count is left for another process to tell late.
        ``only``: plan for groups of that severity alone (while the store fails, CRITICAL ones).
        """
        planned: list[PlannedNotification] = []
        # Critical groups first, then the source served longest ago, then the longest waiting: when
        # tokens are short they go to those, and a flooding source takes its turn like the others.
        shares = self._shares
        waiting = sorted(
            (self.groups[key] for key in self._attention if key in self.groups),
            key=lambda g: (-g.alert.severity.rank, shares.last_turn(g.source, g.channel), g.pending_since),
        )
        for group in waiting:
            if only is not None and group.alert.severity is not only:
                continue
            self._touch(group.key)
            if not group.firing or group.pending == 0:
                self._attention.discard(group.key)
                continue
            if not final and group.wait_until is not None and now < group.wait_until:
                continue
            if not final and group.notified_at is not None and now - group.notified_at < self.policy.repeat_interval:
                continue
            if self._may_notify(group, now, fair=not final):
                reason = REASON_REPEAT if group.told_firing else REASON_FIRST
                planned.append(self._notify(group, now, 0, reason, group.pending_since))
        for key in list(self._resending):
            firing = self.groups.get(key)
            if only is not None and firing is not None and firing.alert.severity is not only:
                continue
            if firing is None or not firing.firing or not firing.told_firing or firing.alert.ends_at is not None:
                self._resending.discard(key)
                continue
            if now - firing.last_sent_at >= self.policy.resend_every[firing.channel]:
                self._touch(key)
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
                self._touch(key)
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
