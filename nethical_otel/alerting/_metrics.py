"""The alerting pipeline's own metrics: outcomes by channel and severity, delivery latency, queue depth."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from nethical_otel import semconv
from nethical_otel.alerting.model import AlertChannel, AlertSeverity, DeliveryStatus
from nethical_otel.metrics import Family, Instruments, LabelCleaner, LocalBackend


class AlertMetrics:
    """Recorded on the pipeline's instruments (so they appear on /metrics), or on private ones."""

    def __init__(self, instruments: Instruments | None = None) -> None:
        if instruments is None:  # a standalone AlertManager: counted, but exported by nobody
            instruments = Instruments(LocalBackend(LabelCleaner(128), 2000))
        self._alerts = instruments.family(semconv.ALERTS)
        self._latency = instruments.family(semconv.ALERT_DELIVERY_LATENCY)
        self._depth = instruments.family(semconv.ALERT_QUEUE_DEPTH)
        self._instruments = instruments
        self._peer_up: Family | None = None  # only with an Alertmanager cluster or peer

    def declare(self, channels: Iterable[AlertChannel]) -> None:
        """Expose each channel's sent and failed counts (and delivery latency) at zero from the start, so the
        first delivery and the first failure show up in ``rate()``/``increase()`` (the "alert delivery
        failing" rule relies on it)."""
        for channel in channels:
            for severity in AlertSeverity:
                for outcome in (DeliveryStatus.SENT, DeliveryStatus.FAILED):
                    self._alerts.declare(channel.value, severity.value, outcome.value)
            self._latency.declare(channel.value)

    def outcome(self, channel: AlertChannel, severity: AlertSeverity, status: DeliveryStatus, count: int = 1) -> None:
        if status in semconv.ALERT_OUTCOMES:
            self._alerts.child(channel.value, severity.value, status.value).record(count)

    def dropped(self, count: int) -> None:
        """Threat occurrences the full intake could not even tally (channel and severity unknown)."""
        self._alerts.child(semconv.NO_CHANNEL, semconv.UNKNOWN, DeliveryStatus.DROPPED.value).record(count)

    def delivered(self, channel: AlertChannel, seconds: float) -> None:
        self._latency.child(channel.value).record(seconds)

    def peers(self, answers: Iterable[tuple[str, bool]]) -> None:
        """Whether each Alertmanager peer posted to accepted the notification (1) or not (0)."""
        for peer, accepted in answers:
            if self._peer_up is None:
                self._peer_up = self._instruments.family(semconv.ALERT_PEER_UP)
            self._peer_up.child(peer).record(1.0 if accepted else 0.0)

    def queue_depth(self, channels: Mapping[AlertChannel, object], active: Mapping[str, int]) -> None:
        for channel in channels:
            self._depth.child(channel.value).record(active.get(channel.value, 0))
