"""The ``nethical-otel`` command: ``demo``, and one sub-command group per part of the SDK."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from nethical_otel._version import __version__
from nethical_otel.cli import _alert, _demo, _output, _profile, _rules
from nethical_otel.config import ConfigError

# Each module adds its sub-command with add_parser(subparsers) and sets `handler` on it.
_COMMANDS = (_demo, _alert, _rules, _profile)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nethical-otel", description="OpenTelemetry observability for AI threat detectors"
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug output")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in _COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        return int(args.handler(args) or 0)
    except ConfigError as error:  # it names the file or the key; a traceback would add nothing
        _output.fail(args.command, error)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
