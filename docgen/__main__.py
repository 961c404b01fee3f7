"""Regenerate every generated block of README.md and docs/ (``scripts/docs generate``).

python -m docgen            # rewrite the blocks that are out of date
python -m docgen --check    # exit 1 and name the stale blocks, writing nothing
"""

from __future__ import annotations

import argparse
import sys

from docgen.pages import GENERATED


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m docgen")
    parser.add_argument("--check", action="store_true", help="only report stale blocks")
    args = parser.parse_args(argv)
    stale = [block for block in GENERATED if not block.is_current()]
    if not args.check:
        for block in stale:
            block.write()
            print(f"updated {block.where}")
        return 0
    for block in stale:
        print(f"out of date: {block.where}; run scripts/docs generate", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
