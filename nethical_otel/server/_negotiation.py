"""Which exposition format a scraper gets, read strictly from its ``Accept`` header.

OpenMetrics 1.0.0 when the scraper prefers it (Prometheus does), the Prometheus text format 0.0.4
otherwise: for a missing, malformed or unknown header, an unknown version, or any parameter we cannot
honour. The ``Content-Type`` of the answer is one of two constants, so nothing a client sends is ever
echoed back (prometheus_client's ``choose_encoder`` copies the requested version into it, and answers
``version=x`` with an exception).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from prometheus_client import exposition
from prometheus_client.openmetrics import exposition as openmetrics

Encoder = Callable[[Any], bytes]

TEXT: tuple[Encoder, str] = (exposition.generate_latest, exposition.CONTENT_TYPE_PLAIN_0_0_4)
OPENMETRICS: tuple[Encoder, str] = (openmetrics.generate_latest, openmetrics.CONTENT_TYPE_LATEST)

_OPENMETRICS_TYPE = "application/openmetrics-text"
_TEXT_TYPES = frozenset({"text/plain", "text/*", "*/*"})
_OPENMETRICS_VERSIONS = frozenset({"", "1.0.0"})
# RFC 9110 weight: "0" to "1", at most three decimals.
_QVALUE = re.compile(r"0(\.\d{0,3})?|1(\.0{0,3})?")


def choose_format(accept: str) -> tuple[Encoder, str]:
    """(encoder, Content-Type) for an ``Accept`` header value (several headers joined by commas)."""
    best: tuple[Encoder, str] = TEXT
    best_weight = -1.0
    for item in accept.split(","):
        media, _, raw_parameters = item.partition(";")
        media = media.strip().lower()
        if media != _OPENMETRICS_TYPE and media not in _TEXT_TYPES:
            continue
        parameters = _parameters(raw_parameters)
        if parameters is None:
            continue
        weight_text = parameters.pop("q", "1")
        if not _QVALUE.fullmatch(weight_text):
            continue
        weight = float(weight_text)
        if weight <= best_weight or weight == 0:
            continue  # equal weights: the earlier range wins, as the scraper listed it first
        if media == _OPENMETRICS_TYPE:
            if parameters.get("version", "") not in _OPENMETRICS_VERSIONS:
                continue
            best = OPENMETRICS
        else:
            best = TEXT
        best_weight = weight
    return best


def _parameters(raw: str) -> dict[str, str] | None:
    """``name=value`` pairs of a media range (names lower-cased, quotes removed); None when malformed."""
    parameters: dict[str, str] = {}
    for item in raw.split(";"):
        if not item.strip():
            continue
        name, separator, value = item.partition("=")
        if not separator:
            return None
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        parameters[name.strip().lower()] = value
    return parameters
