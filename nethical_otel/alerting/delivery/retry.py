"""When to try a notification again: exponential backoff with ±50 % jitter, up to a cap, until giving up."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class RetryPolicy:
    initial_delay: float = 0.5
    max_delay: float = 60.0
    give_up_after: float = 86400.0

    def backoff(self, attempts: int, rng: Callable[[], float] = random.random) -> float:
        """Delay before attempt ``attempts + 1``: doubling from ``initial_delay``, capped, ±50 % jitter."""
        base = min(self.max_delay, self.initial_delay * 2.0 ** max(0, attempts - 1))
        return base * (0.5 + rng())
