"""Rule texts: one template, rendered by Python in-process and as a Go template for Prometheus.

A template is prose with fields: ``{subject}`` (the value of the rule's ``by`` label), ``{value:UNIT}``
(the measured value), ``{threshold:UNIT}``, ``{window}`` and ``{for}``. UNIT is ``percent`` or
``duration``. The value is formatted exactly as Prometheus' ``humanizePercentage`` and
``humanizeDuration`` do, so both engines write the same words (the promtool tests compare them).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_FIELD = re.compile(r"\{(subject|value|threshold|window|for)(?::(percent|duration))?\}")
_GO_FUNCTIONS = {"percent": "humanizePercentage", "duration": "humanizeDuration"}
_SI_SMALL = ("m", "u", "n", "p", "f", "a", "z", "y")
_WORDS = ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second"))


def humanize_percentage(value: float) -> str:
    """Prometheus' ``humanizePercentage``: ``fmt.Sprintf("%.4g%%", v*100)``."""
    return f"{value * 100:.4g}%"


def humanize_duration(value: float) -> str:
    """Prometheus' ``humanizeDuration`` (template/template.go), for seconds."""
    if math.isnan(value) or math.isinf(value):
        return f"{value:.4g}"
    if value == 0:
        return "0s"
    if abs(value) >= 1:
        sign = "-" if value < 0 else ""
        whole = int(abs(value))
        seconds, minutes, hours, days = whole % 60, whole // 60 % 60, whole // 3600 % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{abs(value):.4g}s"
    prefix = ""
    for candidate in _SI_SMALL:
        if abs(value) >= 1:
            break
        prefix = candidate
        value *= 1000
    return f"{value:.4g}{prefix}s"


def formatted(value: float, unit: str | None) -> str:
    if unit == "percent":
        return humanize_percentage(value)
    if unit == "duration":
        return humanize_duration(value)
    return f"{value:.6g}"


def in_words(seconds: float) -> str:
    """A duration for prose: ``5 minutes``, ``1 hour``, ``1.5 seconds``."""
    for size, name in _WORDS:
        if seconds >= size and seconds % size == 0:
            count = int(seconds // size)
            return f"{count} {name}{'' if count == 1 else 's'}"
    return f"{seconds:g} seconds"


@dataclass(frozen=True)
class Context:
    """What a template's fixed fields say, for one rule under one configuration."""

    by: str
    threshold: float
    window: float | None
    hold_for: float

    def fixed(self, name: str, unit: str | None) -> str:
        if name == "threshold":
            return formatted(self.threshold, unit)
        if name == "window":
            return in_words(self.window or 0.0)
        return in_words(self.hold_for)


def render(template: str, context: Context, subject: str, value: float) -> str:
    """The text for one breach, in-process."""

    def field(match: re.Match[str]) -> str:
        name, unit = match.group(1), match.group(2)
        if name == "subject":
            return subject
        if name == "value":
            return formatted(value, unit)
        return context.fixed(name, unit)

    return _FIELD.sub(field, template)


def to_go(template: str, context: Context) -> str:
    """The same text as a Prometheus annotation template."""

    def field(match: re.Match[str]) -> str:
        name, unit = match.group(1), match.group(2)
        if name == "subject":
            return f"{{{{ $labels.{context.by} }}}}"
        if name == "value":
            function = _GO_FUNCTIONS.get(unit or "")
            return f"{{{{ $value | {function} }}}}" if function else "{{ $value }}"
        return context.fixed(name, unit)

    return _FIELD.sub(field, template)
