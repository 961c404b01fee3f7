"""Delivering from memory while the store cannot be written: CRITICAL notifications go out at once on
their channel's worker, with the same retries, and nothing persisted. How each went is remembered for a
while, so the history written later says what happened."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from nethical_otel.alerting.channels import Outcome
from nethical_otel.alerting.delivery.worker import ChannelWorker, Context
from nethical_otel.alerting.grouping.routing import PlannedNotification
from nethical_otel.alerting.model import AlertChannel, DeliveryStatus, Notification

_logger = logging.getLogger("nethical_otel.alerting")

_REMEMBERED = 10_000  # outcomes of memory deliveries remembered for the history, newest kept


class MemoryDeliveries:
    def __init__(self, context: Context) -> None:
        self._context = context
        self._statuses: dict[tuple[str, AlertChannel], DeliveryStatus] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def __bool__(self) -> bool:
        return bool(self._tasks)

    def deliver(self, worker: ChannelWorker, planned: PlannedNotification) -> None:
        notification = Notification(
            alert=planned.alert,
            channel=planned.channel,
            idempotency_key=secrets.token_hex(16),
            occurrences=planned.occurrences,
            first_seen=planned.first_seen,
            last_seen=planned.last_seen,
            reason=planned.reason,
        )
        self._remember(notification, DeliveryStatus.PENDING)
        task = asyncio.get_running_loop().create_task(self._deliver(worker, notification))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def status(self, fingerprint: str, channel: AlertChannel) -> DeliveryStatus | None:
        """How the latest memory delivery of an alert group to ``channel`` went, if there was one."""
        return self._statuses.get((fingerprint, channel))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    def _remember(self, notification: Notification, status: DeliveryStatus) -> None:
        key = (notification.alert.fingerprint, notification.channel)
        self._statuses.pop(key, None)
        self._statuses[key] = status
        if len(self._statuses) > _REMEMBERED:
            del self._statuses[next(iter(self._statuses))]

    async def _deliver(self, worker: ChannelWorker, notification: Notification) -> None:
        metrics, policy = self._context.metrics, self._context.policy
        started = time.time()
        attempts = 0
        try:
            while True:
                attempts += 1
                delivery = await worker.deliver(notification)
                now = time.time()
                severity = notification.alert.severity
                if delivery.outcome is Outcome.SENT:
                    self._remember(notification, DeliveryStatus.SENT)
                    metrics.outcome(worker.kind, severity, DeliveryStatus.SENT)
                    metrics.delivered(worker.kind, max(0.0, now - started))
                    return
                if delivery.outcome is Outcome.FAILED or now - started >= policy.give_up_after:
                    self._remember(notification, DeliveryStatus.FAILED)
                    metrics.outcome(worker.kind, severity, DeliveryStatus.FAILED)
                    _logger.warning("alert notification to %s failed: %s", worker.kind.value, delivery.reason)
                    return
                self._remember(notification, DeliveryStatus.RETRYING)
                metrics.outcome(worker.kind, severity, DeliveryStatus.RETRYING)
                delay = delivery.retry_after if delivery.retry_after is not None else policy.backoff(attempts)
                await asyncio.sleep(max(0.05, delay))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._context.on_failure(error)
