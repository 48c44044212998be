"""The model card round-trips: the Hub's parser reads it, our results are in it, nothing else moves."""

from __future__ import annotations

import json
import re

from huggingface_hub import EvalResult, ModelCard

from imagenet_x_hf.cli import main
from imagenet_x_hf.reports.card import CHART_NAME, update_model_card
from imagenet_x_hf.reports.section import START
from imagenet_x_hf.schema import FACTORS
from imagenet_x_hf.settings import CardOptions

START_PREFIX = "<!-- imagenet-x:robustness:start"
# A card with YAML before and after its model-index, a comment, another eval result and text.
YAML_BEFORE = "license: apache-2.0  # kept exactly as written\ntags:\n- vision\n- 'image-classification'\n"
MODEL_INDEX = (
    "model-index:\n"
    "- name: vit-base\n"
    "  results:\n"
    "  - task: {type: image-classification}\n"
    "    dataset: {type: imagenet-1k, name: ImageNet-1k, split: validation}\n"
    "    metrics:\n"
    "    - {type: accuracy, value: 0.8132, name: Top-1}\n"
)
YAML_AFTER = "\n# trailing comment\nlibrary_name: transformers\ndatasets: [imagenet-1k]\n"
BODY = "# ViT base\n\nA vision transformer.\n"
CARD = f"---\n{YAML_BEFORE}{MODEL_INDEX}{YAML_AFTER}---\n{BODY}"
OTHER = EvalResult(
    task_type="image-classification",
    dataset_type="imagenet-1k",
    dataset_name="ImageNet-1k",
    dataset_split="validation",
    metric_type="accuracy",
    metric_value=0.8132,
    metric_name="Top-1",
)


def ours(card: ModelCard) -> list[EvalResult]:
    return [r for r in card.data.eval_results if r.dataset_type == "imagenet-x"]


def assert_results_in_card(card: ModelCard, results) -> None:
    mine = ours(card)
    assert len(mine) == 1 + len(FACTORS)  # every factor of the real files has images
    by_metric = {(r.metric_type, r.metric_config): r.metric_value for r in mine}
    assert by_metric[("accuracy", None)] == results.accuracy
    for factor in FACTORS:
        assert by_metric[(f"error_ratio_{factor}", None)] == results.factor(factor).error_ratio
    assert {r.dataset_split for r in mine} == {"validation"}
    assert {r.dataset_config for r in mine} == {"default"}


def test_card_round_trip_keeps_everything_else(tmp_path, real_models):
    path = tmp_path / "README.md"
    path.write_bytes(CARD.encode())
    vit, resnet = real_models["ViT"], real_models["ResNet50"]

    first = update_model_card(
        path, vit.results, CardOptions(model_name="ViT"), reproduce=["imagenet-x card --predictions ViT.csv"]
    )
    assert (first.section, first.eval_results, first.other_eval_results) == ("added", 17, 1)
    text = path.read_bytes().decode()
    # YAML before and after the model-index, the comment and the body: byte for byte.
    # ... and so are the other eval results: ours are appended to the results list.
    assert text.startswith(f"---\n{YAML_BEFORE}{MODEL_INDEX}  - task:\n")
    assert f"{YAML_AFTER}---\n{BODY}\n{START}\n" in text
    card = ModelCard.load(path)
    assert card.data.license == "apache-2.0" and card.data.library_name == "transformers"
    assert card.data.tags == ["vision", "image-classification"] and card.data["datasets"] == ["imagenet-1k"]
    assert [r for r in card.data.eval_results if r.dataset_type != "imagenet-x"] == [OTHER]
    assert card.data.model_name == "vit-base"  # the card's own model name is kept
    assert_results_in_card(card, vit.results)

    # The section: chart by relative path, the table row of a factor, the reproduce command.
    assert re.search(rf"!\[[^\]]+\]\({re.escape(CHART_NAME)}\)", text)
    chart1 = first.chart.read_bytes()
    assert first.chart == tmp_path / CHART_NAME and chart1[:8] == b"\x89PNG\r\n\x1a\n"
    pose = vit.results.factor("pose")
    assert f"| pose | {pose.error_ratio:.2f} | {pose.low:.2f}–{pose.high:.2f} |" in text
    assert "imagenet-x card --predictions ViT.csv" in text

    # Text added after the section by hand survives; a run with other results replaces ours only.
    tail = "\n## Citation\n\nSee the paper.\n"
    path.write_bytes((text + tail).encode())
    second = update_model_card(path, resnet.results, CardOptions(model_name="ResNet50"))
    assert (second.section, second.other_eval_results) == ("replaced", 1)
    text2 = path.read_bytes().decode()
    assert text2.count(START_PREFIX) == 1 and text2.count("## Robustness on ImageNet-X") == 1
    assert text2.endswith("<!-- imagenet-x:robustness:end -->\n" + tail)
    assert text2.startswith(f"---\n{YAML_BEFORE}{MODEL_INDEX}  - task:\n")
    assert (
        text2[text2.index(YAML_AFTER) : text2.index(START_PREFIX)]
        == text[text.index(YAML_AFTER) : text.index(START_PREFIX)]
    )
    card2 = ModelCard.load(path)
    assert [r for r in card2.data.eval_results if r.dataset_type != "imagenet-x"] == [OTHER]
    assert_results_in_card(card2, resnet.results)

    # The chart followed the new results; the same results again give the same bytes.
    chart2 = second.chart.read_bytes()
    assert chart2 != chart1
    update_model_card(path, resnet.results, CardOptions(model_name="ResNet50"))
    assert path.read_bytes().decode() == text2 and second.chart.read_bytes() == chart2


