"""Thumbnails: read from the user's ImageNet copy, only the images shown, once; and the Hub upload.

Synthetic sources hold the shown images among others (annotated but not shown, and
unannotated), each image coloured by its class, so a decoded thumbnail tells
whether the card got its own image.
"""

from __future__ import annotations

import base64
import io
import json
import re
from pathlib import Path
from types import SimpleNamespace

import huggingface_hub
import numpy as np
import pytest
from PIL import Image

from imagenet_x_hf.cli import main
from imagenet_x_hf.loaders.catalog import Catalog
from imagenet_x_hf.reports.html import build_report
from imagenet_x_hf.settings import ReportOptions
from imagenet_x_hf.testing import annotated_file_names, label_of, make_synthetic_imagenet, synthetic_colour

from .conftest import cards_of

PER_FACTOR = 2


@pytest.fixture(scope="module")
def shown(vit) -> list[str]:
    page = build_report(vit, ReportOptions(per_factor=PER_FACTOR, zoo=False), progress=False).html
    return sorted({c["file"] for c in cards_of(page)})


@pytest.fixture(scope="module")
def others(shown) -> list[str]:
    """Annotated images a source holds but the report does not show."""
    taken = set(shown)
    return [n for n in annotated_file_names("validation")[::997] if n not in taken][:30]


def _thumbnails(page: str) -> dict[str, Image.Image]:
    """file name -> its image, following each card's thumbnail class to the one embedded copy."""
    data = dict(re.findall(r"\.(t\d+)\{background-image:url\(data:image/jpeg;base64,([^)]+)\)\}", page))
    out = {}
    for match in re.finditer(r'<li class="item" data-file="([^"]+)".*?</li>', page, re.S):
        thumb = re.search(r'class="thumb (t\d+)"', match.group(0))
        if thumb:
            out[match.group(1)] = Image.open(io.BytesIO(base64.b64decode(data[thumb.group(1)])))
    return out


@pytest.mark.parametrize("layout", ["val_tar", "val_flat", "webdataset"])
def test_only_the_images_shown_are_read_and_each_card_gets_its_own(
    vit, shown, others, tmp_path, monkeypatch, layout
):
    source = make_synthetic_imagenet(
        tmp_path, layout=layout, file_names=shown + others, size=(500, 375), extra=20
    )
    reads: list[str] = []
    original_read = Catalog.read

    def spy(self, name):
        reads.append(name)
        return original_read(self, name)

    monkeypatch.setattr(Catalog, "read", spy)
    if layout == "val_tar":
        from imagenet_x_hf.loaders import tars

        walks = []
        original_members = tars._members

        def members(fd, start, size, where):
            walks.append(where)
            yield from original_members(fd, start, size, where)

        monkeypatch.setattr(tars, "_members", members)
    report = build_report(
        vit, ReportOptions(imagenet=source, per_factor=PER_FACTOR, zoo=False), progress=False
    )
    assert sorted(reads) == shown  # each shown image once, nothing else
    if layout == "val_tar":
        assert walks == [str(source)]  # the tar's headers are walked once
    assert report.thumbnails == len(shown) and not report.missing and not report.unreadable
    thumbs = _thumbnails(report.html)
    assert sorted(thumbs) == shown and 'class="noimg"' not in report.html
    for name, image in thumbs.items():
        assert max(image.size) == 192 and image.size == (192, 144)
        median = np.median(np.asarray(image.convert("RGB")).reshape(-1, 3), axis=0)
        assert np.abs(median - synthetic_colour(label_of(name))).max() <= 12, name


