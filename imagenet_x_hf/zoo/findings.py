"""The paper's headline findings, recomputed from the authors' released tables.

Idrissi et al. (ICLR 2023) state, from these models: (1) "models have consistent failure
modes across ImageNet-X categories", whatever their architecture, learning paradigm or
training procedure; (2) data augmentation spills over to other factors: "color-jitter
augmentation improves robustness to color and brightness, but surprisingly hurts
robustness to pose", and "strong random cropping hurts robustness on smaller objects".
``findings()`` recomputes each from the tables, with its statistic (Spearman rho, n,
two-sided p-value from the t approximation), raw and accuracy-adjusted (the excess over
the zoo's accuracy trend, :mod:`imagenet_x_hf.zoo.trend`). It also reports each
factor's correlation with accuracy across the zoo, which is why the adjusted view exists.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
from scipy import stats

from imagenet_x_hf.schema import FACTORS
from imagenet_x_hf.zoo.files import COMMIT, REPOSITORY
from imagenet_x_hf.zoo.place import reference_of
from imagenet_x_hf.zoo.reference import SWEEP_TYPE, Population
from imagenet_x_hf.zoo.table import Zoo, load_zoo
from imagenet_x_hf.zoo.trend import spearman

ALPHA = 0.05
# The four model types of the paper's figures: its population (209 models of the tables).
PAPER_TYPES = (
    "Supervised on ImageNet-1K",
    "Supervised on more data",
    "Self-supervised",
    "Robustness intervention",
)
# (sweep group, setting, what the paper says, {factor: expected sign of rho with strength})
SWEEPS = (
    (
        "colorjitter",
        "color_strength",
        "color-jitter augmentation improves robustness to color and brightness, but surprisingly hurts "
        "robustness to pose",
        {"color": -1, "brighter": -1, "pose": +1},
    ),
    ("crop", "crop_strength", "strong random cropping hurts robustness on smaller objects", {"smaller": +1}),
    ("gaussian_blur", "blur_strength", None, {}),
)
CONSISTENT_STATEMENT = (
    "regardless of architecture, learning paradigm or training procedure, models have consistent "
    "failure modes across ImageNet-X categories"
)


def spearman_test(x: np.ndarray, y: np.ndarray) -> dict:
    """Spearman rho, n and the two-sided p-value (``scipy.stats.spearmanr``; NaN pairs dropped).

    >>> out = spearman_test(np.arange(20.0), np.arange(20.0) ** 2)
    >>> out["rho"], out["n"], out["p_value"] < 1e-6
    (1.0, 20, True)
    """
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    rho = spearman(x[ok], y[ok])
    p = None
    if n > 3 and math.isfinite(rho):
        p = float(stats.spearmanr(x[ok], y[ok]).pvalue)
    return {"rho": None if not math.isfinite(rho) else round(rho, 6), "n": n, "p_value": p}


def kendall_w(matrix: np.ndarray) -> tuple[float, float]:
    """Kendall's W of the rows' orders of the columns (raters x items) and its p-value.

    W is Friedman's chi-square over ``m (n - 1)`` (``scipy.stats.friedmanchisquare``,
    ties corrected); the p-value is Friedman's.

    >>> w, p = kendall_w(np.array([[1.0, 2, 3, 4], [1, 2, 3, 4], [2, 1, 3, 4]]))
    >>> round(w, 3), p < 0.05
    (0.911, True)
    """
    m, n = matrix.shape
    test = stats.friedmanchisquare(*matrix.T)
    return float(test.statistic / (m * (n - 1))), float(test.pvalue)


def duplicate_names(zoo: Zoo, which_factor: str = "top", error_type: str = "class") -> list[dict]:
    """Model names that occur in more than one group, with each row's accuracy (both rows stay in the table).

    The reference and these findings count such a model once, from its first group in
    the authors' folder order (``imagenet_testbed`` before ``modelvshuman``).
    """
    s = zoo.slice(which_factor, error_type)
    names, counts = np.unique(s.model[s.model != "human"].astype(str), return_counts=True)
    out = []
    for name in names[counts > 1]:
        rows = np.flatnonzero(s.model == name)
        out.append(
            {
                "model": str(name),
                "rows": [
                    {
                        "group": str(s.group[r]),
                        "accuracy": round(float(s.accuracy[r]), 6),
                        "used": bool(s.use[r]),
                    }
                    for r in rows
                ],
            }
        )
    return out


def failure_modes_by_type(zoo: Zoo, which_factor: str = "top", error_type: str = "class") -> dict:
    """Per model type: mean error ratio per factor, the factors in order; and how alike the orders are."""
    s = zoo.slice(which_factor, error_type)
    population = Population.from_slice(s)
    labels = population.model_type.astype(str)
    ratios = population.error_ratio
    types = {}
    for label in sorted(set(labels.tolist())):
        rows = labels == label
        mean = np.nanmean(ratios[rows], axis=0)
        order = np.argsort(-mean, kind="mergesort")
        types[label] = {
            "models": int(rows.sum()),
            "families": len(set(population.family[rows].tolist())),
            "mean_error_ratio": {f: round(float(mean[k]), 4) for k, f in enumerate(FACTORS)},
            "factors_by_mean_error_ratio": [FACTORS[k] for k in order],
        }
    # Agreement of the orders: Kendall's W over the types with at least 3 models, and
    # the mean pairwise Spearman rho between their mean-ratio vectors.
    kept = [t for t, d in types.items() if d["models"] >= 3]
    matrix = np.array([[types[t]["mean_error_ratio"][f] for f in FACTORS] for t in kept])
    m = len(matrix)
    w, w_p = kendall_w(matrix)
    pairwise = [spearman(matrix[i], matrix[j]) for i in range(m) for j in range(i + 1, m)]

    paper = np.isin(labels, PAPER_TYPES)
    paper_mean = np.nanmean(ratios[paper], axis=0)
    # every family once: a sweep's runs or a checkpoint series' epochs count as one model
    weight = population.weight()
    ok = np.isfinite(ratios)
    families_mean = np.nansum(np.where(ok, ratios, 0) * weight[:, None], 0) / (ok * weight[:, None]).sum(0)
    return {
        "which_factor": which_factor,
        "error_type": error_type,
        "paper": CONSISTENT_STATEMENT,
        "paper_population": {
            "types": list(PAPER_TYPES),
            "models": int(paper.sum()),
            "description": population.describe(np.flatnonzero(paper)),
            "mean_error_ratio": {f: round(float(paper_mean[k]), 4) for k, f in enumerate(FACTORS)},
            "order": [FACTORS[k] for k in np.argsort(-paper_mean, kind="mergesort")],
        },
        "types": types,
        "overall_order": [FACTORS[k] for k in np.argsort(-families_mean, kind="mergesort")],
        "overall_population": population.describe() + "; each family weighing one",
        "agreement": {
            "types_compared": kept,
            "kendall_w": round(w, 4),
            "kendall_w_p_value": w_p,
            "mean_pairwise_spearman": round(float(np.mean(pairwise)), 4),
            "min_pairwise_spearman": round(float(np.min(pairwise)), 4),
        },
    }


def accuracy_correlations(zoo: Zoo, which_factor: str = "top", error_type: str = "class") -> dict:
    """Per factor: Spearman rho of error ratio with accuracy across the zoo's families, raw and of the excess.

    A family (a sweep, a checkpoint series, a single model) is one point: its models' mean
    accuracy, ratio and excess, as the trend weighs it.
    """
    ref = reference_of(zoo.slice(which_factor, error_type))
    quality = ref.quality()
    _, codes = np.unique(ref.population.family.astype(str), return_inverse=True)
    size = np.bincount(codes)

    def means(values: np.ndarray) -> np.ndarray:
        return np.bincount(codes, weights=values) / size

    accuracy = means(ref.accuracy)
    out = {}
    for k, f in enumerate(FACTORS):
        out[f] = {
            "raw": spearman_test(accuracy, means(ref.error_ratio[:, k])),
            "adjusted": spearman_test(accuracy, means(ref.excess[:, k])),
            "trend_r2": round(quality[f]["r2"], 4) if quality[f]["r2"] is not None else None,
        }
    return {
        "which_factor": which_factor,
        "error_type": error_type,
        "models": ref.n,
        "families": len(size),
        "factors": out,
    }


def _verdict(test: dict, expected_sign: int, threshold: float) -> str:
    if test["rho"] is None or test["p_value"] is None:
        return "no data"
    if test["p_value"] >= threshold:
        return "not significant"
    return "agrees" if np.sign(test["rho"]) == expected_sign else "contradicts"


def augmentation_spillover(zoo: Zoo, which_factor: str = "top", error_type: str = "class") -> dict:
    """Per ResNet-50 sweep and factor: Spearman rho of augmentation strength with error ratio and excess."""
    s = zoo.slice(which_factor, error_type)
    ref = reference_of(s)
    # the excess of every row of the slice, from the zoo's trend
    excess = s.error_ratio - ref.trend.expected(s.accuracy)
    threshold = ALPHA / len(FACTORS)  # Bonferroni over the 16 factors of a sweep
    sweeps = {}
    for group, setting, statement, claims in SWEEPS:
        rows = (s.group == group) & s.use
        strength = s.settings[setting][rows]
        per_factor = {}
        for k, f in enumerate(FACTORS):
            raw = spearman_test(strength, s.error_ratio[rows, k])
            adjusted = spearman_test(strength, excess[rows, k])
            per_factor[f] = {"raw": raw, "adjusted": adjusted}
        checks = []
        for f, sign in claims.items():
            checks.append(
                {
                    "factor": f,
                    "paper": "hurts" if sign > 0 else "helps",
                    "expected_sign_of_rho": sign,
                    "raw": per_factor[f]["raw"],
                    "raw_verdict": _verdict(per_factor[f]["raw"], sign, threshold),
                    "adjusted": per_factor[f]["adjusted"],
                    "adjusted_verdict": _verdict(per_factor[f]["adjusted"], sign, threshold),
                }
            )
        accuracy = spearman_test(strength, s.accuracy[rows])
        sweeps[group] = {
            "setting": setting,
            "models": int(rows.sum()),
            "strengths": int(len(np.unique(strength[np.isfinite(strength)]))),
            "strength_vs_accuracy": accuracy,
            "paper": statement,
            "checks": checks,
            "factors": per_factor,
        }
    return {
        "which_factor": which_factor,
        "error_type": error_type,
        "significance": f"two-sided p < {ALPHA}/16 = {threshold:.5f} (Bonferroni over the factors of a sweep)",
        "sweeps": sweeps,
    }


def findings(
    *,
    zoo: Zoo | None = None,
    zoo_dir: str | os.PathLike | None = None,
    which_factor: str = "top",
    error_type: str = "class",
) -> dict:
    """All findings as one JSON-ready dict (defaults: the paper's top-factor, top-1 tables)."""
    zoo = zoo if zoo is not None else load_zoo(zoo_dir)
    return {
        "source": {"repository": REPOSITORY, "commit": COMMIT, "zoo": zoo.source.describe()},
        "failure_modes_by_model_type": failure_modes_by_type(zoo, which_factor, error_type),
        "correlation_with_accuracy": accuracy_correlations(zoo, which_factor, error_type),
        "augmentation_spillover": augmentation_spillover(zoo, which_factor, error_type),
        "duplicate_names": duplicate_names(zoo, which_factor, error_type),
    }


def _fmt_test(test: dict) -> str:
    if test["rho"] is None:
        return "-"
    p = test["p_value"]
    p_text = "p < 1e-300" if p == 0 else f"p = {p:.2g}"
    return f"rho = {test['rho']:+.2f} (n = {test['n']}, {p_text})"


def to_markdown(result: dict, figures: dict[str, str] | None = None) -> str:
    """The findings as a Markdown report; ``figures`` maps a figure key to its relative path."""
    figures = figures or {}
    modes = result["failure_modes_by_model_type"]
    corr = result["correlation_with_accuracy"]
    spill = result["augmentation_spillover"]
    agree = modes["agreement"]
    pop = modes["paper_population"]
    lines = [
        "# The ImageNet-X paper's findings, recomputed",
        "",
        f"From the per-factor tables of {corr['models']:,} models released by the authors "
        f"({result['source']['repository']} at commit {result['source']['commit'][:7]}); "
        f"{modes['which_factor']} factor, error type {modes['error_type']}. Error ratio = "
        "(1 - accuracy on the factor's images) / (1 - overall accuracy). *Adjusted* = the excess "
        "over the zoo's trend of that factor's ratio against accuracy.",
        "",
        "## 1. Consistent failure modes across model types",
        "",
        f"Paper: {modes['paper']}.",
        "",
        f"Recomputed: Kendall's W = {agree['kendall_w']:.2f} over the {len(agree['types_compared'])} model "
        f"types with at least 3 models (p = {agree['kendall_w_p_value']:.2g}); mean pairwise Spearman rho "
        f"of their mean error ratios {agree['mean_pairwise_spearman']:.2f} (lowest "
        f"{agree['min_pairwise_spearman']:.2f}).",
        "",
        f"On the paper's population, the {pop['models']} models of its four types ("
        + ", ".join(t.lower() for t in pop["types"])
        + "), the mean error ratios put "
        + ", ".join(f"{f.replace('_', ' ')} {pop['mean_error_ratio'][f]:.2f}" for f in pop["order"][:4])
        + " first and "
        + f"{pop['order'][-1].replace('_', ' ')} {pop['mean_error_ratio'][pop['order'][-1]]:.2f} last. "
        f"Over all {corr['models']:,} models with each family weighing one ({modes['overall_population']}) "
        "the order is "
        + ", ".join(f.replace("_", " ") for f in modes["overall_order"][:4])
        + " ... "
        + ", ".join(f.replace("_", " ") for f in modes["overall_order"][-2:])
        + ".",
        "",
        "| model type | models | top 5 factors by mean error ratio |",
        "| --- | ---: | --- |",
    ]
    for label, d in sorted(modes["types"].items(), key=lambda kv: -kv[1]["models"]):
        top = ", ".join(f"{f} {d['mean_error_ratio'][f]:.2f}" for f in d["factors_by_mean_error_ratio"][:5])
        count = f"{d['models']} runs of {d['families']} sweeps" if label == SWEEP_TYPE else str(d["models"])
        lines.append(f"| {label} | {count} | {top} |")
    if "types" in figures:
        lines += ["", f"![mean error ratio per model type and factor]({figures['types']})"]
    lines += [
        "",
        "## 2. Each factor's correlation with accuracy",
        "",
        "Not a claim of the paper, but why a raw ratio needs context: across the zoo, better "
        "models concentrate their remaining errors on some factors. The adjusted column is the "
        f"same correlation for the excess over the trend. Each of the {corr['families']} families "
        "(a sweep, a checkpoint series, a single model) is one point, its models' mean.",
        "",
        "| factor | raw: Spearman rho with accuracy | adjusted | trend R^2 |",
        "| --- | --- | --- | ---: |",
    ]
    for f, d in corr["factors"].items():
        lines.append(f"| {f} | {_fmt_test(d['raw'])} | {_fmt_test(d['adjusted'])} | {d['trend_r2']:.2f} |")
    if "trend" in figures:
        lines += ["", f"![error ratio against accuracy per factor]({figures['trend']})"]
    lines += [
        "",
        "## 3. Augmentation spill-over in the ResNet-50 sweeps",
        "",
        "Each sweep varies one augmentation's strength. Strength also moves overall accuracy, so "
        "the raw correlations partly restate accuracy; the adjusted ones (strength against the "
        "excess over the zoo's accuracy trend) do not. "
        f"Significance: {spill['significance']}.",
        "",
    ]
    for group, d in spill["sweeps"].items():
        lines.append(
            f"### {group} ({d['models']} models, {d['strengths']} strengths of {d['setting'].replace('_', ' ')})"
        )
        lines.append("")
        lines.append(f"Strength vs accuracy: {_fmt_test(d['strength_vs_accuracy'])}.")
        lines.append("")
        if d["paper"]:
            lines.append(f"Paper: {d['paper']}.")
            lines.append("")
            lines.append("| factor | paper | raw | verdict | adjusted | verdict |")
            lines.append("| --- | --- | --- | --- | --- | --- |")
            for c in d["checks"]:
                lines.append(
                    f"| {c['factor']} | {c['paper']} | {_fmt_test(c['raw'])} | {c['raw_verdict']} | "
                    f"{_fmt_test(c['adjusted'])} | {c['adjusted_verdict']} |"
                )
            lines.append("")
        else:
            lines.append("The paper makes no specific claim for this sweep.")
            lines.append("")
        ordered = sorted(d["factors"].items(), key=lambda kv: -abs(kv[1]["adjusted"]["rho"] or 0))
        lines.append(
            "Strongest adjusted effects (rho of strength with excess; + = hurts): "
            + "; ".join(f"{f} {v['adjusted']['rho']:+.2f}" for f, v in ordered[:5])
            + "."
        )
        lines.append("")
    if "spillover" in figures:
        lines += [f"![augmentation strength vs every factor]({figures['spillover']})", ""]
    duplicates = result.get("duplicate_names") or []
    if duplicates:
        lines += [
            "## Models listed twice",
            "",
            f"{len(duplicates)} model names occur in two groups of the tables with different rows (the same "
            "architecture evaluated twice, by different pipelines). Both rows stay in `Zoo.table()`; the "
            "reference and these findings use the row of the first group (marked *used*).",
            "",
            "| model | rows (group: accuracy) |",
            "| --- | --- |",
        ]
        for d in duplicates:
            rows = "; ".join(
                f"{r['group']}: {r['accuracy']:.4f}{' (used)' if r['used'] else ''}" for r in d["rows"]
            )
            lines.append(f"| {d['model']} | {rows} |")
        lines.append("")
    return "\n".join(lines)


def plot_findings(result: dict, zoo: Zoo, output: str | os.PathLike) -> dict[str, str]:
    """Write the findings' figures as PNGs into ``output``; returns key -> file name."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from imagenet_x_hf.zoo.plot import plot_placement, save_placement_figure

    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    written = {}

    modes = result["failure_modes_by_model_type"]
    labels = [t for t, d in sorted(modes["types"].items(), key=lambda kv: -kv[1]["models"])]
    order = modes["overall_order"]
    matrix = np.array([[modes["types"][t]["mean_error_ratio"][f] for f in order] for t in labels])
    fig, ax = plt.subplots(figsize=(13, 0.5 * len(labels) + 2.2))
    image = ax.imshow(matrix, cmap="RdBu_r", vmin=2 - matrix.max(), vmax=matrix.max(), aspect="auto")
    ax.set_xticks(range(len(order)), [f.replace("_", " ") for f in order], rotation=40, ha="right")
    ax.set_yticks(range(len(labels)), [f"{t} ({modes['types'][t]['models']})" for t in labels])
    for i in range(matrix.shape[0]):
        for j in range(matrix.shape[1]):
            dark = abs(matrix[i, j] - 1) > 0.75 * (matrix.max() - 1)
            ax.text(
                j,
                i,
                f"{matrix[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=7,
                color="white" if dark else "black",
            )
    fig.colorbar(image, ax=ax, label="mean error ratio", fraction=0.03)
    ax.set_title("Mean error ratio per model type (factors in the zoo's overall order)")
    fig.tight_layout()
    fig.savefig(output / "failure_modes_by_type.png", dpi=110)
    plt.close(fig)
    written["types"] = "failure_modes_by_type.png"

    fig = plot_placement([], zoo=zoo, which_factor=modes["which_factor"], error_type=modes["error_type"])
    save_placement_figure(fig, output / "trend_per_factor.png")
    written["trend"] = "trend_per_factor.png"

    spill = result["augmentation_spillover"]["sweeps"]
    fig, axes = plt.subplots(1, len(spill), figsize=(5.2 * len(spill), 6), sharey=True)
    y = np.arange(len(FACTORS))
    for ax, (group, d) in zip(np.atleast_1d(axes), spill.items()):
        raw = [d["factors"][f]["raw"]["rho"] or 0 for f in FACTORS]
        adj = [d["factors"][f]["adjusted"]["rho"] or 0 for f in FACTORS]
        ax.barh(y - 0.2, raw, height=0.4, color="#9ecae1", label="raw error ratio")
        ax.barh(y + 0.2, adj, height=0.4, color="#08519c", label="accuracy-adjusted")
        ax.axvline(0, color="0.3", linewidth=0.8)
        ax.set_yticks(y, [f.replace("_", " ") for f in FACTORS])
        ax.invert_yaxis()
        ax.set_xlim(-1, 1)
        ax.set_xlabel(
            f"Spearman rho with {d['setting'].replace('_', ' ')}\n(+ = stronger augmentation, more errors)"
        )
        ax.set_title(f"{group} ({d['models']} models)")
        ax.grid(True, axis="x", linewidth=0.3)
    np.atleast_1d(axes)[0].legend(loc="lower left", fontsize=9)
    fig.suptitle("Augmentation spill-over in the ResNet-50 sweeps")
    fig.tight_layout()
    fig.savefig(output / "augmentation_spillover.png", dpi=110)
    plt.close(fig)
    written["spillover"] = "augmentation_spillover.png"
    return written
