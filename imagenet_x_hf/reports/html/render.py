"""Render the report page: a Jinja template with the stylesheet and script inlined.

Everything the page needs is in the one file: CSS and JS from ``assets/``, charts
as inline SVG, thumbnails as ``data:`` URIs. Text from the annotations and model
names is escaped by Jinja's autoescaping.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from imagenet_x_hf.reports.format import factor_label, format_interval, format_percent, format_ratio
from imagenet_x_hf.reports.html import svg
from imagenet_x_hf.reports.section import method_text
from imagenet_x_hf.reports.summary import ACCURACY_NAMES, summarize
from imagenet_x_hf.reports.zoo_sentence import zoo_explanation
from imagenet_x_hf.results import Results, RunRecord
from imagenet_x_hf.schema import FACTOR_DEFINITIONS, FACTORS, METACLASSES

ASSETS = Path(__file__).resolve().parent / "assets"
# Okabe & Ito, as the project's PNG charts
ABOVE, BELOW, NEUTRAL = "#D55E00", "#0072B2", "#A0A0A0"
# A metaclass x factor cell with fewer images is printed, not coloured: its ratio is noise.
FEW_IMAGES_CELL = 30
VERSUS_ONE = {"above": ABOVE, "below": BELOW, "includes": NEUTRAL, "unknown": NEUTRAL}


@functools.cache
def _environment():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(ASSETS)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        pct=format_percent,
        ratio=format_ratio,
        signed=lambda v: "n/a" if v is None else f"{v:+.2f}",
        count=lambda v: "n/a" if v is None else f"{int(v):,}",
        label=factor_label,
        prob=lambda p: "" if p is None else f"{100 * p:.1f}%",
        percentile=lambda v: "n/a" if v is None else f"{math.floor(v)}",  # never rounds up to 100
    )
    return env


def _asset(name: str) -> Markup:
    return Markup((ASSETS / name).read_text(encoding="utf-8"))


def emphasis(text: str) -> Markup:
    """Markdown ``**strong**`` and ``*word*`` emphasis of the summary sentences as HTML, everything else escaped.

    >>> str(emphasis("**Top-1 accuracy: 76.8%** fails on *pose* <b>"))
    '<strong>Top-1 accuracy: 76.8%</strong> fails on <em>pose</em> &lt;b&gt;'
    """
    text = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", str(escape(text)))
    return Markup(re.sub(r"\*([^*]+)\*", r"<em>\1</em>", text))


def heat(value: float | None) -> str:
    """A cell background for an error ratio: orange above 1, blue below, stronger further away.

    >>> heat(None), heat(1.0)
    ('', 'background:rgba(213,94,0,0.00)')
    """
    if value is None or not math.isfinite(value) or value <= 0:
        return ""
    t = max(-1.0, min(1.0, math.log2(value) / math.log2(3)))
    rgb = "213,94,0" if t >= 0 else "0,114,178"
    return f"background:rgba({rgb},{0.55 * abs(t):.2f})"


def _factor_table(results: Results, gallery) -> list[dict[str, Any]]:
    calibration = (results.calibration or {}).get("factors") or {}
    out = []
    for row in results.factors:
        out.append(
            {
                "factor": row.factor,
                "label": row.label,
                "definition": row.definition,
                "images": row.images,
                "accuracy": row.accuracy,
                "ratio": row.error_ratio,
                "interval": format_interval(row),
                "versus_one": row.versus_one,
                "errors": gallery.candidates.get(row.factor, 0),
                "shown": gallery.shown.get(row.factor, 0),
                "ece": calibration.get(row.factor),
            }
        )
    return out


def _ratio_chart(results: Results, name: str) -> Markup:
    rows = results.factors
    level_text = f"{100 * results.scoring.confidence_level:g}% "
    chart = svg.interval_chart(
        [
            svg.ChartRow(
                r.label, r.error_ratio, r.low, r.high, VERSUS_ONE[r.versus_one], format_ratio(r.error_ratio)
            )
            for r in rows
        ],
        title=f"{name}: error ratio per factor with {level_text}intervals",
        desc=(
            "One bar per ImageNet-X factor; the dashed line at 1 is the model's average error rate. "
            "Orange: the interval lies above 1; blue: below 1; grey: it includes 1."
        ),
        axis_label="error ratio (1 = the model's average)",
        reference=1.0,
        bars=True,
    )
    return Markup(chart)


def _difference_chart(paired: Mapping, a: str, b: str) -> Markup:
    rows = []
    for factor in FACTORS:
        d = paired["factors"].get(factor) or {}
        low, high = d.get("low"), d.get("high")
        clear = low is not None and high is not None and (low > 0 or high < 0)
        color = (ABOVE if low > 0 else BELOW) if clear else "#ffffff"
        rows.append(svg.ChartRow(factor_label(factor), d.get("difference"), low, high, color))
    return Markup(
        svg.interval_chart(
            rows,
            title=f"Paired difference of error ratios, {a} minus {b}",
            desc=(
                f"Per factor, {a}'s error ratio minus {b}'s on the images both were scored on, with its "
                "interval. Filled dots: the interval excludes 0 (orange: more relative mistakes for "
                f"{a}; blue: fewer)."
            ),
            axis_label=f"{a} − {b}",
            reference=0.0,
            bars=False,
        )
    )


def _zoo_chart(block, name: str) -> Markup:
    colors = {"above": ABOVE, "below": BELOW, "includes": "#ffffff"}
    rows = [
        svg.ChartRow(factor_label(f.factor), f.excess, f.low, f.high, colors[f.clear]) for f in block.factors
    ]
    return Markup(
        svg.interval_chart(
            rows,
            title=f"{name}: excess error ratio over the zoo's trend at its accuracy",
            desc=(
                "Per factor, the model's error ratio minus the ratio expected from the released models "
                "at the same accuracy, with its interval. Filled dots: the interval excludes 0 "
                "(orange: more relative mistakes than models of its accuracy; blue: fewer)."
            ),
            axis_label="excess error ratio (observed − expected)",
            reference=0.0,
            bars=False,
        )
    )


def _metaclass_rows(results: Results) -> list[dict[str, Any]]:
    breakdown = results.metaclass or {}
    out = []
    for name in METACLASSES:
        entry = breakdown.get(name)
        if not entry:
            continue
        ratios = entry.get("error_ratio") or {}
        images = entry.get("factor_images") or {}
        out.append(
            {
                "name": name,
                "label": name.replace("_", " "),
                "images": entry.get("images"),
                "accuracy": entry.get("accuracy"),
                "cells": [
                    {
                        "ratio": ratios.get(f),
                        "images": images.get(f),
                        "few": (images.get(f) or 0) < FEW_IMAGES_CELL,
                        "style": "" if (images.get(f) or 0) < FEW_IMAGES_CELL else heat(ratios.get(f)),
                    }
                    for f in FACTORS
                ],
            }
        )
    return out


def _reliability(images, name: str) -> dict[str, Any] | None:
    if images.probability is None:
        return None
    bins = svg.reliability_bins(images.correct, images.probability)
    chart = svg.reliability_chart(
        bins,
        title=f"{name}: accuracy against confidence",
        desc=(
            "Images grouped by the model's top-1 probability in 15 equal bins; each bar is the share "
            "predicted correctly (darker bars hold more images). The dashed diagonal is perfect calibration: "
            "bars below it mean overconfidence."
        ),
    )
    return {"chart": Markup(chart), "bins": [b for b in bins if b.images]}


def _comparison_view(comparison, main_name: str, main_results: Results) -> dict[str, Any]:
    paired = comparison.paired
    a_rows = {r.factor: r for r in main_results.factors}
    b_rows = {r.factor: r for r in comparison.other_results.factors}
    table = []
    for factor in FACTORS:
        d = paired["factors"].get(factor) or {}
        low, high = d.get("low"), d.get("high")
        clear = low is not None and high is not None and (low > 0 or high < 0)
        table.append(
            {
                "factor": factor,
                "label": factor_label(factor),
                "a": a_rows[factor].error_ratio,
                "b": b_rows[factor].error_ratio,
                "difference": d.get("difference"),
                "low": low,
                "high": high,
                "side": ("above" if low > 0 else "below") if clear else "",
                "images": d.get("images"),
                "a_only": comparison.gallery.candidates.get(f"a:{factor}", 0),
                "b_only": comparison.gallery.candidates.get(f"b:{factor}", 0),
            }
        )
    return {
        "other": comparison.other,
        "other_accuracy": comparison.other_results.accuracy,
        "other_images": comparison.other_results.images,
        "images": paired.get("images"),
        "method": paired.get("interval_method"),
        "table": table,
        "chart": _difference_chart(paired, main_name, comparison.other),
        "gallery": comparison.gallery,
        "a_only": comparison.a_only,
        "b_only": comparison.b_only,
        "a_accuracy": comparison.a_accuracy,
        "b_accuracy": comparison.b_accuracy,
    }


def thumbnail_styles(cards: Sequence) -> tuple[dict[str, str], Markup]:
    """Each shown image once: a CSS class per file whose background is its ``data:`` URI.

    A file shown in several galleries (the mistakes and each comparison) is embedded once
    and referenced by class, so the page holds one copy of every image.

    >>> from types import SimpleNamespace as NS
    >>> t = NS(uri="data:image/jpeg;base64,AAAA", width=4, height=3)
    >>> classes, css = thumbnail_styles([NS(file_name="a", thumbnail=t), NS(file_name="a", thumbnail=t)])
    >>> classes, str(css).count("data:")
    ({'a': 't0'}, 1)
    """
    classes: dict[str, str] = {}
    rules = []
    for card in cards:
        if card.thumbnail is None or card.file_name in classes:
            continue
        name = f"t{len(classes)}"
        classes[card.file_name] = name
        rules.append(f".{name}{{background-image:url({card.thumbnail.uri})}}")
    return classes, Markup("\n".join(rules))


def _model_fact(value: str) -> str:
    """A model id as the page shows it: a local folder by its name only (the page may be published)."""
    path = Path(value).expanduser()
    if path.is_absolute() or value.startswith((".", "~")) or path.exists():
        return f"{path.name} (a local folder)"
    return value


def _run_facts(model) -> list[tuple[str, str]]:
    run = model.run or RunRecord()
    facts = []
    for key, label in (
        ("model", "model"),
        ("revision", "revision"),
        ("commit", "commit"),
        ("adapter", "adapter"),
        ("architecture", "architecture"),
        ("precision", "precision"),
        ("device", "device"),
    ):
        if run.get(key):
            facts.append((label, _model_fact(str(run.get(key))) if key == "model" else str(run.get(key))))
    timing = run.timing
    if timing.get("images_per_second"):
        facts.append(("speed", f"{timing['images_per_second']:,} images/s"))
    return facts


@dataclass(frozen=True)
class Page:
    """Everything one report page shows: the model and its scored images, the galleries,
    comparisons, thumbnails and zoo block, and the facts the page states about itself."""

    model: Any
    images: Any
    gallery: Any
    comparisons: Sequence
    thumbnails: Any
    imagenet_given: bool
    zoo_block: Any
    zoo_note: str | None
    title: str | None
    hint: str
    seed: int
    thumbnail_size: int


def render_page(page: Page) -> str:
    """The whole page as a string."""
    from imagenet_x_hf import __version__

    model, images, gallery, comparisons = page.model, page.images, page.gallery, page.comparisons
    zoo_block, zoo_note, title = page.zoo_block, page.zoo_note, page.title
    settings = model.results.scoring

    results = model.results
    placed = zoo_block.placement if zoo_block is not None else None
    summary = summarize(results, zoo=placed)
    shown_cards = [*gallery.cards, *(card for c in comparisons for card in c.gallery.cards)]
    thumb_classes, thumb_css = thumbnail_styles(shown_cards)
    context = {
        "title": title or f"ImageNet-X report: {model.name}",
        "model": model.name,
        "results": results,
        "settings": settings,
        "accuracy_name": ACCURACY_NAMES.get(settings.error_type, "accuracy"),
        "level": f"{100 * results.scoring.confidence_level:g}%",
        "interval_method": method_text(results.interval_method),
        "sentences": [emphasis(s) for s in summary.sentences],
        "ratio_chart": _ratio_chart(results, model.name),
        "factors": _factor_table(results, gallery),
        "colors": VERSUS_ONE,
        "coverage": results.coverage or {},
        "zoo": zoo_block,
        "zoo_explanation": zoo_explanation(placed),
        "zoo_chart": _zoo_chart(zoo_block, model.name) if zoo_block is not None else None,
        "zoo_note": zoo_note,
        "metaclass_rows": _metaclass_rows(results),
        "few_cell": FEW_IMAGES_CELL,
        "factor_names": FACTORS,
        "calibration": results.calibration,
        "reliability": _reliability(images, model.name),
        "comparisons": [_comparison_view(c, model.name, results) for c in comparisons],
        "gallery": gallery,
        "definitions": FACTOR_DEFINITIONS,
        "thumbnails": page.thumbnails,
        "imagenet_given": page.imagenet_given,
        "hint": page.hint,
        "seed": page.seed,
        "thumbnail_size": page.thumbnail_size,
        "run_facts": _run_facts(model),
        "version": __version__,
        "thumb_classes": thumb_classes,
        "thumb_css": thumb_css,
        "css": _asset("report.css"),
        "js": _asset("report.js"),
    }
    return _environment().get_template("report.html.j2").render(**context).lstrip()
