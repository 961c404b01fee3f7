"""A Discord webhook emulator (alerting-channels reference §3).

``POST /api/webhooks/{id}/{token}``: unknown id 404 (10015), wrong token 401 (50027); body not JSON 400
(50109); nothing to send 400 (50006); any limit broken 400 (50035 "Invalid Form Body" with the offending
path under ``errors``): content 2000, 10 embeds, title 256, description 4096, 25 fields, field name 256
and value 1024 (both required and not blank), footer 2048, author 256, 6000 across all embeds, colour
0..0xFFFFFF, ISO 8601 timestamp, well-formed ``allowed_mentions``. Lengths are UTF-16 code units, the
strictest reading of "characters". Success is 204, or 200 with a message object for ``?wait=true``.
A bucket per webhook (5 per 2 s by default) sets the ``X-RateLimit-*`` headers on every answer and
answers 429 with ``retry_after`` in float seconds.

Every accepted message records who it would ping (``@everyone``/``@here``, roles, users) given its
``content`` and ``allowed_mentions``; embeds never ping.
"""

from __future__ import annotations

import json
import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests._support.emulators._service import ServiceEmulator, TokenBucket, utf16_length
from tests._support.recorder import Recorded, Reply

CONTENT_LIMIT = 2000
MAX_EMBEDS = 10
MAX_FIELDS = 25
TOTAL_LIMIT = 6000
EMBED_LIMITS = {"title": 256, "description": 4096}
FIELD_LIMITS = {"name": 256, "value": 1024}
FOOTER_LIMIT = 2048
AUTHOR_LIMIT = 256
MAX_MENTION_IDS = 100

_ROLE_MENTION = re.compile(r"<@&(\d+)>")
_USER_MENTION = re.compile(r"<@!?(\d+)>")


@dataclass
class DiscordMessage:
    payload: dict[str, Any]
    pinged: list[str] = field(default_factory=list)  # "everyone", "here", "role:<id>", "user:<id>"

    @property
    def embed(self) -> dict[str, Any]:
        return dict(self.payload["embeds"][0])


def _json(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})})


