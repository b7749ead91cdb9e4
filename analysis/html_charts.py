"""Inline SVG charts for the HTML report, drawn in Python.

Generating SVG here keeps the report one self-contained file that opens offline, needs no JavaScript
(the page forbids scripts in its Content-Security-Policy) and renders identically in every browser. Each
chart carries `role="img"`, an `aria-label` and per-mark `<title>` tooltips; the exact figures are also in
the tables next to it, so nothing is only readable from a picture.

Every label that comes from span data is escaped here; callers pass plain text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from html import escape

__all__ = ["BAR_COLOR", "COLUMN_COLOR", "bar_chart", "column_chart", "nice_ticks"]

BAR_COLOR = "#2f6fde"
"""Fill of the bars of the "cost by ..." charts."""
COLUMN_COLOR = "#0f9d8a"
"""Fill of the columns of the cost-over-time chart."""
_GRID_COLOR = "#e3e7ee"
_AXIS_TEXT = "#4a5363"
_FONT = "font-family=\"system-ui, 'Segoe UI', 'Liberation Sans', 'DejaVu Sans', sans-serif\""


def _fmt(value: float) -> str:
    """Compact SVG coordinates."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def nice_ticks(maximum: float, count: int = 4) -> list[float]:
    """Round axis ticks from 0 up to at least `maximum` (1, 2, 2.5 or 5 times a power of ten)."""
    if maximum <= 0 or not math.isfinite(maximum):
        return [0.0, 1.0]
    raw_step = maximum / count
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    steps = math.ceil(maximum / step - 1e-9)
    return [step * i for i in range(steps + 1)]


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def bar_chart(
    rows: Sequence[tuple[str, Decimal, str]],
    *,
    label: str,
    width: int = 560,
    label_width: int = 190,
    value_width: int = 110,
) -> str:
    """Horizontal bars: (name, value, value text) per row, in the given order. Values must be >= 0."""
    row_height, bar_height, top = 26, 16, 4
    height = top + row_height * len(rows) + 4
    largest = max((float(value) for _, value, _ in rows), default=0.0) or 1.0
    plot_width = width - label_width - value_width - 12
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" {_FONT} font-size="12">'
    ]
    for index, (name, value, text) in enumerate(rows):
        y = top + index * row_height
        bar = max(2.0, plot_width * float(value) / largest) if value > 0 else 0.0
        x = label_width + 8
        parts.append(
            f'<g><title>{escape(name)}: {escape(text)}</title>'
            f'<text x="{label_width}" y="{_fmt(y + bar_height - 3)}" text-anchor="end" fill="#1d2433">'
            f"{escape(_truncate(name, 26))}</text>"
            f'<rect x="{x}" y="{y}" width="{_fmt(bar)}" height="{bar_height}" rx="2" fill="{BAR_COLOR}"/>'
            f'<text x="{_fmt(x + bar + 6)}" y="{_fmt(y + bar_height - 3)}" fill="{_AXIS_TEXT}">'
            f"{escape(text)}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def column_chart(
    columns: Sequence[tuple[str, Decimal, str]],
    *,
    label: str,
    tick_text: Callable[[float], str],
    width: int = 1140,
    height: int = 240,
) -> str:
    """Vertical columns over time: (axis label, value, tooltip) per bucket, oldest first.

    `tick_text(value)` formats a y-axis tick (money). Only non-empty axis labels are drawn, so the caller
    picks which buckets get one (round clock times); every column has its tooltip.
    """
    left, right, top, bottom = 78, 24, 10, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    largest = max((float(value) for _, value, _ in columns), default=0.0)
    ticks = nice_ticks(largest)
    scale_max = ticks[-1] or 1.0
    parts = [
        f'<svg class="chart" role="img" aria-label="{escape(label)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" {_FONT} font-size="12">'
    ]
    for tick in ticks:
        y = top + plot_h - plot_h * tick / scale_max
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{_fmt(y)}" y2="{_fmt(y)}" stroke="{_GRID_COLOR}"/>'
            f'<text x="{left - 6}" y="{_fmt(y + 4)}" text-anchor="end" fill="{_AXIS_TEXT}">'
            f"{escape(tick_text(tick))}</text>"
        )
    count = max(1, len(columns))
    slot = plot_w / count
    gap = max(min(6.0, slot * 0.2), slot - 48)  # columns at most 48 px wide, even for a handful of buckets
    for index, (axis_label, value, tooltip) in enumerate(columns):
        x = left + index * slot + gap / 2
        column_h = plot_h * float(value) / scale_max if value > 0 else 0.0
        if value > 0:
            column_h = max(column_h, 1.5)
        y = top + plot_h - column_h
        parts.append(
            f'<rect x="{_fmt(x)}" y="{_fmt(y)}" width="{_fmt(max(1.0, slot - gap))}" height="{_fmt(column_h)}" '
            f'fill="{COLUMN_COLOR}"><title>{escape(tooltip)}</title></rect>'
        )
        if axis_label:
            parts.append(
                f'<text x="{_fmt(x + (slot - gap) / 2)}" y="{height - bottom + 16}" text-anchor="middle" '
                f'fill="{_AXIS_TEXT}">{escape(axis_label)}</text>'
            )
    baseline = top + plot_h
    parts.append(
        f'<line x1="{left}" x2="{width - right}" y1="{baseline}" y2="{baseline}" stroke="{_AXIS_TEXT}"/></svg>'
    )
    return "".join(parts)
