"""What the ``nethical-otel`` commands print: every line terminal-safe, whatever it quotes.

Error messages quote config keys, file names and the output of other programs; none of it may move the
cursor, retitle the terminal, reverse text or hide a line (see :mod:`nethical_otel._text`).
"""

from __future__ import annotations

import sys
from typing import TextIO

from nethical_otel._text import terminal_lines

# Longer lines are cut with an ellipsis: no terminal shows them whole, and nothing is lost that matters.
LINE_MAX = 4096


def say(text: object, stream: TextIO | None = None, *, end: str = "\n") -> None:
    """Print ``text`` cleaned for a terminal, to ``stream`` (default stdout)."""
    print(terminal_lines(text, LINE_MAX), end=end, file=stream or sys.stdout, flush=True)


def fail(command: str, error: object) -> int:
    """Report ``error`` on stderr as ``nethical-otel <command>: <error>``; the exit status 1."""
    say(f"nethical-otel {command}: {error}", sys.stderr)
    return 1
