"""Hand-written SVG charts for the report: small, crisp at any width, readable by screen readers.

Charts are horizontal (one row per factor), so labels never need rotating and the
chart stays legible when a phone scales it to its width. Each chart has a
``<title>`` and ``<desc>``; the page also gives every number in a table.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

WIDTH = 380
LABEL_W = 126
VALUE_W = 42
ROW_H = 22
TOP = 6
AXIS_H = 34
FONT = 13
INK = "#1f2328"
MUTED = "#59636e"
GRID = "#d8dee4"


@dataclass(frozen=True)
class ChartRow:
    """One row of a chart: a label, a value with an optional interval, a fill colour."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    color: str = "#0072B2"
    text: str | None = None  # the value as printed; default: 2 decimals


def _num(x: float) -> str:
    return f"{x:.1f}".rstrip("0").rstrip(".") if abs(x - round(x, 1)) < 1e-9 else f"{x:.2f}"


def nice_ticks(lo: float, hi: float, *, count: int = 5) -> list[float]:
    """Round tick values covering ``[lo, hi]``.

    >>> nice_ticks(0, 2.3)
    [0.0, 0.5, 1.0, 1.5, 2.0]
    >>> nice_ticks(-0.3, 0.3, count=6)
    [-0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3]
    """
    span = max(hi - lo, 1e-12)
    power = 10 ** math.floor(math.log10(span / count))
    # the finest round step that gives at most `count` intervals
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if span / (m * power) <= count + 1e-9)
    first = math.ceil(lo / step - 1e-9)
    ticks = []
    k = first
    while k * step <= hi + 1e-9:
        ticks.append(round(k * step, 10) + 0.0)
        k += 1
    return ticks


def _ident(prefix: str, *texts: str) -> str:
    """An element id from the chart's text: stable across runs (``hash`` is salted per process)."""
    return f"{prefix}{zlib.crc32('|'.join(texts).encode()):08x}"


