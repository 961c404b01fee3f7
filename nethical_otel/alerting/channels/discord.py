"""Discord webhook: one embed per notification, within every documented embed limit, pinging nobody by default.

``allowed_mentions: {"parse": []}`` is always sent, so no ``@everyone``, ``@here``, role or user mention
in any text can ping; only the ids in ``discord_mention_roles``/``discord_mention_users`` are allowed, and
only for alerts at or above ``mention_severity``. Untrusted text is markdown-escaped, so a masked link
``[innocent](https://evil)`` or a spoiler cannot be smuggled into the embed. Limits (title 256,
description 4096, 25 fields, field name 256, value 1024, footer 2048, 6000 in all) are met by cutting
with "…"; the description and the fields share what the title and footer leave of the 6000.
"""

from __future__ import annotations

import json
import re
from typing import Any

from nethical_otel.alerting.channels import _summary
from nethical_otel.alerting.channels._base import Delivery, HttpChannel, HttpRequest, HttpResponse, Outcome
from nethical_otel.alerting.channels._http import by_status, excerpt, header, json_object, seconds, url_secrets
from nethical_otel.alerting.channels._settings import checked_url, invalid, severity
from nethical_otel.alerting.channels._text import fit, one_line, safe_notification, units, valid_unicode
from nethical_otel.alerting.model import AlertChannel, AlertSeverity, AlertStatus, Notification
from nethical_otel.config import ChannelSettings, Secret

CONTENT_LIMIT = 2000
TITLE_LIMIT = 256
DESCRIPTION_LIMIT = 4096
MAX_FIELDS = 25
FIELD_NAME_LIMIT = 256
FIELD_VALUE_LIMIT = 1024
FOOTER_LIMIT = 2048
TOTAL_LIMIT = 6000
MAX_MENTION_IDS = 100  # Discord's cap per allowed_mentions id list

_BLANK = "\u200b"  # Discord refuses empty or blank field names and values; a zero-width space is neither
_MIN_CUT_VALUE = 16  # a field value cut shorter than this says nothing: leave the field out instead
_OMITTED_RESERVE = 40  # room kept for the "N more not shown" field

COLOURS = {
    AlertSeverity.CRITICAL: 0x992D22,  # Alertmanager's firing red
    AlertSeverity.WARNING: 0xE67E22,
    AlertSeverity.INFO: 0x3498DB,
}
RESOLVED_COLOUR = 0x2ECC71  # Alertmanager's resolved green

_MARKDOWN = re.compile(r"([\\*_~`|\[\]<>#\-])")
_SNOWFLAKE = re.compile(r"[0-9]{1,20}")


def escape(text: str) -> str:
    """Markdown special characters backslash-escaped: text shows as written, links and mentions stay inert."""
    return _MARKDOWN.sub(r"\\\1", valid_unicode(text))


def _nonblank(text: str) -> str:
    return text if text.strip() else _BLANK


