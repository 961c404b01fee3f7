"""What the commands print cannot steer the terminal, whatever a config file or another program says."""

from __future__ import annotations

import subprocess
import sys

from tests._support.hostile import unsafe_characters


def test_a_broken_config_is_a_terminal_safe_message_and_exit_status_2_not_a_traceback(tmp_path):
    config = tmp_path / "nethical.yaml"
    config.write_text('service:\n  name: a\n  "\\e]0;pwned\\a\\e[2J\\u202e\\u009b": b\n', encoding="utf-8")

    completed = subprocess.run(
        [sys.executable, "-m", "nethical_otel.cli", "demo", "--config", str(config), "--duration", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert completed.returncode == 2
    assert "Traceback" not in completed.stderr
    assert completed.stderr.startswith("nethical-otel demo: invalid nethical_otel configuration")
    assert "service. ]0;pwned  [2J  : unknown key" in completed.stderr
    assert not unsafe_characters(completed.stderr, keep="\n")
