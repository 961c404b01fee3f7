"""pytest fixtures built on the support modules."""

from __future__ import annotations

import pytest

from tests._support.binaries import require_binary


@pytest.fixture(scope="session")
def prometheus_binary() -> str:
    return require_binary("prometheus", package="prometheus")


@pytest.fixture(scope="session")
def promtool_binary() -> str:
    return require_binary("promtool", package="prometheus")


@pytest.fixture(scope="session")
def alertmanager_binary() -> str:
    return require_binary("prometheus-alertmanager", "alertmanager", package="prometheus-alertmanager")


@pytest.fixture(scope="session")
def amtool_binary() -> str:
    return require_binary("amtool", package="prometheus-alertmanager")
