"""``nethical-otel rules export``: the SDK's rule table as Prometheus alerting rules and their tests."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from nethical_otel.cli._output import say


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("rules", help="export the predefined alert rules")
    commands = parser.add_subparsers(dest="rules_command", metavar="ACTION", required=True)
    export = commands.add_parser(
        "export",
        help="write the rules as a Prometheus rule file, and its promtool tests next to it",
        description="Writes FILE and FILE's promtool tests (alert-rules.yml -> alert-rules.test.yml). Without "
        "--output, prints the rules.",
    )
    export.add_argument("--format", choices=("prometheus",), default="prometheus", help="only Prometheus for now")
    export.add_argument(
        "--config",
        default=None,
        metavar="FILE",
        help="thresholds from this config (default: NETHICAL_OTEL_CONFIG)",
    )
    export.add_argument("--output", default=None, metavar="FILE", help="the rule file to write, e.g. alert-rules.yml")
    export.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if the files differ from the export"
    )
    export.set_defaults(handler=run_export)


def run_export(args: argparse.Namespace) -> int:
    from nethical_otel.alerting.rules import export
    from nethical_otel.config import load_config

    config = load_config(args.config).alerting.rules  # a ConfigError is reported by the command line itself
    if args.output is None:
        if args.check:
            say("nethical-otel rules export: --check needs --output", sys.stderr)
            return 2
        sys.stdout.write(export.prometheus(config).rules)
        return 0
    rules_path = Path(args.output)
    tests_path = export.tests_path(rules_path)
    exported = export.prometheus(config, rules_path.name)
    files = ((rules_path, exported.rules), (tests_path, exported.tests))
    if args.check:
        stale = [path for path, text in files if not path.is_file() or path.read_text(encoding="utf-8") != text]
        for path in stale:
            say(f"{path} differs from the export", sys.stderr)
        return 1 if stale else 0
    for path, text in files:
        path.write_text(text, encoding="utf-8")
        say(f"wrote {path}")
    return 0
