"""The application's own threat detectors. Nothing here knows about nethical_otel or OpenTelemetry.

``opentelemetry-instrument`` instruments them by the names listed in ``nethical.yaml``.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit

UNAPPROVED_AI_HOSTS = frozenset({"chat.random-ai.example", "free-gpt.example"})


class UnreadablePromptError(ValueError):
    """The prompt could not be inspected."""


class PromptInjectionDetector:
    """Rule-based prompt-injection detection (a stand-in for a model call)."""

    def detect(self, prompt: str) -> dict[str, object]:
        if not prompt.strip():
            raise UnreadablePromptError("empty prompt")
        text = prompt.lower()
        if "system prompt" in text:
            return {"is_threat": True, "threat_level": "CRITICAL", "category": "prompt_leak", "confidence": 0.97}
        if "ignore previous instructions" in text:
            return {"is_threat": True, "threat_level": "HIGH", "category": "instruction_override", "confidence": 0.9}
        return {"is_threat": False, "threat_level": "NONE", "confidence": 0.05}


def scan_url(url: str) -> dict[str, object]:
    """Shadow-AI detection: outbound calls to AI services that are not approved."""
    host = urlsplit(url).hostname or ""
    if host in UNAPPROVED_AI_HOSTS:
        return {"is_threat": True, "threat_level": "MEDIUM", "category": "unapproved_llm_api", "confidence": 0.8}
    return {"is_threat": False}


async def detect_deepfake(media: bytes) -> dict[str, object]:
    """Deepfake scoring of uploaded media (a stand-in for an async model client)."""
    await asyncio.sleep(0.001)
    score = (sum(media) % 100) / 100
    if score >= 0.8:
        return {"threat_level": "CRITICAL", "category": "face_swap", "confidence": score}
    if score >= 0.5:
        return {"threat_level": "HIGH", "category": "voice_clone", "confidence": score}
    return {"threat_level": "NONE", "confidence": score}
