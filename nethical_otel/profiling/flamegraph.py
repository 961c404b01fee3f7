"""On-demand flamegraphs: py-spy for a running process or a script, cProfile for one function call.

py-spy samples another process from the outside (it reads the target's memory with ptrace), so the
profiled program needs no changes and pays little. cProfile traces every call inside this process:
exact call counts, more overhead, no extra binary or permission. Every method returns the paths it
wrote.
"""

from __future__ import annotations

import cProfile
import inspect
import io
import math
import os
import pstats
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from nethical_otel.profiling._collapsed import collapsed_stacks, format_collapsed

T = TypeVar("T")

# (seconds recorded so far, seconds requested); called about twice a second while py-spy records.
Progress = Callable[[float, float], None]

FORMATS = {"svg": ("flamegraph", ".svg"), "speedscope": ("speedscope", ".speedscope.json")}

INSTALL_HINT = "pip install py-spy (or pip install 'nethical-otel[profiling]')"
PTRACE_HINT = (
    'py-spy reads the target\'s memory through ptrace. Run it as root (sudo env "PATH=$PATH" ...), or grant '
    "CAP_SYS_PTRACE (Docker: --cap-add SYS_PTRACE; Kubernetes: securityContext.capabilities.add: [SYS_PTRACE]), "
    "or allow ptrace between processes of one user with `sysctl kernel.yama.ptrace_scope=0`. "
    "profile_script() needs none of this: py-spy starts the script as its own child."
)

# py-spy finishes recording on its own after --duration; this much longer and it is stuck.
_OVERRUN_SECONDS = 30.0
_KEEP_OUTPUT_BYTES = 64 * 1024  # of the console output, the end (py-spy's summary is last)
_SAMPLES = re.compile(r"Samples: (\d+) Errors: (\d+)")


class PySpyError(RuntimeError):
    """py-spy failed; the message carries its output."""


class PySpyNotFoundError(PySpyError):
    """The py-spy executable is not installed."""


class PySpyPermissionError(PySpyError):
    """py-spy may not attach to the target process (ptrace permission)."""


@dataclass(frozen=True)
class FlamegraphResult:
    """A py-spy recording: the file written and what py-spy reported."""

    path: Path
    format: str
    samples: int | None
    errors: int | None
    output: str  # what py-spy, and for a script the script itself, printed

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.path,)


@dataclass(frozen=True)
class FunctionProfile:
    """A cProfile run of one call: the raw stats, a text report, collapsed stacks, and the return value."""

    stats_path: Path  # pstats file: python -m pstats, snakeviz, gprof2dot
    report_path: Path  # top functions by cumulative and by own time
    collapsed_path: Path  # flamegraph.pl / inferno-flamegraph / speedscope input
    result: Any
    wall_seconds: float

    @property
    def paths(self) -> tuple[Path, ...]:
        return (self.stats_path, self.report_path, self.collapsed_path)


