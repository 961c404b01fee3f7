"""Delivering the outbox: one :class:`~.worker.ChannelWorker` per channel on the alerting event loop.

Each channel has its own worker, its own concurrency and its own pauses, so a channel that fails, hangs
or rate-limits never delays or re-sends another. The queue is the outbox, so it survives restarts.
While the store cannot be written, CRITICAL notifications are delivered from memory (:mod:`.memory`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import aiohttp
from opentelemetry.trace import Tracer

from nethical_otel.alerting._metrics import AlertMetrics
from nethical_otel.alerting.channels import Channel
from nethical_otel.alerting.delivery.http_tracing import client_trace_config
from nethical_otel.alerting.delivery.memory import MemoryDeliveries
from nethical_otel.alerting.delivery.retry import RetryPolicy
from nethical_otel.alerting.delivery.worker import CONCURRENCY_PER_CHANNEL, ChannelWorker, Context
from nethical_otel.alerting.grouping.routing import PlannedNotification
from nethical_otel.alerting.model import AlertChannel, DeliveryStatus
from nethical_otel.alerting.store import Store


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
        self._channels = dict(channels)
        self._tracer = tracer
        self._session: aiohttp.ClientSession | None = None
        context = Context(store, policy, metrics, tracer, on_failure, self._open_session)
        self._workers = {kind: ChannelWorker(context, kind, channel) for kind, channel in self._channels.items()}
        self._memory = MemoryDeliveries(context)

    def _open_session(self) -> aiohttp.ClientSession:
        assert self._session is not None, "the dispatcher is not started"
        return self._session

    async def start(self) -> None:
        self._session = aiohttp.ClientSession(
            trace_configs=[client_trace_config(self._tracer)],
            connector=aiohttp.TCPConnector(limit=CONCURRENCY_PER_CHANNEL * max(1, len(self._channels))),
        )
        for worker in self._workers.values():
            worker.start()

    def wake(self, channel: AlertChannel) -> None:
        worker = self._workers.get(channel)
        if worker is not None:
            worker.wake.set()

    def wake_all(self) -> None:
        for worker in self._workers.values():
            worker.wake.set()

    def busy(self, now: float) -> bool:
        """Whether any channel has an attempt running or a notification due now."""
        return bool(self._memory) or any(worker.busy(now) for worker in self._workers.values())

    def deliver_from_memory(self, planned: PlannedNotification) -> None:
        worker = self._workers.get(planned.channel)
        if worker is not None:
            self._memory.deliver(worker, planned)

    def memory_status(self, fingerprint: str, channel: AlertChannel) -> DeliveryStatus | None:
        return self._memory.status(fingerprint, channel)

    async def close(self) -> None:
        """Stop every worker; attempts cut short stay in the outbox and are retried by the next process."""
        workers = list(self._workers.values())
        for worker in workers:
            worker.stop()
        await self._memory.close()
        for worker in workers:
            await worker.join()
        if self._session is not None:
            await self._session.close()
            self._session = None
