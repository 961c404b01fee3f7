"""Slack incoming webhook: one attachment per notification, coloured by severity, with the labels as fields.

Every untrusted string has ``&``, ``<`` and ``>`` escaped (Slack's only control characters), so a title
carrying ``<!channel>`` or ``<https://evil|innocent>`` shows as text instead of pinging or spoofing a link.
Deliberate mentions come only from the ``slack_mentions`` setting. Lengths stay under Slack's limits:
attachment title 1024 (as Alertmanager), text 7000 (Slack cuts attachment text near 8000), at most 20
fields.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nethical_otel.alerting.channels import _summary
from nethical_otel.alerting.channels._base import Delivery, HttpChannel, HttpRequest, HttpResponse, Outcome
from nethical_otel.alerting.channels._http import by_status, excerpt, header, json_object, seconds, url_secrets
from nethical_otel.alerting.channels._settings import checked_url, invalid, severity
from nethical_otel.alerting.channels._text import fit, safe_notification, valid_unicode
from nethical_otel.alerting.model import AlertChannel, AlertSeverity, Notification
from nethical_otel.config import ChannelSettings, Secret

TITLE_LIMIT = 1024
TEXT_LIMIT = 7000
FIELD_TITLE_LIMIT = 200
FIELD_VALUE_LIMIT = 1000
MAX_FIELDS = 20
FOOTER_LIMIT = 300
SHORT_FIELD = 40  # values up to this long are shown two per row

# The mention forms Slack documents; anything else in slack_mentions is refused at configuration time.
_MENTION = re.compile(r"<!here>|<!channel>|<!everyone>|<@[UW][A-Z0-9]{2,20}>|<!subteam\^S[A-Z0-9]{2,20}>")


def escape(text: str) -> str:
    """Slack's escaping: ``&``, ``<`` and ``>`` become entities; nothing else is touched."""
    return valid_unicode(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class SlackChannel(HttpChannel):
    kind = AlertChannel.SLACK
    delivers_resolved = False  # Alertmanager's send_resolved default for Slack

    def __init__(
        self,
        webhook_url: Secret,
        *,
        mentions: tuple[str, ...] = (),
        mention_severity: AlertSeverity = AlertSeverity.CRITICAL,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._url = webhook_url
        self._mentions = mentions
        self._mention_severity = mention_severity
        self.timeout_seconds = timeout_seconds

    def render(self, notification: Notification) -> HttpRequest:
        body = json.dumps(self.message(notification), ensure_ascii=False).encode("utf-8")
        return HttpRequest(self._url.reveal(), body, {"Content-Type": "application/json; charset=utf-8"})

    def message(self, notification: Notification) -> dict[str, Any]:
        """The JSON message: one legacy attachment, as Alertmanager and Grafana send."""
        notification = safe_notification(notification)
        alert = notification.alert
        note = _summary.occurrence_note(notification)
        suffix = f"\n_{note}_" if note else ""  # the message is cut, never the count it stands for
        text = fit(alert.message, TEXT_LIMIT - len(suffix), escape) + suffix
        title = fit(_summary.headline(notification), TITLE_LIMIT, escape)
        attachment: dict[str, Any] = {
            "color": _summary.colour(notification),
            "fallback": title,
            "title": title,
            "text": text,
            "fields": self._fields(notification),
            "footer": fit(_summary.footer(notification), FOOTER_LIMIT, escape),
            "ts": int(_summary.event_time(notification)),
            "mrkdwn_in": ["text"],
        }
        if self._mentions and _summary.wants_mentions(notification, self._mention_severity):
            attachment["pretext"] = " ".join(self._mentions)
            attachment["mrkdwn_in"].append("pretext")
        return {"attachments": [attachment]}

    def _fields(self, notification: Notification) -> list[dict[str, Any]]:
        facts = _summary.facts(notification)
        shown = facts if len(facts) <= MAX_FIELDS else facts[: MAX_FIELDS - 1]
        fields = []
        for name, raw in shown:
            value = fit(raw, FIELD_VALUE_LIMIT, escape)
            fields.append(
                {"title": fit(name, FIELD_TITLE_LIMIT, escape), "value": value, "short": len(value) <= SHORT_FIELD}
            )
        if len(shown) < len(facts):
            fields.append({"title": "…", "value": f"{len(facts) - len(shown)} more not shown", "short": False})
        return fields

    def classify(self, response: HttpResponse) -> Delivery:
        content_type = header(response.headers, "Content-Type") or ""
        answer = json_object(response.body) if content_type.startswith("application/json") else None
        if response.status == 200:
            if answer is not None:  # Web API style: {"ok": false, "error": "..."} is permanent
                if answer.get("ok") is True:
                    return Delivery(Outcome.SENT, status=200)
                return Delivery(Outcome.FAILED, f"Slack refused: {self._excerpt(answer.get('error'))}", status=200)
            if response.body.strip() == b"ok":
                return Delivery(Outcome.SENT, status=200)
            return Delivery(Outcome.FAILED, f"unexpected answer: {self._excerpt(response.body)}", status=200)
        if response.status == 429 and header(response.headers, "Retry-After") is None and answer is not None:
            # Slack sends the header; the body's retry_after is the fallback.
            delay = seconds(answer.get("retry_after"))
            if delay is not None:
                return Delivery(Outcome.RETRY_AFTER, "HTTP 429: rate limited", retry_after=delay, status=429)
        error = answer.get("error") if answer is not None else response.body
        return by_status(response, self._excerpt(error))

    def _excerpt(self, text: object) -> str:
        return excerpt(text if isinstance(text, (str, bytes)) else str(text), url_secrets(self._url.reveal()))


def from_settings(settings: ChannelSettings) -> SlackChannel | None:
    """The Slack channel, or None without ``alerting.slack_webhook_url``."""
    if not settings.slack_webhook_url:
        return None
    checked_url("slack_webhook_url", settings.slack_webhook_url.reveal(), carries_secret=True)
    for index, mention in enumerate(settings.slack_mentions):
        if not _MENTION.fullmatch(mention):
            invalid(
                f"slack_mentions[{index}]",
                f"{mention[:40]!r} is not a Slack mention (<!here>, <!channel>, <@U…>, <!subteam^S…>)",
            )
    return SlackChannel(
        settings.slack_webhook_url,
        mentions=settings.slack_mentions,
        mention_severity=severity("mention_severity", settings.mention_severity),
        timeout_seconds=settings.request_timeout_seconds,
    )
