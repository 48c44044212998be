"""The card's Reproduce block, when run, gives the card's numbers again, for every scoring option.

Each case writes a card with some options, reads the commands back out of the card's text,
runs them (in-process, through ``imagenet_x_hf.cli.main``) in a fresh folder holding only
the predictions file, and compares the two cards' numbers: model-index (values and ``args``),
the section's table, and ``.eval_results``.
"""

from __future__ import annotations

import itertools
import json
import re
import shlex
import shutil
from pathlib import Path

import numpy as np
import pytest
from huggingface_hub import ModelCard

from imagenet_x_hf.cli import build_parser, main
from imagenet_x_hf.commands.scoring import scoring_settings
from imagenet_x_hf.reports.eval_results import EVAL_RESULTS_FILE
from imagenet_x_hf.reports.reproduce import evaluate_command
from imagenet_x_hf.settings import ScoringOptions

VIT = Path(__file__).resolve().parents[3] / "shared" / "data" / "model_predictions" / "ViT.csv"


def commands_of(card_text: str) -> list[list[str]]:
    block = re.search(r"### Reproduce\n\n```bash\n(.*?)\n```", card_text, re.S).group(1)
    return [shlex.split(line) for line in block.splitlines()]


def numbers(card_path) -> dict:
    card = ModelCard.load(card_path)
    results = {
        (r.metric_type, r.metric_config): (r.metric_value, json.dumps(r.metric_args, sort_keys=True))
        for r in card.data.eval_results
    }
    text = card_path.read_text()
    table = [line for line in text.splitlines() if line.startswith("| ") and "–" in line]
    lead = text[text.index("## Robustness") : text.index("| Factor")]
    eval_file = card_path.parent / EVAL_RESULTS_FILE
    return {
        "model_index": results,
        "table": table,
        "lead": lead,
        "eval_results": eval_file.read_text() if eval_file.exists() else None,
    }


def reproduce(tmp_path, predictions, argv: list[str], monkeypatch) -> tuple[dict, dict, list]:
    first = tmp_path / "first" / "README.md"
    # where the results go (the benchmark's Hub id) is the user's choice, given to both runs
    benchmark = ["--dataset-id", "me/imagenet-x"]
    assert main([*argv, "--model-card", str(first), "--no-chart", *benchmark]) == 0
    commands = commands_of(first.read_text())
    assert commands[0][:2] == ["pip", "install"] and commands[0][2].startswith("imagenet-x-hf")
    again = tmp_path / "again"
    again.mkdir()
    shutil.copy(predictions, again / predictions.name)
    monkeypatch.chdir(again)
    for command in commands[1:]:
        assert command[0] == "imagenet-x"
        assert main([*command[1:], "--no-chart", *benchmark]) == 0
    return numbers(first), numbers(again / "README.md"), commands


def flags_of(options: ScoringOptions) -> list[str]:
    return options.cli_args()


@pytest.fixture(scope="module")
def train_predictions(tmp_path_factory):
    """Predictions for the annotated train images (real file names): right for 70%, else a neighbour class."""
    import imagenet_x_hf

    ds = imagenet_x_hf.load("train")
    labels = np.array(ds["label"])
    rng = np.random.default_rng(0)
    wrong = rng.random(len(labels)) < 0.3
    predicted = np.where(wrong, (labels + 1 + rng.integers(0, 5, len(labels))) % 1000, labels)
    path = tmp_path_factory.mktemp("train") / "TrainModel.csv"
    lines = ["file_name,predicted_class"] + [f"{f},{p}" for f, p in zip(ds["file_name"], predicted)]
    path.write_text("\n".join(lines) + "\n")
    return path


NAMED = {
    "real_class-exclude": ScoringOptions(error_type="real_class", empty_real="exclude"),
    "multi": ScoringOptions(which_factor="multi"),
    "metaclass": ScoringOptions(error_type="metaclass"),
    "prototypes-kept": ScoringOptions(filter_prototypes=False),
    "defaults": ScoringOptions(),
}