def _finite(*values: float | None) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def interval_chart(
    rows: Sequence[ChartRow],
    *,
    title: str,
    desc: str,
    axis_label: str,
    reference: float,
    bars: bool,
) -> str:
    """Bars from 0 (``bars=True``, error ratios) or dots (differences), each with its interval.

    ``reference`` is drawn as a vertical line (1 for ratios, 0 for differences).

    >>> svg = interval_chart([ChartRow("pose", 1.2, 1.1, 1.3)], title="t", desc="d",
    ...                      axis_label="ratio", reference=1.0, bars=True)
    >>> svg.startswith("<svg") and "<title" in svg and svg.count("<rect") == 1
    True
    """
    values = [v for r in rows for v in _finite(r.value, r.low, r.high)]
    if bars:
        lo, hi = 0.0, max([reference * 1.2, *values]) * 1.05
    else:
        m = max([abs(v) for v in values] + [abs(reference)], default=0.0) * 1.1 or 0.1
        lo, hi = reference - m, reference + m
    ticks = nice_ticks(lo, hi, count=6)
    lo, hi = min(lo, ticks[0]), max(hi, ticks[-1])
    x0, x1 = LABEL_W, WIDTH - VALUE_W

    def x(v: float) -> float:
        return x0 + (v - lo) / (hi - lo) * (x1 - x0)

    height = TOP + ROW_H * len(rows) + AXIS_H
    bottom = TOP + ROW_H * len(rows)
    ident = _ident("c", title, desc)
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{ident}t {ident}d" xmlns="http://www.w3.org/2000/svg" '
        f'font-family="system-ui, sans-serif" font-size="{FONT}">',
        f'<title id="{ident}t">{escape(title)}</title><desc id="{ident}d">{escape(desc)}</desc>',
    ]
    for t in ticks:
        out.append(f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{TOP}" y2="{bottom}" stroke="{GRID}"/>')
        out.append(
            f'<text x="{x(t):.1f}" y="{bottom + 13}" text-anchor="middle" fill="{MUTED}">{_num(t)}</text>'
        )
    out.append(
        f'<text x="{(x0 + x1) / 2:.1f}" y="{bottom + 28}" text-anchor="middle" fill="{INK}">'
        f"{escape(axis_label)}</text>"
    )
    for i, row in enumerate(rows):
        cy = TOP + ROW_H * i + ROW_H / 2
        out.append(
            f'<text x="{x0 - 6}" y="{cy + 4:.1f}" text-anchor="end" fill="{INK}">{escape(row.label)}</text>'
        )
        if row.value is None or not math.isfinite(row.value):
            out.append(f'<text x="{x0 + 4}" y="{cy + 4:.1f}" fill="{MUTED}">n/a</text>')
            continue
        if bars:
            w = max(x(row.value) - x0, 0.0)
            out.append(
                f'<rect x="{x0}" y="{cy - 7:.1f}" width="{w:.1f}" height="14" fill="{row.color}" rx="1"/>'
            )
        if row.low is not None and row.high is not None:
            a, b = x(row.low), x(row.high)
            out.append(
                f'<path d="M{a:.1f} {cy:.1f}H{b:.1f}M{a:.1f} {cy - 4:.1f}v8M{b:.1f} {cy - 4:.1f}v8" '
                f'stroke="{INK}" stroke-width="1.2" fill="none"/>'
            )
        if not bars:
            out.append(
                f'<circle cx="{x(row.value):.1f}" cy="{cy:.1f}" r="4" fill="{row.color}" stroke="{INK}" '
                'stroke-width="0.8"/>'
            )
        text = row.text if row.text is not None else f"{row.value:.2f}" if bars else f"{row.value:+.2f}"
        out.append(f'<text x="{WIDTH - 2}" y="{cy + 4:.1f}" text-anchor="end" fill="{INK}">{text}</text>')
    dash = ' stroke-dasharray="4 3"' if bars else ""
    out.append(
        f'<line x1="{x(reference):.1f}" x2="{x(reference):.1f}" y1="{TOP - 2}" y2="{bottom}" '
        f'stroke="{INK}" stroke-width="1.2"{dash}/>'
    )
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class ReliabilityBin:
    """Images whose top-1 probability falls in ``[low, high)``: how many, how confident, how often right."""

    low: float
    high: float
    images: int
    confidence: float | None
    accuracy: float | None


def reliability_bins(correct, probability, n_bins: int = 15) -> list[ReliabilityBin]:
    """Equal-width confidence bins (an edge value falls into the lower bin, as the metric's ECE).

    >>> import numpy as np
    >>> bins = reliability_bins(np.array([1, 0, 1], bool), np.array([0.95, 0.9, 0.1]), 2)
    >>> [(b.images, b.accuracy) for b in bins]
    [(1, 1.0), (2, 0.5)]
    """
    import numpy as np

    edges = np.linspace(0.0, 1.0, n_bins + 1)
    ids = np.searchsorted(edges[1:-1], probability)
    images = np.bincount(ids, minlength=n_bins)
    right = np.bincount(ids, weights=np.asarray(correct, dtype=float), minlength=n_bins)
    conf = np.bincount(ids, weights=probability, minlength=n_bins)
    out = []
    for k in range(n_bins):
        n = int(images[k])
        out.append(
            ReliabilityBin(
                low=float(edges[k]),
                high=float(edges[k + 1]),
                images=n,
                confidence=float(conf[k] / n) if n else None,
                accuracy=float(right[k] / n) if n else None,
            )
        )
    return out


def reliability_chart(bins: Sequence[ReliabilityBin], *, title: str, desc: str) -> str:
    """Accuracy per confidence bin as bars, with the diagonal of perfect calibration.

    A bar's opacity grows with its share of the images, so sparse bins read as such.
    """
    w, h = WIDTH, 250
    x0, x1, y0, y1 = 42, w - 12, 10, h - 40

    def x(v: float) -> float:
        return x0 + v * (x1 - x0)

    def y(v: float) -> float:
        return y1 - v * (y1 - y0)

    most = max((b.images for b in bins), default=0) or 1
    ident = _ident("r", title, desc)
    out = [
        f'<svg class="chart" viewBox="0 0 {w} {h}" role="img" aria-labelledby="{ident}t {ident}d" '
        f'xmlns="http://www.w3.org/2000/svg" font-family="system-ui, sans-serif" font-size="{FONT}">',
        f'<title id="{ident}t">{escape(title)}</title><desc id="{ident}d">{escape(desc)}</desc>',
    ]
    for t in (0.0, 0.25, 0.5, 0.75, 1.0):
        out.append(f'<line x1="{x0}" x2="{x1}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="{GRID}"/>')
        out.append(f'<text x="{x0 - 5}" y="{y(t) + 4:.1f}" text-anchor="end" fill="{MUTED}">{_num(t)}</text>')
        out.append(f'<text x="{x(t):.1f}" y="{y1 + 14}" text-anchor="middle" fill="{MUTED}">{_num(t)}</text>')
    for b in bins:
        if not b.images:
            continue
        opacity = 0.35 + 0.65 * math.sqrt(b.images / most)
        out.append(
            f'<rect x="{x(b.low) + 0.5:.1f}" y="{y(b.accuracy):.1f}" width="{x(b.high) - x(b.low) - 1:.1f}" '
            f'height="{y1 - y(b.accuracy):.1f}" fill="#0072B2" fill-opacity="{opacity:.2f}"/>'
        )
    out.append(
        f'<line x1="{x0}" y1="{y1}" x2="{x1}" y2="{y0}" stroke="{INK}" stroke-dasharray="4 3" stroke-width="1.2"/>'
    )
    out.append(
        f'<text x="{(x0 + x1) / 2:.1f}" y="{h - 8}" text-anchor="middle" fill="{INK}">'
        "confidence (top-1 probability)</text>"
    )
    out.append(
        f'<text transform="translate(11 {(y0 + y1) / 2:.1f}) rotate(-90)" text-anchor="middle" '
        f'fill="{INK}">accuracy</text>'
    )
    out.append("</svg>")
    return "".join(out)
