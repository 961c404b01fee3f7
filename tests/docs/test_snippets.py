"""Every Python example of README.md and docs/ runs, as a reader would run it, in a fresh interpreter.

Each block runs on its own in a scratch directory that has the repository's ``config/`` and ``examples/``;
top-level ``await`` is allowed (the block then runs in ``asyncio.run``). The environment is the one a
reader's shell would have: the metrics port is free-picked (``NETHICAL_METRICS_PORT=0``), the alert store
is private, and ``SLACK_WEBHOOK_URL`` points at a local Slack emulator, so an example that alerts really
delivers. A block that cannot run on its own is preceded by ``<!-- not-run: reason -->``.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests._support.docs import README, ROOT, CodeBlock, blocks_in
from tests._support.emulators.slack import SlackEmulator, SlackMessage

_RUN = """\
import ast, asyncio, sys
path = sys.argv[1]
with open(path, encoding="utf-8") as file:
    code = compile(file.read(), path, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
result = eval(code, {"__name__": "__main__"})
if asyncio.iscoroutine(result):  # the block awaits at top level
    asyncio.run(result)
"""
_READER_ENV_PREFIXES = ("OTEL_", "PYROSCOPE_", "NETHICAL_", "SLACK_", "DISCORD_", "PAGERDUTY_", "SMTP_", "ALERT")
BLOCKS = blocks_in("python")
RUNNABLE = [block for block in BLOCKS if block.not_run is None]


@dataclass(frozen=True)
class Run:
    returncode: int
    output: str
    slack: list[SlackMessage]


@functools.cache
def run(block: CodeBlock) -> Run:
    with tempfile.TemporaryDirectory(prefix="nethical-docs-") as scratch, SlackEmulator(burst=10) as slack:
        workdir = Path(scratch)
        for shared in ("config", "examples"):
            (workdir / shared).symlink_to(ROOT / shared)
        (workdir / "snippet.py").write_text(block.code, encoding="utf-8")
        env = {key: value for key, value in os.environ.items() if not key.startswith(_READER_ENV_PREFIXES)}
        env.update(
            NETHICAL_METRICS_PORT="0",
            NETHICAL_OTEL_RAISE_INTERNAL_ERRORS="1",
            XDG_DATA_HOME=str(workdir / "data"),
            SLACK_WEBHOOK_URL=slack.webhook_url,
            PYTHONDONTWRITEBYTECODE="1",
        )
        done = subprocess.run(
            [sys.executable, "-c", _RUN, "snippet.py"],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        return Run(done.returncode, done.stdout + done.stderr, list(slack.messages))


def test_the_examples_are_runnable_but_for_a_rare_marked_exception():
    assert any(block.path == README for block in RUNNABLE)
    assert len(RUNNABLE) >= 10
    assert len(BLOCKS) - len(RUNNABLE) <= 2, "not-run examples must stay rare"


@pytest.mark.parametrize("block", RUNNABLE, ids=lambda block: block.where)
def test_the_python_example_runs(block: CodeBlock):
    result = run(block)
    assert result.returncode == 0, f"{block.where} failed:\n{block.code}\n--- output ---\n{result.output}"
    assert "Traceback" not in result.output, result.output


def test_the_readme_quickstart_delivers_its_threat_alert_to_slack():
    (quickstart,) = [block for block in RUNNABLE if block.path == README]
    result = run(quickstart)
    assert result.returncode == 0, result.output
    titles = [message.attachment["title"] for message in result.slack]
    assert any("HIGH threat detected by prompt_injection" in title for title in titles), titles
