"""Charts drawn on the server as SVG: no script and no file from another site, readable at any
width (the SVG scales to its box), with a text title and a table-free legend for screen
readers (``role="img"`` and ``aria-label``). Every label is escaped."""

from collections.abc import Sequence
from datetime import date
from html import escape

WIDTH, HEIGHT = 640, 260
PAD_LEFT, PAD_RIGHT, PAD_TOP, PAD_BOTTOM = 56, 12, 16, 28
COLOURS = ("#0f766e", "#b45309", "#b42318", "#4338ca", "#64748b", "#15803d")


def _scale(value: float, top: float) -> float:
    plot = HEIGHT - PAD_TOP - PAD_BOTTOM
    return HEIGHT - PAD_BOTTOM - (value / top * plot if top else 0)


def _nice_top(values: Sequence[int]) -> int:
    top = max([*values, 1])
    magnitude = 10 ** (len(str(top)) - 1)
    return ((top + magnitude - 1) // magnitude) * magnitude


def _frame(label: str, body: str, height: int = HEIGHT) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(label)}" '
        f'xmlns="http://www.w3.org/2000/svg" preserveAspectRatio="xMidYMid meet">{body}</svg>'
    )


def _axis(top: int, low: int = 0) -> str:
    lines = []
    for step in range(5):
        value = low + (top - low) * step / 4
        y = _scale(value - low, top - low)
        lines.append(
            f'<line x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e2e8f0"/>'
            f'<text x="{PAD_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="#475569">'
            f"{int(value):,}</text>"
        )
    return "".join(lines)


def line_chart(label: str, days: Sequence[date], series: dict[str, Sequence[int]]) -> str:
    """One line per series over the days, a legend under the title."""
    values = [value for points in series.values() for value in points]
    low = min([*values, 0])
    top = _nice_top([value - low for value in values]) + low
    span = max(len(days) - 1, 1)
    step = (WIDTH - PAD_LEFT - PAD_RIGHT) / span
    body = [_axis(top, low)]
    for index, (name, points) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{PAD_LEFT + i * step:.1f},{_scale(value - low, top - low):.1f}"
            for i, value in enumerate(points)
        )
        body.append(
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="2"><title>{escape(name)}</title></path>'
        )
    for position, anchor in ((0, "start"), (len(days) // 2, "middle"), (len(days) - 1, "end")):
        if days:
            body.append(
                f'<text x="{PAD_LEFT + position * step:.1f}" y="{HEIGHT - 8}" font-size="11" fill="#475569" '
                f'text-anchor="{anchor}">{days[position]:%d %b}</text>'
            )
    return _frame(label, "".join(body))


def bar_chart(label: str, bars: Sequence[tuple[str, int]]) -> str:
    """Horizontal bars, one per (name, value), the value at the end of each."""
    if not bars:
        return _frame(
            label, f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle" fill="#475569">No data yet</text>'
        )
    top = _nice_top([value for _, value in bars])
    row = 34
    height = PAD_TOP * 2 + row * len(bars)
    name_width = 180
    body = []
    for index, (name, value) in enumerate(bars):
        y = PAD_TOP + index * row
        width = (WIDTH - name_width - 80) * value / top
        body.append(
            f'<text x="{name_width - 8}" y="{y + row * 0.62:.1f}" text-anchor="end" font-size="12" fill="#0f172a">'
            f"{escape(name[:28])}</text>"
            f'<rect x="{name_width}" y="{y + row * 0.18:.1f}" width="{max(width, 1):.1f}" height="{row * 0.64:.1f}" '
            f'fill="{COLOURS[index % len(COLOURS)]}" rx="3"><title>{escape(name)}: {value:,}</title></rect>'
            f'<text x="{name_width + width + 6:.1f}" y="{y + row * 0.62:.1f}" font-size="12" fill="#334155">'
            f"{value:,}</text>"
        )
    return _frame(label, "".join(body), height)