@pytest.mark.parametrize("options", NAMED.values(), ids=NAMED.keys())
def test_reproduce_block_gives_the_same_numbers(tmp_path, monkeypatch, options):
    argv = ["card", "--predictions", str(VIT), *flags_of(options)]
    first, again, commands = reproduce(tmp_path, VIT, argv, monkeypatch)
    assert first == again
    # every non-default option is in the command, and in model-index's args
    assert all(flag in commands[1] for flag in flags_of(options))
    for _, args in first["model_index"].values():
        assert ScoringOptions.from_dict(json.loads(args)) == options
    assert (first["eval_results"] is not None) is (options == ScoringOptions())


def test_real_class_exclude_reproduces_its_image_count(tmp_path, monkeypatch):
    # The case that once lost --empty-real: 43,025 images with it, 46,110 without.
    options = NAMED["real_class-exclude"]
    first, again, _ = reproduce(
        tmp_path, VIT, ["card", "--predictions", str(VIT), *flags_of(options)], monkeypatch
    )
    assert "**ReaL accuracy:" in first["lead"] and first["lead"] == again["lead"]
    assert "on 46,110 annotated" not in first["lead"]


def test_score_json_reproduces_through_the_predictions_file(tmp_path, monkeypatch, capsys):
    options = ScoringOptions(which_factor="multi", error_type="real_class", empty_real="exclude")
    assert main(["score", str(VIT), *flags_of(options), "--json"]) == 0
    scored = tmp_path / "v.json"
    scored.write_text(capsys.readouterr().out)
    first, again, commands = reproduce(tmp_path, VIT, ["card", "--run", str(scored)], monkeypatch)
    assert commands[1][:4] == ["imagenet-x", "card", "--predictions", "ViT.csv"]
    assert first == again


@pytest.mark.slow
@pytest.mark.parametrize(
    "which, error, keep, empty, level",
    [
        (which, error, keep, empty, 0.9 if i % 3 == 0 else 0.95)
        for i, (which, error, keep, empty) in enumerate(
            itertools.product(
                ("top", "multi"), ("class", "real_class", "metaclass"), (False, True), ("error", "exclude")
            )
        )
    ],
)
def test_every_option_combination_reproduces(tmp_path, monkeypatch, which, error, keep, empty, level):
    options = ScoringOptions(
        which_factor=which,
        error_type=error,
        filter_prototypes=not keep,
        empty_real=empty,
        confidence_level=level,
    )
    first, again, commands = reproduce(
        tmp_path, VIT, ["card", "--predictions", str(VIT), *flags_of(options)], monkeypatch
    )
    assert first == again
    for _, args in first["model_index"].values():
        assert ScoringOptions.from_dict(json.loads(args)) == options


@pytest.mark.slow
@pytest.mark.parametrize("which, error", list(itertools.product(("top", "multi"), ("class", "metaclass"))))
def test_train_split_reproduces(tmp_path, monkeypatch, train_predictions, which, error):
    options = ScoringOptions(split="train", which_factor=which, error_type=error)
    argv = ["card", "--predictions", str(train_predictions), *flags_of(options)]
    first, again, commands = reproduce(tmp_path, train_predictions, argv, monkeypatch)
    assert "--split" in commands[1] and first == again
    assert "annotated ImageNet train images" in first["lead"]


@pytest.mark.parametrize(
    "options",
    [
        NAMED["real_class-exclude"],
        ScoringOptions(which_factor="multi", filter_prototypes=False, error_type="metaclass", split="train"),
    ],
)
def test_evaluate_command_carries_every_scoring_option(options):
    from imagenet_x_hf.results import RunRecord

    command = evaluate_command(RunRecord(model="google/vit-base-patch16-224"), output="vit", scoring=options)
    args = build_parser().parse_args(shlex.split(command)[1:])
    assert scoring_settings(args) == options.replace(confidence_level=0.95)
