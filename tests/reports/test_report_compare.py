"""Comparing the four real models: the table, the paired differences and the command."""

from __future__ import annotations

import json
import re

import pytest

from imagenet_x_hf.cli import main
from imagenet_x_hf.errors import ResultsFileError
from imagenet_x_hf.reports.compare import compare_models, format_comparison
from imagenet_x_hf.reports.inputs import load_model_results
from imagenet_x_hf.schema import FACTORS


def test_paired_differences_match_the_error_ratios(comparison, real_models):
    assert comparison["baseline"] == "ResNet50"
    assert [c["a"] for c in comparison["comparisons"]] == ["DINO", "SimCLR", "ViT"]
    assert {c["b"] for c in comparison["comparisons"]} == {"ResNet50"}
    base = real_models["ResNet50"].results
    # All four files cover the same annotated images, so the paired difference of error
    # ratios must equal the difference of the separately computed error ratios.
    assert len({m.results.coverage["used"] for m in real_models.values()}) == 1
    for c in comparison["comparisons"]:
        other = real_models[c["a"]].results
        for factor in FACTORS:
            d = c["factors"][factor]
            expected = other.factor(factor).error_ratio - base.factor(factor).error_ratio
            assert d["difference"] == pytest.approx(expected, abs=1e-12)
            assert d["low"] <= d["difference"] <= d["high"]


def test_comparison_table(comparison):
    text = format_comparison(comparison)
    lines = text.splitlines()
    assert lines[1] == "| factor | ResNet50 | DINO | SimCLR | ViT |"
    vit_pose = comparison["models"]["ViT"].factor("pose")
    assert f"{vit_pose.error_ratio:.2f} ({vit_pose.low:.2f}–{vit_pose.high:.2f})" in text
    diff_header = lines.index("| factor | DINO − ResNet50 | SimCLR − ResNet50 | ViT − ResNet50 |")
    rows = lines[diff_header + 2 : diff_header + 2 + len(FACTORS)]
    for factor, row in zip(FACTORS, rows):
        cells = [c.strip() for c in row.strip("|").split("|")]
        assert cells[0] == factor.replace("_", " ")
        for cell, c in zip(cells[1:], comparison["comparisons"]):
            d = c["factors"][factor]
            assert cell.startswith(f"{d['difference']:+.2f} ")
            # The star marks exactly the intervals that exclude 0.
            assert cell.endswith("*") == (d["low"] > 0 or d["high"] < 0)
    assert sum(line.count("*") for line in rows) > 0


def test_compare_command(tmp_path, real_models, capsys):
    chart = tmp_path / "compare.svg"
    inputs = [str(real_models[n].source) for n in ("ViT", "SimCLR")]
    assert main(["compare", *inputs, "--baseline", "SimCLR", "--plot", str(chart), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["baseline"] == "SimCLR" and list(report["models"]) == ["ViT", "SimCLR"]
    (c,) = report["comparisons"]
    assert (c["a"], c["b"]) == ("ViT", "SimCLR")
    vit, simclr = real_models["ViT"].results, real_models["SimCLR"].results
    assert c["factors"]["texture"]["difference"] == pytest.approx(
        vit.factor("texture").error_ratio - simclr.factor("texture").error_ratio, abs=1e-12
    )
    assert report["plots"] == [str(chart)] and chart.read_bytes().lstrip().startswith(b"<?xml")


def test_comparison_errors(tmp_path, real_models):
    models = list(real_models.values())
    with pytest.raises(
        ResultsFileError, match="no model is named 'AlexNet'; --baseline takes one of: ResNet50, DINO"
    ):
        compare_models(models, baseline="AlexNet")
    with pytest.raises(ResultsFileError, match="at least two"):
        compare_models(models[:1])
    with pytest.raises(ResultsFileError, match="both named 'ViT'"):
        compare_models([real_models["ViT"], real_models["ViT"]], paired=False)

    # Results computed with other settings are not compared silently.
    run = tmp_path / "multi-run"
    run.mkdir()
    (run / "results.json").write_text(
        json.dumps(dict(real_models["DINO"].results.to_dict(), model="DINO-multi", which_factor="multi"))
    )
    other = load_model_results(run)
    with pytest.raises(ResultsFileError, match=re.escape("scored with which_factor='multi'")):
        compare_models([real_models["ViT"], other])

    # A results file alone cannot be paired image by image.
    (run / "results.json").write_text(
        json.dumps(dict(real_models["DINO"].results.to_dict(), model="DINO-copy"))
    )
    alone = load_model_results(run)
    with pytest.raises(ResultsFileError, match="holds results but no predictions"):
        compare_models([real_models["ViT"], alone])
    # ... but the unpaired table works.
    assert compare_models([real_models["ViT"], alone], paired=False)["comparisons"] == []


def test_comparison_follows_the_empty_real_convention(real_models):
    """Results scored with the ReaL protocol are compared under the same protocol."""
    from imagenet_x_hf.metrics import paired_comparison
    from imagenet_x_hf.settings import ScoringOptions

    options = ScoringOptions(error_type="real_class", empty_real="exclude")
    paths = {name: real_models[name].source for name in ("ResNet50", "ViT")}
    models = [load_model_results(path, options=options) for path in paths.values()]
    out = compare_models(models, baseline="ResNet50")
    expected = paired_comparison(models[1].predictions(), models[0].predictions(), options)
    assert out["comparisons"][0]["factors"] == expected["factors"]
    toolkit_convention = paired_comparison(
        models[1].predictions(), models[0].predictions(), ScoringOptions(error_type="real_class")
    )
    assert out["comparisons"][0]["images"] == expected["images"] < toolkit_convention["images"]
