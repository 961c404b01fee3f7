"""Python packages a test needs beside the virtualenv, never in it.

Some packages change behaviour just by being installed: ``opentelemetry-distro`` registers a second
distro and configurator, which would change what ``opentelemetry-instrument`` picks in every other
test. Such a package is installed once (``pip install --no-deps --target``) into
``.cache/side-packages/<name>-<version>`` and put on ``PYTHONPATH`` only for the subprocess that
needs it. Without it a test is skipped locally and fails under CI=true, like a missing binary.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from tests._support.binaries import unavailable

SIDE_PACKAGES = Path(__file__).resolve().parents[2] / ".cache" / "side-packages"


def side_package(name: str, version: str) -> Path:
    """A directory holding ``name==version`` alone, to put on a subprocess's ``PYTHONPATH``."""
    target = SIDE_PACKAGES / f"{name}-{version}"
    if (target / ".installed").exists():
        return target
    SIDE_PACKAGES.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=SIDE_PACKAGES))
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps"]
    requirement = f"{name}=={version}"
    result = subprocess.run(
        [*command, "--target", str(staging), requirement], check=False, capture_output=True, text=True, timeout=180
    )
    if result.returncode != 0:
        shutil.rmtree(staging, ignore_errors=True)
        unavailable(f"could not install {requirement} beside the virtualenv: {result.stderr.strip()[-500:]}")
    (staging / ".installed").touch()
    try:
        staging.rename(target)
    except OSError:  # another test run got there first
        shutil.rmtree(staging, ignore_errors=True)
    return target
