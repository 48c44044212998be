"""``score --json`` feeds card, compare and plot; one set of results per card; ``.eval_results``.

Also the bad inputs of these paths: non-numbers where numbers belong and an unclosed YAML
block are one-line errors that leave the card's bytes as they were.
"""

from __future__ import annotations

import json

import pytest
import yaml
from huggingface_hub import ModelCard, parse_eval_result_entries

from imagenet_x_hf.cli import main
from imagenet_x_hf.reports.eval_results import EVAL_RESULTS_FILE, eval_yaml_text, task_ids
from imagenet_x_hf.schema import FACTORS

GOOD_CARD = b"---\nlicense: mit\n---\n# Model\n\nText.\n"


@pytest.fixture(scope="module")
def scored(real_models, tmp_path_factory):
    """``imagenet-x score A.csv B.csv ... --json`` output, as a file, and per model."""
    import contextlib
    import io

    folder = tmp_path_factory.mktemp("scored")
    paths = [str(m.source) for m in real_models.values()]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["score", *paths, "--json"]) == 0
    everything = folder / "all.json"
    everything.write_text(out.getvalue())
    single = {}
    for name, doc in zip(real_models, json.loads(out.getvalue())["results"]):
        path = folder / f"{name}.json"
        path.write_text(json.dumps({"results": [doc]}))
        single[name] = path
    return everything, single


def ours(card: ModelCard) -> dict:
    return {
        (r.metric_type, r.metric_config): r.metric_value
        for r in card.data.eval_results
        if r.dataset_type == "imagenet-x"
    }


