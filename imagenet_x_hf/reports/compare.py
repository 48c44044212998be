"""Several models side by side: error ratios, and each model's paired difference to a baseline.

The paired difference comes from ``imagenet_x_hf.metrics.paired_comparison``: it is
computed image by image on the images both models cover, so its interval is
narrower and more honest than comparing two separate intervals by eye.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imagenet_x_hf.errors import ResultsFileError
from imagenet_x_hf.reports.format import factor_label, format_interval, format_percent, format_ratio
from imagenet_x_hf.reports.inputs import ModelResults, check_same_settings, unique_names
from imagenet_x_hf.schema import FACTORS

# The order the comparison's "settings" have always been printed in.
_SETTINGS_ORDER = (
    "split",
    "which_factor",
    "error_type",
    "filter_prototypes",
    "confidence_level",
    "empty_real",
)


def pick_baseline(models: Sequence[ModelResults], baseline: str | None) -> ModelResults:
    """The model named ``baseline`` (default: the first one)."""
    if baseline is None:
        return models[0]
    for model in models:
        if model.name == baseline:
            return model
    raise ResultsFileError(
        f"no model is named {baseline!r}; --baseline takes one of: {', '.join(m.name for m in models)}"
    )


def compare_models(
    models: Sequence[ModelResults], *, baseline: str | None = None, paired: bool = True
) -> dict:
    """A comparison: each model's results and, with ``paired``, each one minus the baseline.

    Returns ``{"baseline", "settings", "models": {name: Results}, "comparisons": [paired dicts]}``
    where each comparison is ``paired_comparison(model, baseline)`` (difference = model - baseline);
    ``comparison_json`` makes it JSON-ready.
    """
    if len(models) < 2:
        raise ResultsFileError(
            "a comparison needs at least two models; pass two or more runs or predictions files"
        )
    unique_names(models)
    check_same_settings(models)
    base = pick_baseline(models, baseline)
    scoring = base.results.scoring
    settings = {key: getattr(scoring, key) for key in _SETTINGS_ORDER}
    comparisons = []
    if paired:
        from imagenet_x_hf.metrics import paired_comparison

        for model in models:
            if model is base:
                continue
            comparisons.append(paired_comparison(model.predictions(), base.predictions(), scoring))
    return {
        "baseline": base.name,
        "settings": settings,
        "models": {m.name: m.results for m in models},
        "comparisons": comparisons,
    }


def comparison_json(report: dict[str, Any]) -> dict[str, Any]:
    """The comparison as JSON-ready data (each model's results without its run record)."""
    models = {name: r.replace(run=None).to_dict() for name, r in report["models"].items()}
    return {**report, "models": models}


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], align: Sequence[str]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _signed(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f}"


def format_comparison(report: dict[str, Any]) -> str:
    """The comparison as two Markdown tables: error ratios with intervals, then paired differences.

    A difference is starred when its interval excludes 0.
    """
    names = list(report["models"])
    rows_by_model = {name: report["models"][name].factors for name in names}
    body = [["accuracy", *(format_percent(report["models"][n].accuracy) for n in names)]]
    for i, factor in enumerate(FACTORS):
        cells = []
        for name in names:
            row = rows_by_model[name][i]
            cells.append(f"{format_ratio(row.error_ratio)} ({format_interval(row)})")
        body.append([factor_label(factor), *cells])
    level = report["settings"].get("confidence_level")
    level_text = f"{100 * level:g}% " if isinstance(level, (int, float)) else ""
    lines = [f"Error ratio ({level_text}interval) per factor"]
    lines += _table(["factor", *names], body, [":---", *["---:"] * len(names)])
    if report["comparisons"]:
        base = report["baseline"]
        header = ["factor", *(f"{c['a']} − {base}" for c in report["comparisons"])]
        body = []
        for factor in FACTORS:
            cells = []
            for c in report["comparisons"]:
                d = c["factors"].get(factor) or {}
                low, high = d.get("low"), d.get("high")
                clear = low is not None and high is not None and (low > 0 or high < 0)
                interval = "n/a" if low is None or high is None else f"{low:+.2f} to {high:+.2f}"
                cells.append(f"{_signed(d.get('difference'))} ({interval}){' *' if clear else ''}")
            body.append([factor_label(factor), *cells])
        lines += [
            "",
            f"Paired difference of error ratios vs {base} ({level_text}interval; * interval excludes 0)",
        ]
        lines += _table(header, body, [":---", *["---:"] * len(report["comparisons"])])
    return "\n".join(lines)