class DiscordChannel(HttpChannel):
    kind = AlertChannel.DISCORD

    def __init__(
        self,
        webhook_url: Secret,
        *,
        mention_roles: tuple[str, ...] = (),
        mention_users: tuple[str, ...] = (),
        mention_severity: AlertSeverity = AlertSeverity.CRITICAL,
        timeout_seconds: float = 10.0,
    ) -> None:
        self._url = webhook_url
        self._roles = mention_roles
        self._users = mention_users
        self._mention_severity = mention_severity
        self.timeout_seconds = timeout_seconds

    def render(self, notification: Notification) -> HttpRequest:
        body = json.dumps(self.message(notification), ensure_ascii=False).encode("utf-8")
        return HttpRequest(self._url.reveal(), body, {"Content-Type": "application/json"})

    def message(self, notification: Notification) -> dict[str, Any]:
        notification = safe_notification(notification)
        message: dict[str, Any] = {"embeds": [self._embed(notification)], "allowed_mentions": {"parse": []}}
        if (self._roles or self._users) and _summary.wants_mentions(notification, self._mention_severity):
            pings = [f"<@&{role}>" for role in self._roles] + [f"<@{user}>" for user in self._users]
            message["content"] = " ".join(pings)
            message["allowed_mentions"] = {"parse": [], "roles": list(self._roles), "users": list(self._users)}
        return message

    def _embed(self, notification: Notification) -> dict[str, Any]:
        alert = notification.alert
        title = fit(one_line(_summary.headline(notification)), TITLE_LIMIT, escape)
        footer = fit(one_line(_summary.footer(notification)), FOOTER_LIMIT)  # footers render no markdown
        budget = TOTAL_LIMIT - units(title) - units(footer)
        # The message gets at least half of what is left when labels would crowd it out.
        wanted = min(units(escape(alert.message[:DESCRIPTION_LIMIT])) + 64, DESCRIPTION_LIMIT)
        fields = self._fields(_summary.facts(notification), budget - min(wanted, budget // 2))
        used_by_fields = sum(units(field["name"]) + units(field["value"]) for field in fields)
        description = self._description(notification, min(DESCRIPTION_LIMIT, budget - used_by_fields))
        embed: dict[str, Any] = {
            "title": title,
            "color": RESOLVED_COLOUR if alert.status is AlertStatus.RESOLVED else COLOURS[alert.severity],
            "footer": {"text": footer},
            "timestamp": _summary.iso8601(_summary.event_time(notification)),
        }
        if description:
            embed["description"] = description
        if fields:
            embed["fields"] = fields
        return embed

    @staticmethod
    def _description(notification: Notification, limit: int) -> str:
        note = _summary.occurrence_note(notification)
        suffix = f"\n\n*{note}*" if note else ""
        if units(suffix) * 4 > limit:  # too little room: the message comes first
            suffix = ""
        text = fit(notification.alert.message, limit - units(suffix), escape) if notification.alert.message else ""
        return (text + suffix).strip()

    @staticmethod
    def _fields(facts: list[tuple[str, str]], room: int) -> list[dict[str, Any]]:
        fields: list[dict[str, Any]] = []
        used = 0
        for index, (raw_name, raw_value) in enumerate(facts):
            more_after = index + 1 < len(facts)
            if len(fields) == MAX_FIELDS - 1 and more_after:
                break  # the last slot says how many were left out
            available = room - used - (_OMITTED_RESERVE if more_after else 0)
            name = _nonblank(fit(one_line(raw_name), FIELD_NAME_LIMIT, escape))
            value = _nonblank(fit(raw_value, FIELD_VALUE_LIMIT, escape))
            cut = units(name) + units(value) > available
            if cut:
                if available - units(name) < _MIN_CUT_VALUE:
                    break
                value = _nonblank(fit(raw_value, available - units(name), escape))
            fields.append({"name": name, "value": value, "inline": units(value) <= 40})
            used += units(name) + units(value)
            if cut:
                break
        omitted = len(facts) - len(fields)
        if omitted:
            marker = f"{omitted} more not shown"
            if used + 1 + units(marker) <= room:
                fields.append({"name": "…", "value": marker, "inline": False})
        return fields

    def classify(self, response: HttpResponse) -> Delivery:
        if 200 <= response.status < 300:
            return Delivery(Outcome.SENT, status=response.status)
        answer = json_object(response.body) or {}
        if response.status == 429:
            # Discord's body carries the precise delay (float seconds); the headers are the fallback.
            delay = seconds(answer.get("retry_after"))
            if delay is None and header(response.headers, "Retry-After") is None:
                delay = seconds(header(response.headers, "X-RateLimit-Reset-After"))
            if delay is not None:
                scope = "global " if answer.get("global") is True else ""
                return Delivery(Outcome.RETRY_AFTER, f"HTTP 429: {scope}rate limited", retry_after=delay, status=429)
        return by_status(response, self._describe(answer, response.body))

    def _describe(self, answer: dict[str, Any], body: bytes) -> str:
        if not answer:
            return excerpt(body, url_secrets(self._url.reveal()))
        parts = [str(answer.get("message", "")), f"(code {answer['code']})" if "code" in answer else ""]
        if "errors" in answer:
            parts.append(json.dumps(answer["errors"], ensure_ascii=False, separators=(",", ":")))
        return excerpt(" ".join(part for part in parts if part), url_secrets(self._url.reveal()))


def _mention_ids(key: str, ids: tuple[str, ...]) -> tuple[str, ...]:
    if len(ids) > MAX_MENTION_IDS:
        invalid(key, f"at most {MAX_MENTION_IDS} ids (Discord's limit), got {len(ids)}")
    for index, value in enumerate(ids):
        if not _SNOWFLAKE.fullmatch(value):
            invalid(f"{key}[{index}]", f"{value[:40]!r} is not a Discord id (digits only)")
    return ids


def from_settings(settings: ChannelSettings) -> DiscordChannel | None:
    """The Discord channel, or None without ``alerting.discord_webhook_url``."""
    if not settings.discord_webhook_url:
        return None
    checked_url("discord_webhook_url", settings.discord_webhook_url.reveal(), carries_secret=True)
    return DiscordChannel(
        settings.discord_webhook_url,
        mention_roles=_mention_ids("discord_mention_roles", settings.discord_mention_roles),
        mention_users=_mention_ids("discord_mention_users", settings.discord_mention_users),
        mention_severity=severity("mention_severity", settings.mention_severity),
        timeout_seconds=settings.request_timeout_seconds,
    )
