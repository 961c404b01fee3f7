"""The ``alerting`` section: the original Nethical AlertManager keys plus delivery settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from nethical_otel.config._fields import Secret, setting


@dataclass(frozen=True)
class SmtpConfig:
    host: str | None = setting(None, doc="SMTP server host; email is off without it")
    port: int = setting(587, minimum=1, maximum=65535, doc="587 for STARTTLS, 465 for implicit TLS")
    use_tls: bool = setting(True, doc="require STARTTLS (or implicit TLS on port 465)")
    username: str | None = setting(None)
    password: Secret | None = setting(None)
    from_address: str | None = setting(None, key="from", doc="sender address")
    to: tuple[str, ...] = setting(default_factory=tuple, doc="recipient addresses")
    timeout_seconds: float = setting(15.0, minimum=0.1, maximum=300.0)


@dataclass(frozen=True)
class AlertRulesConfig:
    high_latency_threshold_ms: float = setting(1000.0, minimum=0.0, doc="P95 request latency above this fires")
    high_threat_rate_threshold: float = setting(
        0.5, minimum=0.0, doc="threats per request above this fires (0.5 = half of all requests)"
    )
    high_error_rate_threshold: float = setting(0.05, minimum=0.0, maximum=1.0, doc="errors per request above this")
    min_cache_hit_rate: float = setting(0.5, minimum=0.0, maximum=1.0, doc="cache hit ratio below this fires")


@dataclass(frozen=True)
class AlertingConfig:
    enabled: bool = setting(True)
    max_alerts_per_minute: int = setting(10, minimum=1, maximum=100_000)
    slack_webhook_url: Secret | None = setting(None)
    discord_webhook_url: Secret | None = setting(None)
    pagerduty_api_key: Secret | None = setting(None, doc="PagerDuty Events API v2 routing key")
    webhook_url: Secret | None = setting(None)
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    rules: AlertRulesConfig = field(default_factory=AlertRulesConfig)
