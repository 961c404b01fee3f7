"""Building blocks of the configuration schema: declared settings, secrets and URLs that may hold credentials."""

from __future__ import annotations

import dataclasses
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "****"


class Secret:
    """A credential (webhook URL, routing key, password) that never shows up in logs, reprs or errors."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself; only for the code that sends it to its destination."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')" if self._value else "Secret('')"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("Secret values cannot be pickled")


def redact_url(url: str) -> str:
    """``url`` for messages and reprs: its userinfo, query values and fragment masked, the rest kept.

    Credentials hide anywhere in a URL (``http://user:token@host``, ``?api_key=...``); what stays is
    enough to tell which endpoint a message is about.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed IPv6 bracket: nothing is shown past the scheme
        scheme, separator, _ = url.partition("://")
        return f"{scheme}://{MASK}" if separator else MASK
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{MASK}@{netloc.rpartition('@')[2]}"
    query = "&".join(
        f"{name}={MASK}" if separator else name
        for name, separator, _ in (item.partition("=") for item in parts.query.split("&"))
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query if parts.query else "", MASK if parts.fragment else ""))


class Url(str):
    """A URL setting. It is the string it holds wherever a URL is used; its ``repr`` (and so the
    ``repr`` of every config section) shows it with credentials masked, see :func:`redact_url`."""

    __slots__ = ()

    @property
    def redacted(self) -> str:
        return redact_url(self)

    def __repr__(self) -> str:
        return repr(redact_url(self))


def hide_url_credentials(section: Any) -> None:
    """``__post_init__`` of sections with URL settings: plain strings become :class:`Url`, however the
    section was built (loader, constructor, ``dataclasses.replace``)."""
    for field in dataclasses.fields(section):
        if field.metadata.get("url"):
            value = getattr(section, field.name)
            if isinstance(value, str) and not isinstance(value, Url):
                object.__setattr__(section, field.name, Url(value))
            elif isinstance(value, tuple):  # a list of URLs (the peers of a cluster)
                object.__setattr__(section, field.name, tuple(Url(item) for item in value))


def setting(
    default: Any = dataclasses.MISSING,
    *,
    default_factory: Any = dataclasses.MISSING,
    minimum: float | None = None,
    maximum: float | None = None,
    choices: tuple[str, ...] | None = None,
    key: str | None = None,
    url: bool = False,
    doc: str = "",
) -> Any:
    """A config field with its validation rules, read by the loader.

    ``key`` is the YAML key when it differs from the field name (``from`` is a Python keyword).
    ``url``: an absolute http(s) URL whose credentials are hidden (the section calls
    :func:`hide_url_credentials` in ``__post_init__``).
    """
    metadata = {"minimum": minimum, "maximum": maximum, "choices": choices, "key": key, "url": url, "doc": doc}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)
