"""Real file-system faults: a tmpfs mounted for the test (small, to fill it; or read-only).

Mounting needs root; elsewhere the test is skipped with the reason, and fails under CI=true.
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from tests._support.binaries import require_binary, unavailable


@contextlib.contextmanager
def tmpfs(path: Path, size: str = "1m", *, readonly: bool = False) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` for the duration."""
    if os.geteuid() != 0:
        unavailable("mounting a tmpfs (full disk, read-only file system) needs root")
    mount = require_binary("mount", package="mount")
    umount = require_binary("umount", package="mount")
    path.mkdir(parents=True, exist_ok=True)
    options = f"size={size},mode=0755" + (",ro" if readonly else "")
    command = [mount, "-t", "tmpfs", "-o", options, "tmpfs", str(path)]
    done = subprocess.run(command, check=False, capture_output=True, text=True)
    if done.returncode != 0:
        unavailable(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run([umount, "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Write a file in ``directory`` until its file system is full; returns the file (delete it to free)."""
    filler = directory / "filler"
    chunk = b"\0" * 65536
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
    with open(filler, "ab", buffering=0) as out, contextlib.suppress(OSError):  # the last few bytes
        while True:
            out.write(b"\0" * 512)
    return filler
