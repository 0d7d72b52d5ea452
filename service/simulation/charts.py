"""Hand-made SVG charts (line, signed bars, Sankey) for the self-contained report: no scripts, no fonts."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#7f7f7f")
FONT = 'font-family="sans-serif"'


def _scale(peak: float) -> tuple[float, str]:
    """Display unit for money in 元: 亿元, 万元 or 元."""
    if peak >= 1e8:
        return 1e8, "亿元"
    if peak >= 1e4:
        return 1e4, "万元"
    return 1.0, "元"


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    if high <= low:
        return [low]
    step = (high - low) / count
    return [low + k * step for k in range(count + 1)]


def line_chart(
    title: str, x_label: str, xs: Sequence[float], series: Sequence[tuple[str, Sequence[float]]], money: bool = True
) -> str:
    """A line chart of several series over the same x values (money in 元, shown in a readable unit)."""
    width, height, left, right, top, bottom = 640, 300, 70, 150, 30, 40
    values = [v for _, ys in series for v in ys] or [0.0]
    unit, unit_name = _scale(max(abs(v) for v in values)) if money else (1.0, "")
    # Sweep curves vary by a few percent: scale to the data, not from zero, so the change shows.
    low, high = min(values) / unit, max(values) / unit
    pad = (high - low) * 0.05 or max(abs(high) * 0.05, 1.0)
    low, high = low - pad, high + pad
    x0, x1 = (min(xs), max(xs)) if xs else (0.0, 1.0)
    x1 = x1 if x1 > x0 else x0 + 1
    pw, ph = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + (x - x0) / (x1 - x0) * pw

    def py(y: float) -> float:
        return top + ph - (y / unit - low) / (high - low) * ph

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    heading = f"{title} ({unit_name})" if unit_name else title
    parts.append(
        f'<title>{escape(heading)}</title><text x="{left}" y="18" {FONT} font-size="14">{escape(heading)}</text>'
    )
    for t in _ticks(low, high):
        y = top + ph - (t - low) / (high - low) * ph
        parts.append(f'<line x1="{left}" x2="{left + pw}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{left - 4}" y="{y + 4:.1f}" {FONT} font-size="10" text-anchor="end">{t:,.2f}</text>')
    for t in _ticks(x0, x1):
        parts.append(
            f'<text x="{px(t):.1f}" y="{top + ph + 14}" {FONT} font-size="10" text-anchor="middle">{t:g}</text>'
        )
    parts.append(
        f'<text x="{left + pw / 2}" y="{height - 6}" {FONT} font-size="11" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    for k, (name, ys) in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        points = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in zip(xs, ys, strict=True))
        parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="2" points="{points}"/>')
        ly = top + 14 * k + 8
        parts.append(f'<rect x="{width - right + 10}" y="{ly - 8}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{width - right + 24}" y="{ly + 1}" {FONT} font-size="11">{escape(name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(title: str, bars: Sequence[tuple[str, float]]) -> str:
    """Horizontal bars of signed money changes (元), centred on zero."""
    row, width, label_w = 18, 640, 220
    height = 40 + row * max(1, len(bars))
    peak = max((abs(v) for _, v in bars), default=0.0) or 1.0
    unit, unit_name = _scale(peak)
    mid = label_w + (width - label_w - 90) / 2
    half = (width - label_w - 90) / 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    parts.append(
        f'<title>{escape(title)}</title><text x="4" y="16" {FONT} font-size="14">{escape(title)} ({unit_name})</text>'
    )
    parts.append(f'<line x1="{mid}" x2="{mid}" y1="26" y2="{height - 4}" stroke="#999"/>')
    for k, (name, value) in enumerate(bars):
        y = 30 + k * row
        w = abs(value) / peak * half
        x = mid if value >= 0 else mid - w
        color = PALETTE[2] if value >= 0 else PALETTE[1]
        parts.append(
            f'<text x="{label_w - 6}" y="{y + 12}" {FONT} font-size="11" text-anchor="end">{escape(name)}</text>'
        )
        parts.append(f'<rect x="{x:.1f}" y="{y + 2}" width="{max(w, 0.5):.1f}" height="{row - 5}" fill="{color}"/>')
        tx = mid + half + 4
        parts.append(f'<text x="{tx:.1f}" y="{y + 12}" {FONT} font-size="10">{value / unit:+,.2f}</text>')
    parts.append("</svg>")
    return "".join(parts)


def sankey(title: str, columns: Sequence[Sequence[str]], links: Sequence[tuple[str, str, float]]) -> str:
    """A Sankey diagram: nodes in columns, bands proportional to the money (元) of each link."""
    width, height, node_w, gap = 640, 320, 14, 18
    flows = [(s, t, v) for s, t, v in links if v > 0]
    size: dict[str, float] = {}
    for s, _, v in flows:
        size[s] = size.get(s, 0.0) + v
    inflow: dict[str, float] = {}
    for _, t, v in flows:
        inflow[t] = inflow.get(t, 0.0) + v
    for name, v in inflow.items():
        size[name] = max(size.get(name, 0.0), v)
    busiest = max((sum(size.get(n, 0.0) for n in col) for col in columns), default=0.0) or 1.0
    scale = (height - 60 - gap * max(len(c) for c in columns)) / busiest
    unit, unit_name = _scale(busiest)
    pos: dict[str, tuple[float, float]] = {}
    step = (width - 200) / max(1, len(columns) - 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img">']
    parts.append(
        f'<title>{escape(title)}</title><text x="4" y="16" {FONT} font-size="14">{escape(title)} ({unit_name})</text>'
    )
    for c, col in enumerate(columns):
        y = 30.0
        for name in col:
            if size.get(name, 0.0) <= 0:
                continue
            pos[name] = (20 + c * step, y)
            y += size[name] * scale + gap
    out_off = {n: 0.0 for n in pos}
    in_off = {n: 0.0 for n in pos}
    for k, (s, t, v) in enumerate(flows):
        if s not in pos or t not in pos:
            continue
        (sx, sy), (tx, ty) = pos[s], pos[t]
        h = v * scale
        y0, y1 = sy + out_off[s], ty + in_off[t]
        out_off[s] += h
        in_off[t] += h
        a, b = sx + node_w, tx
        m = (a + b) / 2
        path = (
            f"M{a:.1f},{y0:.1f} C{m:.1f},{y0:.1f} {m:.1f},{y1:.1f} {b:.1f},{y1:.1f} "
            f"L{b:.1f},{y1 + h:.1f} C{m:.1f},{y1 + h:.1f} {m:.1f},{y0 + h:.1f} {a:.1f},{y0 + h:.1f} Z"
        )
        parts.append(f'<path d="{path}" fill="{PALETTE[k % len(PALETTE)]}" fill-opacity="0.35"/>')
    for name, (x, y) in pos.items():
        h = max(size[name] * scale, 1.0)
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{node_w}" height="{h:.1f}" fill="#444"/>')
        parts.append(
            f'<text x="{x + node_w + 4:.1f}" y="{y + min(h / 2, 12) + 4:.1f}" {FONT} font-size="11">'
            f"{escape(name)} {size[name] / unit:,.2f}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
