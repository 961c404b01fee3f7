"""One channel's worker: takes the channel's due notifications from the outbox, up to a few at a time,
attempts each one, and writes down how it went.

* ``SENT``: done.
* ``RETRY`` (5xx, timeouts, connection errors): again after the retry policy's backoff.
* ``RETRY_AFTER`` (429, 503 with a delay): the whole channel waits the delay the service asked for.
* ``FAILED`` (other 4xx, bad credentials): permanent, with the reason.

A notification still failing ``give_up_after_seconds`` after it was accepted is given up (``failed``).
Every attempt is a span (``deliver alert``) with the channel's CLIENT span below it. An outcome the store
cannot take (a full disk) is kept in memory and written when it can; meanwhile the notification is not
sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from nethical_otel import semconv
from nethical_otel.alerting._metrics import AlertMetrics
from nethical_otel.alerting.channels import Channel, Delivery, Outcome
from nethical_otel.alerting.delivery.attempt import attempt, hard_timeout, origin
from nethical_otel.alerting.delivery.retry import RetryPolicy
from nethical_otel.alerting.model import AlertChannel, DeliveryStatus, Notification
from nethical_otel.alerting.store import DueNotification, Store
from nethical_otel.alerting.store.database import STORE_ERRORS

_logger = logging.getLogger("nethical_otel.alerting")

CONCURRENCY_PER_CHANNEL = 4
_IDLE_WAKE_SECONDS = 30.0


@dataclass(frozen=True)
class Context:
    """What every worker shares: the store, the policy, the self-metrics, the tracer, the HTTP session."""

    store: Store
    policy: RetryPolicy
    metrics: AlertMetrics
    tracer: Tracer
    on_failure: Callable[[BaseException], None]
    session: Callable[[], aiohttp.ClientSession]


class ChannelWorker:
    def __init__(self, context: Context, kind: AlertChannel, channel: Channel) -> None:
        self.context = context
        self.kind = kind
        self.channel = channel
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.inflight: dict[int, asyncio.Task[None]] = {}
        self.unwritten: dict[int, Callable[[], None]] = {}  # outcomes the store could not take yet
        self.paused_until = 0.0
        self._stopping = False
        self.traced = kind is not AlertChannel.CONSOLE  # printing a line is not worth a span in the app's traces
        self.hard_timeout = hard_timeout(channel)

    def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self._run(), name=f"nethical-otel-alerts-{self.kind.value}")

    def stop(self) -> None:
        self._stopping = True
        if self.task is not None:
            self.task.cancel()
        for running in list(self.inflight.values()):
            running.cancel()

    async def join(self) -> None:
        tasks = [t for t in (self.task, *self.inflight.values()) if t is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    def busy(self, now: float) -> bool:
        if self.inflight:
            return True
        if self.paused_until > now:
            return False
        try:
            due = self.context.store.outbox.next_due(self.kind, self.unwritten)
        except STORE_ERRORS:
            return False
        return due is not None and due <= now

    async def deliver(self, notification: Notification) -> Delivery:
        delivery = await attempt(self.channel, notification, self.context.session(), self.hard_timeout)
        self.context.metrics.peers(delivery.peers)
        return delivery

    # The loop ---------------------------------------------------------------------------------------
    async def _run(self) -> None:
        outbox = self.context.store.outbox
        while not self._stopping:
            try:
                now = time.time()
                wait: float | None
                if self.paused_until > now:
                    wait = self.paused_until - now
                else:
                    self._write_outcomes()
                    busy = {*self.inflight, *self.unwritten}
                    free = CONCURRENCY_PER_CHANNEL - len(self.inflight)
                    if free > 0:
                        for notification_id in outbox.due(self.kind, now, free, busy):
                            self.inflight[notification_id] = asyncio.get_running_loop().create_task(
                                self._attempt(notification_id)
                            )
                    due = outbox.next_due(self.kind, {*busy, *self.inflight})
                    if self.unwritten:
                        due = min(due or now + 1.0, now + 1.0)  # try the store again soon
                    wait = None if due is None else max(0.0, due - time.time())
                    if self.inflight and len(self.inflight) >= CONCURRENCY_PER_CHANNEL:
                        wait = None  # a finishing attempt wakes us
                self.wake.clear()
                timeout = _IDLE_WAKE_SECONDS if wait is None else min(wait, _IDLE_WAKE_SECONDS)
                if timeout > 0:
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), timeout)
            except asyncio.CancelledError:
                raise
            except STORE_ERRORS:  # the store cannot be read now: the engine holds alerts meanwhile
                await asyncio.sleep(1.0)
            except Exception as error:  # a bug in this loop must not stop delivery for good
                self.context.on_failure(error)
                await asyncio.sleep(1.0)

    def _write_outcomes(self) -> None:
        for notification_id, write in list(self.unwritten.items()):
            try:
                write()
            except STORE_ERRORS:
                return
            del self.unwritten[notification_id]

    async def _attempt(self, notification_id: int) -> None:
        context = self.context
        try:
            due = context.store.outbox.load(notification_id)
            if due is None:  # delivered or taken over meanwhile
                return
            attempts = due.attempts + 1
            if not self.traced:
                self._record(due, attempts, await self.deliver(due.notification))
                return
            alert = due.notification.alert
            with context.tracer.start_as_current_span(
                "deliver alert",
                kind=SpanKind.INTERNAL,
                attributes={
                    semconv.ATTR_ALERT_CHANNEL: self.kind.value,
                    semconv.ATTR_ALERT_FINGERPRINT: alert.fingerprint,
                    semconv.ATTR_ALERT_IDEMPOTENCY_KEY: due.notification.idempotency_key,
                    semconv.ATTR_ALERT_ATTEMPT: attempts,
                },
                links=origin(due.notification),
                record_exception=False,
                set_status_on_exception=False,
            ) as span:
                delivery = await self.deliver(due.notification)
                span.set_attribute(semconv.ATTR_ALERT_OUTCOME, delivery.outcome.value)
                if delivery.outcome is not Outcome.SENT:
                    span.set_status(Status(StatusCode.ERROR, delivery.reason or delivery.outcome.value))
            self._record(due, attempts, delivery)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            context.on_failure(error)
        finally:
            self.inflight.pop(notification_id, None)
            self.wake.set()

    def _record(self, due: DueNotification, attempts: int, delivery: Delivery) -> None:
        try:
            self._outcome(due, attempts, delivery)
        except STORE_ERRORS:  # kept until the store takes it; meanwhile the notification is not re-sent
            self.unwritten[due.id] = lambda: self._outcome(due, attempts, delivery)

    def _outcome(self, due: DueNotification, attempts: int, delivery: Delivery) -> None:
        # The store is written first: an outcome it could not take is counted when it is written.
        outbox, metrics, policy = self.context.store.outbox, self.context.metrics, self.context.policy
        severity = due.notification.alert.severity
        now = time.time()
        outcome = delivery.outcome
        if outcome is Outcome.SENT:
            outbox.mark_sent(due.id, attempts, now)
            metrics.outcome(self.kind, severity, DeliveryStatus.SENT)
            metrics.delivered(self.kind, max(0.0, now - due.created_at))
            return
        age = now - due.created_at
        if outcome is Outcome.FAILED or age >= policy.give_up_after:
            reason = delivery.reason or outcome.value
            if outcome is not Outcome.FAILED:
                reason = f"gave up after {attempts} attempts over {age:.0f}s; last: {reason}"
            outbox.mark_failed(due.id, attempts, reason, now)
            metrics.outcome(self.kind, severity, DeliveryStatus.FAILED)
            _logger.warning("alert notification to %s failed: %s", self.kind.value, reason)
            return
        if outcome is Outcome.RETRY_AFTER and delivery.retry_after is not None:
            delay = max(0.05, delivery.retry_after)
            self.paused_until = max(self.paused_until, now + delay)
        else:
            delay = policy.backoff(attempts)
        next_at = min(now + delay, due.created_at + policy.give_up_after)
        outbox.mark_retry(due.id, attempts, next_at, delivery.reason or outcome.value, now)
        metrics.outcome(self.kind, severity, DeliveryStatus.RETRYING)
