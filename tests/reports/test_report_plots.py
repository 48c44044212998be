"""Charts for one real model and for the four real models: valid files, and bars that show the numbers."""

from __future__ import annotations

import itertools
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from imagenet_x_hf.cli import main
from imagenet_x_hf.errors import ResultsFileError
from imagenet_x_hf.reports.format import factor_label
from imagenet_x_hf.reports.plots import (
    DPI,
    VERSUS_ONE_COLORS,
    WIDTH_IN,
    figure_bytes,
    plot_comparison,
    plot_error_ratios,
    save_figure,
)
from imagenet_x_hf.results import FactorResult
from imagenet_x_hf.schema import FACTORS


def png_size(path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def svg_root(path):
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return root


@pytest.fixture(scope="module")
def single_figure(vit):
    return plot_error_ratios(vit.results, model="ViT")


@pytest.fixture(scope="module")
def comparison_figure(comparison):
    return plot_comparison(
        list(comparison["models"].items()),
        comparisons=comparison["comparisons"],
        baseline=comparison["baseline"],
    )


def bar_heights(ax) -> list[np.ndarray]:
    return [np.array([p.get_height() for p in c.patches]) for c in ax.containers if hasattr(c, "patches")]


def test_single_model_chart_files(single_figure, tmp_path):
    png = save_figure(single_figure, tmp_path / "vit.png")
    svg = save_figure(single_figure, tmp_path / "vit.svg")
    width, height = png_size(png)
    assert width == int(WIDTH_IN * DPI) and 500 <= height <= 900  # fits a model card at ~800 px
    root = svg_root(svg)
    assert root.get("width", "").endswith("pt") and float(root.get("width")[:-2]) == pytest.approx(
        WIDTH_IN * 72
    )


def test_charts_are_deterministic(vit):
    # A rerun on the same results gives the same bytes, so re-pushing a card does not churn its chart.
    first = plot_error_ratios(vit.results, model="ViT")
    second = plot_error_ratios(vit.results, model="ViT")
    for fmt in ("png", "svg"):
        assert figure_bytes(first, fmt) == figure_bytes(second, fmt)


def test_single_model_chart_shows_the_numbers(single_figure, vit):
    ax = single_figure.axes[0]
    rows = vit.results.factors
    assert [t.get_text() for t in ax.get_xticklabels()] == [factor_label(f) for f in FACTORS]
    bars = [p for p in ax.patches]
    assert len(bars) == len(FACTORS)
    np.testing.assert_allclose([b.get_height() for b in bars], [r.error_ratio for r in vit.results.factors])
    colours = [tuple(np.round(b.get_facecolor()[:3], 3)) for b in bars]
    from matplotlib.colors import to_rgb

    assert colours == [tuple(np.round(to_rgb(VERSUS_ONE_COLORS[r.versus_one]), 3)) for r in rows]
    # The error bars span the intervals exactly.
    segments = [c for c in ax.collections if len(c.get_segments()) == len(FACTORS)][0].get_segments()
    for segment, factor in zip(segments, FACTORS):
        entry = vit.results.factor(factor)
        assert sorted(segment[:, 1]) == pytest.approx([entry.low, entry.high])
    # A horizontal line at 1.
    assert any(np.allclose(line.get_ydata(), 1.0) for line in ax.get_lines())


def test_comparison_chart_files_and_numbers(comparison_figure, comparison, tmp_path):
    png = save_figure(comparison_figure, tmp_path / "compare.png")
    svg = save_figure(comparison_figure, tmp_path / "compare.svg")
    width, height = png_size(png)
    assert width == int(WIDTH_IN * DPI) and 800 <= height <= 1400
    svg_root(svg)
    top, bottom = comparison_figure.axes[:2]
    names = list(comparison["models"])
    assert names == ["ResNet50", "DINO", "SimCLR", "ViT"]
    heights = bar_heights(top)
    assert len(heights) == 4
    for name, h in zip(names, heights):
        np.testing.assert_allclose(h, [r.error_ratio for r in comparison["models"][name].factors])
    differences = bar_heights(bottom)
    assert len(differences) == 3
    for c, h in zip(comparison["comparisons"], differences):
        np.testing.assert_allclose(h, [c["factors"][f]["difference"] for f in FACTORS])
    legend = comparison_figure.legends[0]
    assert [t.get_text().split(" (")[0] for t in legend.get_texts()] == names


def test_factor_without_images_is_drawn_as_na(vit):
    factors = tuple(
        FactorResult(r.factor, 0, 0, None, None, None, None) if r.factor == "style" else r
        for r in vit.results.factors
    )
    fig = plot_error_ratios(vit.results.replace(factors=factors))
    assert "n/a" in [t.get_text() for t in fig.axes[0].texts]


def test_bad_chart_requests(single_figure, tmp_path):
    with pytest.raises(ResultsFileError, match=r"\.png, \.svg or \.pdf"):
        save_figure(single_figure, tmp_path / "chart.jpg")
    with pytest.raises(ResultsFileError, match="at least one"):
        plot_comparison([])


def test_plot_command(tmp_path, vit, capsys):
    out = tmp_path / "charts" / "vit.svg"
    assert main(["plot", str(vit.source), "--output", str(out)]) == 0
    assert str(out) in capsys.readouterr().out
    svg_root(out)


def test_svg_keeps_text_as_text_and_pdf_is_written(single_figure, tmp_path):
    # Text drawn as paths cannot be searched, selected or edited: every label must be a <text>.
    svg = save_figure(single_figure, tmp_path / "chart.svg").read_text()
    root = svg_root(tmp_path / "chart.svg")
    texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
    for factor in FACTORS:
        assert factor_label(factor) in texts
    assert any("error ratio per ImageNet-X factor" in t for t in texts)
    assert "<defs>" not in svg or "glyph" not in svg  # no glyph paths
    pdf = save_figure(single_figure, tmp_path / "chart.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert b"/FontFile2" in pdf  # TrueType fonts embedded (text, not outlines)
    again = figure_bytes(single_figure, "pdf")
    assert again == pdf  # no timestamps: the same figure gives the same bytes


def lab(rgb) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of an sRGB colour, for perceptual distances."""

    def linear(c):
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (linear(c) for c in rgb)
    xyz = (
        (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047,
        0.2126 * r + 0.7152 * g + 0.0722 * b,
        (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883,
    )
    f = [t ** (1 / 3) if t > 0.008856 else 7.787 * t + 16 / 116 for t in xyz]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def test_four_models_get_clearly_different_colours(comparison_figure):
    from matplotlib.colors import to_rgba

    top, bottom = comparison_figure.axes[:2]
    colours = [to_rgba(c.patches[0].get_facecolor()) for c in top.containers if hasattr(c, "patches")]
    assert len(colours) == 4 and all(c[3] == 1 for c in colours)  # opaque
    labs = [lab(c[:3]) for c in colours]
    for a, b in itertools.combinations(labs, 2):
        assert sum((x - y) ** 2 for x, y in zip(a, b)) ** 0.5 > 25  # CIE76 distance: clearly different
    assert all(L < 75 for L, _, _ in labs)  # none pale enough to fade on white
    # The difference panel draws no pale (see-through) bars: each is opaque or a white, hatched
    # outline in the model's full colour.
    for colour, bars in zip(colours[1:], [c for c in bottom.containers if hasattr(c, "patches")]):
        for patch in bars.patches:
            assert to_rgba(patch.get_edgecolor()) == pytest.approx(colour)
            assert to_rgba(patch.get_facecolor()) in (pytest.approx(colour), (1.0, 1.0, 1.0, 1.0))


def test_unclear_differences_are_hatched_outlines(comparison_figure, comparison):
    bottom = comparison_figure.axes[1]
    containers = [c for c in bottom.containers if hasattr(c, "patches")]
    for c, bars in zip(comparison["comparisons"], containers):
        for factor, patch in zip(FACTORS, bars.patches):
            d = c["factors"][factor]
            clear = d["low"] is not None and (d["low"] > 0 or d["high"] < 0)
            assert bool(patch.get_hatch()) is (not clear)
            assert patch.get_facecolor()[:3] != (1.0, 1.0, 1.0) or not clear
