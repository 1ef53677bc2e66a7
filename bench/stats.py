"""Summary statistics and table formatting for per-document timings (stdlib only)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile: the value at or below which `pct`% of the samples fall (no interpolation,
    so p99 is always a time some document really took)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def summarize(values: Sequence[float]) -> dict[str, float]:
    """mean, median, p99 and max of a list of milliseconds (NaN when there are none)."""
    if not values:
        return {"n": 0, "mean": math.nan, "median": math.nan, "p99": math.nan, "max": math.nan}
    return {
        "n": len(values),
        "mean": statistics.fmean(values),
        "median": statistics.median(values),
        "p99": percentile(values, 99),
        "max": max(values),
    }


def speedup(theirs: float, ours: float) -> float | None:
    """Their mean time divided by ours (None when either side did not run)."""
    if not ours or math.isnan(ours) or math.isnan(theirs):
        return None
    return round(theirs / ours, 1)


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain Markdown table, column-aligned so it also reads well in a terminal."""
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]

    def line(cells: list[object]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=False)) + " |"

    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|", *map(line, rows)])


def fmt_ms(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.0f}"
