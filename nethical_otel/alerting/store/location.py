"""Where the alert store lives, and opening it so that a bad location is a clear error, never a crash.

* The default store is one file per service: ``<data dir>/nethical-otel/<service>/alerts.sqlite3``, the
  service being ``service.name`` (the config, then ``OTEL_SERVICE_NAME``), else the main script's name;
  unrelated applications never adopt each other's alert groups.
* The store holds alert titles, messages and metadata: its directory is created 0700 and its files
  (the database, ``-wal``, ``-shm``) are 0600.
* ``alerting.storage_path`` that cannot be used (a directory, a path under a plain file, no permission,
  a read-only file system) is a :class:`ConfigError` naming the key and the reason. A file that is not
  a database (corrupt, or something else) is moved aside to ``<name>.corrupt-<time>`` with a warning, and
  a new store is started: nothing is deleted.
* The *default* location may be unusable (a read-only home in a container, no home at all): then the
  store is kept in memory, with one warning saying how to set ``alerting.storage_path``. The library
  never fails the application's start over a location the user did not choose.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sqlite3
import sys
import time
from pathlib import Path

from nethical_otel.alerting.store import MEMORY, Store
from nethical_otel.config import ConfigError, ConfigIssue

_logger = logging.getLogger("nethical_otel.alerting")

APP_DIR = "nethical-otel"
FILE_NAME = "alerts.sqlite3"
KEY = "alerting.storage_path"
_SUFFIXES = ("", "-wal", "-shm")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def service_name(configured: str | None = None) -> str:
    """The service a default store belongs to: configured, from the OTel environment, else the script."""
    if configured:
        return configured
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    from_env = str(Resource.create({}).attributes.get(SERVICE_NAME, ""))
    if from_env and not from_env.startswith("unknown_service"):
        return from_env
    script = Path(sys.argv[0]).stem if sys.argv and sys.argv[0] not in ("", "-c", "-m") else ""
    return script or "python"


def data_dir() -> Path:
    """The user's data directory (XDG on Linux, the platform's equivalents elsewhere)."""
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or home / "AppData" / "Local")
    if sys.platform == "darwin":
        return home / "Library" / "Application Support"
    return Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")


def default_path(service: str) -> Path:
    slug = _UNSAFE_NAME.sub("_", service).strip("._")[:64] or "default"
    return data_dir() / APP_DIR / slug / FILE_NAME


def resolve_path(configured: str | None, service: str | None = None) -> str:
    """The store's path: ``configured`` (``~`` expanded), else the service's default."""
    if configured == MEMORY:
        return MEMORY
    if configured:
        return str(Path(configured).expanduser())
    try:
        return str(default_path(service_name(service)))
    except RuntimeError:  # no home directory at all
        return MEMORY


def open_store(configured: str | None, service: str | None = None) -> Store:
    """The store at ``configured`` (or the default), created private; see the module's rules."""
    path = resolve_path(configured, service)
    if path == MEMORY:
        if configured != MEMORY:
            _warn_memory("no home directory to keep it in")
        return Store(MEMORY)
    try:
        return _open(Path(path))
    except (OSError, sqlite3.Error) as error:
        reason = _reason(error)
    if configured:
        raise ConfigError([ConfigIssue(KEY, f"cannot use {path} for the alert store: {reason}")]) from None
    _warn_memory(f"{path}: {reason}")
    return Store(MEMORY)


def _open(path: Path) -> Store:
    if path.is_dir():
        raise IsADirectoryError(21, "it is a directory")
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise NotADirectoryError(20, f"{blocking} is not a directory")
    _private_directory(path.parent)
    _private_file(path)
    try:
        store = Store(str(path))
    except sqlite3.DatabaseError as error:
        if not _not_a_database(error):
            raise
        aside = _move_aside(path)
        _logger.warning("the alert store %s was not a usable database (%s): moved aside to %s", path, error, aside)
        _private_file(path)
        store = Store(str(path))
    try:
        store.probe(time.time())  # a location that cannot take writes is refused now, not at the first alert
    except BaseException:
        store.close()
        raise
    for suffix in _SUFFIXES[1:]:
        _private_file(path.with_name(path.name + suffix), create=False)
    return store


def _private_directory(directory: Path) -> None:
    created = not directory.exists()
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    ours = [directory] if created else []
    if directory.parent.name == APP_DIR:  # the default location: private even if an older version made it 0755
        ours += [directory, directory.parent]
    for mine in ours:
        with contextlib.suppress(OSError):
            mine.chmod(0o700)


def _private_file(path: Path, create: bool = True) -> None:
    if create and not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    with contextlib.suppress(OSError):  # someone else's file keeps its mode
        info = path.stat()
        if info.st_uid == os.getuid() and info.st_mode & 0o077:
            path.chmod(0o600)


def _not_a_database(error: sqlite3.DatabaseError) -> bool:
    text = str(error).lower()
    return "not a database" in text or "malformed" in text or "encrypted" in text


def _move_aside(path: Path) -> Path:
    aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%dT%H%M%S')}")
    for suffix in _SUFFIXES:
        source = path.with_name(path.name + suffix)
        if source.exists():
            source.rename(aside.with_name(aside.name + suffix))
    return aside


def _reason(error: BaseException) -> str:
    if isinstance(error, OSError):
        return error.strerror or type(error).__name__
    return str(error) or type(error).__name__


def _warn_memory(why: str) -> None:
    _logger.warning(
        "the default alert store cannot be used (%s): alert history and the outbox are kept in memory only "
        "and lost at exit; set alerting.storage_path to a writable file to keep them",
        why,
    )
