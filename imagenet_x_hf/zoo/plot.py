"""One figure, one panel per factor: the zoo's error ratios against accuracy, the trend, your models.

Each panel shows the authors' zoo models as grey points, the zoo's trend (fitted on
logit accuracy) and its prediction band, and each placed model as a coloured marker
with its own interval. The view covers the bulk of the zoo and every placed model. A model above the band makes more errors on
that factor than models of its accuracy usually do.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from imagenet_x_hf.schema import FACTORS
from imagenet_x_hf.zoo.files import ZooError
from imagenet_x_hf.zoo.place import reference_of
from imagenet_x_hf.zoo.table import Zoo, load_zoo

COLORS = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")


def plot_placement(
    placements: Sequence[dict],
    *,
    zoo: Zoo | None = None,
    zoo_dir: str | os.PathLike | None = None,
    which_factor: str | None = None,
    error_type: str | None = None,
):
    """A matplotlib figure: 4 x 4 panels, the zoo per factor with the placed models marked.

    ``placements`` are outputs of :func:`imagenet_x_hf.zoo.place` (all with the same
    which_factor and error_type); it may be empty to show the zoo alone.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    settings = {(p["which_factor"], p["error_type"]) for p in placements}
    if len(settings) > 1:
        raise ZooError(
            f"the models were scored differently ({sorted(settings)}); plot models with one "
            "which_factor and error_type together"
        )
    which, etype = settings.pop() if settings else (which_factor or "top", error_type or "class")
    zoo = zoo if zoo is not None else load_zoo(zoo_dir)
    ref = reference_of(zoo.slice(which, etype))
    grid_acc = 1.0 / (1.0 + np.exp(-ref.trend.grid))
    band = ref.trend.band_sd(grid_acc) * ref.trend.quantile(grid_acc)[:, None]

    # The view: the bulk of the zoo (its lowest 5% of accuracies are a few untrained or
    # pixel-level models that would squeeze the rest into a corner) and every placed model.
    shown = [float(np.quantile(ref.accuracy, 0.05))] + [p["accuracy"] for p in placements if p["accuracy"]]
    x_low = max(0.0, min(shown) - 0.03)
    x_high = min(1.0, max(float(ref.accuracy.max()), *shown) + 0.02)
    in_view = (ref.accuracy >= x_low) & (ref.accuracy <= x_high)
    fig, axes = plt.subplots(4, 4, figsize=(16, 14.5), sharex=True)
    for k, (ax, factor) in enumerate(zip(axes.flat, FACTORS)):
        y = ref.error_ratio[in_view, k]
        ax.scatter(ref.accuracy[in_view], y, s=5, color="0.45", alpha=0.3, linewidths=0, rasterized=True)
        ax.fill_between(
            grid_acc,
            ref.trend.mean[:, k] - band[:, k],
            ref.trend.mean[:, k] + band[:, k],
            color="0.2",
            alpha=0.15,
            linewidth=0,
        )
        ax.plot(grid_acc, ref.trend.mean[:, k], color="0.1", linewidth=1.4)
        ax.axhline(1.0, color="0.5", linewidth=0.7, linestyle=":")
        lows, highs = [np.nanmin(y)], [np.nanmax(y)]  # every point and interval stays in view
        for i, p in enumerate(placements):
            d = p["factors"][factor]
            if d["error_ratio"] is None or p["accuracy"] is None:
                continue
            ratio = d["error_ratio"]
            low, high = d.get("error_ratio_interval") or [None, None]
            yerr = None
            if low is not None and high is not None:
                yerr = [[max(ratio - low, 0.0)], [max(high - ratio, 0.0)]]
                lows.append(low)
                highs.append(high)
            ax.errorbar(
                p["accuracy"],
                ratio,
                yerr=yerr,
                fmt=MARKERS[i % len(MARKERS)],
                color=COLORS[i % len(COLORS)],
                markersize=7,
                markeredgecolor="white",
                markeredgewidth=0.8,
                elinewidth=1.2,
                capsize=2,
                zorder=5,
            )
        pad = 0.04 * (max(highs) - min(lows))
        ax.set_ylim(min(lows) - pad, max(highs) + pad)
        ax.set_title(factor.replace("_", " "), fontsize=12)
        ax.set_xlim(x_low, x_high)
        ax.grid(True, linewidth=0.3, alpha=0.5)
        ax.tick_params(labelsize=9)
        if k % 4 == 0:
            ax.set_ylabel("error ratio", fontsize=10)
        if k >= 12:
            ax.set_xlabel("overall accuracy", fontsize=10)

    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            color="0.45",
            alpha=0.5,
            label=f"zoo models ({int(in_view.sum())} of {ref.n} in view)",
        ),
        Line2D([], [], color="0.1", label="zoo trend"),
        Patch(color="0.2", alpha=0.15, label="95% band: models of this accuracy (families weighing one)"),
    ]
    for i, p in enumerate(placements):
        handles.append(
            Line2D(
                [],
                [],
                marker=MARKERS[i % len(MARKERS)],
                linestyle="",
                color=COLORS[i % len(COLORS)],
                markersize=8,
                label=f"{p.get('model') or f'model {i}'} "
                + (f"({p['accuracy']:.3f})" if p["accuracy"] is not None else "(no accuracy)"),
            )
        )
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 4), fontsize=11, frameon=False)
    fig.suptitle(
        f"ImageNet-X error ratio vs accuracy across the authors' zoo ({which} factor, error type {etype})",
        fontsize=14,
    )
    fig.tight_layout(rect=(0, 0.05, 1, 0.97))
    return fig


def save_placement_figure(fig, path: str | os.PathLike) -> Path:
    """Write the figure (.png or .svg) and close it."""
    import matplotlib.pyplot as plt

    path = Path(path)
    if path.suffix.lower() not in (".png", ".svg"):
        raise ZooError(f"cannot write a figure to {str(path)!r}; give a .png or .svg path")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


__all__ = ["plot_placement", "save_placement_figure"]
