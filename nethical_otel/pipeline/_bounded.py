"""Running shutdown steps against one deadline, whatever the exporters' peers do.

The SDK's own bounds do not hold when a collector accepts TCP and never answers: a BatchSpanProcessor
waits up to 30 s for its worker at shutdown whatever it is told, each queued batch may then wait out
the exporter's timeout, and the periodic metric reader discards its shutdown timeout
(opentelemetry-python #4043, #1860, #5574). So every step that may block on a peer runs in a daemon
thread, and the caller waits for it only until the deadline. A step still running past it is
abandoned: it finishes (or not) in the background, and cannot hold the process at exit.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

_logger = logging.getLogger("nethical_otel")

Step = tuple[str, Callable[[], object]]


class Exporter(Protocol):
    """What an abandoned exporter is told: stop retrying, skip what is still queued."""

    def shutdown(self) -> Any: ...


def remaining(deadline: float) -> float:
    """Seconds left until ``deadline`` (a ``time.monotonic()`` value), never negative."""
    return max(0.0, deadline - time.monotonic())


def run_all_within(deadline: float, steps: Sequence[Step]) -> list[str]:
    """Run ``steps`` side by side; return the names of those still running at ``deadline``."""
    threads = []
    for name, step in steps:
        thread = threading.Thread(target=_logged, args=(name, step), name=f"nethical-otel {name}", daemon=True)
        thread.start()
        threads.append((name, thread))
    late = []
    for name, thread in threads:
        thread.join(remaining(deadline))
        if thread.is_alive():
            late.append(name)
    return late


def run_within(deadline: float, name: str, step: Callable[[], object]) -> list[str]:
    """Run one step; ``[name]`` when it is still running at ``deadline``, else ``[]``."""
    return run_all_within(deadline, [(name, step)])


def stop_abandoned(exporters: Sequence[Exporter]) -> None:
    """Shut ``exporters`` down without waiting: a step left running past its deadline then ends as soon as
    its exporter notices (the OTLP exporters abort their retries), instead of retrying in the background."""
    for exporter in exporters:
        threading.Thread(
            target=_logged, args=("stopping an exporter", exporter.shutdown), name="nethical-otel stop", daemon=True
        ).start()


def _logged(name: str, step: Callable[[], object]) -> None:
    try:
        step()
    except Exception:  # e.g. an exporter that raises at shutdown: report it, the other steps go on
        _logger.exception("%s failed at shutdown", name)
