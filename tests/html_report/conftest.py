"""Shared inputs of the HTML report tests: real prediction files and an independent reading of the annotations.

The oracle reads the authors' JSONL and CSV files with the standard library only, so
that what the report shows is checked against something that does not share its code.
"""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PREDICTIONS_DIR = REPO_ROOT.parent / "shared" / "data" / "model_predictions"


def annotations_folder() -> Path:
    import importlib.util

    spec = importlib.util.find_spec("imagenet_x")
    assert spec is not None and spec.origin, "the authors' imagenet-x package is not installed"
    return Path(spec.origin).parent / "annotations"


@pytest.fixture(scope="session")
def oracle():
    """file name -> {label, top (factor or None), multi (set), one_word, justification}, prototypes left out."""
    folder = annotations_folder()
    with open(folder / "prototypical_paths.csv", encoding="utf-8", newline="") as f:
        prototypes = {row["file_name"] for row in csv.DictReader(f)}
    from imagenet_x_hf.schema import FACTORS

    out = {}
    for kind in ("top", "multi"):
        with open(folder / f"imagenet_x_val_{kind}_factor.jsonl", encoding="utf-8") as f:
            for line in f:
                row = json.loads(line)
                name = row["file_name"]
                if name in prototypes:
                    continue
                entry = out.setdefault(
                    name,
                    {
                        "label": row["class"],
                        "one_word": row["one_word"],
                        "justification": row["justification"],
                    },
                )
                marked = {factor for factor in FACTORS if row.get(factor) == 1}
                if kind == "top":
                    entry["top"] = next(iter(marked)) if marked else None
                else:
                    entry["multi"] = marked
    return out


def read_csv_predictions(path: Path) -> dict[str, tuple[int, float]]:
    with open(path, encoding="utf-8", newline="") as f:
        return {
            row["file_name"]: (int(row["predicted_class"]), float(row["predicted_probability"]))
            for row in csv.DictReader(f)
        }


@pytest.fixture(scope="session")
def vit_csv() -> Path:
    path = PREDICTIONS_DIR / "ViT.csv"
    assert path.is_file(), f"real prediction file missing: {path}"
    return path


@pytest.fixture(scope="session")
def resnet_csv() -> Path:
    path = PREDICTIONS_DIR / "ResNet50.csv"
    assert path.is_file(), f"real prediction file missing: {path}"
    return path


@pytest.fixture(scope="session")
def vit(vit_csv):
    from imagenet_x_hf.reports.inputs import load_model_results

    return load_model_results(vit_csv)


@pytest.fixture(scope="session")
def resnet(resnet_csv):
    from imagenet_x_hf.reports.inputs import load_model_results

    return load_model_results(resnet_csv)


_ITEM = re.compile(r'<li class="item" ([^>]*)>')
_ATTR = re.compile(r'data-([a-z]+)="([^"]*)"')


def cards_of(page: str, gallery: str = "mistakes-gallery") -> list[dict[str, str]]:
    """The data attributes of every card of one gallery, in page order."""
    start = page.index(f'id="{gallery}"')
    end = page.find('<section id="', start)
    return [
        {k: html.unescape(v) for k, v in _ATTR.findall(m.group(1))}
        for m in _ITEM.finditer(page, start, end if end > 0 else len(page))
    ]
