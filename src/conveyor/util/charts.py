"""Charts as inline SVG, drawn on the server: no JavaScript, nothing fetched.

`line_chart` takes points (one per build, oldest first) and several named series; a missing
value leaves a gap in its line instead of failing the chart. `latency_chart` draws one latency
distribution by percentile (the performance stage's report).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape

WIDTH, HEIGHT = 480, 200
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 48, 12, 30, 30
PALETTE = ("#2563eb", "#d97706", "#dc2626", "#059669", "#7c3aed")


@dataclass(frozen=True)
class Point:
    label: str  # what the x position stands for (short digest, revision)
    failed: bool = False  # the build's evidence failed: the marker is drawn hollow and red


def number(value: object) -> float | None:
    """A finite number from a figures value, or None (strings, booleans, NaN do not count)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten at or above value (for the y axis)."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def _fmt(value: float) -> str:
    return f"{value:.0f}" if value >= 100 or value == int(value) else f"{value:.3g}"


def line_chart(
    title: str,
    unit: str,
    points: Sequence[Point],
    series: Mapping[str, Sequence[float | None]],
    width: int = WIDTH,
    height: int = HEIGHT,
) -> str:
    """SVG markup for one chart; each series has one value (or None) per point."""
    values = [v for vals in series.values() for v in vals if v is not None]
    label = escape(f"{title} ({unit})")
    parts = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{label}">',
        f"<title>{label}</title>",
        f'<text class="heading" x="{PAD_LEFT}" y="13">{label}</text>',
    ]
    plot_w = width - PAD_LEFT - PAD_RIGHT
    plot_h = height - PAD_TOP - PAD_BOTTOM
    if not values or not points:
        parts.append(f'<text class="empty" x="{width / 2:.0f}" y="{height / 2:.0f}" '
                     'text-anchor="middle">no measurements yet</text></svg>')
        return "".join(parts)
    top = nice_ceiling(max(values))

    def x(i: int) -> float:
        return PAD_LEFT + (plot_w / 2 if len(points) == 1 else plot_w * i / (len(points) - 1))

    def y(v: float) -> float:
        return PAD_TOP + plot_h * (1 - v / top)

    for k in range(5):  # horizontal grid with its scale
        value = top * k / 4
        parts.append(f'<line class="grid" x1="{PAD_LEFT}" x2="{width - PAD_RIGHT}" '
                     f'y1="{y(value):.1f}" y2="{y(value):.1f}"/>')
        parts.append(f'<text class="tick" x="{PAD_LEFT - 6}" y="{y(value) + 4:.1f}" '
                     f'text-anchor="end">{_fmt(value)}</text>')
    for i in sorted({0, len(points) - 1}):  # the first and the last build name the x axis
        anchor = "middle" if len(points) == 1 else "end" if i else "start"
        parts.append(f'<text class="tick" x="{x(i):.1f}" y="{height - 10}" '
                     f'text-anchor="{anchor}">{escape(points[i].label)}</text>')

    legend_x = PAD_LEFT + 16 + 7 * len(label)
    for n, (name, vals) in enumerate(series.items()):
        colour = PALETTE[n % len(PALETTE)]
        for run in _runs(vals):
            coords = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in run)
            parts.append(f'<polyline class="line" fill="none" stroke="{colour}" '
                         f'stroke-width="2" points="{coords}"/>')
        for i, v in enumerate(vals):
            if v is None or i >= len(points):
                continue
            failed = points[i].failed
            parts.append(
                f'<circle class="dot{" failed" if failed else ""}" cx="{x(i):.1f}" '
                f'cy="{y(v):.1f}" r="3" fill="{"#fff" if failed else colour}" '
                f'stroke="{"#dc2626" if failed else colour}"><title>'
                f"{escape(f'{name} {_fmt(v)} {unit} - {points[i].label}')}"
                f"{' (failed)' if failed else ''}</title></circle>"
            )
        parts.append(f'<rect x="{legend_x}" y="8" width="10" height="3" '
                     f'fill="{colour}"/><text class="legend" x="{legend_x + 13}" '
                     f'y="13">{escape(name)}</text>')
        legend_x += 18 + 7 * len(name)
    parts.append("</svg>")
    return "".join(parts)


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """Consecutive present values, so a missing measurement breaks the line."""
    runs: list[list[tuple[int, float]]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((i, v))
    return [r for r in runs if r]


# The latency chart of a performance report: percentile (x, log of 1/(1-p)) -> ms (y).
L_WIDTH, L_HEIGHT, L_MARGIN = 640, 360, 56


def _x(percentile: float) -> float:
    """HdrHistogram-style axis: 1/(1-p), so the tail gets room."""
    nines = math.log10(1 / max(1e-4, 1 - min(percentile, 99.99) / 100))
    return L_MARGIN + nines / 4 * (L_WIDTH - 2 * L_MARGIN)


def latency_chart(distribution_ms: Mapping[str, float], title: str) -> str:
    points = sorted((float(p), v) for p, v in distribution_ms.items())
    top = max((v for _, v in points), default=1.0) or 1.0

    def y(value: float) -> float:
        return L_HEIGHT - L_MARGIN - value / top * (L_HEIGHT - 2 * L_MARGIN)

    line = " ".join(f"{_x(p):.1f},{y(v):.1f}" for p, v in points)
    ticks = "".join(
        f'<text x="{_x(p):.1f}" y="{L_HEIGHT - L_MARGIN + 18}" font-size="11" '
        f'text-anchor="middle">{label}</text>'
        for p, label in ((0, "0%"), (90, "90%"), (99, "99%"), (99.9, "99.9%"), (99.99, "99.99%")))
    labels = "".join(
        f'<circle cx="{_x(p):.1f}" cy="{y(v):.1f}" r="3"/><text x="{_x(p) + 4:.1f}" '
        f'y="{y(v) - 6:.1f}" font-size="10">{v:g}</text>'
        for p, v in points if p in (50.0, 95.0, 99.0))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{L_WIDTH}" height="{L_HEIGHT}" '
        f'font-family="sans-serif">'
        f'<text x="{L_MARGIN}" y="24" font-size="14">{escape(title)}: latency by percentile '
        f'(ms)</text>'
        f'<line x1="{L_MARGIN}" y1="{L_HEIGHT - L_MARGIN}" x2="{L_WIDTH - L_MARGIN}" '
        f'y2="{L_HEIGHT - L_MARGIN}" stroke="black"/>'
        f'<line x1="{L_MARGIN}" y1="{L_MARGIN}" x2="{L_MARGIN}" y2="{L_HEIGHT - L_MARGIN}" '
        f'stroke="black"/>'
        f'<text x="8" y="{L_MARGIN + 4}" font-size="11">{top:g}</text>'
        f'<polyline fill="none" stroke="{PALETTE[0]}" stroke-width="2" points="{line}"/>'
        f"{labels}{ticks}</svg>\n"
    )
