"""A Slack incoming-webhook emulator (alerting-channels reference §2).

``POST /services/{team}/{bot}/{secret}``: unknown webhook 404 ``no_service``, wrong secret 403
``invalid_token``; body not JSON 400 ``invalid_payload``; nothing to show 400 ``no_text``; more than 50
blocks or a section over 3000 characters 400 ``invalid_blocks``; too many attachments 400
``too_many_attachments``; malformed attachments 400 ``invalid_attachments``; success 200 ``ok`` as
``text/html``. A token bucket per webhook (1/s with a small burst by default) answers 429 with
``Retry-After`` and Slack's JSON body.

Slack never unescapes, so neither does the emulator: every accepted message records the ``<…>``
control sequences it carries (a mention or a link would render as one) and the limits Slack would
silently enforce by cutting text (``violations``), for the tests to assert on.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

from tests._support.emulators._service import ServiceEmulator, TokenBucket, utf16_length
from tests._support.recorder import Recorded, Reply

TEXT_LIMIT = 40_000  # Slack cuts top-level text beyond this
ATTACHMENT_TITLE_LIMIT = 1024  # Alertmanager's cap
ATTACHMENT_TEXT_LIMIT = 8000  # Slack cuts attachment text near this
MAX_BLOCKS = 50
SECTION_TEXT_LIMIT = 3000

_CONTROL_SEQUENCE = re.compile(r"<[^<>]*>")
_BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")
_TEXT_KEYS = ("text", "pretext", "title", "fallback", "footer", "author_name")


@dataclass
class SlackMessage:
    payload: dict[str, Any]
    control_sequences: list[tuple[str, str]] = field(default_factory=list)  # (where, "<!channel>")
    violations: list[str] = field(default_factory=list)

    @property
    def attachment(self) -> dict[str, Any]:
        return dict(self.payload["attachments"][0])


def _text_response(status: int, body: str) -> Reply:
    return Reply(status, body.encode(), {"Content-Type": "text/html"})


class SlackEmulator(ServiceEmulator):
    def __init__(
        self,
        *,
        secret: str = "s3cr3tW3bh00kT0k3nV4lu3x",
        team: str = "T0NETHICAL",
        bot: str = "B0ALERTS01",
        rate_per_second: float = 1.0,
        burst: int = 3,
        max_attachments: int = 100,
    ) -> None:
        super().__init__()
        self.secret, self.team, self.bot = secret, team, bot
        self.bucket = TokenBucket(rate_per_second, burst)
        self.max_attachments = max_attachments
        self.messages: list[SlackMessage] = []

    @property
    def webhook_url(self) -> str:
        return f"{self.url}/services/{self.team}/{self.bot}/{self.secret}"

    def answer_ok_false(self, error: str) -> None:
        """The next request gets a Web-API-style refusal: 200 with ``{"ok": false}``."""
        body = json.dumps({"ok": False, "error": error}).encode()
        self.fail_next(Reply(200, body, {"Content-Type": "application/json; charset=utf-8"}))

    def refuse_next(self, status: int, error: str) -> None:
        self.fail_next(_text_response(status, error))

    def serve(self, request: Recorded, now: float) -> Reply:
        parts = request.path.strip("/").split("/")
        if request.method != "POST" or len(parts) != 4 or parts[0] != "services" or parts[1:3] != [self.team, self.bot]:
            return _text_response(404, "no_service")
        if parts[3] != self.secret:
            return _text_response(403, "invalid_token")
        wait = self.bucket.take(now)
        if wait > 0:
            body = json.dumps({"retry_after": math.ceil(wait), "ok": False, "error": "rate_limited"}).encode()
            return Reply(429, body, {"Retry-After": str(math.ceil(wait)), "Content-Type": "application/json"})
        if not request.headers.get("Content-Type", "").startswith("application/json"):
            return _text_response(400, "invalid_payload")
        try:
            payload = json.loads(request.body)
        except ValueError:
            return _text_response(400, "invalid_payload")
        if not isinstance(payload, dict):
            return _text_response(400, "invalid_payload")
        error = self._refusal(payload)
        if error:
            return _text_response(400, error)
        self.messages.append(self._inspect(payload))
        return _text_response(200, "ok")

    def _refusal(self, payload: dict[str, Any]) -> str | None:
        text, blocks, attachments = payload.get("text"), payload.get("blocks"), payload.get("attachments")
        if not text and not blocks and not attachments:
            return "no_text"
        if blocks is not None:
            if not isinstance(blocks, list) or len(blocks) > MAX_BLOCKS:
                return "invalid_blocks"
            for block in blocks:
                section = block.get("text", {}) if isinstance(block, dict) else None
                if not isinstance(section, dict) or utf16_length(str(section.get("text", ""))) > SECTION_TEXT_LIMIT:
                    return "invalid_blocks"
        if attachments is not None:
            if not isinstance(attachments, list) or not all(isinstance(a, dict) for a in attachments):
                return "invalid_attachments"
            if len(attachments) > self.max_attachments:
                return "too_many_attachments"
            for attachment in attachments:
                fields = attachment.get("fields", [])
                if not isinstance(fields, list) or not all(
                    isinstance(f, dict) and isinstance(f.get("title", ""), str) and isinstance(f.get("value", ""), str)
                    for f in fields
                ):
                    return "invalid_attachments"
        return None

    @staticmethod
    def _inspect(payload: dict[str, Any]) -> SlackMessage:
        message = SlackMessage(payload)
        strings: list[tuple[str, str]] = []
        if isinstance(payload.get("text"), str):
            strings.append(("text", payload["text"]))
            if utf16_length(payload["text"]) > TEXT_LIMIT:
                message.violations.append(f"text over {TEXT_LIMIT}")
        for index, attachment in enumerate(payload.get("attachments") or []):
            where = f"attachments[{index}]"
            strings += [
                (f"{where}.{key}", attachment[key]) for key in _TEXT_KEYS if isinstance(attachment.get(key), str)
            ]
            for number, item in enumerate(attachment.get("fields", [])):
                strings += [(f"{where}.fields[{number}].{key}", item.get(key, "")) for key in ("title", "value")]
            if utf16_length(attachment.get("title", "")) > ATTACHMENT_TITLE_LIMIT:
                message.violations.append(f"{where}.title over {ATTACHMENT_TITLE_LIMIT}")
            if utf16_length(attachment.get("text", "")) > ATTACHMENT_TEXT_LIMIT:
                message.violations.append(f"{where}.text over {ATTACHMENT_TEXT_LIMIT}")
        for where, text in strings:
            message.control_sequences += [(where, sequence) for sequence in _CONTROL_SEQUENCE.findall(text)]
            if _BARE_AMPERSAND.search(text):
                message.violations.append(f"{where}: unescaped &")
        return message
