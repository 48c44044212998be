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
    # what turns the folder into a benchmark: push, allow-list, framework name, results pointing at it
    steps = summary["benchmark_steps"]
    assert len(steps) == 4 and "--push" in steps[0] and "allow-list" in steps[1]
    assert "evaluation_framework" in steps[2] and "--dataset-id" in steps[3]


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


def test_export_declares_the_benchmark(exported):
    import yaml

    from imagenet_x_hf.reports.eval_results import EVALUATION_FRAMEWORK, HUB_FRAMEWORKS, task_ids

    text = (exported / "eval.yaml").read_text()
    data = yaml.safe_load(text)
    # The fields of the Hub's eval.yaml specification (https://huggingface.co/docs/hub/eval-results);
    # evaluation_framework only once the Hub lists our name (an unlisted one fails at push).
    assert set(data) == {"name", "description", "tasks"}
    assert (
        EVALUATION_FRAMEWORK not in HUB_FRAMEWORKS
        and f"# evaluation_framework: {EVALUATION_FRAMEWORK}" in text
    )
    # scale and direction are said, since the format has no field for them
    assert "lower is better" in data["description"] and "a fraction" in data["description"]
    assert (
        [t["id"] for t in data["tasks"]]
        == task_ids()
        == ["accuracy"] + [f"error_ratio_{f}" for f in imagenet_x_hf.FACTORS]
    )
    for task in data["tasks"]:
        assert set(task) == {"id", "config", "split"}
        # each task points at a config and split that load
        assert task["config"] in CONFIGS and task["split"] in ("validation", "train")
    loaded = datasets.load_dataset(str(exported), data["tasks"][0]["config"], split=data["tasks"][0]["split"])
    assert loaded.num_rows == 46_110


def test_card_first_paragraph_and_licences():
    text = DatasetCard(card_template_path().read_text()).text
    first = text.split("\n\n")[1]
    assert "What it is for" in first and "why" in first
    data = DatasetCard(card_template_path().read_text()).data.to_dict()
    assert data["annotations_creators"] and data["license"] == "cc-by-nc-4.0"
    for needle in (
        "arxiv.org/abs/2211.01866",
        "## Intended uses",
        "## Limitations",
        "Are we done with ImageNet?",
        "arxiv.org/abs/2006.07159",
        "BSD 3-Clause",
        "@article{beyer2020imagenet",
    ):
        assert needle in text


def test_push_fills_the_repo_id_and_updates_our_pull_request(tmp_path, monkeypatch, capsys):
    from types import SimpleNamespace

    import huggingface_hub
    from huggingface_hub import Discussion

    from imagenet_x_hf.export import COMMIT_MESSAGE

    calls, open_prs = [], []
    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    monkeypatch.setattr(huggingface_hub.HfApi, "create_repo", lambda self, *a, **k: None)
    monkeypatch.setattr(
        huggingface_hub.HfApi, "repo_info", lambda self, *a, **k: SimpleNamespace(sha="c0ffee" * 6 + "abcd")
    )
    monkeypatch.setattr(huggingface_hub.HfApi, "whoami", lambda self, **k: {"name": "me"})
    monkeypatch.setattr(
        huggingface_hub.HfApi, "get_repo_discussions", lambda self, repo_id, **k: iter(open_prs)
    )

    def create_commit(self, repo_id, operations, **kwargs):
        calls.append(dict(repo_id=repo_id, paths=sorted(op.path_in_repo for op in operations), **kwargs))
        return SimpleNamespace(
            pr_url="https://huggingface.co/datasets/me/ix/discussions/1" if kwargs.get("create_pr") else None,
            commit_url="https://huggingface.co/datasets/me/ix/commit/1",
        )

    monkeypatch.setattr(huggingface_hub.HfApi, "create_commit", create_commit)
    out = tmp_path / "out"
    assert cli.main(["export-hub", str(out), "--push", "me/ix", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    readme = (out / "README.md").read_text()
    assert 'load_dataset("me/ix", split="validation")' in readme and "<this repo>" not in readme
    (first,) = calls
    assert first["create_pr"] is True and first["parent_commit"] == "c0ffee" * 6 + "abcd"
    assert first["repo_type"] == "dataset" and "eval.yaml" in first["paths"] and "README.md" in first["paths"]
    assert summary["pushed"].endswith("discussions/1")

    # A rerun finds our open pull request and adds a commit to it.
    open_prs.append(
        Discussion(
            title=COMMIT_MESSAGE,
            status="open",
            num=4,
            repo_id="me/ix",
            repo_type="dataset",
            author="me",
            is_pull_request=True,
            created_at=None,
            endpoint="https://huggingface.co",
        )
    )
    assert cli.main(["export-hub", str(out), "--overwrite", "--push", "me/ix", "--json"]) == 0
    assert calls[1]["revision"] == "refs/pr/4" and not calls[1].get("create_pr")
    assert (
        json.loads(capsys.readouterr().out)["pushed"] == "https://huggingface.co/datasets/me/ix/discussions/4"
    )

    # --commit goes to the branch, guarded by the commit read before.
    assert cli.main(["export-hub", str(out), "--overwrite", "--push", "me/ix", "--commit"]) == 0
    assert calls[2]["parent_commit"] == "c0ffee" * 6 + "abcd" and not calls[2].get("create_pr")
