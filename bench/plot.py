"""Writes bench/out/bench.png: the scaling curve and the per-document time distributions.

Run as a script (`python bench/plot.py DATA.json OUT.png`) by the peers' venv, which has matplotlib
(benchmark-only). When matplotlib is missing it falls back to a tiny stdlib PNG writer (zlib) that
draws the same two panels without text, so `make bench` always leaves a picture behind.
Data: {"scaling": {roles: seconds}, "distributions": {corpus: {tool: [ms, ...]}}}.
"""

from __future__ import annotations

import itertools
import json
import math
import struct
import sys
import zlib
from typing import Any

TOOL_COLOURS = {"ours": (31, 119, 180), "parliament": (255, 127, 14), "cloudsplaining": (44, 160, 44)}


def plot_matplotlib(data: dict[str, Any], out: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    corpora = list(data["distributions"])
    fig, axes = plt.subplots(1, 1 + len(corpora), figsize=(4.2 * (1 + len(corpora)), 4), dpi=90)
    scaling = {int(k): v for k, v in data["scaling"].items() if v}
    ax = axes[0]
    if scaling:
        xs = sorted(scaling)
        ax.plot(xs, [scaling[x] for x in xs], "o-", label="offline check")
        ax.plot(xs, [scaling[xs[0]] * x / xs[0] for x in xs], "--", color="grey", label="linear from first")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    ax.set_title("synthetic stack scaling")
    ax.set_xlabel("roles")
    ax.set_ylabel("seconds")
    for ax, corpus in zip(axes[1:], corpora, strict=False):
        tools = [t for t, v in data["distributions"][corpus].items() if v]
        series = [[max(v, 1e-3) for v in data["distributions"][corpus][t]] for t in tools]
        if series:
            parts = ax.boxplot(series, whis=(1, 99), showfliers=True, flierprops={"markersize": 2})
            ax.set_xticks(range(1, len(tools) + 1), tools, fontsize=8)
            del parts
        ax.set_yscale("log")
        ax.set_title(f"{corpus}: ms per document")
    fig.tight_layout()
    fig.savefig(out)


# --------------------------------------------------------------------------- stdlib fallback


def _png(width: int, height: int, pixels: list[bytearray]) -> bytes:
    raw = b"".join(b"\x00" + bytes(row) for row in pixels)

    def chunk(tag: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def plot_fallback(data: dict[str, Any], out: str) -> None:
    """Scaling curve (left) and a log-scale strip of per-document times per corpus and tool (right)."""
    w, h = 900, 300
    img = [bytearray(b"\xff" * (w * 3)) for _ in range(h)]

    def dot(x: int, y: int, colour: tuple[int, int, int], r: int = 1) -> None:
        for yy in range(max(0, y - r), min(h, y + r + 1)):
            for xx in range(max(0, x - r), min(w, x + r + 1)):
                img[yy][xx * 3 : xx * 3 + 3] = bytes(colour)

    scaling = sorted((int(k), v) for k, v in data["scaling"].items() if v)
    if scaling:
        top = max(v for _, v in scaling) or 1.0
        lo, hi = math.log10(scaling[0][0]), math.log10(scaling[-1][0]) or 1.0
        pts = [
            (20 + int(260 * (math.log10(n) - lo) / max(hi - lo, 1e-9)), 280 - int(260 * s / top))
            for n, s in scaling
        ]
        for (x0, y0), (x1, y1) in itertools.pairwise(pts):
            for i in range(101):
                dot(x0 + (x1 - x0) * i // 100, y0 + (y1 - y0) * i // 100, (0, 0, 0), 0)
        for x, y in pts:
            dot(x, y, (200, 0, 0), 3)
    column = 320
    for corpus in data["distributions"]:
        for tool, values in data["distributions"][corpus].items():
            for v in values:
                y = 280 - int(260 * (math.log10(max(v, 1e-3)) + 3) / 7)  # 1 us .. 10 s
                dot(column, max(0, min(h - 1, y)), TOOL_COLOURS.get(tool, (0, 0, 0)), 0)
            column += 20
        column += 30
    with open(out, "wb") as fh:
        fh.write(_png(w, h, img))


def main(argv: list[str]) -> int:
    with open(argv[1], encoding="utf-8") as fh:
        data = json.load(fh)
    try:
        plot_matplotlib(data, argv[2])
        print("matplotlib")
    except ImportError:
        plot_fallback(data, argv[2])
        print("fallback")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
