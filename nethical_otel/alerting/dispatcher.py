"""Delivering the outbox: one worker per channel on the alerting event loop, retries from the outcome.

Each channel has its own worker, its own concurrency and its own pauses, so a channel that fails, hangs
or rate-limits never delays or re-sends another. The worker takes due notifications from the outbox
(the queue survives restarts), asks the channel to deliver, and records what happened:

* ``SENT``: done.
* ``RETRY`` (5xx, timeouts, connection errors): again after an exponential backoff with ±50 % jitter
  (``retry_initial_delay_seconds`` doubling up to ``retry_max_delay_seconds``).
* ``RETRY_AFTER`` (429, 503 with a delay): the whole channel waits the delay the service asked for.
* ``FAILED`` (other 4xx, bad credentials): permanent, with the reason.

A notification still failing ``give_up_after_seconds`` after it was accepted is given up (``failed``).
Every attempt is a span (``deliver alert``) with the channel's CLIENT span below it.

While the store cannot be written, CRITICAL notifications are delivered *from memory*
(:meth:`Dispatcher.deliver_from_memory`): same channel, same retries, nothing persisted. An outcome the
store cannot take (a full disk) is kept in memory and written when it can, and the notification is not
sent again meanwhile.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import aiohttp
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, Tracer

from nethical_otel import semconv
from nethical_otel.alerting._http_tracing import client_trace_config
from nethical_otel.alerting._metrics import AlertMetrics
from nethical_otel.alerting.channels import Channel, Delivery, HttpChannel, Outcome
from nethical_otel.alerting.model import AlertChannel, DeliveryStatus, Notification
from nethical_otel.alerting.outbox import DueNotification, Store
from nethical_otel.alerting.routing import PlannedNotification
from nethical_otel.alerting.spool import STORE_ERRORS

_logger = logging.getLogger("nethical_otel.alerting")

CONCURRENCY_PER_CHANNEL = 4
# Beyond the channel's own request timeout: a channel that does not return by then is treated as a timeout.
_GRACE_SECONDS = 5.0
_SMTP_STEPS = 8
_IDLE_WAKE_SECONDS = 30.0
_MEMORY_STATUSES = 10_000  # outcomes of memory deliveries remembered for the history, newest kept


@dataclass(frozen=True)
class RetryPolicy:
    initial_delay: float = 0.5
    max_delay: float = 60.0
    give_up_after: float = 86400.0

    def backoff(self, attempts: int, rng: Callable[[], float] = random.random) -> float:
        """Delay before attempt ``attempts + 1``: doubling from ``initial_delay``, capped, ±50 % jitter."""
        base = min(self.max_delay, self.initial_delay * 2.0 ** max(0, attempts - 1))
        return base * (0.5 + rng())


class Dispatcher:
    """Per-channel workers over the outbox. All methods run on the alerting event loop."""

    def __init__(
        self,
        store: Store,
        channels: Mapping[AlertChannel, Channel],
        policy: RetryPolicy,
        metrics: AlertMetrics,
        tracer: Tracer,
        on_failure: Callable[[BaseException], None],
    ) -> None:
        self._store = store
        self._channels = dict(channels)
        self._policy = policy
        self._metrics = metrics
        self._tracer = tracer
        self._on_failure = on_failure
        self._session: aiohttp.ClientSession | None = None
        self._workers: dict[AlertChannel, _Worker] = {}
        self._memory: dict[tuple[str, AlertChannel], DeliveryStatus] = {}
        self._memory_tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            trace_configs=[client_trace_config(self._tracer)],
            connector=aiohttp.TCPConnector(limit=CONCURRENCY_PER_CHANNEL * max(1, len(self._channels))),
        )
        for kind, channel in self._channels.items():
            worker = _Worker(self, kind, channel)
            self._workers[kind] = worker
            worker.task = asyncio.get_running_loop().create_task(
                worker.run(), name=f"nethical-otel-alerts-{kind.value}"
            )

    def wake(self, channel: AlertChannel) -> None:
        worker = self._workers.get(channel)
        if worker is not None:
            worker.wake.set()

    def wake_all(self) -> None:
        for worker in self._workers.values():
            worker.wake.set()

    def busy(self, now: float) -> bool:
        """Whether any channel has an attempt running or a notification due now."""
        return bool(self._memory_tasks) or any(worker.busy(now) for worker in self._workers.values())

    # From memory, while the store cannot be written ----------------------------------------------------
    def deliver_from_memory(self, planned: PlannedNotification) -> None:
        worker = self._workers.get(planned.channel)
        if worker is None:
            return
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
        task = asyncio.get_running_loop().create_task(self._from_memory(worker, notification))
        self._memory_tasks.add(task)
        task.add_done_callback(self._memory_tasks.discard)

    def memory_status(self, fingerprint: str, channel: AlertChannel) -> DeliveryStatus | None:
        """How the latest memory delivery of an alert group to ``channel`` went, if there was one."""
        return self._memory.get((fingerprint, channel))

    def _remember(self, notification: Notification, status: DeliveryStatus) -> None:
        key = (notification.alert.fingerprint, notification.channel)
        self._memory.pop(key, None)
        self._memory[key] = status
        if len(self._memory) > _MEMORY_STATUSES:
            del self._memory[next(iter(self._memory))]

    async def _from_memory(self, worker: _Worker, notification: Notification) -> None:
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
                    self._metrics.outcome(worker.kind, severity, DeliveryStatus.SENT)
                    self._metrics.delivered(worker.kind, max(0.0, now - started))
                    return
                if delivery.outcome is Outcome.FAILED or now - started >= self._policy.give_up_after:
                    self._remember(notification, DeliveryStatus.FAILED)
                    self._metrics.outcome(worker.kind, severity, DeliveryStatus.FAILED)
                    _logger.warning("alert notification to %s failed: %s", worker.kind.value, delivery.reason)
                    return
                self._remember(notification, DeliveryStatus.RETRYING)
                self._metrics.outcome(worker.kind, severity, DeliveryStatus.RETRYING)
                delay = delivery.retry_after if delivery.retry_after is not None else self._policy.backoff(attempts)
                await asyncio.sleep(max(0.05, delay))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            self._on_failure(error)

    async def close(self) -> None:
        """Stop every worker; attempts cut short stay in the outbox and are retried by the next process."""
        workers = list(self._workers.values())
        for worker in workers:
            worker.stop()
        for task in list(self._memory_tasks):
            task.cancel()
        await asyncio.gather(*self._memory_tasks, return_exceptions=True)
        await asyncio.gather(*(worker.join() for worker in workers), return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None


class _Worker:
    def __init__(self, dispatcher: Dispatcher, kind: AlertChannel, channel: Channel) -> None:
        self.dispatcher = dispatcher
        self.kind = kind
        self.channel = channel
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self.inflight: dict[int, asyncio.Task[None]] = {}
        self.unwritten: dict[int, Callable[[], None]] = {}  # outcomes the store could not take yet
        self.paused_until = 0.0
        self._stopping = False
        timeout = getattr(channel, "timeout_seconds", None)
        limit = float(timeout) if isinstance(timeout, (int, float)) else 30.0
        # An HTTP channel's limit covers its whole request; a non-HTTP channel's (SMTP) covers each step of
        # a conversation of up to eight (connect, EHLO, STARTTLS, EHLO, AUTH, MAIL, RCPT, DATA).
        steps = 1 if isinstance(channel, HttpChannel) else _SMTP_STEPS
        self.traced = kind is not AlertChannel.CONSOLE
        self.hard_timeout = limit * steps + _GRACE_SECONDS

    def busy(self, now: float) -> bool:
        if self.inflight:
            return True
        if self.paused_until > now:
            return False
        try:
            due = self.dispatcher._store.next_due(self.kind, self.unwritten)
        except STORE_ERRORS:
            return False
        return due is not None and due <= now

    def _write_outcomes(self) -> None:
        for notification_id, write in list(self.unwritten.items()):
            try:
                write()
            except STORE_ERRORS:
                return
            del self.unwritten[notification_id]

    def stop(self) -> None:
        self._stopping = True
        if self.task is not None:
            self.task.cancel()
        for attempt in list(self.inflight.values()):
            attempt.cancel()

    async def join(self) -> None:
        tasks = [t for t in (self.task, *self.inflight.values()) if t is not None]
        await asyncio.gather(*tasks, return_exceptions=True)

    async def run(self) -> None:
        store = self.dispatcher._store
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
                        for notification_id in store.due(self.kind, now, free, busy):
                            self.inflight[notification_id] = asyncio.get_running_loop().create_task(
                                self._attempt(notification_id)
                            )
                    due = store.next_due(self.kind, {*busy, *self.inflight})
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
            except STORE_ERRORS:  # the store cannot be read now: the manager holds alerts meanwhile
                await asyncio.sleep(1.0)
            except Exception as error:  # a bug in this loop must not stop delivery for good
                self.dispatcher._on_failure(error)
                await asyncio.sleep(1.0)

    async def _attempt(self, notification_id: int) -> None:
        dispatcher = self.dispatcher
        try:
            due = dispatcher._store.load(notification_id)
            if due is None:  # delivered or taken over meanwhile
                return
            attempts = due.attempts + 1
            if not self.traced:  # printing a line is not worth a span in the application's traces
                self._record(due, attempts, await self.deliver(due.notification))
                return
            alert = due.notification.alert
            with dispatcher._tracer.start_as_current_span(
                "deliver alert",
                kind=SpanKind.INTERNAL,
                attributes={
                    semconv.ATTR_ALERT_CHANNEL: self.kind.value,
                    semconv.ATTR_ALERT_FINGERPRINT: alert.fingerprint,
                    semconv.ATTR_ALERT_IDEMPOTENCY_KEY: due.notification.idempotency_key,
                    semconv.ATTR_ALERT_ATTEMPT: attempts,
                },
                links=_origin(due.notification),
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
            dispatcher._on_failure(error)
        finally:
            self.inflight.pop(notification_id, None)
            self.wake.set()

    async def deliver(self, notification: Notification) -> Delivery:
        session = self.dispatcher._session
        assert session is not None
        try:
            return await asyncio.wait_for(self.channel.deliver(notification, session), self.hard_timeout)
        except asyncio.TimeoutError:
            return Delivery(Outcome.RETRY, f"no answer within {self.hard_timeout:g}s")
        except asyncio.CancelledError:
            raise
        except Exception as error:
            # The channel broke its contract (it must return, not raise). Its message may quote a secret URL,
            # so only the type and the frames are logged.
            frames = "".join(traceback.format_tb(error.__traceback__))
            _logger.error("channel %s raised %s:\n%s", self.kind.value, type(error).__name__, frames)
            return Delivery(Outcome.RETRY, f"channel error: {type(error).__name__}")

    def _record(self, due: DueNotification, attempts: int, delivery: Delivery) -> None:
        try:
            self._outcome(due, attempts, delivery)
        except STORE_ERRORS:  # kept until the store takes it; meanwhile the notification is not re-sent
            self.unwritten[due.id] = lambda: self._outcome(due, attempts, delivery)

    def _outcome(self, due: DueNotification, attempts: int, delivery: Delivery) -> None:
        # The store is written first: an outcome it could not take is counted when it is written.
        dispatcher = self.dispatcher
        store, metrics, policy = dispatcher._store, dispatcher._metrics, dispatcher._policy
        severity = due.notification.alert.severity
        now = time.time()
        outcome = delivery.outcome
        if outcome is Outcome.SENT:
            store.mark_sent(due.id, attempts, now)
            metrics.outcome(self.kind, severity, DeliveryStatus.SENT)
            metrics.delivered(self.kind, max(0.0, now - due.created_at))
            return
        age = now - due.created_at
        if outcome is Outcome.FAILED or age >= policy.give_up_after:
            reason = delivery.reason or outcome.value
            if outcome is not Outcome.FAILED:
                reason = f"gave up after {attempts} attempts over {age:.0f}s; last: {reason}"
            store.mark_failed(due.id, attempts, reason, now)
            metrics.outcome(self.kind, severity, DeliveryStatus.FAILED)
            _logger.warning("alert notification to %s failed: %s", self.kind.value, reason)
            return
        if outcome is Outcome.RETRY_AFTER and delivery.retry_after is not None:
            delay = max(0.05, delivery.retry_after)
            self.paused_until = max(self.paused_until, now + delay)
        else:
            delay = policy.backoff(attempts)
        next_at = min(now + delay, due.created_at + policy.give_up_after)
        store.mark_retry(due.id, attempts, next_at, delivery.reason or outcome.value, now)
        metrics.outcome(self.kind, severity, DeliveryStatus.RETRYING)


def _origin(notification: Notification) -> list[Link]:
    """A link to the span that raised the alert (a detector call), when there is one."""
    alert = notification.alert
    if not alert.trace_id or not alert.span_id:
        return []
    try:
        context = SpanContext(
            int(alert.trace_id, 16), int(alert.span_id, 16), is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED)
        )
    except ValueError:
        return []
    return [Link(context)] if context.is_valid else []
