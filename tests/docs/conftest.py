"""The site, built once per session with ``mkdocs build --strict`` as ``scripts/docs`` builds it."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests._support.binaries import unavailable
from tests._support.docs import ROOT


@dataclass(frozen=True)
class BuiltSite:
    path: Path
    log: str


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    if importlib.util.find_spec("mkdocs") is None:
        unavailable("mkdocs is not installed (the docs extra: scripts/setup dev)")
    site = tmp_path_factory.mktemp("site")
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
        cwd=ROOT,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    log = build.stdout + build.stderr
    assert build.returncode == 0, f"mkdocs build --strict failed (run scripts/docs to see it):\n{log}"
    return BuiltSite(site, log)
