"""Command line and reporting shared by the two example apps (plain application code)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def parse_args(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--linger", type=float, default=0.0, help="keep running this many seconds after the work")
    parser.add_argument("--summary", type=Path, help="write the outcome counts here as JSON when the work is done")
    return parser.parse_args()


def report(counts: dict[str, int], summary: Path | None) -> None:
    print(f"done: {counts['calls']} detector calls, {counts['threats']} threats, {counts['errors']} errors", flush=True)
    if summary is not None:
        summary.write_text(json.dumps(counts), encoding="utf-8")
