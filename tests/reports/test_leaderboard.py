"""The leaderboard: rows from real results (the authors' released predictions), the three files, and
the HTML table sorted by a click in a real browser, with nothing fetched."""

from __future__ import annotations

import csv
import dataclasses
import io
import os
from pathlib import Path

import pytest

from imagenet_x_hf.reports.leaderboard import (
    Row,
    source_rows,
    to_csv,
    to_html,
    to_markdown,
    write_leaderboard,
    write_sweep_leaderboard,
)
from imagenet_x_hf.results import Placement
from imagenet_x_hf.schema import FACTORS

ZOO_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "zoo"
SHOTS = Path(os.environ.get("IMAGENET_X_SCREENSHOTS", "/tmp/imagenet-x-report-screenshots"))


def _row(name: str, accuracy: float, pose: tuple, **kw) -> Row:
    ratios = {f: (1.0, 0.9, 1.1) for f in FACTORS}
    ratios["pose"] = pose
    return Row(name, f"org/{name}", "ok", f"/runs/{name}", accuracy=accuracy, ratios=ratios, **kw)


ROWS = [
    _row("beta", 0.80, (0.7, 0.6, 0.8), images_per_second=120.0, zoo_percentile=71.9, zoo_more=["texture"]),
    _row("<alpha>", 0.75, (1.5, 1.2, 1.8), images_per_second=300.0, zoo_note="not placed: a note"),
    _row("gamma", 0.60, (1.05, 0.95, 1.2), images_per_second=90.0, zoo_percentile=12.0),
    Row(
        "broken",
        "org/broken",
        "failed",
        "/runs/broken",
        error="loading the weights: ModelLoadError: no weights",
    ),
]


def test_files_say_the_same_and_escape_names():
    table = list(csv.DictReader(io.StringIO(to_csv(ROWS))))
    assert [r["model"] for r in table] == ["org/beta", "org/<alpha>", "org/gamma", "org/broken"]
    assert [r["rank"] for r in table] == ["1", "2", "3", ""]
    assert float(table[1]["pose_error_ratio"]) == 1.5 and float(table[1]["pose_low"]) == 1.2
    assert table[3]["status"] == "failed" and "ModelLoadError" in table[3]["error"]
    assert table[0]["zoo_more_errors"] == "texture" and float(table[0]["zoo_accuracy_percentile"]) == 71.9

    md = to_markdown(ROWS)
    assert "**0.70 (0.60–0.80)**" in md and "**1.50 (1.20–1.80)**" in md  # intervals that exclude 1
    assert "1.05 (0.95–1.20)" in md and "**1.05" not in md
    assert "above 71% of the zoo's models" in md  # a share rounds down
    assert "more errors than expected at its accuracy on texture" in md

    page = to_html(ROWS)
    assert "<alpha>" not in page and "&lt;alpha&gt;" in page
    assert page.count('class="above"') == 1 and page.count('class="below"') == 1
    assert "failed at loading the weights" in page
    assert "http" not in page.split("</title>", 1)[1]  # nothing to fetch


@pytest.fixture
def shared_zoo(monkeypatch):
    """The released predictions and tables from the shared copy, never from the network."""
    assert (ZOO_DIR / "results" / "val").is_dir(), f"the shared zoo copy is missing at {ZOO_DIR}"
    monkeypatch.setenv("IMAGENET_X_ZOO", str(ZOO_DIR))


@pytest.mark.slow
def test_rows_of_released_predictions_follow_their_results(tmp_path, shared_zoo):
    from imagenet_x_hf.reports.inputs import load_model_results
    from imagenet_x_hf.zoo import example_predictions, place

    files = [p for p in example_predictions() if p.stem in ("ResNet50", "SimCLR")]
    rows = source_rows(files)
    assert [r.name for r in rows] == ["ResNet50", "SimCLR"]  # by accuracy
    for row, path in zip(rows, files):
        results = load_model_results(path).results
        assert row.accuracy == results.accuracy
        for d in results.factors:
            assert row.ratios[d.factor] == (d.error_ratio, d.low, d.high)
        placed = place(results)
        assert row.zoo_percentile == placed["accuracy_percentile"] and 0 < row.zoo_percentile < 100
        more = {f for f, e in placed["factors"].items() if e["excess_interval"][0] > 0}
        assert set(row.zoo_more) == more
    paths = write_leaderboard(tmp_path, rows)
    assert sorted(paths) == ["csv", "html", "md"] and all(p.stat().st_size > 1000 for p in paths.values())


