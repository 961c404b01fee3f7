"""The alerting loop's periodic work, every quarter second: follow-ups planned and recorded, idle groups
forgotten, leases renewed and orphans claimed, silences reloaded, retention applied, gauges set.

While the store cannot be written, only CRITICAL follow-ups go out (from memory), the held batches are
retried on the writer's backoff, and at shutdown whatever is still held is given up and counted.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping

from nethical_otel.alerting._metrics import AlertMetrics
from nethical_otel.alerting.channels import Channel
from nethical_otel.alerting.delivery.dispatcher import Dispatcher
from nethical_otel.alerting.engine.writer import Writer
from nethical_otel.alerting.grouping.routing import Router
from nethical_otel.alerting.intake.queue import Intake
from nethical_otel.alerting.model import AlertChannel, AlertSeverity
from nethical_otel.alerting.store import Store
from nethical_otel.alerting.store.database import STORE_ERRORS
from nethical_otel.config import AlertingConfig

RENEW_SECONDS = 20.0
MAINTENANCE_SECONDS = 3600.0
IDLE_GROUP_SECONDS = 3600.0
SHUTTING_DOWN = "the process is shutting down"


class Upkeep:
    """Every method runs on the alerting loop."""

    def __init__(
        self,
        config: AlertingConfig,
        store: Store,
        router: Router,
        writer: Writer,
        dispatcher: Dispatcher,
        metrics: AlertMetrics,
        channels: Mapping[AlertChannel, Channel],
    ) -> None:
        self.config = config
        self.store = store
        self.router = router
        self.writer = writer
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.channels = channels
        self._last_renew = 0.0
        self._last_maintenance = 0.0
        self._dropped_reported = 0

    def tick(self, now: float, intake: Intake, final: bool = False) -> None:
        spool = self.writer.spool
        if spool.failing and (final or now >= spool.retry_at):
            self.writer.retry(now)
        if spool.failing:
            # Only CRITICAL follow-ups go out (from memory); the others wait for the store.
            for planned in self.router.due(now, final=final, only=AlertSeverity.CRITICAL):
                self.dispatcher.deliver_from_memory(planned)
        else:
            try:
                self._plan(now, final)
                self._housekeeping(now)
            except STORE_ERRORS as error:
                spool.failed(error, now)
        if final and spool.failing:
            self.writer.dropped(spool.give_up(SHUTTING_DOWN))
            self.writer.dropped(self.writer.pending_counts(SHUTTING_DOWN))
        with contextlib.suppress(*STORE_ERRORS):
            self.metrics.queue_depth(self.channels, self.store.outbox.active_by_channel())
        dropped = intake.dropped
        if dropped > self._dropped_reported:
            self.metrics.dropped(dropped - self._dropped_reported)
            self._dropped_reported = dropped

    def _plan(self, now: float, final: bool) -> None:
        router, store = self.router, self.store
        router.begin()
        try:
            planned = router.due(now, final=final)
            gone: list[tuple[str, AlertChannel]] = []
            if now - self._last_renew >= RENEW_SECONDS:  # idle groups are few and cheap to keep a while
                idle = max(IDLE_GROUP_SECONDS, 2 * self.config.repeat_interval_seconds)
                gone = router.forget_idle(now, idle)
            changed = router.take_changed()
            if planned or gone or changed:
                with store.transaction():
                    for item in planned:
                        notification_id = store.outbox.insert_notification(item, now)
                        store.outbox.link_follow_up(item.alert.fingerprint, item.channel, notification_id)
                    store.groups.save(changed)
                    store.groups.delete(gone)
        except BaseException:
            router.rollback()
            raise
        router.commit()
        for item in planned:
            self.dispatcher.wake(item.channel)

    def _housekeeping(self, now: float) -> None:
        store = self.store
        if now - self._last_renew >= RENEW_SECONDS:
            self._last_renew = now
            store.leases.renew(now)
            if store.leases.claim(now):
                self.dispatcher.wake_all()
            # Silences added by another process (or the CLI) sharing the file take effect here too.
            self.router.silences = {silence.id: silence for silence in store.silences.load(now)}
        if now - self._last_maintenance >= MAINTENANCE_SECONDS:
            self.maintain(now)

    def maintain(self, now: float) -> None:
        self._last_maintenance = now
        days = self.config.history_retention_days
        max_age = days * 86400.0 if days > 0 else float("inf")
        self.store.apply_retention(now, max_age, self.config.history_max_alerts)
