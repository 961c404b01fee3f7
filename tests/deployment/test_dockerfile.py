"""The demo app's Dockerfile and .dockerignore, checked statically (no Docker engine here): the build
context holds exactly what `pip install .` needs, local state stays out of it, and the container serves
metrics where compose expects them, as a non-root user."""

from __future__ import annotations

import fnmatch
import re
from importlib import metadata

from tests._support.deployment import DOCKERFILE, ROOT

DOCKERIGNORE = ROOT / ".dockerignore"


def _ignore_patterns() -> list[tuple[bool, str]]:
    """(exclude?, pattern) in file order; Docker applies the last pattern that matches a path."""
    patterns = []
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line and not line.startswith("#"):
            patterns.append((not line.startswith("!"), line.lstrip("!").rstrip("/")))
    return patterns


def _in_context(path: str) -> bool:
    """Whether Docker sends ``path`` (relative to the repository) to the build; a path inside an
    excluded directory is excluded unless a later pattern re-includes it or its directory."""
    included = True
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for exclude, pattern in _ignore_patterns():
        if any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes) or fnmatch.fnmatch(path, pattern):
            included = not exclude
    return included


def _copy_sources() -> list[str]:
    sources = []
    for arguments in re.findall(r"^COPY\s+(?!--from)(.+)$", DOCKERFILE.read_text(encoding="utf-8"), flags=re.M):
        *copied, _destination = arguments.split()
        sources += copied
    return sources


def _pyproject_paths() -> list[str]:
    """The files the build backend reads: pyproject.toml, the readme, the version file, the packages.
    (Read with a pattern: tomllib is 3.11+, the project supports 3.10.)"""
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    readme = re.search(r'^readme = "([^"]+)"', text, flags=re.M)
    version = re.search(r'^\[tool\.hatch\.version\]\npath = "([^"]+)"', text, flags=re.M)
    packages = re.search(r"^\[tool\.hatch\.build\.targets\.wheel\]\npackages = \[([^\]]+)\]", text, flags=re.M)
    assert readme and version and packages, "pyproject.toml changed shape; update this reader"
    return ["pyproject.toml", readme.group(1), version.group(1), *re.findall(r'"([^"]+)"', packages.group(1))]


def test_the_build_context_holds_what_pip_install_needs():
    needed = _pyproject_paths()
    assert "nethical_otel" in needed
    copied = _copy_sources()
    for path in needed:
        assert (ROOT / path).exists(), path
        assert _in_context(path), f"{path} is excluded by .dockerignore"
        assert any(path == source or path.startswith(f"{source}/") for source in copied), f"{path} is not copied"
    for source in copied:
        assert (ROOT / source).exists() and _in_context(source), source
    package_files = [p.relative_to(ROOT).as_posix() for p in (ROOT / "nethical_otel").rglob("*.py")]
    assert package_files and all(_in_context(path) for path in package_files)


def test_local_state_and_secrets_stay_out_of_the_build_context():
    for path in (".venv/bin/python", ".git/config", ".cache/bin/victoria-metrics", ".env", "tests/conftest.py"):
        assert not _in_context(path), path
    assert not _in_context("nethical_otel/__pycache__/semconv.cpython-311.pyc")


def test_the_image_runs_the_demo_as_an_unprivileged_user_on_all_interfaces():
    text = DOCKERFILE.read_text(encoding="utf-8")
    (entrypoint,) = re.findall(r'^ENTRYPOINT \["([^"]+)"\]', text, flags=re.M)
    assert entrypoint in metadata.distribution("nethical-otel").entry_points.names
    (command,) = re.findall(r"^CMD (\[.*\])$", text, flags=re.M)
    assert '"--host", "0.0.0.0"' in command and '"--port", "9091"' in command
    assert re.findall(r"^EXPOSE (\d+)$", text, flags=re.M) == ["9091"]
    (user,) = re.findall(r"^USER (\S+)$", text, flags=re.M)
    assert user not in ("root", "0")
    assert '".[profiling]"' in text  # Pyroscope's agent, for profiling.enabled in config/deployment.yaml


def test_the_dockerignore_reader_follows_docker_semantics():
    # The checks above rely on it: `*` excludes everything, `!dir/` re-includes a tree, later wins.
    assert not _in_context("docs/guide.md")
    assert _in_context("nethical_otel/semconv/_contract.py")
    assert _in_context("nethical_otel/demo/detectors.py")
    assert not _in_context("nethical_otel/demo/__pycache__")
