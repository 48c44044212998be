"""Charts of error ratios: one model, or several side by side with their paired differences.

Figures are built with ``matplotlib.figure.Figure`` and its Agg canvas directly, so
making a chart never touches pyplot's global state or the user's backend. Sizes are
set for a model card: 8 inches wide at 150 dpi (1200 px), legible when the Hub
scales it down to ~800 px.
"""

from __future__ import annotations

import io
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from imagenet_x_hf.errors import ResultsFileError
from imagenet_x_hf.reports.format import factor_label, format_percent
from imagenet_x_hf.results import Results
from imagenet_x_hf.schema import FACTORS

WIDTH_IN = 8.0
DPI = 150
FORMATS = ("png", "svg", "pdf")
# Colour-blind-safe (Okabe & Ito); the single-model chart colours a bar by where its interval lies.
VERSUS_ONE_COLORS = {"above": "#D55E00", "includes": "#A0A0A0", "below": "#0072B2", "unknown": "#A0A0A0"}
VERSUS_ONE_LABELS = {
    "above": "interval above 1 (more mistakes)",
    "includes": "interval includes 1",
    "below": "interval below 1 (fewer mistakes)",
}
# One colour per model: Okabe & Ito's blue, orange and green, then a dark magenta (their pink
# was too close to the orange at four models), sky blue, vermillion, black; all strong enough
# to be told apart as thin bars and as outlines.
MODEL_COLORS = ("#0072B2", "#E69F00", "#009E73", "#AA3377", "#56B4E9", "#D55E00", "#000000", "#999933")


def _figure(height: float, *, rows: int = 1, height_ratios: Sequence[float] | None = None):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, height), dpi=DPI, layout="constrained")
    axes = fig.subplots(
        rows, 1, sharex=True, gridspec_kw={"height_ratios": height_ratios} if height_ratios else None
    )
    return fig, np.atleast_1d(axes)


def _style(ax, *, ylabel: str) -> None:
    ax.set_ylabel(ylabel, fontsize=10)
    ax.grid(axis="y", color="#DDDDDD", linewidth=0.8, zorder=0)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.tick_params(labelsize=9)
    ax.set_xlim(-0.6, len(FACTORS) - 0.4)


def _factor_axis(ax) -> None:
    ax.set_xticks(
        np.arange(len(FACTORS)),
        [factor_label(f) for f in FACTORS],
        rotation=35,
        ha="right",
        rotation_mode="anchor",
        fontsize=9.5,
    )


def _errors(values, lows, highs) -> np.ndarray:
    """Asymmetric error-bar lengths (2, n); NaN where a value or an end is missing."""
    v = np.array([np.nan if x is None else x for x in values], dtype=float)
    lo = np.array([np.nan if x is None else x for x in lows], dtype=float)
    hi = np.array([np.nan if x is None else x for x in highs], dtype=float)
    # An interval may miss its own estimate by rounding (1e-16) at the edges; matplotlib
    # refuses negative lengths, and nothing is lost by drawing those as zero.
    return np.clip(np.vstack([v - lo, hi - v]), 0.0, None)


def _title(results: Results, model: str | None) -> str:
    name = model or results.model or "model"
    return (
        f"{name}: error ratio per ImageNet-X factor, {100 * results.scoring.confidence_level:g}% intervals "
        f"(accuracy {format_percent(results.accuracy)})"
    )