class FlamegraphProfiler:
    """Writes flamegraphs and profiles into ``output_dir`` (created when missing).

    ``py_spy`` is the py-spy executable; by default the one on PATH or next to this Python.
    ``top`` is how many functions the cProfile text report lists.
    """

    def __init__(self, output_dir: str | os.PathLike[str] = "profiles", *, py_spy: str | None = None, top: int = 30):
        if top < 1:
            raise ValueError(f"top must be at least 1, not {top}")
        self.output_dir = Path(output_dir)
        self._py_spy = py_spy
        self._top = top

    # py-spy ----------------------------------------------------------------------------------------
    def profile_pid(
        self,
        pid: int,
        duration_seconds: float = 60,
        rate_hz: int = 100,
        *,
        format: str = "svg",
        nonblocking: bool = True,
        progress: Progress | None = None,
    ) -> FlamegraphResult:
        """Record the running Python process ``pid`` for ``duration_seconds``.

        ``nonblocking`` (the default, for production) samples without pausing the target; stacks
        may then be slightly inconsistent now and then. Needs ptrace permission on ``pid``.
        """
        if isinstance(pid, bool) or not isinstance(pid, int) or pid <= 0:
            raise ValueError(f"pid must be a positive integer, not {pid!r}")
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            raise ProcessLookupError(f"no process with PID {pid}") from None
        except PermissionError:
            pass  # it exists but belongs to another user; py-spy says whether it may attach
        target = ["--pid", str(pid), *(["--nonblocking"] if nonblocking else [])]
        return self._record(target, f"pid{pid}", duration_seconds, rate_hz, format, progress)

    def profile_script(
        self,
        script_path: str | os.PathLike[str],
        duration_seconds: float = 60,
        rate_hz: int = 100,
        args: Sequence[str] = (),
        *,
        format: str = "svg",
        subprocesses: bool = False,
        python: str | None = None,
        progress: Progress | None = None,
    ) -> FlamegraphResult:
        """Run ``script_path`` with ``args`` under py-spy and record it until it exits, or at most
        ``duration_seconds`` (then py-spy stops it). ``python`` defaults to this interpreter."""
        script = Path(script_path)
        if not script.is_file():
            raise FileNotFoundError(f"no script at {str(script)!r}")
        if isinstance(args, str):
            raise TypeError("args must be a sequence of strings, not one string")
        command = [python or sys.executable, str(script), *map(str, args)]
        target = [*(["--subprocesses"] if subprocesses else []), "--", *command]
        return self._record(target, _safe_name(script.stem), duration_seconds, rate_hz, format, progress)

    def _record(
        self,
        target: list[str],
        name: str,
        duration_seconds: float,
        rate_hz: int,
        format: str,
        progress: Progress | None,
    ) -> FlamegraphResult:
        if format not in FORMATS:
            raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
        if not duration_seconds > 0:
            raise ValueError(f"duration_seconds must be positive, not {duration_seconds!r}")
        if isinstance(rate_hz, bool) or not isinstance(rate_hz, int) or rate_hz < 1:
            raise ValueError(f"rate_hz must be a positive integer, not {rate_hz!r}")
        py_spy_format, suffix = FORMATS[format]
        seconds = math.ceil(duration_seconds)  # py-spy takes whole seconds
        output = self._new_path(f"flamegraph-{name}", suffix)
        command = [
            self.py_spy_path(),
            "record",
            "--duration",
            str(seconds),
            "--rate",
            str(rate_hz),
            "--format",
            py_spy_format,
            "--output",
            str(output),
            *target,
        ]
        with tempfile.TemporaryFile() as log:
            returncode = _run_with_progress(command, log, seconds, progress)
            size = log.seek(0, os.SEEK_END)
            log.seek(max(0, size - _KEEP_OUTPUT_BYTES))
            text = log.read().decode("utf-8", "replace")
        if returncode != 0 or not output.is_file() or output.stat().st_size == 0:
            output.unlink(missing_ok=True)
            raise _py_spy_failure(text, returncode, " ".join(target))
        match = _SAMPLES.search(text)
        samples, errors = (int(match.group(1)), int(match.group(2))) if match else (None, None)
        return FlamegraphResult(output, format, samples, errors, text)

    def py_spy_path(self) -> str:
        """The py-spy executable to run, or :class:`PySpyNotFoundError` saying how to install it."""
        if self._py_spy is not None:
            if shutil.which(self._py_spy) is None:
                raise PySpyNotFoundError(f"py-spy not found at {self._py_spy!r}; {INSTALL_HINT}")
            return self._py_spy
        found = shutil.which("py-spy")
        if found is not None:
            return found
        # Installed into this Python's environment but the environment is not on PATH (not activated).
        beside = Path(sys.executable).parent / "py-spy"
        if beside.is_file() and os.access(beside, os.X_OK):
            return str(beside)
        raise PySpyNotFoundError(f"py-spy is not installed: {INSTALL_HINT}")

    # cProfile --------------------------------------------------------------------------------------
    def profile_sync(self, func: Callable[..., T], *args: Any, **kwargs: Any) -> FunctionProfile:
        """Call ``func(*args, **kwargs)`` under cProfile; the return value is in ``.result``.

        An exception from ``func`` propagates after the profile of the failed call is written.
        """
        if not callable(func):
            raise TypeError(f"func must be callable, not {type(func).__name__}")
        profiler = cProfile.Profile()
        start = time.perf_counter()
        result: Any = None
        try:
            result = profiler.runcall(func, *args, **kwargs)
        finally:
            wall = time.perf_counter() - start
            written = self._write_profile(profiler, _function_name(func), wall)
        return FunctionProfile(*written, result=result, wall_seconds=wall)

    async def profile_function(
        self, func: Callable[..., Awaitable[T] | T], *args: Any, **kwargs: Any
    ) -> FunctionProfile:
        """Like :meth:`profile_sync`, awaiting ``func`` when it is a coroutine function.

        cProfile follows the thread, not the task: while ``func`` awaits, whatever else the event
        loop runs is in the profile too.
        """
        if not callable(func):
            raise TypeError(f"func must be callable, not {type(func).__name__}")
        profiler = cProfile.Profile()
        start = time.perf_counter()
        result: Any = None
        profiler.enable()
        try:
            result = func(*args, **kwargs)
            if inspect.isawaitable(result):
                result = await result
        finally:
            profiler.disable()
            wall = time.perf_counter() - start
            written = self._write_profile(profiler, _function_name(func), wall)
        return FunctionProfile(*written, result=result, wall_seconds=wall)

    def _write_profile(self, profiler: cProfile.Profile, name: str, wall: float) -> tuple[Path, Path, Path]:
        stats_path = self._new_path(f"profile-{_safe_name(name)}", ".prof")
        profiler.dump_stats(stats_path)
        report_path = stats_path.with_suffix(".txt")
        collapsed_path = stats_path.with_suffix(".collapsed")
        report = io.StringIO()
        stats = pstats.Stats(profiler, stream=report)
        report.write(
            f"cProfile of {name}: {wall:.6f} s wall time, {stats.total_calls} calls "  # type: ignore[attr-defined]
            f"({stats.prim_calls} primitive), {stats.total_tt:.6f} s profiled CPU time\n\n"  # type: ignore[attr-defined]
        )
        report.write(f"Top {self._top} functions by cumulative time\n")
        stats.sort_stats(pstats.SortKey.CUMULATIVE).print_stats(self._top)
        report.write(f"Top {self._top} functions by own time\n")
        stats.sort_stats(pstats.SortKey.TIME).print_stats(self._top)
        report_path.write_text(report.getvalue(), encoding="utf-8")
        stacks = collapsed_stacks(stats.stats)  # type: ignore[attr-defined]
        collapsed_path.write_text(format_collapsed(stacks), encoding="utf-8")
        return stats_path, report_path, collapsed_path

    def _new_path(self, stem: str, suffix: str) -> Path:
        """A fresh file name in the output directory: ``stem-YYYYmmdd-HHMMSS[-n]suffix``."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        base = f"{stem}-{time.strftime('%Y%m%d-%H%M%S')}"
        for attempt in range(10_000):
            path = self.output_dir / f"{base}{f'-{attempt}' if attempt else ''}{suffix}"
            try:
                path.touch(exist_ok=False)  # claims the name, even against a concurrent profiler
            except FileExistsError:
                continue
            return path
        raise FileExistsError(f"no free file name for {base}{suffix} in {self.output_dir}")


def _run_with_progress(command: list[str], log: Any, seconds: int, progress: Progress | None) -> int:
    process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    start = time.monotonic()
    if progress is not None:
        progress(0.0, float(seconds))
    try:
        while True:
            try:
                return process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                pass
            elapsed = time.monotonic() - start
            if progress is not None:
                progress(min(elapsed, float(seconds)), float(seconds))
            if elapsed > seconds + _OVERRUN_SECONDS:
                raise PySpyError(f"py-spy did not finish {_OVERRUN_SECONDS:g} s after the {seconds} s recording")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _py_spy_failure(output: str, returncode: int, target: str) -> PySpyError:
    lines = [line.strip() for line in output.replace("\r", "\n").splitlines() if line.strip()]
    said = "\n".join(lines[-10:]) or "(no output)"
    if "permission denied" in output.lower() or "operation not permitted" in output.lower():
        return PySpyPermissionError(f"py-spy may not attach to {target}:\n{said}\n{PTRACE_HINT}")
    return PySpyError(f"py-spy failed on {target} (exit status {returncode}):\n{said}")


def _function_name(func: Callable[..., Any]) -> str:
    return str(getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or type(func).__name__)


def _safe_name(name: str) -> str:
    """A file-name-safe version of ``name``."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._")
    return cleaned[:80] or "profile"
