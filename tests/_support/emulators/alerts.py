"""Alerts and notifications for channel tests, and the hostile strings every channel must survive."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping

import aiohttp

from nethical_otel.alerting.channels._base import Channel, Delivery
from nethical_otel.alerting.model import Alert, AlertChannel, AlertSeverity, AlertStatus, Notification

# Attacker-controlled text, as a detector's threat category, a title or a metadata value might carry it.
HOSTILE = {
    "slack_control": "<!channel> <!here> <!everyone> <@U0123ABCD> <!subteam^S0123|sec>",
    "disguised_link": "<https://evil.example/login|https://bank.example> [bank.example](https://evil.example)",
    "discord_mentions": "@everyone @here <@&111122223333444455> <@999988887777666655> ||hidden||",
    "crlf_bcc": "Subject line\r\nBcc: victim@example.com\r\nX-Evil: 1\n\nforged body",
    "html_script": "<script>alert(1)</script><img src=x onerror=alert(2)> & \"quoted\" 'single'",
    "controls": "nul\x00 bell\x07 esc\x1b[31m del\x7f nel\x85 ls\u2028 ps\u2029 end",
    "non_bmp": "\U0001f525\U0001f6e1\ufe0f \U0001d518\U0001d52b math \u202ereversed\u202c \u4e2d\u6587",
    "lone_surrogate": "broken \ud800 half",
    "huge": "A" * 100_000,
    "huge_non_bmp": "🔥" * 50_000,
}


def make_alert(
    *,
    name: str = "high_threat",
    title: str = "Prompt injection detected",
    message: str = "Detector prompt_injection reported a HIGH threat.",
    severity: AlertSeverity = AlertSeverity.CRITICAL,
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
    status: AlertStatus = AlertStatus.FIRING,
    starts_at: float | None = None,
    ends_at: float | None = None,
    trace_id: str | None = "0af7651916cd43dd8448eb211c80319c",
    span_id: str | None = "b7ad6b7169203331",
) -> Alert:
    return Alert(
        name=name,
        title=title,
        message=message,
        severity=severity,
        labels={"detector_type": "prompt_injection", "threat_level": "HIGH"} if labels is None else labels,
        annotations={} if annotations is None else annotations,
        status=status,
        starts_at=time.time() - 5 if starts_at is None else starts_at,
        ends_at=ends_at,
        trace_id=trace_id,
        span_id=span_id,
    )


def hostile_alert(text: str, **overrides: object) -> Alert:
    """An alert with ``text`` in its title, message, a label name and value, and an annotation."""
    fields: dict[str, object] = {
        "title": text,
        "message": text,
        "labels": {"threat_category": text, text[:50]: "x"},
        "annotations": {"note": text},
        **overrides,
    }
    return make_alert(**fields)  # type: ignore[arg-type]


def make_notification(alert: Alert, channel: AlertChannel, *, occurrences: int = 1, key: str = "n-1") -> Notification:
    now = time.time()
    return Notification(
        alert=alert,
        channel=channel,
        idempotency_key=f"{alert.fingerprint}:{channel.value}:{key}",
        occurrences=occurrences,
        first_seen=alert.starts_at,
        last_seen=now,
    )


def resolved(alert: Alert) -> Alert:
    return dataclasses.replace(alert, status=AlertStatus.RESOLVED, ends_at=time.time())


async def deliver(channel: Channel, notification: Notification) -> Delivery:
    async with aiohttp.ClientSession() as session:
        return await channel.deliver(notification, session)
