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
import shutil
from pathlib import Path

import numpy as np
import pytest

from imagenet_x_hf.cli import main
from imagenet_x_hf.schema import FACTORS

N_IMAGES = 150
SHOTS = Path(os.environ.get("IMAGENET_X_SCREENSHOTS", "/tmp/imagenet-x-report-screenshots"))
WIDTHS = {"desktop": 1280, "phone": 390}
PAGE = 24  # cards shown at once (report.js)


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
    offline = _offline_copy(run, root / "offline-run")
    _add_zoo(run)
    other = _half_right(run, root / "half-right.parquet")
    out = root / "report.html"
    tar = root / "imagenet" / "ILSVRC2012_img_val.tar"
    assert tar.is_file()
    argv = ["report", str(run), "--imagenet", str(tar), "--compare", str(other), "--per-factor", "6"]
    assert main([*argv, "--compare-per-factor", "3", "-o", str(out), "--no-progress", "--json"]) == 0
    # The usual offline state: no zoo tables, a note with a long URL and a cache path.
    assert main(["report", str(offline), "--no-zoo", "-o", str(root / "offline.html"), "--no-progress"]) == 0
    return out


def _offline_copy(run: Path, to: Path) -> Path:
    """The run as evaluated without the zoo tables: a skipped block whose note holds a URL and a path."""
    shutil.copytree(run, to)
    results = json.loads((to / "results.json").read_text())
    results["zoo"] = {
        "skipped": True,
        "note": "not placed among the ImageNet-X zoo: cannot download https://raw.githubusercontent.com/"
        "facebookresearch/imagenetx/6403d41a5cc435543a63060e336bc2452e3ad223/results/val/model_zoo_annotated.csv"
        " into /root/.cache/imagenet-x-hf/zoo/6403d41a5cc435543a63060e336bc2452e3ad223/results/val (offline); "
        "set IMAGENET_X_ZOO to a copy",
    }
    (to / "results.json").write_text(json.dumps(results))
    return to


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


def _all(page, gallery: str) -> list[dict]:
    return page.eval_on_selector_all(f"#{gallery} li.item", "items => items.map(li => ({...li.dataset}))")