def plot_error_ratios(results: Results, *, model: str | None = None, title: str | None = None):
    """A bar per factor (paper order) with its interval, and a dashed line at 1.

    A bar is orange when its whole interval lies above 1, blue when below, grey when
    the interval includes 1. Returns a ``matplotlib.figure.Figure``.
    """
    rows = results.factors
    fig, (ax,) = _figure(4.4)
    x = np.arange(len(rows))
    values = np.array([np.nan if r.error_ratio is None else r.error_ratio for r in rows], dtype=float)
    colors = [VERSUS_ONE_COLORS[r.versus_one] for r in rows]
    ax.bar(x, np.nan_to_num(values), width=0.72, color=colors, zorder=2)
    ax.errorbar(
        x,
        values,
        yerr=_errors([r.error_ratio for r in rows], [r.low for r in rows], [r.high for r in rows]),
        fmt="none",
        ecolor="#222222",
        elinewidth=1.1,
        capsize=3,
        zorder=3,
    )
    ax.axhline(1.0, color="#222222", linestyle="--", linewidth=1, zorder=2.5)
    for i, row in enumerate(rows):
        if row.error_ratio is None:
            ax.text(i, 0.05, "n/a", ha="center", va="bottom", fontsize=8, color="#555555", rotation=90)
    top = np.nanmax(
        [np.nan if r.high is None else r.high for r in rows]
        + [np.nanmax(values) if np.isfinite(values).any() else 1.0, 1.0]
    )
    ax.set_ylim(0, top * 1.08)
    _style(ax, ylabel="Error ratio (1 = model's average)")
    _factor_axis(ax)
    _heading(fig, title or _title(results, model))
    _legend_versus_one(fig, rows)
    return fig


def _heading(fig, text: str) -> None:
    fig.suptitle(text, fontsize=11, x=0.01, ha="left")


def _legend(fig, handles, labels, *, ncols: int | None = None) -> None:
    # Below the chart, not inside it: inside, a legend hides the tallest bars; above, it
    # crowds the title. One row when the labels fit the width, else two columns.
    if ncols is None:
        ncols = len(labels) if sum(len(label) + 6 for label in labels) <= 110 else 2
    fig.legend(handles, labels, loc="outside lower center", ncols=ncols, fontsize=8.5, frameon=False)


def _legend_versus_one(fig, rows) -> None:
    from matplotlib.patches import Patch

    present = [k for k in ("above", "includes", "below") if any(r.versus_one == k for r in rows)]
    handles = [Patch(color=VERSUS_ONE_COLORS[k]) for k in present]
    if handles:
        _legend(fig, handles, [VERSUS_ONE_LABELS[k] for k in present])


def plot_comparison(
    models: Sequence[tuple[str, Results]],
    *,
    comparisons: Sequence[Mapping] = (),
    baseline: str | None = None,
    title: str | None = None,
):
    """Grouped bars (one colour per model) of the error ratios, with intervals and a line at 1.

    With ``comparisons`` (``paired_comparison`` dicts of each model against
    ``baseline``), a second panel shows the per-factor differences with their
    intervals and a line at 0; a difference whose interval includes 0 is drawn as a
    hatched outline in the model's colour, a clear one filled.
    """
    if not models:
        raise ResultsFileError("nothing to plot: pass at least one model's results")
    panels = 2 if comparisons else 1
    fig, axes = _figure(
        7.2 if panels == 2 else 4.6, rows=panels, height_ratios=[3, 2] if panels == 2 else None
    )
    ax = axes[0]
    n = len(models)
    width = 0.84 / n
    x = np.arange(len(FACTORS))
    color_of = {name: MODEL_COLORS[i % len(MODEL_COLORS)] for i, (name, _) in enumerate(models)}
    top = 1.0
    for i, (name, results) in enumerate(models):
        rows = results.factors
        values = [r.error_ratio for r in rows]
        heights = np.array([np.nan if v is None else v for v in values], dtype=float)
        offset = (i - (n - 1) / 2) * width
        ax.bar(
            x + offset,
            np.nan_to_num(heights),
            width=width * 0.92,
            color=color_of[name],
            label=f"{name} (acc. {format_percent(results.accuracy)})",
            zorder=2,
        )
        ax.errorbar(
            x + offset,
            heights,
            yerr=_errors(values, [r.low for r in rows], [r.high for r in rows]),
            fmt="none",
            ecolor="#222222",
            elinewidth=0.8,
            capsize=1.5,
            zorder=3,
        )
        highs = [r.high if r.high is not None else r.error_ratio for r in rows]
        top = max(top, max((h for h in highs if h is not None), default=1.0))
    ax.axhline(1.0, color="#222222", linestyle="--", linewidth=1, zorder=2.5)
    ax.set_ylim(0, top * 1.08)
    _style(ax, ylabel="Error ratio (1 = model's average)")
    level = f"{100 * models[0][1].scoring.confidence_level:g}% "
    _heading(
        fig,
        title
        or f"Error ratio per ImageNet-X factor (whiskers: {level}intervals; dashed line: each model's average)",
    )
    handles, labels = ax.get_legend_handles_labels()
    _legend(fig, handles, labels)
    if comparisons:
        _plot_differences(axes[1], comparisons, color_of=color_of, baseline=baseline)
    _factor_axis(axes[-1])
    return fig


