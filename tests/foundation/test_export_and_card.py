"""The Hub export round-trips through datasets.load_dataset; the card's numbers are the data's."""

from __future__ import annotations

import json

import datasets
import pytest
from huggingface_hub import DatasetCard

import imagenet_x_hf
from imagenet_x_hf import cli
from imagenet_x_hf.errors import ImageNetXError
from imagenet_x_hf.export import CONFIGS, card_template_path, export_hub
from imagenet_x_hf.stats import factor_statistics, format_table


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    return export_hub(tmp_path_factory.mktemp("hub") / "imagenet-x")


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_load_dataset_round_trips(exported, config):
    loaded = datasets.load_dataset(str(exported), config)
    assert set(loaded) == {"validation", "train"}
    for split in ("validation", "train"):
        ours = imagenet_x_hf.load(split, filter_prototypes=CONFIGS[config])
        theirs = loaded[split]
        assert theirs.features == ours.features
        assert theirs.num_rows == ours.num_rows
        assert theirs.data.table.equals(ours.data.table)


def test_default_config_is_what_load_gives(exported):
    loaded = datasets.load_dataset(str(exported), split="validation")
    assert loaded.num_rows == imagenet_x_hf.load("validation").num_rows == 46_110


def test_readme_declares_configs_and_features(exported):
    card = DatasetCard.load(exported / "README.md")
    data = card.data.to_dict()
    assert [c["config_name"] for c in data["configs"]] == sorted(CONFIGS)
    infos = {i["config_name"]: i for i in data["dataset_info"]}
    assert {s["name"]: s["num_examples"] for s in infos["with_prototypes"]["splits"]} == {
        "validation": 48_868,
        "train": 11_233,
    }
    assert [f["name"] for f in infos["default"]["features"]][:3] == ["file_name", "label", "factors"]
    assert data["license"] == "cc-by-nc-4.0"
    # the card text is the template's text, untouched
    assert card.text == DatasetCard(card_template_path().read_text()).text


def test_export_refuses_a_non_empty_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    with pytest.raises(ImageNetXError, match="not empty.*overwrite"):
        export_hub(tmp_path)
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_card_statistics_are_computed_from_the_data():
    text = card_template_path().read_text()
    stats = factor_statistics()
    assert format_table(stats) in text
    val, train = stats["validation"]["mean_factors_per_image"], stats["train"]["mean_factors_per_image"]
    assert f"carries {val:.2f} factors on average (train: {train:.2f})" in text
    kept = factor_statistics(filter_prototypes=False)
    dropped = kept["validation"]["rows"] - stats["validation"]["rows"]
    assert f"| `default` | {stats['validation']['rows']:,} | {stats['train']['rows']:,} |" in text
    assert f"| `with_prototypes` | {kept['validation']['rows']:,} |" in text
    assert f"the {dropped:,} annotated prototype images" in text


def test_card_defines_every_factor():
    text = card_template_path().read_text()
    for factor, definition in imagenet_x_hf.FACTOR_DEFINITIONS.items():
        assert f"| `{factor}` | {definition} |" in text


def test_stats_command_json(capsys):
    assert cli.main(["stats", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["validation"]["rows"] == 46_110
    assert sum(out["validation"]["top"].values()) + out["validation"]["no_top_factor"] == 46_110


def test_stats_command_table(capsys):
    assert cli.main(["stats"]) == 0
    out = capsys.readouterr().out
    assert out.strip() == format_table(factor_statistics())


def test_export_command(tmp_path, capsys):
    assert cli.main(["export-hub", str(tmp_path / "out"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert "README.md" in summary["files"]
    assert sum(f.endswith(".parquet") for f in summary["files"]) == 4


def test_every_command_has_help(capsys):
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0].choices
    assert {"export-hub", "stats"} <= set(commands)
    for name in commands:
        with pytest.raises(SystemExit) as exit_:
            cli.main([name, "--help"])
        assert exit_.value.code == 0
        assert "usage: imagenet-x" in capsys.readouterr().out


def test_push_without_a_token_is_refused(tmp_path, monkeypatch):
    from imagenet_x_hf.export import push_to_hub

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr("huggingface_hub.constants.HF_TOKEN_PATH", str(tmp_path / "no-token"))
    with pytest.raises(ImageNetXError, match="token"):
        push_to_hub(tmp_path, "someone/imagenet-x")
