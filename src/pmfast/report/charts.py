"""The report's charts as inline SVG strings, drawn directly (no plotting library).

matplotlib drew the same charts at ~0.6 s each (tick-label extents and constrained layout were
most of it): the 100k-account demo spent ~4 s of CPU in its 11 figures, twenty times its margin
run. Written here they cost milliseconds, the page stays self-contained, and every label is
XML-escaped text: a ``$`` in a class or product-group name is shown as written, never parsed as
mathtext (issue 15). The layout is fixed: a chart is a few bars, axes and labels.
"""
import html
import math

import numpy as np

FONT = "font-family='system-ui, sans-serif'"
POSITIVE, NEGATIVE, NEUTRAL, MARK = "#4e9a06", "#cc0000", "#3465a4", "#cc0000"


def _text(x, y, content, size=9, anchor="middle", extra=""):
    return (f"<text x='{x:.1f}' y='{y:.1f}' font-size='{size}' text-anchor='{anchor}' "
            f"{extra}>{html.escape(str(content))}</text>")


def _svg(width, height, parts, title):
    return (f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
            f"viewBox='0 0 {width} {height}' role='img' {FONT}>"
            f"<title>{html.escape(title)}</title>" + "".join(parts) + "</svg>")


def nice_ticks(lo, hi, count=5):
    """Round tick values covering [lo, hi]: steps of 1, 2 or 5 times a power of ten."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        hi = lo + 1.0
    raw = (hi - lo) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    first = math.floor(lo / step) * step
    n = int(math.ceil((hi - first) / step - 1e-9)) + 1
    return [first + i * step for i in range(n)]


def _label(v):
    """A tick label: thousands separators, no trailing zeros."""
    if v == 0:
        return "0"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:,.6g}"


class _Frame:
    """Maps data to pixels inside a plot area and draws its axes."""

    def __init__(self, left, top, width, height, x_range, y_ticks):
        self.left, self.top, self.width, self.height = left, top, width, height
        self.x0, self.x1 = x_range
        self.y0, self.y1 = y_ticks[0], y_ticks[-1]
        self.y_ticks = y_ticks

    def x(self, v):
        return self.left + (v - self.x0) / (self.x1 - self.x0) * self.width

    def y(self, v):
        return self.top + (self.y1 - v) / (self.y1 - self.y0) * self.height

    def axes(self, y_label=None, size=7):
        bottom = self.top + self.height
        parts = [f"<rect x='{self.left}' y='{self.top}' width='{self.width}' "
                 f"height='{self.height}' fill='none' stroke='#999' stroke-width='0.6'/>"]
        for v in self.y_ticks:
            yy = self.y(v)
            parts.append(f"<line x1='{self.left - 3}' x2='{self.left}' y1='{yy:.1f}' "
                         f"y2='{yy:.1f}' stroke='#666' stroke-width='0.6'/>")
            parts.append(_text(self.left - 5, yy + 3, _label(v), size, "end"))
        if y_label:
            cy = self.top + self.height / 2
            parts.append(_text(12, cy, y_label, 9, "middle",
                               f"transform='rotate(-90 12 {cy:.1f})'"))
        parts.append(f"<line x1='{self.left}' x2='{self.left + self.width}' y1='{bottom}' "
                     f"y2='{bottom}' stroke='#999' stroke-width='0.6'/>")
        return parts

    def bars(self, counts, edges, fill=NEUTRAL):
        """Histogram bars: one rect per non-empty bin [edges[i], edges[i+1])."""
        base = self.y(0)
        parts = []
        for count, a, b in zip(counts, edges[:-1], edges[1:]):
            if count:
                top = self.y(count)
                parts.append(f"<rect x='{self.x(a):.1f}' y='{top:.1f}' "
                             f"width='{max(self.x(b) - self.x(a) - 0.5, 0.5):.1f}' "
                             f"height='{base - top:.1f}' fill='{fill}'/>")
        return parts


def ratio_histogram(ratio):
    """Distribution of portfolio margin / Reg T initial across accounts."""
    width, height = 680, 290
    ratio = np.asarray(ratio, dtype=float)
    ratio = ratio[np.isfinite(ratio)]
    upper = max(1.5, float(np.quantile(ratio, 0.99))) if len(ratio) else 1.5
    counts, edges = np.histogram(np.clip(ratio, 0, upper), bins=60, range=(0.0, upper))
    frame = _Frame(60, 30, width - 80, height - 80, (0.0, upper),
                   nice_ticks(0, max(int(counts.max()) if len(counts) else 1, 1)))
    parts = [_text(width / 2, 18, "Portfolio margin relative to Reg T, per account", 11)]
    parts += frame.axes("accounts")
    parts += frame.bars(counts, edges)
    base = frame.y(0)
    for v in nice_ticks(0, upper, 6):
        if v <= upper + 1e-12:
            parts.append(_text(frame.x(v), base + 13, _label(v), 8))
    if len(ratio):
        x1 = frame.x(1.0)
        parts.append(f"<line x1='{x1:.1f}' x2='{x1:.1f}' y1='{frame.top}' y2='{base}' "
                     f"stroke='{MARK}' stroke-width='1'/>")
        parts.append(_text(x1 + 4, frame.top + 12, "PM = Reg T", 9, "start",
                           f"fill='{MARK}'"))
    parts.append(_text(frame.left + frame.width / 2, height - 8,
                       "portfolio margin / Reg T initial", 9))
    return _svg(width, height, parts, "Portfolio margin relative to Reg T, per account")


def _panel(title, pnl, labels, worst, width, height):
    """One P&L-by-scenario bar chart; ``worst`` (an index or None) gets a marker."""
    pnl = np.asarray(pnl, dtype=float)
    finite = pnl[np.isfinite(pnl)]
    lo = min(float(finite.min()), 0.0) if len(finite) else 0.0
    hi = max(float(finite.max()), 0.0) if len(finite) else 1.0
    pad = 0.08 * (hi - lo or 1.0)
    ticks = nice_ticks(lo - (pad if lo < 0 else 0), hi + pad, 4)
    n = max(len(pnl), 1)
    frame = _Frame(58, 22, width - 66, height - 90, (-0.5, n - 0.5), ticks)
    if worst is not None:
        title = f"{title} (worst {labels[worst]})"
    parts = [_text(width / 2, 13, title, 8)]
    parts += frame.axes()
    zero = frame.y(0.0)
    bar = 0.8 * frame.width / n
    for i, v in enumerate(pnl):
        if not np.isfinite(v):
            continue
        y = frame.y(v)
        parts.append(f"<rect x='{frame.x(i) - bar / 2:.1f}' y='{min(y, zero):.1f}' "
                     f"width='{bar:.1f}' height='{max(abs(zero - y), 0.5):.1f}' "
                     f"fill='{NEGATIVE if v < 0 else POSITIVE}'/>")
    parts.append(f"<line x1='{frame.left}' x2='{frame.left + frame.width}' y1='{zero:.1f}' "
                 f"y2='{zero:.1f}' stroke='black' stroke-width='0.6'/>")
    if worst is not None and np.isfinite(pnl[worst]):
        x, y = frame.x(worst), frame.y(pnl[worst])
        y = min(y, zero) - 3
        parts.append(f"<path d='M{x - 4:.1f},{y - 7:.1f} L{x + 4:.1f},{y - 7:.1f} "
                     f"L{x:.1f},{y:.1f} Z' fill='black'/>")
    bottom = frame.top + frame.height
    for i, label in enumerate(labels):
        x = frame.x(i)
        parts.append(_text(x, bottom + 8, label, 6, "end",
                           f"transform='rotate(-60 {x:.1f} {bottom + 8:.1f})'"))
    return parts


def scenario_pnl_panels(panels, columns=3):
    """P&L by scenario for several groups of one account, one small panel each, the scenario
    that set each group's risk marked. ``panels`` is a list of (title, pnl, labels, worst)."""
    pw, ph = 345, 240
    width = pw * min(columns, len(panels))
    height = ph * -(-len(panels) // columns)
    parts = []
    for k, (title, pnl, labels, worst) in enumerate(panels):
        dx, dy = pw * (k % columns), ph * (k // columns)
        parts.append(f"<g transform='translate({dx},{dy})'>")
        parts += _panel(title, pnl, labels, worst, pw, ph)
        parts.append("</g>")
    parts.append(_text(10, height / 2, "P&L ($)", 9, "middle",
                       f"transform='rotate(-90 10 {height / 2:.1f})'"))
    return _svg(width, height, parts, "P&L by scenario")
