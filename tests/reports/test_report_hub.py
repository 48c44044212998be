"""The Hub side of ``imagenet-x card`` without a network: download and upload are replaced by fakes.

What is checked is our side of the wiring: which file is fetched, what a missing card
means, what is uploaded, and that an upload is a pull request unless --commit.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import huggingface_hub
import pytest
from huggingface_hub import ModelCard
from huggingface_hub.errors import RemoteEntryNotFoundError

from imagenet_x_hf.cli import main
from imagenet_x_hf.reports.card import CHART_NAME, download_card
from imagenet_x_hf.reports.errors import ModelCardError

HUB_CARD = "---\nlicense: mit\nlibrary_name: timm\n---\n# Hub model\n\nFrom the Hub.\n"


@pytest.fixture
def run_dir(tmp_path, vit):
    run = tmp_path / "vit-run"
    run.mkdir()
    (run / "results.json").write_text(json.dumps(vit.results))
    return run


@pytest.fixture
def fake_download(monkeypatch, tmp_path):
    calls = []
    hub_file = tmp_path / "hub" / "README.md"
    hub_file.parent.mkdir()
    hub_file.write_text(HUB_CARD)

    def download(repo_id, filename, **kwargs):
        calls.append((repo_id, filename, kwargs))
        if repo_id == "me/no-card":
            fake_response = SimpleNamespace(headers={}, request=None)
            raise RemoteEntryNotFoundError("404: README.md not found", response=fake_response)
        return str(hub_file)

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)
    return calls


@pytest.fixture
def fake_upload(monkeypatch):
    calls = []

    def create_commit(self, repo_id, operations, **kwargs):
        calls.append(
            dict(
                repo_id=repo_id,
                files={op.path_in_repo: Path(op.path_or_fileobj).read_bytes() for op in operations},
                **kwargs,
            )
        )
        pr = kwargs.get("create_pr")
        return SimpleNamespace(
            pr_url="https://huggingface.co/me/model/discussions/1" if pr else None,
            commit_url="https://huggingface.co/me/model/commit/abc",
        )

    monkeypatch.setenv("HF_TOKEN", "hf_not_a_real_token")
    monkeypatch.setattr(huggingface_hub.HfApi, "create_commit", create_commit)
    return calls


def test_repo_card_is_downloaded_and_updated_locally(run_dir, fake_download, vit, capsys):
    assert main(["card", "--run", str(run_dir), "--repo-id", "me/model", "--revision", "dev", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert fake_download == [
        ("me/model", "README.md", {"repo_type": "model", "revision": "dev", "token": None})
    ]
    local = run_dir / "model_card" / "README.md"
    assert summary["card"] == str(local) and "pushed" not in summary
    text = local.read_text()
    assert text.startswith("---\nlicense: mit\nlibrary_name: timm\nmodel-index:\n")
    assert "\n---\n# Hub model\n\nFrom the Hub.\n\n<!-- imagenet-x:robustness:start" in text
    assert ModelCard.load(local).data.library_name == "timm"


def test_repo_without_card_starts_a_new_one(fake_download):
    assert download_card("me/no-card") == ""


def test_unreachable_hub_is_an_error_not_an_empty_card(run_dir, tmp_path, monkeypatch, capsys):
    # Offline (as in this suite), the download fails: starting from an empty card would
    # replace the real one on the next push, so this must stop with a clear error.
    with pytest.raises(ModelCardError, match="cannot download the model card of 'me/model'"):
        download_card("me/model")
    card = tmp_path / "local.md"
    card.write_bytes(b"# untouched\n")
    assert main(["card", "--run", str(run_dir), "--repo-id", "me/model", "--model-card", str(card)]) == 2
    assert "drop --repo-id" in capsys.readouterr().err
    assert card.read_bytes() == b"# untouched\n"


@pytest.mark.parametrize("commit", [False, True], ids=["pull-request", "commit"])
def test_push_uploads_card_and_chart(run_dir, fake_download, fake_upload, commit, capsys):
    argv = ["card", "--run", str(run_dir), "--repo-id", "me/model", "--push", "--json"]
    assert main(argv + (["--commit"] if commit else [])) == 0
    summary = json.loads(capsys.readouterr().out)
    (call,) = fake_upload
    assert call["repo_id"] == "me/model" and call["repo_type"] == "model"
    assert call["create_pr"] is (not commit)
    local = run_dir / "model_card"
    assert call["files"] == {
        "README.md": (local / "README.md").read_bytes(),
        CHART_NAME: (local / CHART_NAME).read_bytes(),
    }
    expected_url = "commit/abc" if commit else "discussions/1"
    assert summary["pushed"].endswith(expected_url)
    assert "hf_not_a_real_token" not in json.dumps(summary)
