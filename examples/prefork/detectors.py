"""The application's content filter. Nothing here knows about nethical_otel or OpenTelemetry."""

from __future__ import annotations

import os
import time

BLOCKED_WORDS = frozenset({"jailbreak", "exfiltrate"})
_DELAY = float(os.environ.get("DETECTOR_DELAY_SECONDS", "0.02"))


def classify(text: str) -> dict[str, object]:
    time.sleep(_DELAY)  # stands in for a model call, long enough for requests to overlap across workers
    if BLOCKED_WORDS & set(text.lower().split()):
        return {"is_threat": True, "threat_level": "HIGH", "category": "policy_violation", "confidence": 0.85}
    return {"is_threat": False}
