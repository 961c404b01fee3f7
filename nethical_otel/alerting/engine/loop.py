"""The alerting loop: the one place with a lifecycle. Everything runs on one event loop in a background
thread (the pipeline's shared I/O loop under ``configure()``, a private one for a standalone manager), so
synchronous applications get alerting without owning a loop, and detector threads never wait on it:

    intake (any thread) -> grouping + store (loop, one SQLite transaction per batch) -> dispatcher (loop)

A fork child does not inherit a running loop: the loops of the parent stop taking alerts there (the
parent keeps delivering its own), and the child gets alerting from its own ``configure()``.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import os
import time
import weakref
from collections.abc import Callable, Coroutine, Mapping
from typing import Any, TypeVar

from opentelemetry.trace import Tracer

from nethical_otel._internal import policy
from nethical_otel.alerting.channels import Channel
from nethical_otel.alerting.engine.assembly import assemble
from nethical_otel.alerting.intake.queue import Intake
from nethical_otel.alerting.model import AlertChannel
from nethical_otel.alerting.store.location import open_store
from nethical_otel.config import AlertingConfig
from nethical_otel.metrics import Instruments
from nethical_otel.pipeline._background import BackgroundLoop

_logger = logging.getLogger("nethical_otel.alerting")
T = TypeVar("T")

BATCH = 5000
TICK_SECONDS = 0.25
CALL_TIMEOUT_SECONDS = 30.0


class AlertingLoop:
    """Starts the parts on the loop, runs them, and stops them; the entry for every call from outside."""

    def __init__(
        self,
        config: AlertingConfig,
        channels: Mapping[AlertChannel, Channel],
        defaults: tuple[AlertChannel, ...],
        intake: Intake,
        background: BackgroundLoop | None,
        instruments: Instruments | None,
        tracer: Tracer,
        service_name: str | None,
    ) -> None:
        self.intake = intake
        self.closed = False
        self._failure: BaseException | None = None
        self._timers: list[asyncio.TimerHandle] = []
        self.store = open_store(config.storage_path, service_name)
        self._owns_background = background is None
        self._background = background or BackgroundLoop("nethical-otel-alerts")
        self.parts = assemble(config, self.store, channels, defaults, instruments, tracer, self._on_failure)
        try:
            self._background.run(self._start(), CALL_TIMEOUT_SECONDS)
        except BaseException:
            self.closed = True
            self.store.close()
            if self._owns_background:
                self._background.stop()
            raise
        if self._owns_background:  # the pipeline shuts down the loops it starts itself
            _standalone.add(self)
        _running.add(self)

    async def _start(self) -> None:
        now = time.time()
        store, parts = self.store, self.parts
        groups = store.groups.adopt()
        parts.router.restore(groups, store.silences.load(now))
        parts.identities.restore((g.source, g.fingerprint, g.alert.starts_at) for g in groups)
        store.leases.claim(now)
        parts.upkeep.maintain(now)
        await parts.dispatcher.start()
        self.intake.attach(asyncio.get_running_loop(), self._guarded(self._process_intake))
        self.every(TICK_SECONDS, self._tick)

    # On the loop ------------------------------------------------------------------------------------
    def every(self, interval: float, action: Callable[[], None]) -> None:
        """Run ``action`` on the loop every ``interval`` seconds until shutdown (call on the loop)."""
        loop = asyncio.get_running_loop()
        guarded = self._guarded(action)
        slot = len(self._timers)

        def run() -> None:
            if self.closed:
                return
            guarded()
            self._timers[slot] = loop.call_later(interval, run)

        self._timers.append(loop.call_later(interval, run))

    def _process_intake(self, drain_all: bool = False) -> None:
        while True:
            items = self.intake.drain(BATCH)
            if items:
                self.parts.writer.accept(items)
            if not drain_all or not items:
                return

    def _tick(self, final: bool = False) -> None:
        self.parts.upkeep.tick(time.time(), self.intake, final)

    def _guarded(self, action: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                action()
            except Exception as error:
                self._on_failure(error)

        return run

    def _on_failure(self, error: BaseException) -> None:
        _logger.error("nethical_otel alerting internal error", exc_info=error)
        if self._failure is None:
            self._failure = error

    def _raise_failure(self) -> None:
        # Under the test suite (NETHICAL_OTEL_RAISE_INTERNAL_ERRORS) a bug on the loop fails the test.
        if self._failure is not None and policy.raise_errors:
            failure, self._failure = self._failure, None
            raise failure

    # From outside -----------------------------------------------------------------------------------
    def in_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._background.loop
        except RuntimeError:  # no loop runs in this thread
            return False

    def call(self, action: Callable[[], T]) -> T:
        """Run ``action`` on the loop (directly when already there) and return its result."""
        if self.in_loop_thread():
            return action()

        async def call() -> T:
            return action()

        return self._background.run(call(), CALL_TIMEOUT_SECONDS)

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        if self.in_loop_thread():
            coroutine.close()
            raise RuntimeError("this AlertManager method blocks; from the alerting loop use the async API")
        return self._background.run(coroutine, timeout)

    def flush(self, timeout: float) -> bool:
        """Wait until every accepted alert is routed and no delivery is due right now; whether it settled."""
        if self.closed:
            return True
        settled = self._run(self._settle(time.monotonic() + timeout), timeout + 5.0)
        self._raise_failure()
        return settled

    async def _settle(self, deadline: float) -> bool:
        while time.monotonic() < deadline:
            if not len(self.intake):
                self._tick()
                if not len(self.intake) and not self.parts.dispatcher.busy(time.time()):
                    return True
            await asyncio.sleep(0.02)
        return False

    def shutdown(self, timeout: float) -> None:
        """Stop accepting alerts, deliver what is due within ``timeout``, and keep the rest for next time."""
        if self.closed:
            return
        self.closed = True
        self.intake.closed = True
        _standalone.discard(self)
        try:
            self._background.run(self._stop(time.monotonic() + timeout), timeout + 5.0)
        except concurrent.futures.TimeoutError:
            _logger.warning("alerting did not stop within %.1fs; undelivered alerts stay in the outbox", timeout)
        finally:
            if self._owns_background:
                self._background.stop(timeout)
        self._raise_failure()

    async def _stop(self, deadline: float) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        dispatcher = self.parts.dispatcher
        try:
            self._process_intake(drain_all=True)
            self._tick(final=True)
            while time.monotonic() < deadline and dispatcher.busy(time.time()):
                await asyncio.sleep(0.02)
        finally:
            self.intake.detach()
            await dispatcher.close()
            self.store.leases.release()
            self.store.groups.release()
            self.store.close()


_standalone: weakref.WeakSet[AlertingLoop] = weakref.WeakSet()
_running: weakref.WeakSet[AlertingLoop] = weakref.WeakSet()


def _orphan_in_fork_child() -> None:
    # A fork child inherits the loops but not their thread, and must not use the parent's SQLite
    # connection: they stop taking alerts here, and the parent keeps delivering its own.
    for loop in list(_running):
        loop.closed = True
        loop.intake.closed = True
    _running.clear()
    _standalone.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_orphan_in_fork_child)


@atexit.register
def _shutdown_standalone() -> None:
    for loop in list(_standalone):
        loop.shutdown(timeout=2.0)