class _FormErrors:
    """Discord's nested ``errors`` object: ``{"embeds": {"0": {"title": {"_errors": [...]}}}}``."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}

    def add(self, path: tuple[str | int, ...], code: str, message: str) -> None:
        node = self.tree
        for part in path:
            node = node.setdefault(str(part), {})
        node.setdefault("_errors", []).append({"code": code, "message": message})

    def text(self, path: tuple[str | int, ...], value: Any, limit: int, *, required: bool = False) -> int:
        """Check an optional (or required) string field; its length counted towards the 6000."""
        if value is None:
            if required:
                self.add(path, "BASE_TYPE_REQUIRED", "This field is required")
            return 0
        if not isinstance(value, str):
            self.add(path, "STRING_TYPE_CONVERT", "Could not interpret value as string.")
            return 0
        if required and not value.strip():
            self.add(path, "BASE_TYPE_REQUIRED", "This field is required")
        length = utf16_length(value)
        if length > limit:
            self.add(path, "BASE_TYPE_MAX_LENGTH", f"Must be {limit} or fewer in length.")
        return length


class DiscordEmulator(ServiceEmulator):
    def __init__(
        self,
        *,
        webhook_id: str = "1234567890123456789",
        token: str = "T0k3n-of-the-discord-webhook_that-must-never-leak-0123456789abcdefgh",
        limit: int = 5,
        per_seconds: float = 2.0,
        global_limit: bool = False,
    ) -> None:
        super().__init__()
        self.webhook_id, self.token = webhook_id, token
        self.bucket = TokenBucket(limit / per_seconds, limit)
        self.global_limit = global_limit
        self.messages: list[DiscordMessage] = []

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/api/webhooks/{self.webhook_id}/{self.token}"

    def serve(self, request: Recorded, now: float) -> Reply:
        parts = request.path.strip("/").split("/")
        if (
            request.method != "POST"
            or len(parts) != 4
            or parts[:2] != ["api", "webhooks"]
            or parts[2] != self.webhook_id
        ):
            return _json(404, {"message": "Unknown Webhook", "code": 10015})
        if parts[3] != self.token:
            return _json(401, {"message": "Invalid Webhook Token", "code": 50027})
        wait = self.bucket.take(now)
        headers = self._rate_headers(wait)
        if wait > 0:
            body = {
                "message": "You are being rate limited.",
                "retry_after": round(wait, 3),
                "global": self.global_limit,
            }
            headers["Retry-After"] = str(math.ceil(wait))
            if self.global_limit:
                headers["X-RateLimit-Global"] = "true"
            return _json(429, body, headers)
        try:
            payload = json.loads(request.body)
        except ValueError:
            return _json(400, {"message": "The request body contains invalid JSON.", "code": 50109}, headers)
        if not isinstance(payload, dict):
            return _json(400, {"message": "The request body contains invalid JSON.", "code": 50109}, headers)
        errors = self._validate(payload)
        if errors.tree:
            return _json(400, {"code": 50035, "message": "Invalid Form Body", "errors": errors.tree}, headers)
        if not any(payload.get(key) for key in ("content", "embeds", "components", "files", "poll")):
            return _json(400, {"message": "Cannot send an empty message", "code": 50006}, headers)
        self.messages.append(DiscordMessage(payload, self._pinged(payload)))
        if request.query.get("wait") == "true":
            message_id = str(int(time.time() * 1000) << 22)
            return _json(200, {"id": message_id, "channel_id": "1", **payload}, headers)
        return Reply(204, b"", headers)

    def _rate_headers(self, wait: float) -> dict[str, str]:
        reset_after = max(wait, (self.bucket.burst - self.bucket.remaining) / self.bucket.rate)
        return {
            "X-RateLimit-Limit": str(self.bucket.burst),
            "X-RateLimit-Remaining": str(self.bucket.remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": f"webhook-{self.webhook_id}",
            "X-RateLimit-Scope": "global" if self.global_limit else "user",
        }

    @staticmethod
    def _validate(payload: dict[str, Any]) -> _FormErrors:
        errors = _FormErrors()
        errors.text(("content",), payload.get("content"), CONTENT_LIMIT)
        embeds = payload.get("embeds") or []
        if not isinstance(embeds, list) or len(embeds) > MAX_EMBEDS:
            errors.add(("embeds",), "BASE_TYPE_BAD_LENGTH", f"Must be between 1 and {MAX_EMBEDS} in length.")
            embeds = []
        total = 0
        for index, embed in enumerate(embeds):
            path: tuple[str | int, ...] = ("embeds", index)
            if not isinstance(embed, dict):
                errors.add(path, "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
                continue
            for key, limit in EMBED_LIMITS.items():
                total += errors.text((*path, key), embed.get(key), limit)
            total += errors.text((*path, "footer", "text"), (embed.get("footer") or {}).get("text"), FOOTER_LIMIT)
            total += errors.text((*path, "author", "name"), (embed.get("author") or {}).get("name"), AUTHOR_LIMIT)
            colour = embed.get("color")
            if colour is not None and (not isinstance(colour, int) or not 0 <= colour <= 0xFFFFFF):
                errors.add((*path, "color"), "NUMBER_TYPE_MAX", "int value should be <= 16777215 and >= 0.")
            if "timestamp" in embed:
                try:
                    datetime.fromisoformat(str(embed["timestamp"]).replace("Z", "+00:00"))
                except ValueError:
                    errors.add((*path, "timestamp"), "DATE_TYPE_PARSE", "Could not parse timestamp.")
            fields = embed.get("fields") or []
            if not isinstance(fields, list) or len(fields) > MAX_FIELDS:
                errors.add((*path, "fields"), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_FIELDS} or fewer in length.")
                fields = []
            for number, item in enumerate(fields):
                if not isinstance(item, dict):
                    errors.add((*path, "fields", number), "DICT_TYPE_CONVERT", "Only dictionaries may be used")
                    continue
                for key, limit in FIELD_LIMITS.items():
                    total += errors.text((*path, "fields", number, key), item.get(key), limit, required=True)
        if total > TOTAL_LIMIT:
            errors.add(("embeds",), "MAX_EMBED_SIZE_EXCEEDED", f"Embed size exceeds maximum size of {TOTAL_LIMIT}")
        DiscordEmulator._validate_mentions(payload.get("allowed_mentions"), errors)
        return errors

    @staticmethod
    def _validate_mentions(allowed: Any, errors: _FormErrors) -> None:
        if allowed is None:
            return
        if not isinstance(allowed, dict):
            errors.add(("allowed_mentions",), "DICT_TYPE_CONVERT", "Only dictionaries may be used in a DictType")
            return
        parse = allowed.get("parse", [])
        if not isinstance(parse, list) or not set(parse) <= {"roles", "users", "everyone"}:
            errors.add(
                ("allowed_mentions", "parse"), "ENUM_TYPE_COERCE", "Value must be one of roles, users, everyone."
            )
            return
        for kind in ("roles", "users"):
            ids = allowed.get(kind, [])
            if ids and kind in parse:
                errors.add(("allowed_mentions",), "MENTION_PARSE_CONFLICT", f"{kind} in parse and {kind} ids conflict")
            if not isinstance(ids, list) or len(ids) > MAX_MENTION_IDS:
                errors.add(("allowed_mentions", kind), "BASE_TYPE_MAX_LENGTH", f"Must be {MAX_MENTION_IDS} or fewer.")

    @staticmethod
    def _pinged(payload: dict[str, Any]) -> list[str]:
        content = payload.get("content") or ""
        allowed = payload.get("allowed_mentions")
        # Without allowed_mentions Discord parses every mention in content.
        parse = {"roles", "users", "everyone"} if allowed is None else set(allowed.get("parse", []))
        roles = set(allowed.get("roles", [])) if allowed else set()
        users = set(allowed.get("users", [])) if allowed else set()
        pinged = [name for name in ("everyone", "here") if f"@{name}" in content and "everyone" in parse]
        pinged += [f"role:{r}" for r in _ROLE_MENTION.findall(content) if "roles" in parse or r in roles]
        pinged += [f"user:{u}" for u in _USER_MENTION.findall(content) if "users" in parse or u in users]
        return pinged
