"""The zoo's commands: rank and findings (JSON, figures), --examples, and bad input exits 2 on one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from imagenet_x_hf.cli import main

from .conftest import PREDICTIONS_DIR, ZOO_DIR


@pytest.fixture
def local_zoo(monkeypatch):
    monkeypatch.setenv("IMAGENET_X_ZOO", str(ZOO_DIR))


def fails(argv, capsys) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


@pytest.mark.slow
def test_rank_json_and_plot(local_zoo, tmp_path, capsys):
    png = tmp_path / "rank.png"
    assert main(["rank", str(PREDICTIONS_DIR / "ViT.csv"), "--examples", "--json", "--plot", str(png)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [m["model"] for m in out["models"]] == ["ViT", "DINO", "ResNet50", "SimCLR", "ViT"]
    assert out["models"][0]["factors"] == out["models"][-1]["factors"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out["plots"] == [str(png)]
    assert main(["rank", "--examples", "--which-factor", "multi", "--error-type", "real_class"]) == 0
    text = capsys.readouterr().out
    assert "multi factor, error type real_class" in text and "pct near" in text


def test_score_and_compare_examples(local_zoo, capsys):
    assert main(["score", "--examples", "--json"]) == 0
    results = json.loads(capsys.readouterr().out)["results"]
    assert [r["model"] for r in results] == ["DINO", "ResNet50", "SimCLR", "ViT"]
    assert main(["compare", "--examples", "--no-paired", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)["models"]) == {"DINO", "ResNet50", "SimCLR", "ViT"}


def test_card_example(local_zoo, tmp_path, capsys):
    card = tmp_path / "README.md"
    assert main(["card", "--example", "ViT", "--model-card", str(card), "--no-chart", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["model"] == "ViT"
    assert "ImageNet-X" in card.read_text()


@pytest.mark.slow
def test_findings_json_and_report(local_zoo, tmp_path, capsys):
    assert main(["findings", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    checks = {c["factor"]: c for c in out["augmentation_spillover"]["sweeps"]["colorjitter"]["checks"]}
    assert {c["raw_verdict"] for c in checks.values()} == {"agrees"}
    assert checks["pose"]["raw"]["rho"] > 0 > checks["color"]["raw"]["rho"]
    crop = out["augmentation_spillover"]["sweeps"]["crop"]["checks"][0]
    assert crop["factor"] == "smaller" and crop["adjusted_verdict"] == "agrees"
    assert out["failure_modes_by_model_type"]["agreement"]["kendall_w"] > 0.8
    corr = out["correlation_with_accuracy"]["factors"]["subcategory"]
    assert corr["raw"]["rho"] > 0.9 and abs(corr["adjusted"]["rho"]) < 0.2
    assert out["correlation_with_accuracy"]["families"] == 282  # a sweep is one point, not hundreds
    # the headline is on the paper's population: its four model types, 209 models
    paper = out["failure_modes_by_model_type"]["paper_population"]
    assert paper["models"] == 209 and len(paper["types"]) == 4
    assert paper["order"][:4] == ["texture", "subcategory", "object_blocking", "person_blocking"]
    assert paper["order"][-1] == "pose" and paper["mean_error_ratio"]["texture"] == pytest.approx(
        2.17, abs=0.005
    )
    assert len(out["duplicate_names"]) == 9
    assert main(["findings", "--output", str(tmp_path / "f")]) == 0
    md = (tmp_path / "f" / "findings.md").read_text()
    assert "color-jitter augmentation improves robustness to color" in md
    assert "On the paper's population, the 209 models of its four types" in md
    assert "| vit_base_patch16_224 | imagenet_testbed: 0.8073 (used); modelvshuman: 0.8352 |" in md
    for name in ("failure_modes_by_type.png", "trend_per_factor.png", "augmentation_spillover.png"):
        assert f"]({name})" in md and (tmp_path / "f" / name).stat().st_size > 10_000


def test_bad_inputs_exit_2_on_one_line(tmp_path, monkeypatch, capsys):
    assert "no input given" in fails(["rank"], capsys)
    assert "does not exist" in fails(
        ["rank", str(tmp_path / "missing.csv"), "--zoo-dir", str(ZOO_DIR)], capsys
    )
    assert "not a directory" in fails(["findings", "--zoo-dir", str(tmp_path / "nowhere")], capsys)
    bad = tmp_path / "fig.pdf"
    err = fails(["rank", "--examples", "--zoo-dir", str(ZOO_DIR), "--plot", str(bad)], capsys)
    assert "give a .png or .svg path" in err
    argv = ["rank", str(PREDICTIONS_DIR / "ViT.csv"), "--zoo-dir", str(ZOO_DIR), "--reference", "type:nope"]
    assert "pick one of: resnet-50-augmentation-sweep (2117)" in fails(argv, capsys)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("IMAGENET_X_ZOO_CACHE", str(tmp_path / "empty"))
    assert "HF_HUB_OFFLINE forbids downloading" in fails(["score", "--examples"], capsys)
    assert "HF_HUB_OFFLINE forbids downloading" in fails(["rank", str(PREDICTIONS_DIR / "ViT.csv")], capsys)


def test_readme_shows_what_rank_prints_for_vit(zoo, vit_results):
    """The README's 'Where does my model stand?' rows are rank's output for ViT, line for line."""
    from imagenet_x_hf.commands.rank import format_placement
    from imagenet_x_hf.zoo import place

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = readme.split("## Where does my model stand?", 1)[1].split("```\n", 3)[2]
    printed = format_placement(place(vit_results, zoo=zoo)).splitlines()
    shown = [line for line in block.splitlines() if line != "..."]
    assert len(shown) >= 8 and all(line in printed for line in shown), [s for s in shown if s not in printed]
