"""Run the overhead suite, print the table and the budget, optionally refresh the Performance page.

python -m benchmarks                    # full run (a few minutes)
python -m benchmarks --quick            # fewer rounds, for a smoke run
python -m benchmarks --update-docs      # also rewrite the table in docs/performance.md and draw its chart
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmarks import alerting, chart, exemplars, overhead, scrape
from benchmarks._timing import Variant, run_interleaved
from docgen.blocks import write_block

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGE, CHART, BLOCK = DOCS / "performance.md", DOCS / "assets" / "performance.png", "benchmark"


@dataclass
class Budget:
    line: str
    measured: str
    passed: bool | None  # None: could not be measured here


def _machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def per_call_table(variants: list[Variant]) -> list[str]:
    bare = next(v for v in variants if v.name == "bare call").median_ns
    rows = ["| variant | ns per call | overhead over the bare call |", "|---|---:|---:|"]
    for variant in variants:
        rows.append(f"| {variant.name} | {variant.median_ns:,.0f} | {variant.median_ns - bare:,.0f} |")
    return rows


def budget(
    variants: list[Variant], scrape_ratio: float, on_end_ns: float, exemplar_cost: exemplars.ExemplarCost
) -> list[Budget]:
    ns = {v.name: v.median_ns for v in variants}
    full = ns["@instrument_detector, everything on"]
    handwritten = ns["hand-written OTel: span + 4 records"]
    metrics_only = max(ns["@instrument_detector, spans off"], ns["@instrument_detector, spans unsampled (always_off)"])
    ratio = ns["@instrument_detector, spans unsampled (traceidratio 0)"]
    lines = [
        Budget(
            "exemplars on ≤ 1 µs above exemplars off (recording step)",
            f"+{exemplar_cost.added_ns:,.0f} ns (whole call, median of pairs: {exemplar_cost.call_added_ns:+,.0f} ns)",
            exemplar_cost.added_ns <= 1000,
        ),
        Budget(
            "everything on ≤ 0.5 × hand-written OTel",
            f"{full / handwritten:.2f}×",
            full <= 0.5 * handwritten,
        ),
        Budget(
            "spans off or unsampled (always_off) ≤ prometheus_client style",
            f"{metrics_only:,.0f} ns vs {ns['prometheus_client, 4 records']:,.0f} ns",
            metrics_only <= ns["prometheus_client, 4 records"],
        ),
        Budget(
            "spans unsampled by a ratio sampler ≤ prometheus_client style",
            f"{ratio:,.0f} ns vs {ns['prometheus_client, 4 records']:,.0f} ns",
            ratio <= ns["prometheus_client, 4 records"],
        ),
        Budget(
            "before configure() within 2 µs of the bare call",
            f"+{ns['@instrument_detector before configure()'] - ns['bare call']:,.0f} ns",
            ns["@instrument_detector before configure()"] - ns["bare call"] <= 2000,
        ),
        Budget("scrape of 10,000 series ≤ 1.5 × prometheus_client", f"{scrape_ratio:.2f}×", scrape_ratio <= 1.5),
    ]
    if "ddtrace tracer.wrap" in ns:
        lines.insert(
            1,
            Budget(
                "everything on ≤ ddtrace tracer.wrap",
                f"{full:,.0f} ns vs {ns['ddtrace tracer.wrap']:,.0f} ns",
                full <= ns["ddtrace tracer.wrap"],
            ),
        )
    else:
        lines.insert(1, Budget("everything on ≤ ddtrace tracer.wrap", "ddtrace not installed", None))
    if on_end_ns is not None:
        lines.append(
            Budget("alert span processor on_end, span without threat < 1 µs", f"{on_end_ns:,.0f} ns", on_end_ns < 1000)
        )
    return lines


@contextlib.contextmanager
def _pyroscope_receiver() -> Iterator[str | None]:
    """A local Pyroscope push endpoint for the profiling variant; None without pyroscope-io."""
    try:
        import pyroscope  # noqa: F401
    except ImportError:
        yield None
        return
    from tests._support.pyroscope_receiver import PyroscopeReceiver

    with PyroscopeReceiver() as receiver:
        yield receiver.url


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--quick", action="store_true", help="3 rounds of 5,000 calls instead of 9 of 40,000")
    parser.add_argument(
        "--update-docs", action="store_true", help=f"write the table into {PAGE.name} and draw {CHART.name}"
    )
    args = parser.parse_args(argv)
    rounds, calls = (3, 5_000) if args.quick else (9, 40_000)

    started, load_at_start = time.time(), os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as workdir, _pyroscope_receiver() as pyroscope:
        variants, closers = overhead.build_variants(workdir, pyroscope)
        run_interleaved(variants, rounds=rounds, calls=calls)
        for close in closers:
            close()
    exemplar_cost = exemplars.measure(pairs=300 if args.quick else 2000)
    scrapes = scrape.measure(repeats=3 if args.quick else 7)
    on_end = alerting.on_end_ns()
    storms = [alerting.storm(enabled) for enabled in (False, True)]

    # Other work on a shared machine inflates and scatters the numbers; the load says how much there was.
    measured = (
        f"Measured {time.strftime('%Y-%m-%d', time.gmtime(started))} on {_machine()}, load average "
        f"{load_at_start:.1f} at the start and {os.getloadavg()[0]:.1f} at the end; "
        f"{rounds} interleaved rounds of {calls:,} calls, medians."
    )
    lines = [
        f"{measured} Command: `./scripts/benchmark{' --quick' if args.quick else ''}`.",
        "",
        *per_call_table(variants),
        "",
        *exemplars.table(exemplar_cost),
        "",
        *scrape.table(scrapes),
        "",
        *alerting.table(on_end, storms),
        "",
        "| budget | measured | |",
        "|---|---|---|",
    ]
    verdicts = budget(variants, scrapes[-1].ratio, max(on_end.values()), exemplar_cost)
    for item in verdicts:
        mark = "not measured" if item.passed is None else ("pass" if item.passed else "**FAIL**")
        lines.append(f"| {item.line} | {item.measured} | {mark} |")
    report = "\n".join(lines)
    print(report)
    if args.update_docs:
        write_block(PAGE, BLOCK, report)
        chart.draw(variants, scrapes, CHART, measured)
    return 0 if all(item.passed is not False for item in verdicts) else 1


if __name__ == "__main__":
    sys.exit(main())
