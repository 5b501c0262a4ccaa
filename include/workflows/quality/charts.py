"""Server-side SVG charts: no JavaScript and no CDN, so the pages render on an offline machine."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f")


def grouped_bars(
    title: str, groups: Sequence[str], series: dict[str, Sequence[float | None]], *, width: int = 720
) -> str:
    """Bars of values in [0, 1]: one group per label, one bar per series (model version) in each group."""
    height, left, bottom, top = 260, 40, 40, 30
    plot_w, plot_h = width - left - 10, height - bottom - top
    names = list(series)
    group_w = plot_w / max(len(groups), 1)
    bar_w = group_w * 0.8 / max(len(names), 1)
    parts = [_frame(title, width, height, left, top, plot_w, plot_h)]
    for g, group in enumerate(groups):
        x0 = left + g * group_w + group_w * 0.1
        for s, name in enumerate(names):
            value = series[name][g]
            if value is None:
                continue
            h = plot_h * max(0.0, min(1.0, value))
            x = x0 + s * bar_w
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w * 0.9:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[s % len(PALETTE)]}"><title>{escape(name)} {escape(group)}: '
                f"{value:.3f}</title></rect>"
            )
        parts.append(
            f'<text x="{left + g * group_w + group_w / 2:.1f}" y="{height - bottom + 16}" '
            f'text-anchor="middle" font-size="11">{escape(group)}</text>'
        )
    parts.append(_legend(names, left, height - 8))
    return _svg(width, height, parts)


def lines(
    title: str,
    xs: Sequence[float],
    series: dict[str, Sequence[float | None]],
    *,
    x_label: str,
    width: int = 720,
) -> str:
    """Lines of values in [0, 1] over xs (e.g. F1 against gold records), points marked."""
    height, left, bottom, top = 260, 40, 48, 30
    plot_w, plot_h = width - left - 20, height - bottom - top
    lo, hi = (min(xs), max(xs)) if xs else (0.0, 1.0)
    span = (hi - lo) or 1.0

    def px(x: float) -> float:
        return left + plot_w * ((x - lo) / span if len(xs) > 1 else 0.5)

    def py(y: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, y)))

    parts = [_frame(title, width, height, left, top, plot_w, plot_h)]
    for s, (name, ys) in enumerate(series.items()):
        color = PALETTE[s % len(PALETTE)]
        points = [(px(x), py(y), x, y) for x, y in zip(xs, ys, strict=True) if y is not None]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
            parts.append(
                f'<polyline class="line" points="{path}" fill="none" stroke="{color}" stroke-width="2"/>'
            )
        for x, y, gx, gy in points:
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}">'
                f"<title>{escape(name)}: {gy:.3f} at {gx:g}</title></circle>"
            )
    for x in xs:
        parts.append(
            f'<text x="{px(x):.1f}" y="{top + plot_h + 16}" text-anchor="middle" font-size="11">{x:g}</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 22}" text-anchor="middle" font-size="11">'
        f"{escape(x_label)}</text>"
    )
    parts.append(_legend(list(series), left, height - 6))
    return _svg(width, height, parts)


def _frame(title: str, width: int, height: int, left: int, top: int, plot_w: float, plot_h: float) -> str:
    ticks = "".join(
        f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{top + plot_h * (1 - t):.1f}" '
        f'y2="{top + plot_h * (1 - t):.1f}" stroke="#ddd"/>'
        f'<text x="{left - 4}" y="{top + plot_h * (1 - t) + 4:.1f}" text-anchor="end" font-size="10">'
        f"{t:g}</text>"
        for t in (0.0, 0.25, 0.5, 0.75, 1.0)
    )
    return f'<text x="{left}" y="18" font-size="13" font-weight="bold">{escape(title)}</text>{ticks}'


def _legend(names: Sequence[str], x: int, y: int) -> str:
    return "".join(
        f'<rect x="{x + i * 150}" y="{y - 9}" width="10" height="10" fill="{PALETTE[i % len(PALETTE)]}"/>'
        f'<text x="{x + i * 150 + 14}" y="{y}" font-size="11">{escape(name)}</text>'
        for i, name in enumerate(names)
    )


def _svg(width: int, height: int, parts: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img">{"".join(parts)}</svg>'
    )
