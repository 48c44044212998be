"""The report in a real browser: Debian's chromium, driven headless by playwright.

The page comes from the real pipeline: a tiny random-weight ViT evaluated by
``imagenet-x evaluate`` on a synthetic ImageNet tar, compared with a predictions
file that gets half the images right, with a zoo block in its results, reported with
``imagenet-x report --imagenet``. At desktop (1280 px) and phone (390 px) width:
no console error and no network request, every thumbnail decodes, the filters change
what is visible, the keyboard moves between images, nothing overflows the phone's
width, and the screenshots are not blank (they are kept under /tmp for a look).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from imagenet_x_hf.cli import main
from imagenet_x_hf.schema import FACTORS

N_IMAGES = 150
SHOTS = Path(os.environ.get("IMAGENET_X_SCREENSHOTS", "/tmp/imagenet-x-report-screenshots"))
WIDTHS = {"desktop": 1280, "phone": 390}


def _half_right(run: Path, out: Path) -> Path:
    """A predictions file right on every other image of the run, with top-5 columns."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from imagenet_x_hf.testing import label_of

    names = pq.read_table(run / "predictions.parquet", columns=["file_name"]).column("file_name").to_pylist()
    labels = np.array([label_of(n) for n in names])
    predicted = np.where(np.arange(len(names)) % 2 == 0, labels, (labels + 7) % 1000)
    top5 = np.stack([predicted, *((predicted + k) % 1000 for k in (1, 2, 3, 4))], axis=1)
    probs = np.tile([0.6, 0.2, 0.1, 0.06, 0.04], (len(names), 1))
    table = pa.table(
        {
            "file_name": names,
            "predicted_class": predicted,
            "predicted_probability": probs[:, 0],
            "top5_classes": top5.tolist(),
            "top5_probabilities": probs.tolist(),
        }
    )
    pq.write_table(table, out)
    return out


def _add_zoo(run: Path) -> None:
    """What evaluate writes once the zoo is available: a zoo block in results.json."""
    path = run / "results.json"
    results = json.loads(path.read_text())
    factors = {}
    for i, factor in enumerate(FACTORS):
        excess = (i - 7.5) / 25
        factors[factor] = {
            "error_ratio": results["factors"][factor]["error_ratio"],
            "expected_error_ratio": 1.0,
            "excess": excess,
            "excess_interval": [excess - 0.12, excess + 0.12],
            "percentile_all": 6.0 * i,
            "percentile_similar_accuracy": 90.0 - 5 * i,
        }
    results["zoo"] = {"models": 2497, "factors": factors}
    path.write_text(json.dumps(results))


@pytest.fixture(scope="module")
def report(tmp_path_factory, tiny_vit_run) -> Path:
    root = tmp_path_factory.mktemp("browser")
    run = tiny_vit_run(root, layout="val_tar", n=N_IMAGES, size=(200, 150), batch_size=16, seed=3)
    _add_zoo(run)
    other = _half_right(run, root / "half-right.parquet")
    out = root / "report.html"
    tar = root / "imagenet" / "ILSVRC2012_img_val.tar"
    assert tar.is_file()
    argv = ["report", str(run), "--imagenet", str(tar), "--compare", str(other), "--per-factor", "6"]
    assert main([*argv, "--compare-per-factor", "3", "-o", str(out), "--no-progress", "--json"]) == 0
    return out


@pytest.fixture(scope="module")
def browser(chromium):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        yield browser
        browser.close()


def _open(browser, report: Path, width: int, *, javascript: bool = True):
    context = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=javascript)
    page = context.new_page()
    problems, requests = [], []
    page.on(
        "console",
        lambda m: problems.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda e: problems.append(f"pageerror: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(report.as_uri())
    page.wait_for_load_state("load")
    return context, page, problems, requests


def _visible(page, gallery: str) -> list[dict]:
    return page.eval_on_selector_all(
        f"#{gallery} li.item",
        "items => items.filter(li => !li.hidden && li.offsetParent !== null).map(li => ({...li.dataset}))",
    )


def _variance_of(png: bytes) -> tuple[float, int]:
    import io

    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))
    return float(pixels.std()), len(np.unique(pixels.reshape(-1, 3), axis=0))


