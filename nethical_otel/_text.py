"""Making attacker-shaped strings safe for where they are going: one policy, one function.

Threat categories come out of model JSON and alert titles quote prompts, so any string nethical_otel
records may be hostile. :func:`clean` turns any value into text that cannot break its destination:

* invalid Unicode (lone or reversed surrogates, as ``json.loads`` and ``surrogateescape`` produce) becomes
  U+FFFD, so every output encodes as UTF-8: a properly ordered pair is joined into its character;
* C0 and C1 controls, DEL and the Unicode line and paragraph separators go: removed from metric labels and
  span attributes, replaced by a space on alert lines and terminal lines; a body keeps its newlines and tabs;
* the bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) go everywhere: they let a string
  display as something other than what it is ("Trojan Source", CVE-2021-42574);
* the length is cut, in code points, with an ellipsis on alert text (a label is cut bare, as it is an
  identity, not prose).

Channel-specific escaping (Slack's ``&<>``, HTML, MIME headers) stays with each channel; this module makes
the text safe to carry.
"""

from __future__ import annotations

import enum
import re

__all__ = [
    "ELLIPSIS",
    "UNPRINTABLE",
    "Destination",
    "as_text",
    "clean",
    "terminal_json",
    "terminal_lines",
    "valid_unicode",
]

ELLIPSIS = "…"
UNPRINTABLE = "<unprintable>"

_SURROGATE = re.compile("[\ud800-\udfff]")
_BIDI = "\u202a-\u202e\u2066-\u2069"
# Everything that can break a line or steer a terminal: C0, DEL, C1 (U+009B is the 8-bit CSI), the
# Unicode separators, and the bidi controls.
_LINE_UNSAFE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
# In a body, LF and TAB are text; CR was normalised to LF before this applies.
_BODY_UNSAFE = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_CRLF = re.compile("\r\n?")
# What JSON leaves raw (ensure_ascii=False) that a terminal would act on or cannot print.
_JSON_RAW_UNSAFE = re.compile(f"[\x7f-\x9f\u2028\u2029{_BIDI}\ud800-\udfff]")


class Destination(enum.Enum):
    """Where a string is going; each has its own rule for unsafe characters."""

    LABEL = "label"  # a metric label value: unsafe characters removed, trimmed, never empty
    ATTRIBUTE = "attribute"  # a span attribute value: unsafe characters removed
    LINE = "line"  # one line of alert text (title, alert label, annotation, header): unsafe → space
    BODY = "body"  # alert message body: newlines kept (CRLF → LF), other unsafe characters → U+FFFD
    TERMINAL = "terminal"  # a console or CLI line: as LINE


_REPLACEMENT = {
    Destination.LABEL: "",
    Destination.ATTRIBUTE: "",
    Destination.LINE: " ",
    Destination.BODY: "\ufffd",
    Destination.TERMINAL: " ",
}


def valid_unicode(text: str) -> str:
    """``text`` with every unpaired surrogate replaced by U+FFFD (and ordered pairs joined)."""
    if text.isascii() or _SURROGATE.search(text) is None:
        return text
    # UTF-16 round trip: the codec pairs what pairs and replaces the rest.
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def as_text(value: object, unprintable: str = UNPRINTABLE) -> str:
    """Any value as a plain ``str``; never raises (a str-valued enum gives its value, an object whose
    ``__str__`` fails gives ``unprintable``)."""
    if type(value) is str:
        return value
    if isinstance(value, enum.Enum) and isinstance(value.value, str):
        return str.__str__(value.value)
    if isinstance(value, str):  # a str subclass could override anything; take its characters only
        return str.__str__(value)
    try:
        text = str(value)
    except Exception:  # an object whose __str__ raises is still reported, not raised
        return unprintable
    return str.__str__(text) if isinstance(text, str) else unprintable


def clean(value: object, destination: Destination, limit: int, unprintable: str = UNPRINTABLE) -> str:
    """``value`` as text safe for ``destination``, at most ``limit`` code points long."""
    text = as_text(value, unprintable)
    if not (text.isascii() and text.isprintable()):
        text = valid_unicode(text)
        if destination is Destination.BODY:
            text = _BODY_UNSAFE.sub(_REPLACEMENT[destination], _CRLF.sub("\n", text))
        else:
            text = _LINE_UNSAFE.sub(_REPLACEMENT[destination], text)
    if destination is Destination.LABEL:
        text = text.strip()
    if len(text) <= limit:
        return text
    if destination is Destination.LABEL or destination is Destination.ATTRIBUTE:
        return text[:limit]
    return text[: max(limit - 1, 0)] + ELLIPSIS if limit > 0 else ""


def terminal_lines(value: object, limit: int) -> str:
    """Multi-line text for a terminal (an error message, a program's output): every line cleaned as
    :attr:`Destination.TERMINAL` and cut to ``limit``; the line breaks themselves are kept."""
    text = _CRLF.sub("\n", valid_unicode(as_text(value)))
    return "\n".join(clean(line, Destination.TERMINAL, limit) for line in text.split("\n"))


def terminal_json(document: str) -> str:
    """A JSON document (``json.dumps(..., ensure_ascii=False)``) safe to print: the characters JSON leaves
    raw that a terminal acts on (C1 controls, bidi controls, separators) or cannot encode (lone
    surrogates) become ``\\uXXXX`` escapes. The JSON means exactly the same; other text stays readable."""
    return _JSON_RAW_UNSAFE.sub(lambda match: f"\\u{ord(match.group()):04x}", document)
