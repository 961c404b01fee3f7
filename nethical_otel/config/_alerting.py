"""The ``alerting`` section: the original Nethical AlertManager keys, rules and delivery behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field

from nethical_otel.config._channels import ChannelSettings
from nethical_otel.config._fields import setting
from nethical_otel.semconv import AlertChannel, ThreatLevel

THREAT_LEVEL_CHOICES = tuple(level.value for level in ThreatLevel if level is not ThreatLevel.NONE)
CHANNEL_CHOICES = tuple(channel.value for channel in AlertChannel)


@dataclass(frozen=True)
class AlertRulesConfig:
    """Metric rules evaluated over the SDK's own metric stream (the original ``alerting.rules`` keys first)."""

    high_latency_threshold_ms: float = setting(1000.0, minimum=0.0, doc="P95 request latency above this fires")
    high_threat_rate_threshold: float = setting(
        0.5, minimum=0.0, doc="threats per request above this fires (0.5 = half of all requests)"
    )
    high_error_rate_threshold: float = setting(0.05, minimum=0.0, maximum=1.0, doc="errors per request above this")
    min_cache_hit_rate: float = setting(0.5, minimum=0.0, maximum=1.0, doc="cache hit ratio below this fires")
    enabled: bool = setting(True, doc="evaluate the metric rules")
    evaluation_interval_seconds: float = setting(5.0, minimum=0.05, maximum=3600.0, doc="how often rules run")
    window_seconds: float | None = setting(
        None,
        minimum=0.1,
        maximum=86400.0,
        doc="compute every rule's rates and P95 over this window instead of the rule's own (see the rules table)",
    )
    for_seconds: float | None = setting(
        None,
        minimum=0.0,
        maximum=86400.0,
        doc="every rule's condition must hold this long before it fires, instead of the rule's own `for`",
    )
    min_requests: int = setting(
        10, minimum=1, maximum=1_000_000, doc="rates need at least this many requests (or cache lookups) in the window"
    )


@dataclass(frozen=True)
class AlertingConfig(ChannelSettings):
    enabled: bool = setting(True)
    max_alerts_per_minute: int = setting(
        10, minimum=1, maximum=100_000, doc="notifications per minute per channel, and per alert fingerprint"
    )
    rules: AlertRulesConfig = field(default_factory=AlertRulesConfig)
    # Where alerts come from.
    threat_alert_level: str = setting(
        ThreatLevel.HIGH.value,
        choices=THREAT_LEVEL_CHOICES,
        doc="detector threats at or above this level raise an alert",
    )
    critical_threat_level: str = setting(
        ThreatLevel.CRITICAL.value,
        choices=THREAT_LEVEL_CHOICES,
        doc="threat alerts at or above this level are CRITICAL, else WARNING",
    )
    event_resolve_after_seconds: float = setting(
        300.0,
        minimum=1.0,
        maximum=86400.0,
        doc="threat alerts and send_alert alerts are events: they end this long after they happen",
    )
    default_channels: tuple[str, ...] = setting(
        default_factory=tuple,
        choices=CHANNEL_CHOICES,
        doc="channels for threat and rule alerts; empty means every configured channel",
    )
    # Grouping and flood control.
    group_wait_seconds: float = setting(
        0.0, minimum=0.0, maximum=3600.0, doc="collect a new non-critical group this long before its first notification"
    )
    repeat_interval_seconds: float = setting(
        60.0, minimum=0.0, maximum=86400.0, doc="at most one notification per alert group and channel this often"
    )
    queue_size: int = setting(
        10_000, minimum=10, maximum=10_000_000, doc="alerts waiting to be routed; beyond, occurrences are only counted"
    )
    max_groups_per_source: int = setting(
        20,
        minimum=1,
        maximum=100_000,
        doc="alert groups one detector, rule or the send_alert API may have open; occurrences of further groups"
        " are counted in one overflow group per source and severity (outcome overflow)",
    )
    group_window_seconds: float = setting(
        3600.0, minimum=1.0, maximum=30 * 86400.0, doc="a group stays open this long after its last occurrence"
    )
    max_alert_sources: int = setting(
        1000, minimum=1, maximum=1_000_000, doc="sources tracked at once; beyond, new sources share one overflow group"
    )
    source_share: float = setting(
        0.5,
        minimum=0.01,
        maximum=1.0,
        doc="share of a channel's max_alerts_per_minute one source may use, so a flood leaves room for the others",
    )
    critical_per_minute: int = setting(
        5,
        minimum=0,
        maximum=100_000,
        doc="CRITICAL alerts starting a group go out at once past the rate limits this often per source and"
        " channel; beyond, they wait for tokens (counted, never dropped)",
    )
    occurrences_per_alert: int = setting(
        100, minimum=1, maximum=1_000_000, doc="occurrences kept one by one per history entry; the rest are tallied"
    )
    store_buffer_size: int = setting(
        10_000,
        minimum=10,
        maximum=10_000_000,
        doc="alert occurrences held in memory while the store cannot be written; beyond, the oldest are dropped"
        " (outcome dropped, logged)",
    )
    # Delivery.
    retry_initial_delay_seconds: float = setting(0.5, minimum=0.01, maximum=600.0, doc="first retry backoff")
    retry_max_delay_seconds: float = setting(60.0, minimum=0.01, maximum=86400.0, doc="backoff cap")
    give_up_after_seconds: float = setting(
        86400.0, minimum=0.1, maximum=30 * 86400.0, doc="stop retrying a notification this long after it was accepted"
    )
    # Storage.
    storage_path: str | None = setting(
        None, doc='SQLite file of the outbox and history; default in the user data directory; ":memory:" for none'
    )
    history_retention_days: float = setting(
        30.0, minimum=0.0, maximum=36500.0, doc="history older than this is removed (0: only history_max_alerts)"
    )
    history_max_alerts: int = setting(100_000, minimum=100, maximum=100_000_000, doc="history keeps at most this many")
    # The embedded default channel.
    console: str = setting(
        "auto", choices=("auto", "on", "off"), doc="print notifications; auto: only when no other channel is configured"
    )
    console_stream: str = setting("stderr", choices=("stderr", "stdout"), doc="where the console channel prints")
