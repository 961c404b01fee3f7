"""Bounded alert identity: how many alert groups one source may keep open.

Attackers choose what a detector reports: a category can come straight out of a model's JSON, so every
request can name a new one. Identity is the alert's name and labels, so each new category would open a
new group, with its own first notification, its own row of state and its own place in the follow-up
queue. Here each *source* (a detector for threat alerts, a rule, the ``send_alert`` API) may have at most
``max_groups`` distinct fingerprints open, a fingerprint staying open until ``window`` seconds after its
last occurrence. An occurrence of a further fingerprint is re-identified as the source's *overflow alert*
("and N further categories"): one group per source and severity, counted like any other, so nothing is
lost and nothing multiplies. Past ``max_sources`` sources, new sources share one overflow source.

Plain data in, plain data out: the manager feeds alerts and the time, and routes what comes back.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from nethical_otel import semconv
from nethical_otel._text import Destination, clean
from nethical_otel.alerting.model import Alert

OVERFLOW_LABEL = "alert_group"
OVERFLOW_VALUE = "overflow"
OTHER_SOURCES = "other sources"
API_SOURCE = "the send_alert API"
OVERFLOW_ALERT_NAME = "NethicalAlertOverflow"
_DETECTOR = "detector "
_EXAMPLES = 5  # distinct further values named in the overflow alert
_TRACKED = 1000  # distinct further fingerprints counted exactly; past it the count says "more than"
_EXAMPLE_LIMIT = 80


@dataclass(frozen=True)
class IdentityPolicy:
    max_groups: int
    window: float
    max_sources: int


@dataclass
class _Overflow:
    """What one source's overflow group stands for: how many further fingerprints, and a few examples."""

    seen: set[str] = field(default_factory=set)
    more: bool = False  # past _TRACKED distinct fingerprints
    examples: list[str] = field(default_factory=list)
    last_seen: float = 0.0

    def add(self, fingerprint: str, example: str, now: float) -> None:
        self.last_seen = now
        if fingerprint in self.seen:
            return
        if len(self.seen) >= _TRACKED:
            self.more = True
            return
        self.seen.add(fingerprint)
        if len(self.examples) < _EXAMPLES and example not in self.examples:
            self.examples.append(example)

    def count(self) -> str:
        return f"more than {_TRACKED}" if self.more else str(len(self.seen))


def source_of_threat(detector: str) -> str:
    return f"{_DETECTOR}{detector}"


def source_of_alert(alert: Alert) -> str:
    """The source of a rule's or an application's own alert: its name, or its detector when it has one."""
    detector = alert.labels.get(semconv.DETECTOR_TYPE)
    return source_of_threat(detector) if detector else f"alert {alert.name}"


class Identities:
    """Open fingerprints per source, and each source's overflow. Used from one thread (the alerting loop)."""

    def __init__(self, policy: IdentityPolicy) -> None:
        self.policy = policy
        self._open: dict[str, OrderedDict[str, float]] = {}  # source -> fingerprint -> last occurrence
        self._overflow: dict[str, _Overflow] = {}

    def __len__(self) -> int:
        """Open fingerprints across all sources (bounded by max_sources × max_groups)."""
        return sum(len(fingerprints) for fingerprints in self._open.values())

    def identify(
        self, alert: Alert, source: str, now: float, example: str, noun: str = "alert groups"
    ) -> tuple[Alert, bool]:
        """``alert`` itself when it may keep its identity, else its source's overflow alert (and True).

        ``example`` names what distinguishes this alert within its source (a threat category, a title) and
        ``noun`` what those are called, for the overflow alert's text ("and 290 further categories").
        """
        source = self._admit_source(source, now)
        fingerprints = self._open[source]
        fingerprint = alert.fingerprint
        if fingerprint in fingerprints:
            fingerprints[fingerprint] = now
            fingerprints.move_to_end(fingerprint)
            return alert, False
        self._expire(fingerprints, now)
        if len(fingerprints) < self.policy.max_groups and source != OTHER_SOURCES:
            fingerprints[fingerprint] = now
            return alert, False
        overflow = self._overflow.setdefault(source, _Overflow())
        overflow.add(fingerprint, clean(example, Destination.LINE, _EXAMPLE_LIMIT), now)
        return self._overflow_alert(alert, source, overflow, noun), True

    def restore(self, opened: Iterable[tuple[str, str, float]]) -> None:
        """Fingerprints open before a restart: (source, fingerprint, last occurrence)."""
        for source, fingerprint, last_seen in sorted(opened, key=lambda item: item[2]):
            fingerprints = self._open.setdefault(source or OTHER_SOURCES, OrderedDict())
            if len(fingerprints) < self.policy.max_groups:
                fingerprints[fingerprint] = max(last_seen, fingerprints.get(fingerprint, 0.0))

    def _admit_source(self, source: str, now: float) -> str:
        if source in self._open:
            return source
        if len(self._open) >= self.policy.max_sources:  # forget sources with nothing open any more
            horizon = now - self.policy.window
            for known, fingerprints in list(self._open.items()):
                overflow = self._overflow.get(known)
                if not self._expire(fingerprints, now) and (overflow is None or overflow.last_seen < horizon):
                    del self._open[known]
                    self._overflow.pop(known, None)
        if len(self._open) >= self.policy.max_sources:
            source = OTHER_SOURCES
        self._open.setdefault(source, OrderedDict())
        return source

    def _expire(self, fingerprints: OrderedDict[str, float], now: float) -> int:
        """Close fingerprints quiet for the window (oldest first); returns how many stay open."""
        horizon = now - self.policy.window
        while fingerprints:
            oldest, last_seen = next(iter(fingerprints.items()))
            if last_seen >= horizon:
                break
            del fingerprints[oldest]
        return len(fingerprints)

    def _overflow_alert(self, alert: Alert, source: str, overflow: _Overflow, noun: str) -> Alert:
        further = overflow.count()
        examples = ", ".join(overflow.examples)
        if source.startswith(_DETECTOR):  # threat alerts keep their name and where they come from
            name = alert.name
            labels = {key: value for key, value in alert.labels.items() if key in _SOURCE_LABELS}
        else:  # an application's alert names may be titles: one overflow name for them all
            name = OVERFLOW_ALERT_NAME
            labels = {"source": source}
        labels[OVERFLOW_LABEL] = OVERFLOW_VALUE
        labels.setdefault("severity", alert.severity.value)
        return Alert(
            name=name,
            title=f"{alert.title} — and {further} further {noun} from {source}",
            message=(
                f"{source} has {self.policy.max_groups} alert groups open (alerting.max_groups_per_source): "
                f"occurrences of {further} further {noun} are counted in this one, e.g. {examples}.\n"
                f"Latest: {alert.title}"
            ),
            severity=alert.severity,
            labels=labels,
            annotations={"further_groups": further, "examples": examples, "latest": alert.title},
            status=alert.status,
            starts_at=alert.starts_at,
            ends_at=alert.ends_at,
            trace_id=alert.trace_id,
            span_id=alert.span_id,
        )


# Labels that say where an alert comes from (kept by the overflow alert); the others say what it is.
_SOURCE_LABELS = frozenset({semconv.DETECTOR_TYPE, semconv.THREAT_LEVEL})
