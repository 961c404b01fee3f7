"""Find the real binaries the integration tests run; skip without them, but fail under CI=true."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NoReturn

import pytest

# Where Debian's packages put what is not on PATH, and where scripts/ unpacks extra packages.
_EXTRA_DIRS = (Path("/usr/bin"), Path("/usr/sbin"), Path(__file__).resolve().parents[2] / ".cache" / "bin")


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> NoReturn:
    """A real component is missing: skip the test locally, fail it under CI=true."""
    if in_ci():
        pytest.fail(f"CI=true requires the real component: {reason}", pytrace=False)
    pytest.skip(reason)


def require_binary(*names: str, package: str) -> str:
    """Path of the first of ``names`` found; otherwise skip (locally) or fail (CI=true)."""
    for name in names:
        found = shutil.which(name)
        if found:
            return found
        for directory in _EXTRA_DIRS:
            candidate = directory / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    unavailable(f"{' or '.join(names)} not found (Debian package {package}; scripts/system-deps installs it)")
