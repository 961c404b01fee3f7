"""Fixtures of the deployment tests: Compose's own reading of docker-compose.yml."""

from __future__ import annotations

from typing import Any

import pytest

from tests._support.compose import normalized_model, require_compose
from tests._support.deployment import COMPOSE_ENVIRONMENT


@pytest.fixture(scope="session")
def compose_command() -> list[str]:
    return require_compose()


@pytest.fixture(scope="session")
def compose_model(compose_command: list[str]) -> dict[str, Any]:
    """docker-compose.yml as Docker Compose v2 normalizes it (absolute paths, long syntax everywhere)."""
    return normalized_model(compose_command, COMPOSE_ENVIRONMENT)


@pytest.fixture(scope="session")
def services(compose_model: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return dict(compose_model["services"])