@pytest.mark.slow
@pytest.mark.parametrize("screen", list(WIDTHS))
def test_report_in_a_real_browser(report, browser, screen):
    width = WIDTHS[screen]
    context, page, problems, requests = _open(browser, report, width)

    # Nothing fetched but the file itself and its inline data.
    assert all(u.startswith(("file:", "data:")) for u in requests), [u for u in requests if "data:" not in u]

    # Every thumbnail decodes, and says what it shows.
    images = page.eval_on_selector_all(
        "img", "imgs => imgs.map(i => ({ok: i.complete && i.naturalWidth > 0, alt: i.alt}))"
    )
    cards = page.locator("li.item").count()
    assert len(images) == cards > 0
    assert all(i["ok"] for i in images), "a thumbnail did not decode"
    assert all(len(i["alt"]) > 20 for i in images)

    # A card of the run shows its top-5; a comparison card both models' predictions and who is right.
    first = page.locator("#mistakes-gallery li.item").first
    assert first.locator(".topk li").count() == 5 and first.locator(".topk-name").count() == 1
    other = page.locator("#compare-1-gallery li.item").first
    assert [t.split()[0] for t in other.locator(".topk-name").all_inner_texts()] == ["tiny-vit", "half-right"]
    assert other.locator(".verdict.ok").count() == 1 and other.locator(".verdict.ko").count() == 1

    # The factor filter: pick a factor with some but not all images.
    all_cards = _visible(page, "mistakes-gallery")
    counts = {f: sum(f in c["sampled"].split() for c in all_cards) for f in FACTORS}
    factor = max((f for f in FACTORS if 0 < counts[f] < len(all_cards)), key=lambda f: counts[f])
    page.click(f"label[for='mistakes-f-{factor}']")
    shown = _visible(page, "mistakes-gallery")
    assert len(shown) == counts[factor] < len(all_cards)
    assert all(factor in c["sampled"].split() for c in shown)
    assert f"Showing {len(shown)} of {len(all_cards)} images" in page.inner_text("#mistakes-gallery .status")

    # "only this factor", then the metaclass filter on top of the factor.
    page.check("#mistakes-gallery input[name=only]")
    assert all(c.get("only") == factor for c in _visible(page, "mistakes-gallery"))
    page.uncheck("#mistakes-gallery input[name=only]")
    metaclass = shown[0]["metaclass"]
    page.select_option("#mistakes-gallery select[name=metaclass]", metaclass)
    narrowed = _visible(page, "mistakes-gallery")
    assert narrowed and all(c["metaclass"] == metaclass and factor in c["sampled"].split() for c in narrowed)
    page.select_option("#mistakes-gallery select[name=metaclass]", "")
    page.click("label[for='mistakes-f-all']")
    assert len(_visible(page, "mistakes-gallery")) == len(all_cards)

    # The comparison's direction filter.
    page.click("label[for='compare-1-d-b']")
    disagree = _visible(page, "compare-1-gallery")
    assert disagree and all(c["direction"] == "b" for c in disagree)

    # Keyboard: Tab from the last filter lands on the first image; arrows, Home and End move.
    page.focus("#mistakes-gallery select[name=metaclass]")
    page.keyboard.press("Tab")
    focused = lambda: page.evaluate("document.activeElement.closest('li.item')?.dataset.file ?? null")  # noqa: E731
    files = [c["file"] for c in all_cards]
    assert focused() == files[0]
    page.keyboard.press("ArrowRight")
    assert focused() == files[1]
    page.keyboard.press("End")
    assert focused() == files[-1]
    page.keyboard.press("Home")
    assert focused() == files[0]
    page.keyboard.press("ArrowDown")
    columns = page.evaluate(
        """() => { const c = [...document.querySelectorAll('#mistakes-gallery .card')];
                   return c.filter(x => Math.abs(x.getBoundingClientRect().top - c[0].getBoundingClientRect().top) < 2).length; }"""
    )
    assert (columns > 1) == (screen == "desktop")
    assert focused() == files[columns]
    assert page.evaluate("document.querySelectorAll('#mistakes-gallery .card[tabindex=\"0\"]').length") == 1

    # A factor's mistake count in the table jumps to its gallery.
    page.click(f"a[data-show-factor='{factor}']")
    assert len(_visible(page, "mistakes-gallery")) == counts[factor]
    page.click("label[for='mistakes-f-all']")

    # Readable at this width: the page itself never scrolls sideways (wide tables scroll in their box).
    assert page.evaluate("document.documentElement.scrollWidth") <= width

    # Screenshots that are not blank: the top of the page and the gallery.
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")
    top = page.screenshot(path=str(SHOTS / f"{screen}-top.png"))
    page.locator("#mistakes").scroll_into_view_if_needed()
    page.evaluate("document.getElementById('mistakes').scrollIntoView()")
    gallery = page.screenshot(path=str(SHOTS / f"{screen}-gallery.png"))
    page.locator("#zoo").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"{screen}-zoo.png"))
    for png in (top, gallery):
        spread, colours = _variance_of(png)
        assert spread > 20 and colours > 50, (spread, colours)

    assert problems == []
    context.close()


@pytest.mark.slow
def test_without_javascript_every_image_stays_visible(report, browser):
    context, page, problems, _ = _open(browser, report, 1280, javascript=False)
    assert page.locator("form.filters").first.is_hidden()
    visible = page.eval_on_selector_all(
        "li.item", "items => items.filter(li => li.offsetParent !== null).length"
    )
    assert visible == page.locator("li.item").count() > 0
    assert problems == []
    context.close()
