"""From intake items to history entries: threat alerts built, identities bounded, a storm folded.

Plain data in, plain data out. A batch drained from the intake holds raw threats (detector, level,
category, ...) and submissions of ready alerts (the API, rules). Threat occurrences of one (detector,
level, category) become one entry counting them; every entry's identity passes :class:`Identities`, and
the occurrences of a source's overflow alert within a batch are folded into one entry, so an attacker
who names a new category per request costs one history row per batch, not one per category.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from nethical_otel import semconv
from nethical_otel._text import Destination, clean
from nethical_otel.alerting.grouping.identity import Identities, source_of_threat
from nethical_otel.alerting.intake.queue import RawThreat, Submission
from nethical_otel.alerting.model import Alert, AlertChannel, AlertSeverity

THREAT_ALERT_NAME = "NethicalThreatDetected"
_TEMPLATES = 4096
_LABEL_LIMIT = 256

Occurrence = tuple[float, str | None, str | None, float | None, int]  # at, trace id, span id, confidence, count


@dataclass
class Entry:
    """One history row to be: an alert, how many occurrences it stands for and since when."""

    submission: Submission
    count: int = 1
    since: float | None = None
    raws: list[RawThreat] = field(default_factory=list)
    overflow: bool = False  # re-identified as its source's overflow alert

    @property
    def source(self) -> str:
        return self.submission.source

    def occurrences(self, limit: int) -> list[Occurrence]:
        """The threat occurrences kept for this entry: the first ``limit - 1`` one by one, the rest tallied.

        An overflow entry keeps one tallied row: a flood of new categories costs a row per batch, not one
        per occurrence.
        """
        if self.overflow:
            limit = 1
        rows = [_occurrence(raw, raw.occurrences) for raw in self.raws[: max(limit - 1, 0)]]
        rest = self.raws[len(rows) :]
        if rest:
            rows.append(_occurrence(rest[-1], sum(raw.occurrences for raw in rest)))
        return rows


def _occurrence(raw: RawThreat, count: int) -> Occurrence:
    trace_id = format(raw.trace_id, "032x") if raw.trace_id else None
    span_id = format(raw.span_id, "016x") if raw.span_id else None
    return (raw.at, trace_id, span_id, raw.confidence, count)


@dataclass(frozen=True)
class ThreatPolicy:
    critical_level: str  # threats at or above this level are CRITICAL alerts, the others WARNING
    resolve_after: float  # a threat alert is an event: it ends this long after it happened
    channels: tuple[AlertChannel, ...]


class Grouping:
    """Turns batches of intake items into entries. Used from one thread (the alerting loop)."""

    def __init__(self, policy: ThreatPolicy, identities: Identities) -> None:
        self.policy = policy
        self.identities = identities
        self._templates: dict[tuple[str, str, str, float | None], tuple[Any, ...]] = {}

    def entries(self, items: Iterable[Any], now: float) -> list[Entry]:
        """One entry per submission, one per (detector, level, category) of the threats, overflow folded."""
        entries: list[Entry] = []
        threats: dict[tuple[str, str, str], list[RawThreat]] = {}
        for item in items:
            if isinstance(item, RawThreat):
                threats.setdefault((item.detector, item.level, item.category), []).append(item)
            else:
                entries.append(self._identified(Entry(item), now, item.alert.title, "alert groups"))
        folded: dict[str, Entry] = {}
        for (_, _, category), raws in threats.items():
            entry = Entry(self._threat(raws[-1]), sum(raw.occurrences for raw in raws), raws[0].at, raws)
            entry = self._identified(entry, now, category, "categories")
            if not entry.overflow:
                entries.append(entry)
                continue
            known = folded.get(entry.submission.alert.fingerprint)
            if known is None:
                folded[entry.submission.alert.fingerprint] = entry
                entries.append(entry)
            else:  # the latest alert shows the latest count; the occurrences add up
                known.submission = entry.submission
                known.count += entry.count
                known.since = min(known.since or now, entry.since or now)
                known.raws.extend(entry.raws)
        return entries

    def _identified(self, entry: Entry, now: float, example: str, noun: str) -> Entry:
        submission = entry.submission
        alert, overflow = self.identities.identify(submission.alert, submission.source, now, example, noun)
        if overflow:
            metadata = {**submission.metadata, "overflowed_from": example}
            entry.submission = Submission(alert, submission.channels, metadata, submission.future, submission.source)
            entry.overflow = True
        return entry

    def _threat(self, raw: RawThreat) -> Submission:
        # A storm repeats a few (detector, level, category, confidence) combinations thousands of times:
        # their text, labels and metadata are built once and shared by every occurrence.
        key = (raw.detector, raw.level, raw.category, raw.confidence)
        shared = self._templates.get(key)
        if shared is None:
            if len(self._templates) >= _TEMPLATES:
                self._templates.clear()
            shared = self._templates[key] = self._template(raw)
        title, message, severity, labels, annotations, metadata = shared
        alert = Alert(
            name=THREAT_ALERT_NAME,
            title=title,
            message=message,
            severity=severity,
            labels=labels,
            annotations=annotations,
            starts_at=raw.at,
            ends_at=raw.at + self.policy.resolve_after,
            trace_id=format(raw.trace_id, "032x") if raw.trace_id else None,
            span_id=format(raw.span_id, "016x") if raw.span_id else None,
        )
        return Submission(alert, self.policy.channels, metadata, source=source_of_threat(labels[semconv.DETECTOR_TYPE]))

    def _template(
        self, raw: RawThreat
    ) -> tuple[str, str, AlertSeverity, dict[str, str], dict[str, str], dict[str, Any]]:
        level_rank = semconv.ThreatLevel(raw.level).rank
        critical = level_rank >= semconv.ThreatLevel(self.policy.critical_level).rank
        raw = raw._replace(  # detector output: a category may come straight from a model's JSON
            detector=clean(raw.detector, Destination.LINE, _LABEL_LIMIT),
            category=clean(raw.category, Destination.LINE, _LABEL_LIMIT),
        )
        known = isinstance(raw.confidence, float)
        confidence = f", confidence {raw.confidence:.2f}" if known else ""
        labels = {
            semconv.DETECTOR_TYPE: raw.detector,
            semconv.THREAT_LEVEL: raw.level,
            semconv.THREAT_CATEGORY: raw.category,
        }
        return (
            f"{raw.level} threat detected by {raw.detector}",
            f"Detector {raw.detector} reported a {raw.level} threat (category {raw.category}{confidence}).",
            AlertSeverity.CRITICAL if critical else AlertSeverity.WARNING,
            labels,
            {"confidence": f"{raw.confidence:.4g}"} if known else {},
            {**labels, "confidence": raw.confidence},
        )
