"""Four simulated detectors, instrumented the way an application would instrument its own.

They imitate real ones closely enough to exercise every nethical_* metric: results of every threat
level, model inference, embedding caches with hits and misses, and the occasional failure.
"""

from __future__ import annotations

import asyncio
import random
import re
import time
from collections import Counter
from dataclasses import dataclass

from nethical_otel import instrument_detector
from nethical_otel.monitoring import get_prometheus_metrics

_rng = random.Random()
cache_outcomes: Counter[tuple[str, bool]] = Counter()  # the demo's own bookkeeping, for its summary
_INJECTION = re.compile(r"ignore (all )?previous instructions|you are now dan|system prompt|developer mode", re.I)
_SHADOW_HOSTS = ("api.unapproved-llm.example", "chat.random-ai.example", "free-gpt.example")


class BackendTimeout(TimeoutError):
    """The simulated model backend did not answer in time."""


@dataclass
class Detection:
    is_threat: bool
    threat_level: str
    category: str
    confidence: float


def seed(value: int | None) -> None:
    _rng.seed(value)


def _work(median_seconds: float) -> float:
    """Sleep for a log-normally distributed time, like a model call; returns the time slept."""
    seconds = min(_rng.lognormvariate(0.0, 0.6) * median_seconds, 2.0)
    time.sleep(seconds)
    return seconds


def _cached(cache_type: str, hit_ratio: float) -> bool:
    hit = _rng.random() < hit_ratio
    cache_outcomes[cache_type, hit] += 1
    get_prometheus_metrics().track_cache(cache_type, hit)
    return hit


@instrument_detector("prompt_injection", model="pi-v2")
def detect_prompt_injection(prompt: str) -> Detection:
    if not _cached("embedding", 0.7):
        _work(0.004)  # embed the prompt
    _work(0.012)
    if _rng.random() < 0.01:
        raise BackendTimeout("prompt-injection model did not answer")
    if _INJECTION.search(prompt):
        level = "CRITICAL" if "system prompt" in prompt.lower() else "HIGH"
        return Detection(True, level, "instruction_override", _rng.uniform(0.85, 0.99))
    if _rng.random() < 0.05:
        return Detection(True, "LOW", "suspicious_phrasing", _rng.uniform(0.4, 0.6))
    return Detection(False, "NONE", "none", _rng.uniform(0.0, 0.2))


@instrument_detector("deepfake", model="df-detector-v3")
async def detect_deepfake(media: bytes) -> dict[str, object]:
    await asyncio.sleep(min(_rng.lognormvariate(0.0, 0.5) * 0.03, 2.0))
    if _rng.random() < 0.02:
        raise ValueError("unsupported media encoding")
    score = _rng.betavariate(1.2, 6.0)
    for threshold, level in ((0.8, "CRITICAL"), (0.6, "HIGH"), (0.4, "MEDIUM"), (0.25, "LOW")):
        if score >= threshold:
            return {"threat_level": level, "category": _rng.choice(("face_swap", "voice_clone")), "confidence": score}
    return {"threat_level": "NONE", "confidence": score}


@instrument_detector("shadow_ai")
def detect_shadow_ai(destination_host: str) -> dict[str, object]:
    _cached("allowlist", 0.9)
    _work(0.002)
    if destination_host in _SHADOW_HOSTS:
        return {"is_threat": True, "threat_level": "MEDIUM", "category": "unapproved_llm_api", "confidence": 0.9}
    return {"is_threat": False}


@instrument_detector("polymorphic")
def detect_polymorphic(payload: bytes) -> Detection:
    _work(0.02)
    if _rng.random() < 0.03:
        raise BackendTimeout("sandbox verdict timed out")
    entropy = _rng.random()
    if entropy > 0.97:
        return Detection(True, "CRITICAL", "self_modifying_code", 0.97)
    if entropy > 0.9:
        return Detection(True, "HIGH", "obfuscated_payload", entropy)
    return Detection(False, "NONE", "none", 1 - entropy)


DETECTORS = ("prompt_injection", "deepfake", "shadow_ai", "polymorphic")
