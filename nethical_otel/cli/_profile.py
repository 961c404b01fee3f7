"""``nethical-otel profile pid PID`` and ``nethical-otel profile script FILE [ARGS...]``: py-spy flamegraphs."""

from __future__ import annotations

import argparse
import sys
from typing import Any, TextIO

from nethical_otel._text import terminal_lines
from nethical_otel.cli._output import LINE_MAX, fail, say

_BAR_WIDTH = 30


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("profile", help="record a flamegraph of a Python process or script with py-spy")
    targets = parser.add_subparsers(dest="target", metavar="TARGET", required=True)

    pid = targets.add_parser("pid", help="attach to a running Python process (needs ptrace permission)")
    pid.add_argument("pid", type=int, metavar="PID", help="process ID of the Python program")
    _add_recording_options(pid)
    pid.add_argument(
        "--blocking",
        action="store_true",
        help="pause the process for each sample (exact stacks, more overhead; default: never pause it)",
    )
    pid.set_defaults(handler=run)

    script = targets.add_parser("script", help="run a Python script under py-spy and record it")
    _add_recording_options(script)
    script.add_argument("--subprocesses", action="store_true", help="also record processes the script starts")
    script.add_argument("script", metavar="FILE", help="the script to run")
    script.add_argument("args", nargs=argparse.REMAINDER, metavar="ARGS", help="arguments for the script")
    script.set_defaults(handler=run)


def _add_recording_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duration", type=_positive_float, default=60.0, metavar="S", help="seconds to record (default %(default)g)"
    )
    parser.add_argument(
        "--rate", type=_positive_int, default=100, metavar="HZ", help="samples per second (default %(default)s)"
    )
    parser.add_argument(
        "--format", choices=("svg", "speedscope"), default="svg", help="SVG flamegraph or speedscope JSON"
    )
    parser.add_argument(
        "--output-dir", default="profiles", metavar="D", help="where to write the file (default %(default)s)"
    )


def run(args: argparse.Namespace) -> int:
    from nethical_otel.profiling import FlamegraphProfiler, PySpyError

    profiler = FlamegraphProfiler(args.output_dir)
    progress = ProgressLine(sys.stderr)
    try:
        if args.target == "pid":
            progress.label = f"recording PID {args.pid}"
            result = profiler.profile_pid(
                args.pid,
                args.duration,
                args.rate,
                format=args.format,
                nonblocking=not args.blocking,
                progress=progress.update,
            )
        else:
            progress.label = f"recording {args.script}"
            result = profiler.profile_script(
                args.script,
                args.duration,
                args.rate,
                args.args,
                format=args.format,
                subprocesses=args.subprocesses,
                progress=progress.update,
            )
    except (PySpyError, OSError, ValueError) as error:
        progress.finish()
        return fail("profile", error)
    progress.finish()
    if args.target == "script" and result.output:
        say(result.output, end="" if result.output.endswith("\n") else "\n")
    samples = f" ({result.samples} samples)" if result.samples is not None else ""
    say(f"wrote {result.path}{samples}")
    return 0


class ProgressLine:
    """A progress bar rewritten in place on a terminal; a line every 10 s elsewhere (logs, CI)."""

    def __init__(self, stream: TextIO, label: str = "recording") -> None:
        self.stream = stream
        self.label = label
        self._tty = stream.isatty()
        self._last_line = -1.0
        self._drawn = False

    def update(self, elapsed: float, total: float) -> None:
        label = terminal_lines(self.label, LINE_MAX)  # it names the script, a path of the user's
        done = min(1.0, elapsed / total) if total > 0 else 1.0
        if self._tty:
            filled = round(done * _BAR_WIDTH)
            bar = "#" * filled + "-" * (_BAR_WIDTH - filled)
            self.stream.write(f"\r{label} [{bar}] {elapsed:4.0f}/{total:.0f} s")
            self._drawn = True
        elif elapsed - self._last_line >= 10 or self._last_line < 0:
            self.stream.write(f"{label}: {elapsed:.0f}/{total:.0f} s\n")
            self._last_line = elapsed
        self.stream.flush()

    def finish(self) -> None:
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, not {text}")
    return value
