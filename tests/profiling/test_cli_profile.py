"""``nethical-otel profile pid|script``: real py-spy runs through the command line."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from nethical_otel.cli import main
from nethical_otel.cli._profile import ProgressLine

SPIN = """import sys, time
print("spinning", flush=True)
deadline = time.time() + float(sys.argv[1])
while time.time() < deadline:
    pass
"""


def test_profile_pid_records_an_svg_and_shows_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    script = tmp_path / "spin.py"
    script.write_text(SPIN)
    with subprocess.Popen([sys.executable, str(script), "30"], stdout=subprocess.PIPE, text=True) as target:
        try:
            assert target.stdout is not None and target.stdout.readline() == "spinning\n"
            status = main(["profile", "pid", str(target.pid), "--duration", "1", "--output-dir", str(tmp_path / "out")])
        finally:
            target.kill()

    out, err = capsys.readouterr()
    assert status == 0
    (svg,) = (tmp_path / "out").glob(f"flamegraph-pid{target.pid}-*.svg")
    assert out.startswith(f"wrote {svg} (") and out.rstrip().endswith("samples)")
    assert f"recording PID {target.pid}: 0/1 s" in err  # not a terminal: plain progress lines


def test_profile_script_passes_arguments_and_prints_the_scripts_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "spin.py"
    script.write_text(SPIN)

    status = main(["profile", "script", "--format", "speedscope", "--output-dir", str(tmp_path), str(script), "0.3"])

    out, _ = capsys.readouterr()
    assert status == 0
    assert "spinning" in out
    assert list(tmp_path.glob("flamegraph-spin-*.speedscope.json"))


def test_profile_pid_of_a_missing_process_fails_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    exited = subprocess.Popen([sys.executable, "-c", "pass"])
    exited.wait()

    assert main(["profile", "pid", str(exited.pid), "--duration", "1"]) == 1
    assert capsys.readouterr().err.strip() == f"nethical-otel profile: no process with PID {exited.pid}"


def test_a_terminal_gets_a_bar_redrawn_in_place() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Terminal()
    line = ProgressLine(stream, "recording PID 7")
    line.update(3, 10)
    line.update(10, 10)
    line.finish()

    assert stream.getvalue() == (
        "\rrecording PID 7 [#########---------------------]    3/10 s"
        "\rrecording PID 7 [##############################]   10/10 s\n"
    )


def test_non_positive_durations_are_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["profile", "pid", "1", "--duration", "0"])
    assert "--duration: must be positive, not 0" in capsys.readouterr().err
