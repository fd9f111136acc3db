"""Small server-rendered SVG charts: a histogram and a daily two-line chart.

Each scales to its container (a viewBox, no fixed size), takes its colours from the
stylesheet's variables (so dark mode needs nothing here) and is ``role="img"`` with a
title and description; the page puts the same numbers in a table next to it.
"""

import zlib

from markupsafe import Markup, escape

W, H = 360, 182
LEFT, RIGHT, TOP, BOTTOM = 34, 8, 22, 26  # the scale's top value sits above the plot


def _frame(title, desc, body):
    ident = f"chart-{zlib.crc32(f'{title}|{desc}'.encode()):08x}"
    return Markup(
        f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" '
        f'aria-labelledby="{ident}-t {ident}-d" preserveAspectRatio="xMidYMid meet">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
        f"{body}</svg>"
    )


def _x(value, top):
    return LEFT + (W - LEFT - RIGHT) * (value / top if top else 0)


def _y(value, top):
    return TOP + (H - TOP - BOTTOM) * (1 - (value / top if top else 0))


def _axes(x_label_left, x_label_right, y_label_top):
    base = H - BOTTOM
    return (
        f'<line class="chart-axis" x1="{LEFT}" y1="{base}" x2="{W - RIGHT}" y2="{base}"/>'
        f'<line class="chart-axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{base}"/>'
        f'<text x="{LEFT}" y="{H - 8}">{escape(x_label_left)}</text>'
        f'<text x="{W - RIGHT}" y="{H - 8}" text-anchor="end">{escape(x_label_right)}</text>'
        f'<text x="{LEFT}" y="{TOP - 8}">{escape(y_label_top)}</text>'
    )


def _vertical_mark(cls, at, label):
    return (
        f'<line class="{cls}" x1="{at:.1f}" y1="{TOP}" x2="{at:.1f}" y2="{H - BOTTOM}"/>'
        f'<text class="chart-mark-label" x="{at - 3:.1f}" y="{TOP + 10}" text-anchor="end">'
        f"{escape(label)}</text>"
    )


def histogram(title, desc, bars, axis_seconds, marks, fmt):
    """Bars of ``bars`` (counts over 0..``axis_seconds``) with vertical ``marks``:
    [(css class, seconds, label)]; ``fmt`` writes seconds for the axis."""
    top = max(bars) if bars else 0
    step = (W - LEFT - RIGHT) / max(len(bars), 1)
    rects = []
    for i, count in enumerate(bars):
        if count:
            y = _y(count, top)
            rects.append(
                f'<rect class="chart-bar" x="{LEFT + i * step + 0.5:.1f}" y="{y:.1f}" '
                f'width="{max(step - 1, 0.5):.1f}" height="{H - BOTTOM - y:.1f}"/>'
            )
    lines = [
        _vertical_mark(cls, _x(seconds, axis_seconds), label)
        for cls, seconds, label in marks
        if seconds is not None and seconds <= axis_seconds
    ]
    body = _axes("0", fmt(axis_seconds), str(top)) + "".join(rects) + "".join(lines)
    return _frame(title, desc, body)


def daily_lines(title, desc, days, series, marks, fmt):
    """Lines over ``days`` (labels): ``series`` is [(css class, [value or None per day])],
    ``marks`` horizontal [(css class, seconds, label)]."""
    values = [v for _, points in series for v in points if v is not None]
    shown_marks = [(c, s, label) for c, s, label in marks if s is not None]
    top = max(values + [s for _, s, _ in shown_marks], default=0) * 1.05 or 1
    span = max(len(days) - 1, 1)
    parts = []
    for cls, seconds, label in shown_marks:
        y = _y(seconds, top)
        parts.append(
            f'<line class="{cls}" x1="{LEFT}" y1="{y:.1f}" x2="{W - RIGHT}" y2="{y:.1f}"/>'
            f'<text class="chart-mark-label" x="{W - RIGHT}" y="{y - 3:.1f}" '
            f'text-anchor="end">{escape(label)}</text>'
        )
    for cls, points in series:
        coords = [
            f"{_x(i, span):.1f},{_y(v, top):.1f}" for i, v in enumerate(points) if v is not None
        ]
        if len(coords) == 1:
            x, y = coords[0].split(",")
            parts.append(f'<circle class="{cls}" cx="{x}" cy="{y}" r="2.5"/>')
        elif coords:
            parts.append(f'<polyline class="{cls}" fill="none" points="{" ".join(coords)}"/>')
    first, last = (days[0], days[-1]) if days else ("", "")
    return _frame(title, desc, _axes(first, last, fmt(top)) + "".join(parts))
