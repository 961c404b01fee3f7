"""Recording one batch: history rows, routing decisions and notifications, in one transaction.

The router and the store change together or not at all: the router journals its changes
(:meth:`Router.begin`) and both roll back when the write fails (a full disk, a locked or read-only file),
so a batch that could not be stored can be held in memory and recorded again later exactly as if it
arrived then. An entry already announced from memory while the store was failing is recorded with what
happened to it instead of being routed a second time.

Threat occurrences of one (detector, level, category) in a batch are one history entry counting them
(its trace and span ids are the latest one's); each occurrence's own time, ids and confidence are kept
alongside, up to ``occurrences_per_alert`` per entry, the rest tallied in one row.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

from nethical_otel.alerting.grouping.entries import Entry
from nethical_otel.alerting.grouping.routing import ChannelDecision, Router
from nethical_otel.alerting.model import AlertChannel, AlertSeverity, DeliveryStatus
from nethical_otel.alerting.store import Accepted, Store

OVERFLOW_REASON = "over alerting.max_groups_per_source: counted in its source's overflow group"
Outcomes = Counter[tuple[AlertChannel, AlertSeverity, DeliveryStatus]]


@dataclass
class Recorded:
    ids: list[int]
    outcomes: Outcomes = field(default_factory=Counter)
    woken: set[AlertChannel] = field(default_factory=set)


def record(
    store: Store,
    router: Router,
    entries: Sequence[Entry],
    configured: Collection[AlertChannel],
    now: float,
    occurrences_per_alert: int,
    announced: Callable[[Entry, AlertChannel], tuple[DeliveryStatus, str] | None] | None = None,
) -> Recorded:
    """Store ``entries`` and route them; on any error, roll back store and router, then raise."""
    names: dict[tuple[AlertChannel, ...], tuple[str, ...]] = {}
    accepted = []
    for entry in entries:
        submission = entry.submission
        channel_names = names.get(submission.channels)
        if channel_names is None:
            channel_names = names[submission.channels] = tuple(c.value for c in submission.channels)
        accepted.append(Accepted(submission.alert, channel_names, submission.metadata, now, entry.count))
    result = Recorded([])
    router.begin()
    try:
        with store.transaction():
            result.ids = ids = store.outbox.insert_alerts(accepted)
            routed: list[tuple[int, ChannelDecision, int | None]] = []
            unrouted: list[tuple[int, str, DeliveryStatus, str]] = []
            occurrences: list[tuple[int, float, str | None, str | None, float | None, int]] = []
            for entry, alert_id in zip(entries, ids, strict=True):
                alert = entry.submission.alert
                occurrences.extend((alert_id, *row) for row in entry.occurrences(occurrences_per_alert))
                channels = []
                for channel in entry.submission.channels:
                    known = announced(entry, channel) if announced is not None else None
                    if channel not in configured or known is not None:
                        status, reason = known or (DeliveryStatus.FAILED, f"channel {channel.value} is not configured")
                        unrouted.append((alert_id, channel.value, status, reason))
                        result.outcomes[(channel, alert.severity, status)] += entry.count if known is None else 0
                    else:
                        channels.append(channel)
                for decision in router.route(alert, alert_id, channels, now, entry.count, entry.since, entry.source):
                    routed.append(_decided(store, decision, entry, alert_id, now, result))
            store.outbox.insert_deliveries(routed)
            store.outbox.insert_unrouted(unrouted)
            store.outbox.insert_occurrences(occurrences)
            store.groups.save(router.take_changed())
    except BaseException:
        router.rollback()
        raise
    router.commit()
    return result


def _decided(
    store: Store, decision: ChannelDecision, entry: Entry, alert_id: int, now: float, result: Recorded
) -> tuple[int, ChannelDecision, int | None]:
    severity = entry.submission.alert.severity
    channel = decision.channel
    notification_id = None
    if decision.notification is not None:
        notification_id = store.outbox.insert_notification(decision.notification, now)
        result.woken.add(channel)
        if entry.count > 1:  # the rest of the batch rides on this notification
            rest = DeliveryStatus.OVERFLOW if entry.overflow else DeliveryStatus.GROUPED
            result.outcomes[(channel, severity, rest)] += entry.count - 1
    elif entry.overflow and decision.status in (DeliveryStatus.GROUPED, DeliveryStatus.RATE_LIMITED):
        decision = ChannelDecision(channel, DeliveryStatus.OVERFLOW, OVERFLOW_REASON)
        result.outcomes[(channel, severity, decision.status)] += entry.count
    else:
        result.outcomes[(channel, severity, decision.status)] += entry.count
    return (alert_id, decision, notification_id)
