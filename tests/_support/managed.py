"""A server subprocess a test starts and stops: output in a log file, ready when its probe says so."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from tests._support.net import wait_until
from tests._support.processes import log_tail, spawn, terminate

_Managed = TypeVar("_Managed", bound="ManagedProcess")


class ManagedProcess:
    """Base of the servers started by the tests; ``with server:`` starts it and stops it by PID."""

    def __init__(
        self,
        what: str,
        command: Sequence[str],
        log: Path,
        ready: Callable[[], bool],
        timeout: float = 30.0,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.what = what
        self.command = list(command)
        self.log = log
        self.env = env
        self._ready = ready
        self._timeout = timeout
        self._process: subprocess.Popen[bytes] | None = None

    def start(self: _Managed) -> _Managed:
        self._process = spawn(self.command, self.log, self.env)
        try:
            wait_until(lambda: self._alive() and self._ready(), self._timeout, f"{self.what} to be ready")
        except TimeoutError:
            self.stop()
            raise RuntimeError(f"{self.what} did not start:\n{log_tail(self.log)}") from None
        return self

    def _alive(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            raise RuntimeError(f"{self.what} exited:\n{log_tail(self.log)}")
        return True

    def stop(self) -> None:
        process, self._process = self._process, None
        terminate(process)

    def __enter__(self: _Managed) -> _Managed:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
