"""Silences as the alerting loop keeps them: in the router, for routing, and in the store, for the other
processes sharing the file and for the next start. Called on the loop."""

from __future__ import annotations

from typing import TYPE_CHECKING

from nethical_otel.alerting.grouping.silences import Silence

if TYPE_CHECKING:
    from nethical_otel.alerting.engine.loop import AlertingLoop


def add(loop: AlertingLoop, silence: Silence) -> None:
    loop.parts.router.silences[silence.id] = silence
    loop.store.silences.save(silence)


def expire(loop: AlertingLoop, silence_id: str, now: float) -> bool:
    """End a silence now; whether it existed."""
    silence = loop.parts.router.silences.get(silence_id)
    if silence is None:
        return False
    ended = Silence(silence.id, silence.matchers, min(silence.starts_at, now), now, silence.comment, silence.created_at)
    add(loop, ended)
    return True


def current(loop: AlertingLoop, now: float) -> list[Silence]:
    """Silences that are active or not yet started."""
    return [silence for silence in loop.parts.router.silences.values() if silence.ends_at > now]
