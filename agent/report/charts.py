"""Bar charts as inline SVG, made here (no chart library, nothing fetched when the report is opened)."""
from __future__ import annotations

from html import escape

COLORS = {"cached": "#9ecae1", "prompt": "#3182bd", "completion": "#e6550d", "cost": "#31a354",
          "duration": "#756bb1"}


def bar_chart(labels: list[str], series: list[tuple[str, list[float]]], *, title: str, unit: str = "",
              width: int = 960, height: int = 200, money: bool = False) -> str:
    """Stacked bars, one per label (a step, a task), each `series` (name, values) a colour; a tooltip per bar."""
    left, bottom, top = 64, 22, 24
    plot_w, plot_h = width - left - 8, height - bottom - top
    totals = [sum(values[i] for _, values in series) for i in range(len(labels))]
    peak = max(totals, default=0) or 1
    slot = plot_w / max(len(labels), 1)
    bar = min(max(slot * 0.8, 0.6), 48)
    fmt = _money if money else _count
    parts = [f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="100%" '
             f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
             f'<text x="{left}" y="14" class="chart-title">{escape(title)}</text>']
    for fraction in (0, 0.5, 1):
        y = top + plot_h * (1 - fraction)
        parts.append(f'<line x1="{left}" x2="{width - 8}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">'
                     f'{fmt(peak * fraction)}{escape(unit)}</text>')
    for i, label in enumerate(labels):
        x, base = left + i * slot + (slot - bar) / 2, top + plot_h
        tip = escape(f"{label}: " + ", ".join(f"{name} {fmt(values[i])}{unit}" for name, values in series))
        parts.append(f"<g><title>{tip}</title>")
        for name, values in series:
            h = plot_h * values[i] / peak
            if h > 0:
                base -= h
                parts.append(f'<rect x="{x:.2f}" y="{base:.2f}" width="{bar:.2f}" height="{h:.2f}" '
                             f'fill="{COLORS.get(name, "#888")}"/>')
        parts.append("</g>")
    step = max(1, len(labels) // 12)
    for i in range(0, len(labels), step):
        parts.append(f'<text x="{left + (i + 0.5) * slot:.1f}" y="{height - 6}" class="axis" '
                     f'text-anchor="middle">{escape(labels[i][:14])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def legend(names: list[str]) -> str:
    return "".join(f'<span class="key"><i style="background:{COLORS.get(n, "#888")}"></i>{escape(n)}</span>'
                   for n in names)


def _count(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    return f"{value / 1000:.1f}k" if value >= 1000 else f"{value:.0f}" if value == int(value) else f"{value:.1f}"


def _money(value: float) -> str:
    return f"${value:.4f}" if value < 1 else f"${value:.2f}"
