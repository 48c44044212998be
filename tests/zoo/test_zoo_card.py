"""The model card places the model among the zoo when the tables can be had, and says nothing otherwise."""

from __future__ import annotations

from imagenet_x_hf.cli import main

from .conftest import PREDICTIONS_DIR, ZOO_DIR


def _section(card_text: str) -> str:
    return card_text.split("Robustness on ImageNet-X", 1)[1]


def test_card_from_predictions_places_the_model_among_the_zoo(tmp_path, monkeypatch, vit_results):
    from imagenet_x_hf.zoo import place

    monkeypatch.setenv("IMAGENET_X_ZOO", str(ZOO_DIR))
    card = tmp_path / "README.md"
    assert main(["card", "--predictions", str(PREDICTIONS_DIR / "ViT.csv"), "--model-card", str(card)]) == 0
    section = _section(card.read_text())
    placed = place(vit_results)
    models = placed["zoo"]["models"]
    assert f"of {models:,} in the ImageNet-X authors' zoo" in section
    # the factor the sentence names first is one whose excess interval lies above 0
    above = [f for f, e in placed["factors"].items() if e["excess_interval"][0] > 0]
    assert above and any(f"*{f.replace('_', ' ')}*" in section or f"*{f}*" in section for f in above)


def test_card_without_zoo_tables_or_with_no_zoo_has_no_zoo_sentence(tmp_path, monkeypatch):
    monkeypatch.setenv("IMAGENET_X_ZOO", str(tmp_path / "missing"))
    card = tmp_path / "README.md"
    assert main(["card", "--predictions", str(PREDICTIONS_DIR / "ViT.csv"), "--model-card", str(card)]) == 0
    assert "authors' zoo" not in card.read_text()
    monkeypatch.setenv("IMAGENET_X_ZOO", str(ZOO_DIR))
    argv = ["card", "--predictions", str(PREDICTIONS_DIR / "ViT.csv"), "--model-card", str(card), "--no-zoo"]
    assert main(argv) == 0
    assert "authors' zoo" not in card.read_text()
