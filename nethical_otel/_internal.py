"""Failures of nethical_otel's own code: logged, never raised into the application.

The test suite sets ``NETHICAL_OTEL_RAISE_INTERNAL_ERRORS=1`` so that such bugs fail tests instead of
disappearing into a log line (the same idea as Logfire's behaviour under pytest).
"""

from __future__ import annotations

import logging
import os

logger = logging.getLogger("nethical_otel")

RAISE_ENV_VAR = "NETHICAL_OTEL_RAISE_INTERNAL_ERRORS"


class _Policy:
    raise_errors = os.environ.get(RAISE_ENV_VAR, "").lower() in ("1", "true", "yes")


policy = _Policy()


def internal_error(where: str) -> None:
    """Call from an ``except`` block that caught a failure of nethical_otel itself."""
    if policy.raise_errors:
        raise  # noqa: PLE0704 - re-raises the exception being handled
    logger.exception("nethical_otel internal error in %s; the application is unaffected", where)