@pytest.mark.slow
@pytest.mark.parametrize("screen", list(WIDTHS))
def test_report_in_a_real_browser(report, browser, screen):
    width = WIDTHS[screen]
    context, page, problems, requests = _open(browser, report, width)
    SHOTS.mkdir(parents=True, exist_ok=True)

    # Nothing fetched but the file itself and its inline data.
    assert all(u.startswith(("file:", "data:")) for u in requests), [u for u in requests if "data:" not in u]

    # Every image is in the page once, and decodes; every thumbnail says what it shows.
    text = report.read_text()
    thumbs = page.eval_on_selector_all(
        "button.thumb",
        "b => b.map(x => ({label: x.getAttribute('aria-label'), file: x.closest('li').dataset.file}))",
    )
    files = {t["file"] for t in thumbs}
    assert len(thumbs) == page.locator("li.item").count() > len(files) > 0  # some files in two galleries
    assert text.count("data:image/jpeg;base64,") == len(files)
    assert all(len(t["label"]) > 20 for t in thumbs)
    decoded = page.evaluate(
        """async () => {
            const urls = [...new Set([...document.querySelectorAll('button.thumb')].map(
                b => getComputedStyle(b).backgroundImage.slice(5, -2)))];
            const sizes = await Promise.all(urls.map(u => new Promise(ok => {
                const i = new Image(); i.onload = () => ok(i.naturalWidth); i.onerror = () => ok(0); i.src = u; })));
            return {urls: urls.length, decoded: sizes.filter(w => w > 0).length};
        }"""
    )
    assert decoded == {"urls": len(files), "decoded": len(files)}

    # A card of the run shows its top-5; a comparison card both models' predictions and who is right.
    first = page.locator("#mistakes-gallery li.item").first
    assert first.locator(".topk li").count() == 5 and first.locator(".topk-name").count() == 1
    other = page.locator("#compare-1-gallery li.item").first
    assert [t.split()[0] for t in other.locator(".topk-name").all_inner_texts()] == ["tiny-vit", "half-right"]
    assert other.locator(".verdict.ok").count() == 1 and other.locator(".verdict.ko").count() == 1

    # Paging: a screenful of cards at a time, the rest one click away.
    all_cards = _all(page, "mistakes-gallery")
    shown = _visible(page, "mistakes-gallery")
    assert len(shown) == min(PAGE, len(all_cards)) and len(all_cards) > PAGE
    status = page.inner_text("#mistakes-gallery .status")
    assert f"Showing {PAGE} of {len(all_cards)} images" in status
    page.click("#mistakes-gallery button.more")
    assert len(_visible(page, "mistakes-gallery")) == min(2 * PAGE, len(all_cards))

    # The factor filter: pick a factor with some but not all images; the status gives the real totals.
    counts = {f: sum(f in c["sampled"].split() for c in all_cards) for f in FACTORS}
    factor = max((f for f in FACTORS if 0 < counts[f] < len(all_cards)), key=lambda f: counts[f])
    page.click(f"label[for='mistakes-f-{factor}']")
    shown = _visible(page, "mistakes-gallery")
    assert len(shown) == counts[factor] <= PAGE
    assert all(factor in c["sampled"].split() for c in shown)
    total = int(page.get_attribute(f"#mistakes-f-{factor}", "data-total"))
    status = page.inner_text("#mistakes-gallery .status")
    assert f"Showing {len(shown)} of {len(shown)} matching images" in status
    assert f"{total:,} images with this factor in all, of which the sample shows {counts[factor]}" in status

    # "only this factor": the sampled images with it alone, and how many such mistakes exist in all.
    page.check("#mistakes-gallery input[name=only]")
    alone = _visible(page, "mistakes-gallery")
    assert all(c.get("only") == factor for c in alone)
    in_all = int(page.get_attribute(f"#mistakes-f-{factor}", "data-alone"))
    assert in_all >= len(alone)
    assert f"{in_all:,} of the {total:,} images with this factor have it alone" in page.inner_text(
        "#mistakes-gallery .status"
    )
    page.uncheck("#mistakes-gallery input[name=only]")
    metaclass = shown[0]["metaclass"]
    page.select_option("#mistakes-gallery select[name=metaclass]", metaclass)
    narrowed = _visible(page, "mistakes-gallery")
    assert narrowed and all(c["metaclass"] == metaclass and factor in c["sampled"].split() for c in narrowed)
    page.select_option("#mistakes-gallery select[name=metaclass]", "")

    # The comparison's direction filter, and its status with the total.
    page.click("label[for='compare-1-d-b']")
    disagree = _visible(page, "compare-1-gallery")
    assert disagree and all(c["direction"] == "b" for c in disagree)
    page.click("label[for='compare-1-f-pose']")
    assert "images with this factor in all" in page.inner_text("#compare-1-gallery .status")
    page.click("label[for='compare-1-f-all']")
    page.click("label[for='compare-1-d-all']")

    # Keyboard: Tab from the last filter lands on the first image; arrows, Home and End move.
    page.click("label[for='mistakes-f-all']")
    visible = [c["file"] for c in _visible(page, "mistakes-gallery")]
    page.focus("#mistakes-gallery select[name=metaclass]")
    page.keyboard.press("Tab")
    focused = lambda: page.evaluate("document.activeElement.closest('li.item')?.dataset.file ?? null")  # noqa: E731
    assert focused() == visible[0]
    page.keyboard.press("ArrowRight")
    assert focused() == visible[1]
    page.keyboard.press("End")
    assert focused() == visible[-1]
    page.keyboard.press("Home")
    assert focused() == visible[0]
    page.keyboard.press("ArrowDown")
    columns = page.evaluate(
        """() => { const c = [...document.querySelectorAll('#mistakes-gallery li:not([hidden]) .card')];
                   return c.filter(x => Math.abs(x.getBoundingClientRect().top - c[0].getBoundingClientRect().top) < 2).length; }"""
    )
    assert (columns > 1) == (screen == "desktop")
    assert focused() == visible[columns]
    assert page.evaluate("document.querySelectorAll('#mistakes-gallery .card[tabindex=\"0\"]').length") == 1

    # Enlarge: a click shows the same embedded image at a useful size; Escape closes it.
    page.keyboard.press("Home")
    page.click("#mistakes-gallery li:not([hidden]) button.thumb >> nth=0")
    box = page.locator("#zoom .zoom-img").bounding_box()
    assert page.evaluate("document.getElementById('zoom').open") and box["width"] >= min(330, 0.85 * width)
    assert page.evaluate(
        "getComputedStyle(document.querySelector('#zoom .zoom-img')).backgroundImage"
    ).startswith('url("data:image/jpeg')
    page.screenshot(path=str(SHOTS / f"{screen}-enlarged.png"))
    page.keyboard.press("Escape")
    assert not page.evaluate("document.getElementById('zoom').open")

    # A factor's mistake count in the table jumps to its gallery.
    page.click(f"a[data-show-factor='{factor}']")
    assert len(_visible(page, "mistakes-gallery")) == counts[factor]
    page.click("label[for='mistakes-f-all']")

    # The filters stay on screen while the cards scroll under them.
    page.evaluate(
        "document.querySelector('#mistakes-gallery li:not([hidden]):nth-child(12)').scrollIntoView()"
    )
    top = page.evaluate(
        "document.querySelector('#mistakes-gallery form.filters').getBoundingClientRect().top"
    )
    assert 0 <= top < 5
    height = page.evaluate(
        "document.querySelector('#mistakes-gallery form.filters').getBoundingClientRect().height"
    )
    assert height < 0.4 * 900  # most of the screen is left to the cards
    page.screenshot(path=str(SHOTS / f"{screen}-sticky-filters.png"))

    # Readable at this width: the page itself never scrolls sideways; a table wider than the
    # screen scrolls in its box, and a line above it says so.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    wide = page.evaluate(
        """() => [...document.querySelectorAll('.scroll')].filter(b => b.offsetParent && b.scrollWidth > b.clientWidth + 1)
                 .map(b => !b.previousElementSibling.hidden)"""
    )
    assert all(wide) and (wide or screen == "desktop")
    page.locator("#compare-1 .scroll").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"{screen}-compare-table.png"))

    # Screenshots that are not blank: the top of the page and the gallery.
    page.evaluate("window.scrollTo(0, 0)")
    top = page.screenshot(path=str(SHOTS / f"{screen}-top.png"))
    page.evaluate("document.getElementById('mistakes').scrollIntoView()")
    gallery = page.screenshot(path=str(SHOTS / f"{screen}-gallery.png"))
    page.locator("#zoo").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"{screen}-zoo.png"))
    for png in (top, gallery):
        spread, colours = _variance_of(png)
        assert spread > 20 and colours > 50, (spread, colours)
    print(f"{screen}: page height {page.evaluate('document.documentElement.scrollHeight')} px")
    assert problems == []
    context.close()

    # Offline, without the zoo tables: the note wraps on any screen and holds no local path.
    context, page, problems, _ = _open(browser, report.with_name("offline.html"), width)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    note = page.inner_text("#zoo")
    assert "raw.githubusercontent.com" in note and "/root/" not in note and "IMAGENET_X_ZOO" in note
    page.locator("#zoo").scroll_into_view_if_needed()
    page.screenshot(path=str(SHOTS / f"{screen}-offline-zoo.png"))
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
