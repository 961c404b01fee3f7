"""Reading a service's HTTP answer: delays it asks for, and error text safe to record."""

from __future__ import annotations

import base64
import json
import math
import re
import time
from collections.abc import Iterable, Mapping
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from nethical_otel.alerting.channels._base import Delivery, HttpResponse, Outcome
from nethical_otel.alerting.channels._text import fit, one_line

# A service may ask for any delay; past an hour the dispatcher's own backoff is the better judge.
MAX_RETRY_AFTER_SECONDS = 3600.0
_EXCERPT_LENGTH = 300
_CREDENTIAL_HEADER = re.compile(
    r"""((?:proxy-)?authorization|x-api-key|api-key|cookie|set-cookie)(["']?\s*[:=]\s*["']?)[^"'\r\n,;}]+""",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"\b(basic|bearer|token)\s+[A-Za-z0-9+/=._~-]{6,}", re.IGNORECASE)


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A response header by case-insensitive name."""
    wanted = name.lower()
    return next((value for key, value in headers.items() if key.lower() == wanted), None)


def seconds(value: Any) -> float | None:
    """A non-negative, finite delay in seconds (capped at an hour), or None."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        return None
    try:
        delay = float(value)
    except ValueError:
        return None
    return min(delay, MAX_RETRY_AFTER_SECONDS) if math.isfinite(delay) and delay >= 0 else None


def retry_after(headers: Mapping[str, str]) -> float | None:
    """``Retry-After`` as seconds: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    value = header(headers, "Retry-After")
    if value is None:
        return None
    delay = seconds(value.strip())
    if delay is not None:
        return delay
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return seconds(max(0.0, moment.timestamp() - time.time()))


def json_object(body: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(body)
    except ValueError:  # includes UnicodeDecodeError
        return None
    return parsed if isinstance(parsed, dict) else None


def excerpt(text: str | bytes, secrets: Iterable[str] = ()) -> str:
    """Service-provided text made fit for a delivery reason: one line, short, with any secret masked.

    Besides the channel's own secrets, anything that looks like a credential a service may echo back (an
    ``Authorization`` header, a ``Basic``/``Bearer`` token) is masked too.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8", errors="replace")
    for secret in sorted(secrets, key=len, reverse=True):
        if secret:
            text = text.replace(secret, "***")
    text = _CREDENTIAL_HEADER.sub(r"\1\2***", text)
    text = _TOKEN.sub(r"\1 ***", text)
    return fit(one_line(text).strip(), _EXCERPT_LENGTH)


def by_status(response: HttpResponse, what: str) -> Delivery:
    """The common classification of a non-success answer: 429 waits, 5xx retries, the rest is permanent.

    ``what`` describes the error for the reason (already safe to record).
    """
    status = response.status
    reason = f"HTTP {status}: {what}" if what else f"HTTP {status}"
    if status == 429:
        delay = retry_after(response.headers)
        if delay is not None:
            return Delivery(Outcome.RETRY_AFTER, reason, retry_after=delay, status=status)
        return Delivery(Outcome.RETRY, reason, status=status)
    if status >= 500:
        return Delivery(Outcome.RETRY, reason, status=status)
    return Delivery(Outcome.FAILED, reason, status=status)


def url_secrets(url: str) -> tuple[str, ...]:
    """The parts of a URL to mask in service-provided text: the URL, its token-like path segments, and the
    credentials of its userinfo (as written, percent-decoded, and as the ``Basic`` header sends them)."""
    parts = urlsplit(url)
    path = url.split("?", 1)[0].split("://", 1)[-1]
    found = [url, *(segment for segment in path.split("/")[1:] if len(segment) >= 16)]
    if parts.username is not None or parts.password is not None:
        user, password = unquote(parts.username or ""), unquote(parts.password or "")
        pair = f"{user}:{password}"
        found += [parts.netloc.rsplit("@", 1)[0], pair, password, base64.b64encode(pair.encode()).decode("ascii")]
    return tuple(secret for secret in found if len(secret) >= 3)
