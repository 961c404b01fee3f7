"""The ``alerting`` section: the original Nethical AlertManager keys, rules and delivery behaviour."""

from __future__ import annotations

from dataclasses import dataclass, field

from nethical_otel.config._channels import ChannelSettings
from nethical_otel.config._fields import setting


@dataclass(frozen=True)
class AlertRulesConfig:
    high_latency_threshold_ms: float = setting(1000.0, minimum=0.0, doc="P95 request latency above this fires")
    high_threat_rate_threshold: float = setting(
        0.5, minimum=0.0, doc="threats per request above this fires (0.5 = half of all requests)"
    )
    high_error_rate_threshold: float = setting(0.05, minimum=0.0, maximum=1.0, doc="errors per request above this")
    min_cache_hit_rate: float = setting(0.5, minimum=0.0, maximum=1.0, doc="cache hit ratio below this fires")


@dataclass(frozen=True)
class AlertingConfig(ChannelSettings):
    enabled: bool = setting(True)
    max_alerts_per_minute: int = setting(10, minimum=1, maximum=100_000)
    rules: AlertRulesConfig = field(default_factory=AlertRulesConfig)
