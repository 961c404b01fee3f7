"""Silences: Alertmanager-style label matchers with a time window; a silenced occurrence is recorded, not sent."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from nethical_otel.alerting.model import Alert

_OPERATORS = ("=", "!=", "=~", "!~")


@dataclass(frozen=True)
class Matcher:
    """A label matcher as in Alertmanager: ``=``, ``!=``, ``=~`` and ``!~`` (regexes match the whole value)."""

    name: str
    value: str
    operator: str = "="

    def __post_init__(self) -> None:
        if self.operator not in _OPERATORS:
            raise ValueError(f"matcher operator must be one of {', '.join(_OPERATORS)}, not {self.operator!r}")
        if self.operator in ("=~", "!~"):
            try:
                re.compile(self.value)
            except re.error as error:
                raise ValueError(f"matcher {self.name!r}: invalid regular expression: {error}") from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.name, "")  # a missing label matches as empty, as in Alertmanager
        if self.operator == "=":
            return actual == self.value
        if self.operator == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.operator == "=~" else not found

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "operator": self.operator, "value": self.value}


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: float  # Unix seconds
    ends_at: float
    comment: str = ""
    created_at: float = 0.0

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(matcher.matches(labels) for matcher in self.matchers)

    def to_dict(self) -> dict[str, object]:
        return {
            "id": self.id,
            "matchers": [m.to_dict() for m in self.matchers],
            "starts_at": self.starts_at,
            "ends_at": self.ends_at,
            "comment": self.comment,
            "created_at": self.created_at,
        }


def matchers_from(spec: Mapping[str, str] | Iterable[Matcher | tuple[str, str, str]]) -> tuple[Matcher, ...]:
    """Matchers from ``{"label": "value"}`` (equality) or from Matcher / ``(name, operator, value)`` items."""
    if isinstance(spec, Mapping):
        found = tuple(Matcher(str(name), str(value)) for name, value in spec.items())
    else:
        found = tuple(item if isinstance(item, Matcher) else Matcher(item[0], item[2], item[1]) for item in spec)
    if not found:
        raise ValueError("a silence needs at least one matcher")
    return found


def new_silence(
    matchers: tuple[Matcher, ...], starts_at: float, ends_at: float, comment: str, created_at: float
) -> Silence:
    if ends_at <= starts_at:
        raise ValueError("a silence must end after it starts")
    return Silence(uuid.uuid4().hex, matchers, starts_at, ends_at, comment, created_at)


def silence_from(
    spec: Mapping[str, str] | Iterable[Matcher | tuple[str, str, str]],
    duration_seconds: float | None,
    ends_at: float | None,
    starts_at: float | None,
    comment: str,
    now: float,
) -> Silence:
    """A silence from the arguments of ``add_silence``: matchers, and an end or a duration."""
    start = now if starts_at is None else starts_at
    if ends_at is None:
        if duration_seconds is None:
            raise ValueError("add_silence needs duration_seconds or ends_at")
        ends_at = start + duration_seconds
    return new_silence(matchers_from(spec), start, ends_at, comment, now)


def match_labels(alert: Alert) -> dict[str, str]:
    """The labels silences match on: the alert's own, plus ``alertname`` and ``severity``."""
    return {**alert.labels, "alertname": alert.name, "severity": alert.severity.value}