def test_score_json_to_card(scored, tmp_path, capsys):
    everything, single = scored
    vit = json.loads(single["ViT"].read_text())["results"][0]
    card = tmp_path / "README.md"
    assert main(["card", "--run", str(single["ViT"]), "--model-card", str(card), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == "ViT" and summary["eval_results"] == 17
    values = ours(ModelCard.load(card))
    assert values[("accuracy", None)] == vit["accuracy"]
    assert {f: values[(f"error_ratio_{f}", None)] for f in FACTORS} == vit["error_ratio"]

    # A document with several models needs --model-name to pick one.
    other = tmp_path / "other.md"
    assert main(["card", "--run", str(everything), "--model-card", str(other)]) == 2
    err = capsys.readouterr().err
    assert "holds the results of 4 models" in err and "--model-name" in err and not other.exists()
    assert main(["card", "--run", str(everything), "--model-name", "DINO", "--model-card", str(other)]) == 0
    dino = json.loads(single["DINO"].read_text())["results"][0]
    assert ours(ModelCard.load(other))[("accuracy", None)] == dino["accuracy"]


def test_score_json_to_compare_and_plot(scored, tmp_path, capsys):
    everything, single = scored
    expected = {d["model"]: d for d in json.loads(everything.read_text())["results"]}
    assert main(["compare", str(everything), "--json"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert set(report["models"]) == set(expected)
    for name, results in report["models"].items():
        assert results["accuracy"] == expected[name]["accuracy"]
        assert results["error_ratio"] == expected[name]["error_ratio"]
    # Paired differences need predictions: said, not silently skipped.
    assert report["comparisons"] == [] and "no paired differences" in report["notes"][0]
    assert "no paired differences" in captured.err

    # One file per model, mixed with a predictions file, works as well.
    assert main(["compare", str(single["ViT"]), str(single["DINO"]), "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)["models"]) == {"ViT", "DINO"}

    outputs = [tmp_path / "all.png", tmp_path / "all.svg", tmp_path / "all.pdf"]
    argv = ["plot", str(everything)] + [a for p in outputs for a in ("--output", str(p))]
    assert main(argv) == 0
    assert all(p.stat().st_size > 1000 for p in outputs)
    assert main(["plot", str(single["ViT"]), "--output", str(tmp_path / "vit.png")]) == 0


def test_scoring_options_cannot_contradict_a_results_file(scored, tmp_path, capsys):
    _, single = scored
    card = tmp_path / "README.md"
    card.write_bytes(GOOD_CARD)
    assert (
        main(["card", "--run", str(single["ViT"]), "--which-factor", "multi", "--model-card", str(card)]) == 2
    )
    err = capsys.readouterr().err
    assert "which_factor='top'" in err and "predictions files only" in err
    assert card.read_bytes() == GOOD_CARD
    assert main(["compare", str(single["ViT"]), str(single["DINO"]), "--error-type", "metaclass"]) == 2


def test_multi_then_top_leaves_one_set(vit, tmp_path, capsys):
    card = tmp_path / "README.md"
    card.write_bytes(GOOD_CARD)
    base = ["card", "--predictions", str(vit.source), "--model-card", str(card), "--no-chart"]
    assert main([*base, "--which-factor", "multi"]) == 0
    assert main(base) == 0
    out = capsys.readouterr().out
    assert "replaced 17 earlier ImageNet-X results computed with other settings" in out
    loaded = ModelCard.load(card)
    mine = [r for r in loaded.data.eval_results if r.dataset_type == "imagenet-x"]
    assert len(mine) == 17
    assert {r.metric_args["which_factor"] for r in mine} == {"top"}
    names = [r.metric_name for r in mine]
    assert len(set(names)) == len(names)
    assert ours(loaded)[("error_ratio_pose", None)] == vit.results.factor("pose").error_ratio
    text = card.read_text()
    assert "single most salient factor" in text and "every factor marked" not in text
    assert "replace the ImageNet-X results this card held before" in text

    # Asked to keep several: both sets, told apart by their names.
    assert main([*base, "--which-factor", "multi", "--keep-other-settings"]) == 0
    mine = [r for r in ModelCard.load(card).data.eval_results if r.dataset_type == "imagenet-x"]
    assert len(mine) == 34
    assert len({r.metric_name for r in mine}) == 34
    assert sum(r.metric_name.endswith("(multi-factor, top-1)") for r in mine) == 17


def test_eval_results_file_carries_the_numbers_of_results_json(vit, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(vit.results.to_dict()))
    assert main(["card", "--run", str(run), "--dataset-id", "me/imagenet-x", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    path = run / "model_card" / EVAL_RESULTS_FILE
    assert summary["eval_results_file"] == str(path)
    entries = parse_eval_result_entries(yaml.safe_load(path.read_text()))
    results = json.loads((run / "results.json").read_text())
    expected = {"accuracy": results["accuracy"]} | {
        f"error_ratio_{f}": results["factors"][f]["error_ratio"] for f in FACTORS
    }
    assert {e.task_id: e.value for e in entries} == expected  # exact, no rounding
    assert {e.dataset_id for e in entries} == {"me/imagenet-x"}
    # a results file says neither when its predictions were made nor where they can be checked:
    # no date (the Hub shows the commit's) and no source, rather than invented ones
    assert all(e.date is None and e.source_url is None and "lower is better" in e.notes for e in entries)
    # every task is one the benchmark declares
    declared = [t["id"] for t in yaml.safe_load(eval_yaml_text())["tasks"]]
    assert [e.task_id for e in entries] == declared == task_ids()

    # The same results again: the same bytes.
    before = path.read_bytes()
    assert main(["card", "--run", str(run)]) == 0  # the benchmark is the one the file names
    assert path.read_bytes() == before


@pytest.mark.parametrize(
    "mutate, message",
    [
        (lambda r: r.update(accuracy="high"), "'accuracy' is 'high'"),
        (
            lambda r: r["factors"]["pose"].update(error_ratio=str(r["factors"]["pose"]["error_ratio"])),
            "'factors.pose.error_ratio' is '0.",
        ),
        (lambda r: r.update(images=None), "'images' is None"),
    ],
    ids=["accuracy-word", "string-ratio", "images-null"],
)
def test_bad_numbers_are_one_line_errors_and_the_card_is_unchanged(vit, tmp_path, capsys, mutate, message):
    card = tmp_path / "card" / "README.md"
    card.parent.mkdir()
    card.write_bytes(GOOD_CARD)
    results = vit.results.to_dict()
    mutate(results)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(results))
    assert main(["card", "--run", str(bad), "--model-card", str(card)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert card.read_bytes() == GOOD_CARD and sorted(p.name for p in card.parent.iterdir()) == ["README.md"]
    for command in (
        ["compare", str(bad), str(vit.source)],
        ["plot", str(bad), "-o", str(tmp_path / "x.png")],
    ):
        assert main(command) == 2
        assert message in capsys.readouterr().err


@pytest.mark.parametrize(
    "content", [b"---\nlicense: mit\n# T\n", b"---\n", b"---\r\nlicense: mit\r\n\r\nText\r\n"]
)
def test_unclosed_front_matter_is_an_error_and_the_card_is_unchanged(vit, tmp_path, capsys, content):
    card = tmp_path / "card" / "README.md"
    card.parent.mkdir()
    card.write_bytes(content)
    assert main(["card", "--predictions", str(vit.source), "--model-card", str(card)]) == 2
    err = capsys.readouterr().err
    assert "never closes it" in err and err.count("\n") == 1
    assert card.read_bytes() == content and sorted(p.name for p in card.parent.iterdir()) == ["README.md"]


def test_eval_results_never_contradict_the_card_and_keep_other_benchmarks(real_models, tmp_path, capsys):
    """ViT on the card, then DINO with --which-factor multi: our entries go (nothing says ViT's
    accuracy any more), while another benchmark's task of the same id ("accuracy") stays."""
    card = tmp_path / "README.md"
    eval_file = tmp_path / EVAL_RESULTS_FILE
    vit, dino = real_models["ViT"], real_models["DINO"]
    base = ["card", "--model-card", str(card), "--no-chart", "--no-zoo", "--json"]
    assert main([*base, "--predictions", str(vit.source), "--dataset-id", "me/imagenet-x"]) == 0
    theirs = "- dataset:\n    id: other/bench\n    task_id: accuracy\n  value: 0.5\n"
    eval_file.write_text(theirs + eval_file.read_text().split("\n", 2)[2])  # after our two comment lines
    assert str(vit.results.accuracy) in eval_file.read_text()
    capsys.readouterr()

    assert main([*base, "--predictions", str(dino.source), "--which-factor", "multi"]) == 0
    summary = json.loads(capsys.readouterr().out)
    entries = parse_eval_result_entries(yaml.safe_load(eval_file.read_text()))
    assert [(e.dataset_id, e.task_id, e.value) for e in entries] == [("other/bench", "accuracy", 0.5)]
    assert str(vit.results.accuracy) not in eval_file.read_text()
    assert any("removed the 17 earlier ImageNet-X entries" in n for n in summary["notes"])

    # Back to the benchmark's settings: ours return beside theirs.
    assert main([*base, "--predictions", str(dino.source), "--dataset-id", "me/imagenet-x"]) == 0
    entries = parse_eval_result_entries(yaml.safe_load(eval_file.read_text()))
    assert entries[0].dataset_id == "other/bench" and len(entries) == 18
    assert {e.dataset_id for e in entries[1:]} == {"me/imagenet-x"}
    assert entries[1].value == dino.results.accuracy


def test_without_a_benchmark_id_no_eval_results_and_a_note_saying_how(vit, tmp_path, capsys):
    card = tmp_path / "README.md"
    assert (
        main(["card", "--predictions", str(vit.source), "--model-card", str(card), "--no-chart", "--no-zoo"])
        == 0
    )
    out = capsys.readouterr().out
    assert not (tmp_path / EVAL_RESULTS_FILE).exists()
    assert "--dataset-id OWNER/NAME" in out and "export-hub" in out


def test_a_card_written_without_eval_results_says_an_earlier_file_is_now_stale(vit, tmp_path, capsys):
    card = tmp_path / "README.md"
    base = ["card", "--predictions", str(vit.source), "--model-card", str(card), "--no-chart", "--no-zoo"]
    assert main([*base, "--dataset-id", "me/imagenet-x"]) == 0
    capsys.readouterr()
    assert main([*base, "--which-factor", "multi", "--no-eval-results"]) == 0
    out = capsys.readouterr().out
    assert "still holds earlier ImageNet-X results, not updated (--no-eval-results)" in out
