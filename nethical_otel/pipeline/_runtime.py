"""What the hot path reads from the active pipeline: resolved once per ``configure()``, read per call."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple

from opentelemetry.trace import Tracer

from nethical_otel.metrics import ExemplarSource, Instruments, LabelCleaner
from nethical_otel.semconv import UNKNOWN


class Threat(NamedTuple):
    """A detected threat: level (as the detector or caller gave it), category and an optional confidence in [0, 1].

    Surfaces (the decorator, the original API) report threats in this shape; components listen for them.
    """

    level: str
    category: str = UNKNOWN
    confidence: float | None = None


# Called for a threat whose span is not recorded (tracing off or the span not sampled), so that threat
# alerting never depends on trace sampling. Arguments: detector type, threat, trace id, span id (0 if none).
ThreatListener = Callable[[str, Threat, int, int], None]


class DetectorRegistry:
    """Detector types seen by this pipeline and their last reported health, for ``/health``."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._lock = threading.Lock()
        self._health: dict[str, bool | None] = {}

    def register(self, detector_type: str) -> None:
        if detector_type not in self._health and len(self._health) < self._limit:
            with self._lock:
                self._health.setdefault(detector_type, None)

    def set_health(self, detector_type: str, healthy: bool) -> None:
        if detector_type in self._health or len(self._health) < self._limit:
            with self._lock:
                self._health[detector_type] = healthy

    def snapshot(self) -> dict[str, bool | None]:
        with self._lock:
            return dict(self._health)


@dataclass(eq=False)
class Runtime:
    instruments: Instruments
    clean: LabelCleaner
    tracer: Tracer | None
    capture_content: bool
    detectors: DetectorRegistry
    # Free-text span attributes (captured arguments and results, exception messages) are cut to this.
    attribute_max_length: int
    # The exemplar filter, resolved at configure time (see nethical_otel.metrics.exemplar_source).
    exemplars: ExemplarSource
    threat_listeners: list[ThreatListener] = field(default_factory=list)


class _Current:
    """The active runtime; ``None`` before ``configure()`` and after ``shutdown()``."""

    __slots__ = ("runtime",)

    def __init__(self) -> None:
        self.runtime: Runtime | None = None


current = _Current()
