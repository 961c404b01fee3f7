"""A fork child does not use the parent's AlertManager (its thread and SQLite connection stay with the
parent); ``configure()`` in the child starts its own."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    import nethical_otel
    from nethical_otel.alerting import get_alert_manager

    settings = {"metrics_server": {"enabled": False},
                "alerting": {"storage_path": sys.argv[1], "console": "off", "webhook_url": sys.argv[2]}}
    nethical_otel.configure(settings)
    parent_manager = get_alert_manager()
    parent_manager.send_alert_sync("from the parent", "m", "info")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        started = time.monotonic()
        inherited = parent_manager.send_alert_sync("lost in the child", "m", "info")
        quick = time.monotonic() - started
        nethical_otel.configure(settings)  # what gunicorn's post_fork hook should do
        own = get_alert_manager()
        receipt = own.send_alert_sync("from the child", "m", "info")
        own.flush(10)
        nethical_otel.shutdown()
        os.write(write, json.dumps({"inherited": inherited, "quick": quick, "own": receipt is not None}).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    child = json.loads(os.read(read, 65536))
    parent_manager.send_alert_sync("parent again", "m", "info")
    parent_manager.flush(10)
    history = [entry["title"] for entry in parent_manager.get_alert_history()]
    nethical_otel.shutdown()
    print(json.dumps({"child": child, "history": history}))
    """
)


@pytest.mark.integration
def test_a_fork_child_leaves_the_parents_alerting_alone_and_configure_gives_it_its_own(tmp_path):
    from tests._support.recorder import RecordingServer

    with RecordingServer() as receiver:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(tmp_path / "alerts.sqlite3"), f"{receiver.url}/hook"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout.strip().splitlines()[-1])
        titles = sorted(r.json()["alerts"][0]["title"] for r in receiver.received("/hook"))
    assert result["child"] == {"inherited": None, "quick": result["child"]["quick"], "own": True}
    assert result["child"]["quick"] < 0.5  # refused at once, no wait for a thread that is not there
    assert result["history"] == ["from the parent", "from the child", "parent again"]
    assert titles == ["from the child", "from the parent", "parent again"]
