"""The commands on a predictions repository: export-predictions, and every reader taking DIR, DIR/MODEL."""

from __future__ import annotations

import json

from imagenet_x_hf.cli import main

from .conftest import PREDICTIONS_DIR, ZOO_DIR


def test_export_command_then_readers(tmp_path, run_dir, capsys, monkeypatch):
    folder = tmp_path / "repo"
    assert (
        main(["export-predictions", str(run_dir), str(PREDICTIONS_DIR / "ViT.csv"), str(folder), "--json"])
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["models"] == ["ViT", "org--tiny-vit"]
    # score a whole repository: one result per model, named as the models table names them
    assert main(["score", str(folder), "--json"]) == 0
    names = [r["model"] for r in json.loads(capsys.readouterr().out)["results"]]
    assert names == ["ViT", "org/tiny-vit"]
    # card takes one model of it; its reproduce commands name the model's address
    card = tmp_path / "card" / "README.md"
    assert (
        main(
            [
                "card",
                "--predictions",
                str(folder / "ViT"),
                "--model-card",
                str(card),
                "--no-zoo",
                "--no-chart",
            ]
        )
        == 0
    )
    capsys.readouterr()
    assert f"--predictions {folder / 'ViT'}" in card.read_text()
    # a repository of two models where one is expected: a one-line error naming the way out
    assert main(["card", "--predictions", str(folder), "--model-card", str(card)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "holds 2 models" in err and "REPO/MODEL" in err
    # rank: every model of the repository
    monkeypatch.setenv("IMAGENET_X_ZOO", str(ZOO_DIR))
    assert main(["rank", str(folder), "--json"]) == 0
    placements = json.loads(capsys.readouterr().out)["models"]
    assert [p["model"] for p in placements] == ["ViT", "org/tiny-vit"]
    assert all(p["zoo"]["models"] > 2000 for p in placements)


def test_report_reads_top5_from_the_export(tmp_path, run_dir, capsys):
    folder = tmp_path / "repo"
    assert main(["export-predictions", str(run_dir), str(folder)]) == 0
    capsys.readouterr()
    page = tmp_path / "r.html"
    assert (
        main(
            ["report", str(folder / "org--tiny-vit"), "-o", str(page), "--no-zoo", "--no-progress", "--json"]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == "org/tiny-vit" and summary["images_shown"] > 0
    assert page.stat().st_size > 10_000


def test_export_errors_are_one_line(tmp_path, capsys):
    assert main(["export-predictions", str(tmp_path / "nope.csv"), str(tmp_path / "repo")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "does not exist" in err
    both = [str(PREDICTIONS_DIR / "ViT.csv"), str(PREDICTIONS_DIR / "DINO.csv")]
    assert main(["export-predictions", *both, str(tmp_path / "repo"), "--name", "x"]) == 2
    assert "--name names one model" in capsys.readouterr().err
    assert main(["export-predictions", both[0], both[1]]) == 2  # the folder is missing: DINO.csv is a file
    assert "is a file; pass the folder" in capsys.readouterr().err


def test_examples_export_with_their_licence(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("IMAGENET_X_ZOO", str(ZOO_DIR))
    folder = tmp_path / "authors"
    assert main(["export-predictions", "--examples", str(folder), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["models"] == ["DINO", "ResNet50", "SimCLR", "ViT"]
    assert {m["license"] for m in summary["exported"]} == {"cc-by-nc-4.0"}
    assert "Attribution-NonCommercial" in (folder / "LICENSE-imagenetx").read_text()
    assert main(["export-predictions", str(folder)]) == 2
    assert "give the runs or prediction files" in capsys.readouterr().err
