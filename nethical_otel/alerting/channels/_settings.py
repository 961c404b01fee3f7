"""Checks of channel settings that the schema cannot express, reported as :class:`ConfigError`."""

from __future__ import annotations

import ipaddress
from typing import NoReturn
from urllib.parse import urlsplit

from nethical_otel.alerting.model import AlertSeverity
from nethical_otel.config import ConfigError, ConfigIssue

SECTION = "alerting"


def invalid(key: str, problem: str) -> NoReturn:
    """Refuse the setting ``alerting.<key>``; ``problem`` must not contain the value of a secret."""
    raise ConfigError([ConfigIssue(f"{SECTION}.{key}", problem)])


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def checked_url(key: str, url: str, *, carries_secret: bool) -> str:
    """``url`` if it is an absolute http(s) URL; https is required when the request carries a secret.

    Plain http is accepted for loopback hosts, where tests and local relays live. The URL itself is never
    echoed: for webhooks it is the credential.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in range
    except ValueError:
        invalid(key, "is not a valid URL")
    if parts.scheme not in ("http", "https") or not host:
        invalid(key, "must be an absolute http:// or https:// URL")
    if carries_secret and parts.scheme != "https" and not is_loopback(host):
        invalid(key, "must use https:// (plain http:// is only accepted for localhost)")
    return url


def severity(key: str, name: str) -> AlertSeverity:
    try:
        return AlertSeverity(name.lower())
    except ValueError:
        invalid(key, f"{name!r} is not one of {', '.join(s.value for s in AlertSeverity)}")
