"""Pushing: what one commit uploads, and that models already on the Hub stay listed."""

from __future__ import annotations

import io
import types

import pyarrow.parquet as pq
import pytest

from imagenet_x_hf.share import export_predictions
from imagenet_x_hf.share.push import push_operations, push_predictions

from .conftest import authors_files


def _by_path(operations):
    return {op.path_in_repo: op for op in operations}


def _table(op):
    data = op.path_or_fileobj
    return pq.read_table(io.BytesIO(data) if isinstance(data, bytes) else data)


def test_operations_keep_the_remote_models(tmp_path):
    files = authors_files()
    remote_folder, local_folder = tmp_path / "remote", tmp_path / "local"
    export_predictions(files[:2], remote_folder)  # DINO, ResNet50 already on the Hub
    export_predictions(files[1:], local_folder)  # ResNet50 again, SimCLR, ViT here
    remote = pq.read_table(remote_folder / "models.parquet")
    ops = _by_path(push_operations(local_folder, remote, configs=["ResNet50", "ViT"], repo_id="me/preds"))
    assert set(ops) == {
        "predictions/ResNet50.parquet",
        "predictions/ViT.parquet",
        "models.parquet",
        "README.md",
        "LICENSE-imagenetx",
    }
    table = _table(ops["models.parquet"])
    assert table.column("config").to_pylist() == ["DINO", "ResNet50", "ViT"]  # SimCLR was not asked for
    card = ops["README.md"].path_or_fileobj.decode()
    assert (
        "config_name: DINO" in card
        and "config_name: SimCLR" not in card
        and 'load_dataset("me/preds"' in card
    )
    with pytest.raises(ValueError, match="holds no model 'BiT'"):
        push_operations(local_folder, remote, configs=["BiT"], repo_id="me/preds")


def test_push_opens_a_pull_request_unless_commit(tmp_path, monkeypatch):
    export_predictions(authors_files()[3:], tmp_path / "repo")
    calls = []

    class FakeApi:
        endpoint = "http://127.0.0.1:9"

        def create_repo(self, repo_id, **kwargs):
            calls.append(("create_repo", repo_id, kwargs))

        def repo_info(self, repo_id, **kwargs):
            return types.SimpleNamespace(sha="a" * 40)

        def whoami(self):
            return {"name": "me"}

        def get_repo_discussions(self, *args, **kwargs):
            return []

        def create_commit(self, repo_id, operations, **kwargs):
            calls.append(("create_commit", repo_id, kwargs, [op.path_in_repo for op in operations]))
            return types.SimpleNamespace(pr_url="https://hub/pr/1", commit_url="https://hub/commit/1")

    import imagenet_x_hf.share.push as push

    monkeypatch.setattr(push, "remote_models", lambda *a, **k: None)
    url = push_predictions(tmp_path / "repo", "me/preds", token="hf_x", api=FakeApi())
    assert url == "https://hub/pr/1"
    commit = [c for c in calls if c[0] == "create_commit"][0]
    assert commit[2]["create_pr"] is True and commit[2]["repo_type"] == "dataset"
    assert "predictions/ViT.parquet" in commit[3]
    calls.clear()
    assert (
        push_predictions(tmp_path / "repo", "me/preds", token="hf_x", api=FakeApi(), commit=True)
        == "https://hub/commit/1"
    )
    commit = [c for c in calls if c[0] == "create_commit"][0]
    assert "create_pr" not in commit[2] and commit[2]["parent_commit"] == "a" * 40
