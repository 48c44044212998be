"""The report page built from the authors' real prediction files, checked against an independent oracle.

No thumbnails here (see test_report_images.py): what is checked is which images the
galleries show, what each card says, the comparison, the zoo block and the page's
self-containment.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from imagenet_x_hf.cli import main
from imagenet_x_hf.errors import ResultsFileError
from imagenet_x_hf.reports.html import build_report, write_report
from imagenet_x_hf.schema import CLASS_NAMES, FACTORS
from imagenet_x_hf.settings import ReportOptions

from .conftest import cards_of, read_csv_predictions


@pytest.fixture(scope="module")
def vit_page(vit):
    return build_report(vit, ReportOptions(per_factor=5, zoo=False), progress=False).html


def _errors_by_factor(oracle, predictions, *, kind="top"):
    out = {f: set() for f in FACTORS}
    for name, (predicted, _) in predictions.items():
        entry = oracle.get(name)
        if entry is None or predicted == entry["label"]:
            continue
        marked = {entry["top"]} - {None} if kind == "top" else entry["multi"]
        for factor in marked:
            out[factor].add(name)
    return out


def test_galleries_show_a_sample_of_each_factors_mistakes(vit_page, vit_csv, oracle):
    predictions = read_csv_predictions(vit_csv)
    errors = _errors_by_factor(oracle, predictions)
    cards = cards_of(vit_page)
    assert cards, "the gallery is empty"
    for factor in FACTORS:
        drawn = [c["file"] for c in cards if factor in c["sampled"].split()]
        assert len(drawn) == min(5, len(errors[factor])), factor
        assert set(drawn) <= errors[factor], f"{factor}: a card that is not a {factor} mistake"
        # the page states the number of candidates, as the oracle counts them
        assert f'value="{factor}" data-total="{len(errors[factor])}"' in vit_page
    for card in cards:
        entry = oracle[card["file"]]
        assert predictions[card["file"]][0] != entry["label"]
        assert set(card["factors"].split()) == entry["multi"]
        assert card.get("only") == (next(iter(entry["multi"])) if len(entry["multi"]) == 1 else None)


def test_a_card_shows_class_prediction_and_the_annotators_words(vit_page, vit_csv, oracle):
    predictions = read_csv_predictions(vit_csv)
    first = cards_of(vit_page)[0]["file"]
    entry = oracle[first]
    start = vit_page.index(f'data-file="{first}"')
    card = vit_page[start : vit_page.index("</article>", start)]
    predicted, probability = predictions[first]
    assert html.escape(CLASS_NAMES[entry["label"]]) in card
    assert html.escape(CLASS_NAMES[predicted]) in card
    assert f"{100 * probability:.1f}%" in card
    assert html.escape(entry["one_word"]) in card
    assert html.escape(entry["justification"].strip()) in card
    if entry["top"]:
        assert re.search(rf"{entry['top'].replace('_', ' ')}<span class=\"sr\"> \(top factor\)", card)


def test_the_page_is_self_contained_and_has_no_thumbnails_without_a_source(vit_page):
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", vit_page)
    assert "<link" not in vit_page and "@import" not in vit_page and "url(" not in vit_page
    assert "<img" not in vit_page and 'class="noimg"' in vit_page
    # the exact command that adds them, with the input as given
    assert "imagenet-x report " in vit_page and "--imagenet /path/to/ILSVRC2012_img_val.tar" in vit_page


def test_the_sample_is_deterministic_and_the_seed_changes_it(vit, vit_page):
    again = build_report(vit, ReportOptions(per_factor=5, zoo=False), progress=False).html
    assert again == vit_page
    other = build_report(vit, ReportOptions(per_factor=5, seed=1, zoo=False), progress=False).html
    assert {c["file"] for c in cards_of(other)} != {c["file"] for c in cards_of(vit_page)}


def test_multi_factor_results_draw_from_every_marked_factor(vit_csv, oracle, tmp_path, capsys):
    out = tmp_path / "multi.html"
    argv = ["report", str(vit_csv), "--which-factor", "multi", "--per-factor", "3", "-o", str(out)]
    assert main([*argv, "--no-zoo", "--no-progress", "--json"]) == 0
    errors = _errors_by_factor(oracle, read_csv_predictions(vit_csv), kind="multi")
    cards = cards_of(out.read_text())
    assert cards  # an empty gallery would pass the checks below
    for card in cards:
        for factor in card["sampled"].split():
            assert card["file"] in errors[factor]
    for factor in FACTORS:  # every marked factor draws its sample, not only the top factor
        drawn = [c for c in cards if factor in c["sampled"].split()]
        assert len(drawn) == min(3, len(errors[factor])), factor
    # the multi-factor sample reaches images whose top factor is another one
    assert any(oracle[c["file"]]["top"] not in c["sampled"].split() for c in cards)


def test_comparison_pairs_the_models_and_shows_where_they_disagree(vit, resnet, vit_csv, resnet_csv, oracle):
    page = build_report(
        vit, ReportOptions(per_factor=0, compare_per_factor=3, zoo=False), compare=[resnet], progress=False
    ).html
    a, b = read_csv_predictions(vit_csv), read_csv_predictions(resnet_csv)
    shared = [n for n in a if n in b and n in oracle]
    a_only = {n for n in shared if a[n][0] == oracle[n]["label"] != b[n][0]}
    b_only = {n for n in shared if b[n][0] == oracle[n]["label"] != a[n][0]}
    assert f"ViT alone is right on {len(a_only):,} images, ResNet50 alone on {len(b_only):,}" in page
    cards = cards_of(page, "compare-1-gallery")
    assert cards
    for card in cards:
        assert card["file"] in (a_only if card["direction"] == "a" else b_only)
    for direction in ("a", "b"):
        for factor in FACTORS:
            drawn = [c for c in cards if c["direction"] == direction and factor in c["sampled"].split()]
            pool = {n for n in (a_only if direction == "a" else b_only) if oracle[n]["top"] == factor}
            assert len(drawn) == min(3, len(pool)), (direction, factor)
    assert cards_of(page) == []  # per_factor=0: no error gallery


def _zoo(vit):
    block = {"models": 2497, "trend": "linear in logit accuracy", "factors": {}}
    for i, factor in enumerate(FACTORS):
        ratio = vit.results.factor(factor).error_ratio
        excess = (i - 7.5) / 20
        block["factors"][factor] = {
            "error_ratio": ratio,
            "expected_error_ratio": ratio - excess,
            "excess": excess,
            "excess_interval": [excess - 0.1, excess + 0.1],
            "percentile_all": 3.0 * i + 1,
            "percentile_similar_accuracy": 99.0 - 4 * i,
        }
    return block


def test_a_zoo_block_in_the_results_is_rendered(vit, tmp_path):
    import dataclasses

    from imagenet_x_hf.results import Placement

    block = _zoo(vit)
    model = dataclasses.replace(vit, results=vit.results.replace(zoo=Placement.from_dict(block)))
    page = build_report(model, ReportOptions(per_factor=1), progress=False).html
    section = page[page.index('<section id="zoo"') : page.index('<section id="factors"')]
    assert '<a href="#zoo">' in page and "Placement per factor" in section
    assert "2,497" in section and "linear in logit accuracy" in section
    rows = re.findall(r'<tr class="(\w+)"><th scope="row">([a-z ]+)</th>((?:<td>[^<]*</td>)+)</tr>', section)
    assert [r[1] for r in rows] == [f.replace("_", " ") for f in FACTORS]
    for (side, _, cells), factor in zip(rows, FACTORS, strict=True):
        entry = block["factors"][factor]
        values = re.findall(r"<td>([^<]*)</td>", cells)
        assert values[2] == f"{entry['excess']:+.2f}"
        assert (
            values[4] == f"{entry['percentile_all']:.0f}"
            and values[5] == f"{entry['percentile_similar_accuracy']:.0f}"
        )
        low, high = entry["excess_interval"]
        assert side == ("above" if low > 0 else "below" if high < 0 else "includes")
    assert section.count("<circle") == len(FACTORS)


ZOO_COPY = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "zoo"


def test_the_zoo_is_asked_when_the_results_have_no_block(vit, monkeypatch):
    from imagenet_x_hf.zoo import place

    monkeypatch.setenv("IMAGENET_X_ZOO", str(ZOO_COPY))
    assert vit.results.zoo is None
    report = build_report(vit, ReportOptions(per_factor=1), progress=False)
    assert report.zoo_shown
    page = report.html
    section = page[page.index('<section id="zoo"') : page.index('<section id="factors"')]
    expected = place(vit.results)["factors"]["pose"]
    assert f"{expected['excess']:+.2f}" in section
    assert build_report(vit, ReportOptions(per_factor=1, zoo=False), progress=False).zoo_shown is False


def test_an_unavailable_zoo_is_a_note_not_an_error(vit, monkeypatch, tmp_path):
    import dataclasses

    from imagenet_x_hf.errors import ImageNetXError

    monkeypatch.setenv("IMAGENET_X_ZOO", str(tmp_path / "no-zoo-here"))
    report = build_report(vit, ReportOptions(per_factor=1), progress=False)
    page = html.unescape(report.html)
    # the page may be published: it says what to do, without this machine's paths
    assert not report.zoo_shown and "IMAGENET_X_ZOO" in page
    assert str(tmp_path) not in page and "no-zoo-here" not in page
    from imagenet_x_hf.results import Placement, Results

    skipped = Placement(skipped=True, note="tables unavailable")
    report = build_report(
        dataclasses.replace(vit, results=vit.results.replace(zoo=skipped)),
        ReportOptions(per_factor=1, zoo=False),
        progress=False,
    )
    assert "Not shown: tables unavailable." in report.html
    with pytest.raises(ImageNetXError, match="unknown factors"):
        Results.from_dict({**vit.results.to_dict(), "zoo": {"factors": {"posture": {}}}})


def test_cli_writes_the_report_and_summarises_it(vit_csv, tmp_path, capsys):
    out = tmp_path / "sub" / "vit.html"
    argv = ["report", str(vit_csv), "--per-factor", "2", "-o", str(out), "--no-zoo", "--json"]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["report"] == str(out) and summary["bytes"] == len(out.read_bytes())
    assert summary["thumbnails"] == 0 and summary["model"] == "ViT"
    assert summary["images_shown"] == len(cards_of(out.read_text()))
    page = html.unescape(out.read_text())
    assert (
        "imagenet-x report ViT.csv --imagenet /path/to/ILSVRC2012_img_val.tar --per-factor 2 -o vit.html"
        in page
    )
    # the page may be published: no path of this machine in it
    assert str(tmp_path) not in page and str(vit_csv.parent) not in page


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--per-factor", "-1"], "per_factor must be a whole number from 0 to 200"),
        (["--thumbnail-size", "4"], "thumbnail_size must be 16 to 512"),
        (["--commit"], "--commit only applies to an upload"),
    ],
)
def test_bad_options_are_one_line_errors(vit_csv, tmp_path, capsys, extra, message):
    assert main(["report", str(vit_csv), "-o", str(tmp_path / "r.html"), "--no-zoo", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r.html").exists()


def test_results_from_other_predictions_are_refused(vit, resnet_csv, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(vit.results.to_dict()))
    (run / "predictions.csv").write_bytes(resnet_csv.read_bytes())
    assert main(["report", str(run), "-o", str(tmp_path / "r.html"), "--no-zoo"]) == 2
    assert "come from different runs" in capsys.readouterr().err


def test_results_without_predictions_and_wrong_suffix_are_refused(vit, tmp_path):
    import dataclasses

    with pytest.raises(ResultsFileError, match="needs its predictions"):
        build_report(dataclasses.replace(vit, predictions_path=None, _predictions=None), progress=False)
    report = build_report(vit, ReportOptions(per_factor=1, zoo=False), progress=False)
    with pytest.raises(ResultsFileError, match=r"name the output \*\.html"):
        write_report(report, tmp_path / "report.pdf")


@pytest.mark.parametrize(
    "options",
    [
        ["--error-type", "real_class"],
        ["--error-type", "real_class", "--empty-real", "exclude"],
        ["--error-type", "metaclass"],
        ["--keep-prototypes"],
    ],
    ids=["real", "real-exclude", "metaclass", "prototypes"],
)
def test_the_gallery_follows_the_scoring_settings(vit_csv, tmp_path, capsys, options):
    # The report joins predictions to annotations itself and refuses to go on unless its
    # image count and accuracy equal the metric's: passing here means the two agree.
    out = tmp_path / "r.html"
    assert main(["report", str(vit_csv), *options, "--per-factor", "2", "-o", str(out), "--no-zoo"]) == 0
    page = out.read_text()
    assert cards_of(page) and f"errors: {options[1] if options[0] == '--error-type' else 'class'}" in page


def test_the_hint_names_the_runs_own_imagenet_copy(vit, vit_csv, tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    results = dict(
        vit.results.to_dict(), run={"model": "org/vit", "dataset": {"imagenet": "/data/imagenet/val"}}
    )
    (run / "results.json").write_text(json.dumps(results))
    (run / "predictions.csv").write_bytes(vit_csv.read_bytes())
    out = tmp_path / "r.html"
    assert main(["report", str(run), "-o", str(out), "--per-factor", "1", "--no-zoo"]) == 0
    page = html.unescape(out.read_text())
    # the run's own copy, by its last part: the folder may not exist here, and the page may be published
    assert "imagenet-x report run --imagenet /path/to/val --per-factor 1 -o r.html" in page
    assert str(tmp_path) not in page and "/data/imagenet" not in page
    assert "org/vit" in page  # the run's model id in the page's facts


def test_source_kinds_of_the_command_are_the_loaders(capsys):
    from imagenet_x_hf.commands.report import SOURCE_KINDS
    from imagenet_x_hf.loaders import KINDS

    assert SOURCE_KINDS == KINDS


def test_a_run_placed_without_the_tables_is_placed_when_they_are_here(vit, monkeypatch):
    """A run evaluated offline carries {"skipped": true, note}; the report looks again."""
    import dataclasses

    from imagenet_x_hf.results import Placement

    offline = dataclasses.replace(
        vit,
        results=vit.results.replace(
            zoo=Placement(skipped=True, note="not placed: offline at /home/me/.cache")
        ),
    )
    monkeypatch.setenv("IMAGENET_X_ZOO", str(ZOO_COPY))
    report = build_report(offline, ReportOptions(per_factor=1), progress=False)
    assert report.zoo_shown and "offline" not in report.html
    assert (
        build_report(offline, ReportOptions(per_factor=1, zoo=False), progress=False).zoo_note
        == "not placed: offline at a local folder"
    )


@pytest.mark.parametrize(
    "output, says",
    [
        ("{tmp}", "is a folder; name the HTML file"),
        ("{tmp}/taken.html/y.html", "which is a file, not a folder"),
        ("{tmp}/report.txt", "name the output *.html"),
    ],
    ids=["folder", "under-a-file", "not-html"],
)
def test_a_bad_output_path_is_one_line_before_any_work(tmp_path, capsys, output, says):
    (tmp_path / "taken.html").write_text("x")
    argv = ["report", str(tmp_path / "no-such-run"), "-o", output.format(tmp=tmp_path)]
    assert main(argv) == 2  # the output is checked first: the missing run is not even read
    err = capsys.readouterr().err.strip()
    assert says in err and "\n" not in err and "Traceback" not in err


def test_a_runs_own_predictions_file_is_named_after_the_run(vit_csv, tmp_path):
    import shutil

    from imagenet_x_hf.reports.inputs import load_model_results

    run = tmp_path / "vit-b16"
    run.mkdir()
    shutil.copy(vit_csv, run / "predictions.csv")
    assert load_model_results(run / "predictions.csv").name == "vit-b16"
    with pytest.raises(ResultsFileError, match="no results.json") as err:
        load_model_results(run)
    # report takes the file in the run's place: no flag is suggested that it does not have
    assert "in its place for report, with --predictions FILE for card" in str(err.value)


def test_zoo_facts_show_the_model_count_and_no_empty_rows_or_paths():
    from imagenet_x_hf.reports.html.zoo import zoo_view
    from imagenet_x_hf.results import Placement

    factor = {"error_ratio": 1.2, "expected_error_ratio": 1.0, "excess": 0.2, "excess_interval": [0.1, 0.3]}
    block = zoo_view(
        Placement.from_dict(
            {
                "zoo": {"source": "local copy /home/me/zoo", "models": 2500},
                "notes": [],
                "accuracy": 0.6799,
                "factors": dict.fromkeys(FACTORS, factor),
            }
        )
    )
    facts = dict(block.overall)
    assert facts["zoo models"] == "2,500" and "notes" not in facts
    assert facts["the model's accuracy"] == "0.6799"
    assert "/home/me" not in " ".join(facts.values())


def test_a_local_model_folder_is_shown_by_its_name_only(tmp_path):
    from imagenet_x_hf.reports.html.render import _model_fact

    assert _model_fact(str(tmp_path / "my-vit")) == "my-vit (a local folder)"
    assert _model_fact("google/vit-base-patch16-224") == "google/vit-base-patch16-224"


def test_a_comparison_states_both_accuracies_on_the_paired_images(vit, vit_csv, resnet, oracle):
    import dataclasses

    import numpy as np

    from imagenet_x_hf.metrics import Predictions, score_predictions
    from imagenet_x_hf.reports.format import format_percent

    # ResNet scored on a third of the images: the pairing is over those, not over ViT's 46,110
    preds = resnet.predictions()
    keep = np.arange(len(preds)) % 3 == 0
    names = preds.names()[keep]
    part = Predictions.from_arrays(names, np.asarray(preds.predicted_class)[keep], name="ResNet50-part")
    other = dataclasses.replace(
        resnet, name="ResNet50-part", results=score_predictions(part), _predictions=part
    )
    report = build_report(
        vit, ReportOptions(per_factor=1, compare_per_factor=1, zoo=False), compare=[other], progress=False
    )
    prose = html.unescape(report.html)
    paired = re.search(r"Paired on the ([\d,]+) images both were scored on, where (.*?)\.</p>", prose, re.S)
    vit_predictions = read_csv_predictions(vit_csv)
    both = [n for n in names.tolist() if n in oracle]
    assert paired and int(paired.group(1).replace(",", "")) == len(both) == other.results.images
    vit_there = np.mean([vit_predictions[n][0] == oracle[n]["label"] for n in both])
    assert f"ViT's top-1 accuracy is {format_percent(vit_there)}" in paired.group(2)
    assert format_percent(vit_there) != format_percent(vit.results.accuracy)
