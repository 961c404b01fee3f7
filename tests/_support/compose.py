"""Docker Compose v2, run offline: `config` parses and validates a compose file without a Docker engine.

The binary is Docker's `compose` plugin when the docker CLI has it, else a `docker-compose` v2 binary
(Debian trixie's, unpacked to .cache/bin by scripts/fetch-trixie-tools). Compose v1 (bookworm's
Python docker-compose) implements an older file format and is not used.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests._support.binaries import unavailable

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"


def _is_v2(command: list[str]) -> bool:
    try:
        result = subprocess.run(
            [*command, "version", "--short"], check=False, capture_output=True, text=True, timeout=30
        )
    except OSError:
        return False
    return result.returncode == 0 and result.stdout.strip().lstrip("v").startswith("2.")


def require_compose() -> list[str]:
    """The command that runs Compose v2; skip without it, fail under CI=true."""
    candidates = [[str(ROOT / ".cache" / "bin" / "docker-compose")]]
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    if shutil.which("docker"):
        candidates.append(["docker", "compose"])
    for command in candidates:
        if _is_v2(command):
            return command
    unavailable("Docker Compose v2 not found (scripts/fetch-trixie-tools unpacks Debian trixie's docker-compose)")


def compose_config(
    command: list[str], environ: Mapping[str, str], *, compose_file: Path = COMPOSE_FILE, output: str = "json"
) -> subprocess.CompletedProcess[str]:
    """Run `compose config` with exactly ``environ`` (plus PATH) so no variable of this machine leaks in."""
    env = {"PATH": os.environ.get("PATH", ""), **environ}
    return subprocess.run(
        [*command, "--file", str(compose_file), "--env-file", os.devnull, "config", "--format", output],
        check=False,
        capture_output=True,
        text=True,
        env=env,
        cwd=compose_file.parent,
        timeout=60,
    )


def normalized_model(command: list[str], environ: Mapping[str, str]) -> dict[str, Any]:
    """The compose file as Compose itself understands it: defaults filled in, paths made absolute."""
    result = compose_config(command, environ)
    assert result.returncode == 0, f"docker compose config failed:\n{result.stderr}"
    return dict(json.loads(result.stdout))