def test_an_extrapolated_placement_names_no_factor(shared_zoo):
    from imagenet_x_hf.reports.inputs import load_model_results
    from imagenet_x_hf.reports.leaderboard import result_row
    from imagenet_x_hf.zoo import example_predictions, place

    model = load_model_results(next(p for p in example_predictions() if p.stem == "SimCLR"))
    block = place(model.results)
    wide = {f: {**e, "excess_interval": [0.5, 0.9], "excess": 0.7} for f, e in block["factors"].items()}
    for extrapolated in (False, True):
        zoo = {**block, "factors": wide, "extrapolation": {"extrapolated": extrapolated, "reason": "far"}}
        placement = Placement.from_dict(zoo)
        row = result_row(dataclasses.replace(model, results=model.results.replace(zoo=placement)))
        assert row.zoo_percentile == block["accuracy_percentile"]
        if extrapolated:
            assert row.zoo_more == [] and "extrapolation (far)" in row.zoo_text()
        else:
            assert len(row.zoo_more) == len(FACTORS) and "extrapolation" not in row.zoo_text()


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.mark.slow
def test_columns_sort_in_a_real_browser(browser, tmp_path):
    path = tmp_path / "leaderboard.html"
    path.write_text(to_html(ROWS), encoding="utf-8")
    context = browser.new_context(viewport={"width": 1280, "height": 700})
    page = context.new_page()
    problems, requests = [], []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())

    def names() -> list[str]:
        return page.eval_on_selector_all(
            "table.board tbody tr", "rows => rows.map(r => r.cells[1].textContent)"
        )

    def header(text: str):
        return page.locator("table.board th", has_text=text).first

    assert names() == ["beta", "<alpha>", "gamma", "broken"]
    header("pose").click()  # largest ratio first; a failed model (no values) stays last
    assert names() == ["<alpha>", "gamma", "beta", "broken"]
    assert header("pose").get_attribute("aria-sort") == "descending"
    header("pose").click()
    assert names() == ["beta", "gamma", "<alpha>", "broken"]
    header("img/s").click()
    assert names() == ["<alpha>", "beta", "gamma", "broken"]
    header("zoo placement").click()  # by accuracy percentile; a model not placed goes with the failed
    assert names()[:2] == ["beta", "gamma"]
    header("model").click()
    assert names() == ["<alpha>", "beta", "broken", "gamma"]
    assert problems == [] and all(u.startswith("file:") for u in requests), (problems, requests)
    SHOTS.mkdir(parents=True, exist_ok=True)
    png = page.screenshot(path=str(SHOTS / "leaderboard.png"), full_page=True)
    assert len(png) > 5000
    context.close()


def test_a_sweep_gets_its_leaderboard_or_the_reason_in_its_summary(tmp_path):
    import json

    failed = {
        "model": "org/broken",
        "status": "failed",
        "stage": "loading the weights",
        "error": "no weights",
    }
    summary = {"models": [failed], "failed": 1}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    done = write_sweep_leaderboard(tmp_path, summary)
    assert done["leaderboard"] == {k: str(tmp_path / f"leaderboard.{k}") for k in ("csv", "md", "html")}
    assert json.loads((tmp_path / "summary.json").read_text()) == done and "leaderboard" not in summary
    assert "loading the weights: no weights" in (tmp_path / "leaderboard.md").read_text()

    # a finished model whose results.json is gone: the runs stay, the summary says why there is no table
    gone = {"model": "org/gone", "status": "ok", "output": str(tmp_path / "gone")}
    (tmp_path / "gone").mkdir()
    summary = {"models": [gone], "failed": 0}
    (tmp_path / "summary.json").write_text(json.dumps(summary))
    done = write_sweep_leaderboard(tmp_path, summary)
    assert "results.json" in done["leaderboard"]["error"]
    assert json.loads((tmp_path / "summary.json").read_text()) == done