def test_card_without_yaml_gets_a_block_and_keeps_its_text(tmp_path, vit):
    path = tmp_path / "README.md"
    body = "# A model\n\nNo metadata here."  # no final newline
    path.write_text(body)
    update_model_card(path, vit.results, CardOptions(model_name="ViT", chart=False))
    text = path.read_text()
    assert text.startswith("---\nmodel-index:\n- name: ViT\n")
    assert f"\n---\n{body}\n\n{START}\n" in text
    assert not (tmp_path / CHART_NAME).exists() and "](imagenet_x" not in text
    assert_results_in_card(ModelCard.load(path), vit.results)


def test_crlf_card_stays_crlf(tmp_path, vit):
    path = tmp_path / "README.md"
    path.write_bytes(b"---\r\nlicense: mit\r\n---\r\n# Title\r\n\r\nText.\r\n")
    update_model_card(path, vit.results, CardOptions(model_name="ViT", chart=False))
    data = path.read_bytes()
    assert data.startswith(b"---\r\nlicense: mit\r\nmodel-index:\r\n")
    assert data.count(b"\n") == data.count(b"\r\n")
    assert b"\r\n---\r\n# Title\r\n\r\nText.\r\n\r\n<!-- imagenet-x" in data
    assert_results_in_card(ModelCard.load(path), vit.results)


def test_new_card_is_created(tmp_path, vit):
    path = tmp_path / "new" / "README.md"
    update_model_card(path, vit.results, CardOptions(model_name="ViT"))
    card = ModelCard.load(path)
    assert card.data.model_name == "ViT"
    assert_results_in_card(card, vit.results)
    assert (path.parent / CHART_NAME).is_file()


def test_custom_template(tmp_path, vit):
    template = tmp_path / "mine.md.j2"
    template.write_text(
        "### Robustness of {{ model }}\n{% for r in rows %}{{ r.factor }}={{ r.error_ratio | ratio }};{% endfor %}\n"
    )
    path = tmp_path / "README.md"
    update_model_card(path, vit.results, CardOptions(model_name="ViT", template=template, chart=False))
    text = path.read_text()
    expected = ";".join(f"{f}={vit.results.factor(f).error_ratio:.2f}" for f in FACTORS) + ";"
    assert f"{START}\n### Robustness of ViT\n{expected}\n<!-- imagenet-x:robustness:end -->" in text


def test_cli_card_from_a_run_directory(tmp_path, vit, capsys):
    run = tmp_path / "vit-run"
    run.mkdir()
    payload = dict(vit.results.to_dict(), run={"model": "google/vit-base-patch16-224", "batch_size": 64})
    (run / "results.json").write_text(json.dumps(payload))
    assert main(["card", "--run", str(run), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    card_path = run / "model_card" / "README.md"
    assert (
        summary["card"] == str(card_path) and summary["section"] == "added" and summary["eval_results"] == 17
    )
    text = card_path.read_text()
    assert (
        "imagenet-x evaluate --model google/vit-base-patch16-224 --batch-size 64 "
        "--imagenet /path/to/imagenet --output vit-run"
    ) in text
    assert "imagenet-x card --run vit-run --model-card README.md" in text
    assert str(tmp_path) not in text  # no local path leaks into a public card
    assert_results_in_card(ModelCard.load(card_path), vit.results)


def test_cli_card_from_predictions(tmp_path, vit, capsys):
    card = tmp_path / "README.md"
    card.write_text(CARD)
    assert main(["card", "--predictions", str(vit.source), "--model-card", str(card)]) == 0
    assert "added the ImageNet-X section" in capsys.readouterr().out
    loaded = ModelCard.load(card)
    assert_results_in_card(loaded, vit.results)
    assert "imagenet-x card --predictions ViT.csv --model-card README.md" in card.read_text()
