"""``nethical-otel demo``: simulated detectors feeding every nethical_* metric, served on /metrics."""

from __future__ import annotations

import argparse
from typing import Any

from nethical_otel.config import DEFAULT_METRICS_HOST, DEFAULT_METRICS_PORT


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("demo", help="run simulated detectors and serve their metrics")
    parser.add_argument(
        "--duration", type=float, default=None, metavar="S", help="stop after S seconds (default: run until Ctrl-C)"
    )
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_METRICS_PORT,
        metavar="P",
        help="metrics port (default %(default)s; 0 = any free port)",
    )
    parser.add_argument("--host", default=DEFAULT_METRICS_HOST, help="metrics bind address (default %(default)s)")
    parser.add_argument(
        "--rate", type=float, default=50.0, metavar="N", help="detector calls per second (default %(default)s)"
    )
    parser.add_argument("--config", default=None, metavar="FILE", help="nethical_otel YAML config to start from")
    parser.add_argument("--seed", type=int, default=None, help="seed the simulation for a repeatable run")
    parser.add_argument(
        "--summary", default=None, metavar="FILE", help="write what the workload did as JSON at the end"
    )
    parser.add_argument(
        "--linger", type=float, default=0.0, metavar="S", help="keep serving S seconds after the workload ends"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from nethical_otel.demo import run_demo

    return run_demo(
        duration=args.duration,
        port=args.port,
        host=args.host,
        rate=args.rate,
        config=args.config,
        seed=args.seed,
        summary=args.summary,
        linger=args.linger,
    )
