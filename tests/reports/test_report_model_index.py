"""model-index edits on awkward YAML layouts: others' bytes kept, or at least their values."""

from __future__ import annotations

import pytest
import yaml
from huggingface_hub import EvalResult, ModelCard

from imagenet_x_hf.reports.card import render_card as render
from imagenet_x_hf.results import Results
from imagenet_x_hf.schema import FACTORS
from imagenet_x_hf.settings import CardOptions


def render_card(content: str, results: dict, **settings):
    return render(content, Results.from_dict(results), CardOptions(model_name="m", **settings))


def results_dict(accuracy: float) -> dict:
    factors = {
        f: {
            "images": 100 + i,
            "correct": 50,
            "accuracy": 50 / (100 + i),
            "error_ratio": 1 + i / 50,
            "error_ratio_low": 0.9 + i / 50,
        }
        | {"error_ratio_high": 1.1 + i / 50}
        for i, f in enumerate(FACTORS)
    }
    return {"model": "m", "accuracy": accuracy, "images": 5000, "split": "validation", "factors": factors}


OTHER_ITEM = (
    "  - task:\n"
    "      type: image-classification  # the card's own comment\n"
    "    dataset:\n"
    "      name: ImageNet-1k\n"
    "      type: imagenet-1k\n"
    "    metrics:\n"
    "    - type: accuracy\n"
    "      value: 0.80\n"
    "      name: 'Top-1'\n"
)
SECOND_OTHER = "  - task: {type: image-classification}\n    dataset: {type: imagenet-v2, name: ImageNet-V2}\n    metrics: [{type: accuracy, value: 0.7}]\n"


def ours_in(card: ModelCard) -> dict:
    return {
        (r.metric_type, r.metric_config): r.metric_value
        for r in card.data.eval_results
        if r.dataset_type == "imagenet-x"
    }


def others_in(card: ModelCard) -> list[EvalResult]:
    return [r for r in card.data.eval_results if r.dataset_type != "imagenet-x"]


def test_our_old_item_between_others_is_replaced_and_others_keep_their_bytes():
    old, _ = render_card("# Card\n", results_dict(0.5))
    head, body = old.split("\n---\n", 1)
    # Move our item between two foreign ones, as a hand edit might.
    ours_text = head[head.index("  - task:") :] + "\n"
    card = f"{head[: head.index('  - task:')]}{OTHER_ITEM}{ours_text}{SECOND_OTHER}---\n{body}"
    ModelCard(card)  # a valid card to start from
    new, facts = render_card(card, results_dict(0.7))
    assert facts["other_eval_results"] == 2
    assert f"  results:\n{OTHER_ITEM}{SECOND_OTHER}  - task:\n" in new  # others untouched, ours last
    parsed = ModelCard(new)
    assert ours_in(parsed)[("accuracy", None)] == 0.7
    assert len(ours_in(parsed)) == 17 and [r.dataset_type for r in others_in(parsed)] == [
        "imagenet-1k",
        "imagenet-v2",
    ]


@pytest.mark.parametrize("line_break", ["\n", "\r\n"], ids=["lf", "crlf"])
def test_indented_results_list_and_comments(line_break):
    card = (
        "---\n"
        "license: mit\n"
        "model-index:\n"
        "  - name: my-model   # model name\n"
        "    results:\n"
        "      # evaluated by the authors\n"
        "      - task: {type: image-classification}\n"
        "        dataset: {type: imagenet-1k, name: ImageNet}\n"
        "        metrics:\n"
        "          - {type: accuracy, value: 0.8}\n"
        "\n"
        "# below: more metadata\n"
        "pipeline_tag: image-classification\n"
        "---\n"
        "Body.\n"
    ).replace("\n", line_break)
    new, _ = render_card(card, results_dict(0.6))
    first = card[: card.index("---" + line_break + "Body")]
    cut = first.index(line_break + line_break + "# below")
    assert new.startswith(first[:cut] + line_break + "      - task:" + line_break)  # our item, same indent
    assert new.endswith(
        first[cut:] + "---" + line_break + "Body." + line_break + line_break + new[new.index("<!--") :]
    )
    if line_break == "\r\n":
        assert new.count("\n") == new.count("\r\n")
    parsed = ModelCard(new)
    assert parsed.data.model_name == "my-model" and parsed.data.pipeline_tag == "image-classification"
    assert ours_in(parsed)[("error_ratio_pose", None)] == 1.0 and len(others_in(parsed)) == 1


def test_flow_style_results_fall_back_to_rewriting_the_key_with_the_same_values():
    card = (
        "---\n"
        "license: mit  # kept\n"
        "model-index: [{name: m1, results: [{task: {type: image-classification}, dataset: {type: imagenet-1k, "
        "name: ImageNet}, metrics: [{type: accuracy, value: 0.8}]}]}]\n"
        "tags: [a]\n"
        "---\n"
        "Body.\n"
    )
    new, facts = render_card(card, results_dict(0.6))
    assert new.startswith("---\nlicense: mit  # kept\nmodel-index:\n- name: m1\n")  # other keys' bytes kept
    assert "\ntags: [a]\n---\nBody.\n" in new
    parsed = ModelCard(new)
    assert facts["other_eval_results"] == 1 and others_in(parsed)[0].metric_value == 0.8
    assert ours_in(parsed)[("accuracy", None)] == 0.6


def test_results_of_other_settings_are_replaced_unless_kept():
    multi = dict(results_dict(0.4), which_factor="multi")
    card, _ = render_card("Body.\n", multi)
    new, facts = render_card(card, results_dict(0.6))
    parsed = ModelCard(new)
    ours = [r for r in parsed.data.eval_results if r.dataset_type == "imagenet-x"]
    assert len(ours) == 17 and {r.metric_args["which_factor"] for r in ours} == {"top"}
    assert facts["replaced_other_settings"] == 17 and facts["other_eval_results"] == 0
    assert "replace the ImageNet-X results this card held before" in new

    # Asked to keep several: both sets stay, and the names the Hub shows tell them apart.
    kept, facts = render_card(card, results_dict(0.6), keep_other_settings=True)
    parsed = ModelCard(kept)
    by_args = {
        r.metric_args["which_factor"]: (r.metric_value, r.metric_name)
        for r in parsed.data.eval_results
        if r.metric_type == "accuracy"
    }
    assert by_args == {"multi": (0.4, "Top-1 accuracy"), "top": (0.6, "Top-1 accuracy (top factor, top-1)")}
    assert facts["other_eval_results"] == 17 and facts["replaced_other_settings"] == 0
    names = [r.metric_name for r in parsed.data.eval_results if r.metric_args["which_factor"] == "top"]
    assert len(set(names)) == 17 and all(n.endswith("(top factor, top-1)") for n in names)
    assert yaml.safe_load(kept.split("---\n")[1])["model-index"][0]["name"] == "m"
