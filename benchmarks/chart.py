"""The Performance page's chart, drawn from the same results as its table."""

from __future__ import annotations

from pathlib import Path

from benchmarks._timing import Variant
from benchmarks.scrape import ScrapeResult


def draw(variants: list[Variant], scrapes: list[ScrapeResult], path: Path, caption: str) -> None:
    """Per-call cost of every variant, and scrape time against series, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")  # no display; must precede pyplot
    from matplotlib import pyplot

    figure, (calls, scrape) = pyplot.subplots(1, 2, figsize=(13, 5.5), gridspec_kw={"width_ratios": [3, 2]})
    names = [variant.name for variant in variants]
    costs = [variant.median_ns for variant in variants]
    colours = ["#3f51b5" if name.startswith(("@instrument_detector", "everything on")) else "#9e9e9e" for name in names]
    bars = calls.barh(names, costs, color=colours)
    calls.bar_label(bars, labels=[f"{cost:,.0f}" for cost in costs], padding=3, fontsize=8)
    calls.set_xscale("log")
    calls.invert_yaxis()
    calls.set_xlabel("ns per call (median, log scale)")
    calls.set_title("Cost of one detector call (nethical_otel in blue)")
    calls.tick_params(axis="y", labelsize=8)
    calls.margins(x=0.15)

    series = [result.series for result in scrapes]
    scrape.plot(series, [r.nethical_ms for r in scrapes], marker="o", color="#3f51b5", label="nethical_otel /metrics")
    scrape.plot(
        series, [r.prometheus_client_ms for r in scrapes], marker="s", color="#9e9e9e", label="prometheus_client"
    )
    scrape.set_xscale("log")
    scrape.set_yscale("log")
    scrape.set_xlabel("series on /metrics")
    scrape.set_ylabel("ms per scrape (median)")
    scrape.set_title("Scrape time")
    scrape.legend()
    scrape.grid(True, which="major", alpha=0.3)

    figure.text(0.01, 0.01, caption, fontsize=8, color="#555555")
    figure.tight_layout(rect=(0, 0.03, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100, metadata={"Software": None})
    pyplot.close(figure)