def test_missing_and_undecodable_images_are_reported_not_dropped(vit, shown, tmp_path, capsys):
    source = make_synthetic_imagenet(
        tmp_path, layout="val_flat", file_names=shown, size=(64, 48), corrupt=1, missing=1
    )
    out = tmp_path / "r.html"
    argv = ["report", str(vit.source), "--imagenet", str(source), "--per-factor", str(PER_FACTOR)]
    assert main([*argv, "-o", str(out), "--no-zoo", "--no-progress", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["missing"] == [shown[-1]] and summary["unreadable"] == [shown[0]]
    assert summary["thumbnails"] == len(shown) - 2 == summary["images_shown"] - 2
    page = out.read_text()
    assert "1 of the images shown are not in the ImageNet copy and 1 do not decode" in page
    assert page.count('class="noimg"') == 2
    assert sorted(_thumbnails(page)) == shown[1:-1]
    assert max(_thumbnails(page)[shown[1]].size) == 64  # small images are never enlarged


def test_thumbnail_size_is_configurable(vit, shown, tmp_path):
    source = make_synthetic_imagenet(tmp_path, layout="val_tar", file_names=shown, size=(500, 375))
    report = build_report(
        vit, ReportOptions(imagenet=source, per_factor=1, thumbnail_size=64, zoo=False), progress=False
    )
    sizes = {image.size for image in _thumbnails(report.html).values()}
    assert sizes == {(64, 48)}


@pytest.fixture
def fake_upload(monkeypatch):
    calls = []

    def upload_file(self, **kwargs):
        calls.append(dict(kwargs, content=Path(kwargs["path_or_fileobj"]).read_bytes()))
        pr = kwargs.get("create_pr")
        return SimpleNamespace(
            pr_url="https://huggingface.co/me/model/discussions/3" if pr else None,
            commit_url="https://huggingface.co/me/model/commit/def",
        )

    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    monkeypatch.setattr(huggingface_hub.HfApi, "upload_file", upload_file)
    return calls


@pytest.mark.parametrize("commit", [False, True], ids=["pull-request", "commit"])
def test_push_uploads_the_written_report(vit, tmp_path, fake_upload, capsys, commit):
    out = tmp_path / "r.html"
    argv = ["report", str(vit.source), "-o", str(out), "--per-factor", "1", "--no-zoo", "--json"]
    argv += ["--push", "me/model", "--path-in-repo", "reports/imagenet_x.html"]
    assert main(argv + (["--commit"] if commit else [])) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    (call,) = fake_upload
    assert call["repo_id"] == "me/model" and call["repo_type"] == "model"
    assert call["path_in_repo"] == "reports/imagenet_x.html"
    assert call["create_pr"] is (not commit)
    assert call["content"] == out.read_bytes()
    assert summary["pushed"].endswith("commit/def" if commit else "discussions/3")
    assert "hf_not_a_real_token" not in captured.out + captured.err


def test_push_without_a_token_fails_before_any_work(vit, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(huggingface_hub, "get_token", lambda: None)
    out = tmp_path / "r.html"
    assert main(["report", str(vit.source), "-o", str(out), "--push", "me/model", "--no-zoo"]) == 2
    assert "needs a token" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.slow
def test_the_imagenet_copy_is_checked_against_what_the_run_predicted(tiny_vit_run, tmp_path, capsys):
    """Same names with other pixels, or a copy lacking most shown images: refused in one line.
    The copy the run used: every thumbnail checked, and the page says so."""
    run = tiny_vit_run(tmp_path / "a", layout="val_flat", n=40, size=(80, 60), batch_size=16, seed=5)
    names = json.loads((run / "results.json").read_text())  # the run is complete
    assert names["coverage"]["used"] == 40
    used = tmp_path / "a" / "imagenet" / "val"
    out = tmp_path / "r.html"
    argv = ["report", str(run), "--per-factor", "3", "--no-zoo", "--no-progress", "-o", str(out)]

    assert main([*argv, "--imagenet", str(used)]) == 0
    assert "each image checked against the run&#39;s record" in out.read_text()

    from imagenet_x_hf.testing import annotated_file_names

    shown = sorted({c["file"] for c in cards_of(out.read_text())})
    other = make_synthetic_imagenet(
        tmp_path / "b", layout="val_flat", file_names=shown, size=(80, 60), quality=60
    )
    capsys.readouterr()
    assert main([*argv, "--imagenet", str(other)]) == 2
    err = capsys.readouterr().err.strip()
    assert "is not the copy tiny-vit was evaluated on" in err and str(used) in err and "\n" not in err

    unrelated = [n for n in annotated_file_names("validation")[::500] if n not in shown][:10]
    sparse = make_synthetic_imagenet(
        tmp_path / "c", layout="val_flat", file_names=shown[:1] + unrelated, size=(80, 60)
    )
    assert main([*argv, "--imagenet", str(sparse)]) == 2
    err = capsys.readouterr().err.strip()
    assert f"lacks {len(shown) - 1} of the {len(shown)} images shown" in err and "\n" not in err
