"""``AlertManager``: the original Nethical API over the intake, router, outbox and dispatcher.

Everything runs on one event loop in a background thread (the pipeline's shared I/O loop under
``configure()``, a private one for a standalone manager), so synchronous applications get alerting
without owning a loop, and detector threads never wait on it:

    intake (any thread) -> route + record (loop, one SQLite transaction per batch) -> dispatcher (loop)

``await send_alert(...)`` returns once the alert is *accepted*: recorded in the outbox, so it will be
delivered even if the process dies next. Delivery happens in the background; its outcome per channel
is in :meth:`get_alert_history`, or awaited with :meth:`wait_for_delivery`.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import logging
import os
import time
import weakref
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import TracerProvider

from nethical_otel._internal import policy
from nethical_otel._version import __version__
from nethical_otel.alerting import _values
from nethical_otel.alerting._metrics import AlertMetrics
from nethical_otel.alerting.channels import Channel, build_channels
from nethical_otel.alerting.dispatcher import Dispatcher, RetryPolicy
from nethical_otel.alerting.grouping import Grouping, Submission, ThreatPolicy
from nethical_otel.alerting.identity import API_SOURCE, Identities, IdentityPolicy, source_of_alert
from nethical_otel.alerting.intake import Intake
from nethical_otel.alerting.location import open_store
from nethical_otel.alerting.model import Alert, AlertChannel, AlertSeverity, DeliveryStatus
from nethical_otel.alerting.outbox import MEMORY, HistoryQuery, Store
from nethical_otel.alerting.routing import (
    Matcher,
    RateLimiter,
    Router,
    RoutingPolicy,
    Silence,
    matchers_from,
    new_silence,
)
from nethical_otel.alerting.writer import Writer
from nethical_otel.config import AlertingConfig, ConfigError, ConfigIssue, load_config
from nethical_otel.config._alerting import CHANNEL_CHOICES
from nethical_otel.metrics import Instruments
from nethical_otel.pipeline._background import BackgroundLoop

_logger = logging.getLogger("nethical_otel.alerting")
T = TypeVar("T")

_BATCH = 5000
_TICK_SECONDS = 0.25
_ACCEPT_TIMEOUT_SECONDS = 30.0
_ACTIVE_STATUSES = (DeliveryStatus.PENDING.value, DeliveryStatus.RETRYING.value)


@dataclass(frozen=True)
class AlertReceipt:
    """What ``send_alert`` returns once the alert is accepted: its history id and fingerprint."""

    id: int
    fingerprint: str


def alerting_config(config: Mapping[str, Any] | AlertingConfig | None) -> AlertingConfig:
    """The original ``AlertManager(config: dict)`` keys, validated like the ``alerting`` section."""
    if isinstance(config, AlertingConfig):
        return config
    return load_config({"alerting": dict(config or {})}).alerting


def _default_channels(config: AlertingConfig, built: Mapping[AlertChannel, Channel]) -> tuple[AlertChannel, ...]:
    issues = [
        ConfigIssue(f"alerting.default_channels[{index}]", f"{name!r} is not one of {', '.join(CHANNEL_CHOICES)}")
        for index, name in enumerate(config.default_channels)
        if name not in CHANNEL_CHOICES
    ]
    if issues:
        raise ConfigError(issues)
    if config.default_channels:
        return tuple(AlertChannel(name) for name in config.default_channels)
    return tuple(built)


class AlertManager:
    """Multi-channel alerting: grouped, rate-limited, durable, and never blocking the caller's detectors.

    ``config`` takes the original keys (``enabled``, ``max_alerts_per_minute``, ``slack_webhook_url``,
    ``discord_webhook_url``, ``pagerduty_api_key``, ``webhook_url``, ``smtp``) and every other key of
    the ``alerting`` section. Call :meth:`shutdown` (or let the interpreter exit) to flush.
    ``service_name`` picks the default store (one per service; see :mod:`.location`).
    """

    def __init__(
        self,
        config: Mapping[str, Any] | AlertingConfig | None = None,
        *,
        background: BackgroundLoop | None = None,
        instruments: Instruments | None = None,
        tracer_provider: TracerProvider | None = None,
        intake: Intake | None = None,
        service_name: str | None = None,
    ) -> None:
        self.config = alerting_config(config)
        self.enabled = self.config.enabled
        self.rate_limiter = RateLimiter(self.config.max_alerts_per_minute)
        self.channels: dict[AlertChannel, Channel] = build_channels(self.config) if self.enabled else {}
        self.default_channels = _default_channels(self.config, self.channels)
        self.intake = intake if intake is not None else Intake(self.config.queue_size)
        self._closed = not self.enabled
        self._failure: BaseException | None = None
        self._timers: list[asyncio.TimerHandle] = []
        if not self.enabled:
            return
        self._store = open_store(self.config.storage_path, service_name)
        self._owns_background = background is None
        self._background = background or BackgroundLoop("nethical-otel-alerts")
        resend = {
            kind: float(channel.resend_firing_every)
            for kind, channel in self.channels.items()
            if channel.resend_firing_every is not None
        }
        config = self.config
        self._router = Router(
            RoutingPolicy(
                max_per_minute=config.max_alerts_per_minute,
                repeat_interval=config.repeat_interval_seconds,
                group_wait=config.group_wait_seconds,
                resend_every=resend,
                told_of_resolves=frozenset(k for k, c in self.channels.items() if c.delivers_resolved),
                source_per_minute=max(1, round(config.max_alerts_per_minute * config.source_share)),
                critical_per_minute=config.critical_per_minute,
            )
        )
        self._identities = Identities(
            IdentityPolicy(config.max_groups_per_source, config.group_window_seconds, config.max_alert_sources)
        )
        threats = ThreatPolicy(config.critical_threat_level, config.event_resolve_after_seconds, self.default_channels)
        self._metrics = AlertMetrics(instruments)
        self._metrics.declare(self.channels)
        provider = tracer_provider or trace.get_tracer_provider()
        self._dispatcher = Dispatcher(
            self._store,
            self.channels,
            RetryPolicy(
                self.config.retry_initial_delay_seconds,
                self.config.retry_max_delay_seconds,
                self.config.give_up_after_seconds,
            ),
            self._metrics,
            provider.get_tracer("nethical_otel.alerting", __version__),
            self._on_failure,
        )
        self._writer = Writer(
            config,
            self._store,
            self._router,
            Grouping(threats, self._identities),
            self._dispatcher,
            self._metrics,
            self.channels,
            self.default_channels,
        )
        try:
            self._background.run(self._start(), _ACCEPT_TIMEOUT_SECONDS)
        except BaseException:
            self._closed = True
            self._store.close()
            if self._owns_background:
                self._background.stop()
            raise
        if self._owns_background:  # the pipeline shuts down the AlertManager it starts itself
            _live_managers.add(self)
        _all_managers.add(self)

    @property
    def store_path(self) -> str:
        """Where the outbox and history are kept (``:memory:`` when nowhere on disk)."""
        return self._store.path if self.enabled else MEMORY

    def __repr__(self) -> str:
        state = "disabled" if not self.enabled else ("shut down" if self._closed else "running")
        channels = ", ".join(kind.value for kind in self.channels) or "none"
        return f"<AlertManager {state}, channels: {channels}>"

    # Lifecycle -----------------------------------------------------------------------------------
    async def _start(self) -> None:
        now = time.time()
        store = self._store
        groups = store.adopt_groups()
        self._router.restore(groups, store.load_silences(now))
        self._identities.restore((g.source, g.fingerprint, g.alert.starts_at) for g in groups)
        store.claim(now)
        self._writer.maintain(now)
        await self._dispatcher.start()
        loop = asyncio.get_running_loop()
        self.intake.attach(loop, self._guarded(self._process_intake))
        self.every(_TICK_SECONDS, self._tick)

    def every(self, interval: float, action: Callable[[], None]) -> None:
        """Run ``action`` on the alerting loop every ``interval`` seconds until shutdown (call on the loop)."""
        loop = asyncio.get_running_loop()
        guarded = self._guarded(action)
        slot = len(self._timers)

        def run() -> None:
            if self._closed:
                return
            guarded()
            self._timers[slot] = loop.call_later(interval, run)

        self._timers.append(loop.call_later(interval, run))

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

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every accepted alert has been routed and no delivery is due right now.

        Notifications waiting for a retry later than ``timeout`` do not hold it up. Returns whether
        everything settled within ``timeout``.
        """
        if self._closed:
            return True
        settled = self._run(self._settle(time.monotonic() + timeout), timeout + 5.0)
        self._raise_failure()
        return settled

    async def _settle(self, deadline: float) -> bool:
        while time.monotonic() < deadline:
            if not len(self.intake):
                self._tick()
                if not len(self.intake) and not self._dispatcher.busy(time.time()):
                    return True
            await asyncio.sleep(0.02)
        return False

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop accepting alerts, deliver what is due within ``timeout``, and keep the rest for next time."""
        if self._closed:
            return
        self._closed = True
        self.intake.closed = True
        _live_managers.discard(self)
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
        try:
            self._process_intake(drain_all=True)
            self._tick(final=True)
            while time.monotonic() < deadline and self._dispatcher.busy(time.time()):
                await asyncio.sleep(0.02)
        finally:
            self.intake.detach()
            await self._dispatcher.close()
            self._store.release()
            self._store.release_groups()
            self._store.close()

    def _in_loop_thread(self) -> bool:
        try:
            return asyncio.get_running_loop() is self._background.loop
        except RuntimeError:  # no loop runs in this thread
            return False

    def _run(self, coroutine: Coroutine[Any, Any, T], timeout: float) -> T:
        if self._in_loop_thread():
            coroutine.close()
            raise RuntimeError("this AlertManager method blocks; from the alerting loop use the async API")
        return self._background.run(coroutine, timeout)

    def _on_loop(self, action: Callable[[], T]) -> T:
        """Run ``action`` on the alerting loop (directly when already there) and return its result."""
        if self._in_loop_thread():
            return action()

        async def call() -> T:
            return action()

        return self._background.run(call(), _ACCEPT_TIMEOUT_SECONDS)

    # Accepting alerts ------------------------------------------------------------------------------
    async def send_alert(
        self,
        title: str,
        message: str,
        severity: AlertSeverity | str,
        channels: Iterable[AlertChannel | str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> AlertReceipt | None:
        """Accept an alert for ``channels`` (default: every configured channel).

        Returns once the alert is recorded in the outbox (durable), with its history id (0 when the store
        cannot be written: the alert is then held in memory and recorded later); ``None`` when alerting is
        disabled or shut down. A channel that is not configured is recorded as failed.
        Titles, messages and metadata may be anything: they are stored as bounded text, and each channel
        escapes them for its format.
        """
        return await self._accept(*self._alert(title, message, severity, channels, metadata), API_SOURCE)

    def send_alert_sync(
        self,
        title: str,
        message: str,
        severity: AlertSeverity | str,
        channels: Iterable[AlertChannel | str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> AlertReceipt | None:
        """:meth:`send_alert` for code without an event loop: blocks until the alert is accepted."""
        return self._accept_sync(*self._alert(title, message, severity, channels, metadata), API_SOURCE)

    async def send(
        self,
        alert: Alert,
        channels: Iterable[AlertChannel | str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> AlertReceipt | None:
        """Accept a ready :class:`Alert` (your own name and labels, hence your own grouping)."""
        return await self._accept(alert, channels, _values.metadata(metadata), source_of_alert(alert))

    def send_sync(
        self,
        alert: Alert,
        channels: Iterable[AlertChannel | str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> AlertReceipt | None:
        """:meth:`send` for code without an event loop."""
        return self._accept_sync(alert, channels, _values.metadata(metadata), source_of_alert(alert))

    async def _accept(
        self, alert: Alert, channels: Iterable[AlertChannel | str] | None, metadata: dict[str, Any], source: str
    ) -> AlertReceipt | None:
        submission = self._offer(alert, channels, metadata, source)
        if submission is None or submission.future is None:
            return None
        alert_id = await asyncio.wrap_future(submission.future)
        return AlertReceipt(alert_id, submission.alert.fingerprint)

    def _accept_sync(
        self, alert: Alert, channels: Iterable[AlertChannel | str] | None, metadata: dict[str, Any], source: str
    ) -> AlertReceipt | None:
        if self.enabled and self._in_loop_thread():
            raise RuntimeError("this would block the alerting loop; use the async send_alert/send")
        submission = self._offer(alert, channels, metadata, source)
        if submission is None or submission.future is None:
            return None
        return AlertReceipt(submission.future.result(_ACCEPT_TIMEOUT_SECONDS), submission.alert.fingerprint)

    def submit(self, alert: Alert, channels: Iterable[AlertChannel] | None = None) -> None:
        """Hand over a ready :class:`Alert` without waiting for it to be accepted (rules do)."""
        if not self._closed:
            channels = tuple(channels or self.default_channels)
            self.intake.offer(Submission(alert, channels, {}, source=source_of_alert(alert)))

    def _alert(
        self,
        title: object,
        message: object,
        severity: AlertSeverity | str,
        channels: Iterable[AlertChannel | str] | None,
        metadata: Mapping[str, Any] | None,
    ) -> tuple[Alert, Iterable[AlertChannel | str] | None, dict[str, Any]]:
        """The original API's alert: identified by its title and severity, the metadata as annotations."""
        level = AlertSeverity(severity.lower() if isinstance(severity, str) else severity)
        clean_metadata = _values.metadata(metadata)
        clean_title = _values.text(title, _values.TITLE_LIMIT)
        now = time.time()
        # The original API has no resolve: such an alert is an event, over after a while.
        alert = Alert(
            name=clean_title,
            title=clean_title,
            message=_values.text(message, _values.MESSAGE_LIMIT),
            severity=level,
            labels={"severity": level.value},
            annotations={key: "" if value is None else str(value) for key, value in clean_metadata.items()},
            starts_at=now,
            ends_at=now + self.config.event_resolve_after_seconds,
        )
        return alert, channels, clean_metadata

    def _offer(
        self, alert: Alert, channels: Iterable[AlertChannel | str] | None, metadata: dict[str, Any], source: str
    ) -> Submission | None:
        wanted = self.default_channels if channels is None else tuple(AlertChannel(c) for c in channels)
        if not self.enabled:
            _logger.debug("alerting is disabled; alert not sent")
            return None
        if self._closed:
            _logger.warning("AlertManager is shut down; alert not sent")
            return None
        submission = Submission(
            _values.clean_alert(alert), tuple(dict.fromkeys(wanted)), metadata, concurrent.futures.Future(), source
        )
        self.intake.offer(submission)
        return submission

    def configured(self, preferred: Iterable[AlertChannel]) -> tuple[AlertChannel, ...]:
        """Those of ``preferred`` that are configured, else the default channels."""
        chosen = tuple(channel for channel in preferred if channel in self.channels)
        return chosen or self.default_channels

    # On the loop: routing and recording --------------------------------------------------------------
    def _process_intake(self, drain_all: bool = False) -> None:
        while True:
            items = self.intake.drain(_BATCH)
            if items:
                self._writer.accept(items)
            if not drain_all or not items:
                return

    def _tick(self, final: bool = False) -> None:
        self._writer.tick(time.time(), self.intake, final)

    def firing_alerts(self) -> list[Alert]:
        """Alerts some channel was told are firing and that have not resolved (restored ones included)."""
        if not self.enabled or self._closed:
            return []
        return self._on_loop(self._router.firing)

    # History ---------------------------------------------------------------------------------------
    def get_alert_history(
        self,
        limit: int = 100,
        *,
        since: float | None = None,
        until: float | None = None,
        severity: AlertSeverity | str | Iterable[AlertSeverity | str] | None = None,
        status: DeliveryStatus | str | None = None,
        channel: AlertChannel | str | None = None,
    ) -> list[dict[str, Any]]:
        """The most recent ``limit`` alerts, oldest first, each a dict with the original keys (title,
        message, severity, channels, timestamp, metadata) plus id, name, fingerprint, status, labels,
        annotations, trace_id, span_id, occurrences and ``delivery``: per channel its status (pending,
        retrying, sent, failed, rate_limited, grouped, silenced, skipped) and reason.

        ``since``/``until`` are Unix times; ``status`` is an alert status (firing, resolved) or a delivery
        status; ``severity`` one or several severities.
        """
        if not self.enabled:
            return []
        if isinstance(severity, (AlertSeverity, str)):
            severity = [severity]
        query = HistoryQuery(
            limit=limit,
            since=since,
            until=until,
            severity=tuple(AlertSeverity(s).value for s in severity or ()),
            status=None if status is None else getattr(status, "value", status),
            channel=None if channel is None else AlertChannel(channel).value,
        )
        if self._closed:
            return _closed_store_history(self._store.path, query)
        return self._on_loop(lambda: self._store.history(query))

    def get_alert_occurrences(self, alert_id: int) -> list[dict[str, Any]]:
        """The threat occurrences one history entry counts: each one's time, trace id, span id, confidence
        (``count`` > 1 for occurrences that were only tallied while the intake was full)."""
        if not self.enabled:
            return []
        if self._closed:
            if self._store.path == MEMORY:
                return []
            store = Store(self._store.path)
            try:
                return store.occurrences(alert_id)
            finally:
                store.close()
        return self._on_loop(lambda: self._store.occurrences(alert_id))

    @property
    def alert_history(self) -> list[dict[str, Any]]:
        """The original attribute: the last 1000 alerts."""
        return self.get_alert_history(1000)

    def clear_history(self) -> int:
        """Remove the history (notifications still being delivered continue); returns how many alerts."""
        if not self.enabled:
            return 0
        if self._closed:
            if self._store.path == MEMORY:
                return 0
            store = Store(self._store.path)
            try:
                return store.clear_history()
            finally:
                store.close()
        return self._on_loop(self._store.clear_history)

    def delivery_status(self, receipt: AlertReceipt | int) -> dict[str, tuple[str, str]]:
        """Per channel, the current delivery status of one accepted alert and its reason."""
        alert_id = receipt.id if isinstance(receipt, AlertReceipt) else receipt
        return self._on_loop(lambda: self._store.notification_states(alert_id))

    async def wait_for_delivery(self, receipt: AlertReceipt | int, timeout: float = 30.0) -> dict[str, tuple[str, str]]:
        """Wait until no channel of the alert is pending or retrying (or ``timeout``); the final statuses."""
        deadline = time.monotonic() + timeout
        while True:
            states = await asyncio.to_thread(self.delivery_status, receipt)
            if all(status not in _ACTIVE_STATUSES for status, _ in states.values()) or time.monotonic() >= deadline:
                return states
            await asyncio.sleep(0.05)

    # Silences --------------------------------------------------------------------------------------
    def add_silence(
        self,
        matchers: Mapping[str, str] | Iterable[Matcher | tuple[str, str, str]],
        *,
        duration_seconds: float | None = None,
        ends_at: float | None = None,
        starts_at: float | None = None,
        comment: str = "",
    ) -> Silence:
        """Mute alerts whose labels (plus ``alertname`` and ``severity``) match, until it expires.

        ``matchers`` is ``{"label": "value"}`` or :class:`Matcher` / ``(name, operator, value)`` items with
        operators ``=``, ``!=``, ``=~``, ``!~``. Give ``duration_seconds`` or ``ends_at`` (Unix time).
        """
        now = time.time()
        start = now if starts_at is None else starts_at
        if ends_at is None:
            if duration_seconds is None:
                raise ValueError("add_silence needs duration_seconds or ends_at")
            ends_at = start + duration_seconds
        silence = new_silence(matchers_from(matchers), start, ends_at, _values.text(comment, 1024), now)
        if not self.enabled or self._closed:
            raise RuntimeError("alerting is not running")

        def add() -> None:
            self._router.silences[silence.id] = silence
            self._store.save_silence(silence)

        self._on_loop(add)
        return silence

    def expire_silence(self, silence_id: str) -> bool:
        """End a silence now; returns whether it existed."""
        if not self.enabled or self._closed:
            return False

        def expire() -> bool:
            silence = self._router.silences.get(silence_id)
            if silence is None:
                return False
            now = time.time()
            ended = Silence(
                silence.id, silence.matchers, min(silence.starts_at, now), now, silence.comment, silence.created_at
            )
            self._router.silences[silence.id] = ended
            self._store.save_silence(ended)
            return True

        return self._on_loop(expire)

    def silences(self) -> list[Silence]:
        """Silences that are active or not yet started."""
        if not self.enabled or self._closed:
            return []
        now = time.time()
        return self._on_loop(lambda: [s for s in self._router.silences.values() if s.ends_at > now])


def _names(channels: Iterable[AlertChannel]) -> tuple[str, ...]:
    return tuple(channel.value for channel in channels)


def _closed_store_history(path: str, query: HistoryQuery) -> list[dict[str, Any]]:
    if path == MEMORY:
        return []
    store = Store(path)
    try:
        return store.history(query)
    finally:
        store.close()


_live_managers: weakref.WeakSet[AlertManager] = weakref.WeakSet()
_all_managers: weakref.WeakSet[AlertManager] = weakref.WeakSet()


def _orphan_in_fork_child() -> None:
    # A fork child inherits the managers but not their thread, and must not use the parent's SQLite
    # connection: they stop taking alerts here, and the parent keeps delivering its own. The child
    # gets alerting again from its own configure() (or AlertManager).
    for manager in list(_all_managers):
        manager._closed = True
        manager.intake.closed = True
    _all_managers.clear()
    _live_managers.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_orphan_in_fork_child)


@atexit.register
def _shutdown_standalone_managers() -> None:
    for manager in list(_live_managers):
        manager.shutdown(timeout=2.0)
