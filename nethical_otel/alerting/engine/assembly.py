"""Building the alerting parts from the ``alerting`` section: one place that knows how they fit together."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from opentelemetry.trace import Tracer

from nethical_otel.alerting._metrics import AlertMetrics
from nethical_otel.alerting.channels import Channel
from nethical_otel.alerting.delivery.dispatcher import Dispatcher
from nethical_otel.alerting.delivery.retry import RetryPolicy
from nethical_otel.alerting.engine.upkeep import Upkeep
from nethical_otel.alerting.engine.writer import Writer
from nethical_otel.alerting.grouping.entries import Grouping, ThreatPolicy
from nethical_otel.alerting.grouping.identity import Identities, IdentityPolicy
from nethical_otel.alerting.grouping.routing import Router, RoutingPolicy
from nethical_otel.alerting.model import AlertChannel
from nethical_otel.alerting.store import Store
from nethical_otel.config import AlertingConfig, load_config
from nethical_otel.metrics import Instruments


def alerting_config(config: Mapping[str, Any] | AlertingConfig | None) -> AlertingConfig:
    """The original ``AlertManager(config: dict)`` keys, validated like the ``alerting`` section."""
    if isinstance(config, AlertingConfig):
        return config
    return load_config({"alerting": dict(config or {})}).alerting


def default_channels(config: AlertingConfig, built: Mapping[AlertChannel, Channel]) -> tuple[AlertChannel, ...]:
    """``default_channels`` (names the schema checked), else every configured channel."""
    if config.default_channels:
        return tuple(AlertChannel(name) for name in config.default_channels)
    return tuple(built)


@dataclass(frozen=True)
class Parts:
    router: Router
    identities: Identities
    metrics: AlertMetrics
    dispatcher: Dispatcher
    writer: Writer
    upkeep: Upkeep


def assemble(
    config: AlertingConfig,
    store: Store,
    channels: Mapping[AlertChannel, Channel],
    defaults: tuple[AlertChannel, ...],
    instruments: Instruments | None,
    tracer: Tracer,
    on_failure: Callable[[BaseException], None],
) -> Parts:
    resend = {kind: float(c.resend_firing_every) for kind, c in channels.items() if c.resend_firing_every is not None}
    router = Router(
        RoutingPolicy(
            max_per_minute=config.max_alerts_per_minute,
            repeat_interval=config.repeat_interval_seconds,
            group_wait=config.group_wait_seconds,
            resend_every=resend,
            told_of_resolves=frozenset(kind for kind, channel in channels.items() if channel.delivers_resolved),
            source_per_minute=max(1, round(config.max_alerts_per_minute * config.source_share)),
            critical_per_minute=config.critical_per_minute,
        )
    )
    identities = Identities(
        IdentityPolicy(config.max_groups_per_source, config.group_window_seconds, config.max_alert_sources)
    )
    threats = ThreatPolicy(config.critical_threat_level, config.event_resolve_after_seconds, defaults)
    metrics = AlertMetrics(instruments)
    metrics.declare(channels)
    retries = RetryPolicy(
        config.retry_initial_delay_seconds, config.retry_max_delay_seconds, config.give_up_after_seconds
    )
    dispatcher = Dispatcher(store, channels, retries, metrics, tracer, on_failure)
    grouping = Grouping(threats, identities)
    writer = Writer(config, store, router, grouping, dispatcher, metrics, channels, defaults)
    upkeep = Upkeep(config, store, router, writer, dispatcher, metrics, channels)
    return Parts(router, identities, metrics, dispatcher, writer, upkeep)
