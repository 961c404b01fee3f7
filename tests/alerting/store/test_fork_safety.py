"""A process that forks while its alerting thread is inside SQLite used to leave the child deadlocked in
``sqlite3.connect`` (SQLite's process-global mutexes are copied locked). The store's fork guard makes that
impossible: here a thread keeps the store busy while the main thread forks hundreds of times, and every
child opens a store of its own at once."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
SCRIPT = Path(__file__).with_name("_fork_child.py")


def run(workdir: Path, forks: int, patience: float, *flags: str) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(workdir), str(forks), str(patience), *flags],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def test_children_forked_while_the_store_is_busy_never_hang(tmp_path):
    result = run(tmp_path, 200, 10.0)
    assert result["forks"] == 200 and result["hung"] == 0
    assert result["busy_batches"] > 200  # the store really was inside SQLite all along, between every fork


def test_without_the_guard_a_child_hangs_at_once_on_this_machines_sqlite(tmp_path):
    # The control: the same forks with the store's lock swapped for one the fork hook does not take.
    result = run(tmp_path, 100, 2.0, "--unguarded")
    assert result["hung"] == 1, "no child hung without the guard: the test above would prove nothing here"
