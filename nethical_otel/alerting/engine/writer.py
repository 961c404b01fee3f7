"""The alerting loop's writing side: batches recorded, store faults survived.

* :meth:`Writer.accept` turns a batch of intake items into entries (:mod:`..grouping.entries`) and records
  them (:mod:`.recording`), then wakes the channels that got notifications;
* when a write fails, the batch is held in memory (:mod:`.spool`), the CRITICAL alerts in it are routed
  and delivered from memory, and the held items are written once the store takes writes again
  (:meth:`Writer.retry`, from the upkeep). What is finally given up is counted as ``dropped``.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from nethical_otel.alerting._metrics import AlertMetrics
from nethical_otel.alerting.channels import Channel
from nethical_otel.alerting.delivery.dispatcher import Dispatcher
from nethical_otel.alerting.engine.recording import Outcomes, record
from nethical_otel.alerting.engine.spool import Dropped, Held, Spool
from nethical_otel.alerting.grouping.entries import Entry, Grouping
from nethical_otel.alerting.grouping.routing import Router
from nethical_otel.alerting.model import AlertChannel, DeliveryStatus
from nethical_otel.alerting.store import Store
from nethical_otel.alerting.store.database import STORE_ERRORS
from nethical_otel.config import AlertingConfig

FROM_MEMORY = "routed from memory while the store could not be written"


class Writer:
    """Records batches; holds them while the store fails. Every method runs on the alerting loop."""

    def __init__(
        self,
        config: AlertingConfig,
        store: Store,
        router: Router,
        grouping: Grouping,
        dispatcher: Dispatcher,
        metrics: AlertMetrics,
        channels: Mapping[AlertChannel, Channel],
        default_channels: Sequence[AlertChannel],
    ) -> None:
        self.config = config
        self.store = store
        self.router = router
        self.grouping = grouping
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.channels = channels
        self.default_channels = tuple(default_channels)
        self.spool = Spool(config.store_buffer_size, store.path, config.critical_threat_level)

    # Batches ----------------------------------------------------------------------------------------
    def accept(self, items: Sequence[Any]) -> None:
        """Record a batch, or hold it when the store cannot be written."""
        if self.spool.failing:
            self._hold(items)
            return
        try:
            self._record(items)
        except STORE_ERRORS as error:
            self.spool.failed(error, time.time())
            self._hold(items)

    def _record(self, items: Sequence[Any], from_memory: bool = False) -> None:
        now = time.time()
        entries = self.grouping.entries(items, now)
        recorded = record(
            self.store,
            self.router,
            entries,
            self.channels,
            now,
            self.config.occurrences_per_alert,
            self._announced if from_memory else None,
        )
        for entry, alert_id in zip(entries, recorded.ids, strict=True):
            future = entry.submission.future
            if future is not None and not future.done():
                future.set_result(alert_id)
        self._count(recorded.outcomes)
        for channel in recorded.woken:
            self.dispatcher.wake(channel)

    def _announced(self, entry: Entry, channel: AlertChannel) -> tuple[DeliveryStatus, str] | None:
        status = self.dispatcher.memory_status(entry.submission.alert.fingerprint, channel)
        return (status or DeliveryStatus.GROUPED, FROM_MEMORY)

    def _count(self, outcomes: Outcomes) -> None:
        for (channel, severity, status), total in outcomes.items():
            self.metrics.outcome(channel, severity, status, total)

    # Store faults -----------------------------------------------------------------------------------
    def _hold(self, items: Iterable[Any], *, first: bool = False) -> None:
        held = list(items)
        for item in held:  # accepted: held in memory, recorded when the store works again (receipt id 0)
            future = item.item.future if isinstance(item, Held) else getattr(item, "future", None)
            if future is not None and not future.done():
                future.set_result(0)
        self.dropped(self.spool.hold(held, first=first))
        self._announce_critical()

    def _announce_critical(self) -> None:
        """Route the held CRITICAL alerts in memory now and deliver their notifications from memory."""
        held = self.spool.unannounced_critical()
        if not held:
            return
        now = time.time()
        for item in held:
            item.announced = True
        outcomes: Outcomes = Outcomes()
        for entry in self.grouping.entries([item.item for item in held], now):
            alert = entry.submission.alert
            configured = [c for c in entry.submission.channels if c in self.channels]
            for decision in self.router.route(alert, 0, configured, now, entry.count, entry.since, entry.source):
                if decision.notification is not None:
                    self.dispatcher.deliver_from_memory(decision.notification)
                    if entry.count > 1:
                        outcomes[(decision.channel, alert.severity, DeliveryStatus.GROUPED)] += entry.count - 1
                else:
                    outcomes[(decision.channel, alert.severity, decision.status)] += entry.count
        self._count(outcomes)

    def retry(self, now: float) -> None:
        """Write what is held; on failure hold it again, in order, and back off."""
        held = self.spool.take()
        announced = [h for h in held if h.announced]
        rest = [h for h in held if not h.announced]
        try:
            if announced:
                self._record([h.item for h in announced], from_memory=True)
                announced = []
            if rest:
                self._record([h.item for h in rest])
            else:
                self.store.probe(now)
        except STORE_ERRORS as error:
            self.spool.failed(error, now)
            self.spool.hold(announced + rest, first=True)
            return
        self.spool.recovered()

    def dropped(self, dropped: Dropped) -> None:
        for (severity, channels), count in dropped.counts.items():
            for channel in channels or self.default_channels:
                self.metrics.outcome(channel, severity, DeliveryStatus.DROPPED, count)

    def pending_counts(self, reason: str) -> Dropped:
        """Occurrences counted in groups whose state cannot be saved: given up with the process."""
        dropped = Dropped()
        for group in self.router.groups.values():
            if group.pending:
                key = (group.alert.severity, (group.channel,))
                dropped.counts[key] = dropped.counts.get(key, 0) + group.pending
                group.pending = 0
        if dropped.counts:
            self.spool.tell_dropped(dropped, reason)
        return dropped
