"""An SVG chart of a latency distribution (percentile -> milliseconds), written by hand."""

from __future__ import annotations

import math
from collections.abc import Mapping
from xml.sax.saxutils import escape

WIDTH, HEIGHT, MARGIN = 640, 360, 56


def _x(percentile: float) -> float:
    """HdrHistogram-style axis: 1/(1-p), so the tail gets room."""
    nines = math.log10(1 / max(1e-4, 1 - min(percentile, 99.99) / 100))
    return MARGIN + nines / 4 * (WIDTH - 2 * MARGIN)


def svg(distribution_ms: Mapping[str, float], title: str) -> str:
    points = sorted((float(p), v) for p, v in distribution_ms.items())
    top = max((v for _, v in points), default=1.0) or 1.0

    def y(value: float) -> float:
        return HEIGHT - MARGIN - value / top * (HEIGHT - 2 * MARGIN)

    line = " ".join(f"{_x(p):.1f},{y(v):.1f}" for p, v in points)
    ticks = "".join(
        f'<text x="{_x(p):.1f}" y="{HEIGHT - MARGIN + 18}" font-size="11" '
        f'text-anchor="middle">{label}</text>'
        for p, label in ((0, "0%"), (90, "90%"), (99, "99%"), (99.9, "99.9%"), (99.99, "99.99%")))
    labels = "".join(
        f'<circle cx="{_x(p):.1f}" cy="{y(v):.1f}" r="3"/><text x="{_x(p) + 4:.1f}" '
        f'y="{y(v) - 6:.1f}" font-size="10">{v:g}</text>'
        for p, v in points if p in (50.0, 95.0, 99.0))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'font-family="sans-serif">'
        f'<text x="{MARGIN}" y="24" font-size="14">{escape(title)}: latency by percentile '
        f'(ms)</text>'
        f'<line x1="{MARGIN}" y1="{HEIGHT - MARGIN}" x2="{WIDTH - MARGIN}" '
        f'y2="{HEIGHT - MARGIN}" stroke="black"/>'
        f'<line x1="{MARGIN}" y1="{MARGIN}" x2="{MARGIN}" y2="{HEIGHT - MARGIN}" stroke="black"/>'
        f'<text x="8" y="{MARGIN + 4}" font-size="11">{top:g}</text>'
        f'<polyline fill="none" stroke="#1f77b4" stroke-width="2" points="{line}"/>'
        f"{labels}{ticks}</svg>\n"
    )
