"""Channel settings of the ``alerting`` section: where notifications go, and the credentials to get there.

Every endpoint is configurable (tests point them at 127.0.0.1). URLs that carry a token (Slack, Discord,
webhook URLs) and keys are :class:`Secret`: they never appear in logs, reprs, history or errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from nethical_otel.config._fields import Secret, hide_url_credentials, setting
from nethical_otel.semconv import AlertSeverity

PAGERDUTY_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
SEVERITY_NAMES = tuple(severity.value for severity in AlertSeverity)


@dataclass(frozen=True)
class SmtpConfig:
    host: str | None = setting(None, doc="SMTP server host; email is off without it")
    port: int = setting(587, minimum=1, maximum=65535, doc="587 for STARTTLS, 465 for implicit TLS")
    use_tls: bool = setting(True, doc="require STARTTLS (or implicit TLS on port 465)")
    implicit_tls: bool = setting(False, doc="TLS from the first byte (SMTPS); always on for port 465")
    ca_file: str | None = setting(None, doc="PEM file of CA certificates to trust instead of the system ones")
    allow_plaintext_auth: bool = setting(
        False, doc="allow AUTH without TLS; only accepted when host is a loopback address (local tests, relays)"
    )
    username: str | None = setting(None)
    password: Secret | None = setting(None)
    from_address: str | None = setting(None, key="from", doc="sender address")
    to: tuple[str, ...] = setting(default_factory=tuple, doc="recipient addresses")
    timeout_seconds: float = setting(15.0, minimum=0.1, maximum=300.0, doc="per SMTP command")


@dataclass(frozen=True)
class ChannelSettings:
    slack_webhook_url: Secret | None = setting(None, doc="Slack incoming webhook URL")
    slack_mentions: tuple[str, ...] = setting(
        default_factory=tuple,
        doc="Slack mentions put on alerts at or above mention_severity: <!here>, <!channel>, <@U…>, <!subteam^S…>",
    )
    discord_webhook_url: Secret | None = setting(None, doc="Discord webhook URL")
    discord_mention_roles: tuple[str, ...] = setting(
        default_factory=tuple, doc="Discord role ids pinged on alerts at or above mention_severity"
    )
    discord_mention_users: tuple[str, ...] = setting(
        default_factory=tuple, doc="Discord user ids pinged on alerts at or above mention_severity"
    )
    mention_severity: str = setting(
        AlertSeverity.CRITICAL.value,
        choices=SEVERITY_NAMES,
        doc="lowest severity of a firing alert that gets the configured mentions",
    )
    pagerduty_api_key: Secret | None = setting(None, doc="PagerDuty Events API v2 routing key (32 characters)")
    pagerduty_events_url: str = setting(PAGERDUTY_EVENTS_URL, url=True, doc="PagerDuty Events API v2 endpoint")
    pagerduty_source: str | None = setting(None, doc="PagerDuty payload.source; defaults to this host's name")
    webhook_url: Secret | None = setting(None, doc="generic webhook receiving an Alertmanager-v4-like JSON body")
    webhook_secret: Secret | None = setting(
        None, doc="Standard Webhooks signing secret: whsec_ + base64 of 24-64 random bytes (HMAC-SHA256)"
    )
    webhook_max_body_bytes: int = setting(
        262_144, minimum=4096, maximum=16 * 2**20, doc="webhook bodies above this get their values cut until they fit"
    )
    alertmanager_url: tuple[str, ...] = setting(
        default_factory=tuple,
        url=True,
        doc="Alertmanager base URL, e.g. http://alertmanager:9093, or a list of the peers of an Alertmanager"
        " cluster: each notification is posted to every peer (credentials in them are hidden)",
    )
    alertmanager_peer_attempts: int = setting(
        3,
        minimum=1,
        maximum=10,
        doc="attempts per Alertmanager peer within one delivery (0.5 s apart, doubling); a notification is"
        " delivered once one peer accepts it",
    )
    smtp: SmtpConfig = field(default_factory=SmtpConfig)
    request_timeout_seconds: float = setting(10.0, minimum=0.1, maximum=300.0, doc="per-request timeout")

    def __post_init__(self) -> None:
        if isinstance(self.alertmanager_url, str):  # one URL, as before clusters: a cluster of one
            object.__setattr__(self, "alertmanager_url", (self.alertmanager_url,))
        hide_url_credentials(self)
