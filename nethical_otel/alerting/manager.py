"""``AlertManager``: the original Nethical API, a thin front over the alerting loop (:mod:`.engine.loop`).
``send_alert`` returns once the alert is *accepted* (in the outbox: delivered even if the process dies
next); delivery runs in the background, its outcome in the history or :meth:`~AlertManager.wait_for_delivery`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.trace import TracerProvider

from nethical_otel._version import __version__
from nethical_otel.alerting.channels import Channel, build_channels
from nethical_otel.alerting.engine import silencing
from nethical_otel.alerting.engine.assembly import alerting_config, default_channels
from nethical_otel.alerting.engine.loop import AlertingLoop
from nethical_otel.alerting.grouping.identity import API_SOURCE, source_of_alert
from nethical_otel.alerting.grouping.silences import Matcher, Silence, silence_from
from nethical_otel.alerting.intake import values
from nethical_otel.alerting.intake.queue import Intake, Submission
from nethical_otel.alerting.intake.submissions import AlertReceipt, accepted, accepted_sync, api_alert, awaited
from nethical_otel.alerting.model import Alert, AlertChannel, AlertSeverity, DeliveryStatus
from nethical_otel.alerting.store import MEMORY, HistoryQuery, Store, reading
from nethical_otel.config import AlertingConfig
from nethical_otel.metrics import Instruments
from nethical_otel.pipeline._background import BackgroundLoop
from nethical_otel.semconv import ACTIVE_DELIVERY_STATUSES

_logger = logging.getLogger("nethical_otel.alerting")
Channels = Iterable[AlertChannel | str] | None
Metadata = Mapping[str, Any] | None
Severity = AlertSeverity | str
T = TypeVar("T")


class AlertManager:
    """Multi-channel alerting: grouped, rate-limited, durable, and never blocking the caller's detectors.

    ``config`` takes the original keys (``enabled``, ``max_alerts_per_minute``, ``slack_webhook_url``,
    ``discord_webhook_url``, ``pagerduty_api_key``, ``webhook_url``, ``smtp``) and every other key of the
    ``alerting`` section. Call :meth:`shutdown` (or let the interpreter exit) to flush. ``service_name``
    picks the default store (one per service; see :mod:`.store.location`).
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
        self.channels: dict[AlertChannel, Channel] = build_channels(self.config) if self.enabled else {}
        self.default_channels = default_channels(self.config, self.channels)
        self.intake = intake if intake is not None else Intake(self.config.queue_size)
        self._loop: AlertingLoop | None = None
        if self.enabled:
            tracer = (tracer_provider or trace.get_tracer_provider()).get_tracer("nethical_otel.alerting", __version__)
            parts = (self.channels, self.default_channels, self.intake, background, instruments, tracer, service_name)
            self._loop = AlertingLoop(self.config, *parts)

    @property
    def _running(self) -> AlertingLoop | None:
        return None if self._loop is None or self._loop.closed else self._loop

    @property
    def store_path(self) -> str:
        """Where the outbox and history are kept (``:memory:`` when nowhere on disk)."""
        return self._loop.store.path if self._loop is not None else MEMORY

    def __repr__(self) -> str:
        state = "disabled" if self._loop is None else ("shut down" if self._loop.closed else "running")
        return f"<AlertManager {state}, channels: {', '.join(kind.value for kind in self.channels) or 'none'}>"

    # Lifecycle --------------------------------------------------------------------------------------
    def every(self, interval: float, action: Callable[[], None]) -> None:
        """Run ``action`` on the alerting loop every ``interval`` seconds (call on the loop)."""
        if self._loop is not None:
            self._loop.every(interval, action)

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every accepted alert is routed and no delivery is due now; whether that happened in time."""
        return self._loop.flush(timeout) if self._loop is not None else True

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop accepting alerts, deliver what is due within ``timeout``, and keep the rest for next time."""
        if self._loop is not None:
            self._loop.shutdown(timeout)

    # Accepting alerts -------------------------------------------------------------------------------
    async def send_alert(
        self, title: str, message: str, severity: Severity, channels: Channels = None, metadata: Metadata = None
    ) -> AlertReceipt | None:
        """Accept an alert for ``channels`` (default: every configured one); returns once it is in the outbox,
        with its history id (0 while the store cannot be written: held in memory, recorded later), or None
        when alerting is off. An unconfigured channel is recorded as failed; any text is stored bounded."""
        alert, clean = api_alert(title, message, severity, metadata, self.config.event_resolve_after_seconds)
        return await accepted(self._offer(alert, channels, clean, API_SOURCE))

    def send_alert_sync(
        self, title: str, message: str, severity: Severity, channels: Channels = None, metadata: Metadata = None
    ) -> AlertReceipt | None:
        """:meth:`send_alert` for code without an event loop: blocks until the alert is accepted."""
        self._refuse_on_loop()
        alert, clean = api_alert(title, message, severity, metadata, self.config.event_resolve_after_seconds)
        return accepted_sync(self._offer(alert, channels, clean, API_SOURCE))

    async def send(self, alert: Alert, channels: Channels = None, metadata: Metadata = None) -> AlertReceipt | None:
        """Accept a ready :class:`Alert` (your own name and labels, hence your own grouping)."""
        return await accepted(self._offer(alert, channels, values.metadata(metadata), source_of_alert(alert)))

    def send_sync(self, alert: Alert, channels: Channels = None, metadata: Metadata = None) -> AlertReceipt | None:
        """:meth:`send` for code without an event loop."""
        self._refuse_on_loop()
        return accepted_sync(self._offer(alert, channels, values.metadata(metadata), source_of_alert(alert)))

    def submit(self, alert: Alert, channels: Iterable[AlertChannel] | None = None) -> None:
        """Hand over a ready :class:`Alert` without waiting for it to be accepted (rules do)."""
        if self._running is not None:
            wanted = tuple(channels or self.default_channels)
            self.intake.offer(Submission(alert, wanted, {}, source=source_of_alert(alert)))

    def configured(self, preferred: Iterable[AlertChannel]) -> tuple[AlertChannel, ...]:
        """Those of ``preferred`` that are configured, else the default channels."""
        return tuple(channel for channel in preferred if channel in self.channels) or self.default_channels

    def _offer(self, alert: Alert, channels: Channels, metadata: dict[str, Any], source: str) -> Submission | None:
        wanted = self.default_channels if channels is None else tuple(AlertChannel(c) for c in channels)
        if self._running is None:
            state = "AlertManager is shut down" if self.enabled else "alerting is disabled"
            _logger.log(logging.WARNING if self.enabled else logging.DEBUG, "%s; alert not sent", state)
            return None
        submission = awaited(alert, wanted, metadata, source)
        self.intake.offer(submission)
        return submission

    def _refuse_on_loop(self) -> None:
        if self._loop is not None and self._loop.in_loop_thread():
            raise RuntimeError("this would block the alerting loop; use the async send_alert/send")

    # State and history ------------------------------------------------------------------------------
    def firing_alerts(self) -> list[Alert]:
        """Alerts some channel was told are firing and that have not resolved (restored ones included)."""
        loop = self._running
        return loop.call(loop.parts.router.firing) if loop is not None else []

    def get_alert_history(
        self,
        limit: int = 100,
        *,
        since: float | None = None,
        until: float | None = None,
        severity: Severity | Iterable[Severity] | None = None,
        status: DeliveryStatus | str | None = None,
        channel: AlertChannel | str | None = None,
    ) -> list[dict[str, Any]]:
        """The most recent ``limit`` alerts, oldest first, each with the original keys (title, message,
        severity, channels, timestamp, metadata) plus id, name, fingerprint, status, labels, annotations,
        trace_id, span_id, occurrences and ``delivery``: per channel its status and reason. ``since`` and
        ``until`` are Unix times; ``status`` an alert status (firing, resolved) or a delivery status."""
        query = HistoryQuery.of(limit, since, until, severity, status, channel)
        return self._read(lambda store: store.history.query(query), [])

    def get_alert_occurrences(self, alert_id: int) -> list[dict[str, Any]]:
        """The threat occurrences one history entry counts: each one's time, trace id, span id, confidence
        (``count`` > 1 for occurrences that were only tallied while the intake was full)."""
        return self._read(lambda store: store.history.occurrences(alert_id), [])

    @property
    def alert_history(self) -> list[dict[str, Any]]:
        """The original attribute: the last 1000 alerts."""
        return self.get_alert_history(1000)

    def clear_history(self) -> int:
        """Remove the history (notifications still being delivered continue); returns how many alerts."""
        return self._read(lambda store: store.clear_history(), 0)

    def delivery_status(self, receipt: AlertReceipt | int) -> dict[str, tuple[str, str]]:
        """Per channel, the current delivery status of one accepted alert and its reason."""
        alert_id = receipt.id if isinstance(receipt, AlertReceipt) else receipt
        return self._read(lambda store: store.history.notification_states(alert_id), {})

    async def wait_for_delivery(self, receipt: AlertReceipt | int, timeout: float = 30.0) -> dict[str, tuple[str, str]]:
        """Wait until no channel of the alert is pending or retrying (or ``timeout``); the final statuses."""
        deadline = time.monotonic() + timeout
        while True:
            states = await asyncio.to_thread(self.delivery_status, receipt)
            settled = all(status not in ACTIVE_DELIVERY_STATUSES for status, _ in states.values())
            if settled or time.monotonic() >= deadline:
                return states
            await asyncio.sleep(0.05)

    def _read(self, read: Callable[[Store], T], nothing: T) -> T:
        """``read(store)`` on the alerting loop; after shutdown, on a store of its own over the same file."""
        if self._loop is None:
            return nothing
        if not self._loop.closed:
            store = self._loop.store
            return self._loop.call(lambda: read(store))
        with reading(self._loop.store.path) as closed:
            return read(closed) if closed is not None else nothing

    # Silences ---------------------------------------------------------------------------------------
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
        silence = silence_from(matchers, duration_seconds, ends_at, starts_at, values.text(comment, 1024), time.time())
        loop = self._running
        if loop is None:
            raise RuntimeError("alerting is not running")
        loop.call(lambda: silencing.add(loop, silence))
        return silence

    def expire_silence(self, silence_id: str) -> bool:
        """End a silence now; returns whether it existed."""
        loop = self._running
        return loop is not None and loop.call(lambda: silencing.expire(loop, silence_id, time.time()))

    def silences(self) -> list[Silence]:
        """Silences that are active or not yet started."""
        loop = self._running
        return loop.call(lambda: silencing.current(loop, time.time())) if loop is not None else []