def _plot_differences(
    ax, comparisons: Sequence[Mapping], *, color_of: Mapping[str, str], baseline: str | None
) -> None:
    n = len(comparisons)
    width = 0.84 / max(n, 1)
    x = np.arange(len(FACTORS))
    for i, comparison in enumerate(comparisons):
        name = comparison["a"]
        factors = comparison["factors"]
        values = [factors.get(f, {}).get("difference") for f in FACTORS]
        lows = [factors.get(f, {}).get("low") for f in FACTORS]
        highs = [factors.get(f, {}).get("high") for f in FACTORS]
        heights = np.array([np.nan if v is None else v for v in values], dtype=float)
        clear = [
            lo is not None and hi is not None and (lo > 0 or hi < 0)
            for lo, hi in zip(lows, highs, strict=True)
        ]
        base = color_of.get(name, "#555555")
        offset = (i - (n - 1) / 2) * width
        bars = ax.bar(
            x + offset,
            np.nan_to_num(heights),
            width=width * 0.92,
            color=[base if c else "white" for c in clear],
            edgecolor=base,
            linewidth=1.0,
            zorder=2,
        )
        for patch, c in zip(bars, clear):
            if not c:
                patch.set_hatch("////")
        ax.errorbar(
            x + offset,
            heights,
            yerr=_errors(values, lows, highs),
            fmt="none",
            ecolor="#222222",
            elinewidth=0.8,
            capsize=1.5,
            zorder=3,
        )
    ax.axhline(0.0, color="#222222", linewidth=1, zorder=2.5)
    reference = baseline or (comparisons[0].get("b") if comparisons else "baseline")
    _style(ax, ylabel=f"Difference vs {reference}")
    ax.set_title(
        f"Paired difference of error ratios, model − {reference} (hatched: interval includes 0)",
        fontsize=10,
        loc="left",
    )


_METADATA = {"svg": {"Date": None}, "png": {"Software": None}, "pdf": {"CreationDate": None, "ModDate": None}}


def figure_bytes(fig, fmt: str) -> bytes:
    """The figure encoded as ``png``, ``svg`` or ``pdf`` (no timestamps: equal inputs give equal files).

    Text stays text: SVG keeps it as ``<text>`` elements (searchable, editable) and PDF
    embeds TrueType fonts, instead of drawing each glyph as a path.
    """
    fmt = fmt.lower()
    if fmt not in FORMATS:
        raise ResultsFileError(f"cannot write a {fmt!r} chart; use a .png, .svg or .pdf file name")
    import matplotlib

    buffer = io.BytesIO()
    # A fixed salt makes the SVG's element ids, hence its bytes, the same on every run.
    settings = {"svg.hashsalt": "imagenet-x-hf", "svg.fonttype": "none", "pdf.fonttype": 42}
    with matplotlib.rc_context(settings):
        fig.savefig(buffer, format=fmt, dpi=DPI, metadata=_METADATA[fmt])
    return buffer.getvalue()


def save_figure(fig, path: str | os.PathLike) -> Path:
    """Write the figure to ``path`` (format from the suffix) atomically; returns the path."""
    path = Path(path)
    data = figure_bytes(fig, path.suffix.lstrip(".") or "png")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
