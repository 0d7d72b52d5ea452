"""Small line charts as inline SVG for the what-if report: one unit per chart, labelled axes, no script.

Presentation attributes only (no ``style``), so the pages' Content-Security-Policy holds; the chart scales
to its box (``viewBox``), so it fits a 390 px phone.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from html import escape

COLOURS = ("#1f4e79", "#c0504d", "#2e7d32", "#8a5a00", "#6a1b9a", "#00838f", "#5d4037", "#455a64")
W, H = 480, 320
LEFT, RIGHT, TOP, BOTTOM = 76, 18, 30, 70


@dataclass(frozen=True)
class Series:
    label: str
    values: Sequence[Decimal]


def _ticks(low: Decimal, high: Decimal, count: int = 5) -> list[Decimal]:
    if high == low:
        return [low]
    raw = (high - low) / (count - 1)
    magnitude = Decimal(10) ** (raw.adjusted())
    step = next((m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw), 10 * magnitude)
    start = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step
    out: list[Decimal] = []
    value = start
    while value <= high + step / 1000 and len(out) < 12:
        out.append(value)
        value += step
    return out


def line_chart(
    title: str,
    xs: Sequence[Decimal],
    series: Sequence[Series],
    x_label: str,
    y_label: str,
    x_text: Callable[[Decimal], str],
    y_text: Callable[[Decimal], str],
) -> str:
    """An SVG line chart; every number on it is formatted by ``x_text``/``y_text`` (units in the labels)."""
    if not xs or not series:
        return ""
    values = [v for s in series for v in s.values]
    low, high = min(values), max(values)
    if low == high:
        low, high = low - 1, high + 1
    ticks = _ticks(low, high)
    low, high = min(low, ticks[0]), max(high, ticks[-1])
    x_low, x_high = min(xs), max(xs)
    span_x = (x_high - x_low) or Decimal(1)

    def px(x: Decimal) -> float:
        return LEFT + float((x - x_low) / span_x) * (W - LEFT - RIGHT)

    def py(y: Decimal) -> float:
        return TOP + (1 - float((y - low) / (high - low))) * (H - TOP - BOTTOM)

    parts = [
        f'<svg class="chart" viewBox="0 0 {W} {H}" width="100%" role="img" aria-label="{escape(title)}" '
        'xmlns="http://www.w3.org/2000/svg" font-size="16" font-family="sans-serif">',
        f"<title>{escape(title)}</title>",
    ]
    for t in ticks:
        at = py(t)
        parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{at:.1f}" y2="{at:.1f}" stroke="#e3e7ec"/>')
        parts.append(
            f'<text x="{LEFT - 6}" y="{at + 4:.1f}" text-anchor="end" fill="#5b6776">{escape(y_text(t))}</text>'
        )
    step = max(1, -(-len(xs) // 5))
    shown = list(xs[::step])
    if xs[-1] not in shown:
        shown.append(xs[-1])
    for tick in shown:
        label = escape(x_text(tick))
        parts.append(
            f'<text x="{px(tick):.1f}" y="{H - BOTTOM + 20}" text-anchor="middle" fill="#5b6776">{label}</text>'
        )
    parts.append(f'<line x1="{LEFT}" x2="{W - RIGHT}" y1="{H - BOTTOM}" y2="{H - BOTTOM}" stroke="#5b6776"/>')
    parts.append(
        f'<text x="{(LEFT + W - RIGHT) / 2}" y="{H - 28}" text-anchor="middle" fill="#1d2733">{escape(x_label)}</text>'
    )
    parts.append(f'<text x="4" y="{TOP - 10}" fill="#1d2733">{escape(y_label)}</text>')
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, s.values, strict=True))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="{points}"/>')
        for x, y in zip(xs, s.values, strict=True):
            parts.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{colour}"/>')
    legend_y = H - 4
    left = LEFT
    for i, s in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        parts.append(f'<rect x="{left}" y="{legend_y - 12}" width="14" height="14" fill="{colour}"/>')
        parts.append(f'<text x="{left + 16}" y="{legend_y}" fill="#1d2733">{escape(s.label)}</text>')
        left += 30 + 17 * len(s.label)
    parts.append("</svg>")
    return "".join(parts)
